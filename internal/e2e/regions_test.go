package e2e_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/batch"
	"github.com/aws/aws-sdk-go-v2/service/batch/types"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	ltypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/smithy-go"

	"github.com/barge-run/barge/internal/bargetest"
)

// TestRegionsApart: the region a client signs with is honoured, as on AWS — each region has its
// own default queue, job definitions, jobs, functions and logs; ARNs carry it; a job runs with
// its region in AWS_REGION; nothing of one region is visible from another, by name or ARN.
func TestRegionsApart(t *testing.T) {
	t.Parallel()
	b := bargetest.Start(t)
	ctx := context.Background()
	eu := b.Config()
	eu.Region = "eu-west-1"
	be, bu := batch.NewFromConfig(eu), b.Batch()

	qs, err := be.DescribeJobQueues(ctx, &batch.DescribeJobQueuesInput{})
	if err != nil || len(qs.JobQueues) != 1 || !strings.Contains(aws.ToString(qs.JobQueues[0].JobQueueArn), ":eu-west-1:") {
		t.Fatalf("the default queue in eu-west-1: %v %+v", err, qs)
	}
	def := register(t, be, "where", &types.ContainerProperties{Command: []string{"sh", "-c", `echo "region $AWS_REGION"`}})
	if !strings.Contains(aws.ToString(def.JobDefinitionArn), "arn:aws:batch:eu-west-1:") {
		t.Errorf("a job definition's ARN in eu-west-1: %s", aws.ToString(def.JobDefinitionArn))
	}
	id := submit(t, be, &batch.SubmitJobInput{JobName: aws.String("where"), JobDefinition: aws.String("where")})
	j := bargetest.WaitJob(t, be, id, jobWait, terminal)
	if j.Status != types.JobStatusSucceeded || !strings.Contains(aws.ToString(j.JobArn), ":eu-west-1:") {
		t.Fatalf("the eu-west-1 job: %s %s", j.Status, aws.ToString(j.JobArn))
	}
	lines := logLines(t, cloudwatchlogs.NewFromConfig(eu), aws.ToString(j.Container.LogStreamName))
	if len(lines) != 1 || lines[0] != "region eu-west-1" {
		t.Errorf("the job's output read in eu-west-1: %q", lines)
	}

	// Nothing of it from us-east-1: not the job, its definition, its log, nor by ARN.
	if got := describe(t, bu, id); len(got) != 0 {
		t.Errorf("the eu-west-1 job seen from us-east-1: %+v", got)
	}
	if out, err := bu.DescribeJobDefinitions(ctx, &batch.DescribeJobDefinitionsInput{JobDefinitionName: aws.String("where")}); err != nil || len(out.JobDefinitions) != 0 {
		t.Errorf("the eu-west-1 job definition seen from us-east-1: %v %d", err, len(out.JobDefinitions))
	}
	if lines, _ := logLinesSoFar(b.Logs(), aws.ToString(j.Container.LogStreamName)); len(lines) != 0 {
		t.Errorf("the eu-west-1 job's log read from us-east-1: %q", lines)
	}
	_, err = bu.SubmitJob(ctx, &batch.SubmitJobInput{JobName: aws.String("x"), JobQueue: aws.String("default"), JobDefinition: def.JobDefinitionArn})
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != "ClientException" {
		t.Errorf("submitting in us-east-1 with an eu-west-1 definition ARN: %v", err)
	}

	// Functions likewise.
	le, lu := lambda.NewFromConfig(eu), lambda.NewFromConfig(b.Config())
	fn, err := le.CreateFunction(ctx, &lambda.CreateFunctionInput{FunctionName: aws.String("echo"), Runtime: ltypes.RuntimeProvidedal2023,
		Handler: aws.String("bootstrap"), Role: aws.String("arn:aws:iam::000000000000:role/any"), Code: &ltypes.FunctionCode{ZipFile: echoFunction(t)}})
	if err != nil || !strings.Contains(aws.ToString(fn.FunctionArn), "arn:aws:lambda:eu-west-1:") {
		t.Fatalf("a function in eu-west-1: %v %s", err, aws.ToString(fn.FunctionArn))
	}
	out, err := le.Invoke(ctx, &lambda.InvokeInput{FunctionName: fn.FunctionArn})
	if err != nil || !strings.Contains(string(out.Payload), `"AWS_REGION":"eu-west-1"`) {
		t.Fatalf("invoking it: %v %s", err, out.Payload)
	}
	var notFound *ltypes.ResourceNotFoundException
	if _, err := lu.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("echo")}); !errors.As(err, &notFound) {
		t.Errorf("the eu-west-1 function from us-east-1: %v", err)
	}

	// A region that is no region is refused.
	bad := b.Config()
	bad.Region = "not a region"
	if _, err := batch.NewFromConfig(bad).DescribeJobQueues(ctx, &batch.DescribeJobQueuesInput{}); err == nil {
		t.Error("a request signed for the region \"not a region\" was served")
	}
}

// TestCLIRegion: barge's own CLI acts in the server's region (recorded in its data directory)
// unless --region or AWS_REGION says otherwise.
func TestCLIRegion(t *testing.T) {
	t.Parallel()
	b := bargetest.Start(t, bargetest.WithArgs("--region", "eu-west-1"))
	var env []string
	for _, kv := range b.Env() {
		if !strings.HasPrefix(kv, "AWS_") {
			env = append(env, kv) // BARGE_ADDR and BARGE_DATA_DIR only
		}
	}
	ctx := t.Context()
	res := runCmd(t, ctx, env, bargetest.Binary(t), "env")
	if res.code != 0 || !strings.Contains(res.stdout, "export AWS_REGION=eu-west-1\n") {
		t.Fatalf("barge env on an eu-west-1 server:\n%s", res)
	}
	res = runCmd(t, ctx, env, bargetest.Binary(t), "submit", "--", "true")
	if res.code != 0 {
		t.Fatalf("barge submit:\n%s", res)
	}
	id := strings.TrimSpace(res.stdout)
	eu := b.Config()
	eu.Region = "eu-west-1"
	if got := describe(t, batch.NewFromConfig(eu), id); len(got) != 1 || !strings.Contains(aws.ToString(got[0].JobArn), ":eu-west-1:") {
		t.Fatalf("the job barge submit made, seen in eu-west-1: %+v", got)
	}
	res = runCmd(t, ctx, env, bargetest.Binary(t), "jobs", "--region", "us-east-1", "--status", "all")
	if res.code != 0 || strings.Contains(res.stdout, id) {
		t.Fatalf("barge jobs --region us-east-1 lists the eu-west-1 job:\n%s", res)
	}
}
