package e2e_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/batch"
	"github.com/aws/aws-sdk-go-v2/service/batch/types"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	apitypes "k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/retry"

	"github.com/barge-run/barge/internal/bargetest"
	"github.com/barge-run/barge/internal/exec/kube"
	"github.com/barge-run/barge/internal/exec/kube/kubetest"
)

// kubeEnv is a barge whose queue "pods" runs on a namespace of the test cluster.
type kubeEnv struct {
	cluster *kubetest.Cluster
	ns      string
	b       *bargetest.Barge
	c       *batch.Client
}

// startKube starts barge with the test cluster and makes queue "pods" on a compute environment of
// maxvCpus 4 in a namespace of the test's own; skipped without the cluster's binaries.
func startKube(t *testing.T, args ...string) *kubeEnv {
	t.Helper()
	cluster := kubetest.Start(t)
	ns := cluster.Namespace(t)
	tol := cluster.Toleration
	b := bargetest.Start(t, bargetest.WithArgs(append([]string{"--kubeconfig", cluster.Kubeconfig,
		"--kube-toleration", tol.Key + "=" + tol.Value + ":" + string(tol.Effect)}, args...)...))
	c := b.Batch()
	clusterARN := "arn:aws:eks:us-east-1:" + b.Cred.AccountID + ":cluster/kubetest"
	if _, err := c.CreateComputeEnvironment(context.Background(), &batch.CreateComputeEnvironmentInput{ComputeEnvironmentName: aws.String("k8s"), Type: types.CETypeManaged,
		ComputeResources: &types.ComputeResource{Type: types.CRTypeEc2, MaxvCpus: aws.Int32(4), Subnets: []string{"subnet-1"},
			InstanceRole: aws.String("r"), InstanceTypes: []string{"optimal"}},
		EksConfiguration: &types.EksConfiguration{EksClusterArn: aws.String(clusterARN), KubernetesNamespace: aws.String(ns)}}); err != nil {
		t.Fatal(err)
	}
	queueOn(t, c, "pods", 1, func(in *batch.CreateJobQueueInput) {
		in.ComputeEnvironmentOrder = []types.ComputeEnvironmentOrder{{Order: aws.Int32(1), ComputeEnvironment: aws.String("k8s")}}
	})
	return &kubeEnv{cluster: cluster, ns: ns, b: b, c: c}
}

// podDef registers an eksProperties job definition of one busybox container (1 vCPU) whose Pods
// carry the annotations (kwok's instructions, kubetest.Annotation*).
func (k *kubeEnv) podDef(t *testing.T, name string, annotations map[string]string) {
	t.Helper()
	register(t, k.c, name, &types.ContainerProperties{}, func(in *batch.RegisterJobDefinitionInput) {
		in.ContainerProperties = nil
		in.EksProperties = &types.EksProperties{PodProperties: &types.EksPodProperties{
			Metadata: &types.EksMetadata{Annotations: annotations},
			Containers: []types.EksContainer{{Image: aws.String("public.ecr.aws/docker/library/busybox:1.36"), Command: []string{"sh", "-c"}, Args: []string{"true"},
				Resources: &types.EksContainerResourceRequirements{Limits: map[string]string{"cpu": "1", "memory": "256Mi"}}}}}}
	})
}

