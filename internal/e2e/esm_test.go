package e2e_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	ltypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/barge-run/barge/internal/bargetest"
)

// esmFunction logs every record it gets ("GOT <json>"), reports bodies starting with "fail" as
// failed items and raises on a body "crash".
const esmFunction = `import json
def handler(event, context):
    fails = []
    for r in event["Records"]:
        print("GOT " + json.dumps({"body": r["body"], "n": len(event["Records"]), "record": r}))
        if r["body"].startswith("fail"):
            fails.append({"itemIdentifier": r["messageId"]})
    if any(r["body"] == "crash" for r in event["Records"]):
        raise Exception("boom")
    return {"batchItemFailures": fails}
`

// esmT drives one barge's mappings through aws-sdk-go-v2.
type esmT struct {
	sqsT
	b    *bargetest.Barge
	l    *lambda.Client
	logs *cloudwatchlogs.Client
}

// waitUntil polls cond (a state read through the API) until it holds, failing after timeout.
func waitUntil(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		<-tick.C
	}
}

// function creates the recording function name with timeout seconds.
func (e esmT) function(name string, timeout int32) string {
	e.t.Helper()
	out, err := e.l.CreateFunction(e.ctx, &lambda.CreateFunctionInput{FunctionName: aws.String(name), Runtime: hostPython(e.t),
		Handler: aws.String("app.handler"), Role: aws.String("arn:aws:iam::000000000000:role/r"), Timeout: aws.Int32(timeout),
		Code: &ltypes.FunctionCode{ZipFile: zipSources(e.t, map[string]string{"app.py": esmFunction})}})
	if err != nil {
		e.t.Fatalf("CreateFunction %s: %v", name, err)
	}
	return *out.FunctionArn
}

// got is what the function logged, one entry per record it was handed.
type got struct {
	Body   string         `json:"body"`
	N      int            `json:"n"`
	Record map[string]any `json:"record"`
}

func (e esmT) received(function string) []got {
	e.t.Helper()
	var out []got
	var token *string
	for {
		page, err := e.logs.FilterLogEvents(e.ctx, &cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String("/aws/lambda/" + function),
			FilterPattern: aws.String(`"GOT "`), NextToken: token})
		if err != nil {
			return nil // the group exists once the function printed
		}
		for _, ev := range page.Events {
			_, js, _ := strings.Cut(aws.ToString(ev.Message), "GOT ")
			var g got
			if json.Unmarshal([]byte(strings.TrimSpace(js)), &g) == nil {
				out = append(out, g)
			}
		}
		if page.NextToken == nil {
			return out
		}
		token = page.NextToken
	}
}

func gotBodies(gs []got) []string {
	out := make([]string, len(gs))
	for i, g := range gs {
		out[i] = g.Body
	}
	slices.Sort(out)
	return out
}

func (e esmT) queueArn(url string) string {
	e.t.Helper()
	out, err := e.c.GetQueueAttributes(e.ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(url), AttributeNames: []types.QueueAttributeName{"All"}})
	if err != nil {
		e.t.Fatal(err)
	}
	return out.Attributes["QueueArn"]
}

// depth is a queue's visible plus in-flight messages.
func (e esmT) depth(url string) int {
	e.t.Helper()
	out, err := e.c.GetQueueAttributes(e.ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(url), AttributeNames: []types.QueueAttributeName{"All"}})
	if err != nil {
		e.t.Fatal(err)
	}
	a, _ := strconv.Atoi(out.Attributes["ApproximateNumberOfMessages"])
	b, _ := strconv.Atoi(out.Attributes["ApproximateNumberOfMessagesNotVisible"])
	c, _ := strconv.Atoi(out.Attributes["ApproximateNumberOfMessagesDelayed"])
	return a + b + c
}

func (e esmT) mapping(in *lambda.CreateEventSourceMappingInput) *lambda.CreateEventSourceMappingOutput {
	e.t.Helper()
	out, err := e.l.CreateEventSourceMapping(e.ctx, in)
	if err != nil {
		e.t.Fatalf("CreateEventSourceMapping: %v", err)
	}
	return out
}

func (e esmT) waitState(uuid, state string) {
	e.t.Helper()
	waitUntil(e.t, 20*time.Second, "mapping "+state, func() bool {
		out, err := e.l.GetEventSourceMapping(e.ctx, &lambda.GetEventSourceMappingInput{UUID: aws.String(uuid)})
		return err == nil && aws.ToString(out.State) == state
	})
}

