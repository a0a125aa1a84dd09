package lambda

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/barge-run/barge/internal/fn"
	"github.com/barge-run/barge/internal/store"
)

// KindConcurrencyShare is one concurrency limit's ledger (a function's reserved concurrency, an
// account's limit): how much of it each server holds, until when, and who waits for room.
const KindConcurrencyShare store.Kind = "function-concurrency-share"

// shareLedger is a KindConcurrencyShare body.
type shareLedger struct {
	Holders map[string]heldShare `json:"holders,omitempty"`
	// Waiting maps a server left short by a Grow to when it asked: holders give back what they
	// do not use at their next renewal.
	Waiting map[string]time.Time `json:"waiting,omitempty"`
}

type heldShare struct {
	N     int       `json:"n"`
	Until time.Time `json:"until"`
}

// Shares is fn.Shares on barge's store: each limit's ledger is one resource updated with its
// version (optimistic concurrency), so servers on one database never together hold more than
// the limit.
type Shares struct {
	store  store.Store
	holder string
	ttl    time.Duration
	now    func() time.Time
}

var _ fn.Shares = (*Shares)(nil)

// NewShares keeps holder's shares in st; a share not renewed for ttl (0: 15 s) is free again.
func NewShares(st store.Store, holder string, ttl time.Duration, now func() time.Time) *Shares {
	if ttl <= 0 {
		ttl = 15 * time.Second
	}
	if now == nil {
		now = time.Now
	}
	return &Shares{store: st, holder: holder, ttl: ttl, now: now}
}

// Grow implements fn.Shares.
func (s *Shares) Grow(ctx context.Context, account, key string, limit, want int) (int, error) {
	var got int
	err := s.update(ctx, account, key, func(l *shareLedger, now time.Time) {
		others := 0
		for h, held := range l.Holders {
			if h != s.holder {
				others += held.N
			}
		}
		got = max(min(want, limit-others), 0)
		l.Holders[s.holder] = heldShare{N: got, Until: now.Add(s.ttl)}
		if got < want {
			l.Waiting[s.holder] = now
		} else {
			delete(l.Waiting, s.holder)
		}
	})
	return got, err
}

// Renew implements fn.Shares.
func (s *Shares) Renew(ctx context.Context, account, key string, n int) (bool, error) {
	contended := false
	err := s.update(ctx, account, key, func(l *shareLedger, now time.Time) {
		if n <= 0 {
			delete(l.Holders, s.holder)
		} else {
			l.Holders[s.holder] = heldShare{N: n, Until: now.Add(s.ttl)}
		}
		for h := range l.Waiting {
			if h != s.holder {
				contended = true
			}
		}
	})
	return contended, err
}

// update applies change to key's ledger (expired shares and stale waiters dropped first) and
// writes it if no other server wrote it meanwhile, retrying otherwise.
func (s *Shares) update(ctx context.Context, account, key string, change func(*shareLedger, time.Time)) error {
	for range 16 {
		r, err := s.store.ResourceGet(ctx, account, KindConcurrencyShare, key, 0)
		fresh := errors.Is(err, store.ErrNotFound)
		if err != nil && !fresh {
			return fmt.Errorf("concurrency share %s: %w", key, err)
		}
		l := shareLedger{}
		if !fresh {
			json.Unmarshal(r.Body, &l)
		}
		if l.Holders == nil {
			l.Holders = map[string]heldShare{}
		}
		if l.Waiting == nil {
			l.Waiting = map[string]time.Time{}
		}
		now := s.now()
		for h, held := range l.Holders {
			if !held.Until.After(now) {
				delete(l.Holders, h)
			}
		}
		for h, at := range l.Waiting {
			if now.Sub(at) > s.ttl {
				delete(l.Waiting, h)
			}
		}
		change(&l, now)
		body, _ := json.Marshal(l)
		if fresh {
			err = s.store.ResourceCreate(ctx, &store.Resource{Account: account, Kind: KindConcurrencyShare, Name: key, Body: body, CreatedAt: now})
		} else {
			r.Body = body
			err = s.store.ResourceUpdate(ctx, r)
		}
		if errors.Is(err, store.ErrStale) || errors.Is(err, store.ErrConflict) {
			continue // another server wrote it: read again
		}
		if err != nil {
			return fmt.Errorf("concurrency share %s: %w", key, err)
		}
		return nil
	}
	return fmt.Errorf("concurrency share %s: too many concurrent writers", key)
}
