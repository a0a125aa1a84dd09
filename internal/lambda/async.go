package lambda

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
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

// asyncQueue runs queued events in the background.
type asyncQueue struct {
	wake     chan struct{}
	quit     chan struct{}
	done     chan struct{}
	mu       sync.Mutex
	inFlight map[string]bool
	slots    chan struct{}
	wg       sync.WaitGroup
}

// Start runs the asynchronous invocation worker; events queued before a restart resume.
func (s *Service) Start() {
	s.async = &asyncQueue{wake: make(chan struct{}, 1), quit: make(chan struct{}), done: make(chan struct{}),
		inFlight: map[string]bool{}, slots: make(chan struct{}, asyncWorkers)}
	go s.asyncLoop()
	go s.restoreProvisioned()
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
	if err := s.cfg.Store.ResourceCreate(ctx, &store.Resource{Account: account, Kind: KindEvent, Name: id, Status: "PENDING", Body: body, CreatedAt: now}); err != nil {
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
		next := s.dispatchDue()
		timer.Reset(max(time.Until(next), 10*time.Millisecond))
	}
}

// dispatchDue starts every due event not already running and returns when the next one is due.
func (s *Service) dispatchDue() time.Time {
	q := s.async
	next := time.Now().Add(time.Second)
	rs, err := s.cfg.Store.ResourceList(context.Background(), &store.ResourceListParams{AllAccounts: true, Kind: KindEvent, Status: "PENDING"})
	if err != nil {
		return next
	}
	for _, r := range rs {
		var ev asyncEvent
		if json.Unmarshal(r.Body, &ev) != nil {
			continue
		}
		if ev.NextAt.After(time.Now()) {
			if ev.NextAt.Before(next) {
				next = ev.NextAt
			}
			continue
		}
		q.mu.Lock()
		busy := q.inFlight[r.Name]
		if !busy {
			q.inFlight[r.Name] = true
		}
		q.mu.Unlock()
		if busy {
			continue
		}
		select {
		case q.slots <- struct{}{}:
		case <-q.quit:
			return next
		}
		q.wg.Add(1)
		go func(id string, ev asyncEvent) {
			defer func() {
				<-q.slots
				q.mu.Lock()
				delete(q.inFlight, id)
				q.mu.Unlock()
				q.wg.Done()
				select {
				case q.wake <- struct{}{}:
				default:
				}
			}()
			s.runEvent(id, ev)
		}(r.Name, ev)
	}
	return next
}

// runEvent invokes one queued event and records the outcome: deleted on success, rescheduled
// after a function error or throttle, FAILED once out of attempts or too old.
func (s *Service) runEvent(id string, ev asyncEvent) {
	ctx := context.Background()
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
		body, _ := json.Marshal(ev)
		s.cfg.Store.ResourceUpdate(ctx, &store.Resource{Account: ev.Account, Kind: KindEvent, Name: id, Status: "FAILED", Body: body})
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
		s.cfg.Store.ResourceDelete(ctx, ev.Account, KindEvent, id, 0)
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
	body, _ := json.Marshal(ev)
	s.cfg.Store.ResourceUpdate(ctx, &store.Resource{Account: ev.Account, Kind: KindEvent, Name: id, Status: "PENDING", Body: body})
}
