package sfn

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	bw "github.com/barge-run/barge/internal/awstypes/batch"
	qw "github.com/barge-run/barge/internal/awstypes/sqs"
	"github.com/barge-run/barge/internal/sfn/asl"
)

// batchSubmit runs arn:aws:states:::batch:submitJob: SubmitJob through barge's Batch service;
// with .sync it waits for the job to end and its result is the job as DescribeJobs gives it.
func (t *taskRunner) batchSubmit(ctx context.Context, req asl.TaskRequest) (json.RawMessage, error) {
	if t.s.cfg.Batch == nil {
		return nil, &asl.Error{Name: "Batch.AWSBatchException", Cause: "barge serves no Batch here"}
	}
	var in bw.SubmitJobRequest
	if err := toWire(req.Input, &in); err != nil {
		return nil, &asl.Error{Name: asl.ErrTaskFailed, Cause: fmt.Sprintf("batch:submitJob parameters: %v", err)}
	}
	out, err := t.s.cfg.Batch.SubmitJob(ctx, t.scope, &in)
	if err != nil {
		return nil, serviceError("Batch", err)
	}
	if req.Resource.Pattern != asl.PatternRunJob {
		return fromWire(out)
	}
	return t.waitJob(ctx, out.JobId)
}

// waitJob reads a job every BatchPoll until it has ended.
func (t *taskRunner) waitJob(ctx context.Context, id string) (json.RawMessage, error) {
	tick := time.NewTicker(t.s.cfg.BatchPoll)
	defer tick.Stop()
	for {
		d, err := t.s.cfg.Batch.DescribeJobs(ctx, t.scope, &bw.DescribeJobsRequest{Jobs: []string{id}})
		if err != nil {
			return nil, serviceError("Batch", err)
		}
		if len(d.Jobs) == 0 {
			return nil, &asl.Error{Name: asl.ErrTaskFailed, Cause: fmt.Sprintf("The job %s does not exist", id)}
		}
		job := d.Jobs[0]
		switch job.Status {
		case bw.JobStatusSucceeded:
			return fromWire(job)
		case bw.JobStatusFailed:
			cause := job.StatusReason
			if cause == "" {
				cause = fmt.Sprintf("The job %s failed", id)
			}
			return nil, &asl.Error{Name: asl.ErrTaskFailed, Cause: cause}
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-tick.C:
		}
	}
}

// sqsSend runs arn:aws:states:::sqs:sendMessage; a MessageBody that is not a string is sent
// as its JSON text, as Step Functions does.
func (t *taskRunner) sqsSend(ctx context.Context, req asl.TaskRequest) (json.RawMessage, error) {
	if t.s.cfg.SQS == nil {
		return nil, &asl.Error{Name: "SQS.SdkClientException", Cause: "barge serves no SQS here"}
	}
	var p map[string]json.RawMessage
	if err := json.Unmarshal(req.Input, &p); err != nil {
		return nil, &asl.Error{Name: asl.ErrTaskFailed, Cause: fmt.Sprintf("sqs:sendMessage parameters: %v", err)}
	}
	if body, ok := p["MessageBody"]; ok && len(body) > 0 && body[0] != '"' {
		p["MessageBody"], _ = json.Marshal(string(body))
	}
	b, _ := json.Marshal(p)
	var in qw.SendMessageRequest
	if err := json.Unmarshal(b, &in); err != nil {
		return nil, &asl.Error{Name: asl.ErrTaskFailed, Cause: fmt.Sprintf("sqs:sendMessage parameters: %v", err)}
	}
	out, err := t.s.cfg.SQS.SendMessage(ctx, t.scope, &in)
	if err != nil {
		return nil, serviceError("SQS", err)
	}
	return json.Marshal(out)
}
