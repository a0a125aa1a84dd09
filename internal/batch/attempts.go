package batch

import (
	"context"
	"errors"
	"io"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/barge-run/barge/internal/account"
	wire "github.com/barge-run/barge/internal/awstypes/batch"
	bexec "github.com/barge-run/barge/internal/exec"
	"github.com/barge-run/barge/internal/logs"
	"github.com/barge-run/barge/internal/sigv4"
)

// The life of one attempt, from placement to its end: what it runs with, its process (run, off
// the loop), and what the loop records when it starts and ends (retries included).

// attemptRun is an attempt of a STARTING or RUNNING job.
type attemptRun struct {
	proc       bexec.Process
	timers     []Timer
	terminate  string // the user's reason, once TerminateJob was called
	timedOut   bool
	startedAt  int64
	killSignal bool
	gpus       []int // device indices held on the job's compute environment
	// placedAt is when the scheduler placed the attempt (wall time, for the phase metrics).
	placedAt time.Time
}

// attemptSpec is what the run goroutine needs, copied so it shares nothing with the loop.
type attemptSpec struct {
	exec    bexec.Spec
	attempt int
	stream  string
	timeout time.Duration
	role    string // the job's jobRoleArn, recorded with its credentials
	// computeEnv is the compute environment the attempt was placed on: where it runs.
	computeEnv string
	// placedAt is when the attempt was placed (zero when unknown), for the dispatch phase.
	placedAt time.Time
}

func (e *engine) attemptSpec(aj *activeJob) attemptSpec {
	d := &aj.rec.Detail
	n := len(d.Attempts) + 1
	_, region := e.s.scope(aj.store.Account)
	// PATH and HOME default in the executor, under an image's own.
	env := make([]string, 0, len(d.Container.Environment)+8)
	for _, kv := range d.Container.Environment {
		env = append(env, kv.Name+"="+kv.Value)
	}
	env = append(env,
		"AWS_BATCH_JOB_ID="+d.JobId,
		"AWS_BATCH_JQ_NAME="+aj.rec.Run.QueueName,
		"AWS_BATCH_CE_NAME="+ceName(aj.rec.Run.ComputeEnv),
		"AWS_BATCH_JOB_ATTEMPT="+strconv.Itoa(n),
		"AWS_REGION="+region,
		"AWS_DEFAULT_REGION="+region,
	)
	if d.ArrayProperties != nil && d.ArrayProperties.Index != nil {
		env = append(env, "AWS_BATCH_JOB_ARRAY_INDEX="+strconv.Itoa(int(*d.ArrayProperties.Index)))
	}
	if a := aj.attempt; a != nil && len(a.gpus) > 0 {
		env = append(env, "NVIDIA_VISIBLE_DEVICES="+visibleDevices(a.gpus))
	}
	sp := attemptSpec{
		exec: bexec.Spec{
			ID:        d.JobId + "#" + strconv.Itoa(n),
			Key:       attemptKey(d.JobId, n),
			GPUs:      int(aj.rec.Run.Need.GPU),
			Command:   append([]string(nil), d.Container.Command...),
			Env:       env,
			Image:     d.Container.Image,
			MilliVCPU: aj.rec.Run.Need.MilliVCPU,
			MemoryMiB: aj.rec.Run.Need.MemoryMiB,
			Tenant:    aj.store.Account,
		},
		attempt:    n,
		stream:     d.Container.LogStreamName,
		role:       d.Container.JobRoleArn,
		computeEnv: aj.rec.Run.ComputeEnv,
	}
	if a := aj.attempt; a != nil {
		sp.placedAt = a.placedAt
	}
	isolationSpec(d.Container, &sp.exec)
	if ep := aj.rec.Run.Entrypoint; ep != nil {
		sp.exec.Entrypoint = append([]string(nil), ep...)
	}
	if e := d.EksProperties; e != nil && e.PodProperties != nil && e.PodProperties.Metadata != nil {
		sp.exec.Labels, sp.exec.Annotations = e.PodProperties.Metadata.Labels, e.PodProperties.Metadata.Annotations
	}
	if e := d.EksProperties; e != nil && e.PodProperties != nil && e.PodProperties.HostNetwork != nil {
		sp.exec.Network = bexec.NetworkPrivate
		if *e.PodProperties.HostNetwork {
			sp.exec.Network = bexec.NetworkHost
		}
	}
	if d.Timeout != nil && d.Timeout.AttemptDurationSeconds != nil {
		sp.timeout = time.Duration(*d.Timeout.AttemptDurationSeconds) * time.Second
	}
	return sp
}

