package e2e_test

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/batch"
	"github.com/aws/aws-sdk-go-v2/service/batch/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/barge-run/barge/internal/bargetest"
)

// sqsWorker is a Batch job's code draining a queue with boto3, as a worker fleet's would: each
// message's body is sent on to the results queue, tagged with the worker's array index, then
// deleted; the worker stops when a receive waits a second and finds nothing.
const sqsWorker = `
import os, boto3
sqs = boto3.client("sqs")
work, results = os.environ["WORK_QUEUE"], os.environ["RESULTS_QUEUE"]
me = os.environ.get("AWS_BATCH_JOB_ARRAY_INDEX", "-")
while True:
    got = sqs.receive_message(QueueUrl=work, MaxNumberOfMessages=5, WaitTimeSeconds=1).get("Messages", [])
    if not got:
        break
    for m in got:
        sqs.send_message(QueueUrl=results, MessageBody=m["Body"] + "@" + me)
        sqs.delete_message(QueueUrl=work, ReceiptHandle=m["ReceiptHandle"])
`

// TestBatchWorkersDrainSQS: the worker fleet pattern — an array of Batch jobs whose unmodified
// boto3 code (credentials and endpoint from the attempt's environment) drains an SQS queue
// together: every message is handled exactly once, by one of the workers.
func TestBatchWorkersDrainSQS(t *testing.T) {
	t.Parallel()
	prefix := pythonWithBoto3(t)
	b := bargetest.Start(t, bargetest.WithArgs("--volume-root", prefix))
	c, q, ctx := b.Batch(), sqs.NewFromConfig(b.Config()), context.Background()
	queue := func(name string) string {
		out, err := q.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(name), Attributes: map[string]string{"VisibilityTimeout": "60"}})
		if err != nil {
			t.Fatal(err)
		}
		return aws.ToString(out.QueueUrl)
	}
	work, results := queue("work"), queue("results")
	var want []string
	for i := range 40 {
		body := "item-" + strconv.Itoa(i)
		want = append(want, body)
		if _, err := q.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(work), MessageBody: aws.String(body)}); err != nil {
			t.Fatal(err)
		}
	}
	register(t, c, "worker", &types.ContainerProperties{Command: []string{"/srv/bin/python3", "-c", sqsWorker}, ResourceRequirements: reqs("1", "256"),
		Environment: []types.KeyValuePair{{Name: aws.String("LD_LIBRARY_PATH"), Value: aws.String("/srv/lib")},
			{Name: aws.String("WORK_QUEUE"), Value: aws.String(work)}, {Name: aws.String("RESULTS_QUEUE"), Value: aws.String(results)}},
		Volumes:     []types.Volume{{Name: aws.String("py"), Host: &types.Host{SourcePath: aws.String(prefix)}}},
		MountPoints: []types.MountPoint{{SourceVolume: aws.String("py"), ContainerPath: aws.String("/srv"), ReadOnly: aws.Bool(true)}}})
	fleet := submit(t, c, &batch.SubmitJobInput{JobName: aws.String("fleet"), JobDefinition: aws.String("worker"),
		ArrayProperties: &types.ArrayProperties{Size: aws.Int32(3)}})
	if j := bargetest.WaitJob(t, c, fleet, jobWait, terminal); j.Status != types.JobStatusSucceeded {
		t.Fatalf("the fleet: %s %q", j.Status, aws.ToString(j.StatusReason))
	}
	var got []string
	for {
		out, err := q.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(results), MaxNumberOfMessages: 10})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Messages) == 0 {
			break
		}
		for _, m := range out.Messages {
			got = append(got, aws.ToString(m.Body))
			q.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(results), ReceiptHandle: m.ReceiptHandle})
		}
	}
	handled := make([]string, 0, len(got))
	for _, g := range got {
		at := strings.LastIndex(g, "@")
		body, worker := g[:max(at, 0)], g[at+1:]
		if worker != "0" && worker != "1" && worker != "2" {
			t.Fatalf("%q was handled by no worker of the array", g)
		}
		handled = append(handled, body)
	}
	slices.Sort(handled)
	slices.Sort(want)
	if !slices.Equal(handled, want) {
		t.Fatalf("handled %d messages, want each of %d exactly once: %v", len(handled), len(want), handled)
	}
}
