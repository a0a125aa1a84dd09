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
// A .sync attempt records the job it submitted (a TaskSubmitted event, kept in the
// execution's checkpoint), so that after a restart it waits for that job again instead of
// submitting another.
func (t *taskRunner) batchSubmit(ctx context.Context, req asl.TaskRequest) (json.RawMessage, error) {
	if t.s.cfg.Batch == nil {
		return nil, &asl.Error{Name: "Batch.AWSBatchException", Cause: "barge serves no Batch here"}
	}
	sync := req.Resource.Pattern == asl.PatternRunJob
	if sync && len(req.Submitted) > 0 {
		var sub struct{ JobId string }
		if json.Unmarshal(req.Submitted, &sub) == nil && sub.JobId != "" {
			return t.waitJob(ctx, req, sub.JobId)
		}
	}
	var in bw.SubmitJobRequest
	if err := toWire(req.Input, &in); err != nil {
		return nil, &asl.Error{Name: asl.ErrTaskFailed, Cause: fmt.Sprintf("batch:submitJob parameters: %v", err)}
	}
	out, err := t.s.cfg.Batch.SubmitJob(ctx, t.scope, &in)
	if err != nil {
		return nil, serviceError("Batch", err)
	}
	if !sync {
		return fromWire(out)
	}
	submitted, err := fromWire(out)
	if err != nil {
		return nil, err
	}
	req.Submit(submitted)
	t.persist(ctx)
	return t.waitJob(ctx, req, out.JobId)
}

// waitJob waits for a job to end. A Task given up meanwhile (see abandoned) terminates the
// job, as Step Functions does for .sync.
func (t *taskRunner) waitJob(ctx context.Context, req asl.TaskRequest, id string) (json.RawMessage, error) {
	out, err := t.pollJob(ctx, id)
	if t.abandoned(ctx) {
		tctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		reason := fmt.Sprintf("Step Functions: the state %s of %s stopped waiting for the job", req.StateName, req.ExecutionARN)
		if _, terr := t.s.cfg.Batch.TerminateJob(tctx, t.scope, &bw.TerminateJobRequest{JobId: id, Reason: reason}); terr != nil {
			t.s.log.Warn("terminating the job of a stopped Task", "job", id, "err", terr)
		}
	}
	return out, err
}

// pollJob reads a job every BatchPoll until it has ended.
func (t *taskRunner) pollJob(ctx context.Context, id string) (json.RawMessage, error) {
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
			// As AWS: the cause is the failed job as the state's output would have shown it,
			// its StatusReason and attempts included.
			cause, err := fromWire(job)
			if err != nil {
				cause = json.RawMessage(fmt.Sprintf("%q", "The job "+id+" failed: "+job.StatusReason))
			}
			return nil, &asl.Error{Name: asl.ErrTaskFailed, Cause: string(cause)}
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
