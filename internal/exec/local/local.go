// Package local is the Executor backend that runs attempts on this host. Where the host allows
// (Linux, root, cgo) every attempt runs in a sandbox (exec/sandbox): its own namespaces and
// cgroup, an OCI image's root filesystem or the host's read-only. Elsewhere attempts are plain
// child processes, each its own process group, and Describe says plainly that nothing is
// enforced; images then cannot run.
package local

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/barge-run/barge/internal/account"
	bexec "github.com/barge-run/barge/internal/exec"
	"github.com/barge-run/barge/internal/exec/sandbox"
	"github.com/barge-run/barge/internal/image"
)

// outputGrace bounds how long Wait drains output after the attempt's process group is gone; a
// process that escaped the group (setsid) could otherwise hold the pipe open forever.
const outputGrace = 2 * time.Second

// defaultPath is the PATH of an attempt whose environment (and image) sets none, as Docker's.
const defaultPath = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// Options configures the executor.
type Options struct {
	// Sandbox isolates attempts; nil runs them as plain host processes.
	Sandbox *sandbox.Sandbox
	// Images resolves image references; nil refuses attempts that name an image.
	Images *image.Store
	// Unsandboxed says why Sandbox is nil, for Describe.
	Unsandboxed string
	// API, when set, is served inside every attempt's network at APIAddr: how jobs and
	// functions reach barge's own API from a sandbox whose loopback is its own.
	API http.Handler
}

// APIAddr is where an attempt reaches barge's API: inside its own network namespace when it has
// one (barge serves a listener there); with the host's network, wherever barge listens.
const APIAddr = "127.0.0.1:7700"

// Executor runs attempts on this host.
type Executor struct {
	opts Options
	keys keyed
}

var _ bexec.Executor = (*Executor)(nil)

// New returns the local executor. With no options it runs plain processes.
func New(opts ...Options) *Executor {
	var o Options
	if len(opts) > 0 {
		o = opts[0]
	}
	return &Executor{opts: o}
}

// Describe implements exec.Executor.
func (e *Executor) Describe() string {
	if e.opts.Sandbox != nil {
		return "local: " + e.opts.Sandbox.Describe()
	}
	why := e.opts.Unsandboxed
	if why == "" {
		why = "no sandbox configured"
	}
	return "local: NOT ISOLATED (" + why + "): host processes, one process group per attempt; no namespaces, no cgroup limits (vCPU and memory are reserved, not enforced); images cannot run"
}

// Close releases what the sandbox holds on the host (its parent cgroup); attempts must be over.
func (e *Executor) Close() {
	if e.opts.Sandbox != nil {
		e.opts.Sandbox.Close()
	}
}

// Images is the image store attempts' images come from (nil if none).
func (e *Executor) Images() *image.Store { return e.opts.Images }

// Sandboxed reports whether attempts run isolated.
func (e *Executor) Sandboxed() bool { return e.opts.Sandbox != nil }

// ServesAPIInside reports whether attempts reach barge's API at APIAddr inside their own network
// (else they share the host's and reach the server where it listens).
func (e *Executor) ServesAPIInside() bool {
	return e.opts.API != nil && e.opts.Sandbox != nil && e.opts.Sandbox.IsolatesNetwork()
}

// Start implements exec.Executor.
func (e *Executor) Start(ctx context.Context, spec bexec.Spec) (bexec.Process, error) {
	if err := e.checkNetwork(spec.Network); err != nil {
		return nil, err
	}
	if spec.Key != "" {
		return e.startKeyed(ctx, spec)
	}
	p, err := e.start(ctx, spec)
	if err != nil {
		return nil, err // not a nil *process in an interface
	}
	return p, nil
}

