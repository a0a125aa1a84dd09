package batch

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/barge-run/barge/internal/awserr"
	wire "github.com/barge-run/barge/internal/awstypes/batch"
	"github.com/barge-run/barge/internal/store"
)

// CreateSchedulingPolicy implements the AWS Batch operation (fair-share policies).
func (s *Service) CreateSchedulingPolicy(ctx context.Context, account string, in *wire.CreateSchedulingPolicyRequest) (*wire.CreateSchedulingPolicyResponse, error) {
	if err := checkName("name", in.Name); err != nil {
		return nil, err
	}
	if in.QuotaSharePolicy != nil {
		return nil, awserr.Client("quotaSharePolicy: quota-share policies are not supported by barge")
	}
	if err := checkFairshare("fairsharePolicy", in.FairsharePolicy); err != nil {
		return nil, err
	}
	if err := checkTags("tags", in.Tags); err != nil {
		return nil, err
	}
	d := wire.SchedulingPolicyDetail{Name: in.Name, Arn: s.arn(account, "scheduling-policy", in.Name), FairsharePolicy: in.FairsharePolicy, Tags: in.Tags}
	if d.FairsharePolicy == nil {
		d.FairsharePolicy = &wire.FairsharePolicy{}
	}
	r := &store.Resource{Account: account, Kind: store.KindSchedulingPolicy, Name: in.Name, ARN: d.Arn, Status: "VALID",
		Body: mustJSON(d), CreatedAt: s.clock.Now()}
	if err := s.store.ResourceCreate(ctx, r); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return nil, awserr.Client("Object already exists: scheduling policy %s", in.Name)
		}
		return nil, s.storeErr(err, "")
	}
	return &wire.CreateSchedulingPolicyResponse{Name: d.Name, Arn: d.Arn}, nil
}

// checkFairshare validates a fair-share policy within AWS's bounds.
func checkFairshare(field string, p *wire.FairsharePolicy) error {
	if p == nil {
		return nil
	}
	if v := deref(p.ShareDecaySeconds); v < 0 || v > 604800 {
		return awserr.Client("%s.shareDecaySeconds must be between 0 and 604800, got %d", field, v)
	}
	if v := deref(p.ComputeReservation); v < 0 || v > 99 {
		return awserr.Client("%s.computeReservation must be between 0 and 99, got %d", field, v)
	}
	if len(p.ShareDistribution) > 500 {
		return awserr.Client("%s.shareDistribution: at most 500 entries, got %d", field, len(p.ShareDistribution))
	}
	seen := map[string]bool{}
	for i, sh := range p.ShareDistribution {
		f := fmt.Sprintf("%s.shareDistribution[%d]", field, i)
		if sh.ShareIdentifier == "" || len(sh.ShareIdentifier) > 255 {
			return awserr.Client("%s.shareIdentifier is required (up to 255 characters)", f)
		}
		if seen[sh.ShareIdentifier] {
			return awserr.Client("%s.shareIdentifier: %q appears twice", f, sh.ShareIdentifier)
		}
		seen[sh.ShareIdentifier] = true
		if w := sh.WeightFactor; w != nil && !(*w >= 0.0001 && *w <= 999.9999) { // NaN too
			return awserr.Client("%s.weightFactor must be between 0.0001 and 999.9999, got %g", f, *w)
		}
	}
	return nil
}

func (s *Service) getSchedulingPolicy(ctx context.Context, account, field, arn string) (*store.Resource, *wire.SchedulingPolicyDetail, error) {
	if arn == "" {
		return nil, nil, awserr.Client("%s is required", field)
	}
	return getResource[wire.SchedulingPolicyDetail](ctx, s, account, store.KindSchedulingPolicy, field, arn)
}

// DescribeSchedulingPolicies implements the AWS Batch operation; unknown ARNs are left out.
func (s *Service) DescribeSchedulingPolicies(ctx context.Context, account string, in *wire.DescribeSchedulingPoliciesRequest) (*wire.DescribeSchedulingPoliciesResponse, error) {
	if len(in.Arns) == 0 {
		return nil, awserr.Client("arns is required")
	}
	if len(in.Arns) > 100 {
		return nil, awserr.Client("arns: at most 100, got %d", len(in.Arns))
	}
	out := &wire.DescribeSchedulingPoliciesResponse{SchedulingPolicies: []wire.SchedulingPolicyDetail{}}
	for _, arn := range in.Arns {
		_, d, err := s.getSchedulingPolicy(ctx, account, "arns", arn)
		var ae *awserr.Error
		if errors.As(err, &ae) && ae.Code == "ClientException" {
			continue
		}
		if err != nil {
			return nil, err
		}
		out.SchedulingPolicies = append(out.SchedulingPolicies, *d)
	}
	return out, nil
}

