package e2e_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	cwltypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	ltypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/smithy-go"

	"github.com/barge-run/barge/internal/bargetest"
)

// wantAPIError fails the test unless err is the AWS error code, answered with a 4xx status, in a
// message that names field (case-insensitively; "" names none).
func wantAPIError(t *testing.T, what string, err error, code, field string) {
	t.Helper()
	var ae smithy.APIError
	var status interface{ HTTPStatusCode() int }
	switch {
	case !errors.As(err, &ae) || ae.ErrorCode() != code:
		t.Errorf("%s: %v, want %s", what, err, code)
	case !errors.As(err, &status) || status.HTTPStatusCode() < 400 || status.HTTPStatusCode() > 499:
		t.Errorf("%s: %v, want a 4xx status", what, err)
	case !strings.Contains(strings.ToLower(ae.ErrorMessage()), strings.ToLower(field)):
		t.Errorf("%s: message %q does not name %s", what, ae.ErrorMessage(), field)
	}
}

// mustLogs fails the test on an error of a call that must succeed.
func mustLogs[T any](t *testing.T, what string) func(T, error) T {
	return func(out T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		return out
	}
}

// TestLogsClientsSDK drives the CloudWatch Logs operations a deploy tool or log shipper calls
// besides the basics, through aws-sdk-go-v2: tags by name and by ARN, retention removed,
// streams described in both orders and in pages, subscription filters put, described and
// deleted, resource policies with AWS's limits, and grouped JSON filter patterns — each with
// AWS's error for bad input.
func TestLogsClientsSDK(t *testing.T) {
	t.Parallel()
	b := bargetest.Start(t)
	l, ctx := b.Logs(), t.Context()
	for _, g := range []string{"sdk/tags", "sdk/streams", "sdk/subs", "sdk/policy"} {
		mustLogs[*cloudwatchlogs.CreateLogGroupOutput](t, "CreateLogGroup "+g)(l.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String(g)}))
	}
	t.Run("tags", func(t *testing.T) { logsTagsSDK(t, ctx, l) })
	t.Run("retention", func(t *testing.T) { logsRetentionSDK(t, ctx, l) })
	t.Run("streams", func(t *testing.T) { logsStreamsSDK(t, ctx, l) })
	t.Run("subscriptions", func(t *testing.T) { logsSubscriptionsSDK(t, ctx, b, l) })
	t.Run("resource policies", func(t *testing.T) { logsPoliciesSDK(t, ctx, l) })
	t.Run("JSON pattern groups", func(t *testing.T) { logsPatternsSDK(t, ctx, l) })
}

