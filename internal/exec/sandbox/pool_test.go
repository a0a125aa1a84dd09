//go:build linux

package sandbox

import (
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	bexec "github.com/barge-run/barge/internal/exec"
)

// poolJob runs cfg as a job would (a prepared sandbox if one is ready, else a new one) and
// returns its standard output and whether it ran in a prepared sandbox.
func poolJob(t *testing.T, s *Sandbox, cfg Config) (string, bool, syscall.WaitStatus) {
	t.Helper()
	p, r, ok := poolStart(t, s, cfg)
	out, _ := io.ReadAll(r)
	r.Close()
	st, _ := p.Wait()
	return string(out), ok, st
}

// jobOutput reads a job's standard output; closing it closes its standard error's read end too
// (held open until then, so that the job's writes there do not fail).
type jobOutput struct{ out, err *os.File }

func (o jobOutput) Read(b []byte) (int, error) { return o.out.Read(b) }

func (o jobOutput) Close() error {
	if o.err != nil {
		o.err.Close()
	}
	return o.out.Close()
}

// poolStart starts cfg as a job would and returns the sandbox, its output, and whether it was
// prepared.
func poolStart(t *testing.T, s *Sandbox, cfg Config) (*Proc, jobOutput, bool) {
	t.Helper()
	p, o, ok, err := s.StartPrepared(cfg)
	if err != nil {
		t.Fatalf("StartPrepared: %v", err)
	}
	if ok {
		o.OutW.Close()
		o.ErrW.Close()
		return p, jobOutput{o.OutR, o.ErrR}, true
	}
	r, w, _ := os.Pipe()
	p, err = s.Start(cfg, w, w)
	w.Close()
	if err != nil {
		r.Close()
		t.Fatalf("Start: %v", err)
	}
	return p, jobOutput{out: r}, false
}

// waitReady waits until the pool holds n prepared sandboxes.
func waitReady(t *testing.T, s *Sandbox, n int) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); s.PoolStats().Ready < n; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the pool has %+v, want %d ready", s.PoolStats(), n)
		}
	}
}

// groupParent is the directory barge's sandbox cgroups are made in (memory hierarchy on v1).
func groupParent(s *Sandbox) string {
	switch d := s.cgroups.(type) {
	case *v1Driver:
		return filepath.Join(v1Root, "memory", d.parent)
	case *v2Driver:
		return filepath.Join(d.mount, d.parent)
	}
	return ""
}

func poolSandbox(t *testing.T, depth int) *Sandbox {
	t.Helper()
	if err := Probe(); err != nil {
		t.Skipf("no sandbox here: %v", err)
	}
	s, err := New(Options{DataDir: t.TempDir(), PoolDepth: depth})
	if err != nil {
		t.Fatal(err)
	}
	if s.disk == nil {
		s.Close()
		t.Skipf("no bounded space here (%s): nothing is prepared", s.diskLacking)
	}
	return s
}

// identity prints what must differ between two jobs' sandboxes and what must match a cold one's.
const identity = `echo mnt=$(readlink /proc/self/ns/mnt) pid=$(readlink /proc/self/ns/pid) ipc=$(readlink /proc/self/ns/ipc) uts=$(readlink /proc/self/ns/uts)
echo cgroup=$(grep memory /proc/self/cgroup)
echo nice=$(cut -d' ' -f19 /proc/self/stat) host=$(hostname) cwd=$(pwd) me=$$ uid=$(id -u) job=$JOB tmp=$(ls /tmp | tr '\n' ,)
touch file /tmp/left-by-$JOB && ls`

