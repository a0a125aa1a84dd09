package lambda

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/barge-run/barge/internal/fn"
	"github.com/barge-run/barge/internal/store"
)

// KindEvent is the store kind of a queued asynchronous invocation.
const KindEvent store.Kind = "lambda-event"

// Asynchronous invocation, as Lambda: an event is retried twice after a function error, and
// dropped once older than the maximum event age. barge retries after 1 s and 2 s (Lambda waits
// about one and two minutes), so failures surface quickly on a developer's machine.
const (
	maxAsyncPayload = 256 << 10
	asyncAttempts   = 3
	asyncFirstRetry = time.Second
	maxEventAge     = 6 * time.Hour
	asyncWorkers    = 16
)

// asyncEvent is one queued invocation, stored until it succeeds or fails for good.
type asyncEvent struct {
	Account   string    `json:"account"`
	Function  string    `json:"function"`
	Payload   []byte    `json:"payload"`
	Attempts  int       `json:"attempts"`
	Enqueued  time.Time `json:"enqueued"`
	NextAt    time.Time `json:"nextAt"`
	LastError string    `json:"lastError,omitempty"`
}

// asyncQueue runs queued events in the background. Events are claimed from the store (each
// claimed by one server for claimTTL), so no event runs twice at once, whichever server queued
// it or runs it.
type asyncQueue struct {
	wake  chan struct{}
	quit  chan struct{}
	done  chan struct{}
	slots chan struct{}
	wg    sync.WaitGroup
}

// claimTTL is how long a claimed event is this server's: longer than the longest invocation
// (900 s), so a claim never lapses under a running one.
const claimTTL = 16 * time.Minute

// asyncPoll is how often the worker looks for due events when nothing woke it.
const asyncPoll = 200 * time.Millisecond

// never is the visibility of an event that failed for good: kept in the store, never claimed.
var never = time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)

// Start runs the asynchronous invocation worker; events queued before a restart resume.
func (s *Service) Start() {
	s.async = &asyncQueue{wake: make(chan struct{}, 1), quit: make(chan struct{}), done: make(chan struct{}),
		slots: make(chan struct{}, asyncWorkers)}
	s.releaseClaims()
	go s.asyncLoop()
	go s.restoreProvisioned()
}

// releaseClaims frees the events this server had claimed before it stopped: the invocations
// died with it, and they are to run again now rather than when the claims lapse.
func (s *Service) releaseClaims() {
	ctx := context.Background()
	rs, err := s.cfg.Store.ResourceList(ctx, &store.ResourceListParams{AllAccounts: true, Kind: KindEvent, Status: "PENDING"})
	if err != nil {
		return
	}
	for _, r := range rs {
		if r.Owner == s.holder() && r.LeaseUntil.After(time.Now()) {
			r.Owner, r.LeaseUntil = "", time.Time{}
			s.cfg.Store.ResourceUpdate(ctx, r)
		}
	}
}

func (s *Service) holder() string {
	if s.cfg.Holder == "" {
		return "local"
	}
	return s.cfg.Holder
}

// Stop ends the worker and waits for invocations it started.
func (s *Service) Stop() {
	if s.async == nil {
		return
	}
	close(s.async.quit)
	<-s.async.done
	s.async.wg.Wait()
}

// enqueue stores an Event invocation durably and wakes the worker.
func (s *Service) enqueue(ctx context.Context, account, function string, payload []byte) (string, error) {
	if s.async == nil {
		return "", invalid("asynchronous invocation is not available")
	}
	if len(payload) > maxAsyncPayload {
		return "", userErr(http.StatusRequestEntityTooLarge, "RequestTooLargeException", "Request must be smaller than 262144 bytes for the InvokeAsync operation")
	}
	id := fn.RequestID(ctx)
	now := time.Now()
	ev := asyncEvent{Account: account, Function: function, Payload: payload, Enqueued: now, NextAt: now}
	body, _ := json.Marshal(ev)
	if err := s.cfg.Store.ResourceCreate(ctx, &store.Resource{Account: account, Kind: KindEvent, Name: id, Status: "PENDING", Body: body,
		CreatedAt: now, VisibleAt: now}); err != nil {
		return "", fmt.Errorf("queue event: %w", err)
	}
	select {
	case s.async.wake <- struct{}{}:
	default:
	}
	return id, nil
}

func (s *Service) asyncLoop() {
	q := s.async
	defer close(q.done)
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-q.quit:
			return
		case <-q.wake:
		case <-timer.C:
		}
		for s.dispatchDue() {
		}
		timer.Reset(asyncPoll)
	}
}

