package batch

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/barge-run/barge/internal/sched"
	"github.com/barge-run/barge/internal/store"
)

// shareUsageEvery is how often the fair-share usage is saved: a crash loses at most this much
// of the usage history, a small part of any decay window worth configuring.
const shareUsageEvery = 10 * time.Second

// usageSaver writes the scheduler's fair-share usage off the loop, newest snapshot last.
type usageSaver struct {
	mu      sync.Mutex
	savedAt time.Time
	next    time.Time
	busy    bool
	empty   bool // the last saved snapshot had no usage
}

func (e *engine) restoreShareUsage(ctx context.Context) error {
	r, err := e.s.store.ResourceGet(ctx, "", store.KindShareUsage, "scheduler", 0)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("fair-share usage: %w", err)
	}
	var us []sched.ShareUsage
	if err := json.Unmarshal(r.Body, &us); err != nil {
		e.s.log.Warn("ignoring unreadable fair-share usage", "err", err)
		return nil
	}
	e.sched.RestoreShareUsages(us)
	return nil
}

// maybeSaveShareUsage saves a snapshot every shareUsageEvery, in the background.
func (e *engine) maybeSaveShareUsage() {
	now := e.s.clock.Now()
	u := &e.usage
	u.mu.Lock()
	due := !u.busy && !now.Before(u.next)
	if due {
		u.busy, u.next = true, now.Add(shareUsageEvery)
	}
	u.mu.Unlock()
	if !due {
		return
	}
	us := e.sched.ShareUsages()
	go func() {
		e.saveShareUsage(us)
		u.mu.Lock()
		u.busy = false
		u.mu.Unlock()
	}()
}

// saveShareUsage writes a snapshot unless a newer one was written already.
func (e *engine) saveShareUsage(us []sched.ShareUsage) {
	u := &e.usage
	u.mu.Lock()
	defer u.mu.Unlock()
	if len(us) == 0 && (u.empty || u.savedAt.IsZero()) {
		return // nothing to keep, and nothing stale to overwrite
	}
	at := e.s.clock.Now()
	if len(us) > 0 {
		at = us[0].At
	}
	if at.Before(u.savedAt) {
		return
	}
	ctx := context.Background()
	r := &store.Resource{Kind: store.KindShareUsage, Name: "scheduler", Body: mustJSON(us), CreatedAt: at}
	err := e.db.ResourceUpdate(ctx, r)
	if errors.Is(err, store.ErrNotFound) {
		err = e.db.ResourceCreate(ctx, r)
	}
	if err != nil {
		e.s.log.Warn("saving fair-share usage", "err", err)
		return
	}
	u.savedAt, u.empty = at, len(us) == 0
}
