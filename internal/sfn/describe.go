package sfn

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/barge-run/barge/internal/awstypes"
	sw "github.com/barge-run/barge/internal/awstypes/sfn"
	"github.com/barge-run/barge/internal/sfn/asl"
	"github.com/barge-run/barge/internal/store"
)

func optTime(t time.Time) *awstypes.Timestamp {
	if t.IsZero() {
		return nil
	}
	return awstypes.NewTimestamp(t)
}

// DescribeExecution describes an execution.
func (s *Service) DescribeExecution(ctx context.Context, scope string, in *sw.DescribeExecutionInput) (*sw.DescribeExecutionOutput, error) {
	e, _, err := s.executionOf(ctx, scope, in.ExecutionArn)
	if err != nil {
		return nil, err
	}
	rc := int32(e.RedriveCount)
	out := &sw.DescribeExecutionOutput{ExecutionArn: e.ARN, StateMachineArn: e.MachineARN, Name: e.Name, Status: e.Status,
		StartDate: awstypes.NewTimestamp(e.Start), StopDate: optTime(e.Stop), Input: e.Input, InputDetails: included(),
		TraceHeader: e.TraceHeader, Error: e.Error, Cause: e.Cause, StateMachineVersionArn: e.VersionARN,
		StateMachineAliasArn: e.AliasARN, RedriveCount: &rc, RedriveDate: optTime(e.RedriveDate)}
	if e.Output != nil {
		out.Output, out.OutputDetails = *e.Output, included()
	}
	out.RedriveStatus, out.RedriveStatusReason = redriveStatus(e)
	return out, nil
}

// redriveStatus says whether RedriveExecution would accept an execution, and why not.
func redriveStatus(e *execRecord) (sw.ExecutionRedriveStatus, string) {
	switch {
	case e.Type == sw.StateMachineTypeExpress:
		return sw.ExecutionRedriveStatusNotRedrivable, "Execution is of an EXPRESS state machine and cannot be redriven"
	case e.Status == sw.ExecutionStatusRunning || e.Status == sw.ExecutionStatusSucceeded:
		return sw.ExecutionRedriveStatusNotRedrivable, fmt.Sprintf("Execution is %s and cannot be redriven", e.Status)
	case e.Checkpoint == nil:
		return sw.ExecutionRedriveStatusNotRedrivable, "Execution has no state to redrive from"
	case time.Since(e.Stop) > 14*24*time.Hour:
		return sw.ExecutionRedriveStatusNotRedrivable, "Execution was closed more than 14 days ago"
	}
	return sw.ExecutionRedriveStatusRedrivable, ""
}

// DescribeStateMachineForExecution describes the definition an execution runs.
func (s *Service) DescribeStateMachineForExecution(ctx context.Context, scope string, in *sw.DescribeStateMachineForExecutionInput) (*sw.DescribeStateMachineForExecutionOutput, error) {
	e, _, err := s.executionOf(ctx, scope, in.ExecutionArn)
	if err != nil {
		return nil, err
	}
	arn := e.MachineARN
	if e.VersionARN != "" {
		arn = e.VersionARN
	}
	return &sw.DescribeStateMachineForExecutionOutput{StateMachineArn: arn, Name: e.MachineName, Definition: e.Definition,
		RoleArn: e.RoleArn, UpdateDate: awstypes.NewTimestamp(e.Start), RevisionId: e.RevisionID,
		LoggingConfiguration: loggingOf(nil)}, nil
}

// ListExecutions lists a machine's (or version's, or alias's) executions, newest first.
func (s *Service) ListExecutions(ctx context.Context, scope string, in *sw.ListExecutionsInput) (*sw.ListExecutionsOutput, error) {
	if in.MapRunArn != "" {
		return nil, validation("barge runs distributed Map children inside their parent execution: there are no Map Run executions to list")
	}
	t, err := s.parseMachineARN(scope, in.StateMachineArn)
	if err != nil {
		return nil, err
	}
	rec, _, err := s.getMachine(ctx, scope, t.name)
	if err != nil {
		return nil, err
	}
	if rec.Type == sw.StateMachineTypeExpress {
		return nil, notForExpress("ListExecutions")
	}
	var items []sw.ExecutionListItem
	err = s.scanPrefix(ctx, scope, kindExecution, t.name+":", func(r *store.Resource) error {
		if in.StatusFilter != "" && r.Status != string(in.StatusFilter) {
			return nil
		}
		var e execRecord
		if err := json.Unmarshal(r.Body, &e); err != nil {
			return fmt.Errorf("decode execution %s: %w", r.Name, err)
		}
		switch {
		case t.version > 0 && e.VersionARN != in.StateMachineArn, t.alias != "" && e.AliasARN != in.StateMachineArn:
			return nil
		case in.RedriveFilter == sw.ExecutionRedriveFilterRedriven && e.RedriveCount == 0,
			in.RedriveFilter == sw.ExecutionRedriveFilterNotRedriven && e.RedriveCount > 0:
			return nil
		}
		rc := int32(e.RedriveCount)
		items = append(items, sw.ExecutionListItem{ExecutionArn: e.ARN, StateMachineArn: e.MachineARN, Name: e.Name,
			Status: e.Status, StartDate: awstypes.NewTimestamp(e.Start), StopDate: optTime(e.Stop),
			StateMachineVersionArn: e.VersionARN, StateMachineAliasArn: e.AliasARN, RedriveCount: &rc, RedriveDate: optTime(e.RedriveDate)})
		return nil
	})
	if err != nil {
		return nil, err
	}
	sort.SliceStable(items, func(i, j int) bool { return items[i].StartDate.After(items[j].StartDate.Time) })
	page, next, err := pageOf(items, in.NextToken, in.MaxResults)
	if err != nil {
		return nil, err
	}
	if page == nil {
		page = []sw.ExecutionListItem{}
	}
	return &sw.ListExecutionsOutput{Executions: page, NextToken: next}, nil
}

