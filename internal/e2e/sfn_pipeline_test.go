package e2e_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/batch"
	btypes "github.com/aws/aws-sdk-go-v2/service/batch/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	ltypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	stypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/barge-run/barge/internal/bargetest"
)

// sfnFunctions creates Python functions the workflows call: double ({"n"} → {"n": 2n}), noop,
// boom (raises Boom) and flaky (raises Boom on its first call in an instance).
func sfnFunctions(t *testing.T, b *bargetest.Barge) {
	t.Helper()
	pkg := pythonPackage(t, "app.py", `
calls = 0

class Boom(Exception):
    pass

def double(event, context):
    return {"n": event["n"] * 2}

def noop(event, context):
    return {}

def boom(event, context):
    raise Boom("it went boom")

def flaky(event, context):
    global calls
    calls += 1
    if calls == 1:
        raise Boom("first call fails")
    return {"calls": calls}
`)
	c := lambda.NewFromConfig(b.Config())
	for _, name := range []string{"double", "noop", "boom", "flaky"} {
		if _, err := c.CreateFunction(t.Context(), &lambda.CreateFunctionInput{FunctionName: aws.String(name), Runtime: hostPython(t),
			Handler: aws.String("app." + name), Role: aws.String("arn:aws:iam::000000000000:role/any"), Code: &ltypes.FunctionCode{ZipFile: pkg}}); err != nil {
			t.Fatal(err)
		}
	}
}

const fnARN = "arn:aws:lambda:us-east-1:000000000000:function:"

// TestSFNPipeline runs Lambda (lambda:invoke) → a Batch job (.sync) → a Map over a function
// (bare ARN) → Choice → Succeed against the real services, and checks its history.
func TestSFNPipeline(t *testing.T) {
	t.Parallel()
	b := bargetest.Start(t)
	sfnFunctions(t, b)
	bc, ctx := batch.NewFromConfig(b.Config()), t.Context()
	if _, err := bc.RegisterJobDefinition(ctx, &batch.RegisterJobDefinitionInput{JobDefinitionName: aws.String("align"), Type: btypes.JobDefinitionTypeContainer,
		ContainerProperties: &btypes.ContainerProperties{Command: []string{"sh", "-c", "echo aligned"},
			ResourceRequirements: []btypes.ResourceRequirement{{Type: btypes.ResourceTypeVcpu, Value: aws.String("1")}, {Type: btypes.ResourceTypeMemory, Value: aws.String("128")}}}}); err != nil {
		t.Fatal(err)
	}
	def := `{"StartAt":"Validate","States":{
	  "Validate":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","Parameters":{"FunctionName":"double","Payload":{"n.$":"$.n"}},
	    "ResultSelector":{"n.$":"$.Payload.n","code.$":"$.StatusCode"},"ResultPath":"$.validated","Next":"Align"},
	  "Align":{"Type":"Task","Resource":"arn:aws:states:::batch:submitJob.sync","Parameters":{"JobName":"align","JobQueue":"default","JobDefinition":"align",
	    "ContainerOverrides":{"Environment":[{"Name":"N","Value":"1"}]}},
	    "ResultSelector":{"status.$":"$.Status","id.$":"$.JobId"},"ResultPath":"$.job","Next":"Fan"},
	  "Fan":{"Type":"Map","ItemsPath":"$.items","MaxConcurrency":2,"ItemProcessor":{"StartAt":"D","States":{
	    "D":{"Type":"Task","Resource":"` + fnARN + `double","Parameters":{"n.$":"$"},"End":true}}},"ResultPath":"$.mapped","Next":"Check"},
	  "Check":{"Type":"Choice","Choices":[{"Variable":"$.job.status","StringEquals":"SUCCEEDED","Next":"Done"}],"Default":"Bad"},
	  "Bad":{"Type":"Fail","Error":"JobFailed"},
	  "Done":{"Type":"Succeed"}}}`
	c := sfnClient(b)
	ex := startExecution(t, c, createMachine(t, c, "pipeline", def, ""), "run1", `{"n":2,"items":[1,2,3]}`)
	d := waitExecution(t, c, ex, 3*time.Minute)
	if d.Status != stypes.ExecutionStatusSucceeded {
		t.Fatalf("pipeline %s: %s %s", d.Status, aws.ToString(d.Error), aws.ToString(d.Cause))
	}
	var out struct {
		Validated struct{ N, Code int }
		Job       struct{ Status, ID string }
		Mapped    []struct{ N int }
	}
	if err := json.Unmarshal([]byte(aws.ToString(d.Output)), &out); err != nil {
		t.Fatal(err)
	}
	if out.Validated.N != 4 || out.Validated.Code != 200 || out.Job.Status != "SUCCEEDED" || len(out.Mapped) != 3 || out.Mapped[2].N != 6 {
		t.Fatalf("output %s", aws.ToString(d.Output))
	}
	jobs, err := bc.DescribeJobs(ctx, &batch.DescribeJobsInput{Jobs: []string{out.Job.ID}})
	if err != nil || len(jobs.Jobs) != 1 || jobs.Jobs[0].Status != btypes.JobStatusSucceeded {
		t.Fatalf("the job: %+v %v", jobs, err)
	}
	evs := historyOf(t, c, ex)
	for typ, n := range map[stypes.HistoryEventType]int{stypes.HistoryEventTypeTaskScheduled: 2, stypes.HistoryEventTypeTaskSucceeded: 2,
		stypes.HistoryEventTypeLambdaFunctionSucceeded: 3, stypes.HistoryEventTypeMapIterationSucceeded: 3,
		stypes.HistoryEventTypeChoiceStateEntered: 1, stypes.HistoryEventTypeSucceedStateEntered: 1, stypes.HistoryEventTypeExecutionSucceeded: 1} {
		if got := countEvents(evs, typ); got != n {
			t.Errorf("%d %s events, want %d", got, typ, n)
		}
	}
	for i, e := range evs {
		if e.Id != int64(i+1) {
			t.Fatalf("event %d has id %d", i+1, e.Id)
		}
	}
	if d := evs[len(evs)-1]; d.Type != stypes.HistoryEventTypeExecutionSucceeded {
		t.Fatalf("last event %s", d.Type)
	}
	rev, err := c.GetExecutionHistory(ctx, &sfn.GetExecutionHistoryInput{ExecutionArn: aws.String(ex), ReverseOrder: true, MaxResults: 1})
	if err != nil || rev.Events[0].Type != stypes.HistoryEventTypeExecutionSucceeded || rev.NextToken == nil {
		t.Fatalf("reverse history: %+v %v", rev, err)
	}
}

