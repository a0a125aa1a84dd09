package sfn

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	bw "github.com/barge-run/barge/internal/awstypes/batch"
	sw "github.com/barge-run/barge/internal/awstypes/sfn"
	"github.com/barge-run/barge/internal/store/sqlite"
)

// fakeBatch holds every job RUNNING until released.
type fakeBatch struct {
	mu         sync.Mutex
	jobs       map[string]string // id -> name
	released   bool
	terminated []string
}

func (b *fakeBatch) TerminateJob(_ context.Context, _ string, in *bw.TerminateJobRequest) (*bw.TerminateJobResponse, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.terminated = append(b.terminated, in.JobId)
	return &bw.TerminateJobResponse{}, nil
}

func (b *fakeBatch) terminations() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.terminated...)
}

func (b *fakeBatch) SubmitJob(_ context.Context, _ string, in *bw.SubmitJobRequest) (*bw.SubmitJobResponse, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	id := fmt.Sprintf("job-%d", len(b.jobs)+1)
	b.jobs[id] = in.JobName
	return &bw.SubmitJobResponse{JobId: id, JobName: in.JobName, JobArn: "arn:aws:batch:us-east-1:000000000000:job/" + id}, nil
}

func (b *fakeBatch) DescribeJobs(_ context.Context, _ string, in *bw.DescribeJobsRequest) (*bw.DescribeJobsResponse, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := &bw.DescribeJobsResponse{}
	for _, id := range in.Jobs {
		if name, ok := b.jobs[id]; ok {
			st := bw.JobStatusRunning
			if b.released {
				st = bw.JobStatusSucceeded
			}
			out.Jobs = append(out.Jobs, bw.JobDetail{JobId: id, JobName: name, Status: st})
		}
	}
	return out, nil
}

func (b *fakeBatch) submitted() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.jobs)
}

func newBatchService(t *testing.T, path string, b *fakeBatch) *Service {
	t.Helper()
	db, err := sqlite.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	s := New(Config{Store: db, Region: "us-east-1", Holder: "h1", PollInterval: 20 * time.Millisecond,
		SuspendAfter: 200 * time.Millisecond, Batch: b, BatchPoll: 10 * time.Millisecond})
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Stop(); db.Close() })
	return s
}

// historyTypes lists an execution's event types.
func historyTypes(t *testing.T, s *Service, arn string) []string {
	t.Helper()
	h, err := s.GetExecutionHistory(context.Background(), scope, &sw.GetExecutionHistoryInput{ExecutionArn: arn})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, raw := range h.Events {
		var ev struct{ Type string }
		json.Unmarshal(raw, &ev)
		out = append(out, ev.Type)
	}
	return out
}

func count(types []string, typ string) int {
	n := 0
	for _, t := range types {
		if t == typ {
			n++
		}
	}
	return n
}

