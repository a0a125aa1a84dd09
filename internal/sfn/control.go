package sfn

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/barge-run/barge/internal/awstypes"
	sw "github.com/barge-run/barge/internal/awstypes/sfn"
	"github.com/barge-run/barge/internal/sfn/asl"
	"github.com/barge-run/barge/internal/store"
)

// StopExecution aborts a running execution with an optional error and cause. The stop is
// stored on the execution's run first; the server running it applies it (at once when that
// is this one), and a run suspended in a wait is claimed now and ended.
func (s *Service) StopExecution(ctx context.Context, scope string, in *sw.StopExecutionInput) (*sw.StopExecutionOutput, error) {
	e, key, err := s.executionOf(ctx, scope, in.ExecutionArn)
	if err != nil {
		return nil, err
	}
	req := stopRequest{Error: in.Error, Cause: in.Cause}
	if e.Type == sw.StateMachineTypeExpress {
		s.mu.Lock()
		r := s.express[e.ARN]
		s.mu.Unlock()
		if r != nil {
			r.stop(req)
			<-r.done
		}
		return &sw.StopExecutionOutput{StopDate: awstypes.NewTimestamp(now())}, nil
	}
	if e.Status != sw.ExecutionStatusRunning {
		return &sw.StopExecutionOutput{StopDate: optTime(e.Stop)}, nil
	}
	if err := s.requestStop(ctx, scope, key, req); err != nil {
		return nil, err
	}
	s.mu.Lock()
	r := s.runs[runKey(scope, key)]
	s.mu.Unlock()
	if r != nil {
		r.stop(req)
		select {
		case <-r.done:
		case <-ctx.Done():
		}
	}
	return &sw.StopExecutionOutput{StopDate: awstypes.NewTimestamp(s.waitEnded(ctx, scope, key))}, nil
}

// requestStop stores a stop on an execution's run item, making it claimable at once if no
// server holds it.
func (s *Service) requestStop(ctx context.Context, scope, key string, req stopRequest) error {
	for {
		item, err := s.cfg.Store.ResourceGet(ctx, scope, kindRun, key, 0)
		if errors.Is(err, store.ErrNotFound) {
			return nil // ended meanwhile
		}
		if err != nil {
			return fmt.Errorf("read run %s: %w", key, err)
		}
		var rec runRecord
		if err := json.Unmarshal(item.Body, &rec); err != nil {
			return fmt.Errorf("decode run %s: %w", key, err)
		}
		rec.Stop = &req
		item.Body, _ = json.Marshal(rec)
		if item.Owner == "" || !item.LeaseUntil.After(now()) {
			item.VisibleAt = now()
		}
		err = s.cfg.Store.ResourceUpdate(ctx, item)
		if err == nil || errors.Is(err, store.ErrNotFound) {
			return nil
		}
		if !errors.Is(err, store.ErrStale) {
			return fmt.Errorf("store stop of %s: %w", key, err)
		}
	}
}

// waitEnded waits (a little) for a stopped execution's end to be recorded and returns its
// stop date; a run held by another server may take until its next renewal.
func (s *Service) waitEnded(ctx context.Context, scope, key string) time.Time {
	deadline := time.Now().Add(3 * time.Second)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		e, _, err := s.getExecution(ctx, scope, key)
		if err == nil && e.Status != sw.ExecutionStatusRunning {
			return e.Stop
		}
		time.Sleep(20 * time.Millisecond)
	}
	return now()
}

