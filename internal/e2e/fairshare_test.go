package e2e_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/batch"
	"github.com/aws/aws-sdk-go-v2/service/batch/types"

	"github.com/barge-run/barge/internal/bargetest"
)

func queueOn(t *testing.T, c *batch.Client, name string, vcpus int32, mod func(*batch.CreateJobQueueInput)) {
	t.Helper()
	ctx := context.Background()
	ce, err := c.CreateComputeEnvironment(ctx, &batch.CreateComputeEnvironmentInput{ComputeEnvironmentName: aws.String(name), Type: types.CETypeManaged,
		ComputeResources: &types.ComputeResource{Type: types.CRTypeEc2, MaxvCpus: aws.Int32(vcpus), Subnets: []string{"s"}, SecurityGroupIds: []string{"g"}, InstanceRole: aws.String("r")}})
	if err != nil {
		t.Fatal(err)
	}
	in := &batch.CreateJobQueueInput{JobQueueName: aws.String(name), Priority: aws.Int32(1),
		ComputeEnvironmentOrder: []types.ComputeEnvironmentOrder{{Order: aws.Int32(1), ComputeEnvironment: ce.ComputeEnvironmentArn}}}
	if mod != nil {
		mod(in)
	}
	if _, err := c.CreateJobQueue(ctx, in); err != nil {
		t.Fatal(err)
	}
}

func TestFairShare(t *testing.T) {
	t.Parallel()
	b := bargetest.Start(t)
	c, ctx := b.Batch(), context.Background()

	pol, err := c.CreateSchedulingPolicy(ctx, &batch.CreateSchedulingPolicyInput{Name: aws.String("fair"),
		FairsharePolicy: &types.FairsharePolicy{ShareDecaySeconds: aws.Int32(60), ShareDistribution: []types.ShareAttributes{
			{ShareIdentifier: aws.String("light"), WeightFactor: aws.Float32(1)},
			{ShareIdentifier: aws.String("heavy"), WeightFactor: aws.Float32(0.25)},
		}}})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(pol.Arn) != "arn:aws:batch:us-east-1:000000000000:scheduling-policy/fair" {
		t.Fatalf("arn %s", aws.ToString(pol.Arn))
	}
	queueOn(t, c, "shared", 2, func(in *batch.CreateJobQueueInput) { in.SchedulingPolicyArn = pol.Arn })
	register(t, c, "work", &types.ContainerProperties{Command: []string{"sleep", "0.1"}})

	t.Run("policy CRUD", func(t *testing.T) {
		d, err := c.DescribeSchedulingPolicies(ctx, &batch.DescribeSchedulingPoliciesInput{Arns: []string{aws.ToString(pol.Arn)}})
		if err != nil || len(d.SchedulingPolicies) != 1 || len(d.SchedulingPolicies[0].FairsharePolicy.ShareDistribution) != 2 {
			t.Fatalf("describe: %+v %v", d, err)
		}
		l, err := c.ListSchedulingPolicies(ctx, &batch.ListSchedulingPoliciesInput{})
		if err != nil || len(l.SchedulingPolicies) != 1 {
			t.Fatalf("list: %+v %v", l, err)
		}
		if _, err := c.UpdateSchedulingPolicy(ctx, &batch.UpdateSchedulingPolicyInput{Arn: pol.Arn,
			FairsharePolicy: &types.FairsharePolicy{ShareDecaySeconds: aws.Int32(60), ShareDistribution: d.SchedulingPolicies[0].FairsharePolicy.ShareDistribution}}); err != nil {
			t.Fatal(err)
		}
		_, err = c.DeleteSchedulingPolicy(ctx, &batch.DeleteSchedulingPolicyInput{Arn: pol.Arn})
		apiErr(t, err, "ClientException", 400, "used by job queue shared")
		_, err = c.CreateSchedulingPolicy(ctx, &batch.CreateSchedulingPolicyInput{Name: aws.String("bad"),
			FairsharePolicy: &types.FairsharePolicy{ComputeReservation: aws.Int32(100)}})
		apiErr(t, err, "ClientException", 400, "computeReservation")
	})
	t.Run("share identifiers", func(t *testing.T) {
		_, err := c.SubmitJob(ctx, &batch.SubmitJobInput{JobName: aws.String("x"), JobQueue: aws.String("shared"), JobDefinition: aws.String("work")})
		apiErr(t, err, "ClientException", 400, "shareIdentifier is required")
		_, err = c.SubmitJob(ctx, &batch.SubmitJobInput{JobName: aws.String("x"), JobQueue: aws.String("default"), JobDefinition: aws.String("work"), ShareIdentifier: aws.String("light")})
		apiErr(t, err, "ClientException", 400, "no scheduling policy")
	})
	t.Run("the lighter weight gets more", func(t *testing.T) {
		// Submit the light share's jobs first: FIFO would run them all before any heavy one.
		var ids []string
		for _, share := range []string{"light", "heavy"} {
			for i := 0; i < 12; i++ {
				ids = append(ids, submit(t, c, &batch.SubmitJobInput{JobName: aws.String(fmt.Sprint(share, i)), JobQueue: aws.String("shared"),
					JobDefinition: aws.String("work"), ShareIdentifier: aws.String(share)}))
			}
		}
		for _, id := range ids {
			bargetest.WaitJob(t, c, id, jobWait, terminal)
		}
		jobs := describe(t, c, ids...)
		slices.SortFunc(jobs, func(x, y types.JobDetail) int { return int(aws.ToInt64(x.StartedAt) - aws.ToInt64(y.StartedAt)) })
		heavy := 0
		for _, j := range jobs[:10] {
			if strings.HasPrefix(aws.ToString(j.JobName), "heavy") {
				heavy++
			}
		}
		// The heavy share (weightFactor 0.25) is entitled to 4x the light one's vCPU time.
		if heavy < 5 {
			t.Fatalf("of the first 10 jobs started only %d were from the heavy share", heavy)
		}
	})
}