func logsTagsSDK(t *testing.T, ctx context.Context, l *cloudwatchlogs.Client) {
	group := aws.String("sdk/tags")
	arn := aws.ToString(mustLogs[*cloudwatchlogs.DescribeLogGroupsOutput](t, "DescribeLogGroups")(
		l.DescribeLogGroups(ctx, &cloudwatchlogs.DescribeLogGroupsInput{LogGroupNamePrefix: group})).LogGroups[0].LogGroupArn)
	byName := func() map[string]string {
		return mustLogs[*cloudwatchlogs.ListTagsLogGroupOutput](t, "ListTagsLogGroup")(l.ListTagsLogGroup(ctx, &cloudwatchlogs.ListTagsLogGroupInput{LogGroupName: group})).Tags
	}
	byARN := func() map[string]string {
		return mustLogs[*cloudwatchlogs.ListTagsForResourceOutput](t, "ListTagsForResource")(l.ListTagsForResource(ctx, &cloudwatchlogs.ListTagsForResourceInput{ResourceArn: &arn})).Tags
	}
	if got := byName(); got == nil || len(got) != 0 {
		t.Errorf("an untagged group's tags by name: %#v, want {} (present and empty)", got)
	}
	mustLogs[*cloudwatchlogs.TagLogGroupOutput](t, "TagLogGroup")(l.TagLogGroup(ctx, &cloudwatchlogs.TagLogGroupInput{LogGroupName: group, Tags: map[string]string{"team": "a", "env": "dev"}}))
	mustLogs[*cloudwatchlogs.TagResourceOutput](t, "TagResource")(l.TagResource(ctx, &cloudwatchlogs.TagResourceInput{ResourceArn: &arn, Tags: map[string]string{"env": "prod", "cost": "7"}}))
	want := map[string]string{"team": "a", "env": "prod", "cost": "7"}
	if got := byName(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("tags by name after tagging: %v, want %v", got, want)
	}
	if got := byARN(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("tags by ARN after tagging: %v, want %v", got, want)
	}
	mustLogs[*cloudwatchlogs.UntagLogGroupOutput](t, "UntagLogGroup")(l.UntagLogGroup(ctx, &cloudwatchlogs.UntagLogGroupInput{LogGroupName: group, Tags: []string{"team"}}))
	mustLogs[*cloudwatchlogs.UntagResourceOutput](t, "UntagResource")(l.UntagResource(ctx, &cloudwatchlogs.UntagResourceInput{ResourceArn: aws.String(arn + ":*"), TagKeys: []string{"cost", "absent"}}))
	if got := byARN(); fmt.Sprint(got) != fmt.Sprint(map[string]string{"env": "prod"}) {
		t.Errorf("tags after untagging: %v, want only env=prod", got)
	}

	many := map[string]string{}
	for i := range 51 {
		many[fmt.Sprintf("k%d", i)] = "v"
	}
	_, err := l.TagResource(ctx, &cloudwatchlogs.TagResourceInput{ResourceArn: &arn, Tags: many})
	wantAPIError(t, "51 tags", err, "InvalidParameterException", "tags")
	_, err = l.TagLogGroup(ctx, &cloudwatchlogs.TagLogGroupInput{LogGroupName: aws.String("sdk/none"), Tags: map[string]string{"a": "b"}})
	wantAPIError(t, "TagLogGroup of a missing group", err, "ResourceNotFoundException", "log group")
	_, err = l.ListTagsLogGroup(ctx, &cloudwatchlogs.ListTagsLogGroupInput{LogGroupName: aws.String("sdk/none")})
	wantAPIError(t, "ListTagsLogGroup of a missing group", err, "ResourceNotFoundException", "log group")
	_, err = l.UntagLogGroup(ctx, &cloudwatchlogs.UntagLogGroupInput{LogGroupName: aws.String("sdk/none"), Tags: []string{"a"}})
	wantAPIError(t, "UntagLogGroup of a missing group", err, "ResourceNotFoundException", "log group")
	_, err = l.ListTagsForResource(ctx, &cloudwatchlogs.ListTagsForResourceInput{ResourceArn: aws.String("arn:aws:lambda:us-east-1:000000000000:function:f")})
	wantAPIError(t, "ListTagsForResource of a function ARN", err, "InvalidParameterException", "resourceArn")
	_, err = l.UntagResource(ctx, &cloudwatchlogs.UntagResourceInput{ResourceArn: aws.String(strings.Replace(arn, "sdk/tags", "sdk/none", 1)), TagKeys: []string{"a"}})
	wantAPIError(t, "UntagResource of a missing group", err, "ResourceNotFoundException", "log group")
}

