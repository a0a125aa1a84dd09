package local

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	bexec "github.com/barge-run/barge/internal/exec"
	"github.com/barge-run/barge/internal/exec/sandbox"
	"github.com/barge-run/barge/internal/image"
	"github.com/barge-run/barge/internal/image/imagetest"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// testPidsLimit is small so the fork bomb meets it quickly.
const testPidsLimit = 64

type env struct {
	e    *Executor
	data string // the sandbox's DataDir: hidden from host-filesystem jobs
}

// sandboxed returns an executor with a real sandbox and image store, or skips when the host
// cannot make a sandbox (not root, no cgo, not Linux). Each option changes the sandbox's Options.
func sandboxed(t *testing.T, options ...func(*sandbox.Options)) env {
	t.Helper()
	if err := sandbox.Probe(); err != nil {
		t.Skipf("no sandbox here: %v", err)
	}
	data := t.TempDir()
	opts := sandbox.Options{DataDir: data, PidsLimit: testPidsLimit, VolumeRoots: []string{os.TempDir()}}
	for _, o := range options {
		o(&opts)
	}
	sb, err := sandbox.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sb.Close)
	images, err := image.New(filepath.Join(data, "images"), image.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return env{e: New(Options{Sandbox: sb, Images: images}), data: data}
}

