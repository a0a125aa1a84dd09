package sfn

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	sw "github.com/barge-run/barge/internal/awstypes/sfn"
	"github.com/barge-run/barge/internal/sfn/asl"
	"github.com/barge-run/barge/internal/store"
)

// adoptOwnRuns takes back the runs this server's name held when it last stopped (or
// crashed): nobody else can be running them, so they need not wait for their leases to lapse.
func (s *Service) adoptOwnRuns(ctx context.Context) error {
	items, err := s.cfg.Store.ResourceList(ctx, &store.ResourceListParams{AllAccounts: true, Kind: kindRun})
	if err != nil {
		return fmt.Errorf("list runs: %w", err)
	}
	for _, it := range items {
		if it.Owner != s.cfg.Holder || !it.LeaseUntil.After(now()) {
			continue // others' runs, and lapsed ones the poller claims
		}
		it.LeaseUntil = now().Add(s.cfg.LeaseTTL)
		if err := s.cfg.Store.ResourceUpdate(ctx, it); err != nil {
			if errors.Is(err, store.ErrStale) || errors.Is(err, store.ErrNotFound) {
				continue
			}
			return fmt.Errorf("take back run %s: %w", it.Name, err)
		}
		if err := s.resumeItem(ctx, it); err != nil {
			s.log.Error("resuming an execution", "run", it.Name, "err", err)
		}
	}
	return nil
}

// pollRuns claims runs that are due — woken from a wait, released by a stopping server, or
// left by a crashed one — and resumes them.
func (s *Service) pollRuns() {
	defer s.wg.Done()
	t := time.NewTicker(s.cfg.PollInterval)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
		}
		n := now()
		items, err := s.cfg.Store.ResourceClaim(context.Background(), &store.ClaimParams{Kind: kindRun, Owner: s.cfg.Holder,
			Now: n, Until: n.Add(s.cfg.LeaseTTL), Limit: 32})
		if err != nil {
			s.log.Error("claiming executions", "err", err)
			continue
		}
		for _, it := range items {
			if err := s.resumeItem(context.Background(), it); err != nil {
				s.log.Error("resuming an execution", "run", it.Name, "err", err)
			}
		}
	}
}

// resumeItem continues the execution of a run item this server now holds.
func (s *Service) resumeItem(ctx context.Context, item *store.Resource) error {
	exec, _, err := s.getExecution(ctx, item.Account, item.Name)
	if err != nil || exec.Status != sw.ExecutionStatusRunning {
		// Never acknowledged (the run was made first), or ended: the item is left over.
		if derr := s.cfg.Store.ResourceDeleteVersion(ctx, item); derr != nil && !errors.Is(derr, store.ErrNotFound) {
			return fmt.Errorf("delete leftover run %s: %w", item.Name, derr)
		}
		return nil
	}
	var rec runRecord
	if err := json.Unmarshal(item.Body, &rec); err != nil {
		return fmt.Errorf("decode run %s: %w", item.Name, err)
	}
	def, err := asl.Parse(exec.Definition)
	if err != nil {
		return fmt.Errorf("parse definition of %s: %w", exec.ARN, err)
	}
	r := newLiveRun(s, item.Account, item.Name, exec, def)
	r.item = item
	if err := r.trimHistory(ctx, lastEventID(rec.Checkpoint)); err != nil {
		return err
	}
	if rec.Stop != nil {
		return r.abort(ctx, *rec.Stop)
	}
	if !s.track(r) {
		return nil
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		r.runStandard(rec.Checkpoint)
	}()
	return nil
}

// track registers a run as running here; false if it already is or the server is stopping.
func (s *Service) track(r *liveRun) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := runKey(r.scope, r.key)
	if s.runs[k] != nil || s.stopping() {
		return false
	}
	s.runs[k] = r
	return true
}

func (s *Service) forget(r *liveRun) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r.exec.Type == sw.StateMachineTypeExpress {
		delete(s.express, r.exec.ARN)
		return
	}
	if s.runs[runKey(r.scope, r.key)] == r {
		delete(s.runs, runKey(r.scope, r.key))
	}
}

func lastEventID(cp json.RawMessage) int64 {
	var c struct {
		LastEventID int64 `json:"lastEventId"`
	}
	if cp != nil {
		json.Unmarshal(cp, &c)
	}
	return c.LastEventID
}

// trimHistory drops history events past the checkpoint a run resumes from (they were written
// before a crash kept the checkpoint from being), and finds the next chunk number.
func (r *liveRun) trimHistory(ctx context.Context, last int64) error {
	chunks, err := r.s.cfg.Store.ResourceList(ctx, &store.ResourceListParams{Account: r.scope, Kind: kindHistory, Names: []string{r.key}})
	if err != nil {
		return fmt.Errorf("read history of %s: %w", r.exec.ARN, err)
	}
	for _, c := range chunks {
		r.nextChunk = max(r.nextChunk, c.Revision+1)
		var evs []asl.HistoryEvent
		if err := json.Unmarshal(c.Body, &evs); err != nil {
			return fmt.Errorf("decode history of %s: %w", r.exec.ARN, err)
		}
		keep := evs[:0]
		for _, e := range evs {
			if e.ID <= last {
				keep = append(keep, e)
			}
		}
		switch {
		case len(keep) == len(evs):
		case len(keep) == 0:
			err = r.s.cfg.Store.ResourceDelete(ctx, r.scope, kindHistory, r.key, c.Revision)
		default:
			c.Body, _ = json.Marshal(keep)
			c.Version = 0
			err = r.s.cfg.Store.ResourceUpdate(ctx, c)
		}
		if err != nil {
			return fmt.Errorf("trim history of %s: %w", r.exec.ARN, err)
		}
	}
	return nil
}

// abort ends a run that is not running anywhere (suspended or taken over) as StopExecution
// asked: an ExecutionAborted event, then the execution's end.
func (r *liveRun) abort(ctx context.Context, st stopRequest) error {
	var rec runRecord
	json.Unmarshal(r.item.Body, &rec)
	last := lastEventID(rec.Checkpoint)
	ev := asl.HistoryEvent{Timestamp: now(), Type: "ExecutionAborted", ID: last + 1, PreviousEventID: last,
		ExecutionAbortedEventDetails: &asl.ErrorDetails{Error: st.Error, Cause: st.Cause}}
	if err := r.writeChunk(ctx, []asl.HistoryEvent{ev}); err != nil {
		return err
	}
	res := asl.Result{Status: asl.StatusAborted, Error: st.Error, Cause: st.Cause}
	return r.s.recordEnd(ctx, r.scope, r.key, r.exec, res, rec.Checkpoint, r.item)
}
