// Package cli implements the barge command line: `barge server`, `barge env`, and the commands
// for humans (submit, jobs, describe, logs, cancel, terminate) that talk to a barge server
// through the same AWS API every other client uses.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/barge-run/barge/internal/account"
	"github.com/barge-run/barge/internal/awserr"
	"github.com/barge-run/barge/internal/server"
)

// Main runs the command line and returns the process exit code.
func Main(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return 2
	}
	cmds := map[string]func(context.Context, []string, io.Writer) error{
		"server":    cmdServer,
		"env":       cmdEnv,
		"account":   cmdAccount,
		"submit":    cmdSubmit,
		"jobs":      cmdJobs,
		"describe":  cmdDescribe,
		"logs":      cmdLogs,
		"cancel":    cmdCancel,
		"terminate": cmdTerminate,
		"bench":     cmdBench,
		"doctor":    cmdDoctor,
		"backup":    cmdBackup,
		"deploy":    cmdDeploy,
		"invoke":    cmdInvoke,
		"runtime":   cmdRuntime,

		"bench-lambda": cmdBenchLambda,
		"bench-load":   cmdBenchLoad,
		"bench-logs":   cmdBenchLogs,
	}
	name := args[0]
	if name == "help" || name == "-h" || name == "--help" {
		usage(stdout)
		return 0
	}
	cmd, ok := cmds[name]
	if !ok {
		fmt.Fprintf(stderr, "barge: unknown command %q\n\n", name)
		usage(stderr)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := cmd(ctx, args[1:], stdout); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		var ue usageError
		if errors.As(err, &ue) {
			fmt.Fprintf(stderr, "barge %s: %v\n", name, err)
			return 2
		}
		fmt.Fprintf(stderr, "barge %s: %v\n", name, err)
		return 1
	}
	return 0
}

type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usage(w io.Writer) {
	fmt.Fprint(w, `barge — self-hosted AWS Batch and Lambda

Usage:
  barge server     [--addr 127.0.0.1:7700] [--data-dir .barge]   run the server
  barge env        [--addr …] [--data-dir …]                     print AWS_* exports for clients
  barge account add <12-digit id> [--data-dir …]                 add an account and print its key
  barge doctor                                                   what this host offers for isolation
  barge backup     [--data-dir …] <new directory>                 a consistent copy of a (running) server's data
  barge deploy     [--runtime r] [--handler h] [--env K=V] <function> <zip | dir | executable>   create or update a function
  barge invoke     [--qualifier q] [--event] [--logs] <function> [payload]

  barge submit     [--queue default] [--definition name | --image ref] [--name n] [--vcpus 1] [--memory 512] [-- command…]
  barge jobs       [--queue default] [--status RUNNING|…|all]
  barge jobs watch <jobId>                                       follow a job; an array as a progress bar
  barge describe   <jobId>…
  barge logs       [-f] <jobId>
  barge cancel     <jobId> [--reason …]
  barge terminate  <jobId> [--reason …]
  barge bench      [--only submit|e2e] [--jobs N] [--concurrency 32] [--slots N] [--endpoint URL]   measure throughput
  barge bench-lambda [--peer /tmp/aws-lambda-rie] [--n 2000] [--endpoint URL]                           measure Lambda invokes
  barge runtime install node-sdk|python-boto3 [--dir DIR]                                              the AWS SDK for Node.js (npm) or Python (Debian's boto3) functions
  barge bench-load [--clients 100] [--duration 60s] [--endpoint URL]                                   many clients, mixed Batch, Lambda and Logs calls
  barge bench-logs [--events 1000000] [--writers 4] [--runs 5] [--json] [--endpoint URL]               PutLogEvents ingest, FilterLogEvents latency

Client commands read the endpoint and credentials from AWS_ENDPOINT_URL and AWS_ACCESS_KEY_ID /
AWS_SECRET_ACCESS_KEY when set, else from --addr and --data-dir (env BARGE_ADDR, BARGE_DATA_DIR).
`)
}

// commonFlags are the flags every command shares: where the server and its data are.
type commonFlags struct {
	addr    string
	dataDir string
	region  string
}

func (c *commonFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&c.addr, "addr", envOr("BARGE_ADDR", server.DefaultAddr), "server address (host:port)")
	fs.StringVar(&c.dataDir, "data-dir", envOr("BARGE_DATA_DIR", ".barge"), "data directory")
	fs.StringVar(&c.region, "region", os.Getenv("AWS_REGION"), "AWS region: the server's default one (server), the one client commands act in (default: AWS_REGION, else the server's, recorded in the data directory, else us-east-1)")
}