// errStartAborted is a gate's answer when the engine stopped before the attempt's STARTING was
// durable: the attempt must not run (the next engine recovers the job from the store).
var errStartAborted = errors.New("the engine stopped before the attempt's STARTING was durable")

// startGate holds an attempt's command (exec.Spec.Gate) until its STARTING is durable.
type startGate struct {
	opened   chan struct{}
	openedAt time.Time // set before opened closes
	done     <-chan struct{}
}

func newStartGate(done <-chan struct{}) *startGate {
	return &startGate{opened: make(chan struct{}), done: done}
}

// open lets the command run; only the loop calls it, once.
func (g *startGate) open() {
	g.openedAt = time.Now()
	close(g.opened)
}

// isOpen reports whether the gate has opened.
func (g *startGate) isOpen() bool {
	select {
	case <-g.opened:
		return true
	default:
		return false
	}
}

// wait is the gate as exec.Spec.Gate: nil once it opens, errStartAborted when the engine's loop
// ends first (shut down or deposed: the batch holding STARTING never becomes durable here).
func (g *startGate) wait(ctx context.Context) error {
	if g.isOpen() {
		return nil
	}
	select {
	case <-g.opened:
		return nil
	case <-g.done:
		if g.isOpen() { // opened before the loop ended
			return nil
		}
		return errStartAborted
	case <-ctx.Done():
		return ctx.Err()
	}
}

