package cli

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/barge-run/barge/internal/account"
	"github.com/barge-run/barge/internal/bench"
)

// cmdBenchLoad runs the mixed load (bench.Load: many clients calling Batch, Lambda and Logs
// operations at once) and prints each operation's calls, errors and latency, with the server's
// memory at the end. Without --endpoint it starts `barge server` as a child process with a
// temporary data directory, so that the memory it reports is the server's alone. It builds
// internal/fn/testdata/echofn, so it runs inside barge's source tree with a Go toolchain.
func cmdBenchLoad(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("bench-load", flag.ContinueOnError)
	clients := fs.Int("clients", bench.DefaultLoadClients, "concurrent clients")
	duration := fs.Duration("duration", bench.DefaultLoadDuration, "how long the clients call")
	endpoint := fs.String("endpoint", "", "load the barge at this `URL` (default: a barge server child process with a temporary data directory)")
	dataDir := fs.String("data-dir", envOr("BARGE_DATA_DIR", ".barge"), "with --endpoint: data directory to read the credential from when AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY are not set")
	serverPid := fs.Int("server-pid", 0, "with --endpoint: the server's pid, to report its memory")
	region := fs.String("region", envOr("AWS_REGION", "us-east-1"), "AWS region")
	if err := parse(fs, args); err != nil {
		return err
	}
	switch {
	case fs.NArg() > 0:
		return usageError{fmt.Sprintf("unexpected argument %q", fs.Arg(0))}
	case *clients < 1:
		return usageError{"--clients must be at least 1"}
	case *duration <= 0:
		return usageError{"--duration must be positive"}
	}
	tmp, err := os.MkdirTemp("", "barge-bench-load-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	_, code, err := echoPackage(ctx, tmp, bench.EchoBuildFlags)
	if err != nil {
		return err
	}

	o := bench.Options{Endpoint: *endpoint, Region: *region}
	pid, where, stop, err := benchServer(ctx, &o, *dataDir, *serverPid, tmp)
	if err != nil {
		return err
	}
	defer stop()
	r, err := bench.Load(ctx, o, bench.LoadOptions{Clients: *clients, Duration: *duration, Out: os.Stderr}, code)
	if err != nil {
		return apiError(err)
	}
	fmt.Fprintf(out, "%-26s %9s %8s %7s %7s %9s %9s\n", "operation", "calls", "calls/s", "errors", "client¹", "p50 ms", "p99 ms")
	for _, s := range r.Ops {
		fmt.Fprintf(out, "%-26s %9d %8.0f %7d %7d %9.1f %9.1f\n", s.Name, s.Calls, float64(s.Calls)/r.Elapsed.Seconds(), s.Errors, s.ClientClosed,
			float64(s.P50.Microseconds())/1000, float64(s.P99.Microseconds())/1000)
	}
	fmt.Fprintln(out, "¹ answered by the server, then failed by the client's own transport (net.ErrClosed, aws-sdk-go-v2 #2737; the SDK retries these by default)")
	for _, s := range r.Ops[:len(r.Ops)-1] {
		if s.Errors > 0 {
			fmt.Fprintf(out, "%s: first error: %s\n", s.Name, s.FirstError)
		}
	}
	fmt.Fprintf(out, "%d clients for %.1f s\n", r.Clients, r.Elapsed.Seconds())
	if pid > 0 {
		if rss, peak, err := bench.ProcessMemory(pid); err == nil {
			fmt.Fprintf(out, "server memory at the end: RSS %.0f MiB, peak %.0f MiB\n", float64(rss)/1024, float64(peak)/1024)
		}
	}
	fmt.Fprintf(out, "server:  %s\nmachine: %s\n", where, bench.Machine())
	if r.Total().Errors > 0 {
		return fmt.Errorf("%d of %d calls failed", r.Total().Errors, r.Total().Calls)
	}
	return nil
}

// benchServer is the server a client-side benchmark measures: the one at o.Endpoint (its pid
// as the operator gave it, for its memory and CPU time), or else a `barge server` child process
// on a data directory in tmp. It returns the pid (0: unknown), how to describe the server, and
// how to stop what it started.
func benchServer(ctx context.Context, o *bench.Options, dataDir string, pid int, tmp string) (int, string, func(), error) {
	if o.Endpoint != "" {
		_, stop, err := benchTarget(ctx, o, dataDir, "auto", os.Stderr)
		return pid, o.Endpoint, stop, err
	}
	child, err := startServerChild(ctx, filepath.Join(tmp, "data"), o)
	if err != nil {
		return 0, "", func() {}, err
	}
	stop := func() { child.Process.Signal(syscall.SIGTERM); child.Wait() }
	where := fmt.Sprintf("%s (a barge server child process, pid %d, data in %s)", o.Endpoint, child.Process.Pid, tmp)
	return child.Process.Pid, where, stop, nil
}

// startServerChild starts `barge server` (this binary) on a loopback port with dataDir, waits
// until it listens, and completes o with its endpoint and credential.
func startServerChild(ctx context.Context, dataDir string, o *bench.Options) (*exec.Cmd, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, self, "server", "--addr", "127.0.0.1:0", "--data-dir", dataDir)
	cmd.Stderr = io.Discard
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	lines := bufio.NewScanner(stdout)
	for lines.Scan() {
		if rest, ok := strings.CutPrefix(lines.Text(), "barge listening on "); ok {
			o.Endpoint, _, _ = strings.Cut(rest, " ")
			break
		}
	}
	go io.Copy(io.Discard, stdout)
	if o.Endpoint == "" {
		cmd.Process.Kill()
		cmd.Wait()
		return nil, errors.New("the barge server child process did not start")
	}
	creds, err := account.Load(dataDir)
	if err != nil {
		cmd.Process.Kill()
		cmd.Wait()
		return nil, err
	}
	o.AccessKey, o.Secret = creds.First().AccessKeyID, creds.First().SecretAccessKey
	return cmd, nil
}
