package batch

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/barge-run/barge/internal/awserr"
	wire "github.com/barge-run/barge/internal/awstypes/batch"
	"github.com/barge-run/barge/internal/store"
)

// RegisterJobDefinition implements the AWS Batch operation: each call adds a revision.
func (s *Service) RegisterJobDefinition(ctx context.Context, account string, in *wire.RegisterJobDefinitionRequest) (*wire.RegisterJobDefinitionResponse, error) {
	if err := checkName("jobDefinitionName", in.JobDefinitionName); err != nil {
		return nil, err
	}
	if err := checkEnum("type", in.Type, wire.JobDefinitionType("").Values()); err != nil {
		return nil, err
	}
	switch {
	case in.Type == wire.JobDefinitionTypeMultinode || in.NodeProperties != nil:
		return nil, awserr.Client("type: multinode parallel jobs are not supported by barge")
	case in.EksProperties != nil && in.ContainerProperties != nil:
		return nil, awserr.Client("containerProperties and eksProperties: a job definition has one or the other")
	case in.EcsProperties != nil:
		return nil, awserr.Client("ecsProperties: multi-container ECS job definitions are not supported by barge; use containerProperties")
	case in.EksProperties != nil:
		if err := checkEKSProperties(in.EksProperties); err != nil {
			return nil, err
		}
	case in.ContainerProperties == nil:
		return nil, awserr.Client("containerProperties is required for a container job definition")
	default:
		if err := s.checkContainerProperties(in.ContainerProperties); err != nil {
			return nil, err
		}
	}
	cp := in.ContainerProperties
	if err := checkRetryStrategy("retryStrategy", in.RetryStrategy); err != nil {
		return nil, err
	}
	if err := checkTimeout("timeout", in.Timeout); err != nil {
		return nil, err
	}
	if p := in.SchedulingPriority; p != nil && (*p < 0 || *p > 9999) {
		return nil, awserr.Client("schedulingPriority must be between 0 and 9999, got %d", *p)
	}
	if len(in.PlatformCapabilities) == 0 {
		in.PlatformCapabilities = []wire.PlatformCapability{wire.PlatformCapabilityEc2}
	}
	def := wire.JobDefinition{
		JobDefinitionName:          in.JobDefinitionName,
		Status:                     "ACTIVE",
		Type:                       string(in.Type),
		SchedulingPriority:         in.SchedulingPriority,
		Parameters:                 in.Parameters,
		RetryStrategy:              in.RetryStrategy,
		ContainerProperties:        cp,
		Timeout:                    in.Timeout,
		Tags:                       in.Tags,
		PropagateTags:              in.PropagateTags,
		PlatformCapabilities:       in.PlatformCapabilities,
		ContainerOrchestrationType: wire.OrchestrationTypeEcs,
	}
	if in.EksProperties != nil {
		def.EksProperties, def.ContainerOrchestrationType = in.EksProperties, wire.OrchestrationTypeEks
	}
	r := &store.Resource{Account: account, Kind: store.KindJobDefinition, Name: in.JobDefinitionName, Status: "ACTIVE", CreatedAt: s.clock.Now()}
	err := s.store.ResourceCreateNextRevision(ctx, r, func(rev int) (string, []byte) {
		def.Revision = ptr(int32(rev))
		def.JobDefinitionArn = s.jobDefARN(account, in.JobDefinitionName, rev)
		body, _ := json.Marshal(def)
		return def.JobDefinitionArn, body
	})
	if err != nil {
		return nil, s.storeErr(err, "")
	}
	return &wire.RegisterJobDefinitionResponse{JobDefinitionName: def.JobDefinitionName, JobDefinitionArn: def.JobDefinitionArn, Revision: def.Revision}, nil
}

// checkContainerProperties validates a container job definition's containerProperties.
func (s *Service) checkContainerProperties(cp *wire.ContainerProperties) error {
	if err := s.checkIsolation(cp); err != nil {
		return err
	}
	if _, err := resourcesOf("containerProperties", cp.ResourceRequirements, cp.Vcpus, cp.Memory, false); err != nil {
		return err
	}
	return checkEnvironment("containerProperties.environment", cp.Environment)
}

func (s *Service) jobDefARN(account, name string, rev int) string {
	return s.arn(account, "job-definition", name+":"+strconv.Itoa(rev))
}

// parseJobDefRef splits "name", "name:rev" or an ARN into name and revision (0 = latest active).
func (s *Service) parseJobDefRef(account, field, ref string) (string, int, error) {
	name, err := s.parseRef(account, "job-definition", field, ref)
	if err != nil {
		return "", 0, err
	}
	base, revStr, hasRev := strings.Cut(name, ":")
	if !hasRev {
		if strings.HasPrefix(ref, "arn:") {
			return "", 0, awserr.Client("%s: a job definition ARN must include the revision", field)
		}
		return base, 0, nil
	}
	rev, err := strconv.Atoi(revStr)
	if err != nil || rev < 1 {
		return "", 0, awserr.Client("%s: %q has an invalid revision", field, ref)
	}
	return base, rev, nil
}