func logsRetentionSDK(t *testing.T, ctx context.Context, l *cloudwatchlogs.Client) {
	group, stream := aws.String("sdk/tags"), aws.String("old")
	mustLogs[*cloudwatchlogs.CreateLogStreamOutput](t, "CreateLogStream")(l.CreateLogStream(ctx, &cloudwatchlogs.CreateLogStreamInput{LogGroupName: group, LogStreamName: stream}))
	tenDaysAgo := time.Now().Add(-10 * 24 * time.Hour).UnixMilli()
	mustLogs[*cloudwatchlogs.PutLogEventsOutput](t, "PutLogEvents")(l.PutLogEvents(ctx, &cloudwatchlogs.PutLogEventsInput{LogGroupName: group, LogStreamName: stream,
		LogEvents: []cwltypes.InputLogEvent{{Timestamp: aws.Int64(tenDaysAgo), Message: aws.String("ten days old")}}}))
	state := func() (*int32, int) {
		groups := mustLogs[*cloudwatchlogs.DescribeLogGroupsOutput](t, "DescribeLogGroups")(l.DescribeLogGroups(ctx, &cloudwatchlogs.DescribeLogGroupsInput{LogGroupNamePrefix: group}))
		events := mustLogs[*cloudwatchlogs.FilterLogEventsOutput](t, "FilterLogEvents")(l.FilterLogEvents(ctx, &cloudwatchlogs.FilterLogEventsInput{LogGroupName: group}))
		return groups.LogGroups[0].RetentionInDays, len(events.Events)
	}
	mustLogs[*cloudwatchlogs.PutRetentionPolicyOutput](t, "PutRetentionPolicy")(l.PutRetentionPolicy(ctx, &cloudwatchlogs.PutRetentionPolicyInput{LogGroupName: group, RetentionInDays: aws.Int32(7)}))
	if days, n := state(); aws.ToInt32(days) != 7 || n != 0 {
		t.Fatalf("after PutRetentionPolicy 7: retention %v, %d events visible; want 7 and the 10-day-old event hidden", days, n)
	}
	mustLogs[*cloudwatchlogs.DeleteRetentionPolicyOutput](t, "DeleteRetentionPolicy")(l.DeleteRetentionPolicy(ctx, &cloudwatchlogs.DeleteRetentionPolicyInput{LogGroupName: group}))
	if days, n := state(); days != nil || n != 1 {
		t.Errorf("after DeleteRetentionPolicy: retention %v, %d events visible; want none and the event back", days, n)
	}
	_, err := l.DeleteRetentionPolicy(ctx, &cloudwatchlogs.DeleteRetentionPolicyInput{LogGroupName: aws.String("sdk/none")})
	wantAPIError(t, "DeleteRetentionPolicy of a missing group", err, "ResourceNotFoundException", "log group")
}

func logsStreamsSDK(t *testing.T, ctx context.Context, l *cloudwatchlogs.Client) {
	group := aws.String("sdk/streams")
	now := time.Now().UnixMilli()
	// b is written last, a first; c stays empty.
	for i, name := range []string{"s-a", "s-b", "t-c"} {
		mustLogs[*cloudwatchlogs.CreateLogStreamOutput](t, "CreateLogStream")(l.CreateLogStream(ctx, &cloudwatchlogs.CreateLogStreamInput{LogGroupName: group, LogStreamName: aws.String(name)}))
		if name == "t-c" {
			continue
		}
		ts := now - int64(2-i)*1000
		mustLogs[*cloudwatchlogs.PutLogEventsOutput](t, "PutLogEvents")(l.PutLogEvents(ctx, &cloudwatchlogs.PutLogEventsInput{LogGroupName: group, LogStreamName: aws.String(name),
			LogEvents: []cwltypes.InputLogEvent{{Timestamp: aws.Int64(ts), Message: aws.String("event of " + name)}}}))
	}
	describe := func(in cloudwatchlogs.DescribeLogStreamsInput) []string {
		t.Helper()
		in.LogGroupName = group
		var names []string
		for pages := 0; ; pages++ {
			out := mustLogs[*cloudwatchlogs.DescribeLogStreamsOutput](t, "DescribeLogStreams")(l.DescribeLogStreams(ctx, &in))
			for _, s := range out.LogStreams {
				names = append(names, aws.ToString(s.LogStreamName))
			}
			if out.NextToken == nil || pages > 5 {
				return names
			}
			in.NextToken = out.NextToken
		}
	}
	for _, tc := range []struct {
		name string
		in   cloudwatchlogs.DescribeLogStreamsInput
		want []string
	}{
		{"by name", cloudwatchlogs.DescribeLogStreamsInput{}, []string{"s-a", "s-b", "t-c"}},
		{"by name, descending, one a page", cloudwatchlogs.DescribeLogStreamsInput{Descending: aws.Bool(true), Limit: aws.Int32(1)}, []string{"t-c", "s-b", "s-a"}},
		{"by prefix", cloudwatchlogs.DescribeLogStreamsInput{LogStreamNamePrefix: aws.String("s-")}, []string{"s-a", "s-b"}},
		{"newest event first", cloudwatchlogs.DescribeLogStreamsInput{OrderBy: cwltypes.OrderByLastEventTime, Descending: aws.Bool(true), Limit: aws.Int32(2)}, []string{"s-b", "s-a", "t-c"}},
	} {
		if got := describe(tc.in); !slices.Equal(got, tc.want) {
			t.Errorf("DescribeLogStreams %s: %q, want %q", tc.name, got, tc.want)
		}
	}
	out := mustLogs[*cloudwatchlogs.DescribeLogStreamsOutput](t, "DescribeLogStreams")(l.DescribeLogStreams(ctx, &cloudwatchlogs.DescribeLogStreamsInput{LogGroupName: group, LogStreamNamePrefix: aws.String("s-b")}))
	if s := out.LogStreams[0]; aws.ToInt64(s.LastEventTimestamp) != now-1000 || aws.ToInt64(s.FirstEventTimestamp) != now-1000 || aws.ToInt64(s.CreationTime) == 0 ||
		!strings.HasSuffix(aws.ToString(s.Arn), ":log-group:sdk/streams:log-stream:s-b") {
		t.Errorf("stream s-b: first event %d, last %d, created %d, %s; want the event at %d", aws.ToInt64(s.FirstEventTimestamp), aws.ToInt64(s.LastEventTimestamp),
			aws.ToInt64(s.CreationTime), aws.ToString(s.Arn), now-1000)
	}
	_, err := l.DescribeLogStreams(ctx, &cloudwatchlogs.DescribeLogStreamsInput{LogGroupName: group, Limit: aws.Int32(51)})
	wantAPIError(t, "DescribeLogStreams limit 51", err, "InvalidParameterException", "limit")
	_, err = l.DescribeLogStreams(ctx, &cloudwatchlogs.DescribeLogStreamsInput{LogGroupName: group, NextToken: aws.String("not-a-token!")})
	wantAPIError(t, "DescribeLogStreams with a bad token", err, "InvalidParameterException", "nextToken")
	_, err = l.DescribeLogStreams(ctx, &cloudwatchlogs.DescribeLogStreamsInput{LogGroupName: aws.String("sdk/none")})
	wantAPIError(t, "DescribeLogStreams of a missing group", err, "ResourceNotFoundException", "log group")
}

