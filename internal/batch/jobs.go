package batch

import (
	"context"
	"encoding/json"
	"maps"
	"strconv"

	"github.com/google/uuid"

	"github.com/barge-run/barge/internal/awserr"
	wire "github.com/barge-run/barge/internal/awstypes/batch"
	"github.com/barge-run/barge/internal/sched"
	"github.com/barge-run/barge/internal/store"
)

// jobRecord is what the store keeps for a job: the detail AWS clients see, and what the engine
// needs to run it.
type jobRecord struct {
	Detail wire.JobDetail `json:"detail"`
	Run    runState       `json:"run"`
}

// runState is the engine's private part of a job.
type runState struct {
	QueueName  string          `json:"queueName"`
	JobDefName string          `json:"jobDefName"`
	Need       sched.Resources `json:"need"`
	// ComputeEnv is the ARN of the compute environment of the current attempt.
	ComputeEnv string `json:"computeEnv,omitempty"`
	// TaskID names the current attempt (its log stream and task ARN).
	TaskID string `json:"taskId,omitempty"`
	// Activated is set once the job's dependencies are satisfied (for an array parent: its
	// children may run).
	Activated bool `json:"activated,omitempty"`
	// RunnableSince is when the job (for an array parent: its waiting children) last became
	// RUNNABLE, in ms, for the queue's jobStateTimeLimitActions.
	RunnableSince int64 `json:"runnableSince,omitempty"`
	// Array is the state of an array parent's children.
	Array *arrayRun `json:"array,omitempty"`
	// Entrypoint replaces the image's ENTRYPOINT (an eksProperties job's command).
	Entrypoint []string `json:"entrypoint,omitempty"`
	// Terminate is the reason TerminateJob gave while an attempt was STARTING or RUNNING. It is
	// stored before TerminateJob is answered, so a terminate acknowledged just before a crash
	// still ends the job after the restart instead of letting its retry strategy run it again.
	Terminate string `json:"terminate,omitempty"`
}

// arrayRun is an array parent's view of its children. Children are created lazily: a child gets
// a row (is "materialized") only when it is about to run or must be recorded individually; the
// others are "virtual" and all share VirtualStatus, so a million-child array is one row until its
// children start.
type arrayRun struct {
	Size int `json:"size"`
	// Next: for plain and SEQUENTIAL arrays, children [0, Next) are materialized, and so are the
	// indices in Skip (children cancelled before their turn, given their rows out of order).
	Next       int          `json:"next"`
	Skip       map[int]bool `json:"skip,omitempty"`
	Sequential bool         `json:"sequential,omitempty"`
	// CutAt is, for a SEQUENTIAL array one of whose children was cancelled before its turn, 1 +
	// that child's index (0: none). The children after it have failed, their dependency did;
	// the ones before it still run in order. Once the child before it finishes the rest fail
	// for good (VirtualStatus FAILED) and the cut is cleared.
	CutAt int `json:"cutAt,omitempty"`
	// NToN lists the arrays whose child i each child i waits for (N_TO_N dependencies).
	NToN []string `json:"nToN,omitempty"`
	// Counts are the children with rows, by status; their sum is how many have rows.
	Counts map[wire.JobStatus]int `json:"counts"`
	// VirtualStatus is the status of every child without a row: PENDING, RUNNABLE or FAILED.
	VirtualStatus wire.JobStatus `json:"virtualStatus"`
	VirtualReason string         `json:"virtualReason,omitempty"`
}

// inOrder reports whether children get their rows in index order (plain and SEQUENTIAL arrays),
// so that "has a row" is simply idx < Next.
func (a *arrayRun) inOrder() bool { return len(a.NToN) == 0 }

// Status values, typed once here for brevity.
const (
	statusSubmitted = wire.JobStatusSubmitted
	statusPending   = wire.JobStatusPending
	statusRunnable  = wire.JobStatusRunnable
	statusStarting  = wire.JobStatusStarting
	statusRunning   = wire.JobStatusRunning
	statusSucceeded = wire.JobStatusSucceeded
	statusFailed    = wire.JobStatusFailed
)

func terminal(st wire.JobStatus) bool { return st == statusSucceeded || st == statusFailed }

