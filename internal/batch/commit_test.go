package batch

import (
	"testing"
	"time"

	"github.com/barge-run/barge/internal/store"
)

// TestDeferredChangesRideWithTheNextBatch: a deferred change (RUNNING) is not a batch of its
// own; it joins the next batch built for anything else, or goes alone once it has waited
// runningCommitDelay; a change that must be durable supersedes it.
func TestDeferredChangesRideWithTheNextBatch(t *testing.T) {
	job := func(id string) *activeJob { return &activeJob{store: &store.Job{ID: id}, rec: &jobRecord{}} }
	newEngine := func() *engine {
		// Not started (active unset): the wake-up markDeferred arms does nothing.
		return &engine{s: &Service{clock: realClock{}}, dirty: map[string]*activeJob{}, deferred: map[string]*activeJob{}}
	}

	t.Run("alone, young: no batch", func(t *testing.T) {
		e := newEngine()
		e.markDeferred(job("a"))
		e.takeDeferred(false)
		if b := e.buildBatch(); b != nil {
			t.Fatalf("a batch of %d jobs for a deferred change alone", len(b.jobs))
		}
	})
	t.Run("with another change: one batch with both", func(t *testing.T) {
		e := newEngine()
		e.markDeferred(job("a"))
		e.markDirty(job("b"))
		e.takeDeferred(false)
		b := e.buildBatch()
		if b == nil || len(b.jobs) != 2 || len(e.deferred) != 0 {
			t.Fatalf("batch %+v, deferred left %d; want both jobs in one batch", b, len(e.deferred))
		}
	})
	t.Run("alone, old enough: its own batch", func(t *testing.T) {
		e := newEngine()
		e.markDeferred(job("a"))
		e.deferredSince = time.Now().Add(-runningCommitDelay)
		e.takeDeferred(false)
		if b := e.buildBatch(); b == nil || len(b.jobs) != 1 {
			t.Fatalf("batch %+v; want the deferred job written once it waited %v", b, runningCommitDelay)
		}
	})
	t.Run("a durable change supersedes it", func(t *testing.T) {
		e := newEngine()
		a := job("a")
		e.markDeferred(a)
		e.markDirty(a)
		e.markDeferred(a) // RUNNING after an undurable change: stays in the batch to come
		if len(e.deferred) != 0 || e.dirty["a"] != a {
			t.Fatalf("dirty %v deferred %v; want the job dirty only", e.dirty, e.deferred)
		}
	})
	t.Run("flush takes everything", func(t *testing.T) {
		e := newEngine()
		e.markDeferred(job("a"))
		e.takeDeferred(true)
		if b := e.buildBatch(); b == nil || len(b.jobs) != 1 {
			t.Fatalf("batch %+v; want the deferred job", b)
		}
	})
}