func TestQueuePriorityAndTimeLimits(t *testing.T) {
	t.Parallel()
	b := bargetest.Start(t)
	c, ctx := b.Batch(), context.Background()
	register(t, c, "hold", &types.ContainerProperties{Command: []string{"sleep", "30"}})
	register(t, c, "quick", &types.ContainerProperties{Command: []string{"true"}})

	t.Run("jobStateTimeLimitActions cancel a job stuck RUNNABLE", func(t *testing.T) {
		queueOn(t, c, "limited", 1, func(in *batch.CreateJobQueueInput) {
			in.JobStateTimeLimitActions = []types.JobStateTimeLimitAction{{Reason: aws.String("CAPACITY:INSUFFICIENT_INSTANCE_CAPACITY"),
				State: types.JobStateTimeLimitActionsStateRunnable, MaxTimeSeconds: aws.Int32(1), Action: types.JobStateTimeLimitActionsActionCancel}}
		})
		blocker := submit(t, c, &batch.SubmitJobInput{JobName: aws.String("blocker"), JobQueue: aws.String("limited"), JobDefinition: aws.String("hold")})
		bargetest.WaitJob(t, c, blocker, jobWait, func(s string) bool { return s == "RUNNING" })
		stuck := submit(t, c, &batch.SubmitJobInput{JobName: aws.String("stuck"), JobQueue: aws.String("limited"), JobDefinition: aws.String("quick")})
		j := bargetest.WaitJob(t, c, stuck, jobWait, terminal)
		if j.Status != types.JobStatusFailed || !strings.Contains(aws.ToString(j.StatusReason), "CAPACITY:INSUFFICIENT_INSTANCE_CAPACITY") {
			t.Fatalf("stuck job: %s %q", j.Status, aws.ToString(j.StatusReason))
		}
		c.TerminateJob(ctx, &batch.TerminateJobInput{JobId: aws.String(blocker), Reason: aws.String("done")})
	})
	t.Run("higher priority queue first on a shared compute environment", func(t *testing.T) {
		ce, err := c.CreateComputeEnvironment(ctx, &batch.CreateComputeEnvironmentInput{ComputeEnvironmentName: aws.String("one"), Type: types.CETypeUnmanaged,
			UnmanagedvCpus: aws.Int32(1)})
		if err != nil {
			t.Fatal(err)
		}
		for name, prio := range map[string]int32{"low": 1, "high": 100} {
			if _, err := c.CreateJobQueue(ctx, &batch.CreateJobQueueInput{JobQueueName: aws.String(name), Priority: aws.Int32(prio),
				ComputeEnvironmentOrder: []types.ComputeEnvironmentOrder{{Order: aws.Int32(1), ComputeEnvironment: ce.ComputeEnvironmentArn}}}); err != nil {
				t.Fatal(err)
			}
		}
		blocker := submit(t, c, &batch.SubmitJobInput{JobName: aws.String("blocker"), JobQueue: aws.String("low"), JobDefinition: aws.String("hold")})
		bargetest.WaitJob(t, c, blocker, jobWait, func(s string) bool { return s == "RUNNING" })
		low := submit(t, c, &batch.SubmitJobInput{JobName: aws.String("low"), JobQueue: aws.String("low"), JobDefinition: aws.String("quick")})
		high := submit(t, c, &batch.SubmitJobInput{JobName: aws.String("high"), JobQueue: aws.String("high"), JobDefinition: aws.String("quick")})
		bargetest.WaitJob(t, c, low, jobWait, func(s string) bool { return s == "RUNNABLE" })
		bargetest.WaitJob(t, c, high, jobWait, func(s string) bool { return s == "RUNNABLE" })
		c.TerminateJob(ctx, &batch.TerminateJobInput{JobId: aws.String(blocker), Reason: aws.String("make room")})
		jl := bargetest.WaitJob(t, c, low, jobWait, terminal)
		jh := bargetest.WaitJob(t, c, high, jobWait, terminal)
		if aws.ToInt64(jh.StartedAt) > aws.ToInt64(jl.StartedAt) {
			t.Fatalf("the low-priority queue's job started first")
		}
	})
}

