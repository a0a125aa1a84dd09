package e2e_test

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/barge-run/barge/internal/bargetest"
)

// TestSQSMetrics: /metrics follows a queue's depth by state and the age of its oldest message.
func TestSQSMetrics(t *testing.T) {
	t.Parallel()
	b := bargetest.Start(t)
	q, ctx := sqs.NewFromConfig(b.Config()), context.Background()
	out, err := q.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("watched")})
	if err != nil {
		t.Fatal(err)
	}
	for _, body := range []string{"a", "b", "c"} {
		if _, err := q.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: out.QueueUrl, MessageBody: aws.String(body)}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := q.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: out.QueueUrl, MessageBody: aws.String("later"), DelaySeconds: 600}); err != nil {
		t.Fatal(err)
	}
	if got, err := q.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: out.QueueUrl, VisibilityTimeout: 600}); err != nil || len(got.Messages) != 1 {
		t.Fatalf("receive: %v %v", got, err)
	}
	m := scrape(t, b)
	acct := b.Cred.AccountID
	for state, want := range map[string]float64{"visible": 2, "in_flight": 1, "delayed": 1} {
		if got := m[series("barge_sqs_messages", "account="+acct, "queue=watched", "state="+state)]; got != want {
			t.Errorf("barge_sqs_messages %s = %v, want %v", state, got, want)
		}
	}
	if age, ok := m[series("barge_sqs_oldest_message_age_seconds", "account="+acct, "queue=watched")]; !ok || age < 0 {
		t.Errorf("barge_sqs_oldest_message_age_seconds = %v (%v)", age, ok)
	}
}
