package e2e_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/batch"
	"github.com/aws/aws-sdk-go-v2/service/batch/types"
	"golang.org/x/sys/unix"

	"github.com/barge-run/barge/internal/account"
	"github.com/barge-run/barge/internal/bargetest"
	"github.com/barge-run/barge/internal/sigv4"
)

// TestCLITruth checks that barge's client commands say what happened, in their exit codes and
// messages, through a real server: a failed job fails `jobs watch` and `logs -f`, an array shows
// what its children do, cancel of a running job says to terminate it, an added account works at
// once, and a function package without its entry point is refused.
func TestCLITruth(t *testing.T) {
	t.Parallel()
	b := bargetest.Start(t)
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	c := bargeCLI{t, ctx, bargetest.Binary(t), b.Env()}
	t.Run("failed job", func(t *testing.T) { testFailedJob(c.in(t)) })
	t.Run("array", func(t *testing.T) { testArrayWatch(c.in(t), b) })
	t.Run("cancel running", func(t *testing.T) { testCancelRunning(c.in(t)) })
	t.Run("account add", func(t *testing.T) { testAccountAddLive(c.in(t), b) })
	t.Run("deploy entry point", func(t *testing.T) { testDeployEntryPoint(c.in(t)) })
}

// in is c for a subtest.
func (c bargeCLI) in(t *testing.T) bargeCLI {
	c.t = t
	return c
}

// cleanEnv is this process's environment without AWS_* and BARGE_* variables and with no AWS
// configuration files, for clients that must get everything from the test.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AWS_") && !strings.HasPrefix(kv, "BARGE_") {
			env = append(env, kv)
		}
	}
	return append(env, "AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null", "AWS_PAGER=", "AWS_EC2_METADATA_DISABLED=true")
}

// oneLine fails the test unless s is a single line (an error message, not a chain or a trace).
func oneLine(t *testing.T, what string, res cmdResult) {
	t.Helper()
	if strings.Count(strings.TrimSuffix(res.stderr, "\n"), "\n") != 0 || res.stderr == "" {
		t.Errorf("%s: want one line on stderr\n%s", what, res)
	}
}

// testFailedJob: `jobs watch` and `logs -f` of a job that FAILED exit 1 and say why.
func testFailedJob(c bargeCLI) {
	t := c.t
	id := c.submit("--", "sh", "-c", "echo about to fail; exit 3")
	// Flags after the job id, as before it.
	watch := c.run("jobs", "watch", id, "--interval", "50ms")
	if watch.code != 1 || !strings.Contains(watch.stderr, "job "+id+" FAILED") {
		t.Errorf("barge jobs watch of a failing job: want exit 1 and \"job %s FAILED\"\n%s", id, watch)
	}
	oneLine(t, "jobs watch of a failed job", watch)
	if lines := strings.Split(strings.TrimSpace(watch.stdout), "\n"); !strings.HasSuffix(lines[len(lines)-1], " FAILED") {
		t.Errorf("barge jobs watch: last line %q, want the job FAILED", lines[len(lines)-1])
	}
	logs := c.run("logs", id, "-f")
	if logs.code != 1 || logs.stdout != "about to fail\n" || !strings.Contains(logs.stderr, "FAILED") {
		t.Errorf("barge logs -f of a failed job: want its output, exit 1 and FAILED\n%s", logs)
	}
	if plain := c.run("logs", id); plain.code != 0 || plain.stdout != "about to fail\n" {
		t.Errorf("barge logs (without -f) of a failed job prints its output and succeeds\n%s", plain)
	}
	ok := c.submit("--", "true")
	if res := c.run("jobs", "watch", "--interval", "50ms", ok); res.code != 0 || !strings.HasSuffix(strings.TrimSpace(res.stdout), " SUCCEEDED") {
		t.Errorf("barge jobs watch of a job that succeeds: want exit 0 and SUCCEEDED\n%s", res)
	}
}

