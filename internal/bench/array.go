package bench

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/batch"
	"github.com/aws/aws-sdk-go-v2/service/batch/types"
)

// Names the array efficiency benchmark creates.
const (
	ArrayQueue      = "bench-array"
	SleepDefinition = "bench-sleep"
)

// EfficiencyResult is how well an array of short jobs used its slots.
type EfficiencyResult struct {
	Result
	Slots int
	Sleep time.Duration
	// Efficiency is (children × sleep / slots) / makespan, makespan being the parent's
	// stoppedAt − createdAt as the server records them.
	Efficiency float64
}

// ArrayEfficiency submits one array of size children, each running `sleep <sleep>` with 1 vCPU,
// to a queue whose compute environment has slots vCPUs, and measures the makespan.
func ArrayEfficiency(ctx context.Context, o Options, size, slots int, sleep time.Duration) (EfficiencyResult, error) {
	o = o.withDefaults(size, ArrayQueue)
	c := Client(o)
	defer CloseIdle(c)
	_, err := c.CreateComputeEnvironment(ctx, &batch.CreateComputeEnvironmentInput{
		ComputeEnvironmentName: aws.String(ArrayQueue), Type: types.CETypeUnmanaged, State: types.CEStateEnabled,
		UnmanagedvCpus: aws.Int32(int32(slots)),
	})
	if alreadyExists(err) {
		_, err = c.UpdateComputeEnvironment(ctx, &batch.UpdateComputeEnvironmentInput{
			ComputeEnvironment: aws.String(ArrayQueue), State: types.CEStateEnabled, UnmanagedvCpus: aws.Int32(int32(slots))})
	}
	if err != nil {
		return EfficiencyResult{}, fmt.Errorf("compute environment %s: %w", ArrayQueue, err)
	}
	if err := ensureQueue(ctx, c, ArrayQueue); err != nil {
		return EfficiencyResult{}, err
	}
	secs := strconv.FormatFloat(sleep.Seconds(), 'f', -1, 64)
	def, err := c.RegisterJobDefinition(ctx, &batch.RegisterJobDefinitionInput{
		JobDefinitionName: aws.String(SleepDefinition), Type: types.JobDefinitionTypeContainer,
		ContainerProperties: &types.ContainerProperties{
			Command: []string{"sleep", secs},
			ResourceRequirements: []types.ResourceRequirement{
				{Type: types.ResourceTypeVcpu, Value: aws.String("1")},
				{Type: types.ResourceTypeMemory, Value: aws.String("16")},
			},
		},
	})
	if err != nil {
		return EfficiencyResult{}, fmt.Errorf("job definition %s: %w", SleepDefinition, err)
	}
	cpu := startCPU()
	sub, err := c.SubmitJob(ctx, &batch.SubmitJobInput{JobName: aws.String("efficiency"), JobQueue: aws.String(ArrayQueue),
		JobDefinition: def.JobDefinitionArn, ArrayProperties: &types.ArrayProperties{Size: aws.Int32(int32(size))}})
	if err != nil {
		return EfficiencyResult{}, fmt.Errorf("submit: %w", err)
	}
	for {
		out, err := c.DescribeJobs(ctx, &batch.DescribeJobsInput{Jobs: []string{aws.ToString(sub.JobId)}})
		if err != nil {
			return EfficiencyResult{}, err
		}
		if len(out.Jobs) == 1 {
			j := out.Jobs[0]
			switch j.Status {
			case types.JobStatusFailed:
				return EfficiencyResult{}, fmt.Errorf("array failed: %s", aws.ToString(j.StatusReason))
			case types.JobStatusSucceeded:
				makespan := time.Duration(aws.ToInt64(j.StoppedAt)-aws.ToInt64(j.CreatedAt)) * time.Millisecond
				ideal := time.Duration(float64(size) * float64(sleep) / float64(slots))
				return EfficiencyResult{
					Result: Result{Name: fmt.Sprintf("array of `sleep %s`", secs), Queue: ArrayQueue, Jobs: size, Elapsed: makespan,
						MachineCPU: cpu.perJob(size)},
					Slots:      slots,
					Sleep:      sleep,
					Efficiency: float64(ideal) / float64(makespan),
				}, nil
			}
		}
		select {
		case <-ctx.Done():
			return EfficiencyResult{}, ctx.Err()
		case <-time.After(pollInterval):
		}
	}
}
