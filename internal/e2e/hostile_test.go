package e2e_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/batch"
	"github.com/aws/aws-sdk-go-v2/service/batch/types"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	ltypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/smithy-go"
	"golang.org/x/sys/unix"

	"github.com/barge-run/barge/internal/account"
	"github.com/barge-run/barge/internal/bargetest"
	"github.com/barge-run/barge/internal/exec/sandbox"
	"github.com/barge-run/barge/internal/sigv4"
)

// unprotected is every protection the hostile-tenant tests defeat, turned off: what barge's
// sandbox was before them. Each attack is run there first, to show it works, then against a
// default server, to show it fails.
var unprotected = []string{"--unsafe-sandbox", "userns,netns,masks,seccomp,mknod,volumes,disk"}

// tenantServer is a barge with two accounts: the default one (a victim) and 111111111111 (an
// attacker), volumes allowed under root and attempts' writes bounded at 64 MiB.
type tenantServer struct {
	b        *bargetest.Barge
	victim   sigv4.Credential
	attacker sigv4.Credential
	root     string // the volume root
}

func startTenantServer(t *testing.T, extra ...string) tenantServer {
	t.Helper()
	dir, root := t.TempDir(), t.TempDir()
	victims, err := account.LoadOrCreate(dir)
	if err != nil {
		t.Fatal(err)
	}
	attacker, err := account.Add(dir, "111111111111")
	if err != nil {
		t.Fatal(err)
	}
	args := append([]string{"--volume-root", root, "--ephemeral-storage", "64MiB"}, extra...)
	b := bargetest.Start(t, bargetest.WithDataDir(dir), bargetest.WithArgs(args...))
	return tenantServer{b: b, victim: victims.First(), attacker: attacker, root: root}
}

// run registers a job definition in the attacker's account, runs it once and returns the job
// and its output.
func (s tenantServer) run(t *testing.T, name string, cp *types.ContainerProperties) (types.JobDetail, string) {
	t.Helper()
	c := batch.NewFromConfig(s.b.Config(s.attacker))
	register(t, c, name, cp)
	id := submit(t, c, &batch.SubmitJobInput{JobName: aws.String(name), JobDefinition: aws.String(name)})
	j := bargetest.WaitJob(t, c, id, jobWait, terminal)
	logs := batchLogs(s.b, s.attacker)
	out := ""
	if j.Container != nil && j.Container.LogStreamName != nil {
		out = strings.Join(logLines(t, logs, aws.ToString(j.Container.LogStreamName)), "\n")
	}
	return j, out
}

// batchLogs reads an account's job logs.
func batchLogs(b *bargetest.Barge, cred sigv4.Credential) *cloudwatchlogs.Client {
	return cloudwatchlogs.NewFromConfig(b.Config(cred))
}

// script is a host-filesystem job running sh -c script.
func script(s string) *types.ContainerProperties {
	return &types.ContainerProperties{Command: []string{"sh", "-c", s}, ResourceRequirements: reqs("1", "128")}
}

// attack is one thing a hostile tenant tries; it reports whether it got through, and what it saw.
type attack struct {
	name string
	try  func(t *testing.T, s tenantServer) (won bool, saw string)
}