func (e *Executor) start(ctx context.Context, spec bexec.Spec) (*process, error) {
	host := spec.Image == "" || spec.Image == "host"
	if e.opts.Sandbox == nil {
		if !host {
			return nil, fmt.Errorf("image %s: this host runs no images (%s)", spec.Image, e.opts.Unsandboxed)
		}
		return e.startPlainListening(ctx, spec)
	}
	cfg := sandbox.Config{
		ID: spec.ID, Argv: spec.Command, Dir: spec.Dir, DirReadOnly: spec.DirReadOnly,
		Mounts: spec.Mounts, ReadonlyRootFS: spec.ReadonlyRootFS, User: spec.User,
		Ulimits: spec.Ulimits, InitProcess: spec.InitProcess, Privileged: spec.Privileged,
		ShmMiB: spec.SharedMemoryMiB, MilliVCPU: spec.MilliVCPU, MemoryMiB: spec.MemoryMiB,
		Tenant: spec.Tenant, DiskBytes: spec.DiskBytes,
	}
	if spec.Gate != nil {
		// The sandbox is made (or taken from the pool) first; its command waits for the gate.
		cfg.Gate = func() error { return spec.AwaitGate(ctx) }
	}
	// Listeners inside the sandbox's own network: the attempt's (a Runtime API) and barge's API.
	listen := spec.Listen
	if e.opts.API != nil {
		listen = append(append([]bexec.Listen(nil), listen...), bexec.Listen{Addr: APIAddr, Serve: e.serveAPI})
	}
	var hostListeners []net.Listener
	started := false
	defer func() {
		if !started { // every early return (a pull that failed, no command, no sandbox)
			for _, l := range hostListeners {
				l.Close()
			}
		}
	}()
	if e.opts.Sandbox.IsolatesNetwork() {
		for _, l := range listen {
			cfg.Listen = append(cfg.Listen, l.Addr)
			if l.Env != "" {
				spec.Env = setEnv(spec.Env, l.Env, l.Addr)
			}
		}
	} else {
		var err error
		if hostListeners, spec.Env, err = listenOnHost(spec.Listen, spec.Env); err != nil {
			return nil, err
		}
		// On the host's network: reachable only from the attempt's tenant (peer.go).
		if first, count, ok := e.opts.Sandbox.TenantIDs(cfg); ok {
			for i, l := range hostListeners {
				hostListeners[i] = &ownedListener{Listener: l, first: first, count: count}
			}
		}
	}
	if host {
		cfg.Env = withDefaults(spec.Env, nil, "HOME=/tmp")
	} else {
		if e.opts.Images == nil {
			return nil, &bexec.PullError{Err: errors.New("no image store configured")}
		}
		// Names the tenant imported (barge image import) are its own pins; others pull.
		tenant, _ := account.SplitScope(spec.Tenant, "")
		img, err := e.opts.Images.GetFor(ctx, tenant, spec.Image)
		if err != nil {
			return nil, &bexec.PullError{Err: err}
		}
		// Docker's rules: the job's command replaces CMD, never ENTRYPOINT; the job's environment
		// goes over the image's.
		cmd := spec.Command
		if len(cmd) == 0 {
			cmd = img.Cmd
		}
		entrypoint := img.Entrypoint
		if spec.Entrypoint != nil {
			entrypoint = spec.Entrypoint
		}
		cfg.Argv = append(append([]string(nil), entrypoint...), cmd...)
		cfg.Env = withDefaults(spec.Env, img.Env, "HOME=/root")
		cfg.RootFS, cfg.Cwd = img.RootFS, img.WorkingDir
		if spec.WorkingDir != "" {
			cfg.Cwd = spec.WorkingDir
		}
		if cfg.User == "" {
			cfg.User = img.User
		}
	}
	if len(cfg.Argv) == 0 {
		return nil, errors.New("no command: the job sets none and its image has no ENTRYPOINT or CMD")
	}
	// A sandbox prepared for this shape while earlier jobs ran (sandbox/pool.go) is used once, by
	// this attempt; else one is made now.
	sp, o, ok, err := e.opts.Sandbox.StartPrepared(cfg)
	if err != nil {
		return nil, err
	}
	outR, outW, errR, errW := o.OutR, o.OutW, o.ErrR, o.ErrW
	if !ok {
		if outR, outW, errR, errW, err = pipes(); err != nil {
			return nil, err
		}
		if sp, err = e.opts.Sandbox.Start(cfg, outW, errW); err != nil {
			closeAll(outR, outW, errR, errW)
			return nil, err
		}
	}
	started = true
	p := newProcess(outR, outW, errR, errW)
	p.sandboxed = sp
	// Listeners in the sandbox's network are the sandbox's to close (before its namespace goes
	// back to the pool); those on the host's loopback are the process's.
	for i, l := range sp.Listeners {
		listen[i].Serve(l)
	}
	for i, l := range hostListeners {
		spec.Listen[i].Serve(l)
	}
	p.listeners = hostListeners
	go p.drain(outR, errR, spec.Stdout, spec.Stderr)
	return p, nil
}

