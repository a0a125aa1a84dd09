package batch

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/google/uuid"

	"github.com/barge-run/barge/internal/awserr"
	wire "github.com/barge-run/barge/internal/awstypes/batch"
	"github.com/barge-run/barge/internal/sched"
	"github.com/barge-run/barge/internal/store"
)

// CreateComputeEnvironment implements the AWS Batch operation. In barge a compute environment is
// capacity on this host: maxvCpus (MANAGED) or unmanagedvCpus (UNMANAGED) vCPUs, defaulting to
// the host's cores, and the host's memory and GPUs.
func (s *Service) CreateComputeEnvironment(ctx context.Context, account string, in *wire.CreateComputeEnvironmentRequest) (*wire.CreateComputeEnvironmentResponse, error) {
	if err := checkName("computeEnvironmentName", in.ComputeEnvironmentName); err != nil {
		return nil, err
	}
	if err := checkEnum("type", in.Type, wire.CEType("").Values()); err != nil {
		return nil, err
	}
	if in.State == "" {
		in.State = wire.CEStateEnabled
	}
	if err := checkEnum("state", in.State, wire.CEState("").Values()); err != nil {
		return nil, err
	}
	if in.EksConfiguration != nil {
		if err := s.checkEKS(in); err != nil {
			return nil, err
		}
	}
	cr := in.ComputeResources
	switch in.Type {
	case wire.CETypeManaged:
		if cr == nil {
			return nil, awserr.Client("computeResources is required for a MANAGED compute environment")
		}
		if err := checkEnum("computeResources.type", cr.Type, wire.CRType("").Values()); err != nil {
			return nil, err
		}
		if cr.MaxvCpus == nil {
			return nil, awserr.Client("computeResources.maxvCpus is required")
		}
		if *cr.MaxvCpus <= 0 {
			return nil, awserr.Client("computeResources.maxvCpus must be positive, got %d", *cr.MaxvCpus)
		}
		if cr.MinvCpus != nil && (*cr.MinvCpus < 0 || *cr.MinvCpus > *cr.MaxvCpus) {
			return nil, awserr.Client("computeResources.minvCpus must be between 0 and maxvCpus")
		}
		if err := checkComputeResources(cr); err != nil {
			return nil, err
		}
	case wire.CETypeUnmanaged:
		if cr != nil {
			return nil, awserr.Client("computeResources must not be set for an UNMANAGED compute environment")
		}
		if in.UnmanagedvCpus != nil && *in.UnmanagedvCpus < 0 {
			return nil, awserr.Client("unmanagedvCpus must not be negative")
		}
	}
	arn := s.arn(account, "compute-environment", in.ComputeEnvironmentName)
	acct, region := s.scope(account)
	detail := wire.ComputeEnvironmentDetail{
		ComputeEnvironmentName:     in.ComputeEnvironmentName,
		ComputeEnvironmentArn:      arn,
		EcsClusterArn:              fmt.Sprintf("arn:aws:ecs:%s:%s:cluster/barge-%s", region, acct, in.ComputeEnvironmentName),
		Tags:                       in.Tags,
		Type:                       in.Type,
		State:                      in.State,
		Status:                     wire.CEStatusValid,
		StatusReason:               "ComputeEnvironment Healthy",
		ComputeResources:           cr,
		UnmanagedvCpus:             in.UnmanagedvCpus,
		ServiceRole:                in.ServiceRole,
		ContainerOrchestrationType: wire.OrchestrationTypeEcs,
		Uuid:                       uuid.NewString(),
		Context:                    in.Context,
	}
	if in.EksConfiguration != nil {
		detail.EksConfiguration, detail.ContainerOrchestrationType, detail.EcsClusterArn = in.EksConfiguration, wire.OrchestrationTypeEks, ""
	}
	if in.ServiceRole == "" {
		detail.ServiceRole = fmt.Sprintf("arn:aws:iam::%s:role/aws-service-role/batch.amazonaws.com/AWSServiceRoleForBatch", acct)
	}
	body, _ := json.Marshal(detail)
	r := &store.Resource{Account: account, Kind: store.KindComputeEnvironment, Name: in.ComputeEnvironmentName,
		ARN: arn, Status: string(detail.Status), Body: body, CreatedAt: s.clock.Now()}
	if err := s.store.ResourceCreate(ctx, r); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return nil, awserr.Client("Object already exists: compute environment %s", in.ComputeEnvironmentName)
		}
		return nil, s.storeErr(err, "")
	}
	s.eng().setComputeEnv(s.schedComputeEnv(&detail))
	return &wire.CreateComputeEnvironmentResponse{ComputeEnvironmentName: detail.ComputeEnvironmentName, ComputeEnvironmentArn: arn}, nil
}

