package e2e_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	stypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/barge-run/barge/internal/bargetest"
)

// TestSFNNested: a parent execution starts child executions through
// arn:aws:states:::states:startExecution — fire and forget, .sync (Output a JSON string),
// .sync:2 (Output parsed), a failing child caught as States.TaskFailed with the child's
// description as the cause, and .waitForTaskToken answered by a callback.
func TestSFNNested(t *testing.T) {
	t.Parallel()
	b := bargetest.Start(t)
	c, ctx := sfnClient(b), t.Context()
	child := createMachine(t, c, "child", `{"StartAt":"P","States":{"P":{"Type":"Pass",
	  "Parameters":{"doubled.$":"States.MathAdd($.n, $.n)","parent.$":"$.AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID"},"End":true}}}`, "")
	bad := createMachine(t, c, "bad", `{"StartAt":"F","States":{"F":{"Type":"Fail","Error":"Child.Broke","Cause":"on purpose"}}}`, "")
	input := `{"n.$":"$.n","AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID.$":"$$.Execution.Id"}`
	def := `{"StartAt":"Start","States":{
	  "Start":{"Type":"Task","Resource":"arn:aws:states:::states:startExecution","Parameters":{"StateMachineArn":"` + child + `","Input":{"n":1,"AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID":"x"},"Name":"fired"},
	    "ResultPath":"$.started","Next":"Sync"},
	  "Sync":{"Type":"Task","Resource":"arn:aws:states:::states:startExecution.sync","Parameters":{"StateMachineArn":"` + child + `","Input":` + input + `},
	    "ResultSelector":{"status.$":"$.Status","output.$":"$.Output","arn.$":"$.ExecutionArn"},"ResultPath":"$.sync","Next":"Sync2"},
	  "Sync2":{"Type":"Task","Resource":"arn:aws:states:::states:startExecution.sync:2","Parameters":{"StateMachineArn":"` + child + `","Input":` + input + `},
	    "ResultSelector":{"doubled.$":"$.Output.doubled","parent.$":"$.Output.parent","n.$":"$.Input.n"},"ResultPath":"$.sync2","Next":"Bad"},
	  "Bad":{"Type":"Task","Resource":"arn:aws:states:::states:startExecution.sync:2","Parameters":{"StateMachineArn":"` + bad + `","Input":"{\"s\":1}"},
	    "Catch":[{"ErrorEquals":["States.TaskFailed"],"ResultPath":"$.caught","Next":"Done"}],"End":true},
	  "Done":{"Type":"Succeed"}}}`
	parent := createMachine(t, c, "parent", def, "")
	ex := startExecution(t, c, parent, "p1", `{"n":2}`)
	d := waitExecution(t, c, ex, time.Minute)
	if d.Status != stypes.ExecutionStatusSucceeded {
		t.Fatalf("parent: %s %s %s", d.Status, aws.ToString(d.Error), aws.ToString(d.Cause))
	}
	var out struct {
		Started struct {
			ExecutionArn string
			StartDate    float64
		}
		Sync  struct{ Status, Output, Arn string }
		Sync2 struct {
			Doubled, N int
			Parent     string
		}
		Caught struct{ Error, Cause string }
	}
	if err := json.Unmarshal([]byte(aws.ToString(d.Output)), &out); err != nil {
		t.Fatal(err)
	}
	// Fire and forget: the named child exists and ends by itself.
	if out.Started.ExecutionArn != "arn:aws:states:us-east-1:000000000000:execution:child:fired" || out.Started.StartDate == 0 {
		t.Fatalf("startExecution result %s", aws.ToString(d.Output))
	}
	if fd := waitExecution(t, c, out.Started.ExecutionArn, time.Minute); fd.Status != stypes.ExecutionStatusSucceeded {
		t.Fatalf("fired child %s", fd.Status)
	}
	// .sync: the child's output as a string; the parent's id in the child's input.
	if out.Sync.Status != "SUCCEEDED" || out.Sync.Output != `{"doubled":4,"parent":"`+ex+`"}` {
		t.Fatalf(".sync result %+v", out.Sync)
	}
	cd, err := c.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: aws.String(out.Sync.Arn)})
	if err != nil || cd.Status != stypes.ExecutionStatusSucceeded || aws.ToString(cd.Input) != `{"AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID":"`+ex+`","n":2}` {
		t.Fatalf("the .sync child: %+v %v", cd, err)
	}
	// .sync:2: Input and Output as JSON.
	if out.Sync2.Doubled != 4 || out.Sync2.N != 2 || out.Sync2.Parent != ex {
		t.Fatalf(".sync:2 result %+v", out.Sync2)
	}
	// A failed child: States.TaskFailed, its description as the cause.
	var cause struct{ Status, Error, Cause, ExecutionArn string }
	if out.Caught.Error != "States.TaskFailed" || json.Unmarshal([]byte(out.Caught.Cause), &cause) != nil ||
		cause.Status != "FAILED" || cause.Error != "Child.Broke" || cause.Cause != "on purpose" || cause.ExecutionArn == "" {
		t.Fatalf("caught %+v", out.Caught)
	}
	l, err := c.ListExecutions(ctx, &sfn.ListExecutionsInput{StateMachineArn: aws.String(child)})
	if err != nil || len(l.Executions) != 3 {
		t.Fatalf("child executions: %+v %v", l, err)
	}
	evs := historyOf(t, c, ex)
	if n := countEvents(evs, stypes.HistoryEventTypeTaskSubmitted); n != 3 {
		t.Fatalf("%d TaskSubmitted events: %v", n, eventTypes(evs))
	}
	for _, e := range evs {
		if e.Type == stypes.HistoryEventTypeTaskSubmitted && (e.TaskSubmittedEventDetails == nil ||
			aws.ToString(e.TaskSubmittedEventDetails.ResourceType) != "states" ||
			aws.ToString(e.TaskSubmittedEventDetails.Resource) == "") {
			t.Fatalf("TaskSubmitted %+v", e.TaskSubmittedEventDetails)
		}
	}

	// .waitForTaskToken: the child is started with the token; the callback ends the task.
	wdef := `{"StartAt":"W","States":{"W":{"Type":"Task","Resource":"arn:aws:states:::states:startExecution.waitForTaskToken",
	  "Parameters":{"StateMachineArn":"` + child + `","Input":{"n":5,"token.$":"$$.Task.Token","AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID.$":"$$.Execution.Id"}},"End":true}}}`
	wex := startExecution(t, c, createMachine(t, c, "waiter", wdef, ""), "w1", `{}`)
	sched := waitEvent(t, c, wex, stypes.HistoryEventTypeTaskScheduled, time.Minute)
	var params struct{ Input struct{ Token string } }
	if err := json.Unmarshal([]byte(aws.ToString(sched.TaskScheduledEventDetails.Parameters)), &params); err != nil || params.Input.Token == "" {
		t.Fatalf("scheduled parameters %s: %v", aws.ToString(sched.TaskScheduledEventDetails.Parameters), err)
	}
	if _, err := c.SendTaskSuccess(ctx, &sfn.SendTaskSuccessInput{TaskToken: aws.String(params.Input.Token), Output: aws.String(`{"called":"back"}`)}); err != nil {
		t.Fatal(err)
	}
	if wd := waitExecution(t, c, wex, time.Minute); wd.Status != stypes.ExecutionStatusSucceeded || aws.ToString(wd.Output) != `{"called":"back"}` {
		t.Fatalf("waitForTaskToken: %+v", wd)
	}

	// An integration barge does not serve is still refused at creation.
	_, err = c.CreateStateMachine(ctx, &sfn.CreateStateMachineInput{Name: aws.String("unserved"), RoleArn: aws.String(sfnRole),
		Definition: aws.String(`{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:states:::states:describeExecution","End":true}}}`)})
	if errorCode(err) != "InvalidDefinition" {
		t.Fatalf("unserved states action: %v", err)
	}
}
