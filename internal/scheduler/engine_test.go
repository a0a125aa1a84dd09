package scheduler

import (
	"context"
	"math/rand/v2"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/barge-run/barge/internal/awstypes"
	sc "github.com/barge-run/barge/internal/awstypes/scheduler"
	sw "github.com/barge-run/barge/internal/awstypes/sqs"
	"github.com/barge-run/barge/internal/sqs"
	"github.com/barge-run/barge/internal/store/sqlite"
)

const scope = "000000000000"

// clock is a fake clock the tests move by hand.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// harness is a scheduler on a real SQLite store delivering to a real SQS service, with engines
// for two servers on one clock.
type harness struct {
	t       *testing.T
	clock   *clock
	queues  *sqs.Service
	svc     *Service
	engines []*Engine
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "barge.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	h := &harness{t: t, clock: &clock{t: time.Date(2026, 3, 7, 11, 58, 30, 0, time.UTC)}}
	h.queues = sqs.New(sqs.Config{Store: st, Region: "us-east-1"})
	d := &Delivery{Queues: h.queues, Region: "us-east-1"}
	for _, name := range []string{"a", "b"} {
		e := NewEngine(EngineConfig{Store: st, Holder: name, Now: h.clock.Now})
		h.engines = append(h.engines, e)
		s := New(Config{Store: st, Engine: e, Delivery: d, Region: "us-east-1", Rand: rand.New(rand.NewPCG(1, 2))})
		if h.svc == nil {
			h.svc = s
		}
	}
	for _, q := range []string{"out", "dlq"} {
		if _, err := h.queues.CreateQueue(context.Background(), scope, &sw.CreateQueueRequest{QueueName: q}); err != nil {
			t.Fatal(err)
		}
	}
	return h
}

// run moves the clock by d and runs both engines; it returns how many items they fired.
func (h *harness) run(d time.Duration) int {
	h.clock.Add(d)
	return h.engines[0].RunDue(context.Background()) + h.engines[1].RunDue(context.Background())
}

// drain receives every message of queue q.
func (h *harness) drain(q string) []sw.Message {
	var out []sw.Message
	for {
		ten := int32(10)
		got, err := h.queues.ReceiveMessage(context.Background(), scope, &sw.ReceiveMessageRequest{QueueUrl: "/" + scope + "/" + q,
			MaxNumberOfMessages: &ten, MessageAttributeNames: []string{"All"}})
		if err != nil {
			h.t.Fatal(err)
		}
		if len(got.Messages) == 0 {
			return out
		}
		out = append(out, got.Messages...)
	}
}

func (h *harness) create(name, expr string, mut ...func(*sc.CreateScheduleInput)) {
	h.t.Helper()
	in := &sc.CreateScheduleInput{Name: name, ScheduleExpression: expr, FlexibleTimeWindow: &sc.FlexibleTimeWindow{Mode: sc.FlexibleTimeWindowModeOff},
		Target: &sc.Target{Arn: "arn:aws:sqs:us-east-1:000000000000:out", RoleArn: "arn:aws:iam::000000000000:role/r", Input: name + " <aws.scheduler.scheduled-time>"}}
	for _, m := range mut {
		m(in)
	}
	if _, err := h.svc.CreateSchedule(context.Background(), scope, in); err != nil {
		h.t.Fatalf("CreateSchedule %s: %v", name, err)
	}
}

func TestRateFiresOncePerOccurrenceAcrossServers(t *testing.T) {
	h := newHarness(t)
	h.create("every5", "rate(5 minutes)")
	for i, step := range []struct {
		advance time.Duration
		fired   int
	}{{time.Minute, 0}, {4 * time.Minute, 1}, {time.Second, 0}, {5 * time.Minute, 1}, {4 * time.Minute, 0}} {
		if n := h.run(step.advance); n != step.fired {
			t.Fatalf("step %d: fired %d, want %d", i, n, step.fired)
		}
	}
	got := h.drain("out")
	if len(got) != 2 || got[0].Body != "every5 2026-03-07T12:03:30Z" {
		t.Fatalf("deliveries %+v", got)
	}
}

