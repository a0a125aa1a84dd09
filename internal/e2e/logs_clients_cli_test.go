package e2e_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	cwltypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	ltypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/barge-run/barge/internal/bargetest"
)

// createSink makes the function subscription filters deliver to and returns its ARN.
func createSink(t *testing.T, b *bargetest.Barge) string {
	t.Helper()
	fn, err := lambda.NewFromConfig(b.Config()).CreateFunction(t.Context(), &lambda.CreateFunctionInput{FunctionName: aws.String("sink"), Runtime: hostPython(t),
		Handler: aws.String("app.handler"), Role: aws.String("arn:aws:iam::000000000000:role/any"), Code: &ltypes.FunctionCode{ZipFile: zipSources(t, map[string]string{"app.py": sinkCode})}})
	if err != nil {
		t.Fatal(err)
	}
	return aws.ToString(fn.FunctionArn)
}

// logsBoto3Script calls every CloudWatch Logs operation TestLogsClientsBoto3 records through
// boto3 and prints what it saw as one JSON line; the Go test makes the assertions.
const logsBoto3Script = `
import json, os, time
import boto3, botocore.exceptions

logs = boto3.client("logs", endpoint_url=os.environ["AWS_ENDPOINT_URL"])
SINK = %q
out = {}

def error(call, **kw):
    try:
        call(**kw)
        return None
    except botocore.exceptions.ClientError as e:
        return {"code": e.response["Error"]["Code"], "message": e.response["Error"]["Message"],
                "status": e.response["ResponseMetadata"]["HTTPStatusCode"]}

logs.create_log_group(logGroupName="py/g")
arn = logs.describe_log_groups(logGroupNamePrefix="py/g")["logGroups"][0]["arn"]
logs.tag_log_group(logGroupName="py/g", tags={"team": "a", "env": "dev"})
logs.tag_resource(resourceArn=arn, tags={"env": "prod"})
out["tagsByName"] = logs.list_tags_log_group(logGroupName="py/g")["tags"]
out["tagsByArn"] = logs.list_tags_for_resource(resourceArn=arn)["tags"]
logs.untag_log_group(logGroupName="py/g", tags=["team"])
logs.untag_resource(resourceArn=arn, tagKeys=["env"])
out["tagsAfterUntag"] = logs.list_tags_log_group(logGroupName="py/g")["tags"]
out["tagMissing"] = error(logs.tag_log_group, logGroupName="py/none", tags={"a": "b"})

logs.put_retention_policy(logGroupName="py/g", retentionInDays=14)
out["retention"] = logs.describe_log_groups(logGroupNamePrefix="py/g")["logGroups"][0].get("retentionInDays")
logs.delete_retention_policy(logGroupName="py/g")
out["retentionAfterDelete"] = logs.describe_log_groups(logGroupNamePrefix="py/g")["logGroups"][0].get("retentionInDays")
out["deleteRetentionMissing"] = error(logs.delete_retention_policy, logGroupName="py/none")

now = int(time.time() * 1000)
for i, name in enumerate(["first", "second"]):
    logs.create_log_stream(logGroupName="py/g", logStreamName=name)
    logs.put_log_events(logGroupName="py/g", logStreamName=name, logEvents=[
        {"timestamp": now + i, "message": json.dumps({"level": "ERROR" if i else "INFO", "code": 500 + i, "retry": False})}])
out["streamsNewestFirst"] = [s["logStreamName"] for page in logs.get_paginator("describe_log_streams").paginate(
    logGroupName="py/g", orderBy="LastEventTime", descending=True, PaginationConfig={"PageSize": 1}) for s in page["logStreams"]]
out["streamsBadLimit"] = error(logs.describe_log_streams, logGroupName="py/g", limit=51)
out["grouped"] = [e["logStreamName"] for e in logs.filter_log_events(logGroupName="py/g",
    filterPattern='{ ($.level = "ERROR" || $.code = 500) && $.retry IS FALSE && $.gone NOT EXISTS }')["events"]]
out["badPattern"] = error(logs.filter_log_events, logGroupName="py/g", filterPattern="{ ($.code = 500 }")

logs.put_subscription_filter(logGroupName="py/g", filterName="errors", filterPattern='{ ($.level = "ERROR") }', destinationArn=SINK)
out["filters"] = [(f["filterName"], f["filterPattern"], f["destinationArn"]) for f in
    logs.describe_subscription_filters(logGroupName="py/g")["subscriptionFilters"]]
out["filterBadPattern"] = error(logs.put_subscription_filter, logGroupName="py/g", filterName="bad", filterPattern="{ $.a IS MAYBE }", destinationArn=SINK)
logs.delete_subscription_filter(logGroupName="py/g", filterName="errors")
out["filtersAfterDelete"] = logs.describe_subscription_filters(logGroupName="py/g")["subscriptionFilters"]
out["deleteFilterMissing"] = error(logs.delete_subscription_filter, logGroupName="py/g", filterName="errors")

doc = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "es.amazonaws.com"},
    "Action": ["logs:PutLogEvents", "logs:CreateLogStream"], "Resource": arn}]})
put = logs.put_resource_policy(policyName="es", policyDocument=doc)["resourcePolicy"]
out["putPolicy"] = {"name": put["policyName"], "document": put["policyDocument"], "lastUpdatedTime": put["lastUpdatedTime"]}
for i in range(9):
    logs.put_resource_policy(policyName="p%%d" %% i, policyDocument=doc)
out["policyLimit"] = error(logs.put_resource_policy, policyName="eleventh", policyDocument=doc)
out["policyBadDocument"] = error(logs.put_resource_policy, policyName="bad", policyDocument="not json")
out["policies"] = [p["policyName"] for page in logs.get_paginator("describe_resource_policies").paginate(
    PaginationConfig={"PageSize": 3}) for p in page["resourcePolicies"]]
logs.delete_resource_policy(policyName="es")
out["policiesAfterDelete"] = len(logs.describe_resource_policies()["resourcePolicies"])
out["deletePolicyMissing"] = error(logs.delete_resource_policy, policyName="es")
print(json.dumps(out))
`

