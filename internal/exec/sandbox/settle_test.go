//go:build linux

package sandbox

import (
	"io"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestRefillSettles: a start that leaves its shape a ready sandbox defers the refill (so that
// the preparation does not slow the process just exec'd); one that takes the last prepares at
// once.
func TestRefillSettles(t *testing.T) {
	s := poolSandbox(t, 2)
	defer s.Close()
	s.pool.settle = time.Hour // deferred refills never come during the test
	cfg := Config{ID: "s", Argv: []string{"true"}, Env: []string{"PATH=/usr/bin:/bin"}, Dir: t.TempDir(), MilliVCPU: 500, MemoryMiB: 32}
	if _, prepared, _ := poolJob(t, s, cfg); prepared {
		t.Fatal("the first job of a shape found a prepared sandbox")
	}
	waitReady(t, s, 2) // a cold start's refill is immediate
	inflight := func() int {
		s.pool.mu.Lock()
		defer s.pool.mu.Unlock()
		n := 0
		for _, sp := range s.pool.shapes {
			n += sp.inflight
		}
		return n
	}
	cfg.Dir = t.TempDir()
	if _, prepared, _ := poolJob(t, s, cfg); !prepared {
		t.Fatal("the second job found no prepared sandbox")
	}
	if st, n := s.PoolStats(), inflight(); st.Prepared != 2 || st.Ready != 1 || n != 0 {
		t.Fatalf("after a start leaving one ready: %+v, %d under way; want the refill deferred", st, n)
	}
	cfg.Dir = t.TempDir()
	if _, prepared, _ := poolJob(t, s, cfg); !prepared {
		t.Fatal("the third job found no prepared sandbox")
	}
	waitReady(t, s, 2) // the last one taken: prepared at once, up to the depth
	if st := s.PoolStats(); st.Prepared != 4 || st.Used != 2 {
		t.Fatalf("pool %+v, want 4 prepared, 2 used", st)
	}
}

// TestMountNamespaceHeld: barge holds a sandbox's mount namespace while its PID 1 runs (so that
// its exit does not wait for the namespace's teardown), whether the sandbox was made for its job
// or prepared before it, and lets go of it on release.
func TestMountNamespaceHeld(t *testing.T) {
	if err := Probe(); err != nil {
		t.Skipf("no sandbox here: %v", err)
	}
	if pidfd, err := unix.PidfdOpen(os.Getpid(), 0); err == nil {
		_, ierr := unix.IoctlRetInt(pidfd, unix.PIDFD_GET_MNT_NAMESPACE)
		unix.Close(pidfd)
		if ierr != nil {
			t.Skipf("this kernel has no pidfd namespace ioctl: %v", ierr)
		}
	}
	s := poolSandbox(t, 1)
	defer s.Close()
	for _, prepared := range []bool{false, true} {
		if prepared {
			waitReady(t, s, 1) // the cold start's refill
		}
		cfg := Config{ID: "m", Argv: []string{"readlink", "/proc/self/ns/mnt"}, Env: []string{"PATH=/usr/bin:/bin"},
			Dir: t.TempDir(), MilliVCPU: 500, MemoryMiB: 32}
		p, r, ok := poolStart(t, s, cfg)
		if ok != prepared {
			t.Fatalf("the job found a prepared sandbox: %v, want %v", ok, prepared)
		}
		out, _ := io.ReadAll(r)
		r.Close()
		<-p.done // exited, not yet released
		p.mu.Lock()
		fd := p.mountNS
		p.mu.Unlock()
		if fd < 0 {
			t.Fatalf("prepared %v: the sandbox's mount namespace is not held", prepared)
		}
		held, err := os.Readlink("/proc/self/fd/" + strconv.Itoa(fd))
		if err != nil || held != strings.TrimSpace(string(out)) {
			t.Fatalf("prepared %v: held %q (%v), the job's mount namespace is %q", prepared, held, err, out)
		}
		p.Wait()
		s.cleanups.Wait()
		if p.mountNS != -1 {
			t.Fatalf("prepared %v: after release the namespace is still held (fd %d)", prepared, p.mountNS)
		}
		if l, err := os.Readlink("/proc/self/fd/" + strconv.Itoa(fd)); err == nil && l == held {
			t.Fatalf("prepared %v: fd %d still refers to the sandbox's namespace after release", prepared, fd)
		}
	}
}
