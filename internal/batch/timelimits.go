package batch

import (
	"fmt"
	"time"

	"github.com/barge-run/barge/internal/sched"
)

// Reasons a RUNNABLE job can be blocked for, as AWS names them in jobStateTimeLimitActions.
const (
	blockedCapacity    = "CAPACITY:INSUFFICIENT_INSTANCE_CAPACITY"
	blockedMaxResource = "MISCONFIGURATION:COMPUTE_ENVIRONMENT_MAX_RESOURCE"
	blockedRequirement = "MISCONFIGURATION:JOB_RESOURCE_REQUIREMENT"
)

func newScheduler(c Clock) *sched.Scheduler {
	s := sched.New()
	s.SetClock(c.Now)
	return s
}

// applyTimeLimits cancels jobs that stayed RUNNABLE longer than an action of their queue allows
// for the reason they are blocked. Checked at most once a second of the service clock.
func (e *engine) applyTimeLimits() {
	if len(e.limits) == 0 {
		return
	}
	now := e.s.clock.Now()
	if now.Before(e.nextLimitCheck) {
		return
	}
	e.nextLimitCheck = now.Add(time.Second)
	nowMs := now.UnixMilli()
	for _, aj := range e.jobs {
		d := &aj.rec.Detail
		actions := e.limits[d.JobQueue]
		if len(actions) == 0 {
			continue
		}
		virtual := aj.rec.Run.Array != nil && aj.rec.Run.Array.VirtualStatus == statusRunnable
		if d.Status != statusRunnable && !virtual {
			continue
		}
		blocked := e.blockedReason(aj)
		waited := nowMs - aj.rec.Run.RunnableSince
		for _, a := range actions {
			if a.Reason != blocked || waited < int64(deref(a.MaxTimeSeconds))*1000 {
				continue
			}
			reason := fmt.Sprintf("Cancelled by jobStateTimeLimitActions: RUNNABLE for more than %d seconds (%s)", deref(a.MaxTimeSeconds), blocked)
			if virtual {
				e.failVirtual(aj, reason)
				e.checkArrayDone(aj)
			} else {
				d.IsCancelled = ptr(true)
				e.fail(aj, reason)
			}
			break
		}
	}
}

// blockedReason says why a RUNNABLE job is not running, in AWS's words: it could fit one of its
// queue's compute environments but they are busy, or it could never fit.
func (e *engine) blockedReason(aj *activeJob) string {
	switch e.sched.CouldEverFit(aj.rec.Detail.JobQueue, aj.rec.Run.Need) {
	case sched.FitNever:
		return blockedMaxResource
	case sched.FitNoComputeEnv:
		return blockedRequirement
	}
	return blockedCapacity
}