// apiError is an error a Python or CLI client reported, as the scripts print it.
type apiError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Status  int    `json:"status"`
}

// check fails the test unless e is the AWS error code with a 4xx status, naming field.
func (e *apiError) check(t *testing.T, what, code, field string) {
	t.Helper()
	if e == nil || e.Code != code || e.Status < 400 || e.Status > 499 || !strings.Contains(strings.ToLower(e.Message), strings.ToLower(field)) {
		t.Errorf("%s: %+v, want %s, a 4xx status, a message naming %s", what, e, code, field)
	}
}

// TestLogsClientsBoto3: the CloudWatch Logs operations of TestLogsClientsSDK through boto3 —
// tags, retention removed, streams paged newest first, grouped JSON patterns, subscription
// filters, resource policies and their limit — with AWS's errors as botocore reads them.
func TestLogsClientsBoto3(t *testing.T) {
	t.Parallel()
	python := boto3Python(t)
	b := bargetest.Start(t)
	sink := createSink(t, b)
	res := runPythonScript(t, b, python, fmt.Sprintf(logsBoto3Script, sink))
	if res.code != 0 {
		t.Fatalf("boto3 script failed:\n%s", res)
	}
	var s struct {
		TagsByName, TagsByArn, TagsAfterUntag map[string]string
		Retention, RetentionAfterDelete       *int
		StreamsNewestFirst, Grouped, Policies []string
		Filters                               [][3]string
		FiltersAfterDelete                    []any
		PutPolicy                             struct {
			Name, Document  string
			LastUpdatedTime int64
		}
		PoliciesAfterDelete                   int
		TagMissing, DeleteRetentionMissing    *apiError
		StreamsBadLimit, BadPattern           *apiError
		FilterBadPattern, DeleteFilterMissing *apiError
		PolicyLimit, PolicyBadDocument        *apiError
		DeletePolicyMissing                   *apiError
	}
	lines := strings.Split(strings.TrimSpace(res.stdout), "\n")
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &s); err != nil {
		t.Fatalf("decoding the script's summary: %v\n%s", err, res)
	}
	if fmt.Sprint(s.TagsByName) != "map[env:prod team:a]" || fmt.Sprint(s.TagsByArn) != fmt.Sprint(s.TagsByName) || s.TagsAfterUntag == nil || len(s.TagsAfterUntag) != 0 {
		t.Errorf("tags: by name %v, by ARN %v, after untagging %v", s.TagsByName, s.TagsByArn, s.TagsAfterUntag)
	}
	if s.Retention == nil || *s.Retention != 14 || s.RetentionAfterDelete != nil {
		t.Errorf("retention %v, after delete_retention_policy %v; want 14, then none", s.Retention, s.RetentionAfterDelete)
	}
	if !slices.Equal(s.StreamsNewestFirst, []string{"second", "first"}) || !slices.Equal(s.Grouped, []string{"first", "second"}) {
		t.Errorf("streams newest first %q (want second, first); grouped pattern matched %q (want both)", s.StreamsNewestFirst, s.Grouped)
	}
	if len(s.Filters) != 1 || s.Filters[0][0] != "errors" || s.Filters[0][2] != sink || s.FiltersAfterDelete == nil || len(s.FiltersAfterDelete) != 0 {
		t.Errorf("subscription filters %q, after delete %v", s.Filters, s.FiltersAfterDelete)
	}
	if s.PutPolicy.Name != "es" || !strings.Contains(s.PutPolicy.Document, "es.amazonaws.com") || time.Since(time.UnixMilli(s.PutPolicy.LastUpdatedTime)) > time.Minute {
		t.Errorf("put_resource_policy answered %+v", s.PutPolicy)
	}
	if len(s.Policies) != 10 || s.PoliciesAfterDelete != 9 {
		t.Errorf("describe_resource_policies in pages of 3: %q; after a delete %d; want 10, then 9", s.Policies, s.PoliciesAfterDelete)
	}
	for _, tc := range []struct {
		e                 *apiError
		what, code, field string
	}{
		{s.TagMissing, "tag_log_group of a missing group", "ResourceNotFoundException", "log group"},
		{s.DeleteRetentionMissing, "delete_retention_policy of a missing group", "ResourceNotFoundException", "log group"},
		{s.StreamsBadLimit, "describe_log_streams limit 51", "InvalidParameterException", "limit"},
		{s.BadPattern, "filter_log_events with an unclosed group", "InvalidParameterException", "filterPattern"},
		{s.FilterBadPattern, "put_subscription_filter with IS MAYBE", "InvalidParameterException", "filterPattern"},
		{s.DeleteFilterMissing, "delete_subscription_filter twice", "ResourceNotFoundException", "subscription filter"},
		{s.PolicyLimit, "an 11th resource policy", "LimitExceededException", "10"},
		{s.PolicyBadDocument, "a policy document that is not JSON", "InvalidParameterException", "policyDocument"},
		{s.DeletePolicyMissing, "delete_resource_policy twice", "ResourceNotFoundException", "resource policy"},
	} {
		tc.e.check(t, tc.what, tc.code, tc.field)
	}
}

