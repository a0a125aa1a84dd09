package e2e_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	stypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/barge-run/barge/internal/bargetest"
	"github.com/barge-run/barge/internal/sigv4"
)

const sfnRole = "arn:aws:iam::000000000000:role/sfn"

// sfnNoHostPrefix keeps aws-sdk-go-v2 from sending StartSyncExecution to "sync-" + the endpoint's
// host, as it does for AWS's sync-states endpoint even when BaseEndpoint is set.
func sfnNoHostPrefix(stack *middleware.Stack) error {
	return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("NoHostPrefix",
		func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
			return next.HandleInitialize(smithyhttp.DisableEndpointHostPrefix(ctx, true), in)
		}), middleware.Before)
}

// sfnClient is a Step Functions client of b for a credential (the default account's if none).
func sfnClient(b *bargetest.Barge, cred ...sigv4.Credential) *sfn.Client {
	return sfn.NewFromConfig(b.Config(cred...), func(o *sfn.Options) { o.APIOptions = append(o.APIOptions, sfnNoHostPrefix) })
}

func createMachine(t *testing.T, c *sfn.Client, name, def string, typ stypes.StateMachineType) string {
	t.Helper()
	out, err := c.CreateStateMachine(t.Context(), &sfn.CreateStateMachineInput{Name: aws.String(name), Definition: aws.String(def),
		RoleArn: aws.String(sfnRole), Type: typ})
	if err != nil {
		t.Fatalf("CreateStateMachine %s: %v", name, err)
	}
	return aws.ToString(out.StateMachineArn)
}

func startExecution(t *testing.T, c *sfn.Client, machine, name, input string) string {
	t.Helper()
	in := &sfn.StartExecutionInput{StateMachineArn: aws.String(machine), Input: aws.String(input)}
	if name != "" {
		in.Name = aws.String(name)
	}
	out, err := c.StartExecution(t.Context(), in)
	if err != nil {
		t.Fatalf("StartExecution: %v", err)
	}
	return aws.ToString(out.ExecutionArn)
}

