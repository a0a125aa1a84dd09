package sfn

import (
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/barge-run/barge/internal/awserr"
	sw "github.com/barge-run/barge/internal/awstypes/sfn"
	"github.com/barge-run/barge/internal/sfn/asl"
	"github.com/barge-run/barge/internal/store/sqlite"
)

const scope = "000000000000"

func newService(t *testing.T, path string) *Service {
	t.Helper()
	db, err := sqlite.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	s := New(Config{Store: db, Region: "us-east-1", Holder: "h1", PollInterval: 20 * time.Millisecond, SuspendAfter: 200 * time.Millisecond})
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Stop(); db.Close() })
	return s
}

// waitStatus waits for an execution to leave RUNNING.
func waitStatus(t *testing.T, s *Service, arn string) *sw.DescribeExecutionOutput {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		d, err := s.DescribeExecution(context.Background(), scope, &sw.DescribeExecutionInput{ExecutionArn: arn})
		if err != nil {
			t.Fatal(err)
		}
		if d.Status != sw.ExecutionStatusRunning {
			return d
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("%s still running", arn)
	return nil
}

func code(err error) string {
	var ae *awserr.Error
	if errors.As(err, &ae) {
		return ae.Code
	}
	return ""
}

// TestSuspendedWaitResumesInAnotherService: a run suspended in a Wait is left in the store and
// finished by a new service on the same store, as after a restart.
func TestSuspendedWaitResumesInAnotherService(t *testing.T) {
	path := filepath.Join(t.TempDir(), "db")
	s := newService(t, path)
	ctx := context.Background()
	def := `{"StartAt":"P","States":{"P":{"Type":"Pass","Result":1,"ResultPath":"$.p","Next":"W"},"W":{"Type":"Wait","Seconds":1,"Next":"E"},"E":{"Type":"Pass","End":true}}}`
	m, err := s.CreateStateMachine(ctx, scope, &sw.CreateStateMachineInput{Name: "m", Definition: def, RoleArn: "arn:aws:iam::000000000000:role/r"})
	if err != nil {
		t.Fatal(err)
	}
	ex, err := s.StartExecution(ctx, scope, &sw.StartExecutionInput{StateMachineArn: m.StateMachineArn, Input: `{"a":1}`})
	if err != nil {
		t.Fatal(err)
	}
	s.Stop() // suspends whatever runs: the run item stays for the next service
	s2 := newService(t, path)
	d := waitStatus(t, s2, ex.ExecutionArn)
	if d.Status != sw.ExecutionStatusSucceeded || d.Output != `{"a":1,"p":1}` {
		t.Fatalf("resumed: %+v", d)
	}
	h, err := s2.GetExecutionHistory(ctx, scope, &sw.GetExecutionHistoryInput{ExecutionArn: ex.ExecutionArn})
	if err != nil {
		t.Fatal(err)
	}
	for i, raw := range h.Events {
		var ev struct{ ID int64 }
		json.Unmarshal(raw, &ev)
		if ev.ID != int64(i+1) {
			t.Fatalf("event %d has id %d", i+1, ev.ID)
		}
	}
}

func TestCheckName(t *testing.T) {
	for name, ok := range map[string]bool{"ok-name_1": true, "": false, "a b": false, "a:b": false, "a/b": false, "x*": false,
		string(make([]byte, 81)): false} {
		if got := checkName(name) == nil; got != ok {
			t.Errorf("checkName(%q) = %v, want %v", name, got, ok)
		}
	}
}

func TestWakeOf(t *testing.T) {
	at := func(s int) *time.Time { v := time.Unix(int64(s), 0); return &v }
	for _, tc := range []struct {
		name string
		f    *cpFrame
		want int64
		ok   bool
	}{
		{"running", &cpFrame{}, 0, false},
		{"waiting", &cpFrame{WaitUntil: at(5)}, 5, true},
		{"branches all wait", &cpFrame{Children: []*cpFrame{{WaitUntil: at(9)}, {WaitUntil: at(7)}, {Done: true}}}, 7, true},
		{"one branch works", &cpFrame{Children: []*cpFrame{{WaitUntil: at(9)}, {}}}, 0, false},
		{"all branches done", &cpFrame{Children: []*cpFrame{{Done: true}}}, 0, false},
	} {
		w, ok := wakeOf(tc.f)
		if ok != tc.ok || (ok && w.Unix() != tc.want) {
			t.Errorf("%s: %v %v, want %d %v", tc.name, w, ok, tc.want, tc.ok)
		}
	}
}

func TestRecase(t *testing.T) {
	var in struct {
		JobName    string            `json:"jobName"`
		Parameters map[string]string `json:"parameters"`
		Overrides  struct {
			Environment []struct{ Name string } `json:"environment"`
		} `json:"containerOverrides"`
	}
	if err := toWire(json.RawMessage(`{"JobName":"j","Parameters":{"KeepMe":"1"},"ContainerOverrides":{"Environment":[{"Name":"N"}]}}`), &in); err != nil {
		t.Fatal(err)
	}
	if in.JobName != "j" || in.Parameters["KeepMe"] != "1" || in.Overrides.Environment[0].Name != "N" {
		t.Fatalf("toWire: %+v", in)
	}
	out, _ := fromWire(map[string]any{"jobId": "x", "tags": map[string]string{"k": "v"}})
	if string(out) != `{"JobId":"x","Tags":{"k":"v"}}` {
		t.Fatalf("fromWire: %s", out)
	}
}

func TestRedriveCheckpoint(t *testing.T) {
	cp := `{"execution":{"arn":"a"},"lastEventId":9,"root":{"state":"T","entered":true,"retries":[2],"retryCount":2,"prev":9}}`
	out, id, err := redriveCheckpoint(json.RawMessage(cp), 1)
	if err != nil || id != 10 {
		t.Fatalf("%s %d %v", out, id, err)
	}
	var got asl.Checkpoint
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatal(err)
	}
	if got.LastEventID != 10 || got.Root.Entered || got.Root.RetryCount != 0 || got.Root.Prev != 10 || got.Execution.RedriveCount != 1 {
		t.Fatalf("redrive checkpoint %s", out)
	}
}

