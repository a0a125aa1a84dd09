// Package bargetest runs a real barge server process for integration tests: the binary is built
// once per test process, started on an ephemeral loopback port with a temporary data directory,
// and can be killed (-9) and restarted on the same data directory.
package bargetest

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/batch"
	"github.com/aws/aws-sdk-go-v2/service/batch/types"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"

	"github.com/barge-run/barge/internal/account"
	"github.com/barge-run/barge/internal/bench"
	"github.com/barge-run/barge/internal/sigv4"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// Binary builds cmd/barge once per test process and returns its path.
func Binary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		_, file, _, _ := runtime.Caller(0)
		root := filepath.Join(filepath.Dir(file), "..", "..")
		dir, err := os.MkdirTemp("", "barge-bin-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "barge")
		cmd := exec.Command("go", "build", "-o", binPath, "./cmd/barge")
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// RemoveBinary deletes the binary Binary built, if any; a TestMain calls it once every test of
// the process has ended, so that no run leaves a copy of barge in the temporary directory.
func RemoveBinary() {
	if binPath != "" {
		os.RemoveAll(filepath.Dir(binPath))
	}
}

// Barge is a running barge server process.
type Barge struct {
	t        testing.TB
	DataDir  string
	Endpoint string // http://127.0.0.1:port
	Addr     string
	Cred     sigv4.Credential // the default account's credential
	Region   string
	args     []string
	env      []string
	workDir  string // when set, the server runs here with the default, relative, data directory
	cmd      *exec.Cmd
	exited   chan struct{}
	logs     *syncBuffer
}

// Option changes how the server starts.
type Option func(*Barge)

// WithArgs adds flags to `barge server`.
func WithArgs(args ...string) Option { return func(b *Barge) { b.args = append(b.args, args...) } }

// WithEnv adds variables ("K=V") to the server's environment.
func WithEnv(kv ...string) Option { return func(b *Barge) { b.env = append(b.env, kv...) } }

// WithDataDir uses an existing data directory (for example one prepared with extra accounts).
func WithDataDir(dir string) Option { return func(b *Barge) { b.DataDir = dir } }

// InWorkDir runs the server with dir as its working directory and no --data-dir, so that it uses
// the default relative data directory (dir/.barge), as `barge server` typed in a shell does.
func InWorkDir(dir string) Option {
	return func(b *Barge) { b.workDir = dir; b.DataDir = filepath.Join(dir, ".barge") }
}

// Start runs a barge server for the test and stops it (SIGTERM) at cleanup.
func Start(t testing.TB, opts ...Option) *Barge {
	t.Helper()
	b := &Barge{t: t, Region: "us-east-1", logs: &syncBuffer{}}
	for _, o := range opts {
		o(b)
	}
	if b.DataDir == "" {
		b.DataDir = t.TempDir()
	}
	b.start()
	t.Cleanup(func() {
		b.Stop()
		if t.Failed() {
			t.Logf("barge server log:\n%s", b.logs.String())
		}
	})
	return b
}

func (b *Barge) start() {
	t := b.t
	t.Helper()
	addr := "127.0.0.1:0"
	if b.Addr != "" {
		addr = b.Addr // a restart keeps its port so clients keep working
	}
	args := []string{"server", "--addr", addr}
	if b.workDir == "" {
		args = append(args, "--data-dir", b.DataDir)
	}
	cmd := exec.Command(Binary(t), append(args, b.args...)...)
	cmd.Dir = b.workDir
	cmd.Env = append(append(os.Environ(), "BARGE_ADDR=", "BARGE_DATA_DIR="), b.env...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = b.logs
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	b.cmd = cmd
	b.exited = make(chan struct{})
	go func() { cmd.Wait(); close(b.exited) }()
	// The first stdout line announces the endpoint once the listener is up.
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		if sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
		io.Copy(io.Discard, stdout)
	}()
	select {
	case line, ok := <-lines:
		if !ok {
			<-b.exited
			t.Fatalf("barge exited at start:\n%s", b.logs.String())
		}
		f := strings.Fields(line)
		if len(f) < 4 || !strings.HasPrefix(f[3], "http://") {
			t.Fatalf("unexpected first line %q", line)
		}
		b.Endpoint = f[3]
		b.Addr = strings.TrimPrefix(b.Endpoint, "http://")
	case <-time.After(60 * time.Second):
		t.Fatalf("barge did not start within 60s:\n%s", b.logs.String())
	}
	creds, err := account.Load(b.DataDir)
	if err != nil {
		t.Fatal(err)
	}
	b.Cred = creds.First()
}

// Kill kills the server process alone with SIGKILL, as a crash would, and waits for it to be
// gone. The attempts it ran get SIGKILL from the kernel (parent-death signal).
func (b *Barge) Kill() {
	b.cmd.Process.Kill()
	<-b.exited
}

// Stop asks the server to shut down (SIGTERM) and waits; SIGKILL after 10 s.
func (b *Barge) Stop() {
	select {
	case <-b.exited:
		return
	default:
	}
	b.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-b.exited:
	case <-time.After(10 * time.Second):
		b.Kill()
	}
}

