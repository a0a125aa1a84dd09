package local

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"

	bexec "github.com/barge-run/barge/internal/exec"
)

type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestRun(t *testing.T) {
	env := []string{"PATH=/usr/bin:/bin", "GREETING=hi"}
	cases := []struct {
		name       string
		cmd        []string
		wantCode   int
		wantOut    string
		wantErr    string
		wantStartE bool
	}{
		{name: "success", cmd: []string{"sh", "-c", "echo $GREETING; pwd"}, wantOut: "hi\n"},
		{name: "exit code", cmd: []string{"sh", "-c", "echo oops >&2; exit 3"}, wantCode: 3, wantErr: "oops\n"},
		{name: "not found", cmd: []string{"no-such-binary-xyz"}, wantStartE: true},
		{name: "background child does not hold wait", cmd: []string{"sh", "-c", "sleep 60 & echo done"}, wantOut: "done\n"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			var out, errb syncBuf
			p, err := New().Start(context.Background(), bexec.Spec{Command: c.cmd, Env: env, Dir: dir, Stdout: &out, Stderr: &errb})
			if c.wantStartE {
				if err == nil {
					t.Fatal("expected a start error")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			exit := p.Wait()
			if exit.Code != c.wantCode {
				t.Fatalf("exit %+v, want code %d", exit, c.wantCode)
			}
			if !strings.HasPrefix(out.String(), c.wantOut) {
				t.Fatalf("stdout %q", out.String())
			}
			if errb.String() != c.wantErr {
				t.Fatalf("stderr %q", errb.String())
			}
		})
	}
}

func TestWorkingDirAndSignal(t *testing.T) {
	dir := t.TempDir()
	var out syncBuf
	p, err := New().Start(context.Background(), bexec.Spec{Command: []string{"sh", "-c", "pwd; touch started; exec sleep 60"}, Env: os.Environ(), Dir: dir, Stdout: &out})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan bexec.Exit)
	go func() { done <- p.Wait() }()
	// The file proves the shell ran before we signal it; poll the state, not the clock.
	for {
		if _, err := os.Stat(filepath.Join(dir, "started")); err == nil {
			break
		}
		select {
		case e := <-done:
			t.Fatalf("exited early: %+v", e)
		default:
		}
	}
	if err := p.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	exit := <-done
	if exit.Signal != syscall.SIGTERM || exit.Code != -1 {
		t.Fatalf("exit %+v", exit)
	}
	if strings.TrimSpace(out.String()) != dir {
		t.Fatalf("pwd %q, want %q", out.String(), dir)
	}
}
