package batch

import (
	"context"
	"errors"
	"hash/fnv"
	"io"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	bexec "github.com/barge-run/barge/internal/exec"
)

// propLabelEnv carries a job's deterministic label (chosen by the test, independent of the
// random job ids) to the fake executor, so exit codes depend only on the seed.
const propLabelEnv = "PROP_LABEL"

// recorder is shared by the fake executors of one run (before and after a restart): one
// sequence orders every start and every exit, so "started after its dependency succeeded" can be
// checked across executors.
type recorder struct {
	mu         sync.Mutex
	seq        int64
	startCount int64
	tick       chan struct{} // closed and replaced at every start
	starts     map[string][]startRec
	exits      map[string][]exitRec
}

type startRec struct {
	seq       int64
	gen       int // which executor (1 before a restart, 2 after)
	attempt   int
	milli     int64
	afterStop bool // the executor's service had already been stopped
}

type exitRec struct {
	seq  int64
	gen  int
	exit bexec.Exit
}

func newRecorder() *recorder {
	return &recorder{tick: make(chan struct{}), starts: map[string][]startRec{}, exits: map[string][]exitRec{}}
}

// lastSuccess is the sequence number of id's last exit with code 0 (0 if none).
func (r *recorder) lastSuccess(id string) int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	var s int64
	for _, e := range r.exits[id] {
		if e.exit.Code == 0 && e.exit.Signal == 0 {
			s = e.seq
		}
	}
	return s
}

func (r *recorder) startsOf(id string) []startRec {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]startRec(nil), r.starts[id]...)
}

func (r *recorder) exitsOf(id string) []exitRec {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]exitRec(nil), r.exits[id]...)
}

func (r *recorder) totalStarts() int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.startCount
}

// fakePolicy decides an attempt's exit code and how long it is held: hold 0 ends it at once,
// hold n > 0 keeps it running until n more attempts started (or no attempt started for a while,
// so a hold can never deadlock the workload), hold < 0 until the test calls release.
type fakePolicy func(label string, attempt int) (code, hold int)

// fakeExec is an exec.Executor that runs nothing: attempts end by policy or by signal. It tracks
// the vCPU of its running attempts and the most ever running at once.
type fakeExec struct {
	rec    *recorder
	gen    int
	policy fakePolicy
	// startHook, when set (before the first job), runs at the beginning of every Start;
	// execHook once Start's gate (exec.Spec.Gate) is open, where a real executor execs.
	startHook, execHook func(id string)
	// specHook, when set (before the first job), is handed every Spec at the start of Start.
	specHook func(bexec.Spec)

	// guarded by rec.mu
	running    int64
	maxRunning int64
	procs      map[*fakeProc]bool // running
	byKey      map[string]*fakeProc
	// outlive makes attempts survive the service that started them (as Pods do): a second
	// service on the same fakeExec takes them back by key.
	outlive bool
	// startedLater keeps new attempts STARTING (not yet running) until the test closes their
	// started channel with markStarted.
	startedLater bool
	stopped      bool
	starts       int
	attaches     int
	specs        map[string]bexec.Spec // the last Spec started for each job
	wg           sync.WaitGroup
}

func newFakeExec(rec *recorder, gen int, policy fakePolicy) *fakeExec {
	return &fakeExec{rec: rec, gen: gen, policy: policy, procs: map[*fakeProc]bool{}, byKey: map[string]*fakeProc{}}
}

func (f *fakeExec) Describe() string { return "fake" }

// AttemptsOutliveServer implements exec.Outliving.
func (f *fakeExec) AttemptsOutliveServer() bool { return f.outlive }