// workDir makes an attempt directory inside the data directory, as barge does.
func (v env) workDir(t *testing.T) string {
	t.Helper()
	d, err := os.MkdirTemp(v.data, "work-")
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func (v env) start(t *testing.T, spec bexec.Spec) (bexec.Process, *syncBuf, *syncBuf) {
	t.Helper()
	var out, errb syncBuf
	spec.Stdout, spec.Stderr = &out, &errb
	if spec.Dir == "" {
		spec.Dir = v.workDir(t)
	}
	if spec.ID == "" {
		spec.ID = t.Name()
	}
	p, err := v.e.Start(context.Background(), spec)
	if err != nil {
		t.Fatalf("start %v: %v", spec.Command, err)
	}
	return p, &out, &errb
}

// run starts spec and waits, returning the exit and output.
func (v env) run(t *testing.T, spec bexec.Spec) (bexec.Exit, string, string) {
	t.Helper()
	p, out, errb := v.start(t, spec)
	x := p.Wait()
	return x, out.String(), errb.String()
}

func sh(script string) []string { return []string{"sh", "-c", script} }

func TestSandboxIsolation(t *testing.T) {
	v := sandboxed(t)
	secret := filepath.Join(v.data, "credentials.json")
	os.WriteFile(secret, []byte("secret"), 0o600)
	hostTmp, err := os.CreateTemp("", "barge-host-*")
	if err != nil {
		t.Fatal(err)
	}
	hostTmp.Close()
	defer os.Remove(hostTmp.Name())
	vol := t.TempDir()
	os.WriteFile(filepath.Join(vol, "in"), []byte("from host"), 0o644)
	target := t.TempDir() // any existing path can be a mount point on the host filesystem

	cases := []struct {
		name     string
		spec     bexec.Spec
		wantCode int
		wantOut  string // every line must appear in stdout
		check    func(t *testing.T)
	}{
		{name: "own PID namespace", spec: bexec.Spec{Command: sh(`echo pid=$$; set -- /proc/[0-9]*; echo $#`)}, wantOut: "pid=1\n1\n"}, // sh alone (the glob is sh's own: no child to race)
		{name: "init process", spec: bexec.Spec{Command: sh(`echo pid=$$; ls /proc | grep -c '^[0-9]'`), InitProcess: true}, wantOut: "pid=2\n4\n"},
		{name: "cannot signal barge", spec: bexec.Spec{Command: sh(fmt.Sprintf(`kill -0 %d && echo reached || echo unreachable`, os.Getpid()))}, wantOut: "unreachable"},
		{name: "hostname", spec: bexec.Spec{Command: []string{"hostname"}}, wantOut: "barge"},
		{name: "host root is read-only", spec: bexec.Spec{Command: sh(`touch /etc/barge-escape 2>/dev/null && echo wrote || echo refused`)}, wantOut: "refused",
			check: func(t *testing.T) {
				if _, err := os.Stat("/etc/barge-escape"); err == nil {
					os.Remove("/etc/barge-escape")
					t.Error("a job wrote /etc")
				}
			}},
		{name: "working directory writable", spec: bexec.Spec{Command: sh(`echo hi > f && cat f && pwd`)}, wantOut: "hi"},
		{name: "barge data hidden", spec: bexec.Spec{Command: sh(`cat ` + secret + ` 2>/dev/null || echo hidden`)}, wantOut: "hidden"},
		{name: "private /tmp", spec: bexec.Spec{Command: sh(`test -e ` + hostTmp.Name() + ` && echo seen || echo private; touch /tmp/x && echo tmp-writable`)}, wantOut: "private\ntmp-writable"},
		{name: "private /dev", spec: bexec.Spec{Command: sh(`ls /dev | tr '\n' ' '; echo; echo x > /dev/null && echo null-ok`)}, wantOut: "null-ok"},
		{name: "a read-only sysfs of its own network", spec: bexec.Spec{Command: sh(`ls /sys/class/net | tr '\n' ' '; echo; touch /sys/x 2>/dev/null || echo sys-read-only; test -e /sys/firmware/acpi && echo firmware-seen || echo firmware-masked`)}, wantOut: "lo \nsys-read-only\nfirmware-masked"},
		{name: "docker default capabilities", spec: bexec.Spec{Command: sh(`grep CapBnd /proc/self/status`)}, wantOut: "CapBnd:\t00000000a00425fb"},
		{name: "ulimit nofile", spec: bexec.Spec{Command: sh(`ulimit -n; ulimit -Hn`), Ulimits: []bexec.Ulimit{{Name: "nofile", Soft: 64, Hard: 128}}}, wantOut: "64\n128"},
		{name: "user nobody", spec: bexec.Spec{Command: sh(`id -u; id -g`), User: "nobody"}, wantOut: "65534\n65534"},
		{name: "user uid:gid", spec: bexec.Spec{Command: sh(`id -u; id -g`), User: "1234:5678"}, wantOut: "1234\n5678"},
		{name: "read-only volume", spec: bexec.Spec{Command: sh(`cat ` + target + `/in; echo; echo x > ` + target + `/out 2>/dev/null && echo wrote || echo refused`),
			Mounts: []bexec.Mount{{Source: vol, Target: target, ReadOnly: true}}}, wantOut: "from host\nrefused"},
		{name: "writable volume", spec: bexec.Spec{Command: sh(`echo from-job > ` + target + `/out && echo wrote`),
			Mounts: []bexec.Mount{{Source: vol, Target: target}}}, wantOut: "wrote",
			check: func(t *testing.T) {
				if b, _ := os.ReadFile(filepath.Join(vol, "out")); string(b) != "from-job\n" {
					t.Errorf("host sees %q in the volume", b)
				}
			}},
		{name: "scratch volume", spec: bexec.Spec{Command: sh(`echo x > ` + target + `/s && ls ` + target),
			Mounts: []bexec.Mount{{Target: target}}}, wantOut: "s"},
		{name: "kill -9 -1 hurts only the sandbox", spec: bexec.Spec{Command: sh(`sleep 30 & kill -9 -1; wait; echo survived`)}, wantOut: "survived"},
		{name: "exit code", spec: bexec.Spec{Command: sh(`exit 7`)}, wantCode: 7},
		{name: "no remounting the root read-write", spec: bexec.Spec{Command: sh(`mount -o remount,rw / 2>/dev/null && echo remounted || echo refused; touch /etc/barge-escape 2>/dev/null && echo wrote || echo still-read-only`)},
			wantOut: "refused\nstill-read-only"},
		{name: "no new mounts", spec: bexec.Spec{Command: sh(`mount -t tmpfs none /mnt 2>/dev/null && echo mounted || echo refused`)}, wantOut: "refused"},
		{name: "no raw host devices", spec: bexec.Spec{Command: sh(`ls /dev | grep -c -E '^(sd|vd|nvme|mem|kmsg)' || true`)}, wantOut: "0"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			x, out, errs := v.run(t, c.spec)
			if x.Code != c.wantCode {
				t.Errorf("exit %+v, want code %d; stdout %q stderr %q", x, c.wantCode, out, errs)
			}
			if !strings.Contains(out, c.wantOut) {
				t.Errorf("stdout %q does not contain %q (stderr %q)", out, c.wantOut, errs)
			}
			if c.check != nil {
				c.check(t)
			}
		})
	}
}