// waitFor polls cond until it holds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestBatchSyncReattaches: Batch .sync tasks in two Map iterations and a Parallel branch submit
// their jobs; the service stops (as a restart) while they run; a new service on the same store
// waits for the same jobs instead of submitting others.
func TestBatchSyncReattaches(t *testing.T) {
	path := filepath.Join(t.TempDir(), "db")
	fb := &fakeBatch{jobs: map[string]string{}}
	s := newBatchService(t, path, fb)
	ctx := context.Background()
	jobState := `{"Type":"Task","Resource":"arn:aws:states:::batch:submitJob.sync","Parameters":{"JobName.$":"$.n","JobQueue":"q","JobDefinition":"d"},"ResultSelector":{"id.$":"$.JobId"},"End":true}`
	def := `{"StartAt":"Par","States":{"Par":{"Type":"Parallel","End":true,"Branches":[
	  {"StartAt":"M","States":{"M":{"Type":"Map","ItemsPath":"$.items","ItemProcessor":{"StartAt":"J","States":{"J":` + jobState + `}},"End":true}}},
	  {"StartAt":"K","States":{"K":` + jobState + `}}]}}}`
	m, err := s.CreateStateMachine(ctx, scope, &sw.CreateStateMachineInput{Name: "m", Definition: def, RoleArn: "arn:aws:iam::000000000000:role/r"})
	if err != nil {
		t.Fatal(err)
	}
	ex, err := s.StartExecution(ctx, scope, &sw.StartExecutionInput{StateMachineArn: m.StateMachineArn, Input: `{"n":"b","items":[{"n":"i0"},{"n":"i1"}]}`})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "three jobs submitted and recorded", func() bool {
		return fb.submitted() == 3 && count(historyTypes(t, s, ex.ExecutionArn), "TaskSubmitted") == 3
	})
	s.Stop()
	s2 := newBatchService(t, path, fb)
	waitFor(t, "the resumed run", func() bool {
		s2.mu.Lock()
		defer s2.mu.Unlock()
		return len(s2.runs) == 1
	})
	fb.mu.Lock()
	fb.released = true
	fb.mu.Unlock()
	d := waitStatus(t, s2, ex.ExecutionArn)
	if d.Status != sw.ExecutionStatusSucceeded {
		t.Fatalf("after the restart: %+v", d)
	}
	if n := fb.submitted(); n != 3 {
		t.Fatalf("%d jobs submitted, want 3", n)
	}
	type job struct {
		ID string `json:"id"`
	}
	var out []json.RawMessage
	var mapped []job
	var branch job
	if json.Unmarshal([]byte(d.Output), &out) != nil || len(out) != 2 || json.Unmarshal(out[0], &mapped) != nil || json.Unmarshal(out[1], &branch) != nil {
		t.Fatalf("output %s", d.Output)
	}
	ids := map[string]bool{branch.ID: true}
	for _, j := range mapped {
		ids[j.ID] = true
	}
	if len(ids) != 3 || ids[""] {
		t.Fatalf("output %s: want three distinct jobs", d.Output)
	}
	if n := count(historyTypes(t, s2, ex.ExecutionArn), "TaskSubmitted"); n != 3 {
		t.Fatalf("%d TaskSubmitted events", n)
	}
	if tj := fb.terminations(); len(tj) != 0 {
		t.Fatalf("a restart terminated jobs %v", tj)
	}
}

// TestStopEndsSyncWork: stopping a parent terminates the job and stops the child execution
// its .sync tasks wait on, as Step Functions does.
func TestStopEndsSyncWork(t *testing.T) {
	fb := &fakeBatch{jobs: map[string]string{}}
	s := newBatchService(t, filepath.Join(t.TempDir(), "db"), fb)
	ctx := context.Background()
	role := "arn:aws:iam::000000000000:role/r"
	child, err := s.CreateStateMachine(ctx, scope, &sw.CreateStateMachineInput{Name: "child", RoleArn: role,
		Definition: `{"StartAt":"W","States":{"W":{"Type":"Wait","Seconds":100,"End":true}}}`})
	if err != nil {
		t.Fatal(err)
	}
	def := `{"StartAt":"Par","States":{"Par":{"Type":"Parallel","End":true,"Branches":[
	  {"StartAt":"J","States":{"J":{"Type":"Task","Resource":"arn:aws:states:::batch:submitJob.sync","Parameters":{"JobName":"j","JobQueue":"q","JobDefinition":"d"},"End":true}}},
	  {"StartAt":"C","States":{"C":{"Type":"Task","Resource":"arn:aws:states:::states:startExecution.sync","Parameters":{"StateMachineArn":"` + child.StateMachineArn + `"},"End":true}}}]}}}`
	m, err := s.CreateStateMachine(ctx, scope, &sw.CreateStateMachineInput{Name: "parent", Definition: def, RoleArn: role})
	if err != nil {
		t.Fatal(err)
	}
	ex, err := s.StartExecution(ctx, scope, &sw.StartExecutionInput{StateMachineArn: m.StateMachineArn})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the job and the child started", func() bool {
		return count(historyTypes(t, s, ex.ExecutionArn), "TaskSubmitted") == 2
	})
	if _, err := s.StopExecution(ctx, scope, &sw.StopExecutionInput{ExecutionArn: ex.ExecutionArn}); err != nil {
		t.Fatal(err)
	}
	if d := waitStatus(t, s, ex.ExecutionArn); d.Status != sw.ExecutionStatusAborted {
		t.Fatalf("parent %s", d.Status)
	}
	waitFor(t, "the job terminated", func() bool { return len(fb.terminations()) == 1 })
	l, err := s.ListExecutions(ctx, scope, &sw.ListExecutionsInput{StateMachineArn: child.StateMachineArn})
	if err != nil || len(l.Executions) != 1 {
		t.Fatalf("children: %+v %v", l, err)
	}
	if d := waitStatus(t, s, l.Executions[0].ExecutionArn); d.Status != sw.ExecutionStatusAborted || !strings.Contains(d.Cause, ex.ExecutionArn) {
		t.Fatalf("child %s %q", d.Status, d.Cause)
	}
}

