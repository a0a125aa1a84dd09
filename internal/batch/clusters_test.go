package batch

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	wire "github.com/barge-run/barge/internal/awstypes/batch"
	bexec "github.com/barge-run/barge/internal/exec"
)

const testClusterARN = "arn:aws:eks:us-east-1:000000000000:cluster/test"

// fakeClusters knows one cluster, whose attempts run on exec.
type fakeClusters struct{ exec *fakeExec }

func (c fakeClusters) Executor(arn, namespace string) (bexec.Executor, error) {
	if arn != testClusterARN {
		return nil, errors.New("no such cluster")
	}
	return c.exec, nil
}

// TestJobsRunOnTheirComputeEnvironmentsCluster: a compute environment with an eksConfiguration
// runs its queue's jobs on its cluster's executor, others on this host's; its maxvCpus bounds
// what runs there at once; a configuration naming a cluster barge does not know is refused,
// naming the field.
func TestJobsRunOnTheirComputeEnvironmentsCluster(t *testing.T) {
	var cluster *fakeExec
	h := newPropHarnessWith(t, 21, func(string, int) (int, int) { return 0, -1 }, func(h *propHarness) {
		cluster = newFakeExec(h.rec, 7, h.policy)
		h.clusters = fakeClusters{exec: cluster}
	})
	ctx := context.Background()
	ce := func(arn, ns string) *wire.CreateComputeEnvironmentRequest {
		return &wire.CreateComputeEnvironmentRequest{ComputeEnvironmentName: "eks", Type: wire.CETypeManaged,
			ComputeResources: &wire.ComputeResource{Type: wire.CRTypeEc2, MaxvCpus: ptr(int32(2)), Subnets: []string{"subnet-1"}, InstanceRole: "r", InstanceTypes: []string{"optimal"}},
			EksConfiguration: &wire.EksConfiguration{EksClusterArn: arn, KubernetesNamespace: ns}}
	}
	for _, bad := range []struct{ arn, ns, field string }{
		{"arn:aws:eks:us-east-1:000000000000:cluster/other", "jobs", "eksConfiguration.eksClusterArn"},
		{testClusterARN, "Not_A_Namespace", "eksConfiguration.kubernetesNamespace"},
	} {
		if _, err := h.svc.CreateComputeEnvironment(ctx, propAccount, ce(bad.arn, bad.ns)); err == nil || !strings.Contains(err.Error(), bad.field) {
			t.Fatalf("cluster %s namespace %s: %v, want an error naming %s", bad.arn, bad.ns, err, bad.field)
		}
	}
	if _, err := h.svc.CreateComputeEnvironment(ctx, propAccount, ce(testClusterARN, "jobs")); err != nil {
		t.Fatal(err)
	}
	if _, err := h.svc.CreateJobQueue(ctx, propAccount, &wire.CreateJobQueueRequest{JobQueueName: "on-eks", Priority: ptr(int32(1)),
		ComputeEnvironmentOrder: []wire.ComputeEnvironmentOrder{{Order: ptr(int32(1)), ComputeEnvironment: "eks"}}}); err != nil {
		t.Fatal(err)
	}
	var onEKS []string
	for range 3 {
		out, err := h.svc.SubmitJob(ctx, propAccount, &wire.SubmitJobRequest{JobName: "pod", JobQueue: "on-eks", JobDefinition: h.jobDef})
		if err != nil {
			t.Fatal(err)
		}
		onEKS = append(onEKS, out.JobId)
	}
	local := h.submitNamed("here", nil)
	waitFor(t, "two Pods and the local job", func() bool {
		running, _, _, _ := cluster.stats()
		return running == 2000 && storedStatus(t, h, local) == string(statusRunning)
	})
	if starts := h.rec.startsOf(local); len(starts) != 1 || starts[0].gen != 1 {
		t.Fatalf("the local job started on %+v", starts)
	}
	if st := storedStatus(t, h, onEKS[2]); st != string(statusRunnable) {
		t.Fatalf("a third job on a 2-vCPU compute environment is %s, want RUNNABLE", st)
	}
	d := storedRecord(t, h, onEKS[0]).Detail
	if !strings.HasSuffix(d.Container.ContainerInstanceArn, "/eks/local") {
		t.Fatalf("container instance %s", d.Container.ContainerInstanceArn)
	}
	for _, id := range onEKS[:2] {
		if !cluster.release(id, 0) {
			t.Fatalf("%s is not running on the cluster", id)
		}
	}
	waitFor(t, "the third Pod", func() bool { return storedStatus(t, h, onEKS[2]) == string(statusRunning) })
	if s := h.rec.startsOf(onEKS[2]); len(s) != 1 || s[0].gen != 7 {
		t.Fatalf("the third job started on %+v, want the cluster", s)
	}
	cluster.killAll()
	h.fake.killAll()
}