func logsSubscriptionsSDK(t *testing.T, ctx context.Context, b *bargetest.Barge, l *cloudwatchlogs.Client) {
	fn, err := lambda.NewFromConfig(b.Config()).CreateFunction(ctx, &lambda.CreateFunctionInput{FunctionName: aws.String("sink"), Runtime: hostPython(t),
		Handler: aws.String("app.handler"), Role: aws.String("arn:aws:iam::000000000000:role/any"), Code: &ltypes.FunctionCode{ZipFile: zipSources(t, map[string]string{"app.py": sinkCode})}})
	if err != nil {
		t.Fatal(err)
	}
	group := aws.String("sdk/subs")
	put := func(name, pattern, dest string) error {
		_, err := l.PutSubscriptionFilter(ctx, &cloudwatchlogs.PutSubscriptionFilterInput{LogGroupName: group, FilterName: aws.String(name),
			FilterPattern: aws.String(pattern), DestinationArn: aws.String(dest)})
		return err
	}
	for name, pattern := range map[string]string{"err-json": `{ ($.level = "ERROR") || ($.code >= 500 && $.retry IS FALSE) }`, "warn": "WARN"} {
		if err := put(name, pattern, aws.ToString(fn.FunctionArn)); err != nil {
			t.Fatalf("PutSubscriptionFilter %s: %v", name, err)
		}
	}
	if err := put("warn", "WARN -ignored", aws.ToString(fn.FunctionArn)); err != nil {
		t.Fatalf("PutSubscriptionFilter replacing a filter: %v", err)
	}
	wantAPIError(t, "a third filter", put("third", "x", aws.ToString(fn.FunctionArn)), "LimitExceededException", "")
	wantAPIError(t, "a malformed pattern", put("bad", `{ ($.a = 1 }`, aws.ToString(fn.FunctionArn)), "InvalidParameterException", "filterPattern")
	wantAPIError(t, "a Kinesis destination", put("bad", "x", "arn:aws:kinesis:us-east-1:000000000000:stream/s"), "InvalidParameterException", "destinationArn")
	wantAPIError(t, "a name with ':'", put("a:b", "x", aws.ToString(fn.FunctionArn)), "InvalidParameterException", "filterName")
	_, err = l.PutSubscriptionFilter(ctx, &cloudwatchlogs.PutSubscriptionFilterInput{LogGroupName: aws.String("sdk/none"), FilterName: aws.String("f"),
		FilterPattern: aws.String(""), DestinationArn: fn.FunctionArn})
	wantAPIError(t, "a filter on a missing group", err, "ResourceNotFoundException", "log group")

	described := func(prefix string) map[string]string {
		out := mustLogs[*cloudwatchlogs.DescribeSubscriptionFiltersOutput](t, "DescribeSubscriptionFilters")(l.DescribeSubscriptionFilters(ctx,
			&cloudwatchlogs.DescribeSubscriptionFiltersInput{LogGroupName: group, FilterNamePrefix: aws.String(prefix)}))
		got := map[string]string{}
		for _, f := range out.SubscriptionFilters {
			if aws.ToString(f.DestinationArn) != aws.ToString(fn.FunctionArn) || aws.ToString(f.LogGroupName) != "sdk/subs" || aws.ToInt64(f.CreationTime) == 0 {
				t.Errorf("described filter %+v", f)
			}
			got[aws.ToString(f.FilterName)] = aws.ToString(f.FilterPattern)
		}
		return got
	}
	if got := described(""); len(got) != 2 || got["warn"] != "WARN -ignored" || !strings.Contains(got["err-json"], "IS FALSE") {
		t.Errorf("DescribeSubscriptionFilters: %q", got)
	}
	if got := described("err"); len(got) != 1 || got["err-json"] == "" {
		t.Errorf("DescribeSubscriptionFilters with prefix err: %q", got)
	}
	mustLogs[*cloudwatchlogs.DeleteSubscriptionFilterOutput](t, "DeleteSubscriptionFilter")(l.DeleteSubscriptionFilter(ctx,
		&cloudwatchlogs.DeleteSubscriptionFilterInput{LogGroupName: group, FilterName: aws.String("warn")}))
	if got := described(""); len(got) != 1 || got["err-json"] == "" {
		t.Errorf("DescribeSubscriptionFilters after deleting warn: %q", got)
	}
	_, err = l.DeleteSubscriptionFilter(ctx, &cloudwatchlogs.DeleteSubscriptionFilterInput{LogGroupName: group, FilterName: aws.String("warn")})
	wantAPIError(t, "deleting a filter twice", err, "ResourceNotFoundException", "subscription filter")
	_, err = l.DescribeSubscriptionFilters(ctx, &cloudwatchlogs.DescribeSubscriptionFiltersInput{LogGroupName: aws.String("sdk/none")})
	wantAPIError(t, "DescribeSubscriptionFilters of a missing group", err, "ResourceNotFoundException", "log group")
}