// resolveJobDef finds the job definition a job names: a given revision, or the latest ACTIVE one.
func (s *Service) resolveJobDef(ctx context.Context, account, field, ref string) (*wire.JobDefinition, error) {
	name, rev, err := s.parseJobDefRef(account, field, ref)
	if err != nil {
		return nil, err
	}
	var r *store.Resource
	if rev > 0 {
		r, err = s.store.ResourceGet(ctx, account, store.KindJobDefinition, name, rev)
		if err != nil {
			return nil, s.storeErr(err, fmt.Sprintf("%s: job definition %s does not exist", field, ref))
		}
	} else {
		rs, err := s.store.ResourceList(ctx, &store.ResourceListParams{Account: account, Kind: store.KindJobDefinition, Names: []string{name}, Status: "ACTIVE"})
		if err != nil {
			return nil, s.storeErr(err, "")
		}
		if len(rs) == 0 {
			return nil, awserr.Client("%s: no ACTIVE job definition named %s", field, ref)
		}
		r = rs[len(rs)-1]
	}
	if r.Status != "ACTIVE" {
		return nil, awserr.Client("%s: job definition %s is %s", field, ref, r.Status)
	}
	var d wire.JobDefinition
	if err := json.Unmarshal(r.Body, &d); err != nil {
		return nil, s.storeErr(err, "")
	}
	return &d, nil
}

// DescribeJobDefinitions implements the AWS Batch operation.
func (s *Service) DescribeJobDefinitions(ctx context.Context, account string, in *wire.DescribeJobDefinitionsRequest) (*wire.DescribeJobDefinitionsResponse, error) {
	if in.Status != "" && in.Status != "ACTIVE" && in.Status != "INACTIVE" {
		return nil, awserr.Client("status must be ACTIVE or INACTIVE, got %q", in.Status)
	}
	// Explicit references pin revisions; collect them as wanted (name, revision) pairs.
	var names []string
	want := map[string]map[int]bool{}
	for _, ref := range in.JobDefinitions {
		name, rev, err := s.parseJobDefRef(account, "jobDefinitions", ref)
		if err != nil {
			return nil, err
		}
		if want[name] == nil {
			want[name] = map[int]bool{}
			names = append(names, name)
		}
		want[name][rev] = true
	}
	if in.JobDefinitionName != "" {
		if len(names) > 0 {
			return nil, awserr.Client("jobDefinitionName and jobDefinitions cannot both be set")
		}
		names = []string{in.JobDefinitionName}
	}
	limit := 100
	if in.MaxResults != nil {
		if *in.MaxResults < 1 || *in.MaxResults > 100 {
			return nil, awserr.Client("maxResults must be between 1 and 100, got %d", *in.MaxResults)
		}
		limit = int(*in.MaxResults)
	}
	p := &store.ResourceListParams{Account: account, Kind: store.KindJobDefinition, Names: names, Status: in.Status}
	if in.NextToken != "" {
		name, rev, err := decodeToken(in.NextToken)
		if err != nil {
			return nil, err
		}
		p.AfterName, p.AfterRevision = name, rev
	}
	out := &wire.DescribeJobDefinitionsResponse{JobDefinitions: []wire.JobDefinition{}}
	for {
		p.Limit = 500
		rs, err := s.store.ResourceList(ctx, p)
		if err != nil {
			return nil, s.storeErr(err, "")
		}
		for _, r := range rs {
			p.AfterName, p.AfterRevision = r.Name, r.Revision
			if revs := want[r.Name]; revs != nil && !revs[r.Revision] && !(revs[0] && r.Status == "ACTIVE") {
				continue
			}
			if len(out.JobDefinitions) == limit {
				out.NextToken = encodeToken(out.JobDefinitions[limit-1].JobDefinitionName, int(deref(out.JobDefinitions[limit-1].Revision)))
				return out, nil
			}
			var d wire.JobDefinition
			if err := json.Unmarshal(r.Body, &d); err != nil {
				return nil, s.storeErr(err, "")
			}
			out.JobDefinitions = append(out.JobDefinitions, definitionWithEmptyCollections(d))
		}
		if len(rs) < p.Limit {
			return out, nil
		}
	}
}

// DeregisterJobDefinition implements the AWS Batch operation: the revision becomes INACTIVE.
func (s *Service) DeregisterJobDefinition(ctx context.Context, account string, in *wire.DeregisterJobDefinitionRequest) (*wire.DeregisterJobDefinitionResponse, error) {
	if in.JobDefinition == "" {
		return nil, awserr.Client("jobDefinition is required")
	}
	name, rev, err := s.parseJobDefRef(account, "jobDefinition", in.JobDefinition)
	if err != nil {
		return nil, err
	}
	if rev == 0 {
		return nil, awserr.Client("jobDefinition: give name:revision or the ARN of the revision to deregister")
	}
	r, err := s.store.ResourceGet(ctx, account, store.KindJobDefinition, name, rev)
	if err != nil {
		return nil, s.storeErr(err, fmt.Sprintf("jobDefinition: job definition %s does not exist", in.JobDefinition))
	}
	var d wire.JobDefinition
	if err := json.Unmarshal(r.Body, &d); err != nil {
		return nil, s.storeErr(err, "")
	}
	d.Status, r.Status = "INACTIVE", "INACTIVE"
	r.Body, _ = json.Marshal(d)
	if err := s.store.ResourceUpdate(ctx, r); err != nil {
		return nil, s.storeErr(err, "")
	}
	return &wire.DeregisterJobDefinitionResponse{}, nil
}