// List implements exec.Executor: the keys of running attempts.
func (f *fakeExec) List(context.Context) ([]string, error) {
	f.rec.mu.Lock()
	defer f.rec.mu.Unlock()
	var keys []string
	for k := range f.byKey {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys, nil
}

// Attach implements exec.Executor.
func (f *fakeExec) Attach(_ context.Context, key string, _, _ io.Writer) (bexec.Process, error) {
	f.rec.mu.Lock()
	defer f.rec.mu.Unlock()
	p, ok := f.byKey[key]
	if !ok {
		return nil, bexec.ErrNotFound
	}
	f.attaches++
	return p, nil
}

// markStarted tells the engine that id's attempt now runs (startedLater).
func (f *fakeExec) markStarted(id string) bool {
	f.rec.mu.Lock()
	defer f.rec.mu.Unlock()
	for p := range f.procs {
		if p.id == id && p.started != nil {
			select {
			case <-p.started:
			default:
				close(p.started)
			}
			return true
		}
	}
	return false
}

func envOf(env []string, key string) (string, bool) {
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, key+"="); ok {
			return v, true
		}
	}
	return "", false
}

func (f *fakeExec) Start(ctx context.Context, sp bexec.Spec) (bexec.Process, error) {
	id, ok := envOf(sp.Env, "AWS_BATCH_JOB_ID")
	if !ok {
		return nil, errors.New("fake: no AWS_BATCH_JOB_ID")
	}
	if f.specHook != nil {
		f.specHook(sp)
	}
	if f.startHook != nil {
		f.startHook(id)
	}
	attempt, _ := envOf(sp.Env, "AWS_BATCH_JOB_ATTEMPT")
	n, _ := strconv.Atoi(attempt)
	label, _ := envOf(sp.Env, propLabelEnv)
	if idx, ok := envOf(sp.Env, "AWS_BATCH_JOB_ARRAY_INDEX"); ok {
		label += ":" + idx
	}
	// Nothing runs before the gate opens, as in a real executor.
	if err := sp.AwaitGate(ctx); err != nil {
		return nil, err
	}
	if f.execHook != nil {
		f.execHook(id)
	}
	code, hold := f.policy(label, n)

	p := &fakeProc{f: f, id: id, key: sp.Key, milli: sp.MilliVCPU, done: make(chan struct{})}
	if f.startedLater {
		p.started = make(chan struct{})
	}
	r := f.rec
	r.mu.Lock()
	if q, ok := f.byKey[sp.Key]; ok && sp.Key != "" {
		r.mu.Unlock()
		return q, nil // the same attempt, started again: taken back
	}
	if sp.Key != "" {
		f.byKey[sp.Key] = p
	}
	if f.specs == nil {
		f.specs = map[string]bexec.Spec{}
	}
	f.specs[id] = sp
	r.seq++
	r.startCount++
	r.starts[id] = append(r.starts[id], startRec{seq: r.seq, gen: f.gen, attempt: n, milli: sp.MilliVCPU, afterStop: f.stopped})
	close(r.tick)
	r.tick = make(chan struct{})
	target := r.startCount + int64(hold)
	f.starts++
	f.running += sp.MilliVCPU
	f.maxRunning = max(f.maxRunning, f.running)
	f.procs[p] = true
	f.wg.Add(1)
	r.mu.Unlock()

	go func() {
		defer f.wg.Done()
		if hold < 0 {
			<-p.done
			return
		}
		if hold > 0 {
			idle := time.NewTimer(3 * time.Millisecond)
			defer idle.Stop()
		wait:
			for {
				r.mu.Lock()
				if r.startCount >= target {
					r.mu.Unlock()
					break
				}
				tick := r.tick
				r.mu.Unlock()
				select {
				case <-tick:
					idle.Reset(3 * time.Millisecond)
				case <-idle.C:
					break wait
				case <-p.done:
					return
				}
			}
		}
		p.finish(bexec.Exit{Code: code})
	}()
	if p.started != nil {
		return fakeStarter{p}, nil
	}
	return p, nil
}

// markStopped notes that the service using f was stopped: later starts are recorded as such.
func (f *fakeExec) markStopped() {
	f.rec.mu.Lock()
	f.stopped = true
	f.rec.mu.Unlock()
}

// release ends id's running attempt with code; false if id has none.
func (f *fakeExec) release(id string, code int) bool {
	return f.releaseWith(id, bexec.Exit{Code: code})
}

// releaseWith ends id's running attempt with exit; false if id has none.
func (f *fakeExec) releaseWith(id string, exit bexec.Exit) bool {
	f.rec.mu.Lock()
	var p *fakeProc
	for q := range f.procs {
		if q.id == id {
			p = q
		}
	}
	f.rec.mu.Unlock()
	if p == nil {
		return false
	}
	p.finish(exit)
	return true
}

