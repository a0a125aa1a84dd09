package kube_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/barge-run/barge/internal/exec"
	"github.com/barge-run/barge/internal/exec/kube"
	"github.com/barge-run/barge/internal/exec/kube/kubetest"
)

func TestStartTwiceOnePod(t *testing.T) {
	v := newEnv(t)
	spec := v.spec("twice", nil)
	p1 := v.start(t, v.e, spec)
	if p2 := v.start(t, v.e, spec); p2 != p1 {
		t.Error("a second Start with the key did not return the process of the first")
	}
	// Another barge (a restart) starting the same key takes the Pod back.
	p3 := v.start(t, v.executor(t), spec)
	waitStarted(t, p3)
	pods, err := v.c.Client.CoreV1().Pods(v.ns).List(context.Background(), metav1.ListOptions{LabelSelector: kube.LabelKey + "=" + spec.Key})
	if err != nil || len(pods.Items) != 1 {
		t.Fatalf("Pods with key %s: %d, %v; want 1", spec.Key, len(pods.Items), err)
	}
	v.annotate(t, spec.Key, kubetest.AnnotationExitCode, new("0"))
	if x := wait(t, p3); x.Code != 0 || x.Cause != exec.CauseExited {
		t.Errorf("exit = %+v", x)
	}
	if x := wait(t, p1); x.Code != 0 {
		t.Errorf("first process's exit = %+v", x)
	}
}

func TestRestartTakesBackRunningPod(t *testing.T) {
	v := newEnv(t)
	spec := v.spec("survivor", nil)
	p := v.start(t, v.e, spec)
	waitStarted(t, p)
	v.e.Close() // barge stops; the Pod runs on

	e2 := v.executor(t)
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	keys, err := e2.List(ctx)
	if err != nil || !slices.Equal(keys, []string{spec.Key}) {
		t.Fatalf("List = %v, %v; want [%s]", keys, err, spec.Key)
	}
	if _, err := e2.Attach(ctx, "nobody", nil, nil); !errors.Is(err, exec.ErrNotFound) {
		t.Errorf("Attach of an unknown key = %v, want ErrNotFound", err)
	}
	var stderr syncBuffer
	p2, err := e2.Attach(ctx, spec.Key, nil, &stderr)
	if err != nil {
		t.Fatal(err)
	}
	waitStarted(t, p2)
	v.annotate(t, spec.Key, kubetest.AnnotationExitCode, new("5"))
	if x := wait(t, p2); x.Code != 5 {
		t.Errorf("exit after Attach = %+v, want code 5", x)
	}
	if !strings.Contains(stderr.String(), "cannot be read") {
		t.Errorf("stderr after Attach = %q, want the log-missing line", stderr.String())
	}
	if keys, err := e2.List(ctx); err != nil || len(keys) != 0 {
		t.Errorf("List after Wait = %v, %v; want none", keys, err)
	}
}

func TestPodDeletedByOthersIsHostLost(t *testing.T) {
	v := newEnv(t)
	spec := v.spec("lost", nil)
	p := v.start(t, v.e, spec)
	waitStarted(t, p)
	if err := v.c.Client.CoreV1().Pods(v.ns).Delete(context.Background(), spec.Key, metav1.DeleteOptions{GracePeriodSeconds: new(int64(0))}); err != nil {
		t.Fatal(err)
	}
	x := wait(t, p)
	if x.Cause != exec.CauseHostLost || x.Host != v.c.Node {
		t.Errorf("exit = %+v, want host-lost on %s", x, v.c.Node)
	}
}

