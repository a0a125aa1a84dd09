package sqs

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/google/uuid"

	wire "github.com/barge-run/barge/internal/awstypes/sqs"
	"github.com/barge-run/barge/internal/store"
)

// moveTask is a message move task as stored (store.KindSQSMoveTask, named by its id).
type moveTask struct {
	ID          string `json:"id"`
	Handle      string `json:"handle"`
	Source      string `json:"source"`
	Destination string `json:"destination,omitempty"`
	Rate        int    `json:"rate"`
	Status      string `json:"status"`
	Moved       int64  `json:"moved"`
	ToMove      int64  `json:"toMove"`
	Started     int64  `json:"started"` // ms
	Failure     string `json:"failure,omitempty"`
}

const defaultMoveRate = 500

// StartMessageMoveTask moves the messages of a dead-letter queue back to their source queues
// (or to DestinationArn), at most MaxNumberOfMessagesPerSecond a second.
func (s *Service) StartMessageMoveTask(ctx context.Context, scope string, in *wire.StartMessageMoveTaskRequest) (*wire.StartMessageMoveTaskResult, error) {
	src, err := s.resolveARN(ctx, scope, in.SourceArn)
	if err != nil {
		return nil, code(http.StatusNotFound, "ResourceNotFoundException", "The resource that you specified for the SourceArn parameter doesn't exist.")
	}
	sources, _, err := s.listQueues(ctx, scope, "", 1, func(q *queue) bool {
		arn, _, ok := parseRedrive(q.rec.Attributes[attrRedrive])
		return ok && arn == in.SourceArn
	})
	if err != nil {
		return nil, err
	}
	if len(sources) == 0 {
		return nil, invalidParameter("Source queue must be configured as a Dead Letter Queue.")
	}
	task := &moveTask{ID: uuid.NewString(), Source: in.SourceArn, Rate: defaultMoveRate, Status: "RUNNING", Started: s.now().UnixMilli()}
	if in.DestinationArn != "" {
		dst, err := s.resolveARN(ctx, scope, in.DestinationArn)
		if err != nil || dst.fifo() != src.fifo() {
			return nil, invalidParameter("The destination queue does not exist or is not of the source queue's type.")
		}
		task.Destination = in.DestinationArn
	}
	if r := in.MaxNumberOfMessagesPerSecond; r != nil {
		if *r < 1 || *r > 500 {
			return nil, invalidValue("MaxNumberOfMessagesPerSecond", *r, "Must be between 1 and 500.")
		}
		task.Rate = int(*r)
	}
	running, err := s.tasks(ctx, scope, in.SourceArn)
	if err != nil {
		return nil, err
	}
	if len(running) > 0 && running[0].Status == "RUNNING" {
		return nil, code(http.StatusBadRequest, "UnsupportedOperation", "A message move task is already running on %s.", src.rec.Name)
	}
	now := s.now()
	if st, err := s.cfg.Store.MessageStats(ctx, src.rec.ID, now, now.Add(-secs(src.intAttr(attrRetention)))); err == nil {
		task.ToMove = st.Visible + st.InFlight + st.Delayed
	}
	b, _ := json.Marshal(map[string]string{"taskId": task.ID, "sourceArn": in.SourceArn})
	task.Handle = base64.StdEncoding.EncodeToString(b)
	if err := s.putTask(ctx, scope, task, true); err != nil {
		return nil, err
	}
	s.runMove(scope, task)
	return &wire.StartMessageMoveTaskResult{TaskHandle: task.Handle}, nil
}

func (s *Service) putTask(ctx context.Context, scope string, t *moveTask, create bool) error {
	body, err := json.Marshal(t)
	if err != nil {
		return fmt.Errorf("encode move task: %w", err)
	}
	r := &store.Resource{Account: scope, Kind: store.KindSQSMoveTask, Name: t.ID, ARN: t.Source, Status: t.Status, Body: body, CreatedAt: time.UnixMilli(t.Started)}
	if create {
		err = s.cfg.Store.ResourceCreate(ctx, r)
	} else {
		err = s.cfg.Store.ResourceUpdate(ctx, r)
	}
	if err != nil {
		return fmt.Errorf("write move task %s: %w", t.ID, err)
	}
	return nil
}

// tasks lists the scope's move tasks of a source queue, newest first.
func (s *Service) tasks(ctx context.Context, scope, source string) ([]*moveTask, error) {
	rs, err := s.cfg.Store.ResourceList(ctx, &store.ResourceListParams{Account: scope, Kind: store.KindSQSMoveTask})
	if err != nil {
		return nil, fmt.Errorf("list move tasks: %w", err)
	}
	var out []*moveTask
	for _, r := range rs {
		var t moveTask
		if json.Unmarshal(r.Body, &t) == nil && (source == "" || t.Source == source) {
			out = append(out, &t)
		}
	}
	slices.SortFunc(out, func(a, b *moveTask) int { return int(b.Started - a.Started) })
	return out, nil
}

// runMove moves the task's messages a second's worth at a time until none is left, it is
// cancelled, or the service stops (Start resumes it).
func (s *Service) runMove(scope string, t *moveTask) {
	ctx, cancel := context.WithCancel(context.Background())
	s.mu.Lock()
	s.moves[t.ID] = cancel
	s.mu.Unlock()
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer cancel()
		err := s.move(ctx, scope, t)
		s.mu.Lock()
		delete(s.moves, t.ID)
		s.mu.Unlock()
		if ctx.Err() != nil {
			return // cancelled (recorded by CancelMessageMoveTask) or stopping
		}
		t.Status = "COMPLETED"
		if err != nil {
			t.Status, t.Failure = "FAILED", err.Error()
		}
		if err := s.putTask(context.Background(), scope, t, false); err != nil {
			s.cfg.Logger.Error("recording a move task's end", "task", t.ID, "err", err)
		}
	}()
}