// RedriveExecution restarts an execution that failed, timed out or was aborted from the state
// it did not finish, keeping what came before; its history goes on after an ExecutionRedriven
// event.
func (s *Service) RedriveExecution(ctx context.Context, scope string, in *sw.RedriveExecutionInput) (*sw.RedriveExecutionOutput, error) {
	e, key, err := s.executionOf(ctx, scope, in.ExecutionArn)
	if err != nil {
		return nil, err
	}
	if st, reason := redriveStatus(e); st != sw.ExecutionRedriveStatusRedrivable {
		return nil, apiErr("ExecutionNotRedrivable", "%s", reason)
	}
	def, err := asl.Parse(e.Definition)
	if err != nil {
		return nil, fmt.Errorf("parse definition of %s: %w", e.ARN, err)
	}
	cp, last, err := redriveCheckpoint(e.Checkpoint, e.RedriveCount+1)
	if err != nil {
		return nil, err
	}
	t := now()
	item := &store.Resource{Account: scope, Kind: kindRun, Name: key, ARN: e.ARN, Status: "RUNNING", CreatedAt: t,
		Owner: s.cfg.Holder, VisibleAt: t, LeaseUntil: t.Add(s.cfg.LeaseTTL)}
	item.Body, _ = json.Marshal(runRecord{Checkpoint: cp})
	if err := s.cfg.Store.ResourceCreate(ctx, item); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return nil, apiErr("ExecutionNotRedrivable", "Execution is being redriven already")
		}
		return nil, fmt.Errorf("create run of %s: %w", e.ARN, err)
	}
	r := newLiveRun(s, scope, key, e, def)
	r.item = item
	if err := r.trimHistory(ctx, last-1); err != nil {
		return nil, err
	}
	ev := asl.HistoryEvent{Timestamp: t, Type: "ExecutionRedriven", ID: last, PreviousEventID: last - 1}
	ev.ExecutionRedrivenEventDetails = &asl.ExecutionRedrivenEventDetails{RedriveCount: e.RedriveCount + 1}
	if err := r.writeChunk(ctx, []asl.HistoryEvent{ev}); err != nil {
		return nil, err
	}
	e.Status, e.Stop, e.Error, e.Cause, e.Output, e.Checkpoint = sw.ExecutionStatusRunning, time.Time{}, "", "", nil, nil
	e.RedriveCount++
	e.RedriveDate = t
	body, _ := json.Marshal(e)
	if err := s.cfg.Store.ResourceUpdate(ctx, &store.Resource{Account: scope, Kind: kindExecution, Name: key, ARN: e.ARN,
		Status: string(e.Status), Body: body}); err != nil {
		return nil, fmt.Errorf("record redrive of %s: %w", e.ARN, err)
	}
	s.publishStatus(scope, e)
	s.launch(r, cp)
	return &sw.RedriveExecutionOutput{RedriveDate: awstypes.NewTimestamp(t)}, nil
}

// redriveCheckpoint turns the checkpoint an execution ended with into the one its redrive
// resumes: the unfinished state entered afresh with its retries reset, the redrive counted,
// and the ExecutionRedriven event (whose id it returns) accounted for.
func redriveCheckpoint(raw json.RawMessage, count int) (json.RawMessage, int64, error) {
	var cp map[string]any
	if err := json.Unmarshal(raw, &cp); err != nil {
		return nil, 0, fmt.Errorf("decode checkpoint: %w", err)
	}
	last, _ := cp["lastEventId"].(float64)
	id := int64(last) + 1
	cp["lastEventId"] = id
	if ex, ok := cp["execution"].(map[string]any); ok {
		ex["redriveCount"] = count
	}
	if root, ok := cp["root"].(map[string]any); ok {
		resetFrame(root)
		root["prev"] = id
	}
	b, err := json.Marshal(cp)
	return b, id, err
}

// resetFrame makes the unfinished states of a frame run again from their start.
func resetFrame(f map[string]any) {
	for _, k := range []string{"retries", "retryCount", "waitUntil", "error", "submitted"} {
		delete(f, k)
	}
	children, _ := f["children"].([]any)
	if len(children) == 0 {
		delete(f, "entered")
		return
	}
	for _, c := range children {
		if cf, ok := c.(map[string]any); ok {
			if _, failed := cf["error"]; failed {
				delete(cf, "done")
			}
			if done, _ := cf["done"].(bool); !done {
				resetFrame(cf)
			}
		}
	}
}
