package esm

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	lw "github.com/barge-run/barge/internal/awstypes/lambda"
	sw "github.com/barge-run/barge/internal/awstypes/sqs"
	"github.com/barge-run/barge/internal/sqs"
	"github.com/barge-run/barge/internal/store/sqlite"
)

func TestSettings(t *testing.T) {
	i := func(n int32) *int32 { return &n }
	for _, tc := range []struct {
		name string
		st   settings
		fifo bool
		err  string
	}{
		{"defaults", settings{}, false, ""},
		{"10000 with a window", settings{BatchSize: i(10000), Window: i(1)}, false, ""},
		{"over 10 without a window", settings{BatchSize: i(11)}, false, "greater than 0"},
		{"over 10000", settings{BatchSize: i(10001), Window: i(1)}, false, "less than or equal to 10000"},
		{"fifo over 10", settings{BatchSize: i(11), Window: i(1)}, true, "FIFO"},
		{"window over 300", settings{Window: i(301)}, false, "maximumBatchingWindowInSeconds"},
		{"concurrency 1", settings{Scaling: &lw.ScalingConfig{MaximumConcurrency: i(1)}}, false, "maximumConcurrency"},
		{"concurrency 1000", settings{Scaling: &lw.ScalingConfig{MaximumConcurrency: i(1000)}}, false, ""},
		{"bad response type", settings{ResponseTypes: []lw.FunctionResponseType{"Other"}}, false, "functionResponseTypes"},
		{"six filters", settings{Filter: &lw.FilterCriteria{Filters: make([]lw.Filter, 6)}}, false, "limit of 5"},
		{"bad filter", settings{Filter: &lw.FilterCriteria{Filters: []lw.Filter{{Pattern: `{"body":1}`}}}}, false, "Invalid filter pattern"},
	} {
		var c lw.EventSourceMappingConfiguration
		err := tc.st.apply(&c, tc.fifo)
		switch {
		case tc.err == "" && err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("%s: got %v, want %q", tc.name, err, tc.err)
		case err == nil && (c.BatchSize == nil || c.MaximumBatchingWindowInSeconds == nil):
			t.Errorf("%s: defaults not filled: %+v", tc.name, c)
		}
	}
}

func TestBatchItemFailures(t *testing.T) {
	msgs := []sw.Message{{MessageId: "a"}, {MessageId: "b"}}
	for _, tc := range []struct {
		payload string
		failed  []string
		ok      bool
	}{
		{``, nil, true},
		{`null`, nil, true},
		{`{}`, nil, true},
		{`"done"`, nil, true},
		{`{"batchItemFailures":[]}`, nil, true},
		{`{"batchItemFailures":[{"itemIdentifier":"b"}]}`, []string{"b"}, true},
		{`{"batchItemFailures":[{"itemIdentifier":"zzz"}]}`, nil, false},
		{`{"batchItemFailures":[{"itemIdentifier":""}]}`, nil, false},
		{`{"batchItemFailures":[{"other":"a"}]}`, nil, false},
	} {
		failed, ok := batchItemFailures([]byte(tc.payload), msgs)
		if ok != tc.ok || len(failed) != len(tc.failed) {
			t.Errorf("%s: got %v %v, want %v %v", tc.payload, failed, ok, tc.failed, tc.ok)
		}
		for _, id := range tc.failed {
			if !failed[id] {
				t.Errorf("%s: %s not reported failed", tc.payload, id)
			}
		}
	}
}

func TestRecordShape(t *testing.T) {
	m := sw.Message{MessageId: "id", ReceiptHandle: "rh", Body: "hi", MD5OfBody: "md5",
		Attributes:        map[string]string{"ApproximateReceiveCount": "1", "SentTimestamp": "1", "DeadLetterQueueSourceArn": "x"},
		MessageAttributes: map[string]sw.MessageAttributeValue{"s": {DataType: "String", StringValue: "v"}, "b": {DataType: "Binary", BinaryValue: []byte{0, 1}}}}
	var got map[string]any
	if err := json.Unmarshal(sqsRecord(m, "arn:aws:sqs:eu-west-1:000000000000:q", "eu-west-1"), &got); err != nil {
		t.Fatal(err)
	}
	want := `{"attributes":{"ApproximateReceiveCount":"1","SentTimestamp":"1"},"awsRegion":"eu-west-1","body":"hi","eventSource":"aws:sqs",` +
		`"eventSourceARN":"arn:aws:sqs:eu-west-1:000000000000:q","md5OfBody":"md5","messageAttributes":{"b":{"binaryListValues":[],"binaryValue":"AAE=","dataType":"Binary","stringListValues":[]},` +
		`"s":{"binaryListValues":[],"dataType":"String","stringListValues":[],"stringValue":"v"}},"messageId":"id","receiptHandle":"rh"}`
	if b, _ := json.Marshal(got); string(b) != want {
		t.Fatalf("record\n%s\nwant\n%s", b, want)
	}
}