// submitArray submits an array of size children sleeping secs each.
func submitArray(c bargeCLI, b *bargetest.Barge, size int32, secs string) string {
	c.t.Helper()
	out, err := b.Batch().SubmitJob(c.ctx, &batch.SubmitJobInput{JobName: aws.String("arr"), JobQueue: aws.String("default"),
		JobDefinition: aws.String("barge-adhoc"), ArrayProperties: &types.ArrayProperties{Size: aws.Int32(size)},
		ContainerOverrides: &types.ContainerOverrides{Command: []string{"sleep", secs}}})
	if err != nil {
		c.t.Fatalf("SubmitJob of an array: %v", err)
	}
	return aws.ToString(out.JobId)
}

var runningRE = regexp.MustCompile(`(?:RUNNING|STARTING)=\d+`)

// testArrayWatch: while children run the array shows RUNNING (AWS keeps the parent PENDING);
// on a terminal it is one line redrawn; `logs` of the parent points to the children.
func testArrayWatch(c bargeCLI, b *bargetest.Barge) {
	t := c.t
	id := submitArray(c, b, 3, "1")
	res := c.ok("jobs", "watch", "--interval", "50ms", id)
	lines := strings.Split(strings.TrimSpace(res.stdout), "\n")
	sawRunning := false
	for _, l := range lines {
		if runningRE.MatchString(l) {
			sawRunning = true
			if !strings.HasSuffix(l, "(RUNNING)") {
				t.Errorf("while children run the array shows %q, want (RUNNING)", l)
			}
		}
	}
	if !sawRunning || !strings.Contains(lines[len(lines)-1], "100% 3/3 SUCCEEDED=3 (SUCCEEDED)") {
		t.Errorf("barge jobs watch of an array: want a line with children running, ending 100%% 3/3\n%s", res)
	}
	logs := c.run("logs", id)
	if logs.code != 1 || !strings.Contains(logs.stderr, "array job") || !strings.Contains(logs.stderr, "barge logs "+id+":0") {
		t.Errorf("barge logs of an array's parent: want exit 1 naming its children's logs\n%s", logs)
	}
	oneLine(t, "logs of an array parent", logs)

	out := watchOnTerminal(c, submitArray(c, b, 2, "1"))
	if n := strings.Count(out, "\r\x1b[K"); n < 2 || strings.Count(out, "\n") != 1 || !strings.HasSuffix(out, "\n") {
		t.Errorf("on a terminal barge jobs watch redraws one line (want ≥ 2 redraws, one newline at the end): %q", out)
	}
	if !strings.Contains(out, "100% 2/2") {
		t.Errorf("on a terminal barge jobs watch did not draw the array's end: %q", out)
	}
}

// watchOnTerminal runs `barge jobs watch` with its output on a pseudo-terminal and returns what
// it wrote there.
func watchOnTerminal(c bargeCLI, id string) string {
	t := c.t
	t.Helper()
	master, slave := openPTY(t)
	defer master.Close()
	cmd := exec.CommandContext(c.ctx, c.bin, "jobs", "watch", "--interval", "50ms", id)
	cmd.Env = c.env
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = slave, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	slave.Close() // the child holds it now; reads of the master end (EIO) once it exits
	read := make(chan string, 1)
	go func() {
		var buf bytes.Buffer
		chunk := make([]byte, 4096)
		for {
			n, err := master.Read(chunk)
			buf.Write(chunk[:n])
			if err != nil {
				read <- buf.String()
				return
			}
		}
	}()
	if err := cmd.Wait(); err != nil {
		t.Fatalf("barge jobs watch on a terminal: %v\n%s", err, stderr.String())
	}
	select {
	case out := <-read:
		return strings.ReplaceAll(out, "\r\n", "\n") // the terminal's own newline translation
	case <-time.After(10 * time.Second):
		t.Fatal("the pseudo-terminal did not close after barge exited")
		return ""
	}
}