// Restart starts the server again on the same data directory and port.
func (b *Barge) Restart() { b.start() }

// MemoryKiB is the server process's resident memory now and at its peak (VmRSS, VmHWM), in KiB.
func (b *Barge) MemoryKiB() (rss, peak int64) {
	b.t.Helper()
	rss, peak, err := bench.ProcessMemory(b.cmd.Process.Pid)
	if err != nil {
		b.t.Fatalf("server memory: %v", err)
	}
	return rss, peak
}

// Log is what the server wrote to stderr so far.
func (b *Barge) Log() string { return b.logs.String() }

// Config is an aws.Config for a credential (the default account's when zero).
func (b *Barge) Config(cred ...sigv4.Credential) aws.Config {
	c := b.Cred
	if len(cred) > 0 {
		c = cred[0]
	}
	return aws.Config{
		Region:       b.Region,
		Credentials:  credentials.NewStaticCredentialsProvider(c.AccessKeyID, c.SecretAccessKey, ""),
		BaseEndpoint: aws.String(b.Endpoint),
	}
}

// Batch is an aws-sdk-go-v2 Batch client for the default account.
func (b *Barge) Batch() *batch.Client { return batch.NewFromConfig(b.Config()) }

// Logs is an aws-sdk-go-v2 CloudWatch Logs client for the default account.
func (b *Barge) Logs() *cloudwatchlogs.Client { return cloudwatchlogs.NewFromConfig(b.Config()) }

// Env is the environment for a command-line client (aws, python3, barge) talking to this server.
func (b *Barge) Env() []string {
	env := []string{}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AWS_") && !strings.HasPrefix(kv, "BARGE_") {
			env = append(env, kv)
		}
	}
	return append(env,
		"AWS_ENDPOINT_URL="+b.Endpoint,
		"AWS_ACCESS_KEY_ID="+b.Cred.AccessKeyID,
		"AWS_SECRET_ACCESS_KEY="+b.Cred.SecretAccessKey,
		"AWS_REGION="+b.Region,
		"AWS_DEFAULT_REGION="+b.Region,
		"AWS_CONFIG_FILE=/dev/null",
		"AWS_SHARED_CREDENTIALS_FILE=/dev/null",
		"AWS_PAGER=",
		"BARGE_ADDR="+b.Addr,
		"BARGE_DATA_DIR="+b.DataDir,
	)
}

// WaitJob polls DescribeJobs until the job's status satisfies done, and returns the detail.
// It fails the test after timeout; the polling interval is short and never used as a sync point.
func WaitJob(t testing.TB, c *batch.Client, id string, timeout time.Duration, done func(status string) bool) types.JobDetail {
	t.Helper()
	ctx := context.Background()
	deadline := time.Now().Add(timeout)
	last := ""
	for time.Now().Before(deadline) {
		out, err := c.DescribeJobs(ctx, &batch.DescribeJobsInput{Jobs: []string{id}})
		if err != nil {
			t.Fatalf("describe %s: %v", id, err)
		}
		if len(out.Jobs) == 1 {
			last = string(out.Jobs[0].Status)
			if done(last) {
				return out.Jobs[0]
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("job %s: still %s after %v", id, last, timeout)
	return types.JobDetail{}
}

// Terminal reports whether a job status is final.
func Terminal(status string) bool { return status == "SUCCEEDED" || status == "FAILED" }

type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