// SubmitJob implements the AWS Batch operation. The job is durable when this returns.
func (s *Service) SubmitJob(ctx context.Context, account string, in *wire.SubmitJobRequest) (*wire.SubmitJobResponse, error) {
	if err := checkName("jobName", in.JobName); err != nil {
		return nil, err
	}
	if in.JobQueue == "" {
		return nil, awserr.Client("jobQueue is required")
	}
	if in.JobDefinition == "" {
		return nil, awserr.Client("jobDefinition is required")
	}
	switch {
	case in.NodeOverrides != nil:
		return nil, awserr.Client("nodeOverrides: multinode parallel jobs are not supported by barge")
	case in.EcsPropertiesOverride != nil:
		return nil, awserr.Client("ecsPropertiesOverride: multi-container ECS jobs are not supported by barge")
	}
	_, q, err := s.getQueue(ctx, account, in.JobQueue, "jobQueue")
	if err != nil {
		return nil, err
	}
	if q.State != wire.JQStateEnabled {
		return nil, awserr.Client("jobQueue: job queue %s is DISABLED and accepts no new jobs", q.JobQueueName)
	}
	// As in AWS: a fair-share queue needs a share identifier, a FIFO queue takes none.
	switch {
	case q.SchedulingPolicyArn != "" && in.ShareIdentifier == "":
		return nil, awserr.Client("shareIdentifier is required for job queue %s, which has a fair-share scheduling policy", q.JobQueueName)
	case q.SchedulingPolicyArn == "" && in.ShareIdentifier != "":
		return nil, awserr.Client("shareIdentifier: job queue %s has no scheduling policy, so jobs take no share identifier", q.JobQueueName)
	case len(in.ShareIdentifier) > 255:
		return nil, awserr.Client("shareIdentifier must be at most 255 characters")
	}
	if p := in.SchedulingPriorityOverride; p != nil && (*p < 0 || *p > 9999) {
		return nil, awserr.Client("schedulingPriorityOverride must be between 0 and 9999, got %d", *p)
	}
	def, err := s.resolveJobDef(ctx, account, "jobDefinition", in.JobDefinition)
	if err != nil {
		return nil, err
	}
	params := maps.Clone(def.Parameters)
	if params == nil {
		params = map[string]string{}
	}
	maps.Copy(params, in.Parameters)

	var c *wire.ContainerDetail
	var entrypoint []string
	var need sched.Resources
	var eks *wire.EksPropertiesDetail
	if def.EksProperties != nil {
		c, entrypoint, need, eks, err = s.eksJob(ctx, account, def, q, in)
	} else {
		c, need, err = s.containerJob(def, in)
	}
	if err != nil {
		return nil, err
	}
	if len(c.Command) == 0 && c.Image == "" {
		return nil, awserr.Client("containerOverrides.command: the job has no command and no image to take one from")
	}
	c.Command = substituteRefs(c.Command, params)
	if err := checkExecSize(c.Command, c.Environment); err != nil {
		return nil, err
	}

	retry := def.RetryStrategy
	if in.RetryStrategy != nil {
		if err := checkRetryStrategy("retryStrategy", in.RetryStrategy); err != nil {
			return nil, err
		}
		retry = in.RetryStrategy
	}
	timeout := def.Timeout
	if in.Timeout != nil {
		if err := checkTimeout("timeout", in.Timeout); err != nil {
			return nil, err
		}
		timeout = in.Timeout
	}
	propagate := def.PropagateTags
	if in.PropagateTags != nil {
		propagate = in.PropagateTags
	}
	priority := def.SchedulingPriority
	if in.SchedulingPriorityOverride != nil {
		priority = in.SchedulingPriorityOverride
	}
	if err := checkTags("tags", in.Tags); err != nil {
		return nil, err
	}

	id := uuid.NewString()
	var array *arrayRun
	if in.ArrayProperties != nil {
		size := deref(in.ArrayProperties.Size)
		if size < 2 || size > MaxArraySize {
			return nil, awserr.Client("arrayProperties.size must be between 2 and %d, got %d", MaxArraySize, size)
		}
		array = &arrayRun{Size: int(size), Counts: map[wire.JobStatus]int{}, VirtualStatus: statusPending}
	}
	if err := s.checkDependencies(ctx, account, in.DependsOn, array); err != nil {
		return nil, err
	}
	now := s.nowMillis()
	rec := &jobRecord{
		Detail: wire.JobDetail{
			JobArn:               s.arn(account, "job", id),
			JobName:              in.JobName,
			JobId:                id,
			JobQueue:             q.JobQueueArn,
			Status:               statusSubmitted,
			ShareIdentifier:      in.ShareIdentifier,
			SchedulingPriority:   priority,
			CreatedAt:            &now,
			RetryStrategy:        retry,
			JobDefinition:        def.JobDefinitionArn,
			Parameters:           params,
			Container:            c,
			Timeout:              timeout,
			Tags:                 in.Tags,
			PropagateTags:        propagate,
			PlatformCapabilities: def.PlatformCapabilities,
			DependsOn:            in.DependsOn,
			EksProperties:        eks,
		},
		Run: runState{QueueName: q.JobQueueName, JobDefName: def.JobDefinitionName, Need: need, Array: array, Entrypoint: entrypoint},
	}
	if array != nil {
		rec.Detail.ArrayProperties = &wire.ArrayPropertiesDetail{Size: ptr(int32(array.Size)), StatusSummary: array.summary()}
	}
	if len(rec.Detail.Parameters) == 0 {
		rec.Detail.Parameters = nil
	}
	job := &store.Job{Account: account, ID: id, Name: in.JobName, Queue: q.JobQueueName,
		Status: string(statusSubmitted), CreatedAt: now, Body: mustJSON(rec)}
	if err := s.store.JobInsertMany(ctx, []*store.Job{job}); err != nil {
		return nil, s.storeErr(err, "")
	}
	s.eng().submit(job, rec)
	return &wire.SubmitJobResponse{JobArn: rec.Detail.JobArn, JobName: in.JobName, JobId: id}, nil
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // only our own types are marshalled; failure is a programming error
	}
	return b
}

