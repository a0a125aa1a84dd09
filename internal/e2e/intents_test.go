package e2e_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/batch"
	"github.com/aws/aws-sdk-go-v2/service/batch/types"

	"github.com/barge-run/barge/internal/bargetest"
)

// TestCrashKeepsAcknowledged: what barge acknowledged just before a kill -9 takes effect exactly
// once after the restart — a TerminateJob of a job that ignores SIGTERM (still RUNNING, in its
// grace period, when the server dies), a CancelJob, a queue update and a SubmitJob — and a
// RUNNABLE job's jobStateTimeLimitActions clock runs on from before the crash instead of
// starting over.
func TestCrashKeepsAcknowledged(t *testing.T) {
	t.Parallel()
	b := bargetest.Start(t, bargetest.WithArgs("--kill-grace", "10m"))
	c, ctx := b.Batch(), context.Background()
	register(t, c, "stubborn", &types.ContainerProperties{Command: []string{"sh", "-c", `trap 'echo ignoring TERM' TERM; while :; do sleep 1; done`}})
	register(t, c, "quick", &types.ContainerProperties{Command: []string{"true"}})
	register(t, c, "huge", &types.ContainerProperties{Command: []string{"true"}, ResourceRequirements: reqs("64", "64")})
	const limit = 6
	queueOn(t, c, "limited", 2, func(in *batch.CreateJobQueueInput) {
		in.Tags = map[string]string{"barge:waitUnschedulable": "true"}
		in.JobStateTimeLimitActions = []types.JobStateTimeLimitAction{{Reason: aws.String("MISCONFIGURATION:COMPUTE_ENVIRONMENT_MAX_RESOURCE"),
			State: types.JobStateTimeLimitActionsStateRunnable, MaxTimeSeconds: aws.Int32(limit), Action: types.JobStateTimeLimitActionsActionCancel}}
	})
	stuck := submit(t, c, &batch.SubmitJobInput{JobName: aws.String("stuck"), JobQueue: aws.String("limited"), JobDefinition: aws.String("huge")})
	stuckJob := bargetest.WaitJob(t, c, stuck, jobWait, func(s string) bool { return s == "RUNNABLE" })

	stubborn := submit(t, c, &batch.SubmitJobInput{JobName: aws.String("stubborn"), JobDefinition: aws.String("stubborn"),
		RetryStrategy: &types.RetryStrategy{Attempts: aws.Int32(3)}})
	bargetest.WaitJob(t, c, stubborn, jobWait, func(s string) bool { return s == "RUNNING" })
	// A one-vCPU queue held by a job, so that a job submitted there waits until the restart.
	queueOn(t, c, "one", 1, nil)
	holder := submit(t, c, &batch.SubmitJobInput{JobName: aws.String("holder"), JobQueue: aws.String("one"), JobDefinition: aws.String("stubborn")})
	bargetest.WaitJob(t, c, holder, jobWait, func(s string) bool { return s == "RUNNING" })
	waiter := submit(t, c, &batch.SubmitJobInput{JobName: aws.String("waiter"), JobDefinition: aws.String("quick"),
		DependsOn: []types.JobDependency{{JobId: aws.String(stubborn)}}})
	bargetest.WaitJob(t, c, waiter, jobWait, func(s string) bool { return s == "PENDING" })

	// The stuck job has waited most of its limit when the server dies.
	for time.Since(time.UnixMilli(aws.ToInt64(stuckJob.CreatedAt))) < (limit-2)*time.Second {
		time.Sleep(100 * time.Millisecond) // letting wall-clock time pass is what is tested
	}
	if _, err := c.TerminateJob(ctx, &batch.TerminateJobInput{JobId: aws.String(stubborn), Reason: aws.String("stop it")}); err != nil {
		t.Fatal(err)
	}
	if j := describeJob(t, c, stubborn); j.Status != types.JobStatusRunning {
		t.Fatalf("a job that handles SIGTERM is %s right after TerminateJob; want RUNNING (in its grace period)", j.Status)
	}
	if _, err := c.CancelJob(ctx, &batch.CancelJobInput{JobId: aws.String(waiter), Reason: aws.String("not needed")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.UpdateJobQueue(ctx, &batch.UpdateJobQueueInput{JobQueue: aws.String("limited"), Priority: aws.Int32(42)}); err != nil {
		t.Fatal(err)
	}
	late := submit(t, c, &batch.SubmitJobInput{JobName: aws.String("late"), JobQueue: aws.String("one"), JobDefinition: aws.String("quick")})
	b.Kill()
	restarted := time.Now()
	b.Restart()
	c = b.Batch()

	j := bargetest.WaitJob(t, c, stubborn, jobWait, terminal)
	if j.Status != types.JobStatusFailed || aws.ToString(j.StatusReason) != "stop it" || len(j.Attempts) != 1 || !aws.ToBool(j.IsTerminated) {
		t.Errorf("terminated job after the restart: %s %q, %d attempts, isTerminated %v; want FAILED \"stop it\", 1 attempt, terminated",
			j.Status, aws.ToString(j.StatusReason), len(j.Attempts), aws.ToBool(j.IsTerminated))
	}
	if j := bargetest.WaitJob(t, c, waiter, jobWait, terminal); j.Status != types.JobStatusFailed || !aws.ToBool(j.IsCancelled) {
		t.Errorf("cancelled job after the restart: %s cancelled=%v", j.Status, aws.ToBool(j.IsCancelled))
	}
	if j := bargetest.WaitJob(t, c, late, jobWait, terminal); j.Status != types.JobStatusSucceeded || len(j.Attempts) != 1 {
		t.Errorf("job submitted just before the crash: %s, %d attempts; want SUCCEEDED once", j.Status, len(j.Attempts))
	}
	qs, err := c.DescribeJobQueues(ctx, &batch.DescribeJobQueuesInput{JobQueues: []string{"limited"}})
	if err != nil || len(qs.JobQueues) != 1 || aws.ToInt32(qs.JobQueues[0].Priority) != 42 {
		t.Errorf("queue updated just before the crash: %v %+v", err, qs)
	}
	sj := bargetest.WaitJob(t, c, stuck, jobWait, terminal)
	cancelledAfter := time.UnixMilli(aws.ToInt64(sj.StoppedAt)).Sub(restarted)
	if sj.Status != types.JobStatusFailed || !strings.Contains(aws.ToString(sj.StatusReason), "jobStateTimeLimitActions") || cancelledAfter >= (limit-1)*time.Second {
		t.Errorf("the stuck job: %s %q, cancelled %v after the restart; want cancelled by its limit within %ds (its clock ran before the crash)",
			sj.Status, aws.ToString(sj.StatusReason), cancelledAfter, limit-1)
	}
}

func describeJob(t *testing.T, c *batch.Client, id string) types.JobDetail {
	t.Helper()
	out, err := c.DescribeJobs(context.Background(), &batch.DescribeJobsInput{Jobs: []string{id}})
	if err != nil || len(out.Jobs) != 1 {
		t.Fatalf("describe %s: %v", id, err)
	}
	return out.Jobs[0]
}
