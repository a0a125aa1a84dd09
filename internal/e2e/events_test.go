package e2e_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	etypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	ltypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/barge-run/barge/internal/bargetest"
)

// TestEventsScheduledRule: an EventBridge rule with rate(1 minute) fires its Lambda and SQS
// targets with the Scheduled Event (the one end-to-end test that waits a minute), and the rule
// API behaves as Terraform and SAM expect (aws-sdk-go-v2).
func TestEventsScheduledRule(t *testing.T) {
	t.Parallel()
	rt := hostPython(t)
	b := bargetest.Start(t)
	ctx, cancel := context.WithTimeout(t.Context(), 150*time.Second)
	defer cancel()
	q := newSQS(t, b)
	q.ctx = ctx
	eb := eventbridge.NewFromConfig(b.Config())
	l := lambda.NewFromConfig(b.Config())
	fn, err := l.CreateFunction(ctx, &lambda.CreateFunctionInput{FunctionName: aws.String("ticker"), Runtime: rt, Handler: aws.String("app.handler"),
		Role: aws.String("arn:aws:iam::000000000000:role/r"), Code: &ltypes.FunctionCode{ZipFile: zipSources(t, map[string]string{
			"app.py": "import json\ndef handler(event, context):\n    print('EVENT ' + json.dumps(event))\n"})}})
	if err != nil {
		t.Fatal(err)
	}
	url := q.create("ticks", nil)
	qarn := esmT{sqsT: q}.queueArn(url)
	rule, err := eb.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String("every-minute"), ScheduleExpression: aws.String("rate(1 minute)"),
		Description: aws.String("tick"), Tags: []etypes.Tag{{Key: aws.String("app"), Value: aws.String("t")}}})
	if err != nil || !strings.HasSuffix(aws.ToString(rule.RuleArn), ":rule/every-minute") {
		t.Fatalf("PutRule: %v %+v", err, rule)
	}
	put, err := eb.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String("every-minute"), Targets: []etypes.Target{
		{Id: aws.String("fn"), Arn: fn.FunctionArn},
		{Id: aws.String("q"), Arn: aws.String(qarn), InputPath: aws.String("$.detail-type")},
	}})
	if err != nil || put.FailedEntryCount != 0 {
		t.Fatalf("PutTargets: %v %+v", err, put)
	}
	testEventsAPI(t, ctx, eb, qarn)

	var msgs []string
	waitUntil(t, 90*time.Second, "the rule fired its SQS target", func() bool {
		msgs = bodies(q.receive(url, 10, 20))
		return len(msgs) > 0
	})
	if msgs[0] != `"Scheduled Event"` {
		t.Fatalf("SQS target got %v, want the event's detail-type", msgs)
	}
	var event map[string]any
	waitUntil(t, 30*time.Second, "the rule fired its function", func() bool {
		out, err := b.Logs().FilterLogEvents(ctx, &cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String("/aws/lambda/ticker"), FilterPattern: aws.String(`"EVENT "`)})
		if err != nil || len(out.Events) == 0 {
			return false
		}
		_, js, _ := strings.Cut(aws.ToString(out.Events[0].Message), "EVENT ")
		return json.Unmarshal([]byte(strings.TrimSpace(js)), &event) == nil
	})
	res, _ := event["resources"].([]any)
	if event["detail-type"] != "Scheduled Event" || event["source"] != "aws.events" || len(res) != 1 || res[0] != aws.ToString(rule.RuleArn) {
		t.Fatalf("function got %+v", event)
	}
	if _, err := eb.DeleteRule(ctx, &eventbridge.DeleteRuleInput{Name: aws.String("every-minute")}); errorCode(err) != "ValidationException" {
		t.Fatalf("DeleteRule with targets: %v", err)
	}
	if _, err := eb.RemoveTargets(ctx, &eventbridge.RemoveTargetsInput{Rule: aws.String("every-minute"), Ids: []string{"fn", "q"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := eb.DeleteRule(ctx, &eventbridge.DeleteRuleInput{Name: aws.String("every-minute")}); err != nil {
		t.Fatalf("DeleteRule without targets: %v", err)
	}
}

func testEventsAPI(t *testing.T, ctx context.Context, eb *eventbridge.Client, qarn string) {
	t.Helper()
	if _, err := eb.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String("on-pattern"), EventPattern: aws.String(`{"source":["my.app"]}`), State: etypes.RuleStateDisabled}); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []*eventbridge.PutRuleInput{
		{Name: aws.String("bad-rate"), ScheduleExpression: aws.String("rate(1 minutes)")},
		{Name: aws.String("bad-pattern"), EventPattern: aws.String(`{"source":"not-an-array"}`)},
		{Name: aws.String("neither")},
	} {
		if _, err := eb.PutRule(ctx, bad); err == nil {
			t.Errorf("PutRule %s accepted", *bad.Name)
		}
	}
	d, err := eb.DescribeRule(ctx, &eventbridge.DescribeRuleInput{Name: aws.String("every-minute")})
	if err != nil || aws.ToString(d.ScheduleExpression) != "rate(1 minute)" || d.State != etypes.RuleStateEnabled || aws.ToString(d.EventBusName) != "default" {
		t.Fatalf("DescribeRule: %v %+v", err, d)
	}
	rules, err := eb.ListRules(ctx, &eventbridge.ListRulesInput{NamePrefix: aws.String("every")})
	if err != nil || len(rules.Rules) != 1 {
		t.Fatalf("ListRules by prefix: %v %+v", err, rules)
	}
	page, err := eb.ListRules(ctx, &eventbridge.ListRulesInput{Limit: aws.Int32(1)})
	if err != nil || len(page.Rules) != 1 || page.NextToken == nil {
		t.Fatalf("ListRules page: %v %+v", err, page)
	}
	names, err := eb.ListRuleNamesByTarget(ctx, &eventbridge.ListRuleNamesByTargetInput{TargetArn: aws.String(qarn)})
	if err != nil || len(names.RuleNames) != 1 || names.RuleNames[0] != "every-minute" {
		t.Fatalf("ListRuleNamesByTarget: %v %+v", err, names)
	}
	targets, err := eb.ListTargetsByRule(ctx, &eventbridge.ListTargetsByRuleInput{Rule: aws.String("every-minute")})
	if err != nil || len(targets.Targets) != 2 || aws.ToString(targets.Targets[1].InputPath) != "$.detail-type" {
		t.Fatalf("ListTargetsByRule: %v %+v", err, targets)
	}
	tags, err := eb.ListTagsForResource(ctx, &eventbridge.ListTagsForResourceInput{ResourceARN: d.Arn})
	if err != nil || len(tags.Tags) != 1 {
		t.Fatalf("ListTagsForResource: %v %+v", err, tags)
	}
	if _, err := eb.DescribeRule(ctx, &eventbridge.DescribeRuleInput{Name: aws.String("nope")}); errorCode(err) != "ResourceNotFoundException" {
		t.Fatalf("DescribeRule of a missing rule: %v", err)
	}
}
