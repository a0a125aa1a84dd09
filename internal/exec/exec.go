// Package exec defines the Executor seam: how a job attempt (and a function instance) is started,
// signalled and waited on, independent of where it runs. Backends live in subpackages: local
// (sandboxed processes and OCI images on this host, see exec/sandbox), later kubernetes (Pods).
package exec

import (
	"context"
	"io"
	"net"
	"syscall"
	"time"
)

// Spec is everything a backend needs to run one attempt.
type Spec struct {
	ID      string   // unique per attempt, e.g. "<jobId>#<attempt>"
	Command []string // argv; Command[0] is looked up in PATH. With an image, empty means its CMD.
	Env     []string // KEY=VALUE, the whole environment (an image's ENV goes under it)
	// Dir is the attempt's working directory on the host, created by the caller. Host-filesystem
	// attempts run in it; image attempts keep their writable layer there and start in the image's
	// WORKDIR.
	Dir string
	// DirReadOnly exposes Dir read-only (a function's code).
	DirReadOnly bool
	// Image is a container image reference; "" or "host" runs on the host filesystem.
	Image string
	// Entrypoint and WorkingDir replace the image's ENTRYPOINT and WORKDIR when set.
	Entrypoint []string
	WorkingDir string
	MilliVCPU  int64
	MemoryMiB  int64
	// Mounts are host paths bound into the attempt (AWS Batch volumes + mountPoints).
	Mounts []Mount
	// ReadonlyRootFS makes an image's root filesystem read-only (the host's always is).
	ReadonlyRootFS bool
	// User is "user", "uid", "user:group" or "uid:gid"; "" is the image's USER, else root.
	User    string
	Ulimits []Ulimit
	// InitProcess runs barge's init as PID 1, forwarding signals and reaping orphans
	// (linuxParameters.initProcessEnabled); otherwise the command is PID 1, as in Docker.
	InitProcess bool
	// Privileged keeps every capability and the host's devices (only when the operator allows).
	Privileged bool
	// SharedMemoryMiB sizes /dev/shm; 0 is 64 MiB.
	SharedMemoryMiB int64
	// Tenant is the account the attempt belongs to: sandboxes of different tenants run as
	// different unprivileged host users (user namespaces), so nothing one writes is another's.
	Tenant string
	// DiskBytes bounds what the attempt can write (its working directory, /tmp and an image's
	// writable layer together); 0 is the executor's default.
	DiskBytes int64
	// Listen asks for listening sockets inside the attempt's network (e.g. a function's Runtime
	// API): each is created before the command starts and handed to its Serve.
	Listen []Listen
	Stdout io.Writer
	Stderr io.Writer
}

// Mount binds a host path into an attempt.
type Mount struct {
	Source   string // absolute host path
	Target   string // absolute path inside the attempt
	ReadOnly bool
	// Owned marks a directory barge made for the attempt (a function's layers), mounted
	// read-only and idmapped like a function's code; never a user's path, so volume roots do
	// not apply.
	Owned bool
}

// Listen is a listening socket an attempt reaches at Addr (inside its own network namespace when
// it has one; a plain process gets a free loopback port instead).
type Listen struct {
	Addr string // host:port as the attempt sees it, e.g. "127.0.0.1:9001"
	// Env, when set, names the variable that tells the attempt the address it can reach.
	Env string
	// Serve is called with the listener before the command starts; it owns the listener.
	Serve func(net.Listener)
}

// Ulimit is one resource limit, named as Docker and AWS Batch name them ("nofile", "nproc", ...).
type Ulimit struct {
	Name       string
	Soft, Hard int64
}

// UlimitNames are the ulimit names AWS Batch (and Docker) accept.
var UlimitNames = []string{"core", "cpu", "data", "fsize", "locks", "memlock", "msgqueue", "nice",
	"nofile", "nproc", "rss", "rtprio", "rttime", "sigpending", "stack"}

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
	// Stop asks the attempt to end — SIGTERM to it, or a backend's equivalent (a Pod deleted with
	// a grace period) — and kills it if it has not ended after grace. It returns at once.
	Stop(grace time.Duration) error
	// PeakMemory is the most memory the attempt has used so far, in bytes (0 if unknown).
	PeakMemory() int64
}

// OutputSyncer is a Process whose output can be caught up with: SyncOutput returns once
// everything the process wrote before the call has reached its Stdout and Stderr writers, or
// when ctx ends. A function's log tail uses it so that it holds everything printed before the
// response.
type OutputSyncer interface {
	SyncOutput(ctx context.Context) error
}

// Executor starts attempts.
type Executor interface {
	// Start launches spec. An error means nothing was started; its text becomes the job's reason
	// (a *PullError becomes AWS's CannotPullContainerError).
	Start(ctx context.Context, spec Spec) (Process, error)
	// Describe says what the backend enforces, for logs and `barge doctor`.
	Describe() string
}

// PullError is a Start failure caused by the attempt's image: it could not be pulled or unpacked.
type PullError struct{ Err error }

func (e *PullError) Error() string { return e.Err.Error() }
func (e *PullError) Unwrap() error { return e.Err }
