package e2e_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/smithy-go"

	"github.com/barge-run/barge/internal/account"
	"github.com/barge-run/barge/internal/bargetest"
)

// sqsT drives one barge's SQS through aws-sdk-go-v2 in one test.
type sqsT struct {
	t   *testing.T
	ctx context.Context
	c   *sqs.Client
}

func newSQS(t *testing.T, b *bargetest.Barge) sqsT {
	ctx, cancel := context.WithTimeout(t.Context(), 90*time.Second)
	t.Cleanup(cancel)
	return sqsT{t: t, ctx: ctx, c: sqs.NewFromConfig(b.Config())}
}

func (s sqsT) create(name string, attrs map[string]string) string {
	s.t.Helper()
	out, err := s.c.CreateQueue(s.ctx, &sqs.CreateQueueInput{QueueName: aws.String(name), Attributes: attrs})
	if err != nil {
		s.t.Fatalf("CreateQueue %s: %v", name, err)
	}
	return *out.QueueUrl
}

func (s sqsT) send(url, body string, mut ...func(*sqs.SendMessageInput)) *sqs.SendMessageOutput {
	s.t.Helper()
	in := &sqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String(body)}
	for _, m := range mut {
		m(in)
	}
	out, err := s.c.SendMessage(s.ctx, in)
	if err != nil {
		s.t.Fatalf("SendMessage %q: %v", body, err)
	}
	return out
}

func (s sqsT) receive(url string, max, wait int32, visibility ...int32) []types.Message {
	s.t.Helper()
	in := &sqs.ReceiveMessageInput{QueueUrl: aws.String(url), MaxNumberOfMessages: max, WaitTimeSeconds: wait,
		MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameAll},
		MessageAttributeNames:       []string{"All"}}
	if len(visibility) > 0 {
		in.VisibilityTimeout = visibility[0]
	}
	out, err := s.c.ReceiveMessage(s.ctx, in)
	if err != nil {
		s.t.Fatalf("ReceiveMessage: %v", err)
	}
	return out.Messages
}

func (s sqsT) del(url string, m types.Message) {
	s.t.Helper()
	if _, err := s.c.DeleteMessage(s.ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(url), ReceiptHandle: m.ReceiptHandle}); err != nil {
		s.t.Fatalf("DeleteMessage: %v", err)
	}
}

func bodies(ms []types.Message) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = aws.ToString(m.Body)
	}
	return out
}

// wantCode fails unless err is an API error with code.
func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) || (ae.ErrorCode() != code && fmt.Sprintf("%T", ae) != "*types."+code) {
		t.Fatalf("got %v, want %s", err, code)
	}
}

// TestSQSGoSDK runs SQS's behaviours through aws-sdk-go-v2 (which checks the body MD5s).
func TestSQSGoSDK(t *testing.T) {
	t.Parallel()
	b := bargetest.Start(t)
	for _, tc := range []struct {
		name string
		run  func(s sqsT)
	}{
		{"LongPollAnsweredOnSend", testSQSLongPoll},
		{"VisibilityAndRedelivery", testSQSVisibility},
		{"DeadLetterAndMoveTask", testSQSDeadLetter},
		{"FIFOOrderAndDedup", testSQSFIFO},
		{"BatchErrors", testSQSBatchErrors},
		{"QueueLifecycle", testSQSQueues},
		{"PermissionsAndChanges", testSQSPermissionsAndChanges},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.run(newSQS(t, b))
		})
	}
	t.Run("AccountsApart", func(t *testing.T) { testSQSAccounts(t, b) })
}