func TestErrorsOfMisuse(t *testing.T) {
	s := newService(t, filepath.Join(t.TempDir(), "db"))
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		call func() error
		want string
	}{
		{"bad arn", func() error {
			_, err := s.DescribeStateMachine(ctx, scope, &sw.DescribeStateMachineInput{StateMachineArn: "nope"})
			return err
		}, "InvalidArn"},
		{"other account", func() error {
			_, err := s.DescribeStateMachine(ctx, scope, &sw.DescribeStateMachineInput{StateMachineArn: "arn:aws:states:us-east-1:111111111111:stateMachine:x"})
			return err
		}, "StateMachineDoesNotExist"},
		{"no execution", func() error {
			_, err := s.DescribeExecution(ctx, scope, &sw.DescribeExecutionInput{ExecutionArn: "arn:aws:states:us-east-1:000000000000:execution:m:e"})
			return err
		}, "ExecutionDoesNotExist"},
		{"bad token", func() error {
			_, err := s.SendTaskSuccess(ctx, scope, &sw.SendTaskSuccessInput{TaskToken: "garbage", Output: "{}"})
			return err
		}, "InvalidToken"},
		{"no activity", func() error {
			_, err := s.GetActivityTask(ctx, scope, &sw.GetActivityTaskInput{ActivityArn: "arn:aws:states:us-east-1:000000000000:activity:none"})
			return err
		}, "ActivityDoesNotExist"},
	} {
		if got := code(tc.call()); got != tc.want {
			t.Errorf("%s: %s, want %s", tc.name, got, tc.want)
		}
	}
}
