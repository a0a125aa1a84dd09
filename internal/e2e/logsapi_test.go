package e2e_test

import (
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/batch"
	"github.com/aws/aws-sdk-go-v2/service/batch/types"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	cwltypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"

	"github.com/barge-run/barge/internal/bargetest"
)

// TestLogsAPI: log groups and streams made, listed and deleted, PutLogEvents with CloudWatch's
// batch rules, and job streams as CloudWatch has them — through aws-sdk-go-v2 and the AWS CLI.
func TestLogsAPI(t *testing.T) {
	t.Parallel()
	b := bargetest.Start(t)
	l, ctx := b.Logs(), context.Background()

	for _, g := range []string{"app/one", "app/two", "app/three", "other"} {
		if _, err := l.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String(g), Tags: map[string]string{"team": "x"}}); err != nil {
			t.Fatalf("CreateLogGroup %s: %v", g, err)
		}
	}
	for _, tc := range []struct {
		name string
		err  error
		want string
	}{
		{"a group again", func() error {
			_, err := l.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String("app/one")})
			return err
		}(), "ResourceAlreadyExistsException"},
		{"a bad group name", func() error {
			_, err := l.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String("bad name!")})
			return err
		}(), "InvalidParameterException"},
		{"a retention AWS does not offer", func() error {
			_, err := l.PutRetentionPolicy(ctx, &cloudwatchlogs.PutRetentionPolicyInput{LogGroupName: aws.String("app/one"), RetentionInDays: aws.Int32(8)})
			return err
		}(), "InvalidParameterException"},
		{"a stream in no group", func() error {
			_, err := l.CreateLogStream(ctx, &cloudwatchlogs.CreateLogStreamInput{LogGroupName: aws.String("nope"), LogStreamName: aws.String("s")})
			return err
		}(), "ResourceNotFoundException"},
	} {
		if errorCode(tc.err) != tc.want {
			t.Errorf("%s: %v, want %s", tc.name, tc.err, tc.want)
		}
	}
	if _, err := l.PutRetentionPolicy(ctx, &cloudwatchlogs.PutRetentionPolicyInput{LogGroupName: aws.String("app/one"), RetentionInDays: aws.Int32(7)}); err != nil {
		t.Fatal(err)
	}
	page1, err := l.DescribeLogGroups(ctx, &cloudwatchlogs.DescribeLogGroupsInput{LogGroupNamePrefix: aws.String("app/"), Limit: aws.Int32(2)})
	if err != nil || len(page1.LogGroups) != 2 || page1.NextToken == nil {
		t.Fatalf("DescribeLogGroups page 1: %v %+v", err, page1)
	}
	page2, err := l.DescribeLogGroups(ctx, &cloudwatchlogs.DescribeLogGroupsInput{LogGroupNamePrefix: aws.String("app/"), Limit: aws.Int32(2), NextToken: page1.NextToken})
	if err != nil || len(page2.LogGroups) != 1 || page2.NextToken != nil {
		t.Fatalf("DescribeLogGroups page 2: %v %+v", err, page2)
	}
	one := page1.LogGroups[0] // app/one, by name
	if aws.ToString(one.LogGroupName) != "app/one" || aws.ToInt32(one.RetentionInDays) != 7 || aws.ToInt64(one.CreationTime) == 0 ||
		!strings.HasSuffix(aws.ToString(one.Arn), ":log-group:app/one:*") {
		t.Errorf("app/one: %+v", one)
	}

	// Tags, by ARN and by name.
	two := aws.ToString(page1.LogGroups[1].LogGroupArn)
	if _, err := l.TagResource(ctx, &cloudwatchlogs.TagResourceInput{ResourceArn: aws.String(two), Tags: map[string]string{"env": "prod"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := l.UntagResource(ctx, &cloudwatchlogs.UntagResourceInput{ResourceArn: aws.String(two), TagKeys: []string{"team"}}); err != nil {
		t.Fatal(err)
	}
	tags, err := l.ListTagsForResource(ctx, &cloudwatchlogs.ListTagsForResourceInput{ResourceArn: aws.String(two)})
	if err != nil || len(tags.Tags) != 1 || tags.Tags["env"] != "prod" {
		t.Errorf("a log group's tags: %v %v", err, tags)
	}
	if _, err := l.TagResource(ctx, &cloudwatchlogs.TagResourceInput{ResourceArn: aws.String("arn:aws:logs:us-east-1:999999999999:log-group:x"), Tags: map[string]string{"a": "b"}}); errorCode(err) != "InvalidParameterException" {
		t.Errorf("tagging another account's group: %v", err)
	}

	// Streams and events.
	if _, err := l.CreateLogStream(ctx, &cloudwatchlogs.CreateLogStreamInput{LogGroupName: aws.String("app/one"), LogStreamName: aws.String("s1")}); err != nil {
		t.Fatal(err)
	}
	if _, err := l.CreateLogStream(ctx, &cloudwatchlogs.CreateLogStreamInput{LogGroupName: aws.String("app/one"), LogStreamName: aws.String("s1")}); errorCode(err) != "ResourceAlreadyExistsException" {
		t.Errorf("a stream again: %v", err)
	}
	now := time.Now().UnixMilli()
	put := func(events ...cwltypes.InputLogEvent) (*cloudwatchlogs.PutLogEventsOutput, error) {
		return l.PutLogEvents(ctx, &cloudwatchlogs.PutLogEventsInput{LogGroupName: aws.String("app/one"), LogStreamName: aws.String("s1"), LogEvents: events})
	}
	ev := func(ts int64, msg string) cwltypes.InputLogEvent {
		return cwltypes.InputLogEvent{Timestamp: aws.Int64(ts), Message: aws.String(msg)}
	}
	if _, err := put(ev(now-1000, "first"), ev(now-500, "two\nlines"), ev(now, "third")); err != nil {
		t.Fatal(err)
	}
	if _, err := put(ev(now, "b"), ev(now-1, "a")); errorCode(err) != "InvalidParameterException" {
		t.Errorf("events out of order: %v", err)
	}
	old := now - 15*24*3600*1000
	out, err := put(ev(old, "ancient"), ev(old+1, "ancient too"))
	if err != nil || out.RejectedLogEventsInfo == nil || aws.ToInt32(out.RejectedLogEventsInfo.TooOldLogEventEndIndex) != 1 {
		t.Errorf("events 15 days old: %v %+v", err, out)
	}
	out, err = put(ev(now+1, "fine"), ev(now+3*3600*1000, "future"))
	if err != nil || out.RejectedLogEventsInfo == nil || aws.ToInt32(out.RejectedLogEventsInfo.TooNewLogEventStartIndex) != 1 ||
		out.RejectedLogEventsInfo.TooOldLogEventEndIndex != nil {
		t.Errorf("an event 3 hours ahead: %v %+v", err, out)
	}
	got, err := l.GetLogEvents(ctx, &cloudwatchlogs.GetLogEventsInput{LogGroupName: aws.String("app/one"), LogStreamName: aws.String("s1"), StartFromHead: aws.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	var msgs []string
	for _, e := range got.Events {
		msgs = append(msgs, aws.ToString(e.Message))
	}
	if strings.Join(msgs, "|") != "first|two\nlines|third|fine" || aws.ToInt64(got.Events[0].Timestamp) != now-1000 {
		t.Errorf("stored events %q (first at %d, want %d)", msgs, aws.ToInt64(got.Events[0].Timestamp), now-1000)
	}

	// FilterLogEvents across streams, merged by time, with a pattern, in pages.
	if _, err := l.CreateLogStream(ctx, &cloudwatchlogs.CreateLogStreamInput{LogGroupName: aws.String("app/one"), LogStreamName: aws.String("s2")}); err != nil {
		t.Fatal(err)
	}
	if _, err := l.PutLogEvents(ctx, &cloudwatchlogs.PutLogEventsInput{LogGroupName: aws.String("app/one"), LogStreamName: aws.String("s2"),
		LogEvents: []cwltypes.InputLogEvent{ev(now-750, "ERROR second"), ev(now-250, "INFO quiet"), ev(now+2, "ERROR last")}}); err != nil {
		t.Fatal(err)
	}
	var filtered []string
	in := &cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String("app/one"), FilterPattern: aws.String("?ERROR ?first"), Limit: aws.Int32(2)}
	for pages := 0; ; pages++ {
		out, err := l.FilterLogEvents(ctx, in)
		if err != nil || pages > 3 {
			t.Fatalf("FilterLogEvents: %v (page %d)", err, pages)
		}
		for _, e := range out.Events {
			filtered = append(filtered, aws.ToString(e.LogStreamName)+":"+aws.ToString(e.Message))
		}
		if out.NextToken == nil {
			break
		}
		in.NextToken = out.NextToken
	}
	if strings.Join(filtered, "|") != "s1:first|s2:ERROR second|s2:ERROR last" {
		t.Errorf("filtered events %q", filtered)
	}
	if _, err := l.FilterLogEvents(ctx, &cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String("app/one"), FilterPattern: aws.String(`[ip user]`)}); errorCode(err) != "InvalidParameterException" {
		t.Errorf("a malformed space-delimited pattern: %v", err)
	}
	if _, err := l.PutLogEvents(ctx, &cloudwatchlogs.PutLogEventsInput{LogGroupName: aws.String("app/one"), LogStreamName: aws.String("s2"),
		LogEvents: []cwltypes.InputLogEvent{ev(now+3, `{"level":"ERROR","latency":250}`), ev(now+4, `{"level":"ERROR","latency":20}`)}}); err != nil {
		t.Fatal(err)
	}
	jsonOut, err := l.FilterLogEvents(ctx, &cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String("app/one"), FilterPattern: aws.String(`{ $.level = "ERROR" && $.latency > 100 }`)})
	if err != nil || len(jsonOut.Events) != 1 || !strings.Contains(aws.ToString(jsonOut.Events[0].Message), "250") {
		t.Errorf("a JSON pattern: %v %+v", err, jsonOut)
	}

	// The AWS CLI sees the groups too.
	res := runCmd(t, ctx, b.Env(), tool(t, "aws"), "logs", "describe-log-groups", "--log-group-name-prefix", "app/")
	if res.code != 0 || !strings.Contains(res.stdout, `"logGroupName": "app/three"`) {
		t.Errorf("aws logs describe-log-groups:\n%s", res)
	}

	res = runCmd(t, ctx, b.Env(), tool(t, "aws"), "logs", "filter-log-events", "--log-group-name", "app/one", "--filter-pattern", "ERROR")
	if res.code != 0 || !strings.Contains(res.stdout, `"message": "ERROR last"`) {
		t.Errorf("aws logs filter-log-events:\n%s", res)
	}
	if v2, err := exec.Command("/usr/bin/aws", "--version").Output(); err == nil && strings.HasPrefix(string(v2), "aws-cli/2.") {
		// aws logs tail (CLI v2) polls FilterLogEvents.
		res = runCmd(t, ctx, b.Env(), "/usr/bin/aws", "--endpoint-url", b.Endpoint, "logs", "tail", "app/one", "--since", "1h", "--filter-pattern", "ERROR")
		if res.code != 0 || !strings.Contains(res.stdout, "s2 ERROR last") {
			t.Errorf("aws logs tail:\n%s", res)
		}
	}

	// Deleting.
	if _, err := l.DeleteLogStream(ctx, &cloudwatchlogs.DeleteLogStreamInput{LogGroupName: aws.String("app/one"), LogStreamName: aws.String("s1")}); err != nil {
		t.Fatal(err)
	}
	if _, err := l.DeleteLogGroup(ctx, &cloudwatchlogs.DeleteLogGroupInput{LogGroupName: aws.String("app/one")}); err != nil {
		t.Fatal(err)
	}
	if _, err := l.DeleteLogGroup(ctx, &cloudwatchlogs.DeleteLogGroupInput{LogGroupName: aws.String("app/one")}); errorCode(err) != "ResourceNotFoundException" {
		t.Errorf("deleting a group twice: %v", err)
	}

	// A job's stream exists from its start, a silent job's with no events; an empty line is an
	// event whose message is "".
	c := b.Batch()
	register(t, c, "silent", &types.ContainerProperties{Command: []string{"true"}})
	register(t, c, "blank", &types.ContainerProperties{Command: []string{"sh", "-c", "echo; echo after"}})
	for name, want := range map[string][]string{"silent": nil, "blank": {"", "after"}} {
		id := submit(t, c, &batch.SubmitJobInput{JobName: aws.String(name), JobDefinition: aws.String(name)})
		j := bargetest.WaitJob(t, c, id, jobWait, terminal)
		got, err := l.GetLogEvents(ctx, &cloudwatchlogs.GetLogEventsInput{LogGroupName: aws.String("/aws/batch/job"),
			LogStreamName: j.Container.LogStreamName, StartFromHead: aws.Bool(true)})
		if err != nil || len(got.Events) != len(want) {
			t.Fatalf("job %s's stream: %v %+v", name, err, got)
		}
		for i, e := range got.Events {
			if e.Message == nil || *e.Message != want[i] {
				t.Errorf("job %s event %d: %v, want %q", name, i, e.Message, want[i])
			}
		}
	}
}
