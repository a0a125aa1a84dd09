package e2e_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/batch"
	"github.com/aws/aws-sdk-go-v2/service/batch/types"
	"github.com/aws/smithy-go"

	"github.com/barge-run/barge/internal/bargetest"
)

// TestBadNumbersRefused: every number a job carries — resources, retries, timeouts, array
// sizes, priorities, fair-share settings, disk — is checked at registration and again in
// SubmitJob's overrides; a bad one is a 400 ClientException naming the field, and nothing is
// created.
func TestBadNumbersRefused(t *testing.T) {
	t.Parallel()
	b := bargetest.Start(t)
	c, ctx := b.Batch(), context.Background()
	register(t, c, "good", &types.ContainerProperties{Command: []string{"true"}})

	def := func(mod func(*batch.RegisterJobDefinitionInput)) error {
		in := &batch.RegisterJobDefinitionInput{JobDefinitionName: aws.String("bad"), Type: types.JobDefinitionTypeContainer,
			ContainerProperties: &types.ContainerProperties{Command: []string{"true"}, ResourceRequirements: reqs("1", "64")}}
		mod(in)
		_, err := c.RegisterJobDefinition(ctx, in)
		return err
	}
	job := func(mod func(*batch.SubmitJobInput)) error {
		in := &batch.SubmitJobInput{JobName: aws.String("bad"), JobDefinition: aws.String("good"), JobQueue: aws.String("default")}
		mod(in)
		_, err := c.SubmitJob(ctx, in)
		return err
	}
	vcpu := func(v string) []types.ResourceRequirement {
		return []types.ResourceRequirement{{Type: types.ResourceTypeVcpu, Value: aws.String(v)}}
	}
	overrides := func(o types.ContainerOverrides) func(*batch.SubmitJobInput) {
		return func(in *batch.SubmitJobInput) { in.ContainerOverrides = &o }
	}
	for _, tc := range []struct {
		name  string
		call  func() error
		field string
	}{
		{"VCPU NaN", func() error {
			return def(func(in *batch.RegisterJobDefinitionInput) { in.ContainerProperties.ResourceRequirements = vcpu("NaN") })
		}, "VCPU value \"NaN\""},
		{"VCPU inf", func() error {
			return def(func(in *batch.RegisterJobDefinitionInput) { in.ContainerProperties.ResourceRequirements = vcpu("inf") })
		}, "VCPU value \"inf\""},
		{"VCPU 1e-300", func() error {
			return def(func(in *batch.RegisterJobDefinitionInput) {
				in.ContainerProperties.ResourceRequirements = vcpu("1e-300")
			})
		}, "VCPU value \"1e-300\""},
		{"VCPU override NaN", func() error { return job(overrides(types.ContainerOverrides{ResourceRequirements: vcpu("NaN")})) }, "containerOverrides.resourceRequirements[0]"},
		{"MEMORY override 0", func() error {
			return job(overrides(types.ContainerOverrides{ResourceRequirements: []types.ResourceRequirement{{Type: types.ResourceTypeMemory, Value: aws.String("0")}}}))
		}, "MEMORY value \"0\""},
		{"retry attempts 0", func() error {
			return def(func(in *batch.RegisterJobDefinitionInput) {
				in.RetryStrategy = &types.RetryStrategy{Attempts: aws.Int32(0)}
			})
		}, "retryStrategy.attempts"},
		{"retry attempts override 11", func() error {
			return job(func(in *batch.SubmitJobInput) { in.RetryStrategy = &types.RetryStrategy{Attempts: aws.Int32(11)} })
		}, "retryStrategy.attempts"},
		{"timeout 0", func() error {
			return def(func(in *batch.RegisterJobDefinitionInput) {
				in.Timeout = &types.JobTimeout{AttemptDurationSeconds: aws.Int32(0)}
			})
		}, "timeout.attemptDurationSeconds"},
		{"timeout override -5", func() error {
			return job(func(in *batch.SubmitJobInput) { in.Timeout = &types.JobTimeout{AttemptDurationSeconds: aws.Int32(-5)} })
		}, "timeout.attemptDurationSeconds"},
		{"array size 1", func() error {
			return job(func(in *batch.SubmitJobInput) { in.ArrayProperties = &types.ArrayProperties{Size: aws.Int32(1)} })
		}, "arrayProperties.size"},
		{"array size past a million", func() error {
			return job(func(in *batch.SubmitJobInput) {
				in.ArrayProperties = &types.ArrayProperties{Size: aws.Int32(1_000_001)}
			})
		}, "arrayProperties.size"},
		{"scheduling priority 10000", func() error {
			return def(func(in *batch.RegisterJobDefinitionInput) { in.SchedulingPriority = aws.Int32(10000) })
		}, "schedulingPriority"},
		{"scheduling priority override -1", func() error {
			return job(func(in *batch.SubmitJobInput) { in.SchedulingPriorityOverride = aws.Int32(-1) })
		}, "schedulingPriorityOverride"},
		{"ephemeral storage 201 GiB", func() error {
			return def(func(in *batch.RegisterJobDefinitionInput) {
				in.ContainerProperties.EphemeralStorage = &types.EphemeralStorage{SizeInGiB: aws.Int32(201)}
			})
		}, "ephemeralStorage.sizeInGiB"},
		{"job queue priority 1001", func() error {
			_, err := c.CreateJobQueue(ctx, &batch.CreateJobQueueInput{JobQueueName: aws.String("bad"), Priority: aws.Int32(1001),
				ComputeEnvironmentOrder: []types.ComputeEnvironmentOrder{{Order: aws.Int32(1), ComputeEnvironment: aws.String("default")}}})
			return err
		}, "priority"},
		{"compute environment maxvCpus 0", func() error {
			_, err := c.CreateComputeEnvironment(ctx, &batch.CreateComputeEnvironmentInput{ComputeEnvironmentName: aws.String("bad"),
				Type: types.CETypeManaged, ComputeResources: &types.ComputeResource{MaxvCpus: aws.Int32(0), Type: types.CRTypeEc2, Subnets: []string{"local"}}})
			return err
		}, "maxvCpus"},
		{"EC2 compute environment without an instance role", func() error {
			_, err := c.CreateComputeEnvironment(ctx, &batch.CreateComputeEnvironmentInput{ComputeEnvironmentName: aws.String("bad"),
				Type: types.CETypeManaged, ComputeResources: &types.ComputeResource{MaxvCpus: aws.Int32(4), Type: types.CRTypeEc2, Subnets: []string{"local"}}})
			return err
		}, "instanceRole"},
		{"fair share weight 0", func() error {
			_, err := c.CreateSchedulingPolicy(ctx, &batch.CreateSchedulingPolicyInput{Name: aws.String("bad"), FairsharePolicy: &types.FairsharePolicy{
				ShareDistribution: []types.ShareAttributes{{ShareIdentifier: aws.String("a"), WeightFactor: aws.Float32(0)}}}})
			return err
		}, "weightFactor"},
		{"fair share decay -1", func() error {
			_, err := c.CreateSchedulingPolicy(ctx, &batch.CreateSchedulingPolicyInput{Name: aws.String("bad"), FairsharePolicy: &types.FairsharePolicy{
				ShareDecaySeconds: aws.Int32(-1)}})
			return err
		}, "shareDecaySeconds"},
		{"fair share reservation 100", func() error {
			_, err := c.CreateSchedulingPolicy(ctx, &batch.CreateSchedulingPolicyInput{Name: aws.String("bad"), FairsharePolicy: &types.FairsharePolicy{
				ComputeReservation: aws.Int32(100)}})
			return err
		}, "computeReservation"},
	} {
		err := tc.call()
		var ae smithy.APIError
		var re *awshttp.ResponseError
		if !errors.As(err, &ae) || ae.ErrorCode() != "ClientException" || !strings.Contains(ae.ErrorMessage(), tc.field) ||
			!errors.As(err, &re) || re.HTTPStatusCode() != http.StatusBadRequest {
			t.Errorf("%s: want a 400 ClientException naming %q, got %v", tc.name, tc.field, err)
		}
	}
	// Nothing bad was created.
	if out, err := c.DescribeJobDefinitions(ctx, &batch.DescribeJobDefinitionsInput{JobDefinitionName: aws.String("bad")}); err != nil || len(out.JobDefinitions) != 0 {
		t.Errorf("job definitions named bad: %v %d", err, len(out.JobDefinitions))
	}
	if out, err := c.ListJobs(ctx, &batch.ListJobsInput{JobQueue: aws.String("default"), Filters: []types.KeyValuesPair{{Name: aws.String("JOB_NAME"), Values: []string{"bad"}}}}); err != nil || len(out.JobSummaryList) != 0 {
		t.Errorf("jobs named bad: %v %d", err, len(out.JobSummaryList))
	}
}