// waitExecution waits for an execution to leave RUNNING.
func waitExecution(t *testing.T, c *sfn.Client, arn string, timeout time.Duration) *sfn.DescribeExecutionOutput {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		d, err := c.DescribeExecution(t.Context(), &sfn.DescribeExecutionInput{ExecutionArn: aws.String(arn)})
		if err != nil {
			t.Fatalf("DescribeExecution: %v", err)
		}
		if d.Status != stypes.ExecutionStatusRunning {
			return d
		}
		if time.Now().After(deadline) {
			t.Fatalf("execution %s still RUNNING after %s", arn, timeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// historyOf reads an execution's whole history.
func historyOf(t *testing.T, c *sfn.Client, arn string) []stypes.HistoryEvent {
	t.Helper()
	p := sfn.NewGetExecutionHistoryPaginator(c, &sfn.GetExecutionHistoryInput{ExecutionArn: aws.String(arn), MaxResults: 7})
	var evs []stypes.HistoryEvent
	for p.HasMorePages() {
		page, err := p.NextPage(t.Context())
		if err != nil {
			t.Fatalf("GetExecutionHistory: %v", err)
		}
		evs = append(evs, page.Events...)
	}
	return evs
}

// waitEvent waits until an execution's history has an event of a type and returns it.
func waitEvent(t *testing.T, c *sfn.Client, arn string, typ stypes.HistoryEventType, timeout time.Duration) stypes.HistoryEvent {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		for _, e := range historyOf(t, c, arn) {
			if e.Type == typ {
				return e
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("no %s event in %s within %s", typ, arn, timeout)
	return stypes.HistoryEvent{}
}

func countEvents(evs []stypes.HistoryEvent, typ stypes.HistoryEventType) int {
	n := 0
	for _, e := range evs {
		if e.Type == typ {
			n++
		}
	}
	return n
}

// TestSFNStateMachineAPI: create (idempotent as AWS's), describe, list with paging, tags,
// delete — and AWS's errors for each misuse.
func TestSFNStateMachineAPI(t *testing.T) {
	t.Parallel()
	b := bargetest.Start(t)
	c, ctx := sfnClient(b), t.Context()
	def := `{"StartAt":"P","States":{"P":{"Type":"Pass","Result":"v1","End":true}}}`
	arn := createMachine(t, c, "api", def, stypes.StateMachineTypeStandard)
	if arn != "arn:aws:states:us-east-1:000000000000:stateMachine:api" {
		t.Fatalf("arn %s", arn)
	}
	if again := createMachine(t, c, "api", def, ""); again != arn {
		t.Fatalf("repeated create: %s", again)
	}
	_, err := c.CreateStateMachine(ctx, &sfn.CreateStateMachineInput{Name: aws.String("api"), RoleArn: aws.String(sfnRole),
		Definition: aws.String(`{"StartAt":"P","States":{"P":{"Type":"Succeed"}}}`)})
	if errorCode(err) != "StateMachineAlreadyExists" {
		t.Fatalf("same name, other definition: %v", err)
	}
	for _, bad := range []struct{ name, role, code string }{
		{"has space", sfnRole, "InvalidName"}, {"ok", "", "ValidationException"}, {"ok", "role", "InvalidArn"},
	} {
		_, err := c.CreateStateMachine(ctx, &sfn.CreateStateMachineInput{Name: aws.String(bad.name), RoleArn: aws.String(bad.role), Definition: aws.String(def)})
		if errorCode(err) != bad.code {
			t.Errorf("create %q role %q: %v, want %s", bad.name, bad.role, err, bad.code)
		}
	}
	ex := startExecution(t, c, arn, "first", "{}")
	waitExecution(t, c, ex, 30*time.Second)
	d, err := c.DescribeStateMachine(ctx, &sfn.DescribeStateMachineInput{StateMachineArn: aws.String(arn)})
	if err != nil || aws.ToString(d.Definition) != def || d.Type != stypes.StateMachineTypeStandard || d.Status != stypes.StateMachineStatusActive {
		t.Fatalf("describe: %+v %v", d, err)
	}
	// Tags.
	if _, err := c.TagResource(ctx, &sfn.TagResourceInput{ResourceArn: aws.String(arn), Tags: []stypes.Tag{{Key: aws.String("team"), Value: aws.String("x")}}}); err != nil {
		t.Fatal(err)
	}
	tags, err := c.ListTagsForResource(ctx, &sfn.ListTagsForResourceInput{ResourceArn: aws.String(arn)})
	if err != nil || len(tags.Tags) != 1 || aws.ToString(tags.Tags[0].Value) != "x" {
		t.Fatalf("tags: %+v %v", tags, err)
	}
	// Paging.
	for _, n := range []string{"b1", "b2", "b3"} {
		createMachine(t, c, n, def, "")
	}
	p := sfn.NewListStateMachinesPaginator(c, &sfn.ListStateMachinesInput{MaxResults: 2})
	var names []string
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range page.StateMachines {
			names = append(names, aws.ToString(m.Name))
		}
	}
	if strings.Join(names, ",") != "api,b1,b2,b3" {
		t.Fatalf("listed %v", names)
	}
	if _, err := c.DeleteStateMachine(ctx, &sfn.DeleteStateMachineInput{StateMachineArn: aws.String(arn)}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.DescribeStateMachine(ctx, &sfn.DescribeStateMachineInput{StateMachineArn: aws.String(arn)}); errorCode(err) != "StateMachineDoesNotExist" {
		t.Fatalf("describe deleted: %v", err)
	}
	// Executions outlive their machine.
	if _, err := c.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: aws.String(ex)}); err != nil {
		t.Fatalf("execution of a deleted machine: %v", err)
	}
}

// TestSFNVersionsAndAliases: versions published on update, an alias routing to one and then,
// by weight, to two of them; a routed version cannot be deleted.
func TestSFNVersionsAndAliases(t *testing.T) {
	t.Parallel()
	b := bargetest.Start(t)
	c, ctx := sfnClient(b), t.Context()
	def := `{"StartAt":"P","States":{"P":{"Type":"Pass","Result":"v1","End":true}}}`
	arn := createMachine(t, c, "versioned", def, stypes.StateMachineTypeStandard)
	// Versions: publish on update; an alias routes to them.
	v1, err := c.PublishStateMachineVersion(ctx, &sfn.PublishStateMachineVersionInput{StateMachineArn: aws.String(arn), Description: aws.String("first")})
	if err != nil || aws.ToString(v1.StateMachineVersionArn) != arn+":1" {
		t.Fatalf("publish: %+v %v", v1, err)
	}
	up, err := c.UpdateStateMachine(ctx, &sfn.UpdateStateMachineInput{StateMachineArn: aws.String(arn), Publish: true,
		Definition: aws.String(strings.Replace(def, "v1", "v2", 1))})
	if err != nil || aws.ToString(up.StateMachineVersionArn) != arn+":2" {
		t.Fatalf("update+publish: %+v %v", up, err)
	}
	vs, err := c.ListStateMachineVersions(ctx, &sfn.ListStateMachineVersionsInput{StateMachineArn: aws.String(arn)})
	if err != nil || len(vs.StateMachineVersions) != 2 || aws.ToString(vs.StateMachineVersions[0].StateMachineVersionArn) != arn+":2" {
		t.Fatalf("versions: %+v %v", vs, err)
	}
	alias, err := c.CreateStateMachineAlias(ctx, &sfn.CreateStateMachineAliasInput{Name: aws.String("live"),
		RoutingConfiguration: []stypes.RoutingConfigurationListItem{{StateMachineVersionArn: aws.String(arn + ":1"), Weight: 100}}})
	if err != nil {
		t.Fatal(err)
	}
	aliasARN := aws.ToString(alias.StateMachineAliasArn)
	ex := startExecution(t, c, aliasARN, "via-alias", "{}")
	if out := waitExecution(t, c, ex, 30*time.Second); aws.ToString(out.Output) != `"v1"` || aws.ToString(out.StateMachineVersionArn) != arn+":1" ||
		aws.ToString(out.StateMachineAliasArn) != aliasARN {
		t.Fatalf("execution through alias: %+v", out)
	}
	if _, err := c.DeleteStateMachineVersion(ctx, &sfn.DeleteStateMachineVersionInput{StateMachineVersionArn: aws.String(arn + ":1")}); errorCode(err) != "ConflictException" {
		t.Fatalf("deleting a routed version: %v", err)
	}
	// Weighted routing: both versions run.
	if _, err := c.UpdateStateMachineAlias(ctx, &sfn.UpdateStateMachineAliasInput{StateMachineAliasArn: aws.String(aliasARN),
		RoutingConfiguration: []stypes.RoutingConfigurationListItem{{StateMachineVersionArn: aws.String(arn + ":1"), Weight: 50},
			{StateMachineVersionArn: aws.String(arn + ":2"), Weight: 50}}}); err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for range 24 {
		out := waitExecution(t, c, startExecution(t, c, aliasARN, "", "{}"), 30*time.Second)
		seen[aws.ToString(out.Output)]++
	}
	if seen[`"v1"`] == 0 || seen[`"v2"`] == 0 {
		t.Fatalf("weighted alias ran %v", seen)
	}
}

// TestSFNInvalidDefinition: each bad definition is refused with InvalidDefinition naming the
// state and field; ValidateStateMachineDefinition lists the same diagnostics.
func TestSFNInvalidDefinition(t *testing.T) {
	t.Parallel()
	b := bargetest.Start(t)
	c, ctx := sfnClient(b), t.Context()
	for _, tc := range []struct{ def, want string }{
		{`{"StartAt":"A","States":{"A":{"Type":"Pass","Next":"Nowhere"}}}`, "/States/A/Next"},
		{`{"StartAt":"A","States":{"A":{"Type":"Teleport","End":true}}}`, "/States/A"},
		{`{"StartAt":"A","States":{"A":{"Type":"Wait","End":true}}}`, "/States/A"},
		{`{"StartAt":"A","States":{"A":{"Type":"Choice","Choices":[{"Variable":"$.x","NumericEquals":1,"Next":"Gone"}]}}}`, "/States/A/Choices/0/Next"},
		{`{"StartAt":"A","States":{"A":{"Type":"Task","Resource":"arn:aws:lambda:us-east-1:000000000000:function:f","End":true,"Retry":[{"ErrorEquals":[],"MaxAttempts":-1}]}}}`, "/States/A/Retry"},
		{`not json`, "INVALID_JSON_DESCRIPTION"},
		// An integration barge does not serve is refused here rather than failing executions.
		{`{"StartAt":"P","States":{"P":{"Type":"Parallel","End":true,"Branches":[{"StartAt":"S3","States":{"S3":{"Type":"Task","Resource":"arn:aws:states:::s3:putObject","End":true}}}]}}}`,
			"arn:aws:states:::s3:putObject is not supported by barge at /States/S3/Resource"},
		{`{"StartAt":"A","States":{"A":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke.sync","End":true}}}`, "lambda:invoke.sync is not supported"},
	} {
		_, err := c.CreateStateMachine(ctx, &sfn.CreateStateMachineInput{Name: aws.String("bad"), RoleArn: aws.String(sfnRole), Definition: aws.String(tc.def)})
		if errorCode(err) != "InvalidDefinition" || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("definition %s: %v, want InvalidDefinition naming %s", tc.def, err, tc.want)
		}
		v, err := c.ValidateStateMachineDefinition(ctx, &sfn.ValidateStateMachineDefinitionInput{Definition: aws.String(tc.def)})
		if err != nil || v.Result != stypes.ValidateStateMachineDefinitionResultCodeFail || len(v.Diagnostics) == 0 {
			t.Errorf("validate %s: %+v %v", tc.def, v, err)
		}
	}
	v, err := c.ValidateStateMachineDefinition(ctx, &sfn.ValidateStateMachineDefinitionInput{Definition: aws.String(`{"StartAt":"A","States":{"A":{"Type":"Succeed"}}}`)})
	if err != nil || v.Result != stypes.ValidateStateMachineDefinitionResultCodeOk {
		t.Fatalf("valid: %+v %v", v, err)
	}
	ts, err := c.TestState(ctx, &sfn.TestStateInput{Definition: aws.String(`{"Type":"Pass","Parameters":{"y.$":"$.x"},"Next":"N"}`),
		Input: aws.String(`{"x":3}`), InspectionLevel: stypes.InspectionLevelDebug, RoleArn: aws.String(sfnRole)})
	if err != nil || aws.ToString(ts.Output) != `{"y":3}` || aws.ToString(ts.NextState) != "N" || ts.InspectionData == nil ||
		aws.ToString(ts.InspectionData.AfterParameters) != `{"y":3}` {
		t.Fatalf("TestState: %+v %v", ts, err)
	}
}