// TestEKSJobDefinitions: a job definition with eksProperties runs its one container on a
// Kubernetes compute environment — the pod's command replacing the image's ENTRYPOINT, its args
// the CMD, its resources' limits what it needs — and is refused elsewhere, naming the field.
func TestEKSJobDefinitions(t *testing.T) {
	var cluster *fakeExec
	h := newPropHarnessWith(t, 22, func(string, int) (int, int) { return 0, -1 }, func(h *propHarness) {
		cluster = newFakeExec(h.rec, 7, h.policy)
		h.clusters = fakeClusters{exec: cluster}
	})
	ctx := context.Background()
	if _, err := h.svc.CreateComputeEnvironment(ctx, propAccount, &wire.CreateComputeEnvironmentRequest{ComputeEnvironmentName: "eks", Type: wire.CETypeManaged,
		ComputeResources: &wire.ComputeResource{Type: wire.CRTypeEc2, MaxvCpus: ptr(int32(8)), Subnets: []string{"subnet-1"}, InstanceRole: "r", InstanceTypes: []string{"optimal"}},
		EksConfiguration: &wire.EksConfiguration{EksClusterArn: testClusterARN, KubernetesNamespace: "jobs"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.svc.CreateJobQueue(ctx, propAccount, &wire.CreateJobQueueRequest{JobQueueName: "on-eks", Priority: ptr(int32(1)),
		ComputeEnvironmentOrder: []wire.ComputeEnvironmentOrder{{Order: ptr(int32(1)), ComputeEnvironment: "eks"}}}); err != nil {
		t.Fatal(err)
	}
	pod := func(res map[string]string, containers int) *wire.RegisterJobDefinitionRequest {
		c := wire.EksContainer{Image: "public.ecr.aws/docker/library/busybox:1.36", Command: []string{"sh", "-c"}, Args: []string{"echo hi"},
			Env: []wire.EksContainerEnvironmentVariable{{Name: "GREETING", Value: "hi"}}, Resources: &wire.EksContainerResourceRequirements{Limits: res}}
		pp := &wire.EksPodProperties{}
		for range containers {
			pp.Containers = append(pp.Containers, c)
		}
		return &wire.RegisterJobDefinitionRequest{JobDefinitionName: "pod", Type: wire.JobDefinitionTypeContainer, EksProperties: &wire.EksProperties{PodProperties: pp}}
	}
	for _, bad := range []struct {
		in    *wire.RegisterJobDefinitionRequest
		field string
	}{
		{pod(map[string]string{"cpu": "lots", "memory": "1Gi"}, 1), "resources: cpu"},
		{pod(map[string]string{"cpu": "1"}, 1), "resources: memory"},
		{pod(map[string]string{"cpu": "1", "memory": "1Gi"}, 2), "containers"},
	} {
		if _, err := h.svc.RegisterJobDefinition(ctx, propAccount, bad.in); err == nil || !strings.Contains(err.Error(), bad.field) {
			t.Fatalf("%+v: %v, want an error naming %s", bad.in.EksProperties.PodProperties, err, bad.field)
		}
	}
	def, err := h.svc.RegisterJobDefinition(ctx, propAccount, pod(map[string]string{"cpu": "500m", "memory": "512Mi", "nvidia.com/gpu": "1"}, 1))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.svc.SubmitJob(ctx, propAccount, &wire.SubmitJobRequest{JobName: "x", JobQueue: "default", JobDefinition: def.JobDefinitionArn}); err == nil || !strings.Contains(err.Error(), "eksConfiguration") {
		t.Fatalf("an EKS job on this host's queue: %v", err)
	}
	out, err := h.svc.SubmitJob(ctx, propAccount, &wire.SubmitJobRequest{JobName: "x", JobQueue: "on-eks", JobDefinition: def.JobDefinitionArn,
		EksPropertiesOverride: &wire.EksPropertiesOverride{PodProperties: &wire.EksPodPropertiesOverride{Containers: []wire.EksContainerOverride{{Args: []string{"echo overridden"}}}}}})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the Pod to start", func() bool { return storedStatus(t, h, out.JobId) == string(statusRunning) })
	sp := cluster.specOf(out.JobId)
	if !slices.Equal(sp.Entrypoint, []string{"sh", "-c"}) || !slices.Equal(sp.Command, []string{"echo overridden"}) ||
		sp.MilliVCPU != 500 || sp.MemoryMiB != 512 || sp.GPUs != 1 || sp.Image != "public.ecr.aws/docker/library/busybox:1.36" ||
		!slices.Contains(sp.Env, "GREETING=hi") {
		t.Fatalf("the Pod's spec: %+v", sp)
	}
	if d := storedRecord(t, h, out.JobId).Detail; d.EksProperties == nil || d.EksProperties.PodProperties.Containers[0].Args[0] != "echo overridden" {
		t.Fatalf("DescribeJobs' eksProperties: %+v", d.EksProperties)
	}
	cluster.killAll()
}

func TestParseQuantity(t *testing.T) {
	for _, c := range []struct {
		in    string
		scale float64
		want  int64
		ok    bool
	}{
		{"500m", 1000, 500, true}, {"2", 1000, 2000, true}, {"0.25", 1000, 250, true}, {"512Mi", 1, 512 << 20, true},
		{"1Gi", 1, 1 << 30, true}, {"1G", 1, 1e9, true}, {"100k", 1, 100000, true}, {"", 1, 0, false}, {"1.5.2", 1, 0, false}, {"-1", 1, 0, false},
	} {
		got, err := parseQuantity(c.in, c.scale)
		if (err == nil) != c.ok || got != c.want {
			t.Errorf("parseQuantity(%q) = %d, %v", c.in, got, err)
		}
	}
}
