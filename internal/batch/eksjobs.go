package batch

import (
	"context"
	"maps"
	"math"
	"regexp"
	"strconv"
	"strings"

	"github.com/barge-run/barge/internal/awserr"
	wire "github.com/barge-run/barge/internal/awstypes/batch"
	"github.com/barge-run/barge/internal/sched"
)

// Job definitions with eksProperties.podProperties (AWS Batch on EKS): one container, run as a
// Pod on a compute environment with an eksConfiguration. Its command replaces the image's
// ENTRYPOINT and its args the CMD, as in Kubernetes; resources are Kubernetes quantities
// ("500m", "2", "512Mi", "1Gi"), requests defaulting to limits.

// checkEKSProperties validates a job definition's eksProperties.
func checkEKSProperties(ep *wire.EksProperties) error {
	pp := ep.PodProperties
	switch {
	case pp == nil:
		return awserr.Client("eksProperties.podProperties is required")
	case len(pp.Containers) != 1:
		return awserr.Client("eksProperties.podProperties.containers: barge runs exactly one container per job, got %d", len(pp.Containers))
	case len(pp.InitContainers) > 0:
		return awserr.Client("eksProperties.podProperties.initContainers are not supported by barge")
	case len(pp.Volumes) > 0:
		return awserr.Client("eksProperties.podProperties.volumes are not supported by barge yet")
	}
	c := pp.Containers[0]
	if c.Image == "" {
		return awserr.Client("eksProperties.podProperties.containers[0].image is required")
	}
	if len(c.VolumeMounts) > 0 {
		return awserr.Client("eksProperties.podProperties.containers[0].volumeMounts are not supported by barge yet")
	}
	_, err := podResources("eksProperties.podProperties.containers[0].resources", c.Resources)
	return err
}

// eksJob is what SubmitJob makes of an eksProperties job definition: the container the engine
// runs (its image's ENTRYPOINT replaced by the pod's command), its needs, and the detail
// DescribeJobs shows.
func (s *Service) eksJob(ctx context.Context, account string, def *wire.JobDefinition, q *wire.JobQueueDetail, in *wire.SubmitJobRequest) (*wire.ContainerDetail, []string, sched.Resources, *wire.EksPropertiesDetail, error) {
	var need sched.Resources
	if in.ContainerOverrides != nil {
		return nil, nil, need, nil, awserr.Client("containerOverrides: job definition %s has eksProperties; use eksPropertiesOverride", def.JobDefinitionArn)
	}
	for _, o := range q.ComputeEnvironmentOrder {
		_, ce, err := s.getComputeEnv(ctx, account, o.ComputeEnvironment, "jobQueue")
		if err != nil {
			return nil, nil, need, nil, err
		}
		if ce.EksConfiguration == nil {
			return nil, nil, need, nil, awserr.Client("jobQueue: %s has compute environment %s, not on Kubernetes; a job definition with eksProperties runs only on compute environments with an eksConfiguration", q.JobQueueName, ce.ComputeEnvironmentName)
		}
	}
	pc := def.EksProperties.PodProperties.Containers[0]
	if o := in.EksPropertiesOverride; o != nil && o.PodProperties != nil {
		if len(o.PodProperties.Containers) > 1 {
			return nil, nil, need, nil, awserr.Client("eksPropertiesOverride.podProperties.containers: one container, got %d", len(o.PodProperties.Containers))
		}
		if len(o.PodProperties.Containers) == 1 {
			pc = overrideEKSContainer(pc, o.PodProperties.Containers[0])
		}
	}
	need, err := podResources("eksProperties.podProperties.containers[0].resources", pc.Resources)
	if err != nil {
		return nil, nil, need, nil, err
	}
	c := &wire.ContainerDetail{Image: pc.Image, Command: pc.Args}
	for _, e := range pc.Env {
		c.Environment = append(c.Environment, wire.KeyValuePair{Name: e.Name, Value: e.Value})
	}
	detail := &wire.EksPropertiesDetail{PodProperties: &wire.EksPodPropertiesDetail{
		ServiceAccountName: def.EksProperties.PodProperties.ServiceAccountName, HostNetwork: def.EksProperties.PodProperties.HostNetwork,
		DnsPolicy: def.EksProperties.PodProperties.DnsPolicy, Metadata: def.EksProperties.PodProperties.Metadata,
		Containers: []wire.EksContainerDetail{{Name: pc.Name, Image: pc.Image, ImagePullPolicy: pc.ImagePullPolicy, Command: pc.Command,
			Args: pc.Args, Env: pc.Env, Resources: pc.Resources, SecurityContext: pc.SecurityContext}},
	}}
	if o := in.EksPropertiesOverride; o != nil && o.PodProperties != nil && o.PodProperties.Metadata != nil {
		detail.PodProperties.Metadata = mergeMetadata(detail.PodProperties.Metadata, o.PodProperties.Metadata)
	}
	return c, pc.Command, need, detail, nil
}