// waitPod waits until the namespace holds a barge Pod of attempt n of the job (label-safe id)
// that ok accepts, and returns it.
func (k *kubeEnv) waitPod(t *testing.T, job string, n int, what string, ok func(*corev1.Pod) bool) *corev1.Pod {
	t.Helper()
	sel := fmt.Sprintf("%s=%s,%s=%d", kube.LabelJob, strings.ReplaceAll(job, ":", "-"), kube.LabelAttempt, n)
	end := time.Now().Add(jobWait)
	for time.Now().Before(end) {
		pods, err := k.cluster.Client.CoreV1().Pods(k.ns).List(context.Background(), metav1.ListOptions{LabelSelector: sel})
		if err != nil {
			t.Fatal(err)
		}
		for i := range pods.Items {
			if ok(&pods.Items[i]) {
				return &pods.Items[i]
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("no Pod of %s attempt %d %s within %s", job, n, what, jobWait)
	return nil
}

func anyPod(*corev1.Pod) bool { return true }

// TestKubernetesArrayNToN: an array of 4 children on a Kubernetes compute environment and a
// second array of 4 with an N_TO_N dependency on it both succeed, each child of the second
// starting only after its peer of the first stopped.
func TestKubernetesArrayNToN(t *testing.T) {
	k := startKube(t)
	k.podDef(t, "succeeds", map[string]string{kubetest.AnnotationExitCode: "0"})
	const size = 4
	first := submit(t, k.c, &batch.SubmitJobInput{JobName: aws.String("first"), JobQueue: aws.String("pods"), JobDefinition: aws.String("succeeds"),
		ArrayProperties: &types.ArrayProperties{Size: aws.Int32(size)}})
	second := submit(t, k.c, &batch.SubmitJobInput{JobName: aws.String("second"), JobQueue: aws.String("pods"), JobDefinition: aws.String("succeeds"),
		ArrayProperties: &types.ArrayProperties{Size: aws.Int32(size)},
		DependsOn:       []types.JobDependency{{JobId: aws.String(first), Type: types.ArrayJobDependencyNToN}}})
	for _, id := range []string{first, second} {
		p := bargetest.WaitJob(t, k.c, id, time.Minute, terminal)
		if p.Status != types.JobStatusSucceeded || p.ArrayProperties.StatusSummary["SUCCEEDED"] != size {
			t.Fatalf("array %s: %s %q %v", id, p.Status, aws.ToString(p.StatusReason), p.ArrayProperties.StatusSummary)
		}
	}
	var kids []string
	for i := range size {
		kids = append(kids, fmt.Sprintf("%s:%d", first, i), fmt.Sprintf("%s:%d", second, i))
	}
	out, err := k.c.DescribeJobs(context.Background(), &batch.DescribeJobsInput{Jobs: kids})
	if err != nil || len(out.Jobs) != 2*size {
		t.Fatalf("DescribeJobs of the children: %v, %d", err, len(out.Jobs))
	}
	byID := map[string]types.JobDetail{}
	for _, j := range out.Jobs {
		byID[aws.ToString(j.JobId)] = j
	}
	for i := range size {
		a, b := byID[fmt.Sprintf("%s:%d", first, i)], byID[fmt.Sprintf("%s:%d", second, i)]
		if a.Status != types.JobStatusSucceeded || b.Status != types.JobStatusSucceeded || len(a.Attempts) != 1 || len(b.Attempts) != 1 {
			t.Fatalf("children %d: %s (%d attempts) and %s (%d attempts)", i, a.Status, len(a.Attempts), b.Status, len(b.Attempts))
		}
		if stop, start := aws.ToInt64(a.Attempts[0].StoppedAt), aws.ToInt64(b.Attempts[0].StartedAt); start < stop {
			t.Errorf("child %d of the second array started at %d, before its peer stopped at %d", i, start, stop)
		}
		if len(b.DependsOn) != 1 || aws.ToString(b.DependsOn[0].JobId) != aws.ToString(a.JobId) {
			t.Errorf("child %d of the second array depends on %+v, want its peer %s", i, b.DependsOn, aws.ToString(a.JobId))
		}
	}
	// Finished Pods are collected.
	pods, err := k.cluster.Client.CoreV1().Pods(k.ns).List(context.Background(), metav1.ListOptions{LabelSelector: kube.LabelKey})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pods.Items {
		if p.DeletionTimestamp == nil {
			t.Errorf("Pod %s left behind after its job succeeded", p.Name)
		}
	}
}

// TestKubernetesOOMKilled: the kubelet reports the Pod's container terminated OOMKilled with exit
// code 137 (written here through the API server, as a kubelet writes it); the job fails with
// AWS's reason for it.
func TestKubernetesOOMKilled(t *testing.T) {
	k := startKube(t)
	k.podDef(t, "runs", nil) // kwok runs it until told otherwise
	id := submit(t, k.c, &batch.SubmitJobInput{JobName: aws.String("hungry"), JobQueue: aws.String("pods"), JobDefinition: aws.String("runs")})
	bargetest.WaitJob(t, k.c, id, jobWait, func(s string) bool { return s == "RUNNING" })
	pod := k.waitPod(t, id, 1, "running", func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodRunning })
	pods := k.cluster.Client.CoreV1().Pods(k.ns)
	if err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		cur, err := pods.Get(context.Background(), pod.Name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		now := metav1.Now()
		for i := range cur.Status.ContainerStatuses {
			cs := &cur.Status.ContainerStatuses[i]
			started := now
			if cs.State.Running != nil {
				started = cs.State.Running.StartedAt
			}
			cs.Ready, cs.Started = false, new(false)
			cs.State = corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{
				ExitCode: 137, Reason: "OOMKilled", StartedAt: started, FinishedAt: now}}
		}
		cur.Status.Phase = corev1.PodFailed
		_, err = pods.UpdateStatus(context.Background(), cur, metav1.UpdateOptions{})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	j := bargetest.WaitJob(t, k.c, id, jobWait, terminal)
	const oom = "OutOfMemoryError: Container killed due to memory usage"
	if j.Status != types.JobStatusFailed || len(j.Attempts) != 1 {
		t.Fatalf("job: %s %q, %d attempts", j.Status, aws.ToString(j.StatusReason), len(j.Attempts))
	}
	if c := j.Attempts[0].Container; c == nil || aws.ToString(c.Reason) != oom || aws.ToInt32(c.ExitCode) != 137 {
		t.Fatalf("attempt's container: %+v; want exit code 137 and reason %q", c, oom)
	}
	if j.Container == nil || aws.ToString(j.Container.Reason) != oom {
		t.Errorf("job's container: %+v; want reason %q", j.Container, oom)
	}
	t.Logf("status reason %q", aws.ToString(j.StatusReason))
}

// TestKubernetesNodeLost: the node a job's Pod runs on is deleted (its instance gone): the pod
// garbage collector fails and deletes its Pods (kubetest plays it), the attempt fails as AWS
// says of a lost instance, and the retry strategy (2 attempts) runs it again to SUCCEEDED on the
// node that is left.
func TestKubernetesNodeLost(t *testing.T) {
	k := startKube(t)
	doomed := "lost-" + k.ns
	k.cluster.AddNode(t, doomed)
	// Held Pods are bound by the test itself: the first attempt to the doomed node.
	k.podDef(t, "placed", map[string]string{kubetest.AnnotationHold: ""})
	id := submit(t, k.c, &batch.SubmitJobInput{JobName: aws.String("outlives-its-node"), JobQueue: aws.String("pods"), JobDefinition: aws.String("placed"),
		RetryStrategy: &types.RetryStrategy{Attempts: aws.Int32(2)}})
	ctx := context.Background()
	first := k.waitPod(t, id, 1, "created", anyPod)
	if err := k.cluster.BindTo(ctx, k.ns, first.Name, doomed); err != nil {
		t.Fatal(err)
	}
	bargetest.WaitJob(t, k.c, id, jobWait, func(s string) bool { return s == "RUNNING" })
	gone, err := k.cluster.LoseNode(ctx, doomed)
	if err != nil || len(gone) != 1 || gone[0] != k.ns+"/"+first.Name {
		t.Fatalf("LoseNode = %v, %v; want the first attempt's Pod", gone, err)
	}
	second := k.waitPod(t, id, 2, "created", anyPod)
	if err := k.cluster.Bind(ctx, k.ns, second.Name); err != nil {
		t.Fatal(err)
	}
	k.waitPod(t, id, 2, "running", func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodRunning })
	patch := `{"metadata":{"annotations":{"` + kubetest.AnnotationExitCode + `":"0"}}}`
	if _, err := k.cluster.Client.CoreV1().Pods(k.ns).Patch(ctx, second.Name, apitypes.MergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	j := bargetest.WaitJob(t, k.c, id, jobWait, terminal)
	want := "Host EC2 (instance " + doomed + ") terminated."
	if j.Status != types.JobStatusSucceeded || len(j.Attempts) != 2 || aws.ToString(j.Attempts[0].StatusReason) != want {
		var first string
		if len(j.Attempts) > 0 {
			first = aws.ToString(j.Attempts[0].StatusReason)
		}
		t.Fatalf("job: %s, %d attempts, the first ended %q; want SUCCEEDED after %q", j.Status, len(j.Attempts), first, want)
	}
	if r := aws.ToString(j.Attempts[0].Container.Reason); !strings.Contains(r, "DeletionByPodGC") {
		t.Errorf("first attempt's container reason %q, want the pod garbage collector's", r)
	}
	if stop, start := aws.ToInt64(j.Attempts[0].StoppedAt), aws.ToInt64(j.Attempts[1].StartedAt); start < stop {
		t.Errorf("second attempt started at %d, before the first stopped at %d", start, stop)
	}
}

// TestKubernetesEndpoint: barge server --kube-endpoint puts barge's API as Pods reach it in the
// AWS_ENDPOINT_URL of a job's Pod (with the attempt's own credentials beside it), where barge's
// loopback address would reach nothing; a job that sets its own AWS_ENDPOINT_URL keeps it.
func TestKubernetesEndpoint(t *testing.T) {
	const inCluster = "http://barge.barge-system.svc.cluster.local:7700"
	k := startKube(t, "--kube-endpoint", inCluster)
	// Held: never bound, so the Pods wait, Pending, until the jobs are terminated.
	k.podDef(t, "held", map[string]string{kubetest.AnnotationHold: ""})
	ctx := context.Background()
	for _, tc := range []struct {
		name, own, want string
	}{{"barge-endpoint", "", inCluster}, {"own-endpoint", "http://elsewhere:4566", "http://elsewhere:4566"}} {
		in := &batch.SubmitJobInput{JobName: aws.String(tc.name), JobQueue: aws.String("pods"), JobDefinition: aws.String("held")}
		if tc.own != "" {
			in.EksPropertiesOverride = &types.EksPropertiesOverride{PodProperties: &types.EksPodPropertiesOverride{
				Containers: []types.EksContainerOverride{{Env: []types.EksContainerEnvironmentVariable{{Name: aws.String("AWS_ENDPOINT_URL"), Value: aws.String(tc.own)}}}}}}
		}
		id := submit(t, k.c, in)
		pod := k.waitPod(t, id, 1, "created", anyPod)
		env := map[string][]string{}
		for _, ev := range pod.Spec.Containers[0].Env {
			env[ev.Name] = append(env[ev.Name], ev.Value)
		}
		if got := env["AWS_ENDPOINT_URL"]; len(got) != 1 || got[0] != tc.want {
			t.Errorf("%s: the Pod's AWS_ENDPOINT_URL = %q, want %q", tc.name, got, tc.want)
		}
		if len(env["AWS_ACCESS_KEY_ID"]) != 1 || len(env["AWS_SESSION_TOKEN"]) != 1 {
			t.Errorf("%s: the Pod has no credentials of its own: %v", tc.name, env)
		}
		if _, err := k.c.TerminateJob(ctx, &batch.TerminateJobInput{JobId: aws.String(id), Reason: aws.String("seen")}); err != nil {
			t.Fatal(err)
		}
		if j := bargetest.WaitJob(t, k.c, id, jobWait, terminal); j.Status != types.JobStatusFailed {
			t.Errorf("%s: terminated job %s", tc.name, j.Status)
		}
	}
}