// TestSandboxContainment runs the escape and exhaustion attempts next to an innocent job: each
// must fail safely while the innocent job and barge (this process) carry on.
func TestSandboxContainment(t *testing.T) {
	v := sandboxed(t)
	innocent, out, _ := v.start(t, bexec.Spec{ID: "innocent", Command: sh(`echo secret > mine; echo ready; sleep 30; echo done`)})
	defer innocent.Signal(syscall.SIGKILL)
	waitFor(t, "innocent job ready", func() bool { return strings.Contains(out.String(), "ready") })
	innocentPid := innocent.(*process).sandboxed.Pid()
	innocentDir := ""
	// Its writes land in its bounded space (scratch/<sandbox>/work), mounted on its directory.
	for _, d := range append(mustGlob(t, filepath.Join(v.data, "work-*")), mustGlob(t, filepath.Join(v.data, "scratch", "*", "work"))...) {
		if _, err := os.Stat(filepath.Join(d, "mine")); err == nil {
			innocentDir = d
		}
	}
	if innocentDir == "" {
		t.Fatal("cannot find the innocent job's directory")
	}

	t.Run("memory hog is killed as OOM", func(t *testing.T) {
		x, _, errs := v.run(t, bexec.Spec{Command: sh(`head -c 400m /dev/zero | tail -c 300m > /dev/null`), MemoryMiB: 32})
		if !x.OOM || x.Code == 0 {
			t.Errorf("exit %+v, want an OOM kill (stderr %q)", x, errs)
		}
	})
	t.Run("fork bomb meets the pids limit", func(t *testing.T) {
		bomb, _, _ := v.start(t, bexec.Spec{Command: sh(`b() { b | b & }; b; sleep 30`)})
		// While the bomb is at its limit, another sandbox still starts and runs.
		x, out, errs := v.run(t, bexec.Spec{Command: sh(`echo alive`)})
		if x.Code != 0 || out != "alive\n" {
			t.Errorf("job beside the bomb: %+v %q %q", x, out, errs)
		}
		bomb.Signal(syscall.SIGKILL)
		done := make(chan bexec.Exit)
		go func() { done <- bomb.Wait() }()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			t.Fatal("the bomb's sandbox did not end after SIGKILL")
		}
	})
	t.Run("kill -9 -1 and signalling other jobs", func(t *testing.T) {
		_, out, _ := v.run(t, bexec.Spec{Command: sh(fmt.Sprintf(`kill -9 %d 2>/dev/null && echo killed-other || echo no-such-process; kill -9 -1`, innocentPid))})
		if !strings.Contains(out, "no-such-process") {
			t.Errorf("signalled another job's process: %q", out)
		}
	})
	t.Run("reading another job's files", func(t *testing.T) {
		_, out, _ := v.run(t, bexec.Spec{Command: sh(`cat ` + innocentDir + `/mine 2>/dev/null || echo unreadable`)})
		if !strings.Contains(out, "unreadable") {
			t.Errorf("read another job's file: %q", out)
		}
	})
	t.Run("writing outside mounts with a read-only root", func(t *testing.T) {
		_, out, _ := v.run(t, bexec.Spec{Command: sh(`for p in /usr/barge-x /root/barge-x /var/barge-x; do touch $p 2>/dev/null && echo wrote $p; done; echo checked`)})
		if strings.Contains(out, "wrote") {
			t.Errorf("wrote outside the sandbox: %q", out)
		}
	})
	if err := innocent.Signal(0); err != nil {
		t.Fatalf("the innocent job died: %v", err)
	}
	innocent.Signal(syscall.SIGKILL)
	innocent.Wait()
	if strings.Contains(out.String(), "done") {
		t.Error("the innocent job finished too early")
	}
}

