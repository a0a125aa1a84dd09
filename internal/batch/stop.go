package batch

import (
	"context"
	"errors"

	"github.com/barge-run/barge/internal/awserr"
	wire "github.com/barge-run/barge/internal/awstypes/batch"
)

// CancelJob implements the AWS Batch operation: jobs not yet STARTING fail with the reason;
// later ones are left alone (terminate them instead), and the call still succeeds, as in AWS.
func (s *Service) CancelJob(ctx context.Context, account string, in *wire.CancelJobRequest) (*wire.CancelJobResponse, error) {
	if err := s.stopJob(ctx, account, in.JobId, in.Reason, false); err != nil {
		return nil, err
	}
	return &wire.CancelJobResponse{}, nil
}

// TerminateJob implements the AWS Batch operation: a running attempt is killed (SIGTERM, then
// SIGKILL after the grace period) and the job fails without retry; earlier jobs are cancelled.
func (s *Service) TerminateJob(ctx context.Context, account string, in *wire.TerminateJobRequest) (*wire.TerminateJobResponse, error) {
	if err := s.stopJob(ctx, account, in.JobId, in.Reason, true); err != nil {
		return nil, err
	}
	return &wire.TerminateJobResponse{}, nil
}

func (s *Service) stopJob(ctx context.Context, account, ref, reason string, terminate bool) error {
	if ref == "" {
		return awserr.Client("jobId is required")
	}
	if reason == "" {
		return awserr.Client("reason is required")
	}
	id, err := s.parseJobRef(account, "jobId", ref)
	if err != nil {
		return err
	}
	intent, err := s.recordIntent(ctx, account, id, reason, terminate)
	if err != nil {
		return err
	}
	found, err := s.eng().stopJobByID(ctx, account, id, reason, terminate)
	if err != nil {
		if errors.Is(err, errEngineElsewhere) || s.eng().stopped() {
			return nil // stored: the engine applies it where it runs (recover or poll)
		}
		return err
	}
	s.store.ResourceDelete(ctx, account, KindJobIntent, intent.Name, 0)
	if found {
		return nil
	}
	// Not active: either finished (nothing to do, as AWS) or unknown. A finished array's
	// children that never ran have no rows; they exist as its indices.
	lookup := []string{id}
	parentID, idx, isChild := splitChildID(id)
	if isChild {
		lookup = append(lookup, parentID)
	}
	jobs, err := s.store.JobGetMany(ctx, account, lookup)
	if err != nil {
		return s.storeErr(err, "")
	}
	for _, j := range jobs {
		if j.ID == id {
			return nil
		}
		if rec, err := decodeJob(j); err == nil && rec.Run.Array != nil && idx < rec.Run.Array.Size {
			return nil
		}
	}
	// AWS answers 200 for an id it does not know, as for a finished job: nothing to stop.
	return nil
}

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

// stopQueueJobs terminates every unfinished job of a queue (the queue is being deleted), on the loop.
func (e *engine) stopQueueJobs(account, queueARN, reason string) {
	for _, aj := range e.jobs {
		if aj.store.Account == account && aj.rec.Detail.JobQueue == queueARN && aj.store.ArrayParent == "" {
			e.stopJob(aj, reason, true)
		}
	}
}

// terminateQueue terminates every unfinished job of a queue being deleted: recorded first, so the
// engine applies it wherever it runs; applied here, durably, when it runs here.
func (s *Service) terminateQueue(ctx context.Context, account, queueARN, reason string) error {
	intent, err := s.record(ctx, account, "queue/"+ceName(queueARN), jobIntent{Queue: queueARN, Reason: reason})
	if err != nil {
		return err
	}
	err = s.eng().call(ctx, func() error { s.eng().stopQueueJobs(account, queueARN, reason); return nil })
	switch {
	case err == nil:
		s.store.ResourceDelete(ctx, account, KindJobIntent, intent.Name, 0)
	case errors.Is(err, errEngineElsewhere) || s.eng().stopped():
	default:
		return err
	}
	return nil
}