func TestCronInTimeZone(t *testing.T) {
	h := newHarness(t)
	// 07:00 in New York is 12:00 UTC on 7 March 2026 (EST, before the DST change on the 8th).
	h.create("ny", "cron(0 7 * * ? *)", func(in *sc.CreateScheduleInput) { in.ScheduleExpressionTimezone = "America/New_York" })
	if n := h.run(time.Minute); n != 0 {
		t.Fatalf("fired %d before 07:00 New York", n)
	}
	if n := h.run(30 * time.Second); n != 1 {
		t.Fatalf("fired %d at 07:00 New York", n)
	}
	// The next day is EDT: 07:00 is 11:00 UTC, 23 hours later.
	if n := h.run(23*time.Hour - time.Second); n != 0 {
		t.Fatal("fired before the next 07:00")
	}
	if n := h.run(time.Second); n != 1 {
		t.Fatal("did not fire at the next 07:00 (EDT)")
	}
}

func TestOneTimeDeletesAfterCompletion(t *testing.T) {
	h := newHarness(t)
	h.create("once", "at(2026-03-07T12:00:00)", func(in *sc.CreateScheduleInput) { in.ActionAfterCompletion = sc.ActionAfterCompletionDelete })
	h.create("kept", "at(2026-03-07T12:00:00)")
	if n := h.run(2 * time.Minute); n != 2 {
		t.Fatalf("fired %d, want both", n)
	}
	if _, err := h.svc.GetSchedule(context.Background(), scope, &sc.GetScheduleInput{Name: "once"}); err == nil {
		t.Fatal("a completed at() schedule with ActionAfterCompletion DELETE still exists")
	}
	if _, err := h.svc.GetSchedule(context.Background(), scope, &sc.GetScheduleInput{Name: "kept"}); err != nil {
		t.Fatalf("a completed at() schedule with NONE is gone: %v", err)
	}
	if n := h.run(time.Hour); n != 0 {
		t.Fatalf("a completed schedule fired again (%d)", n)
	}
}

func TestMissedOccurrencesFireOnce(t *testing.T) {
	h := newHarness(t)
	h.create("minutely", "rate(1 minute)")
	// No engine ran for ten minutes (the servers were down): one late delivery, then on time.
	if n := h.run(10 * time.Minute); n != 1 {
		t.Fatalf("after downtime fired %d, want 1", n)
	}
	if n := h.run(59 * time.Second); n != 0 {
		t.Fatalf("fired %d before the next minute", n)
	}
	if n := h.run(time.Second); n != 1 {
		t.Fatalf("fired %d at the next minute", n)
	}
	if got := h.drain("out"); len(got) != 2 || got[0].Body != "minutely 2026-03-07T11:59:30Z" {
		t.Fatalf("deliveries %+v", got)
	}
}

func TestTooOldGoesToDeadLetters(t *testing.T) {
	h := newHarness(t)
	h.create("hourly", "rate(1 hour)", func(in *sc.CreateScheduleInput) {
		in.Target.RetryPolicy = &sc.RetryPolicy{MaximumEventAgeInSeconds: ptr(int32(60))}
		in.Target.DeadLetterConfig = &sc.DeadLetterConfig{Arn: "arn:aws:sqs:us-east-1:000000000000:dlq"}
	})
	if n := h.run(3 * time.Hour); n != 1 {
		t.Fatalf("fired %d", n)
	}
	dead := h.drain("dlq")
	if len(dead) != 1 || dead[0].MessageAttributes["ERROR_CODE"].StringValue != "EventAgeExceeded" || len(h.drain("out")) != 0 {
		t.Fatalf("dead letters %+v", dead)
	}
}

