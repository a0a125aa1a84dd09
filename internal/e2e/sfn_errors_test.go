package e2e_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	ltypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	stypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/barge-run/barge/internal/bargetest"
)

// sfnErrorFunctions creates the functions the error cases need besides sfnFunctions' ones:
// errsleep sleeps 5 s (to outlast a Task's TimeoutSeconds) and errbig returns 300 KiB, more
// than a state's 256 KiB payload quota.
func sfnErrorFunctions(t *testing.T, b *bargetest.Barge) {
	t.Helper()
	pkg := pythonPackage(t, "errs.py", `
import time

def sleep(event, context):
    time.sleep(5)
    return {"slept": 5}

def big(event, context):
    return {"blob": "x" * (300 * 1024)}
`)
	c := lambda.NewFromConfig(b.Config())
	for name, handler := range map[string]string{"errsleep": "errs.sleep", "errbig": "errs.big"} {
		if _, err := c.CreateFunction(t.Context(), &lambda.CreateFunctionInput{FunctionName: aws.String(name), Runtime: hostPython(t),
			Handler: aws.String(handler), Role: aws.String("arn:aws:iam::000000000000:role/any"), Timeout: aws.Int32(30),
			Code: &ltypes.FunctionCode{ZipFile: pkg}}); err != nil {
			t.Fatal(err)
		}
	}
}

// catchers is a Catch field: a catcher per name in wrong, each leading to the Fail state
// Wrong, then one for want leading to Caught. JSONata states take no ResultPath: their
// catcher's output is the error output itself.
func catchers(jsonata bool, wrong []string, want string) string {
	var cs []string
	for _, w := range wrong {
		cs = append(cs, fmt.Sprintf(`{"ErrorEquals":[%q],"Next":"Wrong"}`, w))
	}
	if jsonata {
		cs = append(cs, fmt.Sprintf(`{"ErrorEquals":[%q],"Next":"Caught"}`, want))
	} else {
		cs = append(cs, fmt.Sprintf(`{"ErrorEquals":[%q],"ResultPath":"$.err","Next":"Caught"}`, want))
	}
	return `"Catch":[` + strings.Join(cs, ",") + `]`
}

