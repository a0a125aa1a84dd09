package esm

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/barge-run/barge/internal/awserr"
	lw "github.com/barge-run/barge/internal/awstypes/lambda"
	sw "github.com/barge-run/barge/internal/awstypes/sqs"
	"github.com/barge-run/barge/internal/eventfilter"
	"github.com/barge-run/barge/internal/store"
)

// maxPayload keeps a batch's bodies below the 6 MB a synchronous invocation takes, with room
// for the records' other fields.
const maxPayload = 5 << 20

// run is one poller: receive a batch, invoke, settle the messages, until the mapping stops
// polling, the slot parks, or ctx ends.
func (s *Service) run(ctx context.Context, p *poller) {
	parkedSlot := false
	defer func() {
		if !parkedSlot {
			s.release(p)
		}
	}()
	for ctx.Err() == nil {
		rec, _, err := s.get(ctx, p.scope, p.mapping)
		if ae := (*awserr.Error)(nil); errors.As(err, &ae) && ae.Status == http.StatusNotFound {
			// An orphan of a mapping deleted halfway: nothing will ever poll it.
			s.cfg.Store.ResourceDelete(context.Background(), p.scope, KindSlot, p.slot.Name, 0)
			parkedSlot = true
			return
		}
		if err != nil || !rec.polling() {
			return
		}
		msgs, full := s.collect(ctx, p.scope, rec)
		if len(msgs) == 0 {
			if p.index > 0 && ctx.Err() == nil {
				parkedSlot = s.park(p)
				return
			}
			continue
		}
		if full {
			s.wakeNext(p)
		}
		s.process(context.WithoutCancel(ctx), p.scope, rec, msgs)
	}
}

