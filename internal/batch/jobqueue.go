package batch

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/barge-run/barge/internal/awserr"
	wire "github.com/barge-run/barge/internal/awstypes/batch"
	"github.com/barge-run/barge/internal/sched"
	"github.com/barge-run/barge/internal/store"
)

// CreateJobQueue implements the AWS Batch operation.
func (s *Service) CreateJobQueue(ctx context.Context, account string, in *wire.CreateJobQueueRequest) (*wire.CreateJobQueueResponse, error) {
	if err := checkName("jobQueueName", in.JobQueueName); err != nil {
		return nil, err
	}
	if in.Priority == nil {
		return nil, awserr.Client("priority is required")
	}
	if *in.Priority < 0 || *in.Priority > 1000 {
		return nil, awserr.Client("priority must be between 0 and 1000, got %d", *in.Priority)
	}
	if in.State == "" {
		in.State = wire.JQStateEnabled
	}
	if err := checkEnum("state", in.State, wire.JQState("").Values()); err != nil {
		return nil, err
	}
	if len(in.ServiceEnvironmentOrder) > 0 {
		return nil, awserr.Client("serviceEnvironmentOrder: service environments are not supported by barge")
	}
	policy, err := s.queuePolicy(ctx, account, in.SchedulingPolicyArn)
	if err != nil {
		return nil, err
	}
	if err := checkTimeLimitActions(in.JobStateTimeLimitActions); err != nil {
		return nil, err
	}
	order, err := s.resolveComputeEnvOrder(ctx, account, in.ComputeEnvironmentOrder)
	if err != nil {
		return nil, err
	}
	arn := s.arn(account, "job-queue", in.JobQueueName)
	d := wire.JobQueueDetail{
		JobQueueName:             in.JobQueueName,
		JobQueueArn:              arn,
		SchedulingPolicyArn:      in.SchedulingPolicyArn,
		State:                    in.State,
		Status:                   wire.JQStatusValid,
		StatusReason:             "JobQueue Healthy",
		Priority:                 in.Priority,
		ComputeEnvironmentOrder:  order,
		JobQueueType:             wire.JobQueueTypeEcs,
		Tags:                     in.Tags,
		JobStateTimeLimitActions: in.JobStateTimeLimitActions,
	}
	body, _ := json.Marshal(d)
	r := &store.Resource{Account: account, Kind: store.KindJobQueue, Name: in.JobQueueName, ARN: arn,
		Status: string(d.Status), Body: body, CreatedAt: s.clock.Now()}
	if err := s.store.ResourceCreate(ctx, r); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return nil, awserr.Client("Object already exists: job queue %s", in.JobQueueName)
		}
		return nil, s.storeErr(err, "")
	}
	s.eng().setQueue(s.schedQueue(&d, policy), d.JobStateTimeLimitActions)
	return &wire.CreateJobQueueResponse{JobQueueName: d.JobQueueName, JobQueueArn: arn}, nil
}

// resolveComputeEnvOrder checks a queue's compute environments (1 to 3, existing, distinct
// orders) and returns them sorted by order, named by ARN as AWS reports them.
func (s *Service) resolveComputeEnvOrder(ctx context.Context, account string, in []wire.ComputeEnvironmentOrder) ([]wire.ComputeEnvironmentOrder, error) {
	if len(in) == 0 {
		return nil, awserr.Client("computeEnvironmentOrder is required")
	}
	if len(in) > 3 {
		return nil, awserr.Client("computeEnvironmentOrder: at most 3 compute environments, got %d", len(in))
	}
	out := make([]wire.ComputeEnvironmentOrder, 0, len(in))
	seen := map[int32]bool{}
	for i, o := range in {
		field := fmt.Sprintf("computeEnvironmentOrder[%d]", i)
		if o.Order == nil {
			return nil, awserr.Client("%s.order is required", field)
		}
		if seen[*o.Order] {
			return nil, awserr.Client("%s.order: %d is used twice", field, *o.Order)
		}
		seen[*o.Order] = true
		if o.ComputeEnvironment == "" {
			return nil, awserr.Client("%s.computeEnvironment is required", field)
		}
		r, _, err := s.getComputeEnv(ctx, account, o.ComputeEnvironment, field+".computeEnvironment")
		if err != nil {
			return nil, err
		}
		out = append(out, wire.ComputeEnvironmentOrder{Order: o.Order, ComputeEnvironment: r.ARN})
	}
	sort.Slice(out, func(i, j int) bool { return *out[i].Order < *out[j].Order })
	return out, nil
}

