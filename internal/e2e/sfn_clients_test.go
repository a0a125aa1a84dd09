package e2e_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/barge-run/barge/internal/bargetest"
)

// TestSFNBoto3 drives Step Functions with boto3: a machine, an execution waited on through
// DescribeExecution, its history, an activity worker loop, StartSyncExecution (with
// inject_host_prefix off: botocore otherwise sends it to sync-<host>) and modeled errors.
func TestSFNBoto3(t *testing.T) {
	t.Parallel()
	python := boto3Python(t)
	b := bargetest.Start(t)
	runSelfCheckingScript(t, b, python, "", `
import json, threading, time, boto3
from botocore.config import Config
c = boto3.client("stepfunctions")
role = "arn:aws:iam::000000000000:role/r"
act = c.create_activity(name="py-work")["activityArn"]
d = {"StartAt": "A", "States": {
  "A": {"Type": "Task", "Resource": act, "ResultPath": "$.worker", "Next": "P"},
  "P": {"Type": "Pass", "Parameters": {"total.$": "States.MathAdd($.x, $.worker.add)"}, "End": True}}}
sm = c.create_state_machine(name="py", definition=json.dumps(d), roleArn=role)["stateMachineArn"]
ex = c.start_execution(stateMachineArn=sm, name="one", input=json.dumps({"x": 1}))["executionArn"]
task = c.get_activity_task(activityArn=act, workerName="py")
assert json.loads(task["input"]) == {"x": 1}, task
c.send_task_success(taskToken=task["taskToken"], output=json.dumps({"add": 41}))
while True:
    desc = c.describe_execution(executionArn=ex)
    if desc["status"] != "RUNNING":
        break
    time.sleep(0.05)
assert desc["status"] == "SUCCEEDED" and json.loads(desc["output"]) == {"total": 42}, desc
types = [e["type"] for e in c.get_execution_history(executionArn=ex)["events"]]
assert types[0] == "ExecutionStarted" and "ActivitySucceeded" in types and types[-1] == "ExecutionSucceeded", types
try:
    c.describe_state_machine(stateMachineArn=sm + "-nope")
    raise SystemExit("no error")
except c.exceptions.StateMachineDoesNotExist:
    pass
try:
    c.create_state_machine(name="bad", definition='{"StartAt":"X","States":{}}', roleArn=role)
    raise SystemExit("no error")
except c.exceptions.InvalidDefinition as e:
    assert "/StartAt" in str(e), e
fast = c.create_state_machine(name="fast", type="EXPRESS", roleArn=role,
    definition=json.dumps({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}))["stateMachineArn"]
sync = boto3.client("stepfunctions", config=Config(inject_host_prefix=False))
out = sync.start_sync_execution(stateMachineArn=fast, input='{"k":"v"}')
assert out["status"] == "SUCCEEDED" and json.loads(out["output"]) == {"k": "v"}, out
print("boto3 sfn ok")
`, "boto3 sfn ok")
}

// TestSFNAWSCLI drives a few calls through the AWS CLI.
func TestSFNAWSCLI(t *testing.T) {
	t.Parallel()
	aws := tool(t, "aws")
	b := bargetest.Start(t)
	run := func(args ...string) string {
		t.Helper()
		res := runCmd(t, t.Context(), b.Env(), aws, append([]string{"stepfunctions", "--endpoint-url", b.Endpoint, "--output", "json"}, args...)...)
		if res.code != 0 {
			t.Fatalf("aws %v:\n%s", args, res)
		}
		return res.stdout
	}
	def := `{"StartAt":"P","States":{"P":{"Type":"Pass","Result":{"hello":"cli"},"End":true}}}`
	var created struct{ StateMachineArn string }
	json.Unmarshal([]byte(run("create-state-machine", "--name", "cli", "--definition", def, "--role-arn", sfnRole)), &created)
	var started struct{ ExecutionArn string }
	json.Unmarshal([]byte(run("start-execution", "--state-machine-arn", created.StateMachineArn, "--name", "x")), &started)
	c := sfnClient(b)
	if d := waitExecution(t, c, started.ExecutionArn, 30*time.Second); string(d.Status) != "SUCCEEDED" {
		t.Fatalf("status %s", d.Status)
	}
	out := run("describe-execution", "--execution-arn", started.ExecutionArn)
	if !strings.Contains(out, `"status": "SUCCEEDED"`) || !strings.Contains(out, `hello`) {
		t.Fatalf("describe-execution:\n%s", out)
	}
	if out := run("list-executions", "--state-machine-arn", created.StateMachineArn, "--status-filter", "SUCCEEDED"); !strings.Contains(out, started.ExecutionArn) {
		t.Fatalf("list-executions:\n%s", out)
	}
	if out := run("get-execution-history", "--execution-arn", started.ExecutionArn, "--reverse-order"); !strings.Contains(out, `"ExecutionSucceeded"`) {
		t.Fatalf("get-execution-history:\n%s", out)
	}
	res := runCmd(t, t.Context(), b.Env(), aws, "stepfunctions", "--endpoint-url", b.Endpoint, "describe-state-machine", "--state-machine-arn", created.StateMachineArn+"x")
	if res.code == 0 || !strings.Contains(res.stderr, "StateMachineDoesNotExist") {
		t.Fatalf("missing machine:\n%s", res)
	}
}