func TestSandboxTerminate(t *testing.T) {
	v := sandboxed(t)
	for _, c := range []struct {
		name   string
		script string
		init   bool
	}{
		// PID 1 without a handler: the kernel would drop SIGTERM; barge delivers SIGKILL for it.
		{"command is PID 1", `echo started; exec sleep 30`, false},
		// barge's init forwards SIGTERM to the command, whose default action ends it.
		{"through the init", `echo started; exec sleep 30`, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			p, out, _ := v.start(t, bexec.Spec{Command: sh(c.script), InitProcess: c.init})
			waitFor(t, "started", func() bool { return strings.Contains(out.String(), "started") })
			p.Signal(syscall.SIGTERM)
			x := p.Wait()
			if x.Code != 128+int(syscall.SIGTERM) && x.Signal != syscall.SIGTERM {
				t.Errorf("exit %+v, want death by SIGTERM", x)
			}
		})
	}
	// A PID 1 that handles SIGTERM gets it.
	p, out, _ := v.start(t, bexec.Spec{Command: sh(`trap 'echo got TERM; exit 3' TERM; echo started; while :; do sleep 0.05; done`)})
	waitFor(t, "started", func() bool { return strings.Contains(out.String(), "started") })
	p.Signal(syscall.SIGTERM)
	if x := p.Wait(); x.Code != 3 || !strings.Contains(out.String(), "got TERM") {
		t.Errorf("a command handling SIGTERM: exit %+v, output %q", x, out.String())
	}
}

func TestSandboxStartErrors(t *testing.T) {
	v := sandboxed(t)
	for _, c := range []struct {
		name string
		spec bexec.Spec
		want string
	}{
		{"missing command", bexec.Spec{Command: []string{"no-such-binary-xyz"}}, "no-such-binary-xyz"},
		{"unknown user", bexec.Spec{Command: []string{"true"}, User: "no-such-user"}, "no-such-user"},
		{"root as a volume", bexec.Spec{Command: []string{"true"}, Mounts: []bexec.Mount{{Source: "/", Target: "/mnt"}}}, "not under a volume root"},
		{"data directory as a volume", bexec.Spec{Command: []string{"true"}, Mounts: []bexec.Mount{{Source: v.data, Target: "/mnt"}}}, "data directory"},
		{"escape from the volume root", bexec.Spec{Command: []string{"true"}, Mounts: []bexec.Mount{{Source: os.TempDir() + "/../etc", Target: "/mnt"}}}, "etc"},
		{"missing volume", bexec.Spec{Command: []string{"true"}, Mounts: []bexec.Mount{{Source: "/no/such/dir", Target: "/mnt"}}}, "/no/such/dir"},
		{"unpullable image", bexec.Spec{Command: []string{"true"}, Image: "127.0.0.1:1/nothing:here"}, "127.0.0.1:1/nothing"},
	} {
		t.Run(c.name, func(t *testing.T) {
			c.spec.Dir = v.workDir(t)
			_, err := v.e.Start(context.Background(), c.spec)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want one naming %q", err, c.want)
			}
		})
	}
	_, err := v.e.Start(context.Background(), bexec.Spec{Command: []string{"true"}, Image: "127.0.0.1:1/nothing:here", Dir: v.workDir(t)})
	var pe *bexec.PullError
	if !errors.As(err, &pe) {
		t.Errorf("an unpullable image gives %T, want *exec.PullError", err)
	}
}

