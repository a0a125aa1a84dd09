package e2e_test

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/batch"
	"github.com/aws/aws-sdk-go-v2/service/batch/types"

	"github.com/barge-run/barge/internal/bargetest"
	"github.com/barge-run/barge/internal/exec/kube/kubetest"
)

// TestKubernetesComputeEnvironment: barge server --kubeconfig makes a real cluster (kube-apiserver
// with kwok's nodes) a compute environment's capacity — an eksProperties job runs as a Pod there
// and ends as the Pod does (kwok ends it with the exit code its annotation names: 0, then 3),
// through aws-sdk-go-v2 against a real barge.
func TestKubernetesComputeEnvironment(t *testing.T) {
	cluster := kubetest.Start(t)
	ns := cluster.Namespace(t)
	tol := cluster.Toleration
	b := bargetest.Start(t, bargetest.WithArgs("--kubeconfig", cluster.Kubeconfig,
		"--kube-toleration", tol.Key+"="+tol.Value+":"+string(tol.Effect)))
	c, ctx := b.Batch(), context.Background()
	clusterARN := "arn:aws:eks:us-east-1:" + b.Cred.AccountID + ":cluster/kubetest"
	if _, err := c.CreateComputeEnvironment(ctx, &batch.CreateComputeEnvironmentInput{ComputeEnvironmentName: aws.String("k8s"), Type: types.CETypeManaged,
		ComputeResources: &types.ComputeResource{Type: types.CRTypeEc2, MaxvCpus: aws.Int32(4), Subnets: []string{"subnet-1"},
			InstanceRole: aws.String("r"), InstanceTypes: []string{"optimal"}},
		EksConfiguration: &types.EksConfiguration{EksClusterArn: aws.String(clusterARN), KubernetesNamespace: aws.String(ns)}}); err != nil {
		t.Fatal(err)
	}
	queueOn(t, c, "pods", 1, func(in *batch.CreateJobQueueInput) {
		in.ComputeEnvironmentOrder = []types.ComputeEnvironmentOrder{{Order: aws.Int32(1), ComputeEnvironment: aws.String("k8s")}}
	})
	for _, tc := range []struct {
		code   string
		status types.JobStatus
	}{{"0", types.JobStatusSucceeded}, {"3", types.JobStatusFailed}} {
		name := "exit-" + tc.code
		register(t, c, name, &types.ContainerProperties{}, func(in *batch.RegisterJobDefinitionInput) {
			in.ContainerProperties = nil
			in.EksProperties = &types.EksProperties{PodProperties: &types.EksPodProperties{
				Metadata: &types.EksMetadata{Annotations: map[string]string{kubetest.AnnotationExitCode: tc.code}},
				Containers: []types.EksContainer{{Image: aws.String("public.ecr.aws/docker/library/busybox:1.36"), Command: []string{"sh", "-c"}, Args: []string{"exit " + tc.code},
					Resources: &types.EksContainerResourceRequirements{Limits: map[string]string{"cpu": "1", "memory": "256Mi"}}}}}}
		})
		id := submit(t, c, &batch.SubmitJobInput{JobName: aws.String(name), JobQueue: aws.String("pods"), JobDefinition: aws.String(name)})
		j := bargetest.WaitJob(t, c, id, jobWait, terminal)
		if j.Status != tc.status || len(j.Attempts) != 1 {
			t.Fatalf("%s: %s %q, %d attempts", name, j.Status, aws.ToString(j.StatusReason), len(j.Attempts))
		}
		if code := aws.ToInt32(j.Attempts[0].Container.ExitCode); tc.code == "3" && code != 3 {
			t.Fatalf("%s: exit code %d", name, code)
		}
	}
}