// dispatchDue claims due events for the free workers and starts them; it reports whether it
// filled every free worker (there may be more).
func (s *Service) dispatchDue() bool {
	q := s.async
	free := cap(q.slots) - len(q.slots)
	if free == 0 {
		return false
	}
	now := time.Now()
	rs, err := s.cfg.Store.ResourceClaim(context.Background(), &store.ClaimParams{Kind: KindEvent, Owner: s.holder(), Now: now,
		Until: now.Add(claimTTL), Limit: free})
	if err != nil {
		return false
	}
	for _, r := range rs {
		var ev asyncEvent
		if r.Status != "PENDING" || json.Unmarshal(r.Body, &ev) != nil {
			// Failed for good before claims existed, or unreadable: never again.
			r.Owner, r.LeaseUntil, r.VisibleAt = "", time.Time{}, never
			s.cfg.Store.ResourceUpdate(context.Background(), r)
			continue
		}
		q.slots <- struct{}{} // free: the claim took no more than the free slots
		q.wg.Add(1)
		go func(r *store.Resource, ev asyncEvent) {
			defer func() {
				<-q.slots
				q.wg.Done()
				select {
				case q.wake <- struct{}{}:
				default:
				}
			}()
			s.runEvent(r, ev)
		}(r, ev)
	}
	return len(rs) == free
}

// runEvent invokes one claimed event and records the outcome: deleted on success, rescheduled
// after a function error or throttle, FAILED once out of attempts or too old. Each write is
// conditional on the claim's version: if the claim lapsed and another server took the event,
// this one's outcome is dropped rather than written over the other's.
func (s *Service) runEvent(claim *store.Resource, ev asyncEvent) {
	ctx := context.Background()
	id := claim.Name
	save := func(status string, visible time.Time) {
		claim.Status, claim.Body, claim.Owner, claim.LeaseUntil, claim.VisibleAt = status, mustMarshal(ev), "", time.Time{}, visible
		if err := s.cfg.Store.ResourceUpdate(ctx, claim); errors.Is(err, store.ErrStale) {
			slog.Warn("an asynchronous event's claim lapsed while it ran", "event", id)
		}
	}
	attempts, maxAge := asyncAttempts, maxEventAge
	var onSuccess, onFailure string
	if name, _, err := s.functionName(ev.Account, ev.Function); err == nil {
		if cfg := s.eventConfig(ctx, ev.Account, name); cfg != nil {
			if cfg.MaximumRetryAttempts != nil {
				attempts = 1 + int(*cfg.MaximumRetryAttempts)
			}
			if cfg.MaximumEventAgeInSeconds != nil {
				maxAge = time.Duration(*cfg.MaximumEventAgeInSeconds) * time.Second
			}
			if d := cfg.DestinationConfig; d != nil {
				onSuccess, onFailure = destOf(d.OnSuccess), destOfFailure(d.OnFailure)
			}
		}
	}
	var res fn.Result
	fail := func(condition, reason string) {
		ev.LastError = reason
		save("FAILED", never)
		s.deliver(ctx, ev, id, condition, onFailure, http.StatusOK, res.ExecutedVersion, res.FunctionError, res.Payload)
		// ErrorCode as Lambda sets it on dead-letter messages: the HTTP status of the last
		// attempt's response (200 for a function error).
		s.deadLetter(ctx, ev, id, "200", reason)
	}
	if time.Since(ev.Enqueued) > maxAge {
		fail("EventAgeExceeded", "EventAgeExceeded")
		return
	}
	rec, err := s.get(ctx, ev.Account, ev.Function, "")
	if err != nil {
		fail("RetriesExhausted", "function not found")
		return
	}
	spec, throttled := s.spec(ev.Account, rec)
	if !throttled {
		// Every attempt at an event has the id its Invoke was answered with, as on Lambda.
		res, err = s.cfg.Pool.Invoke(fn.WithRequestID(ctx, id), spec, ev.Payload)
	}
	switch {
	case throttled || errors.Is(err, fn.ErrThrottled):
		// Throttled events wait in the queue; they do not use up attempts.
		ev.NextAt = time.Now().Add(asyncFirstRetry)
	case err == nil && res.FunctionError == "":
		ev.Attempts++
		s.cfg.Store.ResourceDeleteVersion(ctx, claim)
		s.deliver(ctx, ev, id, "Success", onSuccess, http.StatusOK, res.ExecutedVersion, "", res.Payload)
		return
	default:
		ev.Attempts++
		ev.LastError = string(res.Payload)
		if err != nil {
			ev.LastError = err.Error()
		}
		if ev.Attempts >= attempts {
			fail("RetriesExhausted", ev.LastError)
			return
		}
		ev.NextAt = time.Now().Add(asyncFirstRetry << (ev.Attempts - 1))
	}
	save("PENDING", ev.NextAt)
}

func mustMarshal(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}