var attacks = []attack{
	{"write a host sysctl (kernel.core_pattern, writing back the value read)", func(t *testing.T, s tenantServer) (bool, string) {
		_, out := s.run(t, "sysctl", script(`v=$(cat /proc/sys/kernel/core_pattern) && printf '%s\n' "$v" > /proc/sys/kernel/core_pattern && echo WROTE-SYSCTL || echo refused`))
		return strings.Contains(out, "WROTE-SYSCTL"), out
	}},
	{"read the host's /etc/shadow", func(t *testing.T, s tenantServer) (bool, string) {
		_, out := s.run(t, "shadow", script(`head -c 4 /etc/shadow > /dev/null && echo READ-SHADOW || echo refused`))
		return strings.Contains(out, "READ-SHADOW"), out
	}},
	{"mknod the data directory's disk and read it", func(t *testing.T, s tenantServer) (bool, string) {
		var st unix.Stat_t
		if err := unix.Stat(s.b.DataDir, &st); err != nil {
			t.Fatal(err)
		}
		maj, mnr := unix.Major(st.Dev), unix.Minor(st.Dev)
		_, out := s.run(t, "mknod", script(fmt.Sprintf(`mknod disk b %d %d && head -c 16 disk | od -An -tx1 && echo READ-DEVICE || echo refused`, maj, mnr)))
		return strings.Contains(out, "READ-DEVICE"), out
	}},
	{"mount the host's /proc as a volume and read PID 1", func(t *testing.T, s tenantServer) (bool, string) {
		c := batch.NewFromConfig(s.b.Config(s.attacker))
		cp := script("")
		cp.Volumes = []types.Volume{{Name: aws.String("p"), Host: &types.Host{SourcePath: aws.String("/proc")}}}
		cp.MountPoints = []types.MountPoint{{SourceVolume: aws.String("p"), ContainerPath: aws.String("/tmp/hostproc")}}
		cp.Command = []string{"sh", "-c", `tr '\0' ' ' < /tmp/hostproc/1/cmdline; echo; echo READ-HOST-PROC`}
		_, err := c.RegisterJobDefinition(context.Background(), &batch.RegisterJobDefinitionInput{
			JobDefinitionName: aws.String("hostproc"), Type: types.JobDefinitionTypeContainer, ContainerProperties: cp})
		var api smithy.APIError
		if errors.As(err, &api) {
			if api.ErrorCode() != "ClientException" || !strings.Contains(api.ErrorMessage(), "containerProperties.volumes[0].host.sourcePath") {
				t.Errorf("refused, but not as a ClientException naming the field: %v", err)
			}
			return false, "refused at registration: " + api.ErrorMessage()
		}
		if err != nil {
			t.Fatal(err)
		}
		id := submit(t, c, &batch.SubmitJobInput{JobName: aws.String("hostproc"), JobDefinition: aws.String("hostproc")})
		j := bargetest.WaitJob(t, c, id, jobWait, terminal)
		out := strings.Join(logLines(t, batchLogs(s.b, s.attacker), aws.ToString(j.Container.LogStreamName)), "\n")
		host, _ := os.ReadFile("/proc/1/cmdline")
		first := strings.TrimSpace(strings.ReplaceAll(string(host), "\x00", " "))
		return strings.Contains(out, "READ-HOST-PROC") && strings.Contains(out, first), out
	}},
	{"unshare a user namespace (seccomp)", func(t *testing.T, s tenantServer) (bool, string) {
		_, out := s.run(t, "unshare", script(`unshare --user true && echo UNSHARED || echo refused`))
		return strings.Contains(out, "UNSHARED"), out
	}},
	{"write past the attempt's disk bound (64 MiB) in its directory and /tmp", func(t *testing.T, s tenantServer) (bool, string) {
		_, out := s.run(t, "fill", script(`dd if=/dev/zero of=big bs=1M count=48 2>/dev/null && dd if=/dev/zero of=/tmp/big bs=1M count=48 2>/dev/null && echo WROTE-96M; rm -f big /tmp/big`))
		return strings.Contains(out, "WROTE-96M"), out
	}},
	{"take another account's function events from its Runtime API", stealEvents},
	{"race a volume's path to a symlink into the data directory (200 tries)", symlinkRace},
}

