package asl

import (
	"context"
	"encoding/json"
	"math/rand/v2"
	"sync"
	"testing"
	"time"
)

// fakeClock is a virtual clock: Sleep advances time at once (recording the
// duration) and timers fire when time passes their deadline, so tests run
// waits, backoffs and timeouts without sleeping.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	sleeps []time.Duration
	timers map[*fakeTimer]bool
}

type fakeTimer struct {
	deadline time.Time
	cancel   context.CancelCauseFunc
	cause    error
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC), timers: map[*fakeTimer]bool{}}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	c.sleeps = append(c.sleeps, d)
	c.mu.Unlock()
	c.Advance(d)
	return ctx.Err()
}

// Advance moves time forward and fires the timers it passes.
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	if d > 0 {
		c.now = c.now.Add(d)
	}
	var due []*fakeTimer
	for t := range c.timers {
		if !t.deadline.After(c.now) {
			due = append(due, t)
			delete(c.timers, t)
		}
	}
	c.mu.Unlock()
	for _, t := range due {
		t.cancel(t.cause)
	}
}

func (c *fakeClock) WithTimeout(ctx context.Context, d time.Duration, cause error) (context.Context, context.CancelFunc) {
	cctx, cancel := context.WithCancelCause(ctx)
	t := &fakeTimer{cancel: cancel, cause: cause}
	c.mu.Lock()
	t.deadline = c.now.Add(d)
	c.timers[t] = true
	c.mu.Unlock()
	c.Advance(0)
	return cctx, func() {
		c.mu.Lock()
		delete(c.timers, t)
		c.mu.Unlock()
		cancel(context.Canceled)
	}
}

func (c *fakeClock) Sleeps() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]time.Duration{}, c.sleeps...)
}

// fakeTasks runs Task resources with test functions keyed by resource ARN
// and records every request.
type fakeTasks struct {
	mu    sync.Mutex
	fns   map[string]func(ctx context.Context, req TaskRequest) (json.RawMessage, error)
	calls []TaskRequest
}

func (f *fakeTasks) Run(ctx context.Context, req TaskRequest) (json.RawMessage, error) {
	f.mu.Lock()
	f.calls = append(f.calls, req)
	fn := f.fns[req.Resource.ARN]
	f.mu.Unlock()
	if fn == nil {
		return req.Input, nil // echo
	}
	return fn(ctx, req)
}

func (f *fakeTasks) Calls() []TaskRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]TaskRequest{}, f.calls...)
}

// memSink keeps the history in memory.
type memSink struct {
	mu     sync.Mutex
	events []HistoryEvent
}

func (s *memSink) Record(ev HistoryEvent) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.events = append(s.events, ev)
}

func (s *memSink) Events() []HistoryEvent {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]HistoryEvent{}, s.events...)
}

func (s *memSink) Types() []string {
	var out []string
	for _, e := range s.Events() {
		out = append(out, e.Type)
	}
	return out
}

// harness runs definitions against fakes.
type harness struct {
	clock *fakeClock
	tasks *fakeTasks
	sink  *memSink
	cfg   Config
}

func newHarness() *harness {
	h := &harness{clock: newFakeClock(), tasks: &fakeTasks{fns: map[string]func(context.Context, TaskRequest) (json.RawMessage, error){}}, sink: &memSink{}}
	h.cfg = Config{Tasks: h.tasks, Clock: h.clock, Events: h.sink, Rand: rand.NewPCG(1, 2)}
	return h
}

func (h *harness) on(arn string, fn func(ctx context.Context, req TaskRequest) (json.RawMessage, error)) {
	h.tasks.fns[arn] = fn
}

var testExec = Execution{
	ARN:             "arn:aws:states:us-east-1:000000000000:execution:sm:ex1",
	Name:            "ex1",
	RoleARN:         "arn:aws:iam::000000000000:role/r",
	StateMachineARN: "arn:aws:states:us-east-1:000000000000:stateMachine:sm", StateMachineName: "sm",
}

func (h *harness) run(t *testing.T, def, input string) Result {
	t.Helper()
	d, err := Parse(def)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return New(d, h.cfg).Start(context.Background(), testExec, json.RawMessage(input))
}

// mustRun runs and requires success, returning the output.
func (h *harness) mustRun(t *testing.T, def, input string) string {
	t.Helper()
	res := h.run(t, def, input)
	if res.Status != StatusSucceeded {
		t.Fatalf("status %s: %s: %s", res.Status, res.Error, res.Cause)
	}
	return string(res.Output)
}

// jsonEq compares two JSON texts structurally.
func jsonEq(t *testing.T, got, want string) {
	t.Helper()
	g, err1 := decodeJSON([]byte(got))
	w, err2 := decodeJSON([]byte(want))
	if err1 != nil || err2 != nil || !jsonEqual(g, w) {
		t.Errorf("got %s\nwant %s", got, want)
	}
}
