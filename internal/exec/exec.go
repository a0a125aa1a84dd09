// Package exec defines the Executor seam: how a job attempt (and a function instance) is started,
// signalled and waited on, independent of where it runs. Backends live in subpackages: local
// (sandboxed processes and OCI images on this host, see exec/sandbox), later kubernetes (Pods).
package exec

import (
	"context"
	"errors"
	"io"
	"net"
	"syscall"
	"time"
)

// Spec is everything a backend needs to run one attempt.
type Spec struct {
	ID string // unique per attempt, e.g. "<jobId>#<attempt>"
	// Key names the attempt for its backend, the same every time the same attempt is started: a
	// DNS label (lowercase letters, digits and '-', at most 63), so it can name a Pod. Start with
	// the key of an attempt the backend still runs takes that attempt back instead of starting a
	// second one; List and Attach find attempts by it. "" opts out (function instances).
	Key     string
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
	// GPUs is how many GPUs the attempt needs. A backend that places devices itself (Kubernetes'
	// nvidia.com/gpu) requests this many; on the local backend the engine has already chosen the
	// devices and names them in NVIDIA_VISIBLE_DEVICES.
	GPUs int
	// Network is the network the attempt needs; NetworkDefault takes the backend's.
	Network Network
	// Labels and Annotations are the attempt's metadata where its backend keeps some (a Pod's
	// metadata: an eksProperties job's podProperties.metadata); others ignore them.
	Labels, Annotations map[string]string
	// Listen asks for listening sockets inside the attempt's network (e.g. a function's Runtime
	// API): each is created before the command starts and handed to its Serve.
	Listen []Listen
	Stdout io.Writer
	Stderr io.Writer
	// Gate, when set, is what the command waits for: Start may prepare the attempt before it
	// (pull its image, make its sandbox, build its Pod), and must not exec the command — nor make
	// anything that would, such as a Pod — until Gate returns nil. An error from Gate aborts the
	// start: Start releases what it prepared and returns an error (nothing ran). The engine opens
	// it once the attempt's STARTING is durable. nil is open; Gate may be called more than once.
	Gate func(ctx context.Context) error
}

// AwaitGate waits for s.Gate (nil is open): an executor calls it just before the command execs.
func (s *Spec) AwaitGate(ctx context.Context) error {
	if s.Gate == nil {
		return nil
	}
	return s.Gate(ctx)
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

// Network is an attempt's network.
type Network string

// The networks an attempt can ask for. A backend that cannot give the one asked for refuses to
// start the attempt (a start failure naming both) rather than running it on another.
const (
	// NetworkDefault is whatever the backend is configured to give (barge server --job-network).
	NetworkDefault Network = ""
	// NetworkPrivate is a network of the attempt's own: loopback only, plus the endpoints barge
	// serves into it (its API, a function's Runtime API).
	NetworkPrivate Network = "private"
	// NetworkHost is the host's network (eksProperties' hostNetwork).
	NetworkHost Network = "host"
)

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
	// Cause says why the attempt ended when it did not simply run to an exit.
	Cause Cause
	// Host names where the attempt ran (a node, an instance), for a host-terminated reason.
	Host string
}

// Cause is why an attempt ended, beyond its exit code: the engine maps each to AWS's reasons.
type Cause string

// The causes a backend reports in Exit.Cause.
const (
	// CauseExited: it ran and exited, or was killed by a signal (Code, Signal, OOM say how).
	CauseExited Cause = ""
	// CausePullFailed: its image could not be pulled or unpacked (CannotPullContainerError).
	CausePullFailed Cause = "pull-failed"
	// CauseStartFailed: it was created but could not start (CannotStartContainerError).
	CauseStartFailed Cause = "start-failed"
	// CauseEvicted: the host took it back (a Pod evicted under pressure): as AWS treats a lost
	// instance, the attempt failed through no fault of its own and is retried by the strategy.
	CauseEvicted Cause = "evicted"
	// CauseHostLost: the host it ran on, or the server supervising it, went away.
	CauseHostLost Cause = "host-lost"
)

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

// Starter is a Process that may start some time after Start returns (a Pod is scheduled and
// pulls its image first): Started is closed once its container runs, and the job stays STARTING
// until then. A Process that is not a Starter runs when Start returns.
type Starter interface {
	Started() <-chan struct{}
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
	// List returns the keys of the attempts the backend runs (started with a Key) and has not
	// yet been Waited on to the end: after a restart the engine takes back those it still
	// records and stops the rest. A backend whose attempts never outlive the server that started
	// them lists only what this process started.
	List(ctx context.Context) ([]string, error)
	// Attach takes back a running attempt by key, its further output going to stdout and stderr
	// where the backend can redirect it (a Pod's log is followed anew; a local process keeps the
	// writers it started with). ErrNotFound when the backend has no such attempt.
	Attach(ctx context.Context, key string, stdout, stderr io.Writer) (Process, error)
}

// Outliving is an Executor whose attempts outlive the server that started them (Pods): at
// shutdown the engine leaves them running, and the next engine takes them back with List and
// Attach. Attempts of other executors are killed at shutdown and recorded as lost.
type Outliving interface {
	AttemptsOutliveServer() bool
}

// ErrNotFound is Attach's answer for a key the backend does not run.
var ErrNotFound = errors.New("no such attempt")

// PullError is a Start failure caused by the attempt's image: it could not be pulled or unpacked.
type PullError struct{ Err error }

func (e *PullError) Error() string { return e.Err.Error() }
func (e *PullError) Unwrap() error { return e.Err }