// schedComputeEnv is the scheduler's view of a compute environment.
func (s *Service) schedComputeEnv(d *wire.ComputeEnvironmentDetail) sched.ComputeEnv {
	s.noteExecutor(d)
	vcpus := s.cfg.Host.VCPUs
	switch {
	case d.ComputeResources != nil && d.ComputeResources.MaxvCpus != nil:
		vcpus = *d.ComputeResources.MaxvCpus
	case d.UnmanagedvCpus != nil && *d.UnmanagedvCpus > 0:
		vcpus = *d.UnmanagedvCpus
	}
	capacity := sched.Resources{MilliVCPU: int64(vcpus) * 1000, MemoryMiB: s.cfg.Host.MemoryMiB, GPU: int64(s.cfg.Host.GPUs)}
	if d.EksConfiguration != nil {
		capacity.MemoryMiB, capacity.GPU = eksCapacity, eksCapacity
	}
	return sched.ComputeEnv{Key: d.ComputeEnvironmentArn, Capacity: capacity, Enabled: d.State == wire.CEStateEnabled}
}

func (s *Service) getComputeEnv(ctx context.Context, account, ref, field string) (*store.Resource, *wire.ComputeEnvironmentDetail, error) {
	return getResource[wire.ComputeEnvironmentDetail](ctx, s, account, store.KindComputeEnvironment, field, ref)
}

// DescribeComputeEnvironments implements the AWS Batch operation.
func (s *Service) DescribeComputeEnvironments(ctx context.Context, account string, in *wire.DescribeComputeEnvironmentsRequest) (*wire.DescribeComputeEnvironmentsResponse, error) {
	names := make([]string, 0, len(in.ComputeEnvironments))
	for _, ref := range in.ComputeEnvironments {
		n, err := s.parseRef(account, "compute-environment", "computeEnvironments", ref)
		if err != nil {
			return nil, err
		}
		names = append(names, n)
	}
	rs, next, err := s.listResources(ctx, account, store.KindComputeEnvironment, names, in.MaxResults, in.NextToken)
	if err != nil {
		return nil, err
	}
	out := &wire.DescribeComputeEnvironmentsResponse{ComputeEnvironments: []wire.ComputeEnvironmentDetail{}, NextToken: next}
	for _, r := range rs {
		var d wire.ComputeEnvironmentDetail
		if err := json.Unmarshal(r.Body, &d); err != nil {
			return nil, s.storeErr(err, "")
		}
		out.ComputeEnvironments = append(out.ComputeEnvironments, d)
	}
	return out, nil
}

