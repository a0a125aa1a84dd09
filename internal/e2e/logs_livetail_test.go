package e2e_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	cwltypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/aws/smithy-go/middleware"

	"github.com/barge-run/barge/internal/bargetest"
)

// noHostPrefix makes an aws-sdk-go-v2 call skip the operation's host prefix: StartLiveTail's
// "stream-" would turn barge's 127.0.0.1 endpoint into a host name nothing resolves.
func noHostPrefix(o *cloudwatchlogs.Options) {
	o.APIOptions = append(o.APIOptions, func(s *middleware.Stack) error {
		_, err := s.Finalize.Remove("EndpointHostPrefix")
		return err
	})
}

// putMessages puts one event per message, now, into a stream.
func putMessages(t *testing.T, l *cloudwatchlogs.Client, group, stream string, msgs ...string) {
	t.Helper()
	var events []cwltypes.InputLogEvent
	for _, m := range msgs {
		events = append(events, cwltypes.InputLogEvent{Timestamp: aws.Int64(time.Now().UnixMilli()), Message: aws.String(m)})
	}
	mustLogs[*cloudwatchlogs.PutLogEventsOutput](t, "PutLogEvents")(l.PutLogEvents(t.Context(), &cloudwatchlogs.PutLogEventsInput{
		LogGroupName: aws.String(group), LogStreamName: aws.String(stream), LogEvents: events}))
}

// TestLiveTailSDK: StartLiveTail through aws-sdk-go-v2's event stream reader — the session
// starts, then delivers the matching events put after it began (not those before, not those its
// pattern or stream prefix leaves out), in updates a second apart; bad requests get AWS's errors
// before any stream starts.
func TestLiveTailSDK(t *testing.T) {
	t.Parallel()
	b := bargetest.Start(t)
	l := b.Logs()
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	mustLogs[*cloudwatchlogs.CreateLogGroupOutput](t, "CreateLogGroup")(l.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String("live/g")}))
	for _, s := range []string{"app-1", "other"} {
		mustLogs[*cloudwatchlogs.CreateLogStreamOutput](t, "CreateLogStream")(l.CreateLogStream(ctx, &cloudwatchlogs.CreateLogStreamInput{LogGroupName: aws.String("live/g"), LogStreamName: aws.String(s)}))
	}
	putMessages(t, l, "live/g", "app-1", `{"n":0,"level":"ERROR"}`)
	arn := strings.TrimSuffix(aws.ToString(mustLogs[*cloudwatchlogs.DescribeLogGroupsOutput](t, "DescribeLogGroups")(
		l.DescribeLogGroups(ctx, &cloudwatchlogs.DescribeLogGroupsInput{LogGroupNamePrefix: aws.String("live/g")})).LogGroups[0].Arn), ":*")

	out, err := l.StartLiveTail(ctx, &cloudwatchlogs.StartLiveTailInput{LogGroupIdentifiers: []string{arn}, LogStreamNamePrefixes: []string{"app-"},
		LogEventFilterPattern: aws.String(`{ ($.level = "ERROR") || ($.n > 2) }`)}, noHostPrefix)
	if err != nil {
		t.Fatalf("StartLiveTail: %v", err)
	}
	stream := out.GetStream()
	defer stream.Close()
	first, ok := <-stream.Events()
	if start, isStart := first.(*cwltypes.StartLiveTailResponseStreamMemberSessionStart); !ok || !isStart ||
		start.Value.SessionId == nil || !slices.Equal(start.Value.LogGroupIdentifiers, []string{arn}) {
		t.Fatalf("the first event: %#v (%v), want sessionStart naming %s", first, stream.Err(), arn)
	}
	putMessages(t, l, "live/g", "app-1", `{"n":1,"level":"ERROR"}`, `{"n":2,"level":"INFO"}`, `{"n":3,"level":"INFO"}`)
	putMessages(t, l, "live/g", "other", `{"n":4,"level":"ERROR"}`)
	mustLogs[*cloudwatchlogs.CreateLogStreamOutput](t, "CreateLogStream")(l.CreateLogStream(ctx, &cloudwatchlogs.CreateLogStreamInput{LogGroupName: aws.String("live/g"), LogStreamName: aws.String("app-2")}))
	putMessages(t, l, "live/g", "app-2", `{"n":5,"level":"ERROR"}`)

	var got []string
	updates := 0
	for !slices.Contains(got, "app-2 "+`{"n":5,"level":"ERROR"}`) || !slices.Contains(got, "app-1 "+`{"n":3,"level":"INFO"}`) {
		select {
		case ev, ok := <-stream.Events():
			if !ok {
				t.Fatalf("the stream ended: %v (so far %q)", stream.Err(), got)
			}
			u, isUpdate := ev.(*cwltypes.StartLiveTailResponseStreamMemberSessionUpdate)
			if !isUpdate || u.Value.SessionMetadata == nil || u.Value.SessionMetadata.Sampled {
				t.Fatalf("an event %#v, want an unsampled sessionUpdate", ev)
			}
			updates++
			for _, e := range u.Value.SessionResults {
				if aws.ToString(e.LogGroupIdentifier) != arn || aws.ToInt64(e.IngestionTime) == 0 {
					t.Errorf("a result %+v", e)
				}
				got = append(got, aws.ToString(e.LogStreamName)+" "+aws.ToString(e.Message))
			}
		case <-ctx.Done():
			t.Fatalf("after %d updates, the session delivered %q", updates, got)
		}
	}
	want := []string{`app-1 {"n":1,"level":"ERROR"}`, `app-1 {"n":3,"level":"INFO"}`, `app-2 {"n":5,"level":"ERROR"}`}
	if slices.Sort(got); !slices.Equal(got, want) {
		t.Errorf("the session delivered %q, want %q", got, want)
	}
	liveTailErrorsSDK(t, ctx, l, arn)
}