func TestSandboxImages(t *testing.T) {
	v := sandboxed(t)
	reg := imagetest.StartRegistry(t)
	app := imagetest.App(t)
	ref := reg + "/test/app:v1"
	imagetest.Push(t, ref, v1.Config{
		Entrypoint: []string{"/bin/app"},
		Cmd:        []string{"echo", "from", "cmd"},
		Env:        []string{"PATH=/bin", "FROM_IMAGE=yes", "OVERRIDE=image"},
		WorkingDir: "/work",
	}, map[string]imagetest.File{
		"bin/app":       {Body: app, Mode: 0o755},
		"work/.keep":    {Body: nil, Mode: 0o644},
		"etc/passwd":    {Body: []byte("root:x:0:0:root:/root:/bin/sh\nworker:x:1000:1000::/home/worker:/bin/sh\n"), Mode: 0o644},
		"etc/group":     {Body: []byte("root:x:0:\nworker:x:1000:\n"), Mode: 0o644},
		"data/readme":   {Body: []byte("image data"), Mode: 0o644},
		"bin/escape-to": {Link: "/etc", Mode: 0o777},
	})
	vol := t.TempDir()

	cases := []struct {
		name     string
		spec     bexec.Spec
		wantCode int
		wantOut  string
	}{
		{"image CMD", bexec.Spec{}, 0, "from cmd"},
		{"command replaces CMD, keeps ENTRYPOINT", bexec.Spec{Command: []string{"echo", "job"}}, 0, "job"},
		{"env: job over image", bexec.Spec{Command: []string{"env", "FROM_IMAGE", "OVERRIDE", "PATH"}, Env: []string{"OVERRIDE=job"}}, 0, "FROM_IMAGE=yes\nOVERRIDE=job\nPATH=/bin"},
		{"WORKDIR", bexec.Spec{Command: []string{"pwd"}}, 0, "/work"},
		{"image files", bexec.Spec{Command: []string{"cat", "/data/readme"}}, 0, "image data"},
		{"user by name from the image", bexec.Spec{Command: []string{"id"}, User: "worker"}, 0, "1000 1000"},
		{"host not visible", bexec.Spec{Command: []string{"cat", "/etc/hostname"}}, 1, ""},
		{"writable layer", bexec.Spec{Command: []string{"write", "/data/new"}}, 0, ""},
		{"read-only root", bexec.Spec{Command: []string{"write", "/data/new"}, ReadonlyRootFS: true}, 1, ""},
		{"volume in a read-only root", bexec.Spec{Command: []string{"write", "/out/f", "via-volume"}, ReadonlyRootFS: true, Mounts: []bexec.Mount{{Source: vol, Target: "/out"}}}, 0, ""},
		{"volume through an image symlink stays inside", bexec.Spec{Command: []string{"cat", "/bin/escape-to/passwd"}}, 0, "worker"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.spec.Image = ref
			x, out, errs := v.run(t, c.spec)
			if x.Code != c.wantCode || !strings.Contains(out, c.wantOut) {
				t.Errorf("exit %+v out %q stderr %q; want code %d and %q", x, out, errs, c.wantCode, c.wantOut)
			}
		})
	}
	if b, _ := os.ReadFile(filepath.Join(vol, "f")); string(b) != "via-volume" {
		t.Errorf("volume holds %q", b)
	}
	// Each attempt starts from the image, not from what an earlier one wrote.
	x, _, _ := v.run(t, bexec.Spec{Image: ref, Command: []string{"cat", "/data/new"}})
	if x.Code == 0 {
		t.Error("a file written by an earlier attempt is visible to a later one")
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func mustGlob(t *testing.T, pattern string) []string {
	m, err := filepath.Glob(pattern)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestSandboxPeakMemory(t *testing.T) {
	v := sandboxed(t)
	p, out, _ := v.start(t, bexec.Spec{Command: sh(`x=$(head -c 8000000 /dev/zero | tr '\0' a); echo ready; sleep 30`), MemoryMiB: 256})
	defer func() { p.Signal(syscall.SIGKILL); p.Wait() }()
	waitFor(t, "ready", func() bool { return strings.Contains(out.String(), "ready") })
	first, second := p.PeakMemory(), p.PeakMemory()
	if first < 8_000_000 || second < first {
		t.Errorf("peak memory %d then %d, want ≥ 8 MB (the shell held 8 MB) and not falling", first, second)
	}
}
