package batch

import (
	"context"
	"errors"
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
