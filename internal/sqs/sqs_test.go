package sqs

import (
	"context"
	"path/filepath"
	"slices"
	"testing"

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
	attrs := map[string]wire.MessageAttributeValue{"a.x": {}, "a.y": {}, "b": {}}
	for _, tc := range []struct {
		names []string
		want  []string
	}{
		{nil, nil},
		{[]string{"All"}, []string{"a.x", "a.y", "b"}},
		{[]string{".*"}, []string{"a.x", "a.y", "b"}},
		{[]string{"a.*"}, []string{"a.x", "a.y"}},
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