func testSQSLongPoll(s sqsT) {
	url := s.create("longpoll", nil)
	if got := s.receive(url, 1, 1); len(got) != 0 {
		s.t.Fatalf("empty queue answered %v", bodies(got))
	}
	got := make(chan []types.Message, 1)
	go func() {
		out, err := s.c.ReceiveMessage(s.ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(url), WaitTimeSeconds: 20})
		if err != nil {
			s.t.Error(err)
		}
		got <- out.Messages
	}()
	s.send(url, "wake up")
	// The 20 s poll returns with the message: it was woken by the send, not by its deadline
	// (which would have answered nothing had the send come after the poll looked).
	if ms := <-got; len(ms) != 1 || *ms[0].Body != "wake up" {
		s.t.Fatalf("long poll answered %v", bodies(ms))
	}
}

func testSQSVisibility(s sqsT) {
	url := s.create("visibility", map[string]string{"VisibilityTimeout": "1"})
	s.send(url, "again", func(in *sqs.SendMessageInput) {
		in.MessageAttributes = map[string]types.MessageAttributeValue{"n": {DataType: aws.String("Number"), StringValue: aws.String("7")}}
	})
	first := s.receive(url, 10, 0)
	if len(first) != 1 || first[0].Attributes["ApproximateReceiveCount"] != "1" || first[0].MessageAttributes["n"].StringValue == nil {
		s.t.Fatalf("first receive %+v", first)
	}
	if again := s.receive(url, 10, 0); len(again) != 0 {
		s.t.Fatalf("in-flight message delivered again: %v", bodies(again))
	}
	// Waited for: visible again when its timeout ends, with a second receive count.
	second := s.receive(url, 10, 10)
	if len(second) != 1 || second[0].Attributes["ApproximateReceiveCount"] != "2" || *second[0].ReceiptHandle == *first[0].ReceiptHandle {
		s.t.Fatalf("redelivery %+v", second)
	}
	// The older handle is stale: deleting with it succeeds and deletes nothing, as on SQS.
	s.del(url, first[0])
	_, err := s.c.ChangeMessageVisibility(s.ctx, &sqs.ChangeMessageVisibilityInput{QueueUrl: aws.String(url), ReceiptHandle: second[0].ReceiptHandle, VisibilityTimeout: 0})
	if err != nil {
		s.t.Fatal(err)
	}
	third := s.receive(url, 1, 5, 30)
	if len(third) != 1 {
		s.t.Fatalf("after a visibility change to 0: %v", bodies(third))
	}
	_, err = s.c.ChangeMessageVisibility(s.ctx, &sqs.ChangeMessageVisibilityInput{QueueUrl: aws.String(url), ReceiptHandle: aws.String("bad"), VisibilityTimeout: 5})
	wantCode(s.t, err, "ReceiptHandleIsInvalid")
	s.del(url, third[0])
	_, err = s.c.ChangeMessageVisibility(s.ctx, &sqs.ChangeMessageVisibilityInput{QueueUrl: aws.String(url), ReceiptHandle: third[0].ReceiptHandle, VisibilityTimeout: 5})
	wantCode(s.t, err, "InvalidParameterValue")
}

