package e2e_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/batch"
	"github.com/aws/aws-sdk-go-v2/service/batch/types"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	etypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	stypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/barge-run/barge/internal/bargetest"
)

// TestEventBridgeJobStateChanges: a rule matching AWS Batch's "Batch Job State Change" events
// of FAILED jobs gets exactly the failed job's event, its detail shaped as DescribeJobs; a rule
// matching custom events gets what PutEvents (aws-sdk-go-v2 and the AWS CLI) puts, and PutEvents
// refuses an aws.* source; a STANDARD execution sends "Step Functions Execution Status Change"
// events as it starts and ends.
func TestEventBridgeJobStateChanges(t *testing.T) {
	t.Parallel()
	b := bargetest.Start(t)
	ctx := t.Context()
	q := newSQS(t, b)
	eb := eventbridge.NewFromConfig(b.Config())
	rule := func(name, pattern, queue string) string {
		t.Helper()
		url := q.create(queue, nil)
		if _, err := eb.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String(name), EventPattern: aws.String(pattern)}); err != nil {
			t.Fatalf("PutRule %s: %v", name, err)
		}
		out, err := eb.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String(name),
			Targets: []etypes.Target{{Id: aws.String("q"), Arn: aws.String(esmT{sqsT: q}.queueArn(url))}}})
		if err != nil || out.FailedEntryCount != 0 {
			t.Fatalf("PutTargets %s: %v %+v", name, err, out)
		}
		return url
	}
	failed := rule("failed-jobs", `{"source":["aws.batch"],"detail-type":["Batch Job State Change"],"detail":{"status":["FAILED"]}}`, "failed-jobs")
	flows := rule("flows", `{"source":["aws.states"],"detail-type":["Step Functions Execution Status Change"]}`, "flows")
	custom := rule("shop", `{"source":["my.shop"],"detail":{"total":[{"numeric":[">",100]}]}}`, "big-orders")

	bc := b.Batch()
	register(t, bc, "events-fail", &types.ContainerProperties{Command: []string{"sh", "-c", "exit 3"}})
	register(t, bc, "events-ok", &types.ContainerProperties{Command: []string{"true"}})
	bad := submit(t, bc, &batch.SubmitJobInput{JobName: aws.String("will-fail"), JobDefinition: aws.String("events-fail")})
	good := submit(t, bc, &batch.SubmitJobInput{JobName: aws.String("will-pass"), JobDefinition: aws.String("events-ok")})
	for _, id := range []string{bad, good} {
		if j := bargetest.WaitJob(t, bc, id, jobWait, terminal); !terminal(string(j.Status)) {
			t.Fatalf("job %s is %s", id, j.Status)
		}
	}
	var events []map[string]any
	waitUntil(t, 30*time.Second, "the FAILED job's event", func() bool {
		for _, body := range bodies(q.receive(failed, 10, 1)) {
			var ev map[string]any
			if err := json.Unmarshal([]byte(body), &ev); err != nil {
				t.Fatalf("event %q: %v", body, err)
			}
			events = append(events, ev)
		}
		return len(events) > 0
	})
	ev := events[0]
	detail, _ := ev["detail"].(map[string]any)
	container, _ := detail["container"].(map[string]any)
	if len(events) != 1 || ev["source"] != "aws.batch" || ev["detail-type"] != "Batch Job State Change" || detail["jobId"] != bad ||
		detail["status"] != "FAILED" || detail["jobName"] != "will-fail" || container["exitCode"] != 3.0 ||
		!strings.HasSuffix(ev["resources"].([]any)[0].(string), ":job/"+bad) {
		t.Fatalf("the failed-jobs rule got %v", events)
	}
	// Only the failed job's FAILED event: none of its earlier changes, nothing of the job that passed.
	if more := bodies(q.receive(failed, 10, 1)); len(more) != 0 {
		t.Errorf("the failed-jobs rule also got %v", more)
	}

	put, err := eb.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: []etypes.PutEventsRequestEntry{
		{Source: aws.String("my.shop"), DetailType: aws.String("Order"), Detail: aws.String(`{"total":250}`)},
		{Source: aws.String("my.shop"), DetailType: aws.String("Order"), Detail: aws.String(`{"total":20}`)},
		{Source: aws.String("aws.batch"), DetailType: aws.String("Batch Job State Change"), Detail: aws.String(`{"status":"FAILED"}`)},
	}})
	if err != nil || put.FailedEntryCount != 1 || aws.ToString(put.Entries[2].ErrorCode) != "NotAuthorizedForSourceException" {
		t.Fatalf("PutEvents: %v %+v", err, put)
	}
	res := runCmd(t, ctx, append(b.Env(), "HOME="+t.TempDir(), "AWS_PAGER="), tool(t, "aws"), "--output", "json", "events", "put-events",
		"--entries", `[{"Source":"my.shop","DetailType":"Order","Detail":"{\"total\":999}"}]`)
	if res.code != 0 || !strings.Contains(res.stdout, `"FailedEntryCount": 0`) {
		t.Fatalf("aws events put-events:\n%s", res)
	}
	// A STANDARD execution's status changes: RUNNING, then SUCCEEDED with its output.
	sf := sfnClient(b)
	arn := startExecution(t, sf, createMachine(t, sf, "evented", passMachine, stypes.StateMachineTypeStandard), "run-1", `{"a":1}`)
	if d := waitExecution(t, sf, arn, time.Minute); d.Status != stypes.ExecutionStatusSucceeded {
		t.Fatalf("the execution ended %s", d.Status)
	}
	var statuses []string
	waitUntil(t, 30*time.Second, "the execution's two status changes", func() bool {
		for _, body := range bodies(q.receive(flows, 10, 1)) {
			var ev struct {
				Source    string   `json:"source"`
				Resources []string `json:"resources"`
				Detail    struct {
					ExecutionArn, Status, Input string
					Output                      *string
				} `json:"detail"`
			}
			if err := json.Unmarshal([]byte(body), &ev); err != nil || ev.Detail.ExecutionArn != arn || ev.Resources[0] != arn || ev.Detail.Input != `{"a":1}` {
				t.Fatalf("execution event %s (%v)", body, err)
			}
			if ev.Detail.Status == "SUCCEEDED" && (ev.Detail.Output == nil || *ev.Detail.Output == "") {
				t.Errorf("the SUCCEEDED event has no output: %s", body)
			}
			statuses = append(statuses, ev.Detail.Status)
		}
		return len(statuses) >= 2
	})
	if slices.Sort(statuses); strings.Join(statuses, ",") != "RUNNING,SUCCEEDED" {
		t.Errorf("execution events %v, want RUNNING and SUCCEEDED", statuses)
	}

	var totals []string
	waitUntil(t, 30*time.Second, "the big orders", func() bool {
		for _, body := range bodies(q.receive(custom, 10, 1)) {
			var ev struct {
				Detail json.RawMessage `json:"detail"`
			}
			json.Unmarshal([]byte(body), &ev)
			totals = append(totals, string(ev.Detail))
		}
		return len(totals) >= 2
	})
	if strings.Join(totals, " ") != `{"total":250} {"total":999}` && strings.Join(totals, " ") != `{"total":999} {"total":250}` {
		t.Errorf("the shop rule got %v, want the orders over 100", totals)
	}
}