func TestFailedDeliveryRetriesThenDeadLetters(t *testing.T) {
	h := newHarness(t)
	h.create("broken", "at(2026-03-07T12:00:00)", func(in *sc.CreateScheduleInput) {
		in.Target.Arn = "arn:aws:sqs:us-east-1:000000000000:missing"
		in.Target.RetryPolicy = &sc.RetryPolicy{MaximumRetryAttempts: ptr(int32(2))}
		in.Target.DeadLetterConfig = &sc.DeadLetterConfig{Arn: "arn:aws:sqs:us-east-1:000000000000:dlq"}
	})
	// First attempt at 12:00, retries 1 s and 2 s later, then the dead-letter queue.
	for i, want := range []int{1, 1, 0, 1} {
		d := 90 * time.Second
		if i > 0 {
			d = time.Second
		}
		if n := h.run(d); n != want {
			t.Fatalf("step %d fired %d, want %d", i, n, want)
		}
	}
	dead := h.drain("dlq")
	if len(dead) != 1 || dead[0].MessageAttributes["RETRY_ATTEMPTS"].StringValue != "2" ||
		dead[0].MessageAttributes["TARGET_ARN"].StringValue != "arn:aws:sqs:us-east-1:000000000000:missing" {
		t.Fatalf("dead letters %+v", dead)
	}
}

func TestFlexibleWindowAndDisable(t *testing.T) {
	h := newHarness(t)
	h.create("flex", "at(2026-03-07T12:00:00)", func(in *sc.CreateScheduleInput) {
		in.FlexibleTimeWindow = &sc.FlexibleTimeWindow{Mode: sc.FlexibleTimeWindowModeFlexible, MaximumWindowInMinutes: ptr(int32(10))}
	})
	fired := 0
	for range 12 * 60 {
		fired += h.run(time.Second)
		if fired > 0 {
			break
		}
	}
	now := h.clock.Now()
	if fired != 1 || now.Before(time.Date(2026, 3, 7, 12, 0, 0, 0, time.UTC)) || !now.Before(time.Date(2026, 3, 7, 12, 10, 1, 0, time.UTC)) {
		t.Fatalf("fired %d at %v, want once within the window", fired, now)
	}
	h.create("off", "rate(1 minute)", func(in *sc.CreateScheduleInput) { in.State = sc.ScheduleStateDisabled })
	if n := h.run(time.Hour); n != 0 {
		t.Fatalf("a disabled schedule fired (%d)", n)
	}
}

func TestValidation(t *testing.T) {
	h := newHarness(t)
	start := awstypes.NewTimestamp(h.clock.Now().Add(-time.Hour))
	for _, tc := range []struct {
		name string
		mut  func(*sc.CreateScheduleInput)
	}{
		{"bad expression", func(in *sc.CreateScheduleInput) { in.ScheduleExpression = "rate(0 minutes)" }},
		{"bad zone", func(in *sc.CreateScheduleInput) { in.ScheduleExpressionTimezone = "Mars/Olympus" }},
		{"no window", func(in *sc.CreateScheduleInput) { in.FlexibleTimeWindow = nil }},
		{"start in the past", func(in *sc.CreateScheduleInput) { in.StartDate = start }},
		{"unknown group", func(in *sc.CreateScheduleInput) { in.GroupName = "nope" }},
		{"retry attempts", func(in *sc.CreateScheduleInput) {
			in.Target.RetryPolicy = &sc.RetryPolicy{MaximumRetryAttempts: ptr(int32(186))}
		}},
	} {
		in := &sc.CreateScheduleInput{Name: "v", ScheduleExpression: "rate(1 minute)", FlexibleTimeWindow: &sc.FlexibleTimeWindow{Mode: sc.FlexibleTimeWindowModeOff},
			Target: &sc.Target{Arn: "arn:aws:sqs:us-east-1:000000000000:out", RoleArn: "arn:aws:iam::000000000000:role/r"}}
		tc.mut(in)
		if _, err := h.svc.CreateSchedule(context.Background(), scope, in); err == nil {
			t.Errorf("%s: accepted", tc.name)
		}
	}
}

func ptr[T any](v T) *T { return &v }