// schedQueue is the scheduler's view of a queue, with its fair-share policy if it has one.
func (s *Service) schedQueue(d *wire.JobQueueDetail, policy *wire.FairsharePolicy) sched.Queue {
	q := sched.Queue{
		Key:               d.JobQueueArn,
		Priority:          deref(d.Priority),
		Enabled:           d.State == wire.JQStateEnabled,
		FailUnschedulable: d.Tags["barge:waitUnschedulable"] != "true",
		ReserveAfter:      s.cfg.ReserveAfter,
	}
	if policy != nil {
		fs := &sched.FairShare{
			ShareDecay:         time.Duration(deref(policy.ShareDecaySeconds)) * time.Second,
			ComputeReservation: int(deref(policy.ComputeReservation)),
		}
		for _, sh := range policy.ShareDistribution {
			fs.Weights = append(fs.Weights, sched.ShareWeight{Identifier: sh.ShareIdentifier, Weight: deref(sh.WeightFactor)})
		}
		q.FairShare = fs
	}
	for _, o := range d.ComputeEnvironmentOrder {
		q.ComputeEnvs = append(q.ComputeEnvs, o.ComputeEnvironment)
	}
	return q
}

func (s *Service) getQueue(ctx context.Context, account, ref, field string) (*store.Resource, *wire.JobQueueDetail, error) {
	return getResource[wire.JobQueueDetail](ctx, s, account, store.KindJobQueue, field, ref)
}

// DescribeJobQueues implements the AWS Batch operation.
func (s *Service) DescribeJobQueues(ctx context.Context, account string, in *wire.DescribeJobQueuesRequest) (*wire.DescribeJobQueuesResponse, error) {
	names := make([]string, 0, len(in.JobQueues))
	for _, ref := range in.JobQueues {
		n, err := s.parseRef(account, "job-queue", "jobQueues", ref)
		if err != nil {
			return nil, err
		}
		names = append(names, n)
	}
	rs, next, err := s.listResources(ctx, account, store.KindJobQueue, names, in.MaxResults, in.NextToken)
	if err != nil {
		return nil, err
	}
	out := &wire.DescribeJobQueuesResponse{JobQueues: []wire.JobQueueDetail{}, NextToken: next}
	for _, r := range rs {
		var d wire.JobQueueDetail
		if err := json.Unmarshal(r.Body, &d); err != nil {
			return nil, s.storeErr(err, "")
		}
		out.JobQueues = append(out.JobQueues, d)
	}
	return out, nil
}

// UpdateJobQueue implements the AWS Batch operation.
func (s *Service) UpdateJobQueue(ctx context.Context, account string, in *wire.UpdateJobQueueRequest) (*wire.UpdateJobQueueResponse, error) {
	if in.JobQueue == "" {
		return nil, awserr.Client("jobQueue is required")
	}
	r, d, err := s.getQueue(ctx, account, in.JobQueue, "jobQueue")
	if err != nil {
		return nil, err
	}
	if in.State != "" {
		if err := checkEnum("state", in.State, wire.JQState("").Values()); err != nil {
			return nil, err
		}
		d.State = in.State
	}
	if in.Priority != nil {
		if *in.Priority < 0 || *in.Priority > 1000 {
			return nil, awserr.Client("priority must be between 0 and 1000, got %d", *in.Priority)
		}
		d.Priority = in.Priority
	}
	if in.ComputeEnvironmentOrder != nil {
		order, err := s.resolveComputeEnvOrder(ctx, account, in.ComputeEnvironmentOrder)
		if err != nil {
			return nil, err
		}
		d.ComputeEnvironmentOrder = order
	}
	if in.SchedulingPolicyArn != "" {
		// As in AWS, a FIFO queue cannot become a fair-share one (nor the reverse).
		if d.SchedulingPolicyArn == "" {
			return nil, awserr.Client("schedulingPolicyArn: job queue %s has no scheduling policy; a FIFO queue cannot be given one", d.JobQueueName)
		}
		if _, err := s.queuePolicy(ctx, account, in.SchedulingPolicyArn); err != nil {
			return nil, err
		}
		d.SchedulingPolicyArn = in.SchedulingPolicyArn
	}
	if len(in.ServiceEnvironmentOrder) > 0 {
		return nil, awserr.Client("serviceEnvironmentOrder: service environments are not supported by barge")
	}
	if in.JobStateTimeLimitActions != nil {
		if err := checkTimeLimitActions(in.JobStateTimeLimitActions); err != nil {
			return nil, err
		}
		d.JobStateTimeLimitActions = in.JobStateTimeLimitActions
	}
	policy, err := s.queuePolicy(ctx, account, d.SchedulingPolicyArn)
	if err != nil {
		return nil, err
	}
	r.Body, _ = json.Marshal(d)
	if err := s.store.ResourceUpdate(ctx, r); err != nil {
		return nil, s.storeErr(err, "jobQueue: job queue "+in.JobQueue+" does not exist")
	}
	s.eng().setQueue(s.schedQueue(d, policy), d.JobStateTimeLimitActions)
	return &wire.UpdateJobQueueResponse{JobQueueName: d.JobQueueName, JobQueueArn: d.JobQueueArn}, nil
}

