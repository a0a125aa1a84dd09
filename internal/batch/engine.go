package batch

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/google/uuid"

	"github.com/barge-run/barge/internal/awserr"
	wire "github.com/barge-run/barge/internal/awstypes/batch"
	bexec "github.com/barge-run/barge/internal/exec"
	"github.com/barge-run/barge/internal/sched"
	"github.com/barge-run/barge/internal/store"
)

// LogGroup is the CloudWatch Logs group job output goes to, as in AWS.
const LogGroup = "/aws/batch/job"

// Status reasons, worded as AWS words them.
const (
	reasonEssentialExited = "Essential container in task exited"
	reasonTimeout         = "Job attempt duration exceeded timeout"
	reasonLost            = "Host terminated: the barge server stopped while the attempt was running"
	reasonQueueGone       = "Job queue deleted"
)

// engine owns every job state change after submission. All its fields are touched only by the
// loop goroutine; other goroutines talk to it by sending closures on events.
type engine struct {
	s         *Service
	events    chan func()
	commits   chan *commitBatch // to the committer, in order
	committed chan *commitBatch // back from the committer
	inFlight  bool              // a batch is being committed
	dirs      *workDirs         // attempt working directories
	sched     *sched.Scheduler

	jobs  map[string]*activeJob // every unfinished job (and those finished since the last flush)
	dirty map[string]*activeJob // changed since the last flush
	// deferred changed too, but only in ways no one waits on (RUNNING): they are written with
	// the next batch, or alone once deferredSince is runningCommitDelay old (markDeferred).
	deferred      map[string]*activeJob
	deferredSince time.Time
	starts        []*startGate // of attempts launched at placement: open once STARTING is durable
	replies       []func()     // to run once the current changes are durable
	finished      []*activeJob // became terminal; their consequences are not yet applied

	arrays   map[string]*activeJob                     // unfinished array parents
	arrayMem map[string]*arrayMem                      // in-memory extras of unfinished N_TO_N arrays
	deps     map[string][]string                       // dependency (job id or "parent:index") → ids of jobs waiting on it
	nton     map[string][]string                       // array id → arrays whose child i waits for its child i
	limits   map[string][]wire.JobStateTimeLimitAction // queue ARN → its time-limit actions
	gpus     gpuSlots                                  // which GPUs running attempts hold

	nextLimitCheck time.Time
	usage          usageSaver
	// recovering is set while recover rebuilds the engine from the store.
	recovering bool
	// configSeen is the configuration version the scheduler holds (KindConfigVersion).
	configSeen atomic.Int64
	// active is set once the engine holds its lease and is starting: before that (another
	// server's engine runs) do drops what it is handed and call answers errEngineElsewhere.
	active atomic.Bool
	// looping is set once the loop runs (start succeeded).
	looping atomic.Bool

	// lease is the engine's lease (acquireLease); db is the store fenced with it, through which
	// the engine writes jobs.
	lease    *store.Lease
	db       store.Store
	quitOnce sync.Once

	quit chan struct{}
	done chan struct{}
	// ended closes when no batch can become durable any more — the loop ended, or start failed
	// after placing attempts — and fails the gates still shut (startGate).
	ended     chan struct{}
	endedOnce sync.Once
}

type activeJob struct {
	store   *store.Job
	rec     *jobRecord
	attempt *attemptRun // set while STARTING or RUNNING
	runKey  string      // the scheduler key holding the attempt's capacity
	waiting int         // dependencies not yet satisfied
	isNew   bool        // materialized by the engine, not yet in a batch
	stored  bool        // has a row in the store
	// lastBatch is the newest batch holding this job's row: memory may forget a finished job
	// only once that batch is durable, or a reader could find an older row in the store.
	lastBatch *commitBatch
	// endedAt is when the engine recorded the last attempt's end (for the commit phase metric).
	endedAt time.Time
}

func newEngine(s *Service) *engine {
	return &engine{
		s:      s,
		events: make(chan func(), 8192),
		// One completion per batch in flight, so the committer never blocks on the loop.
		commits:   make(chan *commitBatch, 64),
		committed: make(chan *commitBatch, 65),
		sched:     newScheduler(s.clock),
		dirs:      newWorkDirs(s.cfg.WorkDir),
		jobs:      map[string]*activeJob{},
		dirty:     map[string]*activeJob{},
		deferred:  map[string]*activeJob{},
		arrays:    map[string]*activeJob{},
		arrayMem:  map[string]*arrayMem{},
		deps:      map[string][]string{},
		nton:      map[string][]string{},
		limits:    map[string][]wire.JobStateTimeLimitAction{},
		gpus:      gpuSlots{total: s.cfg.Host.GPUs},
		quit:      make(chan struct{}),
		done:      make(chan struct{}),
		ended:     make(chan struct{}),
	}
}