// resolveRegion fills in the region when neither --region nor AWS_REGION gave one: the region
// the server on this data directory last ran with (server.RegionFile), else us-east-1.
func (c *commonFlags) resolveRegion() string {
	if c.region == "" {
		c.region = server.RecordedRegion(c.dataDir)
	}
	return c.region
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

func parse(fs *flag.FlagSet, args []string) error {
	fs.SetOutput(io.Discard)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(os.Stdout)
			fs.PrintDefaults()
			return err
		}
		return usageError{err.Error()}
	}
	return nil
}

func cmdServer(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("server", flag.ContinueOnError)
	var c commonFlags
	c.register(fs)
	grace := fs.Duration("kill-grace", 30*time.Second, "time between SIGTERM and SIGKILL when a job is terminated or times out")
	reserveAfter := fs.Duration("reserve-after", 5*time.Minute, "starvation avoidance: hold capacity back for a job that has waited this long without fitting (0 turns it off)")
	fnIdle := fs.Duration("function-idle", 5*time.Minute, "stop a function instance idle this long (scale to zero)")
	fnConcurrency := fs.Int("function-concurrency", 1000, "account-wide limit of concurrent function invocations")
	isolation := fs.String("isolation", "auto", "auto: sandbox jobs and functions when the host allows (Linux, root, cgo), else run them as plain processes with a warning; sandbox: refuse to start without one; none: plain processes")
	var insecure stringList
	fs.Var(&insecure, "insecure-registry", "registry host:port to pull images from over plain HTTP (repeatable; loopback registries always are)")
	allowPrivileged := fs.Bool("allow-privileged", false, "let job definitions ask for privileged containers (all capabilities, the host's devices)")
	pidsLimit := fs.Int64("pids-limit", 1024, "most processes one job or function instance may have")
	var volumeRoots stringList
	fs.Var(&volumeRoots, "volume-root", "let job volumes (host.sourcePath) name the host directory `DIR` and what lies under it (repeatable; none: jobs get no host volumes)")
	ephemeral := sizeFlag(server.DefaultEphemeralStorage)
	fs.Var(&ephemeral, "ephemeral-storage", "most one job attempt may write unless its definition's ephemeralStorage says otherwise (a `SIZE` in bytes, or with KiB, MiB, GiB, TiB)")
	userns := fs.String("userns", "private", "private: root in a job or function is an unprivileged host user of its account's own range (user namespaces); host: root in a sandbox is the host's root — unsafe for untrusted code")
	jobNetwork := fs.String("job-network", "isolated", "isolated: each job and function instance has a network namespace of its own (loopback only; barge's API at 127.0.0.1:7700 inside); nat: as isolated, plus outbound network through pasta's user-mode NAT (package passt; nothing inbound, the host's loopback unreachable); host: the host's network — unsafe for untrusted code")
	var unsafeSandbox stringList
	fs.Var(&unsafeSandbox, "unsafe-sandbox", "FOR TESTS ONLY: turn a sandbox protection off (userns, netns, masks, seccomp, mknod, volumes, disk; repeatable)")
	logLimit := sizeFlag(server.DefaultLogLimit)
	fs.Var(&logLimit, "log-limit", "most output stored per job attempt or function instance (a `SIZE`, e.g. 1GiB); past it one event says so and the rest is dropped")
	gpus := fs.Int("gpus", -1, "GPUs each compute environment offers to jobs asking for them (-1: count the host's /dev/nvidiaN devices)")
	s3Endpoint := fs.String("s3-endpoint", "", "fetch Lambda code and layers given as S3Bucket/S3Key from this S3-compatible `URL` (path-style, with the server's own AWS credentials from its environment; every account can then deploy any object those credentials read); none: S3 locations are refused")
	limits := limitFlags(fs)
	pprofAddr := fs.String("pprof", "", "serve Go profiling endpoints (net/http/pprof) on this loopback address, for debugging")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *userns != "private" && *userns != "host" {
		return usageError{"--userns must be private or host"}
	}
	if !slices.Contains([]string{"isolated", "nat", "host"}, *jobNetwork) {
		return usageError{"--job-network must be isolated, nat or host"}
	}
	var unsafeList []string
	for _, u := range unsafeSandbox {
		for _, name := range strings.Split(u, ",") {
			if !slices.Contains([]string{"userns", "netns", "masks", "seccomp", "mknod", "volumes", "disk"}, name) {
				return usageError{fmt.Sprintf("--unsafe-sandbox: unknown protection %q", name)}
			}
			unsafeList = append(unsafeList, name)
		}
	}
	if *pprofAddr != "" {
		ln, err := net.Listen("tcp", *pprofAddr)
		if err != nil {
			return fmt.Errorf("pprof: %w", err)
		}
		if host, _, _ := net.SplitHostPort(ln.Addr().String()); !net.ParseIP(host).IsLoopback() {
			ln.Close()
			return usageError{"--pprof must be a loopback address"}
		}
		// The profiling handlers live on their own mux and listener, never on the API's.
		mux := http.NewServeMux()
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
		go http.Serve(ln, mux)
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	s, err := server.Start(ctx, server.Options{Addr: c.addr, DataDir: c.dataDir, Region: c.resolveRegion(), Logger: logger, KillGrace: *grace, ReserveAfter: reserveAfterOption(*reserveAfter),
		FunctionIdle: *fnIdle, FunctionConcurrency: *fnConcurrency, Isolation: *isolation,
		InsecureRegistries: insecure, AllowPrivileged: *allowPrivileged, PidsLimit: *pidsLimit, GPUs: *gpus,
		VolumeRoots: volumeRoots, EphemeralStorage: int64(ephemeral), LogLimit: int64(logLimit),
		HostUsers: *userns == "host", HostNetwork: *jobNetwork == "host", NetworkNAT: *jobNetwork == "nat", UnsafeSandbox: unsafeList,
		S3Endpoint: *s3Endpoint, Limits: limits()})
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "barge listening on %s (data in %s)\nclients: eval \"$(barge env --addr %s --data-dir %s)\"\n", s.Endpoint(), c.dataDir, s.Addr(), c.dataDir)
	werr := s.Wait(ctx)
	return errors.Join(werr, s.Close())
}