func logsPatternsSDK(t *testing.T, ctx context.Context, l *cloudwatchlogs.Client) {
	group, stream := aws.String("sdk/streams"), aws.String("json")
	mustLogs[*cloudwatchlogs.CreateLogStreamOutput](t, "CreateLogStream")(l.CreateLogStream(ctx, &cloudwatchlogs.CreateLogStreamInput{LogGroupName: group, LogStreamName: stream}))
	now := time.Now().UnixMilli()
	var events []cwltypes.InputLogEvent
	for i, m := range []string{`{"level":"ERROR","code":200}`, `{"level":"INFO","code":503,"retry":false}`, `{"level":"INFO","code":503,"retry":true}`,
		`{"level":"INFO","code":200,"user":null}`, `not json ERROR`} {
		events = append(events, cwltypes.InputLogEvent{Timestamp: aws.Int64(now + int64(i)), Message: aws.String(m)})
	}
	mustLogs[*cloudwatchlogs.PutLogEventsOutput](t, "PutLogEvents")(l.PutLogEvents(ctx, &cloudwatchlogs.PutLogEventsInput{LogGroupName: group, LogStreamName: stream, LogEvents: events}))
	for _, tc := range []struct {
		pattern string
		want    []int // indexes into events
	}{
		{`{ ($.level = "ERROR") || ($.code >= 500 && $.retry IS FALSE) }`, []int{0, 1}},
		{`{ ($.level = "ERROR" || $.code >= 500) && $.retry NOT EXISTS }`, []int{0}},
		{`{ $.user IS NULL || ($.retry IS TRUE) }`, []int{2, 3}},
	} {
		out := mustLogs[*cloudwatchlogs.FilterLogEventsOutput](t, "FilterLogEvents "+tc.pattern)(l.FilterLogEvents(ctx,
			&cloudwatchlogs.FilterLogEventsInput{LogGroupName: group, LogStreamNames: []string{"json"}, FilterPattern: aws.String(tc.pattern)}))
		var got, want []string
		for _, e := range out.Events {
			got = append(got, aws.ToString(e.Message))
		}
		for _, i := range tc.want {
			want = append(want, aws.ToString(events[i].Message))
		}
		if !slices.Equal(got, want) {
			t.Errorf("FilterLogEvents %s: %q, want %q", tc.pattern, got, want)
		}
	}
	_, err := l.FilterLogEvents(ctx, &cloudwatchlogs.FilterLogEventsInput{LogGroupName: group, FilterPattern: aws.String(`{ ($.a = 1 && $.b = 2 }`)})
	wantAPIError(t, "an unclosed group", err, "InvalidParameterException", "filterPattern")
}

