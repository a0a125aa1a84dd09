package batch

import (
	"context"
	"errors"
	"fmt"

	"github.com/barge-run/barge/internal/store"
)

// engineLease names the lease whose holder runs the engine (the scheduler and the dispatch):
// one server at a time, even with several on one database.
const engineLease = "batch-engine"

// acquireLease takes the engine's lease for this server and makes the engine write through the
// store fenced with it: once another server takes the lease over, this engine's writes fail
// (store.ErrFenced) and it stops, so a deposed engine never overwrites its successor's work.
func (e *engine) acquireLease(ctx context.Context) error {
	l, err := e.s.store.LeaseAcquire(ctx, engineLease, e.s.cfg.Holder, e.s.clock.Now(), e.s.cfg.LeaseTTL)
	if err != nil {
		return fmt.Errorf("the engine's lease: %w", err)
	}
	e.lease = l
	e.db = e.s.store.Fenced(*l)
	e.renewLease()
	return nil
}

// renewLease renews the lease a third of its time to live from now, and again after that,
// until the engine stops. Losing it to another holder deposes the engine.
func (e *engine) renewLease() {
	e.s.clock.AfterFunc(e.s.cfg.LeaseTTL/3, func() {
		select {
		case <-e.quit:
			return
		default:
		}
		l, err := e.s.store.LeaseAcquire(context.Background(), engineLease, e.s.cfg.Holder, e.s.clock.Now(), e.s.cfg.LeaseTTL)
		switch {
		case errors.Is(err, store.ErrLeaseHeld) || (err == nil && l.Generation != e.lease.Generation):
			e.depose(fmt.Errorf("another server took the engine's lease over: %w", store.ErrFenced))
			return
		case err != nil:
			// The fence keeps writes safe meanwhile; the next renewal may succeed.
			e.s.log.Warn("renewing the engine's lease failed", "err", err)
		}
		e.renewLease()
	})
}

// depose stops an engine that lost its lease: it schedules and writes nothing more, and its
// running attempts are stopped (the new holder recovers them from the store).
func (e *engine) depose(err error) {
	e.s.log.Error("this server no longer runs the engine", "err", err)
	e.stop()
}

// releaseLease gives the lease up after a clean stop, so another server can take over at once.
func (e *engine) releaseLease() {
	if e.lease != nil {
		if err := e.s.store.LeaseRelease(context.Background(), e.lease); err != nil {
			e.s.log.Warn("releasing the engine's lease failed", "err", err)
		}
	}
}