// TestLogsClientsCLI: the same operations through the AWS CLI (v1, botocore's request shapes and
// its argument parsing: --tags k=v, --policy-document JSON), each answer read back.
func TestLogsClientsCLI(t *testing.T) {
	t.Parallel()
	b := bargetest.Start(t)
	sink := createSink(t, b)
	a := awsCLI{t: t, ctx: t.Context(), env: b.Env()}
	a.ok(nil, "logs", "create-log-group", "--log-group-name", "cli/g")
	var groups struct{ LogGroups []struct{ Arn string } }
	a.ok(&groups, "logs", "describe-log-groups", "--log-group-name-prefix", "cli/g")
	arn := groups.LogGroups[0].Arn

	tags := func(args ...string) map[string]string {
		var out struct{ Tags map[string]string }
		a.ok(&out, append([]string{"logs"}, args...)...)
		return out.Tags
	}
	a.ok(nil, "logs", "tag-log-group", "--log-group-name", "cli/g", "--tags", "team=a,env=dev")
	a.ok(nil, "logs", "tag-resource", "--resource-arn", arn, "--tags", "env=prod")
	if got := tags("list-tags-log-group", "--log-group-name", "cli/g"); fmt.Sprint(got) != "map[env:prod team:a]" {
		t.Errorf("list-tags-log-group: %v", got)
	}
	a.ok(nil, "logs", "untag-log-group", "--log-group-name", "cli/g", "--tags", "team")
	if got := tags("list-tags-for-resource", "--resource-arn", arn); fmt.Sprint(got) != "map[env:prod]" {
		t.Errorf("list-tags-for-resource after untag-log-group: %v", got)
	}
	a.ok(nil, "logs", "untag-resource", "--resource-arn", arn, "--tag-keys", "env")
	if got := tags("list-tags-log-group", "--log-group-name", "cli/g"); got == nil || len(got) != 0 {
		t.Errorf("list-tags-log-group after untag-resource: %#v, want {}", got)
	}
	a.fails("ResourceNotFoundException", "logs", "list-tags-log-group", "--log-group-name", "cli/none")

	var retention struct {
		LogGroups []struct{ RetentionInDays *int }
	}
	a.ok(nil, "logs", "put-retention-policy", "--log-group-name", "cli/g", "--retention-in-days", "30")
	a.ok(nil, "logs", "delete-retention-policy", "--log-group-name", "cli/g")
	if a.ok(&retention, "logs", "describe-log-groups", "--log-group-name-prefix", "cli/g"); retention.LogGroups[0].RetentionInDays != nil {
		t.Errorf("retention after delete-retention-policy: %d", *retention.LogGroups[0].RetentionInDays)
	}
	a.fails("ResourceNotFoundException", "logs", "delete-retention-policy", "--log-group-name", "cli/none")

	for _, name := range []string{"old", "new"} {
		a.ok(nil, "logs", "create-log-stream", "--log-group-name", "cli/g", "--log-stream-name", name)
		events, _ := json.Marshal([]map[string]any{{"timestamp": time.Now().UnixMilli(), "message": `{"stream":"` + name + `"}`}})
		a.ok(nil, "logs", "put-log-events", "--log-group-name", "cli/g", "--log-stream-name", name, "--log-events", string(events))
	}
	var streams struct {
		LogStreams []struct{ LogStreamName string }
	}
	a.ok(&streams, "logs", "describe-log-streams", "--log-group-name", "cli/g", "--order-by", "LastEventTime", "--descending")
	if len(streams.LogStreams) != 2 || streams.LogStreams[0].LogStreamName != "new" {
		t.Errorf("describe-log-streams newest first: %+v", streams.LogStreams)
	}
	logsCLIFilters(t, a, sink)
	logsCLIPolicies(t, a, arn)
}