// TestPoolUsedOnce: a job of a poolable shape gets a sandbox prepared while the previous one ran,
// each prepared sandbox runs one job only, with namespaces (the network's aside: those come from
// the zygote's own pool, as for any sandbox), cgroup and files of its own, and the job sees what
// a cold start gives it (its directory, environment, priority, PID 1, root, an empty /tmp).
func TestPoolUsedOnce(t *testing.T) {
	s := poolSandbox(t, 2)
	defer s.Close()
	job := func(n int, cmd string) Config {
		return Config{ID: "job" + strconv.Itoa(n), Argv: []string{"sh", "-c", cmd},
			Env: []string{"PATH=/usr/bin:/bin", "JOB=" + strconv.Itoa(n)}, Dir: t.TempDir(), MilliVCPU: 1000, MemoryMiB: 64, Tenant: "a"}
	}
	check := func(n int, cfg Config, out string, prepared bool) {
		t.Helper()
		for _, want := range []string{"me=1 ", "uid=0 ", "job=" + strconv.Itoa(n), "host=barge", "cwd=" + cfg.Dir + " ", "\nfile\n",
			"nice=" + strconv.Itoa(ownNice()) + " "} {
			if !strings.Contains(out, want) {
				t.Errorf("job %d (prepared %v): no %q in\n%s", n, prepared, want, out)
			}
		}
		if strings.Contains(out, "left-by") {
			t.Errorf("job %d (prepared %v) sees another job's /tmp:\n%s", n, prepared, out)
		}
	}
	for n := range 4 {
		if n > 0 {
			waitReady(t, s, 2)
		}
		cfg := job(n, identity)
		out, prepared, st := poolJob(t, s, cfg)
		if st.ExitStatus() != 0 {
			t.Fatalf("job %d: %v\n%s", n, st, out)
		}
		if prepared != (n > 0) {
			t.Fatalf("job %d: prepared %v, want %v (the first starts cold, the next find one ready)", n, prepared, n > 0)
		}
		check(n, cfg, out, prepared)
	}
	// Two prepared sandboxes at once: nothing of one is the other's. (Namespace ids are only
	// unique among live namespaces, hence both alive while they print.)
	waitReady(t, s, 2)
	type run struct {
		p   *Proc
		out Output
		cfg Config
	}
	var runs []run
	for n := 10; n < 12; n++ {
		cfg := job(n, identity+"; sleep 0.3")
		p, o, ok, err := s.StartPrepared(cfg)
		if err != nil || !ok {
			t.Fatalf("job %d: prepared %v, %v", n, ok, err)
		}
		o.OutW.Close()
		o.ErrW.Close()
		runs = append(runs, run{p, o, cfg})
	}
	seen := map[string]int{}
	for i, r := range runs {
		b, _ := io.ReadAll(r.out.OutR)
		r.out.OutR.Close()
		r.out.ErrR.Close()
		r.p.Wait()
		check(10+i, r.cfg, string(b), true)
		for _, f := range strings.Fields(string(b)) {
			if k, _, ok := strings.Cut(f, "="); ok && (k == "mnt" || k == "pid" || k == "ipc" || k == "uts" || k == "cgroup") {
				if m, dup := seen[f]; dup {
					t.Errorf("jobs %d and %d share %s", m, 10+i, f)
				}
				seen[f] = 10 + i
			}
		}
	}
	if st := s.PoolStats(); st.Used != 5 {
		t.Errorf("pool %+v, want 5 used", st)
	}
	// A sandbox that ran a job is never offered again, and those offered are alive.
	s.pool.mu.Lock()
	for _, sp := range s.pool.shapes {
		for _, r := range sp.ready {
			for _, u := range runs {
				if r.p == u.p {
					t.Errorf("sandbox %d offered again", r.p.pid)
				}
			}
			select {
			case <-r.p.done:
				t.Errorf("a ready sandbox (%d) has exited", r.p.pid)
			default:
			}
		}
	}
	s.pool.mu.Unlock()
}

// TestPoolFailure: a prepared sandbox's job that cannot exec fails as a cold one would, and the
// pool goes on.
func TestPoolFailure(t *testing.T) {
	s := poolSandbox(t, 1)
	defer s.Close()
	cfg := Config{ID: "f", Argv: []string{"true"}, Env: []string{"PATH=/usr/bin:/bin"}, Dir: t.TempDir(), MilliVCPU: 500, MemoryMiB: 32}
	if _, prepared, _ := poolJob(t, s, cfg); prepared {
		t.Fatal("the first job of a shape found a prepared sandbox")
	}
	waitReady(t, s, 1)
	cfg.Argv, cfg.Dir = []string{"/nonexistent/cmd"}, t.TempDir()
	_, _, ok, err := s.StartPrepared(cfg)
	if !ok || err == nil || !strings.Contains(err.Error(), "exec /nonexistent/cmd") {
		t.Fatalf("prepared start of a missing command: ok %v, err %v", ok, err)
	}
	waitReady(t, s, 1)
	cfg.Argv, cfg.Dir = []string{"true"}, t.TempDir()
	if _, prepared, st := poolJob(t, s, cfg); !prepared || st.ExitStatus() != 0 {
		t.Fatalf("after a failure: prepared %v, %v", prepared, st)
	}
}