// UpdateComputeEnvironment implements the AWS Batch operation (state, unmanagedvCpus and the
// vCPU bounds of computeResources).
func (s *Service) UpdateComputeEnvironment(ctx context.Context, account string, in *wire.UpdateComputeEnvironmentRequest) (*wire.UpdateComputeEnvironmentResponse, error) {
	if in.ComputeEnvironment == "" {
		return nil, awserr.Client("computeEnvironment is required")
	}
	r, d, err := s.getComputeEnv(ctx, account, in.ComputeEnvironment, "computeEnvironment")
	if err != nil {
		return nil, err
	}
	if in.State != "" {
		if err := checkEnum("state", in.State, wire.CEState("").Values()); err != nil {
			return nil, err
		}
		d.State = in.State
	}
	if in.UnmanagedvCpus != nil {
		if d.Type != wire.CETypeUnmanaged {
			return nil, awserr.Client("unmanagedvCpus applies only to UNMANAGED compute environments")
		}
		d.UnmanagedvCpus = in.UnmanagedvCpus
	}
	if u := in.ComputeResources; u != nil {
		if d.ComputeResources == nil {
			return nil, awserr.Client("computeResources applies only to MANAGED compute environments")
		}
		cr := d.ComputeResources
		if u.MaxvCpus != nil {
			if *u.MaxvCpus <= 0 {
				return nil, awserr.Client("computeResources.maxvCpus must be positive, got %d", *u.MaxvCpus)
			}
			cr.MaxvCpus = u.MaxvCpus
		}
		if u.MinvCpus != nil {
			cr.MinvCpus = u.MinvCpus
		}
		if u.DesiredvCpus != nil {
			cr.DesiredvCpus = u.DesiredvCpus
		}
		if cr.MinvCpus != nil && *cr.MinvCpus > deref(cr.MaxvCpus) {
			return nil, awserr.Client("computeResources.minvCpus must not exceed maxvCpus")
		}
	}
	if in.ServiceRole != "" {
		d.ServiceRole = in.ServiceRole
	}
	r.Body, _ = json.Marshal(d)
	if err := s.store.ResourceUpdate(ctx, r); err != nil {
		return nil, s.storeErr(err, "computeEnvironment: compute environment "+in.ComputeEnvironment+" does not exist")
	}
	s.eng().setComputeEnv(s.schedComputeEnv(d))
	return &wire.UpdateComputeEnvironmentResponse{ComputeEnvironmentName: d.ComputeEnvironmentName, ComputeEnvironmentArn: d.ComputeEnvironmentArn}, nil
}

// DeleteComputeEnvironment implements the AWS Batch operation: as in AWS, the compute
// environment must be DISABLED and no job queue may use it.
func (s *Service) DeleteComputeEnvironment(ctx context.Context, account string, in *wire.DeleteComputeEnvironmentRequest) (*wire.DeleteComputeEnvironmentResponse, error) {
	if in.ComputeEnvironment == "" {
		return nil, awserr.Client("computeEnvironment is required")
	}
	r, d, err := s.getComputeEnv(ctx, account, in.ComputeEnvironment, "computeEnvironment")
	if err != nil {
		return nil, err
	}
	if d.State != wire.CEStateDisabled {
		return nil, awserr.Client("Cannot delete, found existing JobQueue relationship or compute environment is not DISABLED: set state DISABLED first")
	}
	queues, err := s.store.ResourceList(ctx, &store.ResourceListParams{Account: account, Kind: store.KindJobQueue})
	if err != nil {
		return nil, s.storeErr(err, "")
	}
	for _, q := range queues {
		var qd wire.JobQueueDetail
		json.Unmarshal(q.Body, &qd)
		if slices.ContainsFunc(qd.ComputeEnvironmentOrder, func(o wire.ComputeEnvironmentOrder) bool { return o.ComputeEnvironment == r.ARN }) {
			return nil, awserr.Client("Cannot delete, found existing JobQueue relationship: job queue %s uses compute environment %s", qd.JobQueueName, d.ComputeEnvironmentName)
		}
	}
	if err := s.store.ResourceDelete(ctx, account, store.KindComputeEnvironment, r.Name, 0); err != nil {
		return nil, s.storeErr(err, "computeEnvironment: compute environment "+in.ComputeEnvironment+" does not exist")
	}
	s.eng().removeComputeEnv(r.ARN)
	return &wire.DeleteComputeEnvironmentResponse{}, nil
}

func checkEnum[T ~string](field string, v T, allowed []T) error {
	if v == "" {
		return awserr.Client("%s is required", field)
	}
	if slices.Contains(allowed, v) {
		return nil
	}
	return awserr.Client("%s: %q is not one of %v", field, string(v), allowed)
}