func decodeJob(j *store.Job) (*jobRecord, error) {
	var rec jobRecord
	if err := json.Unmarshal(j.Body, &rec); err != nil {
		return nil, err
	}
	return &rec, nil
}

// DescribeJobs implements the AWS Batch operation: up to 100 ids; unknown ids are left out.
func (s *Service) DescribeJobs(ctx context.Context, account string, in *wire.DescribeJobsRequest) (*wire.DescribeJobsResponse, error) {
	if len(in.Jobs) == 0 {
		return nil, awserr.Client("jobs is required")
	}
	if len(in.Jobs) > 100 {
		return nil, awserr.Client("jobs: at most 100 job ids, got %d", len(in.Jobs))
	}
	ids := make([]string, len(in.Jobs))
	for i, ref := range in.Jobs {
		id, err := s.parseJobRef(account, "jobs", ref)
		if err != nil {
			return nil, err
		}
		ids[i] = id
	}
	jobs, err := s.store.JobGetMany(ctx, account, ids)
	if err != nil {
		return nil, s.storeErr(err, "")
	}
	byID := make(map[string]*store.Job, len(jobs))
	for _, j := range jobs {
		byID[j.ID] = j
	}
	// Array children without a row yet are described from their parent.
	var parentIDs []string
	for _, id := range ids {
		if _, ok := byID[id]; !ok {
			if parent, _, isChild := splitChildID(id); isChild {
				parentIDs = append(parentIDs, parent)
			}
		}
	}
	parents := map[string]*jobRecord{}
	if len(parentIDs) > 0 {
		rows, err := s.store.JobGetMany(ctx, account, parentIDs)
		if err != nil {
			return nil, s.storeErr(err, "")
		}
		for _, r := range rows {
			if rec, err := decodeJob(r); err == nil && rec.Run.Array != nil {
				parents[r.ID] = rec
			}
		}
	}
	out := &wire.DescribeJobsResponse{Jobs: []wire.JobDetail{}}
	seen := map[string]bool{}
	for _, id := range ids {
		if seen[id] {
			continue
		}
		seen[id] = true
		if j, ok := byID[id]; ok {
			rec, err := decodeJob(j)
			if err != nil {
				return nil, s.storeErr(err, "")
			}
			out.Jobs = append(out.Jobs, withEmptyCollections(rec.Detail))
			continue
		}
		parent, idx, _ := splitChildID(id)
		if prec := parents[parent]; prec != nil && idx < prec.Run.Array.Size {
			out.Jobs = append(out.Jobs, withEmptyCollections(virtualChild(&prec.Detail, prec.Run.Array, idx)))
		}
	}
	return out, nil
}

// virtualChild describes an array child that has no row: the parent's template in the status
// all such children share.
func virtualChild(p *wire.JobDetail, a *arrayRun, idx int) wire.JobDetail {
	st, reason := a.virtualStatus(idx)
	d := wire.JobDetail{
		JobArn:               p.JobArn + ":" + strconv.Itoa(idx),
		JobName:              p.JobName,
		JobId:                childID(p.JobId, idx),
		JobQueue:             p.JobQueue,
		Status:               st,
		StatusReason:         reason,
		ShareIdentifier:      p.ShareIdentifier,
		SchedulingPriority:   p.SchedulingPriority,
		CreatedAt:            p.CreatedAt,
		RetryStrategy:        p.RetryStrategy,
		JobDefinition:        p.JobDefinition,
		Parameters:           p.Parameters,
		Container:            p.Container,
		ArrayProperties:      &wire.ArrayPropertiesDetail{Index: ptr(int32(idx))},
		Timeout:              p.Timeout,
		Tags:                 p.Tags,
		PropagateTags:        p.PropagateTags,
		PlatformCapabilities: p.PlatformCapabilities,
	}
	if st == statusFailed {
		d.StoppedAt = p.StoppedAt
	}
	if a.Sequential && idx > 0 {
		d.DependsOn = []wire.JobDependency{{JobId: childID(p.JobId, idx-1), Type: wire.ArrayJobDependencySequential}}
	}
	for _, dep := range a.NToN {
		d.DependsOn = append(d.DependsOn, wire.JobDependency{JobId: childID(dep, idx), Type: wire.ArrayJobDependencyNToN})
	}
	return d
}

