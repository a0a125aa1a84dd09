package sqs

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	wire "github.com/barge-run/barge/internal/awstypes/sqs"
	"github.com/barge-run/barge/internal/store"
)

func jsonBytes(v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encode message: %w", err)
	}
	return b, nil
}

// receiptHandle names one receive of one message of one queue incarnation.
func receiptHandle(m *store.Message) string {
	return base64.RawURLEncoding.EncodeToString([]byte(m.Queue + "/" + m.ID + "/" + m.Receipt))
}

// parseReceipt decodes a receipt handle given for queue q.
func parseReceipt(q *queue, handle string) (id, receipt string, err error) {
	b, derr := base64.RawURLEncoding.DecodeString(handle)
	parts := strings.Split(string(b), "/")
	if handle == "" || derr != nil || len(parts) != 3 || parts[1] == "" || parts[2] == "" {
		return "", "", receiptInvalid(handle)
	}
	if parts[0] != q.rec.ID {
		return "", "", receiptInvalid(handle)
	}
	return parts[1], parts[2], nil
}

// receiveParams are a ReceiveMessage's checked numbers.
type receiveParams struct {
	max        int
	visibility time.Duration
	wait       time.Duration
}

func checkReceive(q *queue, in *wire.ReceiveMessageRequest) (receiveParams, error) {
	p := receiveParams{max: 1, visibility: secs(q.intAttr(attrVisibility)), wait: secs(q.intAttr(attrWait))}
	if n := in.MaxNumberOfMessages; n != nil {
		if *n < 1 || *n > 10 {
			return p, invalidValue("MaxNumberOfMessages", *n, "Must be between 1 and 10, if provided.")
		}
		p.max = int(*n)
	}
	if v := in.VisibilityTimeout; v != nil {
		if *v < 0 || *v > 43200 {
			return p, invalidValue("VisibilityTimeout", *v, "Must be >= 0 and <= 43200, if provided.")
		}
		p.visibility = secs(int(*v))
	}
	if w := in.WaitTimeSeconds; w != nil {
		if *w < 0 || *w > 20 {
			return p, invalidValue("WaitTimeSeconds", *w, "Must be >= 0 and <= 20, if provided.")
		}
		p.wait = secs(int(*w))
	}
	return p, nil
}

// ReceiveMessage claims up to MaxNumberOfMessages messages, waiting up to WaitTimeSeconds (or
// the queue's ReceiveMessageWaitTimeSeconds) for one: it answers as soon as a send, a visibility
// change or a timeout's end makes one receivable.
func (s *Service) ReceiveMessage(ctx context.Context, scope string, in *wire.ReceiveMessageRequest) (*wire.ReceiveMessageResult, error) {
	q, err := s.resolve(ctx, scope, in.QueueUrl)
	if err != nil {
		return nil, err
	}
	p, err := checkReceive(q, in)
	if err != nil {
		return nil, err
	}
	dlq, maxReceives, err := s.deadLetter(ctx, q)
	if err != nil {
		return nil, err
	}
	deadline := s.now().Add(p.wait)
	for {
		wake := s.waiters.ch(q.rec.ID)
		now := s.now()
		res, err := s.cfg.Store.MessageReceive(ctx, &store.MessageReceiveParams{Queue: q.rec.ID, Now: now, Until: now.Add(p.visibility),
			Limit: p.max, FIFO: q.fifo(), RetainAfter: now.Add(-secs(q.intAttr(attrRetention))), MaxReceives: maxReceives, DeadLetter: dlq})
		if err != nil {
			return nil, fmt.Errorf("receive from %s: %w", q.rec.Name, err)
		}
		if res.Moved > 0 {
			s.waiters.wake(dlq)
		}
		if len(res.Messages) > 0 || !now.Before(deadline) {
			return s.render(scope, q, in, res.Messages), nil
		}
		next := deadline
		if !res.NextVisible.IsZero() && res.NextVisible.Before(next) {
			next = res.NextVisible
		}
		if every := s.cfg.LookEvery; every > 0 && now.Add(every).Before(next) {
			next = now.Add(every)
		}
		timer := time.NewTimer(next.Sub(now))
		select {
		case <-wake:
		case <-timer.C:
		case <-ctx.Done():
			timer.Stop()
			return &wire.ReceiveMessageResult{}, nil // the client left; it receives nothing
		}
		timer.Stop()
	}
}

