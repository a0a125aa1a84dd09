package e2e_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/batch"
	"github.com/aws/aws-sdk-go-v2/service/batch/types"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	cwltypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	ltypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/smithy-go"

	"github.com/barge-run/barge/internal/bargetest"
)

// sinkCode is a Python function that decodes CloudWatch Logs' awslogs payload as a subscriber's
// code does and prints each event it was given.
const sinkCode = `
import base64, gzip, json
def handler(event, context):
    data = json.loads(gzip.decompress(base64.b64decode(event["awslogs"]["data"])))
    for e in data["logEvents"]:
        print("got", data["logGroup"], data["subscriptionFilters"][0], e["message"])
`

// TestSubscriptionFilters: a log group's subscription filter delivers the events that match its
// pattern to a real function, in CloudWatch's awslogs payload — events put with PutLogEvents and a
// job's output alike.
func TestSubscriptionFilters(t *testing.T) {
	t.Parallel()
	b := bargetest.Start(t)
	l, lc, ctx := b.Logs(), lambda.NewFromConfig(b.Config()), context.Background()
	sink, err := lc.CreateFunction(ctx, &lambda.CreateFunctionInput{FunctionName: aws.String("sink"), Runtime: hostPython(t),
		Handler: aws.String("app.handler"), Role: aws.String("arn:aws:iam::000000000000:role/any"), Code: &ltypes.FunctionCode{ZipFile: zipSources(t, map[string]string{"app.py": sinkCode})}})
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range []string{"app/sub"} {
		if _, err := l.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String(g)}); err != nil {
			t.Fatal(err)
		}
	}
	put := func(group, name, pattern string) error {
		_, err := l.PutSubscriptionFilter(ctx, &cloudwatchlogs.PutSubscriptionFilterInput{LogGroupName: aws.String(group), FilterName: aws.String(name),
			FilterPattern: aws.String(pattern), DestinationArn: sink.FunctionArn})
		return err
	}
	if err := put("app/sub", "errors", "ERROR"); err != nil {
		t.Fatal(err)
	}
	// The job log group exists once a job has run; the filter goes on it before the job prints.
	c := b.Batch()
	register(t, c, "warm", &types.ContainerProperties{Command: []string{"true"}})
	bargetest.WaitJob(t, c, submit(t, c, &batch.SubmitJobInput{JobName: aws.String("warm"), JobDefinition: aws.String("warm")}), jobWait, terminal)
	if err := put("/aws/batch/job", "job-errors", "ERROR"); err != nil {
		t.Fatal(err)
	}
	if err := put("app/sub", "second", "x"); err != nil {
		t.Fatal(err)
	}
	var ae smithy.APIError
	if err := put("app/sub", "third", "y"); !errors.As(err, &ae) || ae.ErrorCode() != "LimitExceededException" {
		t.Errorf("a third filter on a group: %v", err)
	}
	if _, err := l.DeleteSubscriptionFilter(ctx, &cloudwatchlogs.DeleteSubscriptionFilterInput{LogGroupName: aws.String("app/sub"), FilterName: aws.String("second")}); err != nil {
		t.Fatal(err)
	}
	described, err := l.DescribeSubscriptionFilters(ctx, &cloudwatchlogs.DescribeSubscriptionFiltersInput{LogGroupName: aws.String("app/sub")})
	if err != nil || len(described.SubscriptionFilters) != 1 || aws.ToString(described.SubscriptionFilters[0].DestinationArn) != aws.ToString(sink.FunctionArn) {
		t.Fatalf("DescribeSubscriptionFilters: %v %+v", err, described)
	}

	if _, err := l.CreateLogStream(ctx, &cloudwatchlogs.CreateLogStreamInput{LogGroupName: aws.String("app/sub"), LogStreamName: aws.String("s")}); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UnixMilli()
	if _, err := l.PutLogEvents(ctx, &cloudwatchlogs.PutLogEventsInput{LogGroupName: aws.String("app/sub"), LogStreamName: aws.String("s"),
		LogEvents: []cwltypes.InputLogEvent{{Timestamp: aws.Int64(now), Message: aws.String("INFO fine")}, {Timestamp: aws.Int64(now), Message: aws.String("ERROR put")}}}); err != nil {
		t.Fatal(err)
	}
	register(t, c, "noisy", &types.ContainerProperties{Command: []string{"sh", "-c", "echo INFO quiet; echo ERROR from the job"}})
	submit(t, c, &batch.SubmitJobInput{JobName: aws.String("noisy"), JobDefinition: aws.String("noisy")})

	want := []string{"got app/sub errors ERROR put", "got /aws/batch/job job-errors ERROR from the job"}
	deadline := time.Now().Add(jobWait)
	for {
		got := logMessages(t, b, "sink")
		if slices.Contains(got, want[0]) && slices.Contains(got, want[1]) {
			for _, m := range got {
				if strings.Contains(m, "INFO") {
					t.Errorf("an event the pattern does not match was delivered: %q", m)
				}
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the sink got %q, want %q", got, want)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