// TestHostileTenant runs each attack against a barge with the protections off (it must work,
// or the test proves nothing) and against a default barge (it must fail), while an innocent job
// of the victim account keeps running on each.
func TestHostileTenant(t *testing.T) {
	if err := sandbox.Probe(); err != nil {
		t.Skipf("no sandbox on this host: %v", err)
	}
	t.Parallel()
	for _, mode := range []struct {
		name      string
		args      []string
		protected bool
	}{{"unprotected", unprotected, false}, {"default", nil, true}} {
		t.Run(mode.name, func(t *testing.T) {
			s := startTenantServer(t, mode.args...)
			vc := batch.NewFromConfig(s.b.Config(s.victim))
			register(t, vc, "innocent", script(`echo alive; sleep 120`))
			innocent := submit(t, vc, &batch.SubmitJobInput{JobName: aws.String("innocent"), JobDefinition: aws.String("innocent")})
			bargetest.WaitJob(t, vc, innocent, jobWait, func(s string) bool { return s == "RUNNING" })
			for _, a := range attacks {
				t.Run(a.name, func(t *testing.T) {
					won, saw := a.try(t, s)
					switch {
					case mode.protected && won:
						t.Errorf("the attack got through the default sandbox; it saw:\n%s", saw)
					case !mode.protected && !won:
						t.Errorf("the attack failed even without the protection, so its test shows nothing; it saw:\n%s", saw)
					}
				})
			}
			if d := describe(t, vc, innocent); len(d) != 1 || d[0].Status != types.JobStatusRunning {
				t.Fatalf("the innocent job did not survive the attacks: %+v", d)
			}
			vc.TerminateJob(context.Background(), &batch.TerminateJobInput{JobId: aws.String(innocent), Reason: aws.String("done")})
		})
	}
}

// stealEvents: the victim account has a warm function; the attacker's job finds every TCP
// socket listening on its loopback and long-polls /runtime/invocation/next on each, hoping to be
// handed the victim's events, while the victim invokes its function with a secret.
func stealEvents(t *testing.T, s tenantServer) (bool, string) {
	ctx := context.Background()
	lc := lambda.NewFromConfig(s.b.Config(s.victim))
	if _, err := lc.CreateFunction(ctx, &lambda.CreateFunctionInput{
		FunctionName: aws.String("victim"), Runtime: ltypes.RuntimeProvidedal2023, Handler: aws.String("bootstrap"),
		Role: aws.String("arn:aws:iam::000000000000:role/any"), Code: &ltypes.FunctionCode{ZipFile: echoFunction(t)}, Timeout: aws.Int32(2),
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := lc.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("victim"), Payload: []byte(`{"warm":1}`)}); err != nil {
		t.Fatal(err)
	}
	const thief = `
import socket, threading, time, urllib.error, urllib.request
import sys
# The victim's Runtime API address (what its AWS_LAMBDA_RUNTIME_API says); the thief also
# lists what listens on its loopback, to show what it can see.
target = sys.argv[1]
ports = set()
for f in ("/proc/net/tcp", "/proc/net/tcp6"):
    try:
        for line in open(f).readlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            if state == "0A":
                ports.add(int(local.split(":")[1], 16))
    except OSError:
        pass
print("listening:", sorted(ports), "target:", target, flush=True)
won = threading.Event()
def poll(port):
    deadline = time.time() + 25
    while time.time() < deadline and not won.is_set():
        try:
            body = urllib.request.urlopen("http://127.0.0.1:%d/2018-06-01/runtime/invocation/next" % port, timeout=3).read().decode()
        except urllib.error.HTTPError:
            time.sleep(0.01)  # e.g. 403 while the runtime holds an event: ask again
            continue
        except socket.timeout:
            continue  # a long poll with no event yet
        except Exception:
            return  # nothing listening there, or not HTTP
        if "s3cr3t" in body:
            print("STOLE", body, flush=True)
            won.set()
threading.Thread(target=poll, args=(int(target.rsplit(":", 1)[1]),), daemon=True).start()
won.wait(25)
print("done", flush=True)
`
	c := batch.NewFromConfig(s.b.Config(s.attacker))
	// The address is given to the thief rather than found by scanning every loopback port: a
	// scan would also take the events of other tests' functions running on this host. In a real
	// attack the scan is what finds it (/proc/net/tcp lists it on an unprotected host).
	addr := runtimeAPIOf(t, "victim")
	register(t, c, "thief", &types.ContainerProperties{Command: []string{"python3", "-c", thief, addr}, ResourceRequirements: reqs("1", "128")})
	id := submit(t, c, &batch.SubmitJobInput{JobName: aws.String("thief"), JobDefinition: aws.String("thief")})
	j := bargetest.WaitJob(t, c, id, jobWait, func(s string) bool { return s == "RUNNING" || terminal(s) })
	logs := batchLogs(s.b, s.attacker)
	firstLogLine(t, logs, aws.ToString(j.Container.LogStreamName))
	// The victim keeps invoking its function (paced: this is traffic for the thief to take, not
	// a wait) until the thief's job ends; stolen invocations time out, the rest are answered.
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for i := 0; i < 200; i++ {
		if d := describe(t, c, id); len(d) == 1 && terminal(string(d[0].Status)) {
			break
		}
		go lc.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("victim"), Payload: []byte(`{"secret":"s3cr3t","n":` + strconv.Itoa(i) + `}`)})
		<-tick.C
	}
	j = bargetest.WaitJob(t, c, id, time.Minute, terminal)
	out := strings.Join(logLines(t, logs, aws.ToString(j.Container.LogStreamName)), "\n")
	return strings.Contains(out, "STOLE"), out
}