// TestSFNErrorNames provokes each of AWS's predefined error names in a small machine and
// checks that a catcher of that exact name takes it — or, for the terminal errors AWS
// documents as beyond Retry and Catch (States.Runtime, States.DataLimitExceeded, and a
// failing intrinsic or Parameters path, which AWS reports as States.Runtime), that the
// execution fails with it although a States.ALL catcher is there.
func TestSFNErrorNames(t *testing.T) {
	t.Parallel()
	b := bargetest.Start(t)
	sfnFunctions(t, b)
	sfnErrorFunctions(t, b)
	c := sfnClient(b)

	type errorCase struct {
		name  string
		state string // the state X, with CATCH where its Catch field goes
		input string
		catch string   // the name the catcher matches ("" when nothing may catch it)
		wrong []string // names of catchers before it that must not match
		error string   // the Error: of the caught error output, or of the failed execution
		cause string   // a part of the Cause
	}
	cases := []errorCase{
		{name: "TaskFailed", state: `{"Type":"Task","Resource":"` + fnARN + `boom",CATCH,"End":true}`,
			catch: "States.TaskFailed", wrong: []string{"States.Timeout", "States.Runtime"}, error: "Boom", cause: "it went boom"},
		{name: "TaskFailedUnknownFunction", state: `{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","Parameters":{"FunctionName":"nope","Payload":{}},CATCH,"End":true}`,
			catch: "States.TaskFailed", error: "Lambda.ResourceNotFoundException"},
		{name: "ALL", state: `{"Type":"Task","Resource":"` + fnARN + `boom",CATCH,"End":true}`,
			catch: "States.ALL", error: "Boom"},
		{name: "CustomName", state: `{"Type":"Task","Resource":"` + fnARN + `boom",CATCH,"End":true}`,
			catch: "Boom", wrong: []string{"Bo", "States.Timeout"}, error: "Boom"},
		{name: "Timeout", state: `{"Type":"Task","Resource":"` + fnARN + `errsleep","TimeoutSeconds":1,CATCH,"End":true}`,
			catch: "States.Timeout", wrong: []string{"States.TaskFailed", "States.HeartbeatTimeout"}, error: "States.Timeout"},
		{name: "HeartbeatTimeout", state: `{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke.waitForTaskToken",
			"Parameters":{"FunctionName":"noop","Payload":{"token.$":"$$.Task.Token"}},"HeartbeatSeconds":1,"TimeoutSeconds":60,CATCH,"End":true}`,
			catch: "States.HeartbeatTimeout", wrong: []string{"States.TaskFailed"}, error: "States.HeartbeatTimeout"},
		{name: "HeartbeatTimeoutIsATimeout", state: `{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke.waitForTaskToken",
			"Parameters":{"FunctionName":"noop","Payload":{"token.$":"$$.Task.Token"}},"HeartbeatSeconds":1,"TimeoutSeconds":60,CATCH,"End":true}`,
			catch: "States.Timeout", error: "States.HeartbeatTimeout"},
		{name: "ResultPathMatchFailure", state: `{"Type":"Task","Resource":"` + fnARN + `double","Parameters":{"n":1},"ResultPath":"$.s.x",CATCH,"End":true}`,
			input: `{"s":"a string"}`, catch: "States.ResultPathMatchFailure", wrong: []string{"States.Runtime"}, error: "States.ResultPathMatchFailure"},
		{name: "NoChoiceMatchedInBranch", state: `{"Type":"Parallel","Branches":[{"StartAt":"C","States":{
			"C":{"Type":"Choice","Choices":[{"Variable":"$.x","NumericEquals":1,"Next":"One"}]},"One":{"Type":"Succeed"}}}],CATCH,"End":true}`,
			input: `{"x":2}`, catch: "States.NoChoiceMatched", wrong: []string{"States.BranchFailed"}, error: "States.NoChoiceMatched"},
		// A failed branch fails its Parallel state with the branch's own error, not
		// States.BranchFailed.
		{name: "BranchFailed", state: `{"Type":"Parallel","Branches":[
			{"StartAt":"Ok","States":{"Ok":{"Type":"Pass","End":true}}},
			{"StartAt":"F","States":{"F":{"Type":"Fail","Error":"Branch.Oops","Cause":"second branch"}}}],CATCH,"End":true}`,
			catch: "Branch.Oops", wrong: []string{"States.BranchFailed"}, error: "Branch.Oops", cause: "second branch"},
		{name: "ExceedToleratedFailureThreshold", state: `{"Type":"Map","ItemsPath":"$.items","ToleratedFailureCount":0,
			"ItemProcessor":{"ProcessorConfig":{"Mode":"DISTRIBUTED","ExecutionType":"STANDARD"},"StartAt":"B","States":{
			"B":{"Type":"Task","Resource":"` + fnARN + `boom","End":true}}},CATCH,"End":true}`,
			input: `{"items":[1,2]}`, catch: "States.ExceedToleratedFailureThreshold", wrong: []string{"Boom"},
			error: "States.ExceedToleratedFailureThreshold"},
		{name: "QueryEvaluationError", state: `{"Type":"Task","QueryLanguage":"JSONata","Resource":"arn:aws:states:::lambda:invoke",
			"Arguments":{"FunctionName":"double","Payload":{"n":"{% 1 + 'one' %}"}},CATCH,"End":true}`,
			catch: "States.QueryEvaluationError", wrong: []string{"States.Runtime"}, error: "States.QueryEvaluationError"},
		// Terminal errors: no catcher, States.ALL included, takes them.
		{name: "Runtime", state: `{"Type":"Task","Resource":"` + fnARN + `noop","InputPath":"$.missing",CATCH,"End":true}`,
			error: "States.Runtime", cause: "$.missing"},
		{name: "ParameterPathFailure", state: `{"Type":"Task","Resource":"` + fnARN + `double","Parameters":{"n.$":"$.missing"},CATCH,"End":true}`,
			wrong: []string{"States.ParameterPathFailure"}, error: "States.Runtime", cause: "$.missing"},
		{name: "IntrinsicFailure", state: `{"Type":"Task","Resource":"` + fnARN + `double","Parameters":{"n.$":"States.StringToJson($.s)"},CATCH,"End":true}`,
			input: `{"s":"{"}`, wrong: []string{"States.IntrinsicFailure"}, error: "States.Runtime", cause: "States.StringToJson"},
		{name: "DataLimitExceeded", state: `{"Type":"Task","Resource":"` + fnARN + `errbig",CATCH,"End":true}`,
			wrong: []string{"States.TaskFailed"}, error: "States.DataLimitExceeded"},
		// A Choice state has no Catch: no match fails the execution.
		{name: "NoChoiceMatched", state: `{"Type":"Choice","Choices":[{"Variable":"$.x","NumericEquals":1,"Next":"Caught"}]}`,
			input: `{"x":2}`, error: "States.NoChoiceMatched"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			jsonata := strings.Contains(tc.state, `"QueryLanguage":"JSONata"`)
			var catch string
			if tc.catch != "" {
				catch = catchers(jsonata, tc.wrong, tc.catch)
			} else {
				catch = catchers(jsonata, tc.wrong, "States.ALL")
			}
			wrong := ""
			if len(tc.wrong) > 0 {
				wrong = `"Wrong":{"Type":"Fail","Error":"WrongCatcher"},`
			}
			def := `{"StartAt":"X","States":{"X":` + strings.Replace(tc.state, "CATCH", catch, 1) + `,` + wrong + `
			  "Caught":{"Type":"Pass","End":true}}}`
			input := tc.input
			if input == "" {
				input = "{}"
			}
			ex := startExecution(t, c, createMachine(t, c, "err-"+tc.name, def, ""), "", input)
			d := waitExecution(t, c, ex, 2*time.Minute)
			if tc.catch == "" {
				if d.Status != stypes.ExecutionStatusFailed || aws.ToString(d.Error) != tc.error || !strings.Contains(aws.ToString(d.Cause), tc.cause) {
					t.Fatalf("%s %s %q, want FAILED %s (cause with %q) though States.ALL is caught", d.Status, aws.ToString(d.Error),
						aws.ToString(d.Cause), tc.error, tc.cause)
				}
				return
			}
			if d.Status != stypes.ExecutionStatusSucceeded {
				t.Fatalf("%s %s %q, want SUCCEEDED through the %s catcher", d.Status, aws.ToString(d.Error), aws.ToString(d.Cause), tc.catch)
			}
			var out struct {
				Error, Cause string
				Err          *struct{ Error, Cause string }
			}
			if err := json.Unmarshal([]byte(aws.ToString(d.Output)), &out); err != nil {
				t.Fatalf("output %s: %v", aws.ToString(d.Output), err)
			}
			if out.Err != nil {
				out.Error, out.Cause = out.Err.Error, out.Err.Cause
			}
			if out.Error != tc.error || !strings.Contains(out.Cause, tc.cause) {
				t.Fatalf("caught %q %q, want %s (cause with %q); output %s", out.Error, out.Cause, tc.error, tc.cause, aws.ToString(d.Output))
			}
		})
	}

	// Retry on States.TaskFailed: 1 + MaxAttempts invocations, each wait IntervalSeconds
	// times BackoffRate to the power of the retry, then the catcher.
	t.Run("Retry", func(t *testing.T) {
		t.Parallel()
		def := `{"StartAt":"T","States":{
		  "T":{"Type":"Task","Resource":"` + fnARN + `boom","Retry":[{"ErrorEquals":["States.Timeout"],"MaxAttempts":5},
		    {"ErrorEquals":["States.TaskFailed"],"IntervalSeconds":1,"MaxAttempts":2,"BackoffRate":2}],
		    "Catch":[{"ErrorEquals":["States.TaskFailed"],"ResultPath":"$.err","Next":"Caught"}],"End":true},
		  "Caught":{"Type":"Pass","End":true}}}`
		ex := startExecution(t, c, createMachine(t, c, "err-retry", def, ""), "", `{}`)
		d := waitExecution(t, c, ex, 2*time.Minute)
		if d.Status != stypes.ExecutionStatusSucceeded || !strings.Contains(aws.ToString(d.Output), `"Error":"Boom"`) {
			t.Fatalf("retry: %s %s %s", d.Status, aws.ToString(d.Error), aws.ToString(d.Output))
		}
		evs := historyOf(t, c, ex)
		if n := countEvents(evs, stypes.HistoryEventTypeLambdaFunctionFailed); n != 3 {
			t.Fatalf("%d LambdaFunctionFailed events, want 3 (1 + MaxAttempts 2): %v", n, eventTypes(evs))
		}
		var scheduled []time.Time
		for _, e := range evs {
			if e.Type == stypes.HistoryEventTypeLambdaFunctionScheduled {
				scheduled = append(scheduled, aws.ToTime(e.Timestamp))
			}
		}
		if len(scheduled) != 3 {
			t.Fatalf("%d LambdaFunctionScheduled events, want 3", len(scheduled))
		}
		// Backoff: 1 s, then 1 s × BackoffRate 2 (the invocations themselves take more).
		if g1, g2 := scheduled[1].Sub(scheduled[0]), scheduled[2].Sub(scheduled[1]); g1 < 950*time.Millisecond || g2 < 1950*time.Millisecond {
			t.Fatalf("retried after %s and %s, want ≥ 1 s and ≥ 2 s", g1, g2)
		}
	})
}
