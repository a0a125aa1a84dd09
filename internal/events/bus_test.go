package events

import (
	"context"
	"encoding/json"
	"net/http"
	"path/filepath"
	"testing"

	"github.com/barge-run/barge/internal/awserr"
	ew "github.com/barge-run/barge/internal/awstypes/events"
	sw "github.com/barge-run/barge/internal/awstypes/sqs"
	"github.com/barge-run/barge/internal/scheduler"
	"github.com/barge-run/barge/internal/sqs"
	"github.com/barge-run/barge/internal/store/sqlite"
)

// busFixture is an events service with its matcher running, delivering to SQS queues.
type busFixture struct {
	t      *testing.T
	ctx    context.Context
	s      *Service
	bus    *Bus
	queues *sqs.Service
}

func newBusFixture(t *testing.T) *busFixture {
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "barge.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	engine := scheduler.NewEngine(scheduler.EngineConfig{Store: st})
	queues := sqs.New(sqs.Config{Store: st, Region: "us-east-1"})
	bus := NewBus()
	s := New(Config{Store: st, Engine: engine, Delivery: &scheduler.Delivery{Queues: queues, Region: "us-east-1"}, Region: "us-east-1", Bus: bus})
	s.Start()
	t.Cleanup(s.Stop)
	return &busFixture{t: t, ctx: context.Background(), s: s, bus: bus, queues: queues}
}

// ruleToQueue makes queue q in scope and a rule whose pattern sends to it.
func (f *busFixture) ruleToQueue(scope, rule, pattern, q string) {
	f.t.Helper()
	if _, err := f.queues.CreateQueue(f.ctx, scope, &sw.CreateQueueRequest{QueueName: q}); err != nil {
		f.t.Fatal(err)
	}
	if _, err := f.s.PutRule(f.ctx, scope, &ew.PutRuleRequest{Name: rule, EventPattern: pattern}); err != nil {
		f.t.Fatal(err)
	}
	if _, err := f.s.PutTargets(f.ctx, scope, &ew.PutTargetsRequest{Rule: rule,
		Targets: []ew.Target{{Id: "q", Arn: "arn:aws:sqs:us-east-1:" + scope + ":" + q}}}); err != nil {
		f.t.Fatal(err)
	}
}

// received long-polls q (up to wait seconds) and returns the events it holds, deleting none.
func (f *busFixture) received(scope, q string, wait int32) []map[string]any {
	f.t.Helper()
	ten := int32(10)
	out, err := f.queues.ReceiveMessage(f.ctx, scope, &sw.ReceiveMessageRequest{QueueUrl: "/" + scope + "/" + q, MaxNumberOfMessages: &ten, WaitTimeSeconds: &wait})
	if err != nil {
		f.t.Fatal(err)
	}
	var evs []map[string]any
	for _, m := range out.Messages {
		var ev map[string]any
		if err := json.Unmarshal([]byte(m.Body), &ev); err != nil {
			f.t.Fatalf("delivered %q: %v", m.Body, err)
		}
		evs = append(evs, ev)
	}
	return evs
}

// TestPutEventsMatchesPatterns: an entry matching a rule's pattern reaches its target in
// EventBridge's envelope; one that does not match, a disabled rule and another account's rule
// receive nothing.
func TestPutEventsMatchesPatterns(t *testing.T) {
	f := newBusFixture(t)
	const mine, theirs = "000000000000", "111111111111"
	f.ruleToQueue(mine, "orders", `{"source":["my.shop"],"detail":{"kind":["order"]}}`, "orders")
	f.ruleToQueue(theirs, "all", `{"source":["my.shop"]}`, "theirs")
	f.ruleToQueue(mine, "off", `{"source":["my.shop"]}`, "off")
	if _, err := f.s.DisableRule(f.ctx, mine, &ew.DisableRuleRequest{Name: "off"}); err != nil {
		t.Fatal(err)
	}
	out, err := f.s.PutEvents(f.ctx, mine, &ew.PutEventsRequest{Entries: []ew.PutEventsRequestEntry{
		{Source: "my.shop", DetailType: "Shop Event", Detail: `{"kind":"refund","n":1}`},
		{Source: "my.shop", DetailType: "Shop Event", Detail: `{"kind":"order","n":2}`, Resources: []string{"arn:x"}},
	}})
	if err != nil || *out.FailedEntryCount != 0 || out.Entries[1].EventId == "" {
		t.Fatalf("PutEvents: %v %+v", err, out)
	}
	evs := f.received(mine, "orders", 5)
	if len(evs) != 1 {
		t.Fatalf("the rule's queue got %d events, want the one order: %v", len(evs), evs)
	}
	ev := evs[0]
	detail, _ := ev["detail"].(map[string]any)
	if ev["source"] != "my.shop" || ev["detail-type"] != "Shop Event" || ev["account"] != mine || ev["region"] != "us-east-1" ||
		ev["id"] != out.Entries[1].EventId || detail["n"] != 2.0 || ev["version"] != "0" {
		t.Errorf("delivered event %v", ev)
	}
	if got := f.received(theirs, "theirs", 0); len(got) != 0 {
		t.Errorf("another account's rule got %v", got)
	}
	if got := f.received(mine, "off", 0); len(got) != 0 {
		t.Errorf("a disabled rule got %v", got)
	}
}