// wireEvent is a history event as GetExecutionHistory sends it: its timestamp in epoch seconds.
type wireEvent struct {
	asl.HistoryEvent
	Timestamp awstypes.Timestamp `json:"timestamp"`
}

// historyOutput is GetExecutionHistory's answer.
type historyOutput struct {
	Events    []json.RawMessage `json:"events"`
	NextToken string            `json:"nextToken,omitempty"`
}

// history reads an execution's recorded events in order.
func (s *Service) history(ctx context.Context, scope, key string) ([]asl.HistoryEvent, error) {
	chunks, err := s.cfg.Store.ResourceList(ctx, &store.ResourceListParams{Account: scope, Kind: kindHistory, Names: []string{key}})
	if err != nil {
		return nil, fmt.Errorf("read history of %s: %w", key, err)
	}
	var out []asl.HistoryEvent
	for _, c := range chunks {
		var evs []asl.HistoryEvent
		if err := json.Unmarshal(c.Body, &evs); err != nil {
			return nil, fmt.Errorf("decode history of %s: %w", key, err)
		}
		out = append(out, evs...)
	}
	return out, nil
}

// historyBatch is the most history chunks historyForward reads at a time: it reads one, then
// twice as many each time a page needs more.
const historyBatch = 64

// historyForward reads one page of an execution's history in order, reading only the chunks
// it needs: its token is "h<chunk revision>.<last event id>", where the next page starts.
func (s *Service) historyForward(ctx context.Context, scope, key, token string, max *int32) ([]asl.HistoryEvent, string, error) {
	limit, err := pageSize(max)
	if err != nil {
		return nil, "", err
	}
	cur, err := decodeToken(token)
	if err != nil {
		return nil, "", err
	}
	rev, after := 0, int64(0)
	if cur != "" {
		r, id, ok := strings.Cut(strings.TrimPrefix(cur, "h"), ".")
		if rev, err = strconv.Atoi(r); !ok || err != nil || !strings.HasPrefix(cur, "h") || rev < 0 {
			return nil, "", apiErr("InvalidToken", "Invalid Token: '%s'", token)
		}
		if after, err = strconv.ParseInt(id, 10, 64); err != nil {
			return nil, "", apiErr("InvalidToken", "Invalid Token: '%s'", token)
		}
	}
	page := make([]asl.HistoryEvent, 0, min(limit, 128))
	for batch := 1; ; batch = min(2*batch, historyBatch) {
		chunks, err := s.cfg.Store.ResourceList(ctx, &store.ResourceListParams{Account: scope, Kind: kindHistory,
			Names: []string{key}, AfterName: key, AfterRevision: rev - 1, Limit: batch})
		if err != nil {
			return nil, "", fmt.Errorf("read history of %s: %w", key, err)
		}
		for _, c := range chunks {
			var evs []asl.HistoryEvent
			if err := json.Unmarshal(c.Body, &evs); err != nil {
				return nil, "", fmt.Errorf("decode history of %s: %w", key, err)
			}
			for _, e := range evs {
				if e.ID <= after {
					continue
				}
				if len(page) == limit {
					return page, encodeToken(fmt.Sprintf("h%d.%d", c.Revision, after)), nil
				}
				page = append(page, e)
				after = e.ID
			}
			rev = c.Revision + 1
		}
		if len(chunks) < batch {
			return page, "", nil
		}
	}
}

// GetExecutionHistory pages through an execution's history events.
func (s *Service) GetExecutionHistory(ctx context.Context, scope string, in *sw.GetExecutionHistoryInput) (*historyOutput, error) {
	e, key, err := s.executionOf(ctx, scope, in.ExecutionArn)
	if err != nil {
		return nil, err
	}
	if e.Type == sw.StateMachineTypeExpress {
		return nil, notForExpress("GetExecutionHistory")
	}
	var page []asl.HistoryEvent
	var next string
	if in.ReverseOrder != nil && *in.ReverseOrder {
		evs, err := s.history(ctx, scope, key)
		if err != nil {
			return nil, err
		}
		for i, j := 0, len(evs)-1; i < j; i, j = i+1, j-1 {
			evs[i], evs[j] = evs[j], evs[i]
		}
		if page, next, err = pageOf(evs, in.NextToken, in.MaxResults); err != nil {
			return nil, err
		}
	} else if page, next, err = s.historyForward(ctx, scope, key, in.NextToken, in.MaxResults); err != nil {
		return nil, err
	}
	withData := in.IncludeExecutionData == nil || *in.IncludeExecutionData
	out := &historyOutput{Events: make([]json.RawMessage, 0, len(page)), NextToken: next}
	for _, ev := range page {
		b, err := json.Marshal(wireEvent{HistoryEvent: ev, Timestamp: awstypes.Timestamp{Time: ev.Timestamp}})
		if err != nil {
			return nil, fmt.Errorf("encode history event: %w", err)
		}
		if !withData {
			b = withoutData(b)
		}
		out.Events = append(out.Events, b)
	}
	return out, nil
}

// withoutData drops inputs, outputs and parameters from an event's details.
func withoutData(b []byte) []byte {
	var m map[string]any
	if json.Unmarshal(b, &m) != nil {
		return b
	}
	for _, v := range m {
		if d, ok := v.(map[string]any); ok {
			for _, k := range []string{"input", "output", "parameters", "inputDetails", "outputDetails"} {
				delete(d, k)
			}
		}
	}
	out, _ := json.Marshal(m)
	return out
}