func (s *Service) move(ctx context.Context, scope string, t *moveTask) error {
	src, err := s.resolveARN(ctx, scope, t.Source)
	if err != nil {
		return errors.New("the source queue was deleted")
	}
	to := ""
	if t.Destination != "" {
		dst, err := s.resolveARN(ctx, scope, t.Destination)
		if err != nil {
			return errors.New("the destination queue was deleted")
		}
		to = dst.rec.ID
	}
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		n, err := s.cfg.Store.MessageMove(ctx, &store.MessageMoveParams{From: src.rec.ID, To: to, Now: s.now(), Limit: t.Rate})
		if err != nil {
			return err
		}
		if n == 0 {
			// Done once nothing is left; messages in flight or delayed are waited for.
			now := s.now()
			st, err := s.cfg.Store.MessageStats(ctx, src.rec.ID, now, now.Add(-secs(src.intAttr(attrRetention))))
			if err != nil || st.Visible+st.InFlight+st.Delayed == 0 {
				return err
			}
		} else {
			t.Moved += int64(n)
			s.waiters.wakeAll()
			if err := s.putTask(ctx, scope, t, false); err != nil {
				return err
			}
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			return nil
		case <-s.stop:
			return nil
		}
	}
}

// ListMessageMoveTasks lists a source queue's move tasks, newest first.
func (s *Service) ListMessageMoveTasks(ctx context.Context, scope string, in *wire.ListMessageMoveTasksRequest) (*wire.ListMessageMoveTasksResult, error) {
	if _, err := s.resolveARN(ctx, scope, in.SourceArn); err != nil {
		return nil, code(http.StatusNotFound, "ResourceNotFoundException", "The resource that you specified for the SourceArn parameter doesn't exist.")
	}
	limit := 1
	if m := in.MaxResults; m != nil {
		if *m < 1 || *m > 10 {
			return nil, invalidValue("MaxResults", *m, "Must be between 1 and 10.")
		}
		limit = int(*m)
	}
	tasks, err := s.tasks(ctx, scope, in.SourceArn)
	if err != nil {
		return nil, err
	}
	out := &wire.ListMessageMoveTasksResult{Results: []wire.ListMessageMoveTasksResultEntry{}}
	for _, t := range tasks[:min(limit, len(tasks))] {
		e := wire.ListMessageMoveTasksResultEntry{Status: t.Status, SourceArn: t.Source, DestinationArn: t.Destination,
			ApproximateNumberOfMessagesMoved: &t.Moved, ApproximateNumberOfMessagesToMove: &t.ToMove, StartedTimestamp: &t.Started,
			FailureReason: t.Failure}
		rate := int32(t.Rate)
		e.MaxNumberOfMessagesPerSecond = &rate
		if t.Status == "RUNNING" {
			e.TaskHandle = t.Handle
		}
		out.Results = append(out.Results, e)
	}
	return out, nil
}

// CancelMessageMoveTask stops a running task; what it moved stays moved.
func (s *Service) CancelMessageMoveTask(ctx context.Context, scope string, in *wire.CancelMessageMoveTaskRequest) (*wire.CancelMessageMoveTaskResult, error) {
	var h struct{ TaskID, SourceArn string }
	b, err := base64.StdEncoding.DecodeString(in.TaskHandle)
	if err != nil || json.Unmarshal(b, &h) != nil {
		return nil, code(http.StatusNotFound, "ResourceNotFoundException", "The task handle is not valid.")
	}
	tasks, err := s.tasks(ctx, scope, h.SourceArn)
	if err != nil {
		return nil, err
	}
	for _, t := range tasks {
		if t.ID != h.TaskID {
			continue
		}
		if t.Status != "RUNNING" {
			return nil, code(http.StatusBadRequest, "UnsupportedOperation", "Only active tasks can be cancelled.")
		}
		s.mu.Lock()
		cancel := s.moves[t.ID]
		s.mu.Unlock()
		if cancel != nil {
			cancel()
		}
		t.Status = "CANCELLED"
		if err := s.putTask(ctx, scope, t, false); err != nil {
			return nil, err
		}
		return &wire.CancelMessageMoveTaskResult{ApproximateNumberOfMessagesMoved: &t.Moved}, nil
	}
	return nil, code(http.StatusNotFound, "ResourceNotFoundException", "The task handle is not valid.")
}

// resumeMoves restarts the tasks that were running when barge stopped.
func (s *Service) resumeMoves(ctx context.Context) error {
	rs, err := s.cfg.Store.ResourceList(ctx, &store.ResourceListParams{AllAccounts: true, Kind: store.KindSQSMoveTask, Status: "RUNNING"})
	if err != nil {
		return fmt.Errorf("list move tasks: %w", err)
	}
	for _, r := range rs {
		var t moveTask
		if json.Unmarshal(r.Body, &t) == nil {
			s.runMove(r.Account, &t)
		}
	}
	return nil
}

func (w *waiters) wakeAll() {
	w.mu.Lock()
	defer w.mu.Unlock()
	for q, c := range w.m {
		close(c)
		delete(w.m, q)
	}
}