// collect receives up to the mapping's BatchSize messages: it long-polls for the first, then
// takes what is there at once (no window) or keeps receiving until the batching window ends.
// full says the batch filled up (a backlog: wake another poller).
func (s *Service) collect(ctx context.Context, scope string, rec *record) ([]sw.Message, bool) {
	url, _, err := s.queueOf(scope, rec.Config.EventSourceArn)
	if err != nil {
		return nil, false
	}
	want := int(*rec.Config.BatchSize)
	window := time.Duration(*rec.Config.MaximumBatchingWindowInSeconds) * time.Second
	var msgs []sw.Message
	size := 0
	wait := s.cfg.LongPoll
	var deadline time.Time
	for len(msgs) < want && size < maxPayload {
		n := min(10, want-len(msgs))
		out, err := s.cfg.Queues.ReceiveMessage(ctx, scope, &sw.ReceiveMessageRequest{QueueUrl: url, MaxNumberOfMessages: ptr(int32(n)),
			WaitTimeSeconds: ptr(int32((min(wait, 20*time.Second) + time.Second - 1) / time.Second)), AttributeNames: []sw.QueueAttributeName{"All"},
			MessageSystemAttributeNames: []sw.MessageSystemAttributeName{"All"}, MessageAttributeNames: []string{"All"}})
		if err != nil {
			if ctx.Err() == nil {
				s.log.Warn("event source mapping: receive", "uuid", rec.Config.UUID, "err", err)
				sleep(ctx, time.Second) // the queue is gone or failing: do not spin
			}
			return msgs, false
		}
		for _, m := range out.Messages {
			size += len(m.Body)
		}
		msgs = append(msgs, out.Messages...)
		if len(msgs) == 0 {
			if ctx.Err() != nil || wait > 0 {
				return nil, false // the long poll ended empty
			}
			continue
		}
		if deadline.IsZero() {
			deadline = time.Now().Add(window)
		}
		wait = time.Until(deadline)
		if window == 0 {
			if len(out.Messages) < n {
				break // nothing more waiting now
			}
			wait = 0
		} else if wait <= 0 {
			break
		}
	}
	return msgs, len(msgs) >= want
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// process filters a batch, invokes the function with what passed and deletes what is done
// with: filtered-out records, and the batch (or the items not reported failed) on success.
func (s *Service) process(ctx context.Context, scope string, rec *record, msgs []sw.Message) {
	uuid := rec.Config.UUID
	region := regionOf(rec.Config.EventSourceArn)
	var crit *eventfilter.Criteria
	if f := rec.Config.FilterCriteria; f != nil && len(f.Filters) > 0 {
		patterns := make([]string, len(f.Filters))
		for i, p := range f.Filters {
			patterns[i] = p.Pattern
		}
		crit, _ = eventfilter.CompileCriteria(patterns)
	}
	var keep []json.RawMessage
	var keepMsgs, done []sw.Message
	for _, m := range msgs {
		r := sqsRecord(m, rec.Config.EventSourceArn, region)
		if crit != nil && !eventfilter.MatchSQSRecord(crit, r) {
			done = append(done, m)
			continue
		}
		keep, keepMsgs = append(keep, r), append(keepMsgs, m)
	}
	s.count(uuid, func(st *Stats) { st.Filtered += int64(len(done)) })
	if len(keep) > 0 {
		ok := s.invoke(ctx, scope, rec, keep, keepMsgs)
		done = append(done, ok...)
	}
	url, _, _ := s.queueOf(scope, rec.Config.EventSourceArn)
	s.deleteAll(ctx, scope, url, done)
}

// invoke runs the function on one batch and returns the messages it processed.
func (s *Service) invoke(ctx context.Context, scope string, rec *record, records []json.RawMessage, msgs []sw.Message) []sw.Message {
	uuid := rec.Config.UUID
	payload, _ := json.Marshal(map[string]any{"Records": records})
	out, err := s.cfg.Functions.Invoke(ctx, scope, &lw.InvocationRequest{FunctionName: rec.Function, Payload: payload})
	s.count(uuid, func(st *Stats) { st.Batches++; st.Records += int64(len(msgs)) })
	switch {
	case err != nil:
		s.count(uuid, func(st *Stats) { st.Errors++ })
		s.log.Info("event source mapping: invocation failed; the batch returns after the visibility timeout", "uuid", uuid, "err", err)
		return nil
	case out.FunctionError != "":
		s.count(uuid, func(st *Stats) { st.Errors++ })
		return nil
	}
	if !rec.reportsItems() {
		return msgs
	}
	failed, ok := batchItemFailures(out.Payload, msgs)
	if !ok {
		s.count(uuid, func(st *Stats) { st.Errors++ })
		return nil // an invalid response fails the whole batch, as on Lambda
	}
	var succeeded []sw.Message
	for _, m := range msgs {
		if !failed[m.MessageId] {
			succeeded = append(succeeded, m)
		}
	}
	return succeeded
}

func (r *record) reportsItems() bool {
	for _, t := range r.Config.FunctionResponseTypes {
		if t == lw.FunctionResponseTypeReportBatchItemFailures {
			return true
		}
	}
	return false
}

// batchItemFailures reads a partial batch response: the ids reported failed, or false when the
// response names an id that is empty or not in the batch (Lambda then fails the whole batch).
// An empty or null response, or one without batchItemFailures, reports no failure.
func batchItemFailures(payload []byte, msgs []sw.Message) (map[string]bool, bool) {
	var resp struct {
		Failures []struct {
			ID *string `json:"itemIdentifier"`
		} `json:"batchItemFailures"`
	}
	if len(payload) == 0 || string(payload) == "null" {
		return nil, true
	}
	if json.Unmarshal(payload, &resp) != nil {
		return nil, true // not an object: Lambda treats it as a success with no failures
	}
	ids := map[string]bool{}
	for _, m := range msgs {
		ids[m.MessageId] = true
	}
	failed := map[string]bool{}
	for _, f := range resp.Failures {
		if f.ID == nil || *f.ID == "" || !ids[*f.ID] {
			return nil, false
		}
		failed[*f.ID] = true
	}
	return failed, true
}

// deleteAll deletes messages in batches of ten.
func (s *Service) deleteAll(ctx context.Context, scope, url string, msgs []sw.Message) {
	for len(msgs) > 0 {
		n := min(10, len(msgs))
		entries := make([]sw.DeleteMessageBatchRequestEntry, n)
		for i, m := range msgs[:n] {
			entries[i] = sw.DeleteMessageBatchRequestEntry{Id: strconv.Itoa(i), ReceiptHandle: m.ReceiptHandle}
		}
		if _, err := s.cfg.Queues.DeleteMessageBatch(ctx, scope, &sw.DeleteMessageBatchRequest{QueueUrl: url, Entries: entries}); err != nil &&
			!errors.Is(err, store.ErrNotFound) {
			s.log.Warn("event source mapping: deleting processed messages", "err", err)
		}
		msgs = msgs[n:]
	}
}