// mergeMetadata is base's labels and annotations with over's on top.
func mergeMetadata(base, over *wire.EksMetadata) *wire.EksMetadata {
	out := &wire.EksMetadata{Labels: map[string]string{}, Annotations: map[string]string{}}
	for _, m := range []*wire.EksMetadata{base, over} {
		if m == nil {
			continue
		}
		maps.Copy(out.Labels, m.Labels)
		maps.Copy(out.Annotations, m.Annotations)
	}
	return out
}

// overrideEKSContainer is c with what a SubmitJob override sets.
func overrideEKSContainer(c wire.EksContainer, o wire.EksContainerOverride) wire.EksContainer {
	if o.Image != "" {
		c.Image = o.Image
	}
	if o.Command != nil {
		c.Command = o.Command
	}
	if o.Args != nil {
		c.Args = o.Args
	}
	c.Env = append(append([]wire.EksContainerEnvironmentVariable(nil), c.Env...), o.Env...)
	if o.Resources != nil {
		c.Resources = o.Resources
	}
	return c
}

// podResources is what a container's resources ask for: limits, else requests (as Kubernetes
// defaults requests to limits, and AWS Batch reserves the larger); cpu and memory are required.
func podResources(field string, rr *wire.EksContainerResourceRequirements) (sched.Resources, error) {
	var r sched.Resources
	get := func(name string) string {
		if rr == nil {
			return ""
		}
		if v, ok := rr.Limits[name]; ok {
			return v
		}
		return rr.Requests[name]
	}
	cpu, err := parseQuantity(get("cpu"), 1000)
	if err != nil || cpu <= 0 {
		return r, awserr.Client("%s: cpu %q is not a positive Kubernetes quantity (e.g. \"500m\", \"2\")", field, get("cpu"))
	}
	mem, err := parseQuantity(get("memory"), 1)
	if err != nil || mem <= 0 {
		return r, awserr.Client("%s: memory %q is not a positive Kubernetes quantity (e.g. \"512Mi\", \"2Gi\")", field, get("memory"))
	}
	r.MilliVCPU, r.MemoryMiB = cpu, (mem+(1<<20)-1)>>20
	if g := get("nvidia.com/gpu"); g != "" {
		n, err := strconv.ParseInt(g, 10, 32)
		if err != nil || n < 0 {
			return r, awserr.Client("%s: nvidia.com/gpu %q is not a whole number", field, g)
		}
		r.GPU = n
	}
	return r, nil
}

var quantityRE = regexp.MustCompile(`^([0-9]+(?:\.[0-9]+)?)(m|k|M|G|T|Ki|Mi|Gi|Ti)?$`)

// parseQuantity reads a Kubernetes quantity as a count of units (scale: 1000 for cpu, giving
// millicores; 1 for bytes).
func parseQuantity(s string, scale float64) (int64, error) {
	m := quantityRE.FindStringSubmatch(strings.TrimSpace(s))
	if m == nil {
		return 0, awserr.Client("quantity %q", s)
	}
	v, _ := strconv.ParseFloat(m[1], 64)
	mult := map[string]float64{"": 1, "m": 0.001, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "Ki": 1 << 10, "Mi": 1 << 20, "Gi": 1 << 30, "Ti": 1 << 40}[m[2]]
	out := math.Ceil(v * mult * scale)
	if out > math.MaxInt64/2 {
		return 0, awserr.Client("quantity %q is too large", s)
	}
	return int64(out), nil
}