// TestSFNRetryCatchRedrive: a failing function is retried by its Retry, then caught by name;
// a failed execution is redriven from the failed state and succeeds.
func TestSFNRetryCatchRedrive(t *testing.T) {
	t.Parallel()
	b := bargetest.Start(t)
	sfnFunctions(t, b)
	c, ctx := sfnClient(b), t.Context()
	def := `{"StartAt":"T","States":{
	  "T":{"Type":"Task","Resource":"` + fnARN + `boom","Retry":[{"ErrorEquals":["Boom"],"IntervalSeconds":1,"MaxAttempts":2,"BackoffRate":1}],
	    "Catch":[{"ErrorEquals":["States.Timeout"],"Next":"Wrong"},{"ErrorEquals":["Boom"],"ResultPath":"$.err","Next":"Caught"}],"End":true},
	  "Wrong":{"Type":"Fail","Error":"WrongCatcher"},
	  "Caught":{"Type":"Pass","End":true}}}`
	ex := startExecution(t, c, createMachine(t, c, "retry", def, ""), "", `{}`)
	d := waitExecution(t, c, ex, time.Minute)
	if d.Status != stypes.ExecutionStatusSucceeded || !strings.Contains(aws.ToString(d.Output), `"Error":"Boom"`) {
		t.Fatalf("retry/catch: %s %s %s", d.Status, aws.ToString(d.Error), aws.ToString(d.Output))
	}
	if n := countEvents(historyOf(t, c, ex), stypes.HistoryEventTypeLambdaFunctionFailed); n != 3 {
		t.Fatalf("%d failed invocations, want 3 (1 + 2 retries)", n)
	}

	// Redrive: flaky fails on its instance's first call only.
	flaky := `{"StartAt":"Prep","States":{"Prep":{"Type":"Pass","Result":1,"ResultPath":"$.prep","Next":"F"},
	  "F":{"Type":"Task","Resource":"` + fnARN + `flaky","End":true}}}`
	ex = startExecution(t, c, createMachine(t, c, "flaky", flaky, ""), "", `{}`)
	if d := waitExecution(t, c, ex, time.Minute); d.Status != stypes.ExecutionStatusFailed || aws.ToString(d.Error) != "Boom" ||
		d.RedriveStatus != stypes.ExecutionRedriveStatusRedrivable {
		t.Fatalf("flaky first run: %+v", d)
	}
	if _, err := c.RedriveExecution(ctx, &sfn.RedriveExecutionInput{ExecutionArn: aws.String(ex)}); err != nil {
		t.Fatal(err)
	}
	d = waitExecution(t, c, ex, time.Minute)
	if d.Status != stypes.ExecutionStatusSucceeded || aws.ToInt32(d.RedriveCount) != 1 || aws.ToString(d.Output) != `{"calls":2}` {
		t.Fatalf("redriven: %s %s %s count %d", d.Status, aws.ToString(d.Error), aws.ToString(d.Output), aws.ToInt32(d.RedriveCount))
	}
	evs := historyOf(t, c, ex)
	if countEvents(evs, stypes.HistoryEventTypeExecutionRedriven) != 1 || countEvents(evs, stypes.HistoryEventTypePassStateEntered) != 1 {
		t.Fatalf("redriven history: %v", eventTypes(evs))
	}
	if _, err := c.RedriveExecution(ctx, &sfn.RedriveExecutionInput{ExecutionArn: aws.String(ex)}); errorCode(err) != "ExecutionNotRedrivable" {
		t.Fatalf("redriving a succeeded execution: %v", err)
	}
}