// openPTY opens a pseudo-terminal 120 columns wide: the test reads master, a command writes slave.
func openPTY(t *testing.T) (master, slave *os.File) {
	t.Helper()
	master, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pseudo-terminals: %v", err)
	}
	fd := int(master.Fd())
	if err := unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0); err != nil {
		t.Fatalf("unlock pty: %v", err)
	}
	n, err := unix.IoctlGetUint32(fd, unix.TIOCGPTN)
	if err != nil {
		t.Fatalf("pty number: %v", err)
	}
	slave, err = os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatalf("open pty: %v", err)
	}
	if err := unix.IoctlSetWinsize(int(slave.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Row: 24, Col: 120}); err != nil {
		t.Fatalf("pty size: %v", err)
	}
	return master, slave
}

// testCancelRunning: cancel of a RUNNING job changes nothing (AWS's CancelJob), so it fails and
// names terminate; of an ended job it fails too.
func testCancelRunning(c bargeCLI) {
	t := c.t
	id := c.submit("--", "sleep", "60")
	c.wait(id, 30*time.Second, func(s string) bool { return s == "RUNNING" || bargetest.Terminal(s) })
	res := c.run("cancel", id)
	if res.code != 1 || !strings.Contains(res.stderr, "is RUNNING") || !strings.Contains(res.stderr, "barge terminate "+id) {
		t.Errorf("barge cancel of a running job: want exit 1, \"is RUNNING\" and \"barge terminate %s\"\n%s", id, res)
	}
	oneLine(t, "cancel of a running job", res)
	if j := c.describe(id); j.Status != "RUNNING" {
		t.Errorf("after barge cancel the job is %s; CancelJob leaves a running job RUNNING", j.Status)
	}
	c.ok("terminate", id, "--reason", "stopped by the test")
	j := c.wait(id, 30*time.Second, bargetest.Terminal)
	if j.Status != "FAILED" || j.StatusReason != "stopped by the test" {
		t.Errorf("terminated job: %s %q; want FAILED with the reason given", j.Status, j.StatusReason)
	}
	if res := c.run("cancel", id); res.code != 1 || !strings.Contains(res.stderr, "already ended (FAILED)") {
		t.Errorf("barge cancel of an ended job: want exit 1 and \"already ended\"\n%s", res)
	}
}

var keyRE = regexp.MustCompile(`AWS_ACCESS_KEY_ID=(\S+) AWS_SECRET_ACCESS_KEY=(\S+)`)

// testAccountAddLive: `barge account add <id> --data-dir D` (flags after the argument) on a
// running server's data directory: the key works at once, in an account with its default queue;
// on a fresh data directory the default account is kept.
func testAccountAddLive(c bargeCLI, b *bargetest.Barge) {
	t := c.t
	res := c.ok("account", "add", "222222222222", "--data-dir", b.DataDir)
	m := keyRE.FindStringSubmatch(res.stdout)
	if m == nil {
		t.Fatalf("barge account add printed no key\n%s", res)
	}
	cred := sigv4.Credential{AccessKeyID: m[1], SecretAccessKey: m[2], AccountID: "222222222222"}
	queues, err := batch.NewFromConfig(b.Config(cred)).DescribeJobQueues(c.ctx, &batch.DescribeJobQueuesInput{})
	if err != nil {
		t.Fatalf("the added account's key, used at once without a restart: %v", err)
	}
	if len(queues.JobQueues) != 1 || !strings.Contains(aws.ToString(queues.JobQueues[0].JobQueueArn), ":222222222222:job-queue/default") {
		t.Errorf("the added account's queues: %+v, want its own default queue", queues.JobQueues)
	}
	other := bargeCLI{t, c.ctx, c.bin, withEnv(c.env, "AWS_ACCESS_KEY_ID="+cred.AccessKeyID, "AWS_SECRET_ACCESS_KEY="+cred.SecretAccessKey)}
	id := other.submit("--", "true")
	if j := other.wait(id, 30*time.Second, bargetest.Terminal); j.Status != "SUCCEEDED" {
		t.Errorf("a job of the added account: %s, want SUCCEEDED", j.Status)
	}

	fresh := t.TempDir()
	c.ok("account", "add", "111111111111", "--data-dir", fresh)
	set, err := account.Load(fresh)
	if err != nil {
		t.Fatal(err)
	}
	if got := set.Accounts(); !slices.Equal(got, []string{account.DefaultAccount, "111111111111"}) {
		t.Errorf("accounts after barge account add on a fresh data directory: %v, want the default one kept first", got)
	}
}