// listenOnHost gives an attempt without a network of its own its listeners on free loopback
// ports, and tells it where in each Env variable.
func listenOnHost(ls []bexec.Listen, env []string) ([]net.Listener, []string, error) {
	var out []net.Listener
	for _, l := range ls {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			for _, o := range out {
				o.Close()
			}
			return nil, env, fmt.Errorf("listen: %w", err)
		}
		out = append(out, ln)
		if l.Env != "" {
			env = setEnv(env, l.Env, ln.Addr().String())
		}
	}
	return out, env, nil
}

// setEnv is env with key set to value (a copy; any earlier value of key dropped).
func setEnv(env []string, key, value string) []string {
	out := make([]string, 0, len(env)+1)
	for _, kv := range env {
		if k, _, _ := strings.Cut(kv, "="); k != key {
			out = append(out, kv)
		}
	}
	return append(out, key+"="+value)
}

// serveAPI serves barge's API on a listener inside one attempt's network; it ends when the
// attempt does (Wait closes the listener).
func (e *Executor) serveAPI(l net.Listener) {
	srv := &http.Server{Handler: e.opts.API, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(l)
}

// pipes makes the attempt's stdout and stderr pipes. Our own pipes rather than exec.Cmd's
// copying, so Wait returns when the main process exits and the rest can be killed before the
// output is drained.
func pipes() (outR, outW, errR, errW *os.File, err error) {
	outR, outW, err = os.Pipe()
	if err != nil {
		return
	}
	errR, errW, err = os.Pipe()
	if err != nil {
		outR.Close()
		outW.Close()
	}
	return
}

// withDefaults is env over imageEnv, with PATH and home defaulted when neither sets them.
func withDefaults(env, imageEnv []string, home string) []string {
	out := make([]string, 0, len(imageEnv)+len(env)+2)
	seen := map[string]int{}
	for _, kv := range append(append([]string(nil), imageEnv...), env...) {
		k, _, _ := strings.Cut(kv, "=")
		if i, ok := seen[k]; ok {
			out[i] = kv
			continue
		}
		seen[k] = len(out)
		out = append(out, kv)
	}
	if _, ok := seen["PATH"]; !ok {
		out = append(out, defaultPath)
	}
	if _, ok := seen["HOME"]; !ok {
		out = append(out, home)
	}
	return out
}

func (e *Executor) startPlain(ctx context.Context, spec bexec.Spec) (*process, error) {
	if len(spec.Command) == 0 {
		return nil, errors.New("no command")
	}
	env := withDefaults(spec.Env, nil, "HOME=/tmp")
	path, err := lookPath(spec.Command[0], env)
	if err != nil {
		return nil, fmt.Errorf("executable %q not found in PATH", spec.Command[0])
	}
	// Not CommandContext: the attempt's lifetime is managed by Signal, not by a request context.
	cmd := exec.Command(path, spec.Command[1:]...)
	cmd.Args[0] = spec.Command[0]
	cmd.Env = env
	cmd.Dir = spec.Dir
	cmd.SysProcAttr = plainAttr()
	return startCmd(ctx, cmd, spec)
}

// startCmd starts cmd with its output going to spec's writers, once spec's gate is open.
func startCmd(ctx context.Context, cmd *exec.Cmd, spec bexec.Spec) (*process, error) {
	outR, outW, errR, errW, err := pipes()
	if err != nil {
		return nil, err
	}
	if err := spec.AwaitGate(ctx); err != nil {
		closeAll(outR, outW, errR, errW)
		return nil, err
	}
	cmd.Stdout, cmd.Stderr = outW, errW
	if err := cmd.Start(); err != nil {
		closeAll(outR, outW, errR, errW)
		return nil, fmt.Errorf("start %s: %w", cmd.Args[0], err)
	}
	p := newProcess(outR, outW, errR, errW)
	p.cmd = cmd
	go p.drain(outR, errR, spec.Stdout, spec.Stderr)
	return p, nil
}

// startPlainListening is startPlain for a spec with listeners: free loopback ports, served
// before the command starts.
func (e *Executor) startPlainListening(ctx context.Context, spec bexec.Spec) (*process, error) {
	ls, env, err := listenOnHost(spec.Listen, spec.Env)
	if err != nil {
		return nil, err
	}
	spec.Env = env
	for i, l := range ls {
		spec.Listen[i].Serve(l)
	}
	p, err := e.startPlain(ctx, spec)
	if err != nil {
		for _, l := range ls {
			l.Close()
		}
		return nil, err
	}
	p.listeners = ls
	return p, nil
}

// process is a plain child process (cmd) or a sandbox.
type process struct {
	cmd       *exec.Cmd
	sandboxed *sandbox.Proc
	readers   []*os.File
	pipes     []*outputPipe // stdout, stderr: barge's write ends, for SyncOutput
	syncMu    sync.Mutex
	drained   chan struct{}
	// exited closes when the main process has ended (Stop's kill then has nothing to do).
	exited chan struct{}
	// listeners end with the attempt: a socket in its network namespace would keep it alive.
	listeners []net.Listener
	// waitOnce makes Wait safe to call again (an attempt taken back by its key is waited on by
	// whoever took it back).
	waitOnce sync.Once
	exit     bexec.Exit
}

// newProcess is a started process's output: the read ends for the drain, and barge's own
// write ends (the process has its copies) for SyncOutput's marks.
func newProcess(outR, outW, errR, errW *os.File) *process {
	return &process{drained: make(chan struct{}), exited: make(chan struct{}), readers: []*os.File{outR, errR},
		pipes: []*outputPipe{{w: outW}, {w: errW}}}
}

func closeAll(fs ...*os.File) {
	for _, f := range fs {
		f.Close()
	}
}

func (p *process) drain(outR, errR *os.File, stdout, stderr io.Writer) {
	done := make(chan struct{}, 2)
	cp := func(op *outputPipe, w io.Writer, r *os.File) {
		if w == nil {
			w = io.Discard
		}
		op.copy(w, r)
		done <- struct{}{}
	}
	go cp(p.pipes[0], stdout, outR)
	go cp(p.pipes[1], stderr, errR)
	<-done
	<-done
	close(p.drained)
}

// Wait implements exec.Process; every call returns the one exit.
func (p *process) Wait() bexec.Exit {
	p.waitOnce.Do(func() { p.exit = p.wait() })
	return p.exit
}

func (p *process) wait() bexec.Exit {
	var st syscall.WaitStatus
	var err error
	oom := false
	defer func() {
		select {
		case <-p.exited:
		default:
			close(p.exited)
		}
	}()
	if p.sandboxed != nil {
		// Its PID 1 is gone, so the kernel has killed everything else in its namespace.
		st, oom = p.sandboxed.Wait()
	} else {
		err = p.cmd.Wait()
		// The attempt is over when its main process is: clear the rest of its group.
		syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		st, _ = p.cmd.ProcessState.Sys().(syscall.WaitStatus)
		if err != nil && p.cmd.ProcessState == nil {
			return bexec.Exit{Code: -1, Reason: err.Error()}
		}
	}
	for _, l := range p.listeners {
		l.Close()
	}
	p.closeWriters()
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
	switch {
	case st.Signaled():
		return bexec.Exit{Code: -1, Signal: st.Signal(), OOM: oom}
	default:
		return bexec.Exit{Code: st.ExitStatus(), OOM: oom}
	}
}

// PeakMemory implements exec.Process: the sandbox's cgroup peak, or a plain process's peak RSS.
func (p *process) PeakMemory() int64 {
	if p.sandboxed != nil {
		return p.sandboxed.PeakMemory()
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(p.cmd.Process.Pid) + "/status")
	if err != nil {
		return 0
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}

func (p *process) Signal(sig syscall.Signal) error {
	if p.sandboxed != nil {
		return p.sandboxed.Signal(sig)
	}
	// The negative pid addresses the whole process group the attempt leads.
	return syscall.Kill(-p.cmd.Process.Pid, sig)
}

// Stop implements exec.Process: SIGTERM now, SIGKILL after grace unless the process ended.
func (p *process) Stop(grace time.Duration) error {
	err := p.Signal(syscall.SIGTERM)
	go func() {
		t := time.NewTimer(grace)
		defer t.Stop()
		select {
		case <-p.exited:
		case <-t.C:
			p.Signal(syscall.SIGKILL)
		}
	}()
	return err
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
