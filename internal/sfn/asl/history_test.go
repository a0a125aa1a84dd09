package asl

import (
	"strings"
	"testing"
)

func TestHistorySequenceAndLinks(t *testing.T) {
	t.Parallel()
	h := newHarness()
	def := `{"StartAt":"P","States":{
		"P":{"Type":"Pass","Result":"x","ResultPath":"$.p","Next":"T"},
		"T":{"Type":"Task","Resource":"arn:aws:lambda:us-east-1:000000000000:function:f","Next":"M"},
		"M":{"Type":"Map","ItemsPath":"$.xs","ItemProcessor":{"StartAt":"I","States":{"I":{"Type":"Pass","End":true}}},"ResultPath":null,"Next":"Done"},
		"Done":{"Type":"Succeed"}}}`
	h.mustRun(t, def, `{"xs":[1]}`)
	evs := h.sink.Events()
	want := []struct {
		typ  string
		prev int64
	}{
		{"ExecutionStarted", 0},
		{"PassStateEntered", 0}, {"PassStateExited", 2},
		{"TaskStateEntered", 3}, {"LambdaFunctionScheduled", 4}, {"LambdaFunctionStarted", 5},
		{"LambdaFunctionSucceeded", 6}, {"TaskStateExited", 7},
		{"MapStateEntered", 8}, {"MapStateStarted", 9},
		{"MapIterationStarted", 10}, {"PassStateEntered", 11}, {"PassStateExited", 12}, {"MapIterationSucceeded", 13},
		{"MapStateSucceeded", 14}, {"MapStateExited", 15},
		{"SucceedStateEntered", 16}, {"SucceedStateExited", 17},
		{"ExecutionSucceeded", 18},
	}
	if len(evs) != len(want) {
		t.Fatalf("events %v", h.sink.Types())
	}
	for i, w := range want {
		e := evs[i]
		if e.ID != int64(i+1) || e.Type != w.typ || e.PreviousEventID != w.prev {
			t.Errorf("event %d: got id=%d %s prev=%d, want %s prev=%d", i+1, e.ID, e.Type, e.PreviousEventID, w.typ, w.prev)
		}
	}
	if d := evs[4].LambdaFunctionScheduledEventDetails; d == nil || d.Resource != "arn:aws:lambda:us-east-1:000000000000:function:f" || d.Input != `{"p":"x","xs":[1]}` {
		t.Errorf("scheduled details %+v", d)
	}
	if d := evs[10].MapIterationStartedEventDetails; d == nil || d.Name != "M" || d.Index != 0 {
		t.Errorf("iteration details %+v", d)
	}
	if d := evs[0].ExecutionStartedEventDetails; d == nil || d.RoleArn != testExec.RoleARN {
		t.Errorf("started details %+v", d)
	}
}

func TestHistoryServiceTaskAndVariables(t *testing.T) {
	t.Parallel()
	h := newHarness()
	h.mustRun(t, `{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:states:::batch:submitJob.sync","Assign":{"id.$":"$.JobId"},"End":true}}}`, `{"JobId":"j1"}`)
	var sched *TaskScheduledEventDetails
	var exited *StateExitedEventDetails
	for _, e := range h.sink.Events() {
		if e.TaskScheduledEventDetails != nil {
			sched = e.TaskScheduledEventDetails
		}
		if e.StateExitedEventDetails != nil {
			exited = e.StateExitedEventDetails
		}
	}
	if sched == nil || sched.ResourceType != "batch" || sched.Resource != "submitJob.sync" || sched.Region != "us-east-1" {
		t.Errorf("scheduled %+v", sched)
	}
	if exited == nil || exited.AssignedVariables["id"] != `"j1"` {
		t.Errorf("exited %+v", exited)
	}
	if got := strings.Join(h.sink.Types(), " "); got != "ExecutionStarted TaskStateEntered TaskScheduled TaskStarted TaskSucceeded TaskStateExited ExecutionSucceeded" {
		t.Errorf("types %s", got)
	}
}

func TestParseResource(t *testing.T) {
	t.Parallel()
	tests := []struct {
		arn     string
		kind    ResourceKind
		service string
		action  string
		pattern IntegrationPattern
	}{
		{"arn:aws:states:::lambda:invoke", KindService, "lambda", "invoke", PatternRequestResponse},
		{"arn:aws:states:::lambda:invoke.waitForTaskToken", KindService, "lambda", "invoke", PatternWaitForTaskToken},
		{"arn:aws:states:::batch:submitJob.sync", KindService, "batch", "submitJob", PatternRunJob},
		{"arn:aws:states:::batch:submitJob", KindService, "batch", "submitJob", PatternRequestResponse},
		{"arn:aws:states:::states:startExecution.sync:2", KindService, "states", "startExecution", PatternRunJob},
		{"arn:aws:states:::aws-sdk:s3:getObject", KindSDK, "aws-sdk:s3", "getObject", PatternRequestResponse},
		{"arn:aws:lambda:us-east-1:123456789012:function:fn:prod", KindLambdaFunction, "lambda", "fn:prod", PatternRequestResponse},
		{"arn:aws:states:us-east-1:123456789012:activity:work", KindActivity, "activity", "work", PatternWaitForTaskToken},
	}
	for _, tc := range tests {
		r, err := ParseResource(tc.arn)
		if err != nil || r.Kind != tc.kind || r.Service != tc.service || r.Action != tc.action || r.Pattern != tc.pattern {
			t.Errorf("%s: %+v %v", tc.arn, r, err)
		}
	}
	for _, bad := range []string{"", "lambda:invoke", "arn:aws:s3:::bucket", "arn:aws:states:::lambda", "arn:aws:lambda:r:a:layer:x"} {
		if _, err := ParseResource(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}