// symlinkRace: the attacker's volume is root/x, which the attacker keeps swapping (renameat2
// RENAME_EXCHANGE) between an empty directory and a symlink to barge's data directory, while
// 200 children of an array job start with it mounted; a child that finds barge's credentials in
// its volume exits 42.
func symlinkRace(t *testing.T, s tenantServer) (bool, string) {
	x, y := filepath.Join(s.root, "x"), filepath.Join(s.root, "y")
	if err := os.Mkdir(x, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(s.b.DataDir, y); err != nil {
		t.Fatal(err)
	}
	var stop atomic.Bool
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for !stop.Load() {
			unix.Renameat2(unix.AT_FDCWD, x, unix.AT_FDCWD, y, unix.RENAME_EXCHANGE)
		}
	}()
	defer func() {
		stop.Store(true)
		wg.Wait()
	}()
	c := batch.NewFromConfig(s.b.Config(s.attacker))
	cp := script(`test -e /tmp/vol/credentials.json && exit 42; exit 0`)
	cp.ResourceRequirements = reqs("0.25", "32")
	cp.Volumes = []types.Volume{{Name: aws.String("v"), Host: &types.Host{SourcePath: aws.String(x)}}}
	cp.MountPoints = []types.MountPoint{{SourceVolume: aws.String("v"), ContainerPath: aws.String("/tmp/vol"), ReadOnly: aws.Bool(true)}}
	register(t, c, "race", cp)
	id := submit(t, c, &batch.SubmitJobInput{JobName: aws.String("race"), JobDefinition: aws.String("race"), ArrayProperties: &types.ArrayProperties{Size: aws.Int32(200)}})
	bargetest.WaitJob(t, c, id, 3*time.Minute, terminal)
	failed := listAll(t, c, &batch.ListJobsInput{ArrayJobId: aws.String(id), JobStatus: types.JobStatusFailed})
	leaked, startFailures := 0, 0
	for i := 0; i < len(failed); i += 100 {
		var ids []string
		for _, f := range failed[i:min(i+100, len(failed))] {
			ids = append(ids, aws.ToString(f.JobId))
		}
		for _, j := range describe(t, c, ids...) {
			if j.Container != nil && aws.ToInt32(j.Container.ExitCode) == 42 {
				leaked++
			} else {
				startFailures++
			}
		}
	}
	return leaked > 0, fmt.Sprintf("%d of 200 children mounted barge's data directory; %d could not start (the volume was a symlink out of the root when they did)", leaked, startFailures)
}

// runtimeAPIOf finds the Runtime API address a running instance of function name was given, in
// its environment (the test runs as root on the host, as the attacker in its story does not).
func runtimeAPIOf(t *testing.T, name string) string {
	t.Helper()
	dirs, _ := filepath.Glob("/proc/[0-9]*/environ")
	for _, d := range dirs {
		b, err := os.ReadFile(d)
		if err != nil {
			continue
		}
		env := strings.Split(string(b), "\x00")
		if !slices.Contains(env, "AWS_LAMBDA_FUNCTION_NAME="+name) {
			continue
		}
		for _, kv := range env {
			if v, ok := strings.CutPrefix(kv, "AWS_LAMBDA_RUNTIME_API="); ok {
				return v
			}
		}
	}
	t.Fatalf("no running instance of %s found", name)
	return ""
}