// parseJobRef accepts a job id or job ARN.
func (s *Service) parseJobRef(account, field, ref string) (string, error) {
	id, err := s.parseRef(account, "job", field, ref)
	if err != nil {
		return "", err
	}
	if id == "" || len(id) > 128 {
		return "", awserr.Client("%s: invalid job id %q", field, ref)
	}
	return id, nil
}

// containerJob is what SubmitJob makes of a container job definition and the call's overrides:
// the container and what it needs.
func (s *Service) containerJob(def *wire.JobDefinition, in *wire.SubmitJobRequest) (*wire.ContainerDetail, sched.Resources, error) {
	if def.ContainerProperties == nil {
		return nil, sched.Resources{}, awserr.Client("jobDefinition: %s has no containerProperties", in.JobDefinition)
	}
	if in.EksPropertiesOverride != nil {
		return nil, sched.Resources{}, awserr.Client("eksPropertiesOverride: job definition %s has no eksProperties; use containerOverrides", def.JobDefinitionArn)
	}
	// The definition passed these checks when it was registered, but the operator may have
	// changed since what this barge allows (volume roots, privileged containers).
	// containerOverrides carry neither volumes nor ephemeralStorage, so they need no check.
	if err := s.checkIsolation(def.ContainerProperties); err != nil {
		return nil, sched.Resources{}, awserr.Client("jobDefinition: %s no longer passes this barge's checks: %s", def.JobDefinitionArn, awserr.As(err).Message)
	}

	cp := def.ContainerProperties
	c := &wire.ContainerDetail{
		Image:                        cp.Image,
		Vcpus:                        cp.Vcpus,
		Memory:                       cp.Memory,
		Command:                      cp.Command,
		JobRoleArn:                   cp.JobRoleArn,
		ExecutionRoleArn:             cp.ExecutionRoleArn,
		Volumes:                      cp.Volumes,
		Environment:                  cp.Environment,
		MountPoints:                  cp.MountPoints,
		ReadonlyRootFilesystem:       cp.ReadonlyRootFilesystem,
		Ulimits:                      cp.Ulimits,
		Privileged:                   cp.Privileged,
		User:                         cp.User,
		InstanceType:                 cp.InstanceType,
		ResourceRequirements:         cp.ResourceRequirements,
		LinuxParameters:              cp.LinuxParameters,
		LogConfiguration:             cp.LogConfiguration,
		Secrets:                      cp.Secrets,
		NetworkConfiguration:         cp.NetworkConfiguration,
		FargatePlatformConfiguration: cp.FargatePlatformConfiguration,
		EphemeralStorage:             cp.EphemeralStorage,
		RuntimePlatform:              cp.RuntimePlatform,
		RepositoryCredentials:        cp.RepositoryCredentials,
		EnableExecuteCommand:         cp.EnableExecuteCommand,
	}
	if o := in.ContainerOverrides; o != nil {
		if o.Command != nil {
			c.Command = o.Command
		}
		if err := checkEnvironment("containerOverrides.environment", o.Environment); err != nil {
			return nil, sched.Resources{}, err
		}
		c.Environment = mergeEnvironment(c.Environment, o.Environment)
		if _, err := resourcesOf("containerOverrides", o.ResourceRequirements, o.Vcpus, o.Memory, false); err != nil {
			return nil, sched.Resources{}, err
		}
		c.ResourceRequirements = mergeRequirements(c.ResourceRequirements, o.ResourceRequirements)
		if o.Vcpus != nil {
			c.Vcpus = o.Vcpus
		}
		if o.Memory != nil {
			c.Memory = o.Memory
		}
		if o.InstanceType != "" {
			c.InstanceType = o.InstanceType
		}
	}
	need, err := resourcesOf("containerProperties", c.ResourceRequirements, c.Vcpus, c.Memory, true)
	if err != nil {
		return nil, sched.Resources{}, err
	}
	return c, need, nil
}
