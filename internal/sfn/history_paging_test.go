package sfn

import (
	"context"
	"encoding/json"
	"path/filepath"
	"testing"

	sw "github.com/barge-run/barge/internal/awstypes/sfn"
)

// TestHistoryPaging: a long history written in many chunks pages forward (reading only the
// chunks each page needs) and backward to every event exactly once, in order; a STANDARD Map's
// run item and history stay consistent with its checkpoint.
func TestHistoryPaging(t *testing.T) {
	const items, perPage = 100, 13
	s := newService(t, filepath.Join(t.TempDir(), "db"))
	ctx := context.Background()
	def := `{"StartAt":"M","States":{"M":{"Type":"Map","MaxConcurrency":4,"End":true,
		"ItemProcessor":{"StartAt":"P","States":{"P":{"Type":"Pass","Next":"Q"},"Q":{"Type":"Pass","End":true}}}}}}`
	m, err := s.CreateStateMachine(ctx, scope, &sw.CreateStateMachineInput{Name: "m", Definition: def, RoleArn: "arn:aws:iam::000000000000:role/r"})
	if err != nil {
		t.Fatal(err)
	}
	input, _ := json.Marshal(make([]int, items))
	ex, err := s.StartExecution(ctx, scope, &sw.StartExecutionInput{StateMachineArn: m.StateMachineArn, Input: string(input)})
	if err != nil {
		t.Fatal(err)
	}
	if d := waitStatus(t, s, ex.ExecutionArn); d.Status != sw.ExecutionStatusSucceeded {
		t.Fatalf("execution %+v", d)
	}
	all, err := s.history(ctx, scope, "m:"+ex.ExecutionArn[len(ex.ExecutionArn)-36:])
	if err != nil {
		t.Fatal(err)
	}
	for _, reverse := range []bool{false, true} {
		var ids []int64
		token := ""
		for pages := 0; ; pages++ {
			max := int32(perPage)
			out, err := s.GetExecutionHistory(ctx, scope, &sw.GetExecutionHistoryInput{ExecutionArn: ex.ExecutionArn,
				MaxResults: &max, NextToken: token, ReverseOrder: &reverse})
			if err != nil {
				t.Fatal(err)
			}
			if len(out.Events) > perPage || (out.NextToken != "" && len(out.Events) != perPage) {
				t.Fatalf("page of %d events, next %q", len(out.Events), out.NextToken)
			}
			for _, raw := range out.Events {
				var ev struct{ ID int64 }
				json.Unmarshal(raw, &ev)
				ids = append(ids, ev.ID)
			}
			if token = out.NextToken; token == "" {
				break
			}
		}
		if len(ids) != len(all) {
			t.Fatalf("reverse=%v: %d events paged, %d stored", reverse, len(ids), len(all))
		}
		if len(ids) < items*6 {
			t.Fatalf("reverse=%v: only %d events", reverse, len(ids))
		}
		for i, id := range ids {
			want := int64(i + 1)
			if reverse {
				want = int64(len(ids) - i)
			}
			if id != want {
				t.Fatalf("reverse=%v: event %d has id %d, want %d", reverse, i, id, want)
			}
		}
	}
	if _, err := s.GetExecutionHistory(ctx, scope, &sw.GetExecutionHistoryInput{ExecutionArn: ex.ExecutionArn, NextToken: encodeToken("h1")}); code(err) != "InvalidToken" {
		t.Errorf("bad token: %v", err)
	}
}