func testSQSDeadLetter(s sqsT) {
	dlq := s.create("dead", nil)
	attrs, err := s.c.GetQueueAttributes(s.ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(dlq), AttributeNames: []types.QueueAttributeName{"QueueArn"}})
	if err != nil {
		s.t.Fatal(err)
	}
	dlqArn := attrs.Attributes["QueueArn"]
	// VisibilityTimeout 0 (the SDK cannot send a receive's 0): each receive may take it again.
	src := s.create("source", map[string]string{"VisibilityTimeout": "0",
		"RedrivePolicy": `{"deadLetterTargetArn":"` + dlqArn + `","maxReceiveCount":"2"}`})
	s.send(src, "poison")
	for i := range 2 {
		if got := s.receive(src, 1, 0); len(got) != 1 {
			s.t.Fatalf("receive %d: %v", i+1, bodies(got))
		}
	}
	if got := s.receive(src, 1, 0); len(got) != 0 {
		s.t.Fatalf("received more than maxReceiveCount: %v", bodies(got))
	}
	dead := s.receive(dlq, 1, 5)
	if len(dead) != 1 || *dead[0].Body != "poison" || dead[0].Attributes["DeadLetterQueueSourceArn"] == "" {
		s.t.Fatalf("dead-letter queue holds %+v", dead)
	}
	// Visible again, so that the move task takes it at once.
	if _, err := s.c.ChangeMessageVisibility(s.ctx, &sqs.ChangeMessageVisibilityInput{QueueUrl: aws.String(dlq), ReceiptHandle: dead[0].ReceiptHandle}); err != nil {
		s.t.Fatal(err)
	}
	sources, err := s.c.ListDeadLetterSourceQueues(s.ctx, &sqs.ListDeadLetterSourceQueuesInput{QueueUrl: aws.String(dlq)})
	if err != nil || !slices.Equal(sources.QueueUrls, []string{src}) {
		s.t.Fatalf("ListDeadLetterSourceQueues: %v %v", sources, err)
	}
	if _, err := s.c.StartMessageMoveTask(s.ctx, &sqs.StartMessageMoveTaskInput{SourceArn: aws.String(dlqArn)}); err != nil {
		s.t.Fatal(err)
	}
	for {
		tasks, err := s.c.ListMessageMoveTasks(s.ctx, &sqs.ListMessageMoveTasksInput{SourceArn: aws.String(dlqArn)})
		if err != nil {
			s.t.Fatal(err)
		}
		if len(tasks.Results) == 1 && *tasks.Results[0].Status == "COMPLETED" {
			if tasks.Results[0].ApproximateNumberOfMessagesMoved != 1 {
				s.t.Fatalf("moved %d", tasks.Results[0].ApproximateNumberOfMessagesMoved)
			}
			break
		}
	}
	if back := s.receive(src, 1, 5); len(back) != 1 || *back[0].Body != "poison" || back[0].Attributes["ApproximateReceiveCount"] != "1" {
		s.t.Fatalf("after the move task: %+v", back)
	}
}

func testSQSFIFO(s sqsT) {
	url := s.create("orders.fifo", map[string]string{"FifoQueue": "true", "ContentBasedDeduplication": "true"})
	var seqs []string
	ids := map[string]string{}
	for _, m := range [][2]string{{"g1", "g1-1"}, {"g2", "g2-1"}, {"g1", "g1-2"}, {"g1", "g1-3"}, {"g1", "g1-1"}} {
		out := s.send(url, m[1], func(in *sqs.SendMessageInput) { in.MessageGroupId = aws.String(m[0]) })
		if prev, dup := ids[m[1]]; dup && prev != *out.MessageId {
			s.t.Fatalf("duplicate of %s got a new id", m[1])
		} else if !dup {
			seqs = append(seqs, *out.SequenceNumber)
		}
		ids[m[1]] = *out.MessageId
	}
	if !slices.IsSorted(seqs) || len(seqs) != 4 {
		s.t.Fatalf("sequence numbers %v", seqs)
	}
	_, err := s.c.SendMessage(s.ctx, &sqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String("x")})
	wantCode(s.t, err, "MissingParameter")
	first := s.receive(url, 1, 0)
	if !slices.Equal(bodies(first), []string{"g1-1"}) || first[0].Attributes["MessageGroupId"] != "g1" {
		s.t.Fatalf("first: %v", bodies(first))
	}
	// g1 has a message in flight: only g2 can be delivered.
	if got := s.receive(url, 10, 0); !slices.Equal(bodies(got), []string{"g2-1"}) {
		s.t.Fatalf("while g1 is in flight: %v", bodies(got))
	}
	s.del(url, first[0])
	if got := s.receive(url, 10, 0); !slices.Equal(bodies(got), []string{"g1-2", "g1-3"}) {
		s.t.Fatalf("after g1's head was deleted: %v", bodies(got))
	}
}

