// Package local is the Executor backend that runs attempts as child processes of barge on this
// host. This first version does no isolation: each attempt is its own process group (so a whole
// tree can be signalled, and nothing outlives its attempt) with its own working directory, but it
// shares the host's filesystem, namespaces and users, and vCPU/memory are reserved by the
// scheduler, not enforced by the kernel.
package local

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	bexec "github.com/barge-run/barge/internal/exec"
)

// outputGrace bounds how long Wait drains output after the attempt's process group is gone; a
// process that escaped the group (setsid) could otherwise hold the pipe open forever.
const outputGrace = 2 * time.Second

// Executor runs attempts as host processes.
type Executor struct{}

var _ bexec.Executor = (*Executor)(nil)

// New returns the local executor.
func New() *Executor { return &Executor{} }

// Describe implements exec.Executor.
func (*Executor) Describe() string {
	return "local: host processes, one process group per attempt; no namespaces, no cgroup limits (vCPU and memory are reserved, not enforced)"
}

// Start implements exec.Executor.
func (*Executor) Start(ctx context.Context, spec bexec.Spec) (bexec.Process, error) {
	if len(spec.Command) == 0 {
		return nil, errors.New("no command")
	}
	path, err := lookPath(spec.Command[0], spec.Env)
	if err != nil {
		return nil, fmt.Errorf("executable %q not found in PATH", spec.Command[0])
	}
	// Not CommandContext: the attempt's lifetime is managed by Signal, not by a request context.
	cmd := exec.Command(path, spec.Command[1:]...)
	cmd.Args[0] = spec.Command[0]
	cmd.Env = spec.Env
	cmd.Dir = spec.Dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}

	// Our own pipes rather than exec.Cmd's copying, so Wait returns when the main process exits
	// and the group can be killed before draining output.
	p := &process{cmd: cmd, drained: make(chan struct{})}
	outR, outW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		outR.Close()
		outW.Close()
		return nil, err
	}
	cmd.Stdout, cmd.Stderr = outW, errW
	startErr := cmd.Start()
	outW.Close()
	errW.Close()
	if startErr != nil {
		outR.Close()
		errR.Close()
		return nil, fmt.Errorf("start %s: %w", spec.Command[0], startErr)
	}
	p.readers = []*os.File{outR, errR}
	go p.drain(outR, errR, spec.Stdout, spec.Stderr)
	return p, nil
}

type process struct {
	cmd     *exec.Cmd
	readers []*os.File
	drained chan struct{}
}

func (p *process) drain(outR, errR *os.File, stdout, stderr io.Writer) {
	done := make(chan struct{}, 2)
	cp := func(w io.Writer, r *os.File) {
		if w == nil {
			w = io.Discard
		}
		io.Copy(w, r)
		done <- struct{}{}
	}
	go cp(stdout, outR)
	go cp(stderr, errR)
	<-done
	<-done
	close(p.drained)
}

func (p *process) Wait() bexec.Exit {
	err := p.cmd.Wait()
	// The attempt is over when its main process is: clear the rest of its group.
	syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
	select {
	case <-p.drained:
	case <-time.After(outputGrace):
		for _, r := range p.readers {
			r.Close()
		}
		<-p.drained
	}
	for _, r := range p.readers {
		r.Close()
	}
	st, ok := p.cmd.ProcessState.Sys().(syscall.WaitStatus)
	switch {
	case err == nil:
		return bexec.Exit{Code: 0}
	case ok && st.Signaled():
		return bexec.Exit{Code: -1, Signal: st.Signal()}
	case ok:
		return bexec.Exit{Code: st.ExitStatus()}
	default:
		return bexec.Exit{Code: -1, Reason: err.Error()}
	}
}

// Pid is the attempt's main process id (the function pool reads its peak memory from /proc).
func (p *process) Pid() int { return p.cmd.Process.Pid }

func (p *process) Signal(sig syscall.Signal) error {
	// The negative pid addresses the whole process group the attempt leads.
	return syscall.Kill(-p.cmd.Process.Pid, sig)
}

// lookPath resolves file with the attempt's own PATH when it sets one, else barge's.
func lookPath(file string, env []string) (string, error) {
	if strings.Contains(file, "/") {
		return exec.LookPath(file)
	}
	for _, kv := range env {
		if rest, ok := strings.CutPrefix(kv, "PATH="); ok {
			for _, dir := range filepath.SplitList(rest) {
				if p, err := exec.LookPath(filepath.Join(dir, file)); err == nil {
					return p, nil
				}
			}
			return "", exec.ErrNotFound
		}
	}
	return exec.LookPath(file)
}