// logsCLIFilters: subscription filters through the CLI.
func logsCLIFilters(t *testing.T, a awsCLI, sink string) {
	pattern := `{ ($.stream = "new") || ($.stream = "x" && $.y IS NULL) }`
	a.ok(nil, "logs", "put-subscription-filter", "--log-group-name", "cli/g", "--filter-name", "news", "--filter-pattern", pattern, "--destination-arn", sink)
	var filters struct {
		SubscriptionFilters []struct{ FilterName, FilterPattern, DestinationArn string }
	}
	a.ok(&filters, "logs", "describe-subscription-filters", "--log-group-name", "cli/g")
	if len(filters.SubscriptionFilters) != 1 || filters.SubscriptionFilters[0].FilterPattern != pattern || filters.SubscriptionFilters[0].DestinationArn != sink {
		t.Errorf("describe-subscription-filters: %+v", filters.SubscriptionFilters)
	}
	a.ok(nil, "logs", "delete-subscription-filter", "--log-group-name", "cli/g", "--filter-name", "news")
	if a.ok(&filters, "logs", "describe-subscription-filters", "--log-group-name", "cli/g"); len(filters.SubscriptionFilters) != 0 {
		t.Errorf("describe-subscription-filters after the delete: %+v", filters.SubscriptionFilters)
	}
	res := a.fails("ResourceNotFoundException", "logs", "delete-subscription-filter", "--log-group-name", "cli/g", "--filter-name", "news")
	if !strings.Contains(res.stderr, "subscription filter") {
		t.Errorf("deleting a missing filter does not say what is missing:\n%s", res)
	}
	res = a.fails("InvalidParameterException", "logs", "put-subscription-filter", "--log-group-name", "cli/g", "--filter-name", "bad",
		"--filter-pattern", "{ ($.a = 1", "--destination-arn", sink)
	if !strings.Contains(res.stderr, "filterPattern") {
		t.Errorf("a malformed pattern's error does not name filterPattern:\n%s", res)
	}
	var events struct {
		Events []struct{ LogStreamName string }
	}
	a.ok(&events, "logs", "filter-log-events", "--log-group-name", "cli/g", "--filter-pattern", pattern)
	if len(events.Events) != 1 || events.Events[0].LogStreamName != "new" {
		t.Errorf("filter-log-events with a grouped pattern: %+v", events.Events)
	}
}

