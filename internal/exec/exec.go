// Package exec defines the Executor seam: how a job attempt (and later a function instance) is
// started, signalled and waited on, independent of where it runs. Backends live in subpackages:
// local (processes on this host), later kubernetes (Pods).
package exec

import (
	"context"
	"io"
	"syscall"
)

// Spec is everything a backend needs to run one attempt.
type Spec struct {
	ID        string   // unique per attempt, e.g. "<jobId>#<attempt>"
	Command   []string // argv; Command[0] is looked up in PATH
	Env       []string // KEY=VALUE, the whole environment
	Dir       string   // working directory, created by the caller
	Image     string   // container image reference; "" runs on the host filesystem
	MilliVCPU int64
	MemoryMiB int64
	Stdout    io.Writer
	Stderr    io.Writer
}

// Exit is how an attempt ended.
type Exit struct {
	// Code is the exit code; -1 when killed by a signal.
	Code int
	// Signal is set when the process died of a signal.
	Signal syscall.Signal
	// OOM is set when the backend knows the attempt was killed for exceeding its memory.
	OOM bool
	// Reason explains a failure to run at all (e.g. command not found); "" when it ran.
	Reason string
}

// Process is a started attempt.
type Process interface {
	// Wait blocks until the attempt ends and its output is flushed.
	Wait() Exit
	// Signal delivers sig to every process of the attempt.
	Signal(sig syscall.Signal) error
}

// Executor starts attempts.
type Executor interface {
	// Start launches spec. An error means nothing was started; its text becomes the job's reason.
	Start(ctx context.Context, spec Spec) (Process, error)
	// Describe says what the backend enforces, for logs and `barge doctor`.
	Describe() string
}
