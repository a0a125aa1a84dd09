package kube

import (
	"context"
	"fmt"
	"io"
	"math"
	"sync"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/barge-run/barge/internal/exec"
)

// apiTimeout bounds the API calls a Process makes on its own (deletions).
const apiTimeout = 30 * time.Second

// process follows one Pod. The informer's events reach it through observe; its state only moves
// forward (started, then finished).
type process struct {
	e              *Executor
	key            string
	stdout, stderr io.Writer
	started        chan struct{}
	done           chan struct{} // closed once exit is known
	logCtx         context.Context
	logCancel      context.CancelFunc
	collectOnce    sync.Once

	mu         sync.Mutex
	uid        types.UID     // "" until the Pod is known
	early      []podEvent    // events before the uid was known
	last       *corev1.Pod   // the newest state seen
	logDone    chan struct{} // nil until the log is followed
	isStarted  bool
	finished   bool
	exit       exec.Exit
	stopped    bool
	stopSignal syscall.Signal
}

type podEvent struct {
	pod     *corev1.Pod
	deleted bool
}

var (
	_ exec.Process = (*process)(nil)
	_ exec.Starter = (*process)(nil)
)

func newProcess(e *Executor, key string, stdout, stderr io.Writer) *process {
	if stdout == nil {
		stdout = io.Discard
	}
	if stderr == nil {
		stderr = io.Discard
	}
	p := &process{e: e, key: key, stdout: stdout, stderr: stderr,
		started: make(chan struct{}), done: make(chan struct{})}
	p.logCtx, p.logCancel = context.WithCancel(context.Background())
	return p
}

// follow fixes the Pod the process follows and catches up with what is known of it: the events
// that came before, and the informer's copy.
func (p *process) follow(uid types.UID) {
	p.mu.Lock()
	p.uid = uid
	early := p.early
	p.early = nil
	for _, ev := range early {
		if ev.pod.UID == uid {
			p.handle(ev)
		}
	}
	p.mu.Unlock()
	if pod, ok := p.e.cached(p.key); ok {
		p.observe(pod, false)
	}
}

// observe takes one informer event.
func (p *process) observe(pod *corev1.Pod, deleted bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch {
	case p.uid == "":
		p.early = append(p.early, podEvent{pod, deleted})
	case pod.UID == p.uid:
		p.handle(podEvent{pod, deleted})
	}
}

// handle moves the process forward by what the Pod shows. p.mu is held.
func (p *process) handle(ev podEvent) {
	if p.finished {
		return
	}
	if ev.deleted {
		last := p.last
		if last == nil {
			last = ev.pod
		}
		p.finish(deletedExit(last, p.stopped, p.stopSignal))
		return
	}
	p.last = ev.pod
	if running(ev.pod) && !p.isStarted {
		p.isStarted = true
		close(p.started)
	}
	if ran(ev.pod) && p.logDone == nil {
		p.logDone = make(chan struct{})
		go p.followLog()
	}
	if x, ok := exitOf(ev.pod); ok {
		p.finish(x)
	}
}

func (p *process) finish(x exec.Exit) {
	p.finished, p.exit = true, x
	close(p.done)
}

// Started is closed once the container runs (or the Pod ended after running).
func (p *process) Started() <-chan struct{} { return p.started }

// Wait blocks until the Pod ended and its log was read to the end (or LogDrain passed), then
// deletes the Pod: a finished attempt is collected once it has been waited on.
func (p *process) Wait() exec.Exit {
	<-p.done
	p.mu.Lock()
	logDone, x, uid := p.logDone, p.exit, p.uid
	p.mu.Unlock()
	if logDone != nil {
		t := time.NewTimer(p.e.opts.LogDrain)
		select {
		case <-logDone:
		case <-t.C:
		}
		t.Stop()
	}
	p.logCancel()
	p.collectOnce.Do(func() { p.collect(uid) })
	return x
}

// collect deletes the finished Pod and forgets the process.
func (p *process) collect(uid types.UID) {
	p.e.markCollected(uid)
	p.e.unregister(p)
	ctx, cancel := context.WithTimeout(context.Background(), apiTimeout)
	defer cancel()
	if err := p.delete(ctx, 0); err != nil {
		p.e.opts.Logger.Warn("kube: deleting a finished Pod", "namespace", p.e.opts.Namespace, "pod", p.key, "err", err)
	}
}

// delete deletes the process's Pod (this very Pod: its UID is a precondition).
func (p *process) delete(ctx context.Context, grace time.Duration) error {
	p.mu.Lock()
	uid := p.uid
	p.mu.Unlock()
	secs := int64(math.Ceil(grace.Seconds()))
	err := p.e.client.CoreV1().Pods(p.e.opts.Namespace).Delete(ctx, p.key, metav1.DeleteOptions{
		GracePeriodSeconds: &secs,
		Preconditions:      &metav1.Preconditions{UID: &uid},
	})
	if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
		return nil // gone already, or another Pod by now
	}
	if err != nil {
		return fmt.Errorf("kube: delete Pod %s/%s: %w", p.e.opts.Namespace, p.key, err)
	}
	return nil
}

// Stop deletes the Pod with grace as its grace period: the kubelet sends SIGTERM, then SIGKILL
// once grace has passed.
func (p *process) Stop(grace time.Duration) error {
	if grace < 0 {
		grace = 0
	}
	sig := syscall.SIGTERM
	if grace == 0 {
		sig = syscall.SIGKILL
	}
	return p.stop(grace, sig)
}

// Signal supports SIGKILL only (the Pod deleted with no grace period): Kubernetes has no way to
// send a container another signal.
func (p *process) Signal(sig syscall.Signal) error {
	if sig != syscall.SIGKILL {
		return fmt.Errorf("kube: signal %v is not supported on Kubernetes (only SIGKILL, deleting the Pod)", sig)
	}
	return p.stop(0, sig)
}

func (p *process) stop(grace time.Duration, sig syscall.Signal) error {
	p.mu.Lock()
	if p.finished {
		p.mu.Unlock()
		return nil
	}
	if !p.stopped {
		p.stopped, p.stopSignal = true, sig
	}
	p.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), apiTimeout)
	defer cancel()
	return p.delete(ctx, grace)
}

// PeakMemory is unknown on Kubernetes (the metrics API is not read).
func (p *process) PeakMemory() int64 { return 0 }