// logsCLIPolicies: resource policies through the CLI, account-scoped and on a log group.
func logsCLIPolicies(t *testing.T, a awsCLI, arn string) {
	doc := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"delivery.logs.amazonaws.com"},"Action":"logs:PutLogEvents","Resource":"*"}]}`
	var put struct {
		ResourcePolicy struct {
			PolicyName, PolicyDocument string
			LastUpdatedTime            int64
		}
		RevisionId string
	}
	a.ok(&put, "logs", "put-resource-policy", "--policy-name", "delivery", "--policy-document", doc)
	if put.ResourcePolicy.PolicyName != "delivery" || put.ResourcePolicy.PolicyDocument != doc || put.ResourcePolicy.LastUpdatedTime == 0 || put.RevisionId != "" {
		t.Errorf("put-resource-policy: %+v", put)
	}
	a.ok(&put, "logs", "put-resource-policy", "--policy-name", "on-group", "--policy-document", doc, "--resource-arn", arn)
	if put.RevisionId == "" {
		t.Errorf("put-resource-policy on a log group answered no revisionId: %+v", put)
	}
	var policies struct {
		ResourcePolicies []struct{ PolicyName, PolicyScope, ResourceArn string }
	}
	a.ok(&policies, "logs", "describe-resource-policies")
	if len(policies.ResourcePolicies) != 1 || policies.ResourcePolicies[0].PolicyName != "delivery" || policies.ResourcePolicies[0].PolicyScope != "ACCOUNT" {
		t.Errorf("describe-resource-policies: %+v", policies.ResourcePolicies)
	}
	a.ok(&policies, "logs", "describe-resource-policies", "--policy-scope", "RESOURCE")
	if len(policies.ResourcePolicies) != 1 || policies.ResourcePolicies[0].PolicyName != "on-group" || !strings.HasPrefix(arn, policies.ResourcePolicies[0].ResourceArn) {
		t.Errorf("describe-resource-policies --policy-scope RESOURCE: %+v", policies.ResourcePolicies)
	}
	res := a.fails("InvalidParameterException", "logs", "put-resource-policy", "--policy-name", "bad", "--policy-document", "{not json")
	if !strings.Contains(res.stderr, "policyDocument") {
		t.Errorf("a malformed document's error does not name policyDocument:\n%s", res)
	}
	a.ok(nil, "logs", "delete-resource-policy", "--policy-name", "delivery")
	a.fails("ResourceNotFoundException", "logs", "delete-resource-policy", "--policy-name", "delivery")
	a.ok(nil, "logs", "delete-resource-policy", "--policy-name", "on-group", "--resource-arn", arn, "--expected-revision-id", put.RevisionId)
	if a.ok(&policies, "logs", "describe-resource-policies", "--policy-scope", "RESOURCE"); len(policies.ResourcePolicies) != 0 {
		t.Errorf("resource-scoped policies after the delete: %+v", policies.ResourcePolicies)
	}
}

// lockedBuffer is a bytes.Buffer a command writes while the test reads it.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestLogsTail: `aws logs tail --follow` (the AWS CLI v2's, which polls FilterLogEvents rather
// than calling StartLiveTail) prints the events a log shipper puts with PutLogEvents while it
// runs, with a grouped JSON pattern applied.
func TestLogsTail(t *testing.T) {
	t.Parallel()
	const cli = "/usr/bin/aws"
	if out, err := exec.Command(cli, "--version").Output(); err != nil || !strings.HasPrefix(string(out), "aws-cli/2.") {
		t.Skipf("no AWS CLI v2 at %s, so no `aws logs tail` (Debian: apt install awscli): %v %s", cli, err, out)
	}
	helpCtx, cancelHelp := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancelHelp()
	if exec.CommandContext(helpCtx, cli, "logs", "tail", "help").Run() != nil {
		t.Skipf("%s has no `logs tail`", cli)
	}
	b := bargetest.Start(t)
	l, ctx := b.Logs(), t.Context()
	group, stream := aws.String("tail/g"), aws.String("s")
	mustLogs[*cloudwatchlogs.CreateLogGroupOutput](t, "CreateLogGroup")(l.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: group}))
	mustLogs[*cloudwatchlogs.CreateLogStreamOutput](t, "CreateLogStream")(l.CreateLogStream(ctx, &cloudwatchlogs.CreateLogStreamInput{LogGroupName: group, LogStreamName: stream}))
	put := func(msgs ...string) {
		t.Helper()
		var events []cwltypes.InputLogEvent
		for _, m := range msgs {
			events = append(events, cwltypes.InputLogEvent{Timestamp: aws.Int64(time.Now().UnixMilli()), Message: aws.String(m)})
		}
		mustLogs[*cloudwatchlogs.PutLogEventsOutput](t, "PutLogEvents")(l.PutLogEvents(ctx, &cloudwatchlogs.PutLogEventsInput{LogGroupName: group, LogStreamName: stream, LogEvents: events}))
	}
	put(`{"n":1,"level":"ERROR"}`, `{"n":2,"level":"INFO"}`)

	tailCtx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	var out, errOut lockedBuffer
	cmd := exec.CommandContext(tailCtx, cli, "--endpoint-url", b.Endpoint, "logs", "tail", "tail/g", "--follow", "--since", "10m",
		"--format", "short", "--filter-pattern", `{ ($.level = "ERROR") || ($.n > 2 && $.level != "DEBUG") }`)
	cmd.Env, cmd.Stdout, cmd.Stderr = append(b.Env(), "HOME="+t.TempDir()), &out, &errOut
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	defer func() { cancel(); <-exited }()
	waitFor := func(what string, done func(string) bool) {
		t.Helper()
		for deadline := time.Now().Add(45 * time.Second); !done(out.String()); time.Sleep(100 * time.Millisecond) {
			select {
			case <-exited:
				deadline = time.Time{} // it ended: nothing more will come
			default:
			}
			if time.Now().After(deadline) {
				t.Fatalf("aws logs tail --follow: %s\n--- stdout:\n%s\n--- stderr:\n%s", what, out.String(), errOut.String())
			}
		}
	}
	waitFor("the event put before it started never came", func(s string) bool { return strings.Contains(s, `"n":1`) })
	put(`{"n":3,"level":"WARN"}`, `{"n":4,"level":"DEBUG"}`)
	waitFor("the event put while it ran never came", func(s string) bool { return strings.Contains(s, `"n":3`) })
	if got := out.String(); strings.Contains(got, `"n":2`) || strings.Contains(got, `"n":4`) {
		t.Errorf("aws logs tail printed events its pattern does not match:\n%s", got)
	}
}