func logsPoliciesSDK(t *testing.T, ctx context.Context, l *cloudwatchlogs.Client) {
	doc := func(sid string) string {
		return `{"Version":"2012-10-17","Statement":[{"Sid":"` + sid + `","Effect":"Allow","Principal":{"Service":"route53.amazonaws.com"},"Action":"logs:PutLogEvents","Resource":"*"}]}`
	}
	put := func(name, document string) (*cloudwatchlogs.PutResourcePolicyOutput, error) {
		return l.PutResourcePolicy(ctx, &cloudwatchlogs.PutResourcePolicyInput{PolicyName: aws.String(name), PolicyDocument: aws.String(document)})
	}
	before := time.Now().UnixMilli()
	for i := range 10 {
		out, err := put(fmt.Sprintf("p%02d", i), doc("v1"))
		if err != nil {
			t.Fatalf("PutResourcePolicy %d: %v", i, err)
		}
		if p := out.ResourcePolicy; aws.ToString(p.PolicyName) != fmt.Sprintf("p%02d", i) || aws.ToInt64(p.LastUpdatedTime) < before || p.PolicyScope != cwltypes.PolicyScopeAccount {
			t.Errorf("PutResourcePolicy %d answered %+v", i, p)
		}
	}
	_, err := put("p10", doc("v1"))
	wantAPIError(t, "an 11th policy", err, "LimitExceededException", "10")
	if _, err := put("p03", doc("v2")); err != nil {
		t.Errorf("updating one of 10 policies: %v", err)
	}
	_, err = put("p11", `{"Statement": [`)
	wantAPIError(t, "a document that is not JSON", err, "InvalidParameterException", "policyDocument")
	_, err = put("", doc("v1"))
	wantAPIError(t, "no name", err, "InvalidParameterException", "policyName")

	var listed []cwltypes.ResourcePolicy
	in := &cloudwatchlogs.DescribeResourcePoliciesInput{Limit: aws.Int32(4)}
	for pages := 1; ; pages++ {
		out := mustLogs[*cloudwatchlogs.DescribeResourcePoliciesOutput](t, "DescribeResourcePolicies")(l.DescribeResourcePolicies(ctx, in))
		listed = append(listed, out.ResourcePolicies...)
		if out.NextToken == nil || pages > 5 {
			break
		}
		in.NextToken = out.NextToken
	}
	if len(listed) != 10 || aws.ToString(listed[3].PolicyName) != "p03" || !strings.Contains(aws.ToString(listed[3].PolicyDocument), `"Sid":"v2"`) {
		t.Fatalf("DescribeResourcePolicies in pages of 4: %d policies, the fourth %+v", len(listed), listed[min(3, len(listed)-1)])
	}

	mustLogs[*cloudwatchlogs.DeleteResourcePolicyOutput](t, "DeleteResourcePolicy")(l.DeleteResourcePolicy(ctx, &cloudwatchlogs.DeleteResourcePolicyInput{PolicyName: aws.String("p00")}))
	_, err = l.DeleteResourcePolicy(ctx, &cloudwatchlogs.DeleteResourcePolicyInput{PolicyName: aws.String("p00")})
	wantAPIError(t, "deleting a policy twice", err, "ResourceNotFoundException", "resource policy")
	if _, err := put("p10", doc("v1")); err != nil {
		t.Errorf("a 10th policy after deleting one: %v", err)
	}
	logsGroupPolicySDK(t, ctx, l, doc("group"))
}

