package batch

import (
	"context"
)

// Stopping jobs (CancelJob, TerminateJob, a queue's deletion), on the loop.

// stopJobByID cancels or terminates an unfinished job. found is false when the job is not unfinished
// (finished already, or unknown); the caller tells those apart.
func (e *engine) stopJobByID(ctx context.Context, account, id, reason string, terminate bool) (found bool, err error) {
	err = e.call(ctx, func() error {
		aj, ok := e.jobs[id]
		if !ok || aj.store.Account != account {
			found = e.stopVirtualChild(account, id, reason, terminate)
			return nil
		}
		found = true
		e.stopJob(aj, reason, terminate)
		return nil
	})
	return found, err
}

func (e *engine) stopJob(aj *activeJob, reason string, terminate bool) {
	d := &aj.rec.Detail
	if aj.rec.Run.Array != nil {
		e.stopArray(aj, reason, terminate)
		return
	}
	switch d.Status {
	case statusSubmitted, statusPending, statusRunnable:
		if terminate {
			d.IsTerminated = ptr(true)
		} else {
			d.IsCancelled = ptr(true)
		}
		e.fail(aj, reason)
	case statusStarting, statusRunning:
		if !terminate {
			return // as in AWS: CancelJob leaves started jobs alone
		}
		a := aj.attempt
		if a == nil || a.terminate != "" {
			return
		}
		a.terminate = reason
		aj.rec.Run.Terminate = reason
		e.markDirty(aj) // durable before TerminateJob is answered
		if a.proc != nil {
			e.kill(aj)
		}
	}
}

// terminateQueue terminates every unfinished job of a queue (the queue is being deleted).
func (e *engine) terminateQueue(ctx context.Context, account, queueARN, reason string) error {
	return e.call(ctx, func() error {
		for _, aj := range e.jobs {
			if aj.store.Account == account && aj.rec.Detail.JobQueue == queueARN && aj.store.ArrayParent == "" {
				e.stopJob(aj, reason, true)
			}
		}
		return nil
	})
}