func (e esmT) sendAll(url string, bodies ...string) {
	e.t.Helper()
	for len(bodies) > 0 {
		n := min(10, len(bodies))
		var entries []types.SendMessageBatchRequestEntry
		for i, b := range bodies[:n] {
			entries = append(entries, types.SendMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), MessageBody: aws.String(b),
				MessageAttributes: map[string]types.MessageAttributeValue{"kind": {DataType: aws.String("String"), StringValue: aws.String("test")}}})
		}
		if _, err := e.c.SendMessageBatch(e.ctx, &sqs.SendMessageBatchInput{QueueUrl: aws.String(url), Entries: entries}); err != nil {
			e.t.Fatal(err)
		}
		bodies = bodies[n:]
	}
}

// TestESM runs event source mappings from SQS to Python functions through aws-sdk-go-v2.
func TestESM(t *testing.T) {
	t.Parallel()
	hostPython(t)
	b := bargetest.Start(t)
	for _, tc := range []struct {
		name string
		run  func(e esmT)
	}{
		{"DrainsInBatches", testESMDrain},
		{"PartialBatchFailures", testESMPartial},
		{"FilterCriteria", testESMFilter},
		{"FailuresReachTheDLQ", testESMDeadLetter},
		{"DisableEnable", testESMDisable},
		{"Validation", testESMValidation},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := newSQS(t, b)
			ctx, cancel := context.WithTimeout(t.Context(), 120*time.Second)
			t.Cleanup(cancel)
			s.ctx = ctx
			tc.run(esmT{sqsT: s, b: b, l: lambda.NewFromConfig(b.Config()), logs: b.Logs()})
		})
	}
}

func testESMDrain(e esmT) {
	url := e.create("drain", nil)
	e.function("drain", 3)
	var want []string
	for i := range 25 {
		want = append(want, fmt.Sprintf("m%02d", i))
	}
	e.sendAll(url, want...)
	m := e.mapping(&lambda.CreateEventSourceMappingInput{FunctionName: aws.String("drain"), EventSourceArn: aws.String(e.queueArn(url)),
		BatchSize: aws.Int32(10), MaximumBatchingWindowInSeconds: aws.Int32(1)})
	if aws.ToString(m.State) != "Creating" || aws.ToInt32(m.BatchSize) != 10 || !strings.Contains(aws.ToString(m.EventSourceMappingArn), ":event-source-mapping:") {
		e.t.Fatalf("created: state %s batch %d arn %s", aws.ToString(m.State), aws.ToInt32(m.BatchSize), aws.ToString(m.EventSourceMappingArn))
	}
	e.waitState(*m.UUID, "Enabled")
	waitUntil(e.t, 60*time.Second, "the queue drained", func() bool { return len(e.received("drain")) >= 25 && e.depth(url) == 0 })
	gs := e.received("drain")
	if !slices.Equal(gotBodies(gs), want) {
		e.t.Fatalf("function got %v, want each of %v once", gotBodies(gs), want)
	}
	if slices.IndexFunc(gs, func(g got) bool { return g.N > 1 }) < 0 {
		e.t.Fatalf("no batch held more than one record: %+v", gs)
	}
	r := gs[0].Record
	attrs, _ := r["attributes"].(map[string]any)
	mattrs, _ := r["messageAttributes"].(map[string]any)
	kind, _ := mattrs["kind"].(map[string]any)
	if r["eventSource"] != "aws:sqs" || r["eventSourceARN"] != e.queueArn(url) || r["awsRegion"] != "us-east-1" ||
		attrs["ApproximateReceiveCount"] != "1" || attrs["SentTimestamp"] == nil || attrs["SenderId"] == nil ||
		attrs["ApproximateFirstReceiveTimestamp"] == nil || r["md5OfBody"] == nil || r["receiptHandle"] == nil ||
		kind["stringValue"] != "test" || kind["dataType"] != "String" {
		e.t.Fatalf("record shape: %+v", r)
	}
	if mm := scrape(e.t, e.b); mm[series("barge_esm_records_total", "outcome=invoked", "uuid="+*m.UUID)] != 25 ||
		mm[series("barge_esm_batches_total", "uuid="+*m.UUID)] < 3 || mm[series("barge_esm_errors_total", "uuid="+*m.UUID)] != 0 {
		e.t.Fatalf("/metrics of the mapping: records %v, batches %v, errors %v", mm[series("barge_esm_records_total", "outcome=invoked", "uuid="+*m.UUID)],
			mm[series("barge_esm_batches_total", "uuid="+*m.UUID)], mm[series("barge_esm_errors_total", "uuid="+*m.UUID)])
	}
	list, err := e.l.ListEventSourceMappings(e.ctx, &lambda.ListEventSourceMappingsInput{FunctionName: aws.String("drain")})
	if err != nil || len(list.EventSourceMappings) != 1 || *list.EventSourceMappings[0].UUID != *m.UUID {
		e.t.Fatalf("ListEventSourceMappings by function: %v %+v", err, list)
	}
	del, err := e.l.DeleteEventSourceMapping(e.ctx, &lambda.DeleteEventSourceMappingInput{UUID: m.UUID})
	if err != nil || aws.ToString(del.State) != "Deleting" {
		e.t.Fatalf("DeleteEventSourceMapping: %v %v", err, del)
	}
	waitUntil(e.t, 20*time.Second, "the mapping gone", func() bool {
		_, err := e.l.GetEventSourceMapping(e.ctx, &lambda.GetEventSourceMappingInput{UUID: m.UUID})
		return errorCode(err) == "ResourceNotFoundException"
	})
}