// logsGroupPolicySDK: a log group's one resource-scoped policy, changed only at its revision.
func logsGroupPolicySDK(t *testing.T, ctx context.Context, l *cloudwatchlogs.Client, doc string) {
	arn := aws.ToString(mustLogs[*cloudwatchlogs.DescribeLogGroupsOutput](t, "DescribeLogGroups")(
		l.DescribeLogGroups(ctx, &cloudwatchlogs.DescribeLogGroupsInput{LogGroupNamePrefix: aws.String("sdk/policy")})).LogGroups[0].Arn)
	put := func(name, rev string) (*cloudwatchlogs.PutResourcePolicyOutput, error) {
		in := &cloudwatchlogs.PutResourcePolicyInput{PolicyName: aws.String(name), PolicyDocument: aws.String(doc), ResourceArn: aws.String(arn)}
		if rev != "" {
			in.ExpectedRevisionId = aws.String(rev)
		}
		return l.PutResourcePolicy(ctx, in)
	}
	first, err := put("g", "")
	if err != nil || aws.ToString(first.RevisionId) == "" || first.ResourcePolicy.PolicyScope != cwltypes.PolicyScopeResource {
		t.Fatalf("a group's resource policy: %v %+v", err, first)
	}
	_, err = put("g", "")
	wantAPIError(t, "changing it without a revision", err, "InvalidParameterException", "expectedRevisionId")
	_, err = put("g", "stale")
	wantAPIError(t, "changing it at another revision", err, "OperationAbortedException", "expectedRevisionId")
	_, err = put("other", aws.ToString(first.RevisionId))
	wantAPIError(t, "a second policy on the group", err, "LimitExceededException", "one per log group")
	second, err := put("g", aws.ToString(first.RevisionId))
	if err != nil || aws.ToString(second.RevisionId) == aws.ToString(first.RevisionId) {
		t.Fatalf("changing it at its revision: %v %+v", err, second)
	}
	_, err = l.PutResourcePolicy(ctx, &cloudwatchlogs.PutResourcePolicyInput{PolicyName: aws.String("g"), PolicyDocument: aws.String(doc),
		ResourceArn: aws.String(strings.Replace(arn, "sdk/policy", "sdk/none", 1))})
	wantAPIError(t, "a policy on a missing group", err, "ResourceNotFoundException", "log group")

	got := mustLogs[*cloudwatchlogs.DescribeResourcePoliciesOutput](t, "DescribeResourcePolicies")(l.DescribeResourcePolicies(ctx,
		&cloudwatchlogs.DescribeResourcePoliciesInput{ResourceArn: aws.String(arn)})).ResourcePolicies
	if len(got) != 1 || aws.ToString(got[0].RevisionId) != aws.ToString(second.RevisionId) || !strings.HasPrefix(aws.ToString(got[0].ResourceArn), strings.TrimSuffix(arn, ":*")) {
		t.Errorf("DescribeResourcePolicies of the group: %+v", got)
	}
	accountOnly := mustLogs[*cloudwatchlogs.DescribeResourcePoliciesOutput](t, "DescribeResourcePolicies")(l.DescribeResourcePolicies(ctx, &cloudwatchlogs.DescribeResourcePoliciesInput{})).ResourcePolicies
	if slices.ContainsFunc(accountOnly, func(p cwltypes.ResourcePolicy) bool { return aws.ToString(p.PolicyName) == "g" }) {
		t.Errorf("the account-scoped listing shows the group's policy")
	}
	_, err = l.DeleteResourcePolicy(ctx, &cloudwatchlogs.DeleteResourcePolicyInput{PolicyName: aws.String("g"), ResourceArn: aws.String(arn), ExpectedRevisionId: first.RevisionId})
	wantAPIError(t, "deleting it at an old revision", err, "OperationAbortedException", "expectedRevisionId")
	mustLogs[*cloudwatchlogs.DeleteResourcePolicyOutput](t, "DeleteResourcePolicy")(l.DeleteResourcePolicy(ctx,
		&cloudwatchlogs.DeleteResourcePolicyInput{PolicyName: aws.String("g"), ResourceArn: aws.String(arn), ExpectedRevisionId: second.RevisionId}))
	if _, err := put("other", ""); err != nil {
		t.Errorf("a new policy on the group after deleting its policy: %v", err)
	}
}