func TestPodSpec(t *testing.T) {
	v := newEnv(t)
	spec := v.spec("bj-0b0f6e1c-1a2b-4c3d-8e9f-001122334455-3-2", map[string]string{kubetest.AnnotationHold: ""})
	spec.ID = "0b0f6e1c-1a2b-4c3d-8e9f-001122334455:3#2"
	spec.Entrypoint, spec.Command = []string{"/bin/sh", "-c"}, []string{"echo hi"}
	spec.Env = []string{"A=1", "B=x=y"}
	spec.WorkingDir = "/work"
	spec.MilliVCPU, spec.MemoryMiB, spec.GPUs = 1500, 2048, 1
	spec.User, spec.ReadonlyRootFS = "1000:100", true
	ctx := kube.WithActiveDeadline(context.Background(), 90*time.Second)
	p, err := v.e.Start(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	pod, err := v.pod(t, spec.Key)
	if err != nil {
		t.Fatal(err)
	}
	c := pod.Spec.Containers[0]
	want := corev1.ResourceList{
		corev1.ResourceCPU:    resource.MustParse("1500m"),
		corev1.ResourceMemory: resource.MustParse("2048Mi"),
		kube.GPUResource:      resource.MustParse("1"),
	}
	for name, q := range want {
		if r, l := c.Resources.Requests[name], c.Resources.Limits[name]; r.Cmp(q) != 0 || l.Cmp(q) != 0 {
			t.Errorf("%s: request %s limit %s, want %s", name, r.String(), l.String(), q.String())
		}
	}
	labels := map[string]string{kube.LabelKey: spec.Key, kube.LabelJob: "0b0f6e1c-1a2b-4c3d-8e9f-001122334455-3",
		kube.LabelAttempt: "2", kube.LabelAccount: "123456789012"}
	for k, want := range labels {
		if pod.Labels[k] != want {
			t.Errorf("label %s = %q, want %q", k, pod.Labels[k], want)
		}
	}
	checks := []struct {
		what string
		ok   bool
	}{
		{"attempt-id annotation", pod.Annotations[kube.AnnotationAttemptID] == spec.ID},
		{"command", slices.Equal(c.Command, spec.Entrypoint) && slices.Equal(c.Args, spec.Command)},
		{"env", len(c.Env) == 2 && c.Env[1].Name == "B" && c.Env[1].Value == "x=y"},
		{"image and workingDir", c.Image == spec.Image && c.WorkingDir == "/work"},
		{"restartPolicy", pod.Spec.RestartPolicy == corev1.RestartPolicyNever},
		{"activeDeadlineSeconds", pod.Spec.ActiveDeadlineSeconds != nil && *pod.Spec.ActiveDeadlineSeconds == 90},
		{"user", c.SecurityContext != nil && *c.SecurityContext.RunAsUser == 1000 && *c.SecurityContext.RunAsGroup == 100},
		{"read-only root", c.SecurityContext != nil && *c.SecurityContext.ReadOnlyRootFilesystem},
		{"toleration", slices.Contains(pod.Spec.Tolerations, v.c.Toleration)},
		{"no token", pod.Spec.AutomountServiceAccountToken != nil && !*pod.Spec.AutomountServiceAccountToken},
	}
	for _, c := range checks {
		if !c.ok {
			t.Errorf("Pod's %s not as specified: %+v", c.what, pod.Spec)
		}
	}
	if err := p.Stop(0); err != nil {
		t.Fatal(err)
	}
	wait(t, p)
}

func TestRefusals(t *testing.T) {
	v := newEnv(t)
	tests := []struct {
		name   string
		change func(*exec.Spec)
		err    string
	}{
		{"no image", func(s *exec.Spec) { s.Image = "" }, "container images only"},
		{"host", func(s *exec.Spec) { s.Image = "host" }, "container images only"},
		{"mounts", func(s *exec.Spec) { s.Mounts = []exec.Mount{{Source: "/data", Target: "/data"}} }, "volumes are not supported"},
		{"user name", func(s *exec.Spec) { s.User = "nobody" }, "numeric users only"},
		{"private network", func(s *exec.Spec) { s.Network = exec.NetworkPrivate }, "not available on Kubernetes"},
		{"bad key", func(s *exec.Spec) { s.Key = "Not_A_Label" }, "not a DNS label"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec := v.spec("refused", nil)
			tt.change(&spec)
			if _, err := v.e.Start(context.Background(), spec); err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Fatalf("Start = %v, want an error saying %q", err, tt.err)
			}
		})
	}
	if pods, err := v.c.Client.CoreV1().Pods(v.ns).List(context.Background(), metav1.ListOptions{}); err != nil || len(pods.Items) != 0 {
		t.Errorf("Pods after refusals: %d, %v; want none", len(pods.Items), err)
	}
	if d := v.e.Describe(); !strings.Contains(d, "cluster/kubetest") || !strings.Contains(d, v.ns) {
		t.Errorf("Describe = %q", d)
	}
}
