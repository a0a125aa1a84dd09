package batch

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	bexec "github.com/barge-run/barge/internal/exec"
)

// Taking back, after a restart, the attempts that outlived the previous engine (an executor whose
// attempts are Pods), and naming how attempts ended in AWS's words.

// attemptKeyPrefix marks the attempts of batch jobs among an executor's, so an engine cleans up
// only its own orphans (function instances run on the same executor).
const attemptKeyPrefix = "bj-"

// attemptKey is the executor key of a job's nth attempt: a DNS label, the same on every server
// (a job id is a UUID; an array child's ":index" becomes "-index").
func attemptKey(jobID string, attempt int) string {
	return attemptKeyPrefix + strings.ReplaceAll(strings.ToLower(jobID), ":", "-") + "-" + strconv.Itoa(attempt)
}

// outliving reports whether ex's attempts survive the server that started them: then the engine
// leaves them running at shutdown, and takes them back at the next start.
func outliving(ex bexec.Executor) bool {
	o, ok := ex.(bexec.Outliving)
	return ok && o.AttemptsOutliveServer()
}

// survivors asks every executor which attempts it still runs: the keys of batch attempts, each
// with its executor. An executor that cannot answer is taken to run none: every attempt recorded
// as running there is lost, which the retry strategy handles, rather than a start that blocks on
// the executor.
func (e *engine) survivors(ctx context.Context) map[string]bexec.Executor {
	out := map[string]bexec.Executor{}
	for _, ex := range e.s.allExecutors() {
		keys, err := ex.List(ctx)
		if err != nil {
			e.s.log.Warn("list surviving attempts: recorded as lost", "executor", ex.Describe(), "err", err)
			continue
		}
		for _, k := range keys {
			if strings.HasPrefix(k, attemptKeyPrefix) {
				out[k] = ex
			}
		}
	}
	return out
}

// reattach takes back the running attempt of a STARTING or RUNNING job, or reports false when the
// executor no longer has it. Its capacity is held again, its timeout runs on from its start.
func (e *engine) reattach(ctx context.Context, aj *activeJob, alive map[string]bexec.Executor) bool {
	d, run := &aj.rec.Detail, &aj.rec.Run
	n := len(d.Attempts) + 1
	key := attemptKey(d.JobId, n)
	ex := alive[key]
	if ex == nil {
		return false
	}
	delete(alive, key)
	out := e.s.cfg.Logs.Lazy(aj.store.Account, LogGroup, d.Container.LogStreamName)
	stdout, stderr := out.Writer(), out.Writer()
	proc, err := ex.Attach(ctx, key, stdout, stderr)
	if err != nil {
		stdout.Close()
		stderr.Close()
		if !errors.Is(err, bexec.ErrNotFound) {
			e.s.log.Warn("take back attempt: recorded as lost", "job", d.JobId, "key", key, "err", err)
		}
		return false
	}
	out.Open()
	e.sched.Reserve(aj.store.ID, run.ComputeEnv, run.Need)
	aj.runKey = aj.store.ID
	aj.attempt = &attemptRun{proc: proc, terminate: run.Terminate, startedAt: deref(d.StartedAt),
		gpus: e.gpus.take(run.ComputeEnv, int(run.Need.GPU))}
	if d.Status == statusStarting {
		// It was placed but not yet seen running: it is now, as far as the engine can tell.
		e.running(aj, n, 0)
	}
	if d.Timeout != nil && d.Timeout.AttemptDurationSeconds != nil {
		limit := time.Duration(*d.Timeout.AttemptDurationSeconds) * time.Second
		ran := time.Duration(e.s.nowMillis()-deref(d.StartedAt)) * time.Millisecond
		e.armTimeout(aj, n, max(limit-ran, time.Millisecond))
	}
	if run.Terminate != "" {
		e.kill(aj)
	}
	id := aj.store.ID
	go e.supervise(id, n, proc, out, stdout, stderr)
	e.s.log.Info("took back a running attempt", "job", id, "attempt", n)
	return true
}

// stopOrphans stops the attempts the executor runs that no job records as running (a job that
// ended, or whose attempt was recorded as lost, while its attempt lived on).
func (e *engine) stopOrphans(ctx context.Context, orphans map[string]bexec.Executor) {
	for key, ex := range orphans {
		proc, err := ex.Attach(ctx, key, nil, nil)
		if err != nil {
			continue
		}
		e.s.log.Warn("stopping an attempt no job records as running", "key", key)
		proc.Stop(0)
		go proc.Wait()
	}
}

// hostTerminated is AWS's status reason for an attempt whose instance went away.
func hostTerminated(host string) string {
	if host == "" {
		host = "local"
	}
	return fmt.Sprintf("Host EC2 (instance %s) terminated.", host)
}

// causeReasons maps an executor's Exit.Cause to the job's status reason and the container's.
func causeReasons(x bexec.Exit) (status, container string) {
	detail := x.Reason
	switch x.Cause {
	case bexec.CausePullFailed:
		return "Task failed to start", "CannotPullContainerError: " + detail
	case bexec.CauseStartFailed:
		return "Task failed to start", "CannotStartContainerError: " + detail
	case bexec.CauseEvicted:
		if detail == "" {
			detail = "evicted"
		}
		return hostTerminated(x.Host), "Host terminated: " + detail
	case bexec.CauseHostLost:
		if detail == "" {
			detail = "the host stopped while the attempt was running"
		}
		return hostTerminated(x.Host), "Host terminated: " + detail
	}
	return reasonEssentialExited, detail
}