// TestNestedSyncReattaches: a parent waits (.sync:2) on a child in a Wait; the service stops
// and a new one resumes both: the parent re-attaches to the same child and gets its output.
func TestNestedSyncReattaches(t *testing.T) {
	path := filepath.Join(t.TempDir(), "db")
	s := newService(t, path)
	ctx := context.Background()
	role := "arn:aws:iam::000000000000:role/r"
	child, err := s.CreateStateMachine(ctx, scope, &sw.CreateStateMachineInput{Name: "child", RoleArn: role,
		Definition: `{"StartAt":"W","States":{"W":{"Type":"Wait","Seconds":1,"Next":"P"},"P":{"Type":"Pass","Parameters":{"got.$":"$.x"},"End":true}}}`})
	if err != nil {
		t.Fatal(err)
	}
	parent, err := s.CreateStateMachine(ctx, scope, &sw.CreateStateMachineInput{Name: "parent", RoleArn: role,
		Definition: `{"StartAt":"C","States":{"C":{"Type":"Task","Resource":"arn:aws:states:::states:startExecution.sync:2",
		  "Parameters":{"StateMachineArn":"` + child.StateMachineArn + `","Input":{"x.$":"$.x","AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID.$":"$$.Execution.Id"}},
		  "OutputPath":"$.Output","End":true}}}`})
	if err != nil {
		t.Fatal(err)
	}
	ex, err := s.StartExecution(ctx, scope, &sw.StartExecutionInput{StateMachineArn: parent.StateMachineArn, Input: `{"x":7}`})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the child started", func() bool {
		return count(historyTypes(t, s, ex.ExecutionArn), "TaskSubmitted") == 1
	})
	s.Stop()
	s2 := newService(t, path)
	d := waitStatus(t, s2, ex.ExecutionArn)
	if d.Status != sw.ExecutionStatusSucceeded || d.Output != `{"got":7}` {
		t.Fatalf("parent: %+v", d)
	}
	l, err := s2.ListExecutions(ctx, scope, &sw.ListExecutionsInput{StateMachineArn: child.StateMachineArn})
	if err != nil || len(l.Executions) != 1 {
		t.Fatalf("children: %+v %v", l, err)
	}
	c, err := s2.DescribeExecution(ctx, scope, &sw.DescribeExecutionInput{ExecutionArn: l.Executions[0].ExecutionArn})
	if err != nil || c.Input != `{"x":7,"AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID":"`+ex.ExecutionArn+`"}` && c.Input != `{"AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID":"`+ex.ExecutionArn+`","x":7}` {
		t.Fatalf("child: %+v %v", c, err)
	}
}

// TestChildNameIsStable: without a Name, a child is named after the parent and the attempt, so
// starting it again is idempotent, and distinct attempts get distinct names.
func TestChildNameIsStable(t *testing.T) {
	s := newService(t, filepath.Join(t.TempDir(), "db"))
	ctx := context.Background()
	child, err := s.CreateStateMachine(ctx, scope, &sw.CreateStateMachineInput{Name: "c", RoleArn: "arn:aws:iam::000000000000:role/r",
		Definition: `{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}}`})
	if err != nil {
		t.Fatal(err)
	}
	src, err := s.resolve(ctx, scope, child.StateMachineArn)
	if err != nil {
		t.Fatal(err)
	}
	r := &taskRunner{s: s, scope: scope}
	a1, _, err := r.startChild(ctx, src, child.StateMachineArn, "n1", "{}", true)
	if err != nil {
		t.Fatal(err)
	}
	waitStatus(t, s, a1)
	a2, _, err := r.startChild(ctx, src, child.StateMachineArn, "n1", "{}", true)
	if err != nil || a2 != a1 {
		t.Fatalf("again: %s %v", a2, err)
	}
	if _, _, err := r.startChild(ctx, src, child.StateMachineArn, "n1", "{}", false); err == nil {
		t.Fatal("a named child started twice")
	}
}