// deadLetter is the queue id and maxReceiveCount of q's dead-letter queue ("" and 0: none, or
// its target is gone).
func (s *Service) deadLetter(ctx context.Context, q *queue) (string, int, error) {
	arn, max, ok := parseRedrive(q.rec.Attributes[attrRedrive])
	if !ok {
		return "", 0, nil
	}
	dlq, err := s.resolveARN(ctx, q.scope, arn)
	if err != nil {
		return "", 0, nil
	}
	return dlq.rec.ID, max, nil
}

// render answers received messages with the system and message attributes asked for.
func (s *Service) render(scope string, q *queue, in *wire.ReceiveMessageRequest, msgs []*store.Message) *wire.ReceiveMessageResult {
	sys := map[string]bool{}
	for _, n := range in.AttributeNames {
		sys[string(n)] = true
	}
	for _, n := range in.MessageSystemAttributeNames {
		sys[string(n)] = true
	}
	out := &wire.ReceiveMessageResult{}
	for _, m := range msgs {
		var b messageBody
		if err := json.Unmarshal(m.Body, &b); err != nil {
			s.cfg.Logger.Error("undecodable message", "queue", q.rec.Name, "id", m.ID, "err", err)
			continue
		}
		msg := wire.Message{MessageId: m.ID, ReceiptHandle: receiptHandle(m), Body: b.Body, MD5OfBody: md5Hex(b.Body)}
		msg.Attributes = s.systemAttributes(scope, sys, q, m, &b)
		if attrs := selectAttributes(in.MessageAttributeNames, b.Attrs); len(attrs) > 0 {
			msg.MessageAttributes, msg.MD5OfMessageAttributes = attrs, md5OfAttributes(attrs)
		}
		out.Messages = append(out.Messages, msg)
	}
	return out
}

func (s *Service) systemAttributes(scope string, want map[string]bool, q *queue, m *store.Message, b *messageBody) map[string]string {
	all := want["All"]
	out := map[string]string{}
	add := func(name, v string) {
		if (all || want[name]) && v != "" {
			out[name] = v
		}
	}
	add("SenderId", b.Sender)
	add("SentTimestamp", strconv.FormatInt(m.SentAt.UnixMilli(), 10))
	add("ApproximateReceiveCount", strconv.Itoa(m.ReceiveCount))
	add("ApproximateFirstReceiveTimestamp", strconv.FormatInt(m.FirstReceiveAt.UnixMilli(), 10))
	if q.fifo() {
		add("MessageGroupId", m.Group)
		add("MessageDeduplicationId", b.DedupID)
		add("SequenceNumber", sequenceNumber(m))
	}
	if v, ok := b.Sys["AWSTraceHeader"]; ok {
		add("AWSTraceHeader", v.StringValue)
	}
	if m.Source != "" {
		add("DeadLetterQueueSourceArn", s.sourceARN(scope, m.Source))
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// sourceARN names the queue a dead letter came from: its id is recorded, the name is not, so
// this finds it by id among the scope's queues (rarely asked for).
func (s *Service) sourceARN(scope, id string) string {
	queues, _, err := s.listQueues(context.Background(), scope, "", 1000, func(q *queue) bool { return q.rec.ID == id })
	if err != nil || len(queues) == 0 {
		return ""
	}
	return s.arn(scope, queues[0].rec.Name)
}

// selectAttributes picks the message attributes asked for: All, .*, prefix.* or names.
func selectAttributes(names []string, attrs map[string]wire.MessageAttributeValue) map[string]wire.MessageAttributeValue {
	if len(names) == 0 || len(attrs) == 0 {
		return nil
	}
	out := map[string]wire.MessageAttributeValue{}
	for name, v := range attrs {
		for _, want := range names {
			// "prefix.*" is every attribute whose name starts with prefix (".*": all of them).
			prefix, wild := strings.CutSuffix(want, ".*")
			if want == "All" || (wild && strings.HasPrefix(name, prefix)) || want == name {
				out[name] = v
				break
			}
		}
	}
	return out
}