// ListSchedulingPolicies implements the AWS Batch operation.
func (s *Service) ListSchedulingPolicies(ctx context.Context, account string, in *wire.ListSchedulingPoliciesRequest) (*wire.ListSchedulingPoliciesResponse, error) {
	rs, next, err := s.listResources(ctx, account, store.KindSchedulingPolicy, nil, in.MaxResults, in.NextToken)
	if err != nil {
		return nil, err
	}
	out := &wire.ListSchedulingPoliciesResponse{SchedulingPolicies: []wire.SchedulingPolicyListingDetail{}, NextToken: next}
	for _, r := range rs {
		out.SchedulingPolicies = append(out.SchedulingPolicies, wire.SchedulingPolicyListingDetail{Arn: r.ARN})
	}
	return out, nil
}

// UpdateSchedulingPolicy implements the AWS Batch operation; queues using the policy follow it.
func (s *Service) UpdateSchedulingPolicy(ctx context.Context, account string, in *wire.UpdateSchedulingPolicyRequest) (*wire.UpdateSchedulingPolicyResponse, error) {
	r, d, err := s.getSchedulingPolicy(ctx, account, "arn", in.Arn)
	if err != nil {
		return nil, err
	}
	if in.QuotaSharePolicy != nil {
		return nil, awserr.Client("quotaSharePolicy: quota-share policies are not supported by barge")
	}
	if err := checkFairshare("fairsharePolicy", in.FairsharePolicy); err != nil {
		return nil, err
	}
	if in.FairsharePolicy != nil {
		d.FairsharePolicy = in.FairsharePolicy
	}
	r.Body = mustJSON(d)
	if err := s.store.ResourceUpdate(ctx, r); err != nil {
		return nil, s.storeErr(err, "arn: scheduling policy "+in.Arn+" does not exist")
	}
	if err := s.refreshQueuesUsing(ctx, account, d.Arn); err != nil {
		return nil, err
	}
	return &wire.UpdateSchedulingPolicyResponse{}, nil
}

// DeleteSchedulingPolicy implements the AWS Batch operation: as in AWS, not while a queue uses it.
func (s *Service) DeleteSchedulingPolicy(ctx context.Context, account string, in *wire.DeleteSchedulingPolicyRequest) (*wire.DeleteSchedulingPolicyResponse, error) {
	r, d, err := s.getSchedulingPolicy(ctx, account, "arn", in.Arn)
	if err != nil {
		return nil, err
	}
	queues, err := s.queuesUsing(ctx, account, d.Arn)
	if err != nil {
		return nil, err
	}
	if len(queues) > 0 {
		return nil, awserr.Client("arn: scheduling policy %s is used by job queue %s", d.Name, queues[0].JobQueueName)
	}
	if err := s.store.ResourceDelete(ctx, account, store.KindSchedulingPolicy, r.Name, 0); err != nil {
		return nil, s.storeErr(err, "arn: scheduling policy "+in.Arn+" does not exist")
	}
	return &wire.DeleteSchedulingPolicyResponse{}, nil
}

func (s *Service) queuesUsing(ctx context.Context, account, policyARN string) ([]*wire.JobQueueDetail, error) {
	rs, err := s.store.ResourceList(ctx, &store.ResourceListParams{Account: account, Kind: store.KindJobQueue})
	if err != nil {
		return nil, s.storeErr(err, "")
	}
	var out []*wire.JobQueueDetail
	for _, r := range rs {
		var q wire.JobQueueDetail
		if json.Unmarshal(r.Body, &q) == nil && q.SchedulingPolicyArn == policyARN {
			out = append(out, &q)
		}
	}
	return out, nil
}

// refreshQueuesUsing hands the scheduler the new policy of every queue that uses it.
func (s *Service) refreshQueuesUsing(ctx context.Context, account, policyARN string) error {
	queues, err := s.queuesUsing(ctx, account, policyARN)
	if err != nil {
		return err
	}
	for _, q := range queues {
		policy, err := s.queuePolicy(ctx, account, q.SchedulingPolicyArn)
		if err != nil {
			return err
		}
		s.eng().setQueue(s.schedQueue(q, policy), q.JobStateTimeLimitActions)
	}
	return nil
}
