package e2e_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/batch"
	"github.com/aws/aws-sdk-go-v2/service/batch/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	ltypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/barge-run/barge/internal/bargetest"
)

// TestDefaultDataDir runs the server as the README's first command does: no --data-dir, so the
// data directory is the relative ".barge". Jobs and function instances run with their own working
// directory (and root, when sandboxed), so every path barge hands them must still resolve.
func TestDefaultDataDir(t *testing.T) {
	t.Parallel()
	b := bargetest.Start(t, bargetest.InWorkDir(t.TempDir()))
	ctx := context.Background()

	bc := b.Batch()
	register(t, bc, "hello", &types.ContainerProperties{Command: []string{"sh", "-c", "echo hello from $AWS_BATCH_JOB_ID"}, ResourceRequirements: reqs("1", "128")})
	id := submit(t, bc, &batch.SubmitJobInput{JobName: aws.String("hello"), JobQueue: aws.String("default"), JobDefinition: aws.String("hello")})
	if job := bargetest.WaitJob(t, bc, id, 60*time.Second, bargetest.Terminal); job.Status != types.JobStatusSucceeded {
		t.Fatalf("job %s: %s %s", id, job.Status, aws.ToString(job.StatusReason))
	}

	lc := lambda.NewFromConfig(b.Config())
	if _, err := lc.CreateFunction(ctx, &lambda.CreateFunctionInput{
		FunctionName: aws.String("echo"), Runtime: ltypes.RuntimeProvidedal2023, Handler: aws.String("bootstrap"),
		Role: aws.String("arn:aws:iam::000000000000:role/any"), Code: &ltypes.FunctionCode{ZipFile: echoFunction(t)},
	}); err != nil {
		t.Fatal(err)
	}
	out, err := lc.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("echo"), Payload: []byte(`{"n":1}`)})
	if err != nil {
		t.Fatal(err)
	}
	var reply echoReply
	if out.FunctionError != nil || json.Unmarshal(out.Payload, &reply) != nil || string(reply.Event) != `{"n":1}` {
		t.Fatalf("invoke: error %q, payload %s", aws.ToString(out.FunctionError), out.Payload)
	}
}