func testSQSBatchErrors(s sqsT) {
	url := s.create("batches", nil)
	entries := func(n int) []types.SendMessageBatchRequestEntry {
		var out []types.SendMessageBatchRequestEntry
		for i := range n {
			out = append(out, types.SendMessageBatchRequestEntry{Id: aws.String("e" + strconv.Itoa(i)), MessageBody: aws.String("m" + strconv.Itoa(i))})
		}
		return out
	}
	for _, tc := range []struct {
		entries []types.SendMessageBatchRequestEntry
		code    string
	}{
		{[]types.SendMessageBatchRequestEntry{}, "EmptyBatchRequest"},
		{entries(11), "TooManyEntriesInBatchRequest"},
		{append(entries(1), entries(1)...), "BatchEntryIdsNotDistinct"},
		{[]types.SendMessageBatchRequestEntry{{Id: aws.String("no spaces"), MessageBody: aws.String("x")}}, "InvalidBatchEntryId"},
	} {
		_, err := s.c.SendMessageBatch(s.ctx, &sqs.SendMessageBatchInput{QueueUrl: aws.String(url), Entries: tc.entries})
		wantCode(s.t, err, tc.code)
	}
	mixed := append(entries(2), types.SendMessageBatchRequestEntry{Id: aws.String("bad"), MessageBody: aws.String("x"), DelaySeconds: 901})
	out, err := s.c.SendMessageBatch(s.ctx, &sqs.SendMessageBatchInput{QueueUrl: aws.String(url), Entries: mixed})
	if err != nil || len(out.Successful) != 2 || len(out.Failed) != 1 || *out.Failed[0].Id != "bad" || !out.Failed[0].SenderFault {
		s.t.Fatalf("partial batch: %+v %v", out, err)
	}
	got := s.receive(url, 10, 1)
	if len(got) != 2 {
		s.t.Fatalf("received %v", bodies(got))
	}
	del, err := s.c.DeleteMessageBatch(s.ctx, &sqs.DeleteMessageBatchInput{QueueUrl: aws.String(url), Entries: []types.DeleteMessageBatchRequestEntry{
		{Id: aws.String("a"), ReceiptHandle: got[0].ReceiptHandle}, {Id: aws.String("b"), ReceiptHandle: aws.String("garbage")}}})
	if err != nil || len(del.Successful) != 1 || len(del.Failed) != 1 || *del.Failed[0].Code != "ReceiptHandleIsInvalid" {
		s.t.Fatalf("DeleteMessageBatch: %+v %v", del, err)
	}
}