// TestJobQueueSnapshot: GetJobQueueSnapshot lists a parked queue's RUNNABLE jobs in the order
// they will run, an array's waiting children one by one.
func TestJobQueueSnapshot(t *testing.T) {
	t.Parallel()
	b := bargetest.Start(t)
	c, ctx := b.Batch(), context.Background()
	parkedQueue(t, c, "snap")
	register(t, c, "snapdef", &types.ContainerProperties{Command: []string{"true"}})
	first := submit(t, c, &batch.SubmitJobInput{JobName: aws.String("first"), JobQueue: aws.String("snap"), JobDefinition: aws.String("snapdef")})
	arr := submit(t, c, &batch.SubmitJobInput{JobName: aws.String("arr"), JobQueue: aws.String("snap"), JobDefinition: aws.String("snapdef"),
		ArrayProperties: &types.ArrayProperties{Size: aws.Int32(3)}})
	last := submit(t, c, &batch.SubmitJobInput{JobName: aws.String("last"), JobQueue: aws.String("snap"), JobDefinition: aws.String("snapdef")})
	for _, id := range []string{first, last} {
		bargetest.WaitJob(t, c, id, jobWait, func(s string) bool { return s == "RUNNABLE" })
	}
	want := []string{first, arr + ":0", arr + ":1", arr + ":2", last}
	deadline := time.Now().Add(jobWait)
	for {
		snap, err := c.GetJobQueueSnapshot(ctx, &batch.GetJobQueueSnapshotInput{JobQueue: aws.String("snap")})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, j := range snap.FrontOfQueue.Jobs {
			arn := aws.ToString(j.JobArn)
			got = append(got, arn[strings.LastIndexByte(arn, '/')+1:])
		}
		if strings.Join(got, " ") == strings.Join(want, " ") && aws.ToInt64(snap.FrontOfQueue.LastUpdatedAt) > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("front of queue %v, want %v", got, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
	_, err := c.GetJobQueueSnapshot(ctx, &batch.GetJobQueueSnapshotInput{JobQueue: aws.String("nope")})
	apiErr(t, err, "ClientException", 400, "nope")
}

// TestSchedulingPriority: within a share of a fair-share queue, jobs start in order of
// schedulingPriority — the job definition's, unless SubmitJob's schedulingPriorityOverride
// replaces it — and in submission order among equals.
func TestSchedulingPriority(t *testing.T) {
	t.Parallel()
	b := bargetest.Start(t)
	c, ctx := b.Batch(), context.Background()
	pol, err := c.CreateSchedulingPolicy(ctx, &batch.CreateSchedulingPolicyInput{Name: aws.String("prio"),
		FairsharePolicy: &types.FairsharePolicy{ShareDistribution: []types.ShareAttributes{{ShareIdentifier: aws.String("s")}}}})
	if err != nil {
		t.Fatal(err)
	}
	// One vCPU, disabled until everything is queued: then the jobs run one at a time.
	queueOn(t, c, "prio", 1, func(in *batch.CreateJobQueueInput) { in.SchedulingPolicyArn = pol.Arn })
	setState := func(st types.CEState) {
		t.Helper()
		if _, err := c.UpdateComputeEnvironment(ctx, &batch.UpdateComputeEnvironmentInput{ComputeEnvironment: aws.String("prio"), State: st}); err != nil {
			t.Fatal(err)
		}
	}
	setState(types.CEStateDisabled)
	withPriority := func(p int32) func(*batch.RegisterJobDefinitionInput) {
		return func(in *batch.RegisterJobDefinitionInput) { in.SchedulingPriority = aws.Int32(p) }
	}
	register(t, c, "low", &types.ContainerProperties{Command: []string{"true"}}, withPriority(1))
	register(t, c, "mid", &types.ContainerProperties{Command: []string{"true"}}, withPriority(5))
	sub := func(name, def string, override *int32) string {
		return submit(t, c, &batch.SubmitJobInput{JobName: aws.String(name), JobQueue: aws.String("prio"), JobDefinition: aws.String(def),
			ShareIdentifier: aws.String("s"), SchedulingPriorityOverride: override})
	}
	ids := []string{ // in the order they must start
		sub("high", "low", aws.Int32(9)), // the override beats the definition's 1
		sub("mid1", "mid", nil),
		sub("mid2", "mid", nil),
		sub("low1", "low", nil),
	}
	// Submitted last, yet ahead of the jobs of priority 1 and 5.
	ids = append(ids[:1], append([]string{sub("mid-override", "low", aws.Int32(7))}, ids[1:]...)...)
	wantPrio := []int32{9, 7, 5, 5, 1}
	setState(types.CEStateEnabled)
	var prev int64
	for i, id := range ids {
		j := bargetest.WaitJob(t, c, id, jobWait, terminal)
		if j.Status != types.JobStatusSucceeded {
			t.Fatalf("%s: %s", aws.ToString(j.JobName), j.Status)
		}
		if got := aws.ToInt32(j.SchedulingPriority); got != wantPrio[i] {
			t.Errorf("%s: schedulingPriority %d, want %d", aws.ToString(j.JobName), got, wantPrio[i])
		}
		if started := aws.ToInt64(j.StartedAt); started < prev {
			t.Errorf("%s started at %d, before the job ahead of it (%d)", aws.ToString(j.JobName), started, prev)
		} else {
			prev = aws.ToInt64(j.StoppedAt)
		}
	}
}