// errEngineElsewhere is call's answer on a server whose engine does not run (another server
// holds the lease): what needs the engine was recorded for it instead.
var errEngineElsewhere = errors.New("the engine runs on another server")

// do runs fn on the loop goroutine; nothing, where the engine does not run.
func (e *engine) do(fn func()) {
	if !e.active.Load() {
		return
	}
	select {
	case e.events <- fn:
	case <-e.done:
	}
}

// call runs fn on the loop and waits until what it changed is durable.
func (e *engine) call(ctx context.Context, fn func() error) error {
	if !e.active.Load() {
		return errEngineElsewhere
	}
	result := make(chan error, 1)
	e.do(func() {
		if err := fn(); err != nil {
			result <- err
			return
		}
		e.replies = append(e.replies, func() { result <- nil })
	})
	select {
	case err := <-result:
		return err
	case <-ctx.Done():
		return ctx.Err()
	case <-e.done:
		return awserr.Server("server shutting down")
	}
}

func (e *engine) start(ctx context.Context) error {
	if err := e.acquireLease(ctx); err != nil {
		return err
	}
	// From here what the API hands the engine is queued for the loop (recover reads the store
	// after, so nothing handed over meanwhile is missed).
	e.active.Store(true)
	if err := e.recover(ctx); err != nil {
		e.active.Store(false)
		e.end() // attempts recover placed never run: their STARTING is not durable
		e.releaseLease()
		return fmt.Errorf("recover: %w", err)
	}
	e.looping.Store(true)
	go e.loop()
	go e.poll()
	return nil
}

// stopped reports whether the loop has ended (shut down or deposed).
func (e *engine) stopped() bool {
	select {
	case <-e.done:
		return true
	default:
		return false
	}
}

// end fails the start gates still shut; it may be called more than once.
func (e *engine) end() { e.endedOnce.Do(func() { close(e.ended) }) }

// stop asks the loop to shut down; it may be called more than once.
func (e *engine) stop() { e.quitOnce.Do(func() { close(e.quit) }) }

func (e *engine) shutdownAndWait() {
	e.stop()
	if !e.looping.Load() {
		return // never ran here: nothing to wait for, no lease to give back
	}
	<-e.done
	e.releaseLease()
	// An attempt still being launched kills its own process once it finds the loop gone (run).
}

// recover rebuilds the scheduler from the store. Attempts that were STARTING or RUNNING when the
// previous process ended are taken back when the executor still runs them (Pods); the others are
// gone (local processes die with the server): they are recorded as lost — AWS's host-terminated
// — and retried when the job's retry strategy allows. Attempts the executor runs that no job
// records as running are stopped.
func (e *engine) recover(ctx context.Context) error {
	st := e.s.store
	e.configSeen.Store(e.s.configVersion(ctx))
	cfg, err := e.s.loadConfig(ctx)
	if err != nil {
		return err
	}
	e.applyConfig(cfg)
	if err := e.restoreShareUsage(ctx); err != nil {
		return err
	}
	jobs, err := st.JobListUnfinished(ctx)
	if err != nil {
		return err
	}
	e.recovering = true
	defer func() { e.recovering = false }()
	var all []*activeJob
	for _, j := range jobs {
		rec, err := decodeJob(j)
		if err != nil {
			return fmt.Errorf("job %s: %w", j.ID, err)
		}
		aj := &activeJob{store: j, rec: rec, stored: true}
		e.jobs[j.ID] = aj
		if rec.Run.Array != nil {
			e.arrays[j.ID] = aj
		}
		all = append(all, aj)
	}
	if err := e.recoverArrays(ctx); err != nil {
		return err
	}
	alive := e.survivors(ctx)
	for _, aj := range all {
		e.recoverJob(ctx, aj, alive)
	}
	e.stopOrphans(ctx, alive)
	// Stop requests acknowledged but perhaps not applied before the previous process ended.
	intents, ins, err := e.pendingIntents(ctx)
	if err != nil {
		return err
	}
	for i, r := range intents {
		e.applyIntent(r.Account, ins[i])
	}
	for _, par := range e.arrays {
		e.checkArrayDone(par)
	}
	if len(jobs) > 0 {
		e.s.log.Info("recovered unfinished jobs", "count", len(jobs))
	}
	e.settle()
	e.schedule()
	e.settle()
	if err := e.flush(ctx); err != nil {
		return err
	}
	e.deleteIntents(ctx, intents)
	return nil
}