func testSQSQueues(s sqsT) {
	url := s.create("life", map[string]string{"DelaySeconds": "0"})
	if again := s.create("life", map[string]string{"DelaySeconds": "0"}); again != url {
		s.t.Fatalf("idempotent CreateQueue answered %s", again)
	}
	_, err := s.c.CreateQueue(s.ctx, &sqs.CreateQueueInput{QueueName: aws.String("life"), Attributes: map[string]string{"DelaySeconds": "5"}})
	wantCode(s.t, err, "QueueNameExists")
	_, err = s.c.CreateQueue(s.ctx, &sqs.CreateQueueInput{QueueName: aws.String("bad"), Attributes: map[string]string{"Nope": "1"}})
	wantCode(s.t, err, "InvalidAttributeName")
	for i := range 3 {
		s.create("page-"+strconv.Itoa(i), nil)
	}
	var listed []string
	p := sqs.NewListQueuesPaginator(s.c, &sqs.ListQueuesInput{QueueNamePrefix: aws.String("page-"), MaxResults: aws.Int32(2)})
	for p.HasMorePages() {
		page, err := p.NextPage(s.ctx)
		if err != nil {
			s.t.Fatal(err)
		}
		listed = append(listed, page.QueueUrls...)
	}
	if len(listed) != 3 {
		s.t.Fatalf("paged ListQueues: %v", listed)
	}
	if _, err := s.c.TagQueue(s.ctx, &sqs.TagQueueInput{QueueUrl: aws.String(url), Tags: map[string]string{"team": "a", "x": "y"}}); err != nil {
		s.t.Fatal(err)
	}
	if _, err := s.c.UntagQueue(s.ctx, &sqs.UntagQueueInput{QueueUrl: aws.String(url), TagKeys: []string{"x"}}); err != nil {
		s.t.Fatal(err)
	}
	tags, err := s.c.ListQueueTags(s.ctx, &sqs.ListQueueTagsInput{QueueUrl: aws.String(url)})
	if err != nil || len(tags.Tags) != 1 || tags.Tags["team"] != "a" {
		s.t.Fatalf("tags %v %v", tags, err)
	}
	s.send(url, "purged")
	s.send(url, "delayed", func(in *sqs.SendMessageInput) { in.DelaySeconds = 600 })
	attrs, err := s.c.GetQueueAttributes(s.ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(url), AttributeNames: []types.QueueAttributeName{"All"}})
	if err != nil || attrs.Attributes["ApproximateNumberOfMessages"] != "1" || attrs.Attributes["ApproximateNumberOfMessagesDelayed"] != "1" {
		s.t.Fatalf("attributes %v %v", attrs, err)
	}
	if _, err := s.c.PurgeQueue(s.ctx, &sqs.PurgeQueueInput{QueueUrl: aws.String(url)}); err != nil {
		s.t.Fatal(err)
	}
	_, err = s.c.PurgeQueue(s.ctx, &sqs.PurgeQueueInput{QueueUrl: aws.String(url)})
	wantCode(s.t, err, "PurgeQueueInProgress")
	if _, err := s.c.DeleteQueue(s.ctx, &sqs.DeleteQueueInput{QueueUrl: aws.String(url)}); err != nil {
		s.t.Fatal(err)
	}
	_, err = s.c.GetQueueUrl(s.ctx, &sqs.GetQueueUrlInput{QueueName: aws.String("life")})
	wantCode(s.t, err, "QueueDoesNotExist")
	_, err = s.c.CreateQueue(s.ctx, &sqs.CreateQueueInput{QueueName: aws.String("life")})
	wantCode(s.t, err, "QueueDeletedRecently")
}

func testSQSAccounts(t *testing.T, b *bargetest.Barge) {
	other, err := account.Add(b.DataDir, "111111111111")
	if err != nil {
		t.Fatal(err)
	}
	a := newSQS(t, b)
	o := sqsT{t: t, ctx: a.ctx, c: sqs.NewFromConfig(b.Config(other))}
	mine := a.create("shared-name", nil)
	theirs := o.create("shared-name", nil)
	if mine == theirs {
		t.Fatalf("two accounts got one queue URL %s", mine)
	}
	a.send(mine, "for a only")
	if got := o.receive(theirs, 10, 0); len(got) != 0 {
		t.Fatalf("the other account's queue holds %v", bodies(got))
	}
	_, err = o.c.ReceiveMessage(o.ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(mine)})
	wantCode(t, err, "QueueDoesNotExist")
	_, err = o.c.SendMessage(o.ctx, &sqs.SendMessageInput{QueueUrl: aws.String(mine), MessageBody: aws.String("x")})
	wantCode(t, err, "QueueDoesNotExist")
	if got := a.receive(mine, 10, 0); !slices.Equal(bodies(got), []string{"for a only"}) {
		t.Fatalf("owner received %v", bodies(got))
	}
}