// killAll ends every running attempt as killed (for cleanup).
func (f *fakeExec) killAll() {
	f.rec.mu.Lock()
	var ps []*fakeProc
	for p := range f.procs {
		ps = append(ps, p)
	}
	f.rec.mu.Unlock()
	for _, p := range ps {
		p.finish(bexec.Exit{Code: -1, Signal: syscall.SIGKILL})
	}
}

// runningIDs lists the jobs with a running attempt, sorted.
func (f *fakeExec) runningIDs() []string {
	f.rec.mu.Lock()
	defer f.rec.mu.Unlock()
	var ids []string
	for p := range f.procs {
		ids = append(ids, p.id)
	}
	sort.Strings(ids)
	return ids
}

func (f *fakeExec) stats() (running, maxRunning int64, procs, starts int) {
	f.rec.mu.Lock()
	defer f.rec.mu.Unlock()
	return f.running, f.maxRunning, len(f.procs), f.starts
}

type fakeProc struct {
	f       *fakeExec
	id      string
	key     string
	started chan struct{} // nil: running from Start
	milli   int64
	done    chan struct{}
	ended   bool       // guarded by f.rec.mu
	exit    bexec.Exit // set before done closes
	sigs    []syscall.Signal
}

// finish ends the attempt (once): the exit is recorded before Wait returns, so before the engine
// can learn of it.
func (p *fakeProc) finish(exit bexec.Exit) {
	r := p.f.rec
	r.mu.Lock()
	if p.ended {
		r.mu.Unlock()
		return
	}
	p.ended = true
	p.exit = exit
	r.seq++
	r.exits[p.id] = append(r.exits[p.id], exitRec{seq: r.seq, gen: p.f.gen, exit: exit})
	p.f.running -= p.milli
	delete(p.f.procs, p)
	if p.f.byKey[p.key] == p {
		delete(p.f.byKey, p.key)
	}
	r.mu.Unlock()
	close(p.done)
}

func (p *fakeProc) Wait() bexec.Exit {
	<-p.done
	return p.exit
}

// fakeStarter is a fakeProc whose container starts after Start returns (startedLater).
type fakeStarter struct{ *fakeProc }

// Started implements exec.Starter.
func (p fakeStarter) Started() <-chan struct{} { return p.started }

// PeakMemory implements exec.Process; the fake uses none.
func (p *fakeProc) PeakMemory() int64 { return 0 }

func (p *fakeProc) Signal(sig syscall.Signal) error {
	p.f.rec.mu.Lock()
	p.sigs = append(p.sigs, sig)
	p.f.rec.mu.Unlock()
	p.finish(bexec.Exit{Code: -1, Signal: sig})
	return nil
}

// Stop implements exec.Process: the fake ends at the first signal, SIGTERM.
func (p *fakeProc) Stop(time.Duration) error { return p.Signal(syscall.SIGTERM) }

// hashOf is a deterministic 64-bit hash of its parts.
func hashOf(parts ...string) uint64 {
	h := fnv.New64a()
	for _, s := range parts {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	return h.Sum64()
}

// seededPolicy fails about failPct% of attempts with code 1 and holds about half of them until
// 1 to 3 more attempts started, all decided by (seed, label, attempt).
func seededPolicy(seed uint64, failPct int) fakePolicy {
	s := strconv.FormatUint(seed, 10)
	return func(label string, attempt int) (int, int) {
		a := strconv.Itoa(attempt)
		code := 0
		if hashOf(s, "exit", label, a)%100 < uint64(failPct) {
			code = 1
		}
		hold := 0
		if h := hashOf(s, "hold", label, a); h%2 == 0 {
			hold = 1 + int(h/2%3)
		}
		return code, hold
	}
}

// specOf is the last Spec started for job id.
func (f *fakeExec) specOf(id string) bexec.Spec {
	f.rec.mu.Lock()
	defer f.rec.mu.Unlock()
	return f.specs[id]
}