// recoverJob puts an unfinished job back where it was. Parents come before their children
// (submission order), so array state exists when children are seen.
func (e *engine) recoverJob(ctx context.Context, aj *activeJob, alive map[string]bexec.Executor) {
	run := &aj.rec.Run
	switch st := aj.rec.Detail.Status; {
	case (st == statusStarting || st == statusRunning) && e.reattach(ctx, aj, alive):
	case st == statusStarting || st == statusRunning:
		aj.attempt = &attemptRun{startedAt: deref(aj.rec.Detail.StartedAt), terminate: run.Terminate}
		// Lost with the server that dispatched it: its container instance names that server.
		host := aj.rec.Detail.Container.ContainerInstanceArn
		e.finishAttempt(aj, attemptEnd{lost: true, host: host[strings.LastIndexByte(host, '/')+1:]})
	case st == statusSubmitted:
		e.admit(aj)
	case !run.Activated:
		// PENDING on dependencies: look at them again.
		e.admit(aj)
	case run.Array != nil:
		e.resumeArray(aj) // linked to its N_TO_N counterparts by recoverArrays

	default:
		e.makeRunnable(aj)
	}
}

func (e *engine) loop() {
	defer close(e.done)
	defer e.end()
	committerDone := make(chan struct{})
	go e.committer(committerDone)
	defer func() {
		close(e.commits)
		<-committerDone
	}()
	// Wakes the loop for time-based checks (jobStateTimeLimitActions); nothing waits on it.
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case fn := <-e.events:
			fn()
		case b := <-e.committed:
			e.applyCommitted(b)
		case <-tick.C:
		case <-e.quit:
			e.shutdown()
			return
		}
	drain:
		for i := 0; i < 4096; i++ {
			select {
			case fn := <-e.events:
				fn()
			case b := <-e.committed:
				e.applyCommitted(b)
			default:
				break drain
			}
		}
		e.settle()
		e.applyTimeLimits()
		e.maybeSaveShareUsage()
		e.schedule()
		e.settle()
		// One batch in flight at a time: while it commits, changes accumulate into the next, so
		// batches grow with the load instead of queueing up behind the store.
		if !e.inFlight {
			e.takeDeferred(false)
			if b := e.buildBatch(); b != nil {
				e.inFlight = true
				e.commits <- b
			}
		}
	}
}

// shutdown kills running attempts; they are recorded as lost on the next start. Attempts whose
// executor lets them outlive the server are left running, for the next start to take back.
func (e *engine) shutdown() {
	e.saveShareUsage(e.sched.ShareUsages())
	for _, aj := range e.jobs {
		if outliving(e.s.executorFor(aj.rec.Run.ComputeEnv)) {
			continue
		}
		if a := aj.attempt; a != nil && a.proc != nil {
			a.proc.Signal(syscall.SIGKILL)
		}
	}
}

// submit hands a durable SUBMITTED job to the engine.
func (e *engine) submit(j *store.Job, rec *jobRecord) {
	e.do(func() { e.adopt(j, rec) }) // SubmitJob wrote the row
}

// makeRunnable moves a job into its queue's runnable set.
func (e *engine) makeRunnable(aj *activeJob) {
	d := &aj.rec.Detail
	if !e.sched.Enqueue(e.schedJob(aj, 1)) {
		e.fail(aj, reasonQueueGone)
		return
	}
	d.StatusReason = ""
	e.setStatus(aj, statusRunnable)
}

func (e *engine) schedJob(aj *activeJob, count int) sched.Job {
	d, run := &aj.rec.Detail, &aj.rec.Run
	// A job queued again after a restart keeps the time it became RUNNABLE, so its queue's
	// jobStateTimeLimitActions and the starvation clock run on instead of starting over.
	if !e.recovering || run.RunnableSince == 0 || (d.Status != statusRunnable && run.Array == nil) {
		run.RunnableSince = e.s.nowMillis()
	}
	return sched.Job{ID: aj.store.ID, Queue: d.JobQueue, Need: run.Need, Count: count,
		Share: d.ShareIdentifier, Priority: deref(d.SchedulingPriority), Since: time.UnixMilli(run.RunnableSince)}
}

