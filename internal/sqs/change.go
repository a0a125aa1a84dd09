package sqs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/barge-run/barge/internal/awserr"
	wire "github.com/barge-run/barge/internal/awstypes/sqs"
	"github.com/barge-run/barge/internal/store"
)

// failedEntry is a batch entry's failure as SQS reports it.
func failedEntry(id string, err error) wire.BatchResultErrorEntry {
	e := awserr.As(err)
	sender := e.Status < 500
	return wire.BatchResultErrorEntry{Id: id, Code: e.Code, Message: e.Message, SenderFault: &sender}
}

// change is one delete or visibility change named by a receipt handle.
type change struct {
	id, handle string
	visibility *int32 // nil: a delete
}

// apply runs changes on queue q in one store write; errs[i] is change i's failure.
func (s *Service) apply(ctx context.Context, q *queue, changes []change) ([]error, error) {
	errs := make([]error, len(changes))
	now := s.now()
	var sc []*store.MessageChange
	var idx []int
	for i, c := range changes {
		id, receipt, err := parseReceipt(q, c.handle)
		if err != nil {
			errs[i] = err
			continue
		}
		mc := &store.MessageChange{ID: id, Receipt: receipt, Delete: c.visibility == nil}
		if c.visibility != nil {
			if v := *c.visibility; v < 0 || v > 43200 {
				errs[i] = invalidValue("VisibilityTimeout", v, "VisibilityTimeout must be an integer between 0 and 43200.")
				continue
			}
			mc.VisibleAt = now.Add(secs(int(*c.visibility)))
		}
		sc, idx = append(sc, mc), append(idx, i)
	}
	if len(sc) == 0 {
		return errs, nil
	}
	if err := s.cfg.Store.MessageChangeMany(ctx, &store.MessageChangeParams{Queue: q.rec.ID, Now: now, Changes: sc}); err != nil {
		return nil, fmt.Errorf("queue %s: %w", q.rec.Name, err)
	}
	wake := false
	for j, mc := range sc {
		i := idx[j]
		switch {
		case mc.Delete:
			// Gone already, or received again since (the handle is stale): answered as done
			// and, for a stale handle, not deleted, as SQS documents.
			wake = wake || (mc.Err == nil && q.fifo())
		case errors.Is(mc.Err, store.ErrNotInFlight):
			errs[i] = code(http.StatusBadRequest, "MessageNotInflight", "The message referred to isn't in flight.")
		case mc.Err != nil:
			errs[i] = invalidValue("ReceiptHandle", changes[i].handle, "Message does not exist or is not available for visibility timeout change.")
		default:
			wake = wake || !mc.VisibleAt.After(now)
		}
	}
	if wake {
		s.waiters.wake(q.rec.ID)
	}
	return errs, nil
}

func (s *Service) one(ctx context.Context, scope, queueURL string, c change) (*struct{}, error) {
	q, err := s.resolve(ctx, scope, queueURL)
	if err != nil {
		return nil, err
	}
	if c.handle == "" {
		return nil, missingParameter("ReceiptHandle")
	}
	errs, err := s.apply(ctx, q, []change{c})
	if err != nil {
		return nil, err
	}
	return &struct{}{}, errs[0]
}

// DeleteMessage deletes the message a receipt handle names.
func (s *Service) DeleteMessage(ctx context.Context, scope string, in *wire.DeleteMessageRequest) (*struct{}, error) {
	return s.one(ctx, scope, in.QueueUrl, change{handle: in.ReceiptHandle})
}

// ChangeMessageVisibility sets when an in-flight message becomes visible again.
func (s *Service) ChangeMessageVisibility(ctx context.Context, scope string, in *wire.ChangeMessageVisibilityRequest) (*struct{}, error) {
	if in.VisibilityTimeout == nil {
		return nil, missingParameter("VisibilityTimeout")
	}
	return s.one(ctx, scope, in.QueueUrl, change{handle: in.ReceiptHandle, visibility: in.VisibilityTimeout})
}

// batch applies a batch of changes and sorts the outcomes into successes and failures.
func (s *Service) batch(ctx context.Context, scope, queueURL, kind string, changes []change) ([]string, []wire.BatchResultErrorEntry, error) {
	q, err := s.resolve(ctx, scope, queueURL)
	if err != nil {
		return nil, nil, err
	}
	ids := make([]string, len(changes))
	for i, c := range changes {
		ids[i] = c.id
	}
	if err := checkBatch(kind, ids); err != nil {
		return nil, nil, err
	}
	errs, err := s.apply(ctx, q, changes)
	if err != nil {
		return nil, nil, err
	}
	ok, failed := []string{}, []wire.BatchResultErrorEntry{}
	for i, err := range errs {
		if err != nil {
			failed = append(failed, failedEntry(ids[i], err))
		} else {
			ok = append(ok, ids[i])
		}
	}
	return ok, failed, nil
}

// DeleteMessageBatch deletes up to 10 messages in one write.
func (s *Service) DeleteMessageBatch(ctx context.Context, scope string, in *wire.DeleteMessageBatchRequest) (*wire.DeleteMessageBatchResult, error) {
	changes := make([]change, len(in.Entries))
	for i, e := range in.Entries {
		changes[i] = change{id: e.Id, handle: e.ReceiptHandle}
	}
	ok, failed, err := s.batch(ctx, scope, in.QueueUrl, "DeleteMessageBatchRequestEntry", changes)
	if err != nil {
		return nil, err
	}
	out := &wire.DeleteMessageBatchResult{Successful: []wire.DeleteMessageBatchResultEntry{}, Failed: failed}
	for _, id := range ok {
		out.Successful = append(out.Successful, wire.DeleteMessageBatchResultEntry{Id: id})
	}
	return out, nil
}

