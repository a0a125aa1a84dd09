package kube_test

import (
	"bytes"
	"context"
	"os"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/barge-run/barge/internal/exec"
	"github.com/barge-run/barge/internal/exec/kube"
	"github.com/barge-run/barge/internal/exec/kube/kubetest"
)

func TestMain(m *testing.M) { os.Exit(kubetest.Main(m)) }

// deadline bounds every wait on a state of the cluster.
const deadline = 60 * time.Second

// env is one test's namespace and executor; annotations (by key) reach its Pods.
type env struct {
	c  *kubetest.Cluster
	ns string
	e  *kube.Executor

	mu          sync.Mutex
	annotations map[string]map[string]string
}

func newEnv(t *testing.T) *env {
	t.Helper()
	c := kubetest.Start(t)
	v := &env{c: c, ns: c.Namespace(t), annotations: map[string]map[string]string{}}
	v.e = v.executor(t)
	return v
}

// executor makes another Executor on the namespace, as a restarted barge would.
func (v *env) executor(t *testing.T) *kube.Executor {
	t.Helper()
	e, err := kube.New(kube.Options{
		Config:      v.c.ExecutorConfig(),
		Namespace:   v.ns,
		ClusterARN:  "arn:aws:eks:us-east-1:123456789012:cluster/kubetest",
		Tolerations: []corev1.Toleration{v.c.Toleration},
		PodAnnotations: func(s exec.Spec) map[string]string {
			v.mu.Lock()
			defer v.mu.Unlock()
			return v.annotations[s.Key]
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Close)
	return e
}

// spec returns a spec for key whose Pod carries the annotations (kwok's instructions).
func (v *env) spec(key string, annotations map[string]string) exec.Spec {
	v.mu.Lock()
	v.annotations[key] = annotations
	v.mu.Unlock()
	return exec.Spec{ID: "job-" + key + "#1", Key: key, Image: "busybox:1.36", Command: []string{"true"}, Tenant: "123456789012"}
}

func (v *env) start(t *testing.T, e *kube.Executor, spec exec.Spec) exec.Process {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	p, err := e.Start(ctx, spec)
	if err != nil {
		t.Fatalf("Start %s: %v", spec.Key, err)
	}
	return p
}

// pod reads the Pod as the admin.
func (v *env) pod(t *testing.T, name string) (*corev1.Pod, error) {
	t.Helper()
	return v.c.Client.CoreV1().Pods(v.ns).Get(context.Background(), name, metav1.GetOptions{})
}

// waitPod polls the Pod until ok holds of it (nil: the Pod is gone).
func (v *env) waitPod(t *testing.T, name, what string, ok func(*corev1.Pod) bool) *corev1.Pod {
	t.Helper()
	end := time.Now().Add(deadline)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for time.Now().Before(end) {
		pod, err := v.pod(t, name)
		if apierrors.IsNotFound(err) {
			pod, err = nil, nil
		}
		if err != nil {
			t.Fatal(err)
		}
		if ok(pod) {
			return pod
		}
		<-tick.C
	}
	t.Fatalf("Pod %s: %s: not within %s", name, what, deadline)
	return nil
}

func (v *env) annotate(t *testing.T, name, key string, value *string) {
	t.Helper()
	val := "null"
	if value != nil {
		val = `"` + *value + `"`
	}
	patch := `{"metadata":{"annotations":{"` + key + `":` + val + `}}}`
	if _, err := v.c.Client.CoreV1().Pods(v.ns).Patch(context.Background(), name, types.MergePatchType,
		[]byte(patch), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
}

// wait waits for the process's exit, within the deadline.
func wait(t *testing.T, p exec.Process) exec.Exit {
	t.Helper()
	ch := make(chan exec.Exit, 1)
	go func() { ch <- p.Wait() }()
	select {
	case x := <-ch:
		return x
	case <-time.After(deadline):
		t.Fatalf("Wait did not return within %s", deadline)
		return exec.Exit{}
	}
}

func waitStarted(t *testing.T, p exec.Process) {
	t.Helper()
	select {
	case <-p.(exec.Starter).Started():
	case <-time.After(deadline):
		t.Fatalf("Started not closed within %s", deadline)
	}
}

// syncBuffer is a bytes.Buffer safe for the log goroutine and the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestOutcomes(t *testing.T) {
	v := newEnv(t)
	tests := []struct {
		name        string
		annotations map[string]string
		want        exec.Exit
		reason      string // Exit.Reason contains it
		started     bool
	}{
		{"succeeds", map[string]string{kubetest.AnnotationExitCode: "0"}, exec.Exit{Code: 0}, "", true},
		{"fails", map[string]string{kubetest.AnnotationExitCode: "3"}, exec.Exit{Code: 3}, "", true},
		{"oom", map[string]string{kubetest.AnnotationOOM: ""}, exec.Exit{Code: 137, OOM: true}, kube.ReasonOOM, true},
		{"pull-fails", map[string]string{kubetest.AnnotationPullFail: "manifest unknown"},
			exec.Exit{Code: -1, Cause: exec.CausePullFailed}, "ErrImagePull: manifest unknown", false},
		{"evicted", map[string]string{kubetest.AnnotationEvict: ""},
			exec.Exit{Code: 137, Cause: exec.CauseEvicted}, "low on resource", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			spec := v.spec("outcome-"+tt.name, tt.annotations)
			var stderr syncBuffer
			spec.Stderr = &stderr
			p := v.start(t, v.e, spec)
			x := wait(t, p)
			if x.Code != tt.want.Code || x.OOM != tt.want.OOM || x.Cause != tt.want.Cause || !strings.Contains(x.Reason, tt.reason) {
				t.Fatalf("exit = %+v, want %+v with reason %q", x, tt.want, tt.reason)
			}
			if x.Host != v.c.Node {
				t.Errorf("exit host = %q, want %q", x.Host, v.c.Node)
			}
			select {
			case <-p.(exec.Starter).Started():
				if !tt.started {
					t.Error("Started closed for a container that never ran")
				}
			default:
				if tt.started {
					t.Error("Started not closed after the container ran")
				}
			}
			// No kubelet serves logs under kwok: one line says so, only where the command ran.
			if got := strings.Contains(stderr.String(), "cannot be read from the cluster"); got != tt.started {
				t.Errorf("log-missing line written = %v, want %v; stderr %q", got, tt.started, stderr.String())
			}
			// Collected: the Pod is deleted and no longer listed.
			keys, err := v.e.List(context.Background())
			if err != nil || slices.Contains(keys, spec.Key) {
				t.Errorf("List after Wait = %v, %v; want no %s", keys, err, spec.Key)
			}
			v.waitPod(t, spec.Key, "deleted after Wait", func(p *corev1.Pod) bool { return p == nil })
		})
	}
}

func TestStartedOnlyOnceRunning(t *testing.T) {
	v := newEnv(t)
	spec := v.spec("held", map[string]string{kubetest.AnnotationHold: ""})
	p := v.start(t, v.e, spec)
	pod := v.waitPod(t, spec.Key, "created", func(p *corev1.Pod) bool { return p != nil })
	if pod.Spec.NodeName != "" || pod.Status.Phase != corev1.PodPending {
		t.Fatalf("held Pod: node %q phase %s, want unscheduled and Pending", pod.Spec.NodeName, pod.Status.Phase)
	}
	select {
	case <-p.(exec.Starter).Started():
		t.Fatal("Started closed while the Pod is Pending")
	default:
	}
	if err := v.c.Bind(context.Background(), v.ns, spec.Key); err != nil {
		t.Fatal(err)
	}
	waitStarted(t, p)
	if pod, _ := v.pod(t, spec.Key); pod == nil || pod.Status.Phase != corev1.PodRunning {
		t.Fatalf("Started closed but the Pod is not Running: %+v", pod)
	}
	if err := p.Signal(syscall.SIGTERM); err == nil || !strings.Contains(err.Error(), "not supported on Kubernetes") {
		t.Errorf("Signal(SIGTERM) = %v, want not supported", err)
	}
	if err := p.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if x := wait(t, p); x.Code != -1 || x.Signal != syscall.SIGKILL || x.Cause != exec.CauseExited {
		t.Errorf("exit after SIGKILL = %+v", x)
	}
}

func TestStopDeletesWithGrace(t *testing.T) {
	v := newEnv(t)
	spec := v.spec("stopped", map[string]string{kubetest.AnnotationLinger: ""})
	p := v.start(t, v.e, spec)
	waitStarted(t, p)
	if err := p.Stop(7 * time.Second); err != nil {
		t.Fatal(err)
	}
	pod := v.waitPod(t, spec.Key, "being deleted", func(p *corev1.Pod) bool { return p != nil && p.DeletionTimestamp != nil })
	if g := pod.DeletionGracePeriodSeconds; g == nil || *g != 7 {
		t.Fatalf("deletion grace period = %v, want 7", g)
	}
	v.annotate(t, spec.Key, kubetest.AnnotationLinger, nil) // now kwok finishes the deletion
	if x := wait(t, p); x.Code != -1 || x.Signal != syscall.SIGTERM || x.Cause != exec.CauseExited {
		t.Errorf("exit after Stop = %+v, want killed by SIGTERM", x)
	}
}