// withEnv replaces variables in env.
func withEnv(env []string, kvs ...string) []string {
	out := slices.Clone(env)
	for _, kv := range kvs {
		k, _, _ := strings.Cut(kv, "=")
		out = slices.DeleteFunc(out, func(e string) bool { return strings.HasPrefix(e, k+"=") })
		out = append(out, kv)
	}
	return out
}

// testDeployEntryPoint: a directory without what its runtime starts is refused before anything
// is created.
func testDeployEntryPoint(c bargeCLI) {
	t := c.t
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte("package main\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	res := c.run("deploy", "nobootstrap", dir)
	if res.code != 1 || !strings.Contains(res.stderr, "lacks an executable bootstrap") {
		t.Errorf("barge deploy of a directory without bootstrap: want exit 1 and \"lacks an executable bootstrap\"\n%s", res)
	}
	oneLine(t, "deploy without bootstrap", res)
	res = c.run("deploy", "nomodule", dir, "--runtime", "python3.12", "--handler", "app.handler")
	if res.code != 1 || !strings.Contains(res.stderr, "app.py") {
		t.Errorf("barge deploy of a Python directory without app.py: want exit 1 naming app.py\n%s", res)
	}
	if got := c.run("invoke", "nobootstrap"); got.code == 0 || !strings.Contains(got.stderr, "ResourceNotFoundException") {
		t.Errorf("a refused deploy created the function\n%s", got)
	}
}

// TestCLIUnreachable checks that client commands with no server to talk to say so in one line
// naming the address, and fail.
func TestCLIUnreachable(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if _, err := account.Add(dir, account.DefaultAccount); err != nil {
		t.Fatal(err)
	}
	addr := closedPort(t)
	env := withEnv(cleanEnv(), "BARGE_ADDR="+addr, "BARGE_DATA_DIR="+dir)
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	c := bargeCLI{t, ctx, bargetest.Binary(t), env}
	want := "barge: cannot reach the barge server at http://" + addr + " (connection refused): start it with `barge server`, or set --addr / AWS_ENDPOINT_URL"
	for _, args := range [][]string{{"jobs"}, {"describe", "x"}, {"submit", "--", "true"}, {"logs", "-f", "x"}, {"cancel", "x"}, {"jobs", "watch", "x"}, {"invoke", "f"}} {
		res := c.run(args...)
		if res.code != 1 || !strings.HasPrefix(res.stderr, want) {
			t.Errorf("barge %s without a server: want exit 1 and %q\n%s", strings.Join(args, " "), want, res)
		}
		oneLine(t, "barge "+strings.Join(args, " "), res)
	}
	other := closedPort(t)
	c.env = withEnv(env, "AWS_ENDPOINT_URL=http://"+other, "AWS_ACCESS_KEY_ID=AKIAX", "AWS_SECRET_ACCESS_KEY=x")
	if res := c.run("jobs"); res.code != 1 || !strings.Contains(res.stderr, "at http://"+other+" (connection refused)") {
		t.Errorf("with AWS_ENDPOINT_URL: want its address named\n%s", res)
	}
	res := c.run("env", "--wait=1s")
	if res.code != 1 || !strings.Contains(res.stderr, "no barge server answered at "+addr+" within 1s: start it with `barge server`") {
		t.Errorf("barge env --wait=1s without a server: want exit 1 and a timeout naming %s\n%s", addr, res)
	}
}

// closedPort is a loopback address nothing listens on (one that was free a moment ago).
func closedPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// TestServerStopsOnSignal checks that SIGTERM and SIGINT stop `barge server` cleanly (exit 0,
// its port closed), and that SIGTERM to `go run ./cmd/barge server` — which dies of it without
// passing it on — stops the server it ran too.
func TestServerStopsOnSignal(t *testing.T) {
	t.Parallel()
	for _, sig := range []unix.Signal{unix.SIGTERM, unix.SIGINT} {
		cmd := exec.Command(bargetest.Binary(t), "server", "--addr", "127.0.0.1:0", "--data-dir", t.TempDir())
		addr := startServerCmd(t, cmd)
		if err := cmd.Process.Signal(sig); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("barge server after %v: %v, want exit 0", sig, err)
			}
		case <-time.After(30 * time.Second):
			t.Fatalf("barge server still runs 30s after %v", sig)
		}
		if conn, err := net.Dial("tcp", addr); err == nil {
			conn.Close()
			t.Errorf("after %v barge server's port %s still accepts connections", sig, addr)
		}
	}

	goCmd, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command on PATH")
	}
	cmd := exec.Command(goCmd, "run", "./cmd/barge", "server", "--addr", "127.0.0.1:0", "--data-dir", t.TempDir())
	cmd.Dir = repoRoot(t)
	// go run's own work directory (the binary it built) is left behind when it is killed.
	cmd.Env = append(os.Environ(), "GOTMPDIR="+t.TempDir())
	addr := startServerCmd(t, cmd)
	if err := cmd.Process.Signal(unix.SIGTERM); err != nil { // go run alone, not its process group
		t.Fatal(err)
	}
	cmd.Wait()
	if !waitGroupGone(cmd.Process.Pid, 30*time.Second) {
		t.Fatalf("30s after SIGTERM to go run, the server it ran still runs")
	}
	if conn, err := net.Dial("tcp", addr); err == nil {
		conn.Close()
		t.Errorf("after SIGTERM to go run, port %s still accepts connections", addr)
	}
}