// deadLetterPair makes a queue with visibility 3 s whose messages move to a DLQ after max receives.
func (e esmT) deadLetterPair(name string, max int) (url, dlq string) {
	dlq = e.create(name+"-dlq", nil)
	url = e.create(name, map[string]string{"VisibilityTimeout": "3",
		"RedrivePolicy": fmt.Sprintf(`{"deadLetterTargetArn":%q,"maxReceiveCount":%d}`, e.queueArn(dlq), max)})
	return url, dlq
}

func testESMPartial(e esmT) {
	url, dlq := e.deadLetterPair("partial", 1)
	e.function("partial", 3)
	e.sendAll(url, "ok1", "fail1", "ok2", "fail2", "ok3")
	e.mapping(&lambda.CreateEventSourceMappingInput{FunctionName: aws.String("partial"), EventSourceArn: aws.String(e.queueArn(url)),
		BatchSize: aws.Int32(10), MaximumBatchingWindowInSeconds: aws.Int32(1),
		FunctionResponseTypes: []ltypes.FunctionResponseType{ltypes.FunctionResponseTypeReportBatchItemFailures}})
	// The failed items come back after the visibility timeout and, received once already, go
	// to the dead-letter queue: exactly them.
	waitUntil(e.t, 60*time.Second, "the failed items in the DLQ", func() bool { return e.depth(dlq) == 2 && e.depth(url) == 0 })
	got := bodies(e.receive(dlq, 10, 1))
	slices.Sort(got)
	if !slices.Equal(got, []string{"fail1", "fail2"}) {
		e.t.Fatalf("dead letters %v, want the failed items", got)
	}
}

func testESMFilter(e esmT) {
	url := e.create("filtered", nil)
	e.function("filtered", 3)
	e.mapping(&lambda.CreateEventSourceMappingInput{FunctionName: aws.String("filtered"), EventSourceArn: aws.String(e.queueArn(url)),
		FilterCriteria: &ltypes.FilterCriteria{Filters: []ltypes.Filter{{Pattern: aws.String(`{"body":{"kind":["keep"]}}`)}}}})
	e.sendAll(url, `{"kind":"keep","n":1}`, `{"kind":"drop"}`, "plain text", `{"kind":"keep","n":2}`)
	waitUntil(e.t, 60*time.Second, "the queue emptied", func() bool { return e.depth(url) == 0 && len(e.received("filtered")) >= 2 })
	if got := gotBodies(e.received("filtered")); !slices.Equal(got, []string{`{"kind":"keep","n":1}`, `{"kind":"keep","n":2}`}) {
		e.t.Fatalf("function got %v, want only the matching records", got)
	}
}

func testESMDeadLetter(e esmT) {
	url, dlq := e.deadLetterPair("crashing", 2)
	e.function("crashing", 3)
	e.mapping(&lambda.CreateEventSourceMappingInput{FunctionName: aws.String("crashing"), EventSourceArn: aws.String(e.queueArn(url)), BatchSize: aws.Int32(1)})
	e.sendAll(url, "crash")
	waitUntil(e.t, 60*time.Second, "the message in the DLQ", func() bool { return e.depth(dlq) == 1 && e.depth(url) == 0 })
	if n := len(e.received("crashing")); n != 2 {
		e.t.Fatalf("the function saw the message %d times, want maxReceiveCount = 2", n)
	}
}

