package asl

import (
	"context"
	"encoding/json"
	"testing"
)

func TestTestState(t *testing.T) {
	t.Parallel()
	tasks := &fakeTasks{fns: map[string]func(context.Context, TaskRequest) (json.RawMessage, error){
		lambdaInvoke: func(_ context.Context, req TaskRequest) (json.RawMessage, error) {
			return json.RawMessage(`{"Payload":{"n":2}}`), nil
		},
		"arn:aws:states:::lambda:invoke.waitForTaskToken": failing("Flaky", 10),
	}}
	clock := newFakeClock()
	task := `{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","InputPath":"$.in","Parameters":{"x.$":"$.x","v.$":"$v"},
		"ResultSelector":{"n.$":"$.Payload.n"},"ResultPath":"$.res","Assign":{"last.$":"$.n"},"Next":"Elsewhere"}`
	out, err := TestState(context.Background(), TestStateInput{Definition: task, Input: json.RawMessage(`{"in":{"x":1}}`),
		Variables: json.RawMessage(`{"v":"var"}`), InspectionLevel: LevelDebug, Tasks: tasks, Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	if out.Status != TestSucceeded || out.NextState != "Elsewhere" {
		t.Errorf("out %+v", out)
	}
	jsonEq(t, string(out.Output), `{"in":{"x":1},"res":{"n":2}}`)
	in := out.Inspection
	if in == nil {
		t.Fatal("no inspection data at DEBUG")
	}
	for got, want := range map[string]string{
		in.AfterInputPath: `{"x":1}`, in.AfterParameters: `{"x":1,"v":"var"}`, in.Result: `{"Payload":{"n":2}}`,
		in.AfterResultSelector: `{"n":2}`, in.AfterResultPath: `{"in":{"x":1},"res":{"n":2}}`, in.Variables: `{"v":"var","last":2}`,
	} {
		jsonEq(t, got, want)
	}

	info, err := TestState(context.Background(), TestStateInput{Definition: task, Input: json.RawMessage(`{"in":{"x":1}}`),
		Variables: json.RawMessage(`{"v":1}`), InspectionLevel: LevelInfo, Tasks: tasks, Clock: clock})
	if err != nil || info.Inspection != nil {
		t.Errorf("INFO returned inspection data: %+v %v", info, err)
	}

	retry := `{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke.waitForTaskToken","Retry":[{"ErrorEquals":["Flaky"],"IntervalSeconds":4}],"End":true}`
	r, err := TestState(context.Background(), TestStateInput{Definition: retry, Input: json.RawMessage(`{}`), InspectionLevel: LevelTrace, Tasks: tasks, Clock: clock})
	if err != nil || r.Status != TestRetriable || r.Error != "Flaky" || *r.Inspection.ErrorDetails.RetryIndex != 0 || *r.Inspection.ErrorDetails.RetryBackoffIntervalSeconds != 4 {
		t.Errorf("retriable: %+v %v", r, err)
	}

	caught := `{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke.waitForTaskToken","Catch":[{"ErrorEquals":["States.ALL"],"Next":"Handler"}],"End":true}`
	c, err := TestState(context.Background(), TestStateInput{Definition: caught, Input: json.RawMessage(`{}`), InspectionLevel: LevelDebug, Tasks: tasks, Clock: clock})
	if err != nil || c.Status != TestCaughtError || c.NextState != "Handler" || *c.Inspection.ErrorDetails.CatchIndex != 0 {
		t.Errorf("caught: %+v %v", c, err)
	}

	choice := `{"QueryLanguage":"JSONata","Type":"Choice","Choices":[{"Condition":"{% $states.input.n > 1 %}","Next":"Big"}],"Default":"Small"}`
	ch, err := TestState(context.Background(), TestStateInput{Definition: choice, Input: json.RawMessage(`{"n":2}`), Clock: clock})
	if err != nil || ch.NextState != "Big" {
		t.Errorf("choice: %+v %v", ch, err)
	}

	whole := `{"StartAt":"A","States":{"A":{"Type":"Wait","Seconds":999,"Next":"B"},"B":{"Type":"Fail","Error":"E","Cause":"c"}}}`
	w, err := TestState(context.Background(), TestStateInput{Definition: whole, StateName: "A", Input: json.RawMessage(`{}`), Clock: clock})
	if err != nil || w.Status != TestSucceeded || w.NextState != "B" || len(clock.Sleeps()) != 0 {
		t.Errorf("wait: %+v %v (sleeps %v)", w, err, clock.Sleeps())
	}
	f, err := TestState(context.Background(), TestStateInput{Definition: whole, StateName: "B", Input: json.RawMessage(`{}`), Clock: clock})
	if err != nil || f.Status != TestFailed || f.Error != "E" || f.Cause != "c" {
		t.Errorf("fail: %+v %v", f, err)
	}
	if _, err := TestState(context.Background(), TestStateInput{Definition: `{"Type":"Pass","Bogus":1,"End":true}`, Input: json.RawMessage(`{}`)}); err == nil {
		t.Error("invalid state accepted")
	}
}