func liveTailErrorsSDK(t *testing.T, ctx context.Context, l *cloudwatchlogs.Client, arn string) {
	for _, tc := range []struct {
		name        string
		in          cloudwatchlogs.StartLiveTailInput
		code, field string
	}{
		{"a missing group", cloudwatchlogs.StartLiveTailInput{LogGroupIdentifiers: []string{strings.Replace(arn, "live/g", "live/none", 1)}}, "ResourceNotFoundException", "log group"},
		{"11 groups", cloudwatchlogs.StartLiveTailInput{LogGroupIdentifiers: slices.Repeat([]string{arn}, 11)}, "InvalidParameterException", "logGroupIdentifiers"},
		{"an ARN ending in *", cloudwatchlogs.StartLiveTailInput{LogGroupIdentifiers: []string{arn + ":*"}}, "InvalidParameterException", "logGroupIdentifiers"},
		{"names and prefixes", cloudwatchlogs.StartLiveTailInput{LogGroupIdentifiers: []string{arn}, LogStreamNames: []string{"a"}, LogStreamNamePrefixes: []string{"b"}},
			"InvalidParameterException", "logStreamNames"},
		{"a malformed pattern", cloudwatchlogs.StartLiveTailInput{LogGroupIdentifiers: []string{arn}, LogEventFilterPattern: aws.String("{ ($.a = 1 }")},
			"InvalidParameterException", "filterPattern"},
	} {
		out, err := l.StartLiveTail(ctx, &tc.in, noHostPrefix)
		if err == nil {
			out.GetStream().Close()
		}
		wantAPIError(t, "StartLiveTail with "+tc.name, err, tc.code, tc.field)
	}
}

// liveTailBoto3Script follows a group with boto3's start_live_tail (host prefix injection off, as
// any client of a non-AWS endpoint needs) while putting events, and prints the events it got.
const liveTailBoto3Script = `
import json, os, time
import boto3
from botocore.config import Config

endpoint = os.environ["AWS_ENDPOINT_URL"]
logs = boto3.client("logs", endpoint_url=endpoint, config=Config(inject_host_prefix=False))
logs.create_log_group(logGroupName="live/py")
logs.create_log_stream(logGroupName="live/py", logStreamName="s")
arn = logs.describe_log_groups(logGroupNamePrefix="live/py")["logGroups"][0]["logGroupArn"]
resp = logs.start_live_tail(logGroupIdentifiers=[arn], logEventFilterPattern="ERROR")
got, kinds, deadline = [], [], time.monotonic() + 30
for event in resp["responseStream"]:
    kind = next(iter(event))
    kinds.append(kind)
    if kind == "sessionStart":
        logs.put_log_events(logGroupName="live/py", logStreamName="s", logEvents=[
            {"timestamp": int(time.time() * 1000), "message": m} for m in ("INFO skipped", "ERROR %d" % 1, "ERROR %d" % 2)])
    elif kind == "sessionUpdate":
        got += [r["message"] for r in event[kind]["sessionResults"]]
    if len(got) >= 2 or time.monotonic() > deadline:
        break
resp["responseStream"].close()
print(json.dumps({"got": got, "kinds": sorted(set(kinds))}))
`

// TestLiveTailBoto3: the same session through botocore's event stream parser.
func TestLiveTailBoto3(t *testing.T) {
	t.Parallel()
	python := boto3Python(t)
	b := bargetest.Start(t)
	res := runPythonScript(t, b, python, liveTailBoto3Script)
	lines := strings.Split(strings.TrimSpace(res.stdout), "\n")
	if res.code != 0 || fmt.Sprint(lines[len(lines)-1]) != `{"got": ["ERROR 1", "ERROR 2"], "kinds": ["sessionStart", "sessionUpdate"]}` {
		t.Errorf("boto3 start_live_tail:\n%s", res)
	}
}
