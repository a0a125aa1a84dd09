package kube_test

import (
	"context"
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/barge-run/barge/internal/exec/kube"
	"github.com/barge-run/barge/internal/exec/kube/kubetest"
)

// TestPodEndpoint: with Options.APIEndpoint the Pod's AWS_ENDPOINT_URL is barge's API as Pods
// reach it, in place of barge's address on its host (HostEndpoint, or any loopback URL); one the
// job sets itself stays, and a spec without one gets it.
func TestPodEndpoint(t *testing.T) {
	v := newEnv(t)
	const inCluster = "http://barge.barge-system.svc:7700"
	e, err := kube.New(kube.Options{Config: v.c.ExecutorConfig(), Namespace: v.ns, Tolerations: []corev1.Toleration{v.c.Toleration},
		APIEndpoint: inCluster, HostEndpoint: func() string { return "http://10.1.2.3:7700" }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Close)
	tests := []struct {
		name string
		env  []string
		want string
	}{
		{"loopback", []string{"AWS_ACCESS_KEY_ID=AK", "AWS_ENDPOINT_URL=http://127.0.0.1:7700"}, inCluster},
		{"localhost", []string{"AWS_ENDPOINT_URL=http://localhost:7700"}, inCluster},
		{"host endpoint", []string{"AWS_ENDPOINT_URL=http://10.1.2.3:7700"}, inCluster},
		{"none", []string{"AWS_ACCESS_KEY_ID=AK"}, inCluster},
		{"the job's own", []string{"AWS_ENDPOINT_URL=https://s3.example.com"}, "https://s3.example.com"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec := v.spec("endpoint-"+map[string]string{"loopback": "lo", "localhost": "lh", "host endpoint": "host", "none": "none",
				"the job's own": "own"}[tt.name], map[string]string{kubetest.AnnotationHold: ""})
			spec.Env = tt.env
			p, err := e.Start(context.Background(), spec)
			if err != nil {
				t.Fatal(err)
			}
			pod, err := v.pod(t, spec.Key)
			if err != nil {
				t.Fatal(err)
			}
			env := pod.Spec.Containers[0].Env
			var got []string
			for _, ev := range env {
				if ev.Name == "AWS_ENDPOINT_URL" {
					got = append(got, ev.Value)
				}
			}
			if !slices.Equal(got, []string{tt.want}) {
				t.Errorf("AWS_ENDPOINT_URL = %q, want %q (env %+v)", got, tt.want, env)
			}
			if len(env) != len(tt.env)+btoi(tt.name == "none") {
				t.Errorf("env %+v from %q", env, tt.env)
			}
			if err := p.Stop(0); err != nil {
				t.Fatal(err)
			}
			wait(t, p)
		})
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}