// stopGroup stops what still runs in process group pgid: SIGTERM, so that a server takes its
// mounts down, then SIGKILL after 30s.
func stopGroup(pgid int) {
	unix.Kill(-pgid, unix.SIGTERM)
	if !waitGroupGone(pgid, 30*time.Second) {
		unix.Kill(-pgid, unix.SIGKILL)
		waitGroupGone(pgid, 10*time.Second)
	}
}

// waitGroupGone waits until process group pgid has no live process (zombies aside), and
// reports whether it came to that within limit.
func waitGroupGone(pgid int, limit time.Duration) bool {
	deadline := time.Now().Add(limit)
	for groupAlive(pgid) {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(50 * time.Millisecond)
	}
	return true
}

// groupAlive reports whether a process of group pgid runs, from /proc.
func groupAlive(pgid int) bool {
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, p := range stats {
		b, err := os.ReadFile(p)
		if err != nil {
			continue // gone meanwhile
		}
		// pid (comm) state ppid pgrp …; comm may hold spaces and parentheses.
		f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
		if len(f) > 2 && f[0] != "Z" && f[2] == fmt.Sprint(pgid) {
			return true
		}
	}
	return false
}

// startServerCmd starts a `barge server` command in a process group of its own (killed at the
// end of the test) and returns the address it listens on, from its first line.
func startServerCmd(t *testing.T, cmd *exec.Cmd) string {
	t.Helper()
	cmd.SysProcAttr = &unix.SysProcAttr{Setpgid: true}
	// A server outliving the process started (go run's) holds the output pipes: Wait must not
	// wait for them.
	cmd.WaitDelay = time.Second
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pgid := cmd.Process.Pid
	t.Cleanup(func() { stopGroup(pgid) })
	first := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(stdout).ReadString('\n')
		first <- line
		io.Copy(io.Discard, stdout)
	}()
	select {
	case line := <-first:
		f := strings.Fields(line)
		if len(f) < 4 || !strings.HasPrefix(f[3], "http://") {
			t.Fatalf("barge server's first line %q\n%s", line, stderr.String())
		}
		return strings.TrimPrefix(f[3], "http://")
	case <-time.After(2 * time.Minute):
		t.Fatalf("barge server did not start\n%s", stderr.String())
		return ""
	}
}

// repoRoot is the root of barge's source tree.
func repoRoot(t *testing.T) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}
