//go:build linux

package sandbox

import (
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestZygoteDeath: if the zygote dies, its sandboxes die with it and are reported killed, and the
// next start launches a new zygote.
func TestZygoteDeath(t *testing.T) {
	if err := Probe(); err != nil {
		t.Skipf("no sandbox here: %v", err)
	}
	s, err := New(Options{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	out, _ := os.Create(os.DevNull)
	defer out.Close()
	start := func() *Proc {
		p, err := s.Start(Config{ID: "z", Argv: []string{"sleep", "30"}, Dir: t.TempDir()}, out, out)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	p := start()
	first := s.zygote.currentPid()
	syscall.Kill(first, syscall.SIGKILL)
	done := make(chan syscall.WaitStatus)
	go func() { st, _ := p.Wait(); done <- st }()
	select {
	case st := <-done:
		if !st.Signaled() || st.Signal() != syscall.SIGKILL {
			t.Errorf("sandbox of a dead zygote: status %v, want killed", st)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the sandbox of a dead zygote was never reported")
	}
	// The kernel delivers the parent-death signal as the zygote exits; allow for the reaping.
	for deadline := time.Now().Add(10 * time.Second); syscall.Kill(p.Pid(), 0) == nil; time.Sleep(10 * time.Millisecond) {
		if b, _ := os.ReadFile("/proc/" + strconv.Itoa(p.Pid()) + "/stat"); strings.Contains(string(b), ") Z ") {
			break // a zombie: dead, waiting for its new parent to reap it
		}
		if time.Now().After(deadline) {
			t.Fatalf("the sandbox's init %d outlived its zygote", p.Pid())
		}
	}
	q := start()
	if pid := s.zygote.currentPid(); pid == first || pid == 0 {
		t.Errorf("no new zygote (pid %d, first %d)", pid, first)
	}
	q.Signal(syscall.SIGKILL)
	if st, _ := q.Wait(); !st.Signaled() && st.ExitStatus() == 0 {
		t.Errorf("killed sandbox: %v", st)
	}
}

// currentPid is the zygote's pid, read under its lock: the pool prepares sandboxes on goroutines
// of its own, which may start a zygote at any time.
func (z *zygote) currentPid() int {
	z.mu.Lock()
	defer z.mu.Unlock()
	return z.pid
}