func cmdEnv(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("env", flag.ContinueOnError)
	var c commonFlags
	c.register(fs)
	acct := fs.String("account", "", "account id (default: the first in credentials.json)")
	if err := parse(fs, args); err != nil {
		return err
	}
	creds, err := account.Load(c.dataDir)
	if err != nil {
		return fmt.Errorf("%w (start the server once with this --data-dir to create it)", err)
	}
	cred := creds.First()
	if *acct != "" {
		var ok bool
		if cred, ok = creds.ForAccount(*acct); !ok {
			return fmt.Errorf("no credential for account %s in %s", *acct, c.dataDir)
		}
	}
	fmt.Fprintf(out, "export AWS_ENDPOINT_URL=http://%s\n", c.addr)
	fmt.Fprintf(out, "export AWS_ACCESS_KEY_ID=%s\n", cred.AccessKeyID)
	fmt.Fprintf(out, "export AWS_SECRET_ACCESS_KEY=%s\n", cred.SecretAccessKey)
	fmt.Fprintf(out, "export AWS_REGION=%s\n", c.resolveRegion())
	fmt.Fprintf(out, "export AWS_DEFAULT_REGION=%s\n", c.region)
	return nil
}

func cmdAccount(ctx context.Context, args []string, out io.Writer) error {
	if len(args) == 0 || args[0] != "add" {
		return usageError{"usage: barge account add <12-digit account id>"}
	}
	fs := flag.NewFlagSet("account add", flag.ContinueOnError)
	var c commonFlags
	c.register(fs)
	if err := parse(fs, args[1:]); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usageError{"usage: barge account add <12-digit account id>"}
	}
	cred, err := account.Add(c.dataDir, fs.Arg(0))
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "account %s: AWS_ACCESS_KEY_ID=%s AWS_SECRET_ACCESS_KEY=%s\n(restart the server to load it)\n", cred.AccountID, cred.AccessKeyID, cred.SecretAccessKey)
	return nil
}

// apiError shortens SDK errors to the AWS code and message.
func apiError(err error) error {
	var ae interface {
		ErrorCode() string
		ErrorMessage() string
	}
	if errors.As(err, &ae) {
		return &awserr.Error{Code: ae.ErrorCode(), Message: ae.ErrorMessage()}
	}
	return err
}

// reserveAfterOption maps the flag (0 = off) onto server.Options (0 = default, negative = off).
func reserveAfterOption(d time.Duration) time.Duration {
	if d <= 0 {
		return -1
	}
	return d
}