// TestPoolShapes: what cannot be prepared ahead is never prepared, and a prepared sandbox goes
// only to a job of its own shape (tenant, limits).
func TestPoolShapes(t *testing.T) {
	s := poolSandbox(t, 1)
	defer s.Close()
	base := Config{ID: "s", Argv: []string{"true"}, Env: []string{"PATH=/usr/bin:/bin"}, MilliVCPU: 1000, MemoryMiB: 64, Tenant: "a"}
	for _, c := range []func(*Config){
		func(c *Config) { c.DirReadOnly = true },
		func(c *Config) { c.RootFS = "/" },
		func(c *Config) { c.Mounts = []bexec.Mount{{Target: "/scratch"}} },
		func(c *Config) { c.Privileged = true },
		func(c *Config) { c.Ulimits = []bexec.Ulimit{{Name: "nofile", Soft: 100, Hard: 100}} },
	} {
		cfg := base
		cfg.Dir = t.TempDir()
		c(&cfg)
		if _, ok := s.shapeOf(cfg); ok {
			t.Errorf("%+v is poolable", cfg)
		}
	}
	cfg := base
	cfg.Dir = t.TempDir()
	poolJob(t, s, cfg)
	waitReady(t, s, 1)
	for _, c := range []func(*Config){
		func(c *Config) { c.Tenant = "b" },
		func(c *Config) { c.MemoryMiB = 128 },
		func(c *Config) { c.MilliVCPU = 2000 },
		func(c *Config) { c.Listen = []string{"127.0.0.1:9001"} },
	} {
		cfg := base
		cfg.Dir = t.TempDir()
		c(&cfg)
		if _, prepared, _ := poolJob(t, s, cfg); prepared {
			t.Errorf("%+v got a sandbox prepared for another shape", cfg)
		}
	}
}

// TestPoolClose: Close kills and releases every prepared sandbox: no process, cgroup or mount is
// left behind.
func TestPoolClose(t *testing.T) {
	// Only this test's mounts count: other packages' tests mount and unmount on the host too.
	root := filepath.Dir(t.TempDir())
	before := mountCount(t, root)
	s := poolSandbox(t, 3)
	parent := groupParent(s)
	cfg := Config{ID: "c", Argv: []string{"true"}, Env: []string{"PATH=/usr/bin:/bin"}, Dir: t.TempDir(), MilliVCPU: 1000, MemoryMiB: 64, Tenant: "a"}
	poolJob(t, s, cfg)
	waitReady(t, s, 3)
	var pids []int
	s.pool.mu.Lock()
	for _, sp := range s.pool.shapes {
		for _, r := range sp.ready {
			pids = append(pids, r.p.pid)
		}
	}
	s.pool.mu.Unlock()
	if groups, _ := os.ReadDir(parent); len(groups) < 3 {
		t.Errorf("%d cgroups under %s with 3 sandboxes prepared", len(groups), parent)
	}
	s.Close()
	st := s.PoolStats()
	if st.Ready != 0 || st.Discarded != st.Prepared-st.Used || st.Discarded < 3 {
		t.Errorf("after Close the pool has %+v", st)
	}
	for _, pid := range pids {
		gone(t, pid, "a prepared sandbox")
	}
	if _, err := os.Stat(parent); !os.IsNotExist(err) {
		entries, _ := os.ReadDir(parent)
		t.Errorf("cgroup parent %s left behind (%v) with %d groups", parent, err, len(entries))
	}
	if after := mountCount(t, root); after != before {
		t.Errorf("%d mounts before, %d after", before, after)
	}
}

// mountCount is the number of mounts whose mount point lies under dir.
func mountCount(t *testing.T, dir string) int {
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for line := range strings.SplitSeq(string(b), "\n") {
		if f := strings.Fields(line); len(f) > 4 && within(f[4], dir) {
			n++
		}
	}
	return n
}
