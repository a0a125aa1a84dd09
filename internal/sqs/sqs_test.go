package sqs

import (
	"context"
	"encoding/json"
	"path/filepath"
	"slices"
	"testing"

	"github.com/barge-run/barge/internal/awserr"
	wire "github.com/barge-run/barge/internal/awstypes/sqs"
	"github.com/barge-run/barge/internal/store/sqlite"
)

func TestMD5OfAttributes(t *testing.T) {
	for _, tc := range []struct {
		name  string
		attrs map[string]wire.MessageAttributeValue
		want  string
	}{
		{"none", nil, ""},
		// Accepted by botocore's check of MD5OfMessageAttributes (aws sqs send-message).
		{"one string", map[string]wire.MessageAttributeValue{"k": {DataType: "String", StringValue: "v"}}, "0a77b0642718c3d9dd47090567d11e0d"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := md5OfAttributes(tc.attrs); got != tc.want {
				t.Errorf("md5 = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestSelectAttributes(t *testing.T) {
	attrs := map[string]wire.MessageAttributeValue{"a.x": {}, "a.y": {}, "a1": {}, "b": {}}
	for _, tc := range []struct {
		names []string
		want  []string
	}{
		{nil, nil},
		{[]string{"All"}, []string{"a.x", "a.y", "a1", "b"}},
		{[]string{".*"}, []string{"a.x", "a.y", "a1", "b"}},
		{[]string{"a.*"}, []string{"a.x", "a.y", "a1"}}, // "prefix.*": names starting with prefix
		{[]string{"a.x.*"}, []string{"a.x"}},
		{[]string{"b", "c"}, []string{"b"}},
	} {
		var got []string
		for k := range selectAttributes(tc.names, attrs) {
			got = append(got, k)
		}
		slices.Sort(got)
		if !slices.Equal(got, tc.want) {
			t.Errorf("%v: got %v, want %v", tc.names, got, tc.want)
		}
	}
}

// TestServiceFIFOAndLongPoll drives the service on a real SQLite store.
func TestServiceFIFOAndLongPoll(t *testing.T) {
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "barge.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	s := New(Config{Store: st, Region: "us-east-1"})
	ctx := WithEndpoint(context.Background(), "http://h")
	const scope = "000000000000"
	q, err := s.CreateQueue(ctx, scope, &wire.CreateQueueRequest{QueueName: "f.fifo", Attributes: map[string]string{"FifoQueue": "true"}})
	if err != nil || q.QueueUrl != "http://h/000000000000/f.fifo" {
		t.Fatalf("CreateQueue: %v %v", q, err)
	}
	send := func(body, group, dedup string) *wire.SendMessageResult {
		out, err := s.SendMessage(ctx, scope, &wire.SendMessageRequest{QueueUrl: q.QueueUrl, MessageBody: body, MessageGroupId: group, MessageDeduplicationId: dedup})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	a := send("1", "g", "d1")
	if b := send("1 again", "g", "d1"); b.MessageId != a.MessageId {
		t.Errorf("dedup: %s != %s", b.MessageId, a.MessageId)
	}
	send("2", "g", "d2")
	ten := int32(10)
	got, err := s.ReceiveMessage(ctx, scope, &wire.ReceiveMessageRequest{QueueUrl: q.QueueUrl, MaxNumberOfMessages: &ten})
	if err != nil || len(got.Messages) != 2 || got.Messages[0].Body != "1" || got.Messages[1].Body != "2" {
		t.Fatalf("receive: %+v %v", got, err)
	}
	// A long poll on the (all in flight) queue is answered by the next send.
	wait := int32(20)
	done := make(chan *wire.ReceiveMessageResult)
	go func() {
		out, _ := s.ReceiveMessage(ctx, scope, &wire.ReceiveMessageRequest{QueueUrl: q.QueueUrl, WaitTimeSeconds: &wait})
		done <- out
	}()
	send("3", "h", "d3")
	if out := <-done; len(out.Messages) != 1 || out.Messages[0].Body != "3" {
		t.Fatalf("long poll: %+v", out)
	}
}

// TestServiceValidation checks answers that moto's SQS suite (docs/sqs.md) compares with AWS's.
func TestServiceValidation(t *testing.T) {
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "barge.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	s := New(Config{Store: st, Region: "us-east-1"})
	ctx := WithEndpoint(context.Background(), "http://h")
	const scope = "000000000000"
	wantErr := func(what string, err error, code, msg string) {
		t.Helper()
		if err == nil {
			t.Errorf("%s: no error, want %s", what, code)
			return
		}
		if e := awserr.As(err); e.Code != code || (msg != "" && e.Message != msg) {
			t.Errorf("%s: %v, want %s %q", what, err, code, msg)
		}
	}
	fifo, err := s.CreateQueue(ctx, scope, &wire.CreateQueueRequest{QueueName: "f.fifo", Attributes: map[string]string{"FifoQueue": "true"}})
	if err != nil {
		t.Fatal(err)
	}
	std, err := s.CreateQueue(ctx, scope, &wire.CreateQueueRequest{QueueName: "s"})
	if err != nil {
		t.Fatal(err)
	}
	zero, five := int32(0), int32(5)

	// A FIFO queue takes DelaySeconds 0, and refuses any other per-message delay.
	_, err = s.SendMessage(ctx, scope, &wire.SendMessageRequest{QueueUrl: fifo.QueueUrl, MessageBody: "x", DelaySeconds: &zero, MessageGroupId: "g", MessageDeduplicationId: "d0"})
	if err != nil {
		t.Errorf("FIFO DelaySeconds 0: %v", err)
	}
	_, err = s.SendMessage(ctx, scope, &wire.SendMessageRequest{QueueUrl: fifo.QueueUrl, MessageBody: "x", DelaySeconds: &five, MessageGroupId: "g", MessageDeduplicationId: "d5"})
	wantErr("FIFO DelaySeconds 5", err, "InvalidParameterValue", "Value 5 for parameter DelaySeconds is invalid. Reason: The request include parameter that is not valid for this queue type.")

	// A FIFO batch entry without a group or deduplication id fails the whole request.
	_, err = s.SendMessageBatch(ctx, scope, &wire.SendMessageBatchRequest{QueueUrl: fifo.QueueUrl, Entries: []wire.SendMessageBatchRequestEntry{
		{Id: "a", MessageBody: "a", MessageGroupId: "g", MessageDeduplicationId: "a"}, {Id: "b", MessageBody: "b", MessageDeduplicationId: "b"}}})
	wantErr("batch without group", err, "MissingParameter", "The request must contain the parameter MessageGroupId.")
	_, err = s.SendMessageBatch(ctx, scope, &wire.SendMessageBatchRequest{QueueUrl: fifo.QueueUrl, Entries: []wire.SendMessageBatchRequestEntry{
		{Id: "a", MessageBody: "a", MessageGroupId: "g"}}})
	wantErr("batch without dedup id", err, "InvalidParameterValue", "")

	// A batch over the size limit is refused whole, even with a single entry.
	big := make([]byte, defaultMaxMessageSize+1)
	for i := range big {
		big[i] = 'b'
	}
	_, err = s.SendMessageBatch(ctx, scope, &wire.SendMessageBatchRequest{QueueUrl: std.QueueUrl, Entries: []wire.SendMessageBatchRequestEntry{{Id: "a", MessageBody: string(big)}}})
	wantErr("big batch", err, "BatchRequestTooLong", "Batch requests cannot be longer than 1048576 bytes. You have sent 1048577 bytes.")

	// AddPermission writes single principals and actions as strings, and checks its input.
	add := func(label string, accounts, actions []string) error {
		_, err := s.AddPermission(ctx, scope, &wire.AddPermissionRequest{QueueUrl: std.QueueUrl, Label: label, AWSAccountIds: accounts, Actions: actions})
		return err
	}
	if err := add("one", []string{"111111111111"}, []string{"*"}); err != nil {
		t.Fatal(err)
	}
	attrs, err := s.GetQueueAttributes(ctx, scope, &wire.GetQueueAttributesRequest{QueueUrl: std.QueueUrl, AttributeNames: []wire.QueueAttributeName{"Policy"}})
	if err != nil {
		t.Fatal(err)
	}
	var p struct{ Statement []map[string]any }
	if err := json.Unmarshal([]byte(attrs.Attributes["Policy"]), &p); err != nil || len(p.Statement) != 1 ||
		p.Statement[0]["Action"] != "SQS:*" || p.Statement[0]["Principal"].(map[string]any)["AWS"] != "arn:aws:iam::111111111111:root" {
		t.Errorf("policy: %s %v", attrs.Attributes["Policy"], err)
	}
	wantErr("duplicate label", add("one", []string{"111111111111"}, []string{"SendMessage"}), "InvalidParameterValue", "Value one for parameter Label is invalid. Reason: Already exists.")
	wantErr("owner-only action", add("two", []string{"111111111111"}, []string{"RemovePermission"}), "InvalidParameterValue",
		"Value SQS:RemovePermission for parameter ActionName is invalid. Reason: Only the queue owner is allowed to invoke this action.")
	wantErr("no accounts", add("two", nil, []string{"SendMessage"}), "InvalidParameterValue", "Value [] for parameter PrincipalId is invalid. Reason: Unable to verify.")
	wantErr("eight actions", add("two", []string{"111111111111"}, []string{"ChangeMessageVisibility", "DeleteMessage", "GetQueueAttributes",
		"GetQueueUrl", "ListDeadLetterSourceQueues", "PurgeQueue", "ReceiveMessage", "SendMessage"}), "OverLimit", "8 Actions were found, maximum allowed is 7.")
	_, err = s.RemovePermission(ctx, scope, &wire.RemovePermissionRequest{QueueUrl: std.QueueUrl, Label: "two"})
	wantErr("remove unknown label", err, "InvalidParameterValue", "Value two for parameter Label is invalid. Reason: can't find label on existing policy.")

	_, err = s.UntagQueue(ctx, scope, &wire.UntagQueueRequest{QueueUrl: std.QueueUrl})
	wantErr("untag nothing", err, "InvalidParameterValue", "Tag keys must be between 1 and 128 characters in length.")
}