// DeleteJobQueue implements the AWS Batch operation: as in AWS the queue must be DISABLED; jobs
// still in it are terminated.
func (s *Service) DeleteJobQueue(ctx context.Context, account string, in *wire.DeleteJobQueueRequest) (*wire.DeleteJobQueueResponse, error) {
	if in.JobQueue == "" {
		return nil, awserr.Client("jobQueue is required")
	}
	r, d, err := s.getQueue(ctx, account, in.JobQueue, "jobQueue")
	if err != nil {
		return nil, err
	}
	if d.State != wire.JQStateDisabled {
		return nil, awserr.Client("jobQueue: job queue %s must be DISABLED before it is deleted", d.JobQueueName)
	}
	if err := s.terminateQueue(ctx, account, d.JobQueueArn, "Job queue deleted"); err != nil {
		return nil, err
	}
	if err := s.store.ResourceDelete(ctx, account, store.KindJobQueue, r.Name, 0); err != nil {
		return nil, s.storeErr(err, "jobQueue: job queue "+in.JobQueue+" does not exist")
	}
	s.eng().removeQueue(d.JobQueueArn)
	return &wire.DeleteJobQueueResponse{}, nil
}

// listResources pages resources of a kind: maxResults 1..100 (default 100), nextToken opaque.
func (s *Service) listResources(ctx context.Context, account string, kind store.Kind, names []string, maxResults *int32, token string) ([]*store.Resource, string, error) {
	limit := 100
	if maxResults != nil {
		if *maxResults < 1 || *maxResults > 100 {
			return nil, "", awserr.Client("maxResults must be between 1 and 100, got %d", *maxResults)
		}
		limit = int(*maxResults)
	}
	p := &store.ResourceListParams{Account: account, Kind: kind, Names: names, Limit: limit + 1}
	if token != "" {
		name, rev, err := decodeToken(token)
		if err != nil {
			return nil, "", err
		}
		p.AfterName, p.AfterRevision = name, rev
	}
	rs, err := s.store.ResourceList(ctx, p)
	if err != nil {
		return nil, "", s.storeErr(err, "")
	}
	next := ""
	if len(rs) > limit {
		rs = rs[:limit]
		last := rs[limit-1]
		next = encodeToken(last.Name, last.Revision)
	}
	return rs, next, nil
}

func encodeToken(name string, rev int) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.Itoa(rev) + ":" + name))
}

func decodeToken(tok string) (string, int, error) {
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err == nil {
		revStr, name, ok := strings.Cut(string(b), ":")
		if rev, err := strconv.Atoi(revStr); ok && err == nil {
			return name, rev, nil
		}
	}
	return "", 0, awserr.Client("nextToken: invalid pagination token")
}

// queuePolicy reads the fair-share policy a queue names (nil for a FIFO queue).
func (s *Service) queuePolicy(ctx context.Context, account, arn string) (*wire.FairsharePolicy, error) {
	if arn == "" {
		return nil, nil
	}
	_, d, err := s.getSchedulingPolicy(ctx, account, "schedulingPolicyArn", arn)
	if err != nil {
		return nil, err
	}
	if d.FairsharePolicy == nil {
		return &wire.FairsharePolicy{}, nil
	}
	return d.FairsharePolicy, nil
}

// checkTimeLimitActions validates jobStateTimeLimitActions. AWS requires maxTimeSeconds of 600 to
// 86400; barge accepts from 1 second (an extension, so short waits can be tested).
func checkTimeLimitActions(actions []wire.JobStateTimeLimitAction) error {
	if len(actions) > 5 {
		return awserr.Client("jobStateTimeLimitActions: at most 5 actions, got %d", len(actions))
	}
	for i, a := range actions {
		f := fmt.Sprintf("jobStateTimeLimitActions[%d]", i)
		if a.Reason == "" {
			return awserr.Client("%s.reason is required", f)
		}
		if a.State != wire.JobStateTimeLimitActionsStateRunnable {
			return awserr.Client("%s.state must be RUNNABLE", f)
		}
		if a.Action != wire.JobStateTimeLimitActionsActionCancel {
			return awserr.Client("%s.action must be CANCEL", f)
		}
		if m := deref(a.MaxTimeSeconds); m < 1 || m > 86400 {
			return awserr.Client("%s.maxTimeSeconds must be between 1 and 86400, got %d", f, m)
		}
	}
	return nil
}