// TestPutEventsRefusals: each bad entry is refused on its own, with EventBridge's codes; too
// many entries refuse the call.
func TestPutEventsRefusals(t *testing.T) {
	f := newBusFixture(t)
	out, err := f.s.PutEvents(f.ctx, "000000000000", &ew.PutEventsRequest{Entries: []ew.PutEventsRequestEntry{
		{DetailType: "t", Detail: `{}`},
		{Source: "s", Detail: `{}`},
		{Source: "s", DetailType: "t"},
		{Source: "s", DetailType: "t", Detail: `{not json`},
		{Source: "aws.batch", DetailType: "Batch Job State Change", Detail: `{}`},
		{Source: "s", DetailType: "t", Detail: `{}`, EventBusName: "other"},
		{Source: "s", DetailType: "t", Detail: `{}`},
	}})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"InvalidArgument", "InvalidArgument", "InvalidArgument", "MalformedDetail", "NotAuthorizedForSourceException", "ResourceNotFoundException", ""}
	for i, w := range want {
		if got := out.Entries[i].ErrorCode; got != w || (w == "") != (out.Entries[i].EventId != "") {
			t.Errorf("entry %d: %+v, want code %q", i, out.Entries[i], w)
		}
	}
	if *out.FailedEntryCount != 6 {
		t.Errorf("FailedEntryCount %d, want 6", *out.FailedEntryCount)
	}
	_, err = f.s.PutEvents(f.ctx, "000000000000", &ew.PutEventsRequest{Entries: make([]ew.PutEventsRequestEntry, 11)})
	if e := awserr.As(err); e.Status != http.StatusBadRequest || e.Code != "ValidationException" {
		t.Errorf("11 entries: %v", err)
	}
}

// TestBusCarriesServiceEvents: an event a service publishes (as Batch publishes its job state
// changes) reaches a rule matching aws.batch; without any pattern rule the bus wants none.
func TestBusCarriesServiceEvents(t *testing.T) {
	f := newBusFixture(t)
	const scope = "000000000000"
	if f.bus.Wants() {
		t.Fatal("the bus wants events with no rule at all")
	}
	f.ruleToQueue(scope, "failed-jobs", `{"source":["aws.batch"],"detail-type":["Batch Job State Change"],"detail":{"status":["FAILED"]}}`, "failed")
	if !f.bus.Wants() {
		t.Fatal("the bus wants no events with a pattern rule")
	}
	for _, st := range []string{"RUNNING", "FAILED"} {
		f.bus.Publish(scope, "aws.batch", "Batch Job State Change", []string{"arn:aws:batch:us-east-1:000000000000:job/j1"},
			json.RawMessage(`{"jobId":"j1","status":"`+st+`"}`))
	}
	evs := f.received(scope, "failed", 5)
	if len(evs) != 1 || evs[0]["detail"].(map[string]any)["status"] != "FAILED" || evs[0]["resources"].([]any)[0] != "arn:aws:batch:us-east-1:000000000000:job/j1" {
		t.Fatalf("the FAILED rule got %v", evs)
	}
	if f.bus.Dropped() != 0 {
		t.Errorf("dropped %d events", f.bus.Dropped())
	}
}
