package batch

// How the engine's changes become durable: the loop batches what changed into one transaction
// at a time, a committer writes it off the loop, and what waited on it (attempts' start gates,
// callers' answers) is released once it is.

import (
	"context"
	"errors"
	"time"

	wire "github.com/barge-run/barge/internal/awstypes/batch"
	"github.com/barge-run/barge/internal/store"
)

// commitBatch is one transaction's worth of job changes and what waits on them.
type commitBatch struct {
	inserts, updates []*store.Job // copies, so the loop may change the jobs meanwhile
	jobs             []*activeJob
	starts           []*startGate
	replies          []func()
}

// committer writes batches to the store in order, off the loop, retrying until each succeeds:
// while one batch commits the loop goes on building the next, so the store's latency bounds
// nothing but how soon effects are released.
func (e *engine) committer(done chan struct{}) {
	defer close(done)
	ctx := context.Background()
	for b := range e.commits {
		for delay := 10 * time.Millisecond; ; delay = min(2*delay, 5*time.Second) {
			begin := time.Now()
			err := e.db.JobWriteMany(ctx, b.inserts, b.updates)
			if err == nil {
				e.s.cfg.Metrics.StoreCommit(time.Since(begin))
				break
			}
			if errors.Is(err, store.ErrFenced) {
				e.depose(err)
				return // nothing of this batch is written, nor will be
			}
			e.s.log.Error("persist job states (will retry)", "err", err)
			select {
			case <-time.After(delay):
			case <-e.quit:
				return // shutting down: the next start recovers from what is durable
			}
		}
		e.committed <- b
	}
}

// flush makes the current changes durable synchronously (used at start, before the loop runs).
func (e *engine) flush(ctx context.Context) error {
	e.takeDeferred(true)
	b := e.buildBatch()
	if b == nil {
		return nil
	}
	if err := e.db.JobWriteMany(ctx, b.inserts, b.updates); err != nil {
		return err
	}
	e.applyCommitted(b)
	return nil
}

// buildBatch snapshots the changed jobs, with the launches and replies that must wait for them.
func (e *engine) buildBatch() *commitBatch {
	if len(e.dirty) == 0 && len(e.starts) == 0 && len(e.replies) == 0 {
		return nil
	}
	b := &commitBatch{starts: e.starts, replies: e.replies}
	e.starts, e.replies = nil, nil
	now := e.s.nowMillis()
	for _, aj := range e.dirty {
		if a := aj.rec.Run.Array; a != nil {
			aj.rec.Detail.ArrayProperties = &wire.ArrayPropertiesDetail{
				Size: ptr(int32(a.Size)), StatusSummary: a.summary(), StatusSummaryLastUpdatedAt: &now}
		}
		aj.store.Status = string(aj.rec.Detail.Status)
		aj.store.Body = mustJSON(aj.rec)
		row := *aj.store
		if aj.isNew {
			b.inserts = append(b.inserts, &row)
			aj.isNew = false // later batches update the row this one inserts
		} else {
			b.updates = append(b.updates, &row)
		}
		b.jobs = append(b.jobs, aj)
		aj.lastBatch = b
	}
	clear(e.dirty)
	return b
}

// applyCommitted releases what waited for a batch to be durable: attempts start, callers get
// their answers, and finished jobs leave memory unless changed again since.
func (e *engine) applyCommitted(b *commitBatch) {
	e.inFlight = false
	for _, aj := range b.jobs {
		aj.stored = true
		if !aj.endedAt.IsZero() && aj.lastBatch == b {
			e.s.cfg.Metrics.AttemptPhase("commit", time.Since(aj.endedAt))
			aj.endedAt = time.Time{}
		}
		if aj.lastBatch == b && terminal(aj.rec.Detail.Status) && e.dirty[aj.store.ID] == nil && e.deferred[aj.store.ID] == nil &&
			e.jobs[aj.store.ID] == aj {
			delete(e.jobs, aj.store.ID)
		}
	}
	for _, g := range b.starts {
		g.open()
	}
	for _, reply := range b.replies {
		reply()
	}
}

func (e *engine) markDirty(aj *activeJob) {
	e.dirty[aj.store.ID] = aj
	delete(e.deferred, aj.store.ID)
}

// runningCommitDelay bounds how long a deferred change waits for a batch to ride with.
const runningCommitDelay = 100 * time.Millisecond

// markDeferred records a change that needs no commit of its own: nothing waits on it being
// durable, and a restart from the state before it is correct (a job RUNNING that the store still
// has STARTING is taken back, or recorded as lost, the same way). It is written with the next
// batch — for a short job, usually the one holding its end — or after runningCommitDelay. At a
// few jobs at a time that is one commit per job instead of two; DescribeJobs shows RUNNING once
// it is written.
func (e *engine) markDeferred(aj *activeJob) {
	id := aj.store.ID
	if e.dirty[id] != nil || e.deferred[id] != nil {
		return
	}
	if len(e.deferred) == 0 {
		e.deferredSince = time.Now()
		// Real time, not the service's clock: this is the store's pace, not a job's timing.
		time.AfterFunc(runningCommitDelay, func() { e.do(func() {}) })
	}
	e.deferred[id] = aj
}

// takeDeferred moves the deferred changes into the next batch when one is being built anyway
// (or all, when all is set), or when they have waited runningCommitDelay.
func (e *engine) takeDeferred(all bool) {
	if len(e.deferred) == 0 {
		return
	}
	pending := len(e.dirty) > 0 || len(e.starts) > 0 || len(e.replies) > 0
	if !all && !pending && time.Since(e.deferredSince) < runningCommitDelay {
		return
	}
	for id, aj := range e.deferred {
		e.dirty[id] = aj
	}
	clear(e.deferred)
}