// testSQSPermissionsAndChanges: the operations the other cases do not drive — queue permissions,
// attributes set after creation, visibility changed in a batch, a move task cancelled.
func testSQSPermissionsAndChanges(s sqsT) {
	url := s.create("changes", nil)
	policy := func() string {
		s.t.Helper()
		out, err := s.c.GetQueueAttributes(s.ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(url), AttributeNames: []types.QueueAttributeName{"Policy", "VisibilityTimeout"}})
		if err != nil {
			s.t.Fatal(err)
		}
		return out.Attributes["Policy"] + " visibility=" + out.Attributes["VisibilityTimeout"]
	}
	if _, err := s.c.AddPermission(s.ctx, &sqs.AddPermissionInput{QueueUrl: aws.String(url), Label: aws.String("partner"),
		AWSAccountIds: []string{"111122223333"}, Actions: []string{"SendMessage"}}); err != nil {
		s.t.Fatal(err)
	}
	if p := policy(); !strings.Contains(p, `"partner"`) || !strings.Contains(p, "111122223333") {
		s.t.Fatalf("policy after AddPermission: %s", p)
	}
	if _, err := s.c.RemovePermission(s.ctx, &sqs.RemovePermissionInput{QueueUrl: aws.String(url), Label: aws.String("partner")}); err != nil {
		s.t.Fatal(err)
	}
	if _, err := s.c.SetQueueAttributes(s.ctx, &sqs.SetQueueAttributesInput{QueueUrl: aws.String(url), Attributes: map[string]string{"VisibilityTimeout": "40"}}); err != nil {
		s.t.Fatal(err)
	}
	if p := policy(); strings.Contains(p, "partner") || !strings.HasSuffix(p, "visibility=40") {
		s.t.Fatalf("after RemovePermission and SetQueueAttributes: %s", p)
	}
	s.send(url, "one")
	s.send(url, "two")
	got := s.receive(url, 2, 5)
	if len(got) != 2 {
		s.t.Fatalf("received %v", bodies(got))
	}
	entries := []types.ChangeMessageVisibilityBatchRequestEntry{
		{Id: aws.String("a"), ReceiptHandle: got[0].ReceiptHandle, VisibilityTimeout: 0},
		{Id: aws.String("b"), ReceiptHandle: got[1].ReceiptHandle, VisibilityTimeout: 0},
	}
	if out, err := s.c.ChangeMessageVisibilityBatch(s.ctx, &sqs.ChangeMessageVisibilityBatchInput{QueueUrl: aws.String(url), Entries: entries}); err != nil || len(out.Successful) != 2 {
		s.t.Fatalf("ChangeMessageVisibilityBatch: %+v %v", out, err)
	}
	if again := s.receive(url, 2, 5); len(again) != 2 {
		s.t.Fatalf("visible again after the batch change: %v", bodies(again))
	}
	// A move task waits while a message of the dead-letter queue is in flight: cancelled then.
	dlq := s.create("cancel-dead", nil)
	attrs, err := s.c.GetQueueAttributes(s.ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(dlq), AttributeNames: []types.QueueAttributeName{"QueueArn"}})
	if err != nil {
		s.t.Fatal(err)
	}
	dlqArn := attrs.Attributes["QueueArn"]
	s.create("cancel-source", map[string]string{"RedrivePolicy": `{"deadLetterTargetArn":"` + dlqArn + `","maxReceiveCount":"3"}`})
	s.send(dlq, "held")
	if held := s.receive(dlq, 1, 5, 60); len(held) != 1 {
		s.t.Fatalf("received from the dead-letter queue: %v", bodies(held))
	}
	task, err := s.c.StartMessageMoveTask(s.ctx, &sqs.StartMessageMoveTaskInput{SourceArn: aws.String(dlqArn)})
	if err != nil {
		s.t.Fatal(err)
	}
	if _, err := s.c.CancelMessageMoveTask(s.ctx, &sqs.CancelMessageMoveTaskInput{TaskHandle: task.TaskHandle}); err != nil {
		s.t.Fatal(err)
	}
	tasks, err := s.c.ListMessageMoveTasks(s.ctx, &sqs.ListMessageMoveTasksInput{SourceArn: aws.String(dlqArn)})
	if err != nil || len(tasks.Results) != 1 || aws.ToString(tasks.Results[0].Status) != "CANCELLED" {
		s.t.Fatalf("after CancelMessageMoveTask: %+v %v", tasks, err)
	}
	_, err = s.c.CancelMessageMoveTask(s.ctx, &sqs.CancelMessageMoveTaskInput{TaskHandle: task.TaskHandle})
	wantCode(s.t, err, "UnsupportedOperation")
}