// run executes one attempt off the loop: working directory, log stream, process, wait. It is
// launched when the attempt is placed; the executor prepares it meanwhile, and execs its command
// only once gate opens (STARTING durable).
func (e *engine) run(account, id string, sp attemptSpec, gate *startGate) {
	m, begun := e.s.cfg.Metrics, time.Now()
	ctx := context.Background()
	sp.exec.Gate = gate.wait
	dir, startErr := "", error(nil)
	if len(sp.exec.Command) == 0 && (sp.exec.Image == "" || sp.exec.Image == "host") {
		startErr = errors.New("the job has no command and no image")
	} else {
		dir, startErr = e.dirs.take()
	}
	var proc bexec.Process
	called := false // the executor's Start was
	out := e.s.cfg.Logs.Lazy(account, LogGroup, sp.stream)
	stdout, stderr := out.Writer(), out.Writer()
	if startErr == nil {
		sp.exec.Dir = dir
		sp.exec.Stdout, sp.exec.Stderr = stdout, stderr
		// Credentials for this attempt alone, as ECS hands a task its role's: they die with it.
		if c := e.s.cfg.Credentials; c != nil {
			acct, _ := e.s.scope(account)
			cred := c.Mint(acct, sp.role)
			defer c.Revoke(cred.AccessKeyID)
			sp.exec.Env = callbackEnv(sp.exec.Env, cred, e.s.cfg.APIEndpoint)
		}
		proc, startErr = e.s.executorFor(sp.computeEnv).Start(ctx, sp.exec)
		called = true
	}
	// Nothing is reported before STARTING is durable, failures included (an executor that
	// failed early, or one that ignored the gate): if it never is, the attempt ends here.
	if err := gate.wait(ctx); err != nil {
		if proc != nil {
			proc.Signal(syscall.SIGKILL)
			proc.Wait()
		}
		if dir != "" {
			e.dirs.give(dir)
		}
		return
	}
	// dispatch: placed → STARTING durable; start: what of the executor's Start remained after
	// that (preparing ran meanwhile), i.e. durable → started.
	if !sp.placedAt.IsZero() {
		m.AttemptPhase("dispatch", gate.openedAt.Sub(sp.placedAt))
	}
	if called {
		m.AttemptPhase("start", time.Since(later(begun, gate.openedAt)))
	}
	if startErr == nil {
		out.Open()
	}
	// The loop may have stopped meanwhile: then nobody supervises the process, so kill it.
	delivered := make(chan struct{})
	e.do(func() { close(delivered); e.started(id, sp, proc, startErr) })
	select {
	case <-delivered:
	case <-e.done:
		select {
		case <-delivered:
		default:
			if proc != nil {
				proc.Signal(syscall.SIGKILL)
			}
		}
	}
	if startErr != nil {
		if dir != "" {
			e.dirs.give(dir)
		}
		return
	}
	e.supervise(id, sp.attempt, proc, out, stdout, stderr)
	// After reporting the exit, so cleaning up never delays the next job.
	e.dirs.give(dir)
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// supervise waits for a started (or taken back) attempt to end and reports how.
func (e *engine) supervise(id string, attempt int, proc bexec.Process, out *logs.Lazy, stdout, stderr io.Closer) {
	exit := proc.Wait()
	stdout.Close()
	stderr.Close()
	var lost string
	if le := out.Lost(); le != nil {
		// Not even the log could say so: the job's record does.
		lost = "OutputLost: " + le.Error()
		e.s.log.Warn("job output lost", "job", id, "attempt", attempt, "err", le)
	}
	exitedAt := time.Now()
	e.do(func() {
		e.s.cfg.Metrics.AttemptPhase("reap", time.Since(exitedAt))
		e.exited(id, attempt, exit, lost)
	})
}

// callbackEnv hands an attempt its credentials and barge's endpoint (account.Env).
func callbackEnv(env []string, cred sigv4.Credential, endpoint func() string) []string {
	ep := ""
	if endpoint != nil {
		ep = endpoint()
	}
	return account.Env(env, cred, ep)
}

func (e *engine) current(id string, attempt int) (*activeJob, bool) {
	aj, ok := e.jobs[id]
	if !ok || aj.attempt == nil || len(aj.rec.Detail.Attempts)+1 != attempt {
		return nil, false
	}
	return aj, true
}

func (e *engine) started(id string, sp attemptSpec, proc bexec.Process, startErr error) {
	aj, ok := e.current(id, sp.attempt)
	if !ok {
		if proc != nil {
			proc.Signal(syscall.SIGKILL)
		}
		return
	}
	if startErr != nil {
		e.finishAttempt(aj, attemptEnd{startErr: startErr})
		return
	}
	a := aj.attempt
	a.proc = proc
	if a.terminate != "" {
		e.kill(aj)
	}
	if st, ok := proc.(bexec.Starter); ok {
		select {
		case <-st.Started():
		default:
			// STARTING until its container runs (a Pod being scheduled, pulling its image).
			go func() {
				select {
				case <-st.Started():
					e.do(func() {
						if aj, ok := e.current(id, sp.attempt); ok && aj.attempt.proc == proc {
							e.running(aj, sp.attempt, sp.timeout)
						}
					})
				case <-e.done:
				}
			}()
			return
		}
	}
	e.running(aj, sp.attempt, sp.timeout)
}

// running records that an attempt's container runs: RUNNING, its start time, its timeout.
func (e *engine) running(aj *activeJob, attempt int, timeout time.Duration) {
	a := aj.attempt
	now := e.s.nowMillis()
	a.startedAt = now
	d := &aj.rec.Detail
	d.StartedAt = &now
	e.s.cfg.Metrics.JobStarted(aj.store.Account, aj.rec.Run.QueueName, time.Duration(now-deref(d.CreatedAt))*time.Millisecond)
	e.setStatus(aj, statusRunning)
	e.armTimeout(aj, attempt, timeout)
}

// armTimeout kills the attempt once timeout has passed (none when timeout <= 0).
func (e *engine) armTimeout(aj *activeJob, attempt int, timeout time.Duration) {
	if timeout <= 0 || aj.attempt.terminate != "" {
		return
	}
	id := aj.store.ID
	aj.attempt.timers = append(aj.attempt.timers, e.s.clock.AfterFunc(timeout, func() {
		e.do(func() {
			if aj, ok := e.current(id, attempt); ok && aj.attempt.proc != nil {
				aj.attempt.timedOut = true
				e.kill(aj)
			}
		})
	}))
}

// kill stops a running attempt through its executor: SIGTERM (or the backend's equivalent) now,
// SIGKILL after the grace period.
func (e *engine) kill(aj *activeJob) {
	a := aj.attempt
	if a.killSignal {
		return
	}
	a.killSignal = true
	a.proc.Stop(e.s.cfg.KillGrace)
}

func (e *engine) exited(id string, attempt int, exit bexec.Exit, outputLost string) {
	aj, ok := e.current(id, attempt)
	if !ok {
		return
	}
	e.finishAttempt(aj, attemptEnd{exit: exit, outputLost: outputLost})
}

// attemptEnd is how an attempt ended: a start failure, an exit, or lost with the server.
type attemptEnd struct {
	startErr error
	exit     bexec.Exit
	lost     bool
	host     string // where a lost attempt ran
	// outputLost says how much of the attempt's output could not be stored, when not even its
	// log could say so.
	outputLost string
}

// finishAttempt records the attempt and moves the job to SUCCEEDED, FAILED or (retry) RUNNABLE.
func (e *engine) finishAttempt(aj *activeJob, end attemptEnd) {
	a := aj.attempt
	aj.attempt = nil
	aj.endedAt = time.Now()
	for _, t := range a.timers {
		t.Stop()
	}
	if aj.runKey != "" {
		e.sched.Release(aj.runKey)
		aj.runKey = ""
	}
	e.gpus.give(aj.rec.Run.ComputeEnv, a.gpus)
	d := &aj.rec.Detail
	c := d.Container
	now := e.s.nowMillis()

	statusReason, exitCode := attemptOutcome(a, end, c)
	c.ExitCode = exitCode
	started := a.startedAt
	if started == 0 {
		started = now
	} else if !end.lost {
		e.s.cfg.Metrics.AttemptEnded(aj.store.Account, aj.rec.Run.QueueName, time.Duration(now-started)*time.Millisecond)
	}
	d.Attempts = append(d.Attempts, wire.AttemptDetail{
		Container: &wire.AttemptContainerDetail{
			ContainerInstanceArn: c.ContainerInstanceArn,
			TaskArn:              c.TaskArn,
			ExitCode:             exitCode,
			Reason:               c.Reason,
			LogStreamName:        c.LogStreamName,
		},
		StartedAt:    &started,
		StoppedAt:    &now,
		StatusReason: statusReason,
	})
	d.StatusReason = statusReason
	e.markDirty(aj)

	if exitCode != nil && *exitCode == 0 && a.terminate == "" && !a.timedOut {
		d.StoppedAt = &now
		e.setStatus(aj, statusSucceeded)
		return
	}
	if a.terminate == "" && e.shouldRetry(d, exitCode, c.Reason, statusReason) {
		e.makeRunnable(aj)
		d.StatusReason = statusReason
		return
	}
	d.StoppedAt = &now
	if a.terminate != "" {
		d.IsTerminated = ptr(true)
	}
	e.setStatus(aj, statusFailed)
}

// attemptOutcome is how an attempt ended in AWS's words: the job's status reason, the exit code
// (none when it did not run to an exit) and, set on c, the container's reason.
func attemptOutcome(a *attemptRun, end attemptEnd, c *wire.ContainerDetail) (string, *int32) {
	statusReason := reasonEssentialExited
	var exitCode *int32
	switch {
	case end.lost:
		statusReason, c.Reason = hostTerminated(end.host), reasonLost
	case end.startErr != nil:
		statusReason = "Task failed to start"
		c.Reason = "CannotStartContainerError: " + end.startErr.Error()
		if pe := (*bexec.PullError)(nil); errors.As(end.startErr, &pe) {
			c.Reason = "CannotPullContainerError: " + pe.Error()
		}
	case end.exit.Cause != bexec.CauseExited:
		statusReason, c.Reason = causeReasons(end.exit)
	default:
		code := int32(end.exit.Code)
		if end.exit.Signal != 0 {
			code = 128 + int32(end.exit.Signal)
		}
		exitCode = &code
		switch {
		case end.exit.OOM:
			c.Reason = "OutOfMemoryError: Container killed due to memory usage"
		case end.exit.Reason != "":
			c.Reason = end.exit.Reason
		case end.outputLost != "":
			c.Reason = end.outputLost
		}
		if a.timedOut {
			statusReason = reasonTimeout
		}
	}
	if a.terminate != "" {
		statusReason = a.terminate
	}
	return statusReason, exitCode
}

// shouldRetry applies the retry strategy: attempts left, and the first evaluateOnExit rule that
// matches decides (RETRY or EXIT); no matching rule means retry, as in AWS.
func (e *engine) shouldRetry(d *wire.JobDetail, exitCode *int32, reason, statusReason string) bool {
	rs := d.RetryStrategy
	if rs == nil || deref(rs.Attempts) <= int32(len(d.Attempts)) {
		return false
	}
	code := ""
	if exitCode != nil {
		code = strconv.Itoa(int(*exitCode))
	}
	for _, rule := range rs.EvaluateOnExit {
		if rule.OnExitCode != "" && (exitCode == nil || !globMatch(rule.OnExitCode, code)) {
			continue
		}
		if rule.OnReason != "" && !globMatch(rule.OnReason, reason) {
			continue
		}
		if rule.OnStatusReason != "" && !globMatch(rule.OnStatusReason, statusReason) {
			continue
		}
		return strings.EqualFold(string(rule.Action), "RETRY")
	}
	return true
}
