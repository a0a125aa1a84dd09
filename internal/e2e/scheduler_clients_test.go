package e2e_test

import (
	"strings"
	"testing"

	"github.com/barge-run/barge/internal/bargetest"
)

// TestSchedulerBoto3 drives EventBridge Scheduler and EventBridge rules through boto3: a
// one-time schedule delivering to a queue, groups, and the rule and target calls SAM and
// Terraform make.
func TestSchedulerBoto3(t *testing.T) {
	t.Parallel()
	python := boto3Python(t)
	b := bargetest.Start(t)
	runSelfCheckingScript(t, b, python, "", schedulerBoto3Script, "scheduler ok")
}

const schedulerBoto3Script = `
import datetime, os, boto3
ep = os.environ["AWS_ENDPOINT_URL"]
sqs, sch, ev = (boto3.client(s, endpoint_url=ep) for s in ("sqs", "scheduler", "events"))
url = sqs.create_queue(QueueName="boto-sched")["QueueUrl"]
arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
at = (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=2)).strftime("%Y-%m-%dT%H:%M:%S")
r = sch.create_schedule(Name="once", ScheduleExpression="at(%s)" % at, FlexibleTimeWindow={"Mode": "OFF"},
                        ActionAfterCompletion="DELETE",
                        Target={"Arn": arn, "RoleArn": "arn:aws:iam::000000000000:role/r", "Input": "hello <aws.scheduler.execution-id>"})
assert r["ScheduleArn"].endswith(":schedule/default/once"), r
g = sch.get_schedule(Name="once")
assert g["ActionAfterCompletion"] == "DELETE" and g["FlexibleTimeWindow"]["Mode"] == "OFF" and g["State"] == "ENABLED", g
msgs = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=20).get("Messages", [])
assert len(msgs) == 1 and msgs[0]["Body"].startswith("hello ") and "<aws" not in msgs[0]["Body"], msgs
try:
    sch.get_schedule(Name="once")
    raise SystemExit("a completed DELETE schedule is still there")
except sch.exceptions.ResourceNotFoundException:
    pass
sch.create_schedule_group(Name="nightly")
sch.create_schedule(Name="n1", GroupName="nightly", ScheduleExpression="cron(30 2 * * ? *)", ScheduleExpressionTimezone="Asia/Tokyo",
                    FlexibleTimeWindow={"Mode": "FLEXIBLE", "MaximumWindowInMinutes": 15},
                    Target={"Arn": arn, "RoleArn": "arn:aws:iam::000000000000:role/r", "RetryPolicy": {"MaximumRetryAttempts": 3, "MaximumEventAgeInSeconds": 600}})
sch.update_schedule(Name="n1", GroupName="nightly", ScheduleExpression="rate(2 hours)", FlexibleTimeWindow={"Mode": "OFF"},
                    Target={"Arn": arn, "RoleArn": "arn:aws:iam::000000000000:role/r"}, State="DISABLED")
n1 = sch.get_schedule(Name="n1", GroupName="nightly")
assert n1["ScheduleExpression"] == "rate(2 hours)" and n1["State"] == "DISABLED", n1
assert [s["Name"] for s in sch.list_schedules(GroupName="nightly")["Schedules"]] == ["n1"]
garn = sch.get_schedule_group(Name="nightly")["Arn"]
sch.tag_resource(ResourceArn=garn, Tags=[{"Key": "team", "Value": "ops"}])
assert sch.list_tags_for_resource(ResourceArn=garn)["Tags"] == [{"Key": "team", "Value": "ops"}]
sch.untag_resource(ResourceArn=garn, TagKeys=["team"])
assert sch.list_tags_for_resource(ResourceArn=garn)["Tags"] == []
try:
    sch.create_schedule(Name="n1", GroupName="nightly", ScheduleExpression="rate(1 hour)", FlexibleTimeWindow={"Mode": "OFF"},
                        Target={"Arn": arn, "RoleArn": "arn:aws:iam::000000000000:role/r"})
    raise SystemExit("a duplicate schedule was accepted")
except sch.exceptions.ConflictException:
    pass
sch.delete_schedule(Name="n1", GroupName="nightly")
sch.delete_schedule_group(Name="nightly")

rule = ev.put_rule(Name="sam-schedule", ScheduleExpression="cron(0/5 * * * ? *)", State="ENABLED", Description="SAM Schedule event")
ev.put_targets(Rule="sam-schedule", Targets=[{"Id": "q", "Arn": arn, "Input": '{"from":"rule"}'}])
assert ev.list_targets_by_rule(Rule="sam-schedule")["Targets"][0]["Input"] == '{"from":"rule"}'
ev.disable_rule(Name="sam-schedule")
assert ev.describe_rule(Name="sam-schedule")["State"] == "DISABLED"
ev.enable_rule(Name="sam-schedule")
ev.tag_resource(ResourceARN=rule["RuleArn"], Tags=[{"Key": "k", "Value": "v"}])
assert ev.list_tags_for_resource(ResourceARN=rule["RuleArn"])["Tags"] == [{"Key": "k", "Value": "v"}]
ev.untag_resource(ResourceARN=rule["RuleArn"], TagKeys=["k"])
assert ev.list_tags_for_resource(ResourceARN=rule["RuleArn"])["Tags"] == []
assert ev.list_rule_names_by_target(TargetArn=arn)["RuleNames"] == ["sam-schedule"]
ev.remove_targets(Rule="sam-schedule", Ids=["q"])
ev.delete_rule(Name="sam-schedule")
assert ev.list_rules(NamePrefix="sam")["Rules"] == []
print("scheduler ok")
`

// TestSchedulerCLI makes a schedule and a rule with the AWS CLI.
func TestSchedulerCLI(t *testing.T) {
	t.Parallel()
	b := bargetest.Start(t)
	env := append(b.Env(), "HOME="+t.TempDir(), "AWS_PAGER=")
	aws := tool(t, "aws")
	for _, tc := range []struct {
		want string
		args []string
	}{
		{`"ScheduleGroupArn"`, []string{"scheduler", "create-schedule-group", "--name", "cli"}},
		{`"ScheduleArn"`, []string{"scheduler", "create-schedule", "--name", "hourly", "--group-name", "cli", "--schedule-expression", "rate(1 hour)",
			"--flexible-time-window", "Mode=OFF", "--target", `{"Arn":"arn:aws:lambda:us-east-1:000000000000:function:f","RoleArn":"arn:aws:iam::000000000000:role/r"}`}},
		{`"Name": "hourly"`, []string{"scheduler", "list-schedules", "--group-name", "cli"}},
		{`"Name": "default"`, []string{"scheduler", "list-schedule-groups"}},
		{`"RuleArn"`, []string{"events", "put-rule", "--name", "cli-rule", "--schedule-expression", "rate(5 minutes)"}},
		{`"FailedEntryCount": 0`, []string{"events", "put-targets", "--rule", "cli-rule", "--targets", "Id=1,Arn=arn:aws:lambda:us-east-1:000000000000:function:f"}},
		{`"Name": "cli-rule"`, []string{"events", "list-rules"}},
		{`"ScheduleExpression": "rate(5 minutes)"`, []string{"events", "describe-rule", "--name", "cli-rule"}},
	} {
		res := runCmd(t, t.Context(), env, aws, append([]string{"--output", "json"}, tc.args...)...)
		if res.code != 0 || !strings.Contains(res.stdout, tc.want) {
			t.Fatalf("aws %s:\n%s", strings.Join(tc.args, " "), res)
		}
	}
}