// fail ends a job that is not running.
func (e *engine) fail(aj *activeJob, reason string) {
	d := &aj.rec.Detail
	e.sched.Dequeue(aj.store.ID)
	d.StatusReason = reason
	now := e.s.nowMillis()
	d.StoppedAt = &now
	e.setStatus(aj, statusFailed)
}

// setStatus is the one place a job's status changes: it keeps the array parent's counts and
// queues the consequences of reaching a terminal state.
func (e *engine) setStatus(aj *activeJob, st wire.JobStatus) {
	d := &aj.rec.Detail
	old := d.Status
	if old == st {
		return
	}
	d.Status = st
	mark := e.markDirty
	if st == statusRunning {
		mark = e.markDeferred
	}
	mark(aj)
	e.s.cfg.Metrics.JobTransition(aj.store.Account, aj.rec.Run.QueueName, string(st))
	e.publishStateChange(aj, old)
	if e.s.log.Enabled(context.Background(), slog.LevelDebug) {
		e.s.log.LogAttrs(context.Background(), slog.LevelDebug, "job", slog.String("id", aj.store.ID), slog.String("account", aj.store.Account),
			slog.String("queue", aj.rec.Run.QueueName), slog.String("from", string(old)), slog.String("to", string(st)),
			slog.String("reason", d.StatusReason))
	}
	if par := e.arrays[aj.store.ArrayParent]; par != nil && aj.store.ArrayParent != "" {
		a := par.rec.Run.Array
		if old != "" {
			a.Counts[old]--
		}
		a.Counts[st]++
		mark(par)
	}
	if terminal(st) {
		e.finished = append(e.finished, aj)
	}
}

// schedule asks the scheduler for placements and marks them STARTING.
func (e *engine) schedule() {
	res := e.sched.Schedule()
	for _, u := range res.Unschedulable {
		aj, ok := e.jobs[u.JobID]
		switch {
		case !ok:
		default:
			e.failWaiting(aj, "CannotPlaceJob: "+u.Reason)
		}
	}
	for _, p := range res.Placements {
		aj, ok := e.jobs[p.JobID]
		if ok && aj.rec.Run.Array != nil {
			// An instance of an array's waiting children: the next child comes into being.
			aj = e.materializeNext(aj)
			ok = aj != nil
		}
		if !ok {
			e.sched.Release(p.Running)
			continue
		}
		aj.runKey = p.Running
		d := &aj.rec.Detail
		run := &aj.rec.Run
		run.ComputeEnv = p.ComputeEnv
		run.TaskID = strings.ReplaceAll(uuid.NewString(), "-", "")
		d.StatusReason = ""
		e.setStatus(aj, statusStarting)
		c := d.Container
		c.ExitCode = nil
		c.Reason = ""
		c.LogStreamName = run.JobDefName + "/default/" + run.TaskID
		acct, region := e.s.scope(aj.store.Account)
		c.TaskArn = fmt.Sprintf("arn:aws:ecs:%s:%s:task/%s/%s", region, acct, ceName(p.ComputeEnv), run.TaskID)
		c.ContainerInstanceArn = fmt.Sprintf("arn:aws:ecs:%s:%s:container-instance/%s/%s", region, acct, ceName(p.ComputeEnv), e.s.cfg.Holder)
		aj.attempt = &attemptRun{gpus: e.gpus.take(p.ComputeEnv, int(p.Need.GPU)), placedAt: time.Now()}
		// The attempt is launched now, so that its executor prepares it (a sandbox, an image, a
		// Pod's spec) while STARTING is being committed; its command waits at the gate, which
		// opens once the batch holding STARTING is durable (applyCommitted) and fails if the
		// engine stops first (a fenced commit deposes it).
		g := newStartGate(e.ended)
		e.starts = append(e.starts, g)
		go e.run(aj.store.Account, aj.store.ID, e.attemptSpec(aj), g)
	}
}

func ceName(arn string) string { return arn[strings.LastIndexByte(arn, '/')+1:] }