func testESMDisable(e esmT) {
	url := e.create("toggled", nil)
	e.function("toggled", 3)
	m := e.mapping(&lambda.CreateEventSourceMappingInput{FunctionName: aws.String("toggled"), EventSourceArn: aws.String(e.queueArn(url)), Enabled: aws.Bool(false)})
	e.waitState(*m.UUID, "Disabled")
	e.sendAll(url, "while-disabled")
	if e.depth(url) != 1 {
		e.t.Fatal("a disabled mapping consumed the message")
	}
	up, err := e.l.UpdateEventSourceMapping(e.ctx, &lambda.UpdateEventSourceMappingInput{UUID: m.UUID, Enabled: aws.Bool(true), BatchSize: aws.Int32(5)})
	if err != nil || aws.ToString(up.State) != "Enabling" || aws.ToInt32(up.BatchSize) != 5 {
		e.t.Fatalf("UpdateEventSourceMapping: %v %+v", err, up)
	}
	e.waitState(*m.UUID, "Enabled")
	waitUntil(e.t, 60*time.Second, "the queue drained", func() bool { return e.depth(url) == 0 })
	if got := gotBodies(e.received("toggled")); !slices.Equal(got, []string{"while-disabled"}) {
		e.t.Fatalf("function got %v", got)
	}
}

func testESMValidation(e esmT) {
	url := e.create("checked", nil)
	fifo := e.create("checked.fifo", map[string]string{"FifoQueue": "true"})
	e.function("checked", 3)
	e.function("slow", 60)
	arn := e.queueArn(url)
	for _, tc := range []struct {
		name string
		in   lambda.CreateEventSourceMappingInput
		code string
	}{
		{"batch over 10 without window", lambda.CreateEventSourceMappingInput{BatchSize: aws.Int32(100)}, "InvalidParameterValueException"},
		{"batch over 10000", lambda.CreateEventSourceMappingInput{BatchSize: aws.Int32(10001), MaximumBatchingWindowInSeconds: aws.Int32(1)}, "InvalidParameterValueException"},
		{"fifo over 10", lambda.CreateEventSourceMappingInput{EventSourceArn: aws.String(e.queueArn(fifo)), BatchSize: aws.Int32(11), MaximumBatchingWindowInSeconds: aws.Int32(1)}, "InvalidParameterValueException"},
		{"concurrency 1", lambda.CreateEventSourceMappingInput{ScalingConfig: &ltypes.ScalingConfig{MaximumConcurrency: aws.Int32(1)}}, "InvalidParameterValueException"},
		{"bad filter", lambda.CreateEventSourceMappingInput{FilterCriteria: &ltypes.FilterCriteria{Filters: []ltypes.Filter{{Pattern: aws.String(`{"body":`)}}}}, "InvalidParameterValueException"},
		{"no such function", lambda.CreateEventSourceMappingInput{FunctionName: aws.String("nope")}, "ResourceNotFoundException"},
		{"no such queue", lambda.CreateEventSourceMappingInput{EventSourceArn: aws.String(arn + "-nope")}, "InvalidParameterValueException"},
		{"visibility below timeout", lambda.CreateEventSourceMappingInput{FunctionName: aws.String("slow")}, "InvalidParameterValueException"},
	} {
		in := tc.in
		if in.FunctionName == nil {
			in.FunctionName = aws.String("checked")
		}
		if in.EventSourceArn == nil {
			in.EventSourceArn = aws.String(arn)
		}
		_, err := e.l.CreateEventSourceMapping(e.ctx, &in)
		if errorCode(err) != tc.code {
			e.t.Errorf("%s: got %v, want %s", tc.name, err, tc.code)
		}
	}
	m := e.mapping(&lambda.CreateEventSourceMappingInput{FunctionName: aws.String("checked"), EventSourceArn: aws.String(arn),
		BatchSize: aws.Int32(100), MaximumBatchingWindowInSeconds: aws.Int32(2), ScalingConfig: &ltypes.ScalingConfig{MaximumConcurrency: aws.Int32(2)}})
	if _, err := e.l.CreateEventSourceMapping(e.ctx, &lambda.CreateEventSourceMappingInput{FunctionName: aws.String("checked"), EventSourceArn: aws.String(arn)}); errorCode(err) != "ResourceConflictException" {
		e.t.Errorf("a second mapping of the same pair: %v", err)
	}
	if aws.ToInt32(m.ScalingConfig.MaximumConcurrency) != 2 || aws.ToInt32(m.MaximumBatchingWindowInSeconds) != 2 {
		e.t.Errorf("created %+v", m)
	}
}