// ChangeMessageVisibilityBatch changes the visibility of up to 10 messages in one write.
func (s *Service) ChangeMessageVisibilityBatch(ctx context.Context, scope string, in *wire.ChangeMessageVisibilityBatchRequest) (*wire.ChangeMessageVisibilityBatchResult, error) {
	changes := make([]change, len(in.Entries))
	zero := int32(0)
	for i, e := range in.Entries {
		changes[i] = change{id: e.Id, handle: e.ReceiptHandle, visibility: e.VisibilityTimeout}
		if e.VisibilityTimeout == nil {
			changes[i].visibility = &zero
		}
	}
	ok, failed, err := s.batch(ctx, scope, in.QueueUrl, "ChangeMessageVisibilityBatchRequestEntry", changes)
	if err != nil {
		return nil, err
	}
	out := &wire.ChangeMessageVisibilityBatchResult{Successful: []wire.ChangeMessageVisibilityBatchResultEntry{}, Failed: failed}
	for _, id := range ok {
		out.Successful = append(out.Successful, wire.ChangeMessageVisibilityBatchResultEntry{Id: id})
	}
	return out, nil
}

// policy is a queue policy document, as AddPermission writes it.
type policy struct {
	Version   string           `json:"Version"`
	ID        string           `json:"Id,omitempty"`
	Statement []map[string]any `json:"Statement"`
}

// shareable are the actions AddPermission grants; the others only the queue's owner may call.
var shareable = map[string]bool{"*": true, "ChangeMessageVisibility": true, "DeleteMessage": true, "GetQueueAttributes": true,
	"GetQueueUrl": true, "ListDeadLetterSourceQueues": true, "PurgeQueue": true, "ReceiveMessage": true, "SendMessage": true}

// oneOrMany is a policy element as SQS writes it: a single value alone, several as a list.
func oneOrMany(v []string) any {
	if len(v) == 1 {
		return v[0]
	}
	return v
}

// AddPermission adds a statement (Sid Label) to the queue's Policy. barge stores policies; it
// does not let other accounts in by them (docs/sqs.md).
func (s *Service) AddPermission(ctx context.Context, scope string, in *wire.AddPermissionRequest) (*struct{}, error) {
	q, err := s.resolve(ctx, scope, in.QueueUrl)
	if err != nil {
		return nil, err
	}
	switch {
	case in.Label == "":
		return nil, missingParameter("Label")
	case len(in.Actions) == 0:
		return nil, missingParameter("Actions")
	case len(in.AWSAccountIds) == 0:
		return nil, invalidParameter("Value [] for parameter PrincipalId is invalid. Reason: Unable to verify.")
	case len(in.Actions) > 7: // "a maximum of seven actions per statement"
		return nil, code(http.StatusForbidden, "OverLimit", "%d Actions were found, maximum allowed is 7.", len(in.Actions))
	}
	for _, a := range in.Actions {
		if !shareable[a] {
			return nil, invalidValue("ActionName", "SQS:"+a, "Only the queue owner is allowed to invoke this action.")
		}
	}
	arn := s.arn(scope, q.rec.Name)
	return &struct{}{}, s.update(ctx, q, func(q *queue) error {
		p := policy{Version: "2012-10-17", ID: arn + "/SQSDefaultPolicy"}
		if v := q.rec.Attributes[attrPolicy]; v != "" {
			json.Unmarshal([]byte(v), &p)
		}
		for _, st := range p.Statement {
			if st["Sid"] == in.Label {
				return invalidValue("Label", in.Label, "Already exists.")
			}
		}
		var principals, actions []string
		for _, a := range in.AWSAccountIds {
			principals = append(principals, "arn:aws:iam::"+a+":root")
		}
		for _, a := range in.Actions {
			actions = append(actions, "SQS:"+a)
		}
		p.Statement = append(p.Statement, map[string]any{"Sid": in.Label, "Effect": "Allow",
			"Principal": map[string]any{"AWS": oneOrMany(principals)}, "Action": oneOrMany(actions), "Resource": arn})
		b, _ := json.Marshal(p)
		q.rec.Attributes[attrPolicy] = string(b)
		return nil
	})
}

// RemovePermission removes the statement Label from the queue's Policy.
func (s *Service) RemovePermission(ctx context.Context, scope string, in *wire.RemovePermissionRequest) (*struct{}, error) {
	q, err := s.resolve(ctx, scope, in.QueueUrl)
	if err != nil {
		return nil, err
	}
	return &struct{}{}, s.update(ctx, q, func(q *queue) error {
		var p policy
		if json.Unmarshal([]byte(q.rec.Attributes[attrPolicy]), &p) != nil {
			return invalidValue("Label", in.Label, "can't find label on existing policy.")
		}
		n := len(p.Statement)
		for i, st := range p.Statement {
			if st["Sid"] == in.Label {
				p.Statement = append(p.Statement[:i], p.Statement[i+1:]...)
				break
			}
		}
		if len(p.Statement) == n {
			return invalidValue("Label", in.Label, "can't find label on existing policy.")
		}
		if len(p.Statement) == 0 {
			delete(q.rec.Attributes, attrPolicy)
			return nil
		}
		b, _ := json.Marshal(p)
		q.rec.Attributes[attrPolicy] = string(b)
		return nil
	})
}
