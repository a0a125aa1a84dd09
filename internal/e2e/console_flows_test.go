package e2e_test

import (
	"context"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	stypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	qtypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/barge-run/barge/internal/bargetest"
)

// consoleFlow is a machine whose Choice sends odd inputs one way: the other branch never runs.
const consoleFlow = `{"StartAt":"Prepare","States":{
 "Prepare":{"Type":"Pass","Result":{"n":3},"Next":"Odd?"},
 "Odd?":{"Type":"Choice","Choices":[{"Variable":"$.n","NumericEquals":3,"Next":"Both"}],"Default":"Never"},
 "Both":{"Type":"Parallel","Next":"Done","Branches":[
   {"StartAt":"Left","States":{"Left":{"Type":"Pass","End":true}}},
   {"StartAt":"Right","States":{"Right":{"Type":"Pass","End":true}}}]},
 "Never":{"Type":"Fail","Error":"Unreachable"},
 "Done":{"Type":"Succeed"}}}`

// TestConsoleMessagesAndWorkflows: the messages page shows SQS queues' depths and a mapping's
// batches; the workflows page lists an execution, whose page draws the machine with what each
// state did; another account's console shows none of it.
func TestConsoleMessagesAndWorkflows(t *testing.T) {
	t.Parallel()
	chrome := chromium(t)
	dir, other := twoAccounts(t)
	b := bargetest.Start(t, bargetest.WithDataDir(dir))
	ctx := context.Background()
	c := bargeCLI{t, ctx, bargetest.Binary(t), b.Env()}

	// Queues: three messages, one of them in flight; a dead-letter queue named in the redrive policy.
	e := esmT{sqsT: newSQS(t, b), b: b, l: lambda.NewFromConfig(b.Config()), logs: cloudwatchlogs.NewFromConfig(b.Config())}
	dlq := e.create("console-dlq", nil)
	work := e.create("console-work", map[string]string{"RedrivePolicy": `{"deadLetterTargetArn":"` + e.queueArn(dlq) + `","maxReceiveCount":"4"}`})
	for _, body := range []string{"a", "b", "c"} {
		e.send(work, body)
	}
	if got := e.receive(work, 1, 1, 300); len(got) != 1 {
		t.Fatalf("received %d messages, want 1", len(got))
	}
	// A mapping drains another queue into a function: one batch of two records.
	src := e.create("console-src", nil)
	e.function("console-drain", 10)
	m := e.mapping(&lambda.CreateEventSourceMappingInput{FunctionName: aws.String("console-drain"), EventSourceArn: aws.String(e.queueArn(src)),
		BatchSize: aws.Int32(10), MaximumBatchingWindowInSeconds: aws.Int32(1)})
	e.waitState(*m.UUID, "Enabled")
	if _, err := e.c.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: aws.String(src), Entries: []qtypes.SendMessageBatchRequestEntry{
		{Id: aws.String("1"), MessageBody: aws.String("x")}, {Id: aws.String("2"), MessageBody: aws.String("y")}}}); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, 60*time.Second, "the mapping drained its queue", func() bool { return len(e.received("console-drain")) == 2 && e.depth(src) == 0 })

	msgs := ""
	waitUntil(t, 60*time.Second, "the messages page showing the mapping's records", func() bool {
		msgs = browser(t, chrome, consoleURL(t, c, b)+"&next=/console/messages", "--dump-dom")
		return strings.Contains(msgs, `class="invoked">2<`)
	})
	for _, want := range []string{`data-queue="console-work"`, `class="visible">2<`, `class="in-flight">1<`, "console-dlq after 4 receives",
		`data-uuid="` + *m.UUID + `"`, `class="state">Enabled<`, "console-drain"} {
		if !strings.Contains(msgs, want) {
			t.Errorf("the messages page lacks %q:\n%s", want, msgs)
		}
	}

	// A workflow: its execution listed, then drawn with each state's status.
	sf := sfnClient(b)
	machine := createMachine(t, sf, "console-flow", consoleFlow, stypes.StateMachineTypeStandard)
	arn := startExecution(t, sf, machine, "console-run", `{}`)
	if d := waitExecution(t, sf, arn, time.Minute); d.Status != stypes.ExecutionStatusSucceeded {
		t.Fatalf("the execution ended %s: %s", d.Status, aws.ToString(d.Cause))
	}
	flows := browser(t, chrome, consoleURL(t, c, b)+"&next=/console/workflows", "--dump-dom")
	if !strings.Contains(flows, `data-machine="console-flow"`) || !strings.Contains(flows, `data-execution="console-run"`) {
		t.Errorf("the workflows page lacks the machine and its execution:\n%s", flows)
	}
	page := consoleURL(t, c, b) + "&next=" + url.QueryEscape("/console/execution?arn="+url.QueryEscape(arn))
	graph := browser(t, chrome, page, "--dump-dom")
	for state, status := range map[string]string{"Prepare": "SUCCEEDED", "Odd?": "SUCCEEDED", "Both": "SUCCEEDED", "Left": "SUCCEEDED",
		"Right": "SUCCEEDED", "Done": "SUCCEEDED", "Never": "NOT_RUN"} {
		if want := `data-state="` + state + `" data-status="` + status + `"`; !strings.Contains(graph, want) {
			t.Errorf("the execution's graph lacks %s:\n%s", want, graph)
		}
	}
	if !strings.Contains(graph, "<svg") || !strings.Contains(graph, "Both · branch 2") {
		t.Errorf("the execution's page draws no graph with the Parallel's branches:\n%s", graph)
	}

	if dir := os.Getenv("BARGE_CONSOLE_SCREENSHOTS"); dir != "" {
		browser(t, chrome, consoleURL(t, c, b)+"&next=/console/messages", "--screenshot="+filepath.Join(dir, "console-messages.png"), "--window-size=1280,800")
		browser(t, chrome, consoleURL(t, c, b)+"&next="+url.QueryEscape("/console/execution?arn="+url.QueryEscape(arn)),
			"--screenshot="+filepath.Join(dir, "console-execution.png"), "--window-size=1280,900")
	}

	// Another account: its own empty pages; the execution's page refuses its ARN.
	oc := bargeCLI{t, ctx, c.bin, append(b.Env(), "AWS_ACCESS_KEY_ID="+other.AccessKeyID, "AWS_SECRET_ACCESS_KEY="+other.SecretAccessKey)}
	theirs := browser(t, chrome, consoleURL(t, oc, b)+"&next=/console/messages", "--dump-dom") +
		browser(t, chrome, consoleURL(t, oc, b)+"&next=/console/workflows", "--dump-dom")
	for _, leak := range []string{"console-work", "console-src", *m.UUID, "console-flow", "console-run"} {
		if strings.Contains(theirs, leak) {
			t.Errorf("another account's console shows %q:\n%s", leak, theirs)
		}
	}
	if stolen := browser(t, chrome, consoleURL(t, oc, b)+"&next="+url.QueryEscape("/console/execution?arn="+url.QueryEscape(arn)), "--dump-dom"); strings.Contains(stolen, "data-state=") || !strings.Contains(stolen, "Execution Does Not Exist") {
		t.Errorf("another account opening the execution's page: want Execution Does Not Exist and no graph:\n%s", stolen)
	}
}
