//go:build linux

package sandbox

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// pastas are the zygote's pasta processes.
func (s *Sandbox) pastas(t *testing.T) []int {
	t.Helper()
	pid := strconv.Itoa(s.zygote.currentPid())
	b, err := os.ReadFile("/proc/" + pid + "/task/" + pid + "/children")
	if err != nil {
		t.Skipf("cannot list the zygote's children: %v", err)
	}
	var out []int
	for _, f := range strings.Fields(string(b)) {
		comm, _ := os.ReadFile("/proc/" + f + "/comm")
		if strings.HasPrefix(string(comm), "pas") { // pasta, or the passt.avx2 it execs
			pid, _ := strconv.Atoi(f)
			out = append(out, pid)
		}
	}
	return out
}

// gone waits until pid has exited (a zombie counts: dead, its new parent not yet done reaping).
func gone(t *testing.T, pid int, what string) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); syscall.Kill(pid, 0) == nil; time.Sleep(10 * time.Millisecond) {
		if b, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat"); strings.Contains(string(b), ") Z ") {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s (%d) is still running", what, pid)
		}
	}
}

// route runs a sandbox that prints its routing table.
func route(t *testing.T, s *Sandbox) string {
	t.Helper()
	var out bytes.Buffer
	r, w, _ := os.Pipe()
	p, err := s.Start(Config{ID: "nat", Argv: []string{"cat", "/proc/net/route"}, Env: []string{"PATH=/usr/bin:/bin"}, Dir: t.TempDir()}, w, w)
	w.Close()
	if err != nil {
		r.Close()
		t.Fatal(err)
	}
	out.ReadFrom(r)
	r.Close()
	p.Wait()
	return out.String()
}

// TestZygoteNAT: with NetworkNAT each pooled namespace has a pasta, with a default route inside;
// a namespace whose pasta died is made again before it is handed out; pasta dies with the zygote.
func TestZygoteNAT(t *testing.T) {
	if err := Probe(); err != nil {
		t.Skipf("no sandbox here: %v", err)
	}
	if _, err := exec.LookPath("pasta"); err != nil {
		t.Skip("pasta is not installed (Debian's package passt)")
	}
	s, err := New(Options{DataDir: t.TempDir(), NetworkNAT: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	r := route(t, s)
	if !strings.Contains(r, "eth0\t00000000\t0202000A") { // default via 10.0.2.2
		t.Fatalf("no default route via 10.0.2.2 inside:\n%s", r)
	}
	if !strings.Contains(r, "\t0000FEA9\t00000000\t0201\t") { // 169.254.0.0/16, RTF_REJECT|RTF_UP
		t.Fatalf("the link-local range (instance metadata) is not unreachable inside:\n%s", r)
	}
	first := s.pastas(t)
	if len(first) != 1 {
		t.Fatalf("pastas %v, want one (the pool has one namespace)", first)
	}
	syscall.Kill(first[0], syscall.SIGKILL)
	gone(t, first[0], "a killed pasta")
	for deadline := time.Now().Add(10 * time.Second); syscall.Kill(first[0], 0) == nil; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the zygote did not reap its pasta")
		}
	}
	if r := route(t, s); !strings.Contains(r, "0202000A") {
		t.Fatalf("after its pasta died, a namespace without a default route was handed out:\n%s", r)
	}
	again := s.pastas(t)
	if len(again) != 1 || again[0] == first[0] {
		t.Fatalf("pastas %v after %v died, want one new one", again, first)
	}
	syscall.Kill(s.zygote.currentPid(), syscall.SIGKILL)
	gone(t, again[0], "the pasta of a dead zygote")
}

// TestNATErrors: without pasta New refuses NetworkNAT; a pasta that fails says why.
func TestNATErrors(t *testing.T) {
	if err := Probe(); err != nil {
		t.Skipf("no sandbox here: %v", err)
	}
	dir := t.TempDir()
	t.Setenv("PATH", dir)
	if _, err := New(Options{DataDir: t.TempDir(), NetworkNAT: true}); err == nil || !strings.Contains(err.Error(), "needs pasta") {
		t.Errorf("New without pasta: %v", err)
	}
	fake := "#!/bin/sh\necho 'Failed to send 42 bytes to syslog' >&2\necho 'No external routable interface for IPv4' >&2\nexit 3\n"
	if err := os.WriteFile(filepath.Join(dir, "pasta"), []byte(fake), 0o755); err != nil {
		t.Fatal(err)
	}
	_, err := New(Options{DataDir: t.TempDir(), NetworkNAT: true})
	if want := "pasta exited with status 3: No external routable interface for IPv4"; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("New with a failing pasta: %v, want %q", err, want)
	}
}