func TestQualifiedARN(t *testing.T) {
	const fn = "arn:aws:lambda:us-east-1:000000000000:function:f"
	for given, want := range map[string]string{"f": fn, "f:live": fn + ":live", fn: fn, fn + ":3": fn + ":3", "000000000000:function:f": fn} {
		if got := qualifiedARN(fn, given); got != want {
			t.Errorf("%s: %s, want %s", given, got, want)
		}
	}
}

// counting is a function (the Lambda seam) that takes a while per batch and counts how many
// batches run at once.
type counting struct {
	inflight, peak, records atomic.Int64
}

func (c *counting) Invoke(ctx context.Context, account string, in *lw.InvocationRequest) (*lw.InvocationResponse, error) {
	n := c.inflight.Add(1)
	defer c.inflight.Add(-1)
	for p := c.peak.Load(); n > p && !c.peak.CompareAndSwap(p, n); p = c.peak.Load() {
	}
	var ev struct{ Records []json.RawMessage }
	json.Unmarshal(in.Payload, &ev)
	time.Sleep(10 * time.Millisecond) // the function's work
	c.records.Add(int64(len(ev.Records)))
	return &lw.InvocationResponse{Payload: []byte("null")}, nil
}

func (c *counting) GetFunctionConfiguration(ctx context.Context, account string, in *lw.GetFunctionConfigurationRequest) (*lw.FunctionConfiguration, error) {
	arn := "arn:aws:lambda:us-east-1:" + account + ":function:" + in.FunctionName
	three := int32(3)
	return &lw.FunctionConfiguration{FunctionArn: arn, Timeout: &three}, nil
}

// TestConcurrencyAcrossServers: two servers' pollers on one store, one mapping with
// MaximumConcurrency 2 over a backlog: they scale up to two batches at once between them, never
// more, and drain the queue.
func TestConcurrencyAcrossServers(t *testing.T) {
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "barge.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	fn := &counting{}
	const scope = "000000000000"
	var services []*Service
	for _, holder := range []string{"a", "b"} {
		q := sqs.New(sqs.Config{Store: st, Region: "us-east-1"})
		s := New(Config{Store: st, Functions: fn, Queues: q, Region: "us-east-1", Holder: holder, LongPoll: time.Second, Tick: 20 * time.Millisecond})
		services = append(services, s)
	}
	ctx := context.Background()
	q := sqs.New(sqs.Config{Store: st, Region: "us-east-1"})
	url := "/" + scope + "/backlog"
	if _, err := q.CreateQueue(ctx, scope, &sw.CreateQueueRequest{QueueName: "backlog"}); err != nil {
		t.Fatal(err)
	}
	const total = 200
	for i := range total / 10 {
		var entries []sw.SendMessageBatchRequestEntry
		for j := range 10 {
			entries = append(entries, sw.SendMessageBatchRequestEntry{Id: fmt.Sprint(j), MessageBody: fmt.Sprint(i*10 + j)})
		}
		if _, err := q.SendMessageBatch(ctx, scope, &sw.SendMessageBatchRequest{QueueUrl: url, Entries: entries}); err != nil {
			t.Fatal(err)
		}
	}
	two, one := int32(2), int32(1)
	if _, err := services[0].CreateEventSourceMapping(ctx, scope, &lw.CreateEventSourceMappingRequest{FunctionName: "f",
		EventSourceArn: "arn:aws:sqs:us-east-1:000000000000:backlog", BatchSize: &one, ScalingConfig: &lw.ScalingConfig{MaximumConcurrency: &two}}); err != nil {
		t.Fatal(err)
	}
	for _, s := range services {
		s.Start()
	}
	deadline := time.Now().Add(60 * time.Second)
	for fn.records.Load() < total {
		if time.Now().After(deadline) {
			t.Fatalf("drained %d of %d", fn.records.Load(), total)
		}
		time.Sleep(10 * time.Millisecond) // polling the count, not synchronising
	}
	for _, s := range services {
		s.Stop()
	}
	if p := fn.peak.Load(); p != 2 {
		t.Fatalf("peak concurrency %d, want the mapping's 2", p)
	}
}
