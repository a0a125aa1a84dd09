package events

import (
	"context"
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	ew "github.com/barge-run/barge/internal/awstypes/events"
	sw "github.com/barge-run/barge/internal/awstypes/sqs"
	"github.com/barge-run/barge/internal/scheduler"
	"github.com/barge-run/barge/internal/sqs"
	"github.com/barge-run/barge/internal/store/sqlite"
)

func TestInputOf(t *testing.T) {
	event := []byte(`{"detail-type":"Scheduled Event","detail":{"a":{"b":[1,2]}}}`)
	for _, tc := range []struct {
		target ew.Target
		want   string
	}{
		{ew.Target{}, string(event)},
		{ew.Target{Input: `{"x":1}`}, `{"x":1}`},
		{ew.Target{InputPath: "$"}, string(event)},
		{ew.Target{InputPath: "$.detail-type"}, `"Scheduled Event"`},
		{ew.Target{InputPath: "$.detail.a.b"}, `[1,2]`},
		{ew.Target{InputPath: "$.missing"}, `null`},
	} {
		got, err := inputOf(tc.target, event)
		if err != nil || got != tc.want {
			t.Errorf("%+v: got %s %v, want %s", tc.target, got, err, tc.want)
		}
	}
}

func TestCheckTarget(t *testing.T) {
	for _, tc := range []struct {
		target ew.Target
		ok     bool
	}{
		{ew.Target{Id: "1", Arn: "arn:aws:lambda:us-east-1:000000000000:function:f"}, true},
		{ew.Target{Id: "1", Arn: "arn:aws:sqs:us-east-1:000000000000:q", InputPath: "$.detail"}, true},
		{ew.Target{Id: "1", Arn: "arn:aws:sqs:us-east-1:000000000000:q", Input: "{}", InputPath: "$"}, false},
		{ew.Target{Id: "1", Arn: "arn:aws:sns:us-east-1:000000000000:t"}, false},
		{ew.Target{Id: "1", Arn: "arn:aws:lambda:us-east-1:000000000000:function:f", Input: "not json"}, false},
		{ew.Target{Arn: "arn:aws:lambda:us-east-1:000000000000:function:f"}, false},
	} {
		if code, _ := checkTarget(tc.target); (code == "") != tc.ok {
			t.Errorf("%+v: code %q, want ok=%v", tc.target, code, tc.ok)
		}
	}
}

// TestScheduledRuleFires: a rate(5 minutes) rule on a fake clock sends the Scheduled Event to
// its SQS target every five minutes from its creation, and not while disabled.
func TestScheduledRuleFires(t *testing.T) {
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "barge.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	engine := scheduler.NewEngine(scheduler.EngineConfig{Store: st, Now: func() time.Time { return now }})
	queues := sqs.New(sqs.Config{Store: st, Region: "us-east-1"})
	s := New(Config{Store: st, Engine: engine, Delivery: &scheduler.Delivery{Queues: queues, Region: "us-east-1"}, Region: "us-east-1"})
	ctx := context.Background()
	const scope = "000000000000"
	if _, err := queues.CreateQueue(ctx, scope, &sw.CreateQueueRequest{QueueName: "q"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.PutRule(ctx, scope, &ew.PutRuleRequest{Name: "r", ScheduleExpression: "rate(5 minutes)"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.PutTargets(ctx, scope, &ew.PutTargetsRequest{Rule: "r", Targets: []ew.Target{{Id: "q", Arn: "arn:aws:sqs:us-east-1:000000000000:q"}}}); err != nil {
		t.Fatal(err)
	}
	step := func(d time.Duration, want int) {
		t.Helper()
		now = now.Add(d)
		if n := engine.RunDue(ctx); n != want {
			t.Fatalf("at %v fired %d, want %d", now, n, want)
		}
	}
	step(4*time.Minute, 0)
	step(time.Minute, 1)
	step(5*time.Minute, 1)
	ten := int32(10)
	got, err := queues.ReceiveMessage(ctx, scope, &sw.ReceiveMessageRequest{QueueUrl: "/" + scope + "/q", MaxNumberOfMessages: &ten})
	if err != nil || len(got.Messages) != 2 {
		t.Fatalf("receive: %v %+v", err, got)
	}
	var ev map[string]any
	if json.Unmarshal([]byte(got.Messages[0].Body), &ev); ev["time"] != "2026-01-01T00:05:00Z" || ev["detail-type"] != "Scheduled Event" {
		t.Fatalf("event %s", got.Messages[0].Body)
	}
	if _, err := s.DisableRule(ctx, scope, &ew.DisableRuleRequest{Name: "r"}); err != nil {
		t.Fatal(err)
	}
	step(time.Hour, 0)
}
