package e2e_test

import (
	"strings"
	"testing"

	"github.com/barge-run/barge/internal/bargetest"
)

// TestESMBoto3 drives an event source mapping through boto3: a FIFO queue drained in group
// order, partial batch responses, update and delete.
func TestESMBoto3(t *testing.T) {
	t.Parallel()
	python := boto3Python(t)
	rt := hostPython(t)
	b := bargetest.Start(t)
	runSelfCheckingScript(t, b, python, runtimePrelude(rt), esmBoto3Script, "esm ok")
}

const esmBoto3Script = `
import io, json, os, time, zipfile, boto3
ep = os.environ["AWS_ENDPOINT_URL"]
sqs, lam, logs = (boto3.client(s, endpoint_url=ep) for s in ("sqs", "lambda", "logs"))
code = io.BytesIO()
with zipfile.ZipFile(code, "w") as z:
    z.writestr("app.py", "import json\ndef handler(event, context):\n    print('REC ' + json.dumps([[r['attributes']['MessageGroupId'], r['body']] for r in event['Records']]))\n    return {'batchItemFailures': []}\n")
lam.create_function(FunctionName="fifo", Runtime=RUNTIME, Handler="app.handler", Role="arn:aws:iam::000000000000:role/r",
                    Code={"ZipFile": code.getvalue()})
url = sqs.create_queue(QueueName="orders.fifo", Attributes={"FifoQueue": "true", "ContentBasedDeduplication": "true"})["QueueUrl"]
arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
for i in range(12):
    sqs.send_message(QueueUrl=url, MessageBody="%s-%02d" % ("ab"[i % 2], i), MessageGroupId="ab"[i % 2])
m = lam.create_event_source_mapping(FunctionName="fifo", EventSourceArn=arn, BatchSize=3,
                                    FunctionResponseTypes=["ReportBatchItemFailures"])
assert m["State"] == "Creating" and m["BatchSize"] == 3 and m["FunctionResponseTypes"] == ["ReportBatchItemFailures"], m
try:
    lam.create_event_source_mapping(FunctionName="fifo", EventSourceArn=arn, BatchSize=11, MaximumBatchingWindowInSeconds=1)
    raise SystemExit("a FIFO batch of 11 was accepted")
except lam.exceptions.InvalidParameterValueException:
    pass
deadline = time.time() + 60
seen = []
while time.time() < deadline:
    a = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    ev = logs.filter_log_events(logGroupName="/aws/lambda/fifo", filterPattern='"REC "')["events"] if a["ApproximateNumberOfMessages"] == "0" and a["ApproximateNumberOfMessagesNotVisible"] == "0" else []
    ev.sort(key=lambda e: e["timestamp"])
    seen = [rec for e in ev for rec in json.loads(e["message"].split("REC ", 1)[1])]
    if len(seen) == 12:
        break
    time.sleep(0.1)
assert len(seen) == 12, seen
for g in "ab":
    order = [body for grp, body in seen if grp == g]
    assert order == sorted(order), (g, order)
got = lam.get_event_source_mapping(UUID=m["UUID"])
assert got["State"] == "Enabled" and got["EventSourceArn"] == arn, got
lst = lam.list_event_source_mappings(EventSourceArn=arn)["EventSourceMappings"]
assert [x["UUID"] for x in lst] == [m["UUID"]], lst
up = lam.update_event_source_mapping(UUID=m["UUID"], Enabled=False)
assert up["State"] == "Disabling", up
while lam.get_event_source_mapping(UUID=m["UUID"])["State"] != "Disabled":
    time.sleep(0.05)
d = lam.delete_event_source_mapping(UUID=m["UUID"])
assert d["State"] == "Deleting", d
print("esm ok")
`

// TestESMCLI manages a mapping with the AWS CLI.
func TestESMCLI(t *testing.T) {
	t.Parallel()
	hostPython(t)
	b := bargetest.Start(t)
	python := boto3Python(t)
	runSelfCheckingScript(t, b, python, runtimePrelude(hostPython(t)), `
import io, os, zipfile, boto3
ep = os.environ["AWS_ENDPOINT_URL"]
code = io.BytesIO()
with zipfile.ZipFile(code, "w") as z:
    z.writestr("app.py", "def handler(event, context):\n    return None\n")
boto3.client("lambda", endpoint_url=ep).create_function(FunctionName="clifn", Runtime=RUNTIME, Handler="app.handler",
    Role="arn:aws:iam::000000000000:role/r", Code={"ZipFile": code.getvalue()})
boto3.client("sqs", endpoint_url=ep).create_queue(QueueName="cliq")
print("setup ok")`, "setup ok")
	env := append(b.Env(), "HOME="+t.TempDir(), "AWS_PAGER=")
	aws := tool(t, "aws")
	run := func(want string, args ...string) string {
		t.Helper()
		res := runCmd(t, t.Context(), env, aws, append([]string{"--output", "json"}, args...)...)
		if res.code != 0 || !strings.Contains(res.stdout, want) {
			t.Fatalf("aws %s:\n%s", strings.Join(args, " "), res)
		}
		return res.stdout
	}
	out := run(`"State": "Creating"`, "lambda", "create-event-source-mapping", "--function-name", "clifn",
		"--event-source-arn", "arn:aws:sqs:us-east-1:000000000000:cliq", "--batch-size", "5", "--scaling-config", "MaximumConcurrency=3")
	_, rest, _ := strings.Cut(out, `"UUID": "`)
	uuid, _, _ := strings.Cut(rest, `"`)
	run(uuid, "lambda", "list-event-source-mappings", "--function-name", "clifn")
	run(`"MaximumConcurrency": 3`, "lambda", "get-event-source-mapping", "--uuid", uuid)
	run(`"BatchSize": 7`, "lambda", "update-event-source-mapping", "--uuid", uuid, "--batch-size", "7")
	run(`"State": "Deleting"`, "lambda", "delete-event-source-mapping", "--uuid", uuid)
}