func eventTypes(evs []stypes.HistoryEvent) []string {
	var out []string
	for _, e := range evs {
		out = append(out, string(e.Type))
	}
	return out
}

// TestSFNCallbacks: a .waitForTaskToken task ends with SendTaskSuccess of the token it passed
// on, and an activity task is handed to a worker already waiting in GetActivityTask.
func TestSFNCallbacks(t *testing.T) {
	t.Parallel()
	dir, other := twoAccounts(t)
	b := bargetest.Start(t, bargetest.WithDataDir(dir))
	sfnFunctions(t, b)
	c, ctx := sfnClient(b), t.Context()
	def := `{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke.waitForTaskToken",
	  "Parameters":{"FunctionName":"noop","Payload":{"token.$":"$$.Task.Token"}},"End":true}}}`
	ex := startExecution(t, c, createMachine(t, c, "callback", def, ""), "", `{}`)
	sched := waitEvent(t, c, ex, stypes.HistoryEventTypeTaskScheduled, time.Minute)
	var params struct{ Payload struct{ Token string } }
	if err := json.Unmarshal([]byte(aws.ToString(sched.TaskScheduledEventDetails.Parameters)), &params); err != nil || params.Payload.Token == "" {
		t.Fatalf("scheduled parameters %s: %v", aws.ToString(sched.TaskScheduledEventDetails.Parameters), err)
	}
	if _, err := sfnClient(b, other).SendTaskSuccess(ctx, &sfn.SendTaskSuccessInput{TaskToken: aws.String(params.Payload.Token), Output: aws.String(`{}`)}); errorCode(err) != "TaskDoesNotExist" {
		t.Fatalf("another account's callback: %v", err)
	}
	if _, err := c.SendTaskSuccess(ctx, &sfn.SendTaskSuccessInput{TaskToken: aws.String(params.Payload.Token), Output: aws.String(`{"ok":true}`)}); err != nil {
		t.Fatal(err)
	}
	if d := waitExecution(t, c, ex, time.Minute); d.Status != stypes.ExecutionStatusSucceeded || aws.ToString(d.Output) != `{"ok":true}` {
		t.Fatalf("callback: %+v", d)
	}

	act, err := c.CreateActivity(ctx, &sfn.CreateActivityInput{Name: aws.String("work")})
	if err != nil {
		t.Fatal(err)
	}
	type task struct {
		out *sfn.GetActivityTaskOutput
		err error
	}
	got := make(chan task, 1)
	go func() { // the worker polls before any task exists
		out, err := c.GetActivityTask(ctx, &sfn.GetActivityTaskInput{ActivityArn: act.ActivityArn, WorkerName: aws.String("w1")})
		got <- task{out, err}
	}()
	adef := fmt.Sprintf(`{"StartAt":"A","States":{"A":{"Type":"Task","Resource":"%s","HeartbeatSeconds":60,"End":true}}}`, aws.ToString(act.ActivityArn))
	ex = startExecution(t, c, createMachine(t, c, "activity", adef, ""), "", `{"x":7}`)
	tk := <-got
	if tk.err != nil || aws.ToString(tk.out.Input) != `{"x":7}` {
		t.Fatalf("GetActivityTask: %+v %v", tk.out, tk.err)
	}
	if _, err := c.SendTaskHeartbeat(ctx, &sfn.SendTaskHeartbeatInput{TaskToken: tk.out.TaskToken}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.SendTaskFailure(ctx, &sfn.SendTaskFailureInput{TaskToken: tk.out.TaskToken, Error: aws.String("Worker.Broke"), Cause: aws.String("no")}); err != nil {
		t.Fatal(err)
	}
	if d := waitExecution(t, c, ex, time.Minute); d.Status != stypes.ExecutionStatusFailed || aws.ToString(d.Error) != "Worker.Broke" {
		t.Fatalf("activity: %+v", d)
	}
	if _, err := c.SendTaskSuccess(ctx, &sfn.SendTaskSuccessInput{TaskToken: tk.out.TaskToken, Output: aws.String(`{}`)}); errorCode(err) != "TaskDoesNotExist" {
		t.Fatalf("answering twice: %v", err)
	}
}

// TestSFNExpressAndAccounts: StartSyncExecution answers an EXPRESS execution's outcome; names
// are idempotent as AWS's; StopExecution aborts; another account sees nothing of it all.
func TestSFNExpressAndAccounts(t *testing.T) {
	t.Parallel()
	dir, other := twoAccounts(t)
	b := bargetest.Start(t, bargetest.WithDataDir(dir))
	c, oc, ctx := sfnClient(b), sfnClient(b, other), t.Context()
	express := createMachine(t, c, "fast", `{"StartAt":"C","States":{"C":{"Type":"Choice","Choices":[{"Variable":"$.ok","BooleanEquals":true,"Next":"Y"}],"Default":"N"},
	  "Y":{"Type":"Pass","Parameters":{"sum.$":"States.MathAdd($.a, 1)"},"End":true},"N":{"Type":"Fail","Error":"NotOk","Cause":"asked to fail"}}}`, stypes.StateMachineTypeExpress)
	out, err := c.StartSyncExecution(ctx, &sfn.StartSyncExecutionInput{StateMachineArn: aws.String(express), Input: aws.String(`{"ok":true,"a":41}`)})
	if err != nil || out.Status != stypes.SyncExecutionStatusSucceeded || aws.ToString(out.Output) != `{"sum":42}` {
		t.Fatalf("sync: %+v %v", out, err)
	}
	out, err = c.StartSyncExecution(ctx, &sfn.StartSyncExecutionInput{StateMachineArn: aws.String(express), Input: aws.String(`{"ok":false}`)})
	if err != nil || out.Status != stypes.SyncExecutionStatusFailed || aws.ToString(out.Error) != "NotOk" {
		t.Fatalf("sync failure: %+v %v", out, err)
	}
	standard := createMachine(t, c, "slow", `{"StartAt":"W","States":{"W":{"Type":"Wait","Seconds":600,"End":true}}}`, "")
	if _, err := c.StartSyncExecution(ctx, &sfn.StartSyncExecutionInput{StateMachineArn: aws.String(standard)}); errorCode(err) != "StateMachineTypeNotSupported" {
		t.Fatalf("sync on STANDARD: %v", err)
	}
	ex := startExecution(t, c, standard, "once", `{"a":1}`)
	if again := startExecution(t, c, standard, "once", `{"a":1}`); again != ex {
		t.Fatalf("same name and input: %s", again)
	}
	if _, err := c.StartExecution(ctx, &sfn.StartExecutionInput{StateMachineArn: aws.String(standard), Name: aws.String("once"), Input: aws.String(`{"a":2}`)}); errorCode(err) != "ExecutionAlreadyExists" {
		t.Fatalf("same name, other input: %v", err)
	}
	// Accounts apart.
	if _, err := oc.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: aws.String(ex)}); errorCode(err) != "ExecutionDoesNotExist" {
		t.Fatalf("other account describes: %v", err)
	}
	if _, err := oc.StartExecution(ctx, &sfn.StartExecutionInput{StateMachineArn: aws.String(standard)}); errorCode(err) != "StateMachineDoesNotExist" {
		t.Fatalf("other account starts: %v", err)
	}
	if l, err := oc.ListStateMachines(ctx, &sfn.ListStateMachinesInput{}); err != nil || len(l.StateMachines) != 0 {
		t.Fatalf("other account lists: %+v %v", l, err)
	}
	if own := createMachine(t, oc, "slow", `{"StartAt":"S","States":{"S":{"Type":"Succeed"}}}`, ""); !strings.Contains(own, ":111111111111:") {
		t.Fatalf("other account's machine %s", own)
	}
	if _, err := c.StopExecution(ctx, &sfn.StopExecutionInput{ExecutionArn: aws.String(ex), Error: aws.String("Ops.Stop"), Cause: aws.String("enough")}); err != nil {
		t.Fatal(err)
	}
	d := waitExecution(t, c, ex, 30*time.Second)
	if d.Status != stypes.ExecutionStatusAborted || aws.ToString(d.Error) != "Ops.Stop" {
		t.Fatalf("stopped: %+v", d)
	}
	evs := historyOf(t, c, ex)
	if last := evs[len(evs)-1]; last.Type != stypes.HistoryEventTypeExecutionAborted || aws.ToString(last.ExecutionAbortedEventDetails.Cause) != "enough" {
		t.Fatalf("last event %+v", last)
	}
	l, err := c.ListExecutions(ctx, &sfn.ListExecutionsInput{StateMachineArn: aws.String(standard), StatusFilter: stypes.ExecutionStatusAborted})
	if err != nil || len(l.Executions) != 1 {
		t.Fatalf("list aborted: %+v %v", l, err)
	}
}
