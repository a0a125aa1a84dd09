package e2e_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	kruntime "k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"

	bexec "github.com/barge-run/barge/internal/exec"
	"github.com/barge-run/barge/internal/exec/kube"
	"github.com/barge-run/barge/internal/exec/kube/kubetest"

	"github.com/barge-run/barge/internal/bargetest"
)

// manifest reads deploy/kubernetes/barge.yaml into its objects.
func manifest(t *testing.T) []*unstructured.Unstructured {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	data, err := os.ReadFile(filepath.Join(filepath.Dir(file), "..", "..", "deploy", "kubernetes", "barge.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	dec := yaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
	var objs []*unstructured.Unstructured
	for {
		var m map[string]any
		if err := dec.Decode(&m); errors.Is(err, io.EOF) {
			return objs
		} else if err != nil {
			t.Fatalf("barge.yaml: %v", err)
		}
		if m != nil {
			objs = append(objs, &unstructured.Unstructured{Object: m})
		}
	}
}

// typed converts the manifest's one object of kind into out.
func typed(t *testing.T, objs []*unstructured.Unstructured, kind string, out any) {
	t.Helper()
	n := 0
	for _, o := range objs {
		if o.GetKind() == kind {
			n++
			if err := kruntime.DefaultUnstructuredConverter.FromUnstructured(o.Object, out); err != nil {
				t.Fatalf("%s: %v", kind, err)
			}
		}
	}
	if n != 1 {
		t.Fatalf("barge.yaml has %d objects of kind %s, want 1", n, kind)
	}
}

// TestKubernetesManifest: deploy/kubernetes/barge.yaml is what docs/kubernetes.md says — its Role
// grants exactly kube.Role's verbs, its Deployment runs two replicas of `barge server` with flags
// barge has — and the test cluster's API server accepts every object (a server-side dry run,
// then for real). Running an executor as the manifest's ServiceAccount shows the Role is enough:
// a Pod is created, watched, ended and deleted in the jobs' namespace.
func TestKubernetesManifest(t *testing.T) {
	objs := manifest(t)
	var role rbacv1.Role
	typed(t, objs, "Role", &role)
	if want := kube.Role(role.Namespace, role.Name); !reflect.DeepEqual(role.Rules, want.Rules) {
		t.Errorf("the manifest's Role grants %+v, barge uses %+v", role.Rules, want.Rules)
	}
	var binding rbacv1.RoleBinding
	typed(t, objs, "RoleBinding", &binding)
	var deploy appsv1.Deployment
	typed(t, objs, "Deployment", &deploy)
	if deploy.Spec.Replicas == nil || *deploy.Spec.Replicas != 2 || len(deploy.Spec.Template.Spec.Containers) != 1 {
		t.Fatalf("Deployment: %+v", deploy.Spec)
	}
	c := deploy.Spec.Template.Spec.Containers[0]
	if len(c.Args) == 0 || c.Args[0] != "server" {
		t.Fatalf("the container runs %q, want barge server", c.Args)
	}
	help, _ := exec.Command(bargetest.Binary(t), "server", "-h").CombinedOutput()
	env := map[string]bool{}
	for _, e := range c.Env {
		env[e.Name] = true
	}
	for _, arg := range c.Args[1:] {
		flag, value, _ := strings.Cut(arg, "=")
		if !strings.HasPrefix(flag, "--") || !strings.Contains(string(help), "\n  "+flag+" ") && !strings.Contains(string(help), "\n  "+flag+"\n") {
			t.Errorf("argument %q: barge server has no flag %s", arg, flag)
		}
		if strings.HasPrefix(value, "$(") && !env[strings.TrimSuffix(strings.TrimPrefix(value, "$("), ")")] {
			t.Errorf("argument %q names a variable the container does not set", arg)
		}
	}
	if binding.Subjects[0].Name != deploy.Spec.Template.Spec.ServiceAccountName || binding.Subjects[0].Namespace != deploy.Namespace {
		t.Errorf("the RoleBinding binds %+v, the Deployment runs as %s/%s", binding.Subjects, deploy.Namespace, deploy.Spec.Template.Spec.ServiceAccountName)
	}

	cluster := kubetest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dyn, err := dynamic.NewForConfig(cluster.Admin)
	if err != nil {
		t.Fatal(err)
	}
	mapper := restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(cluster.Client.Discovery()))
	apply := func(o *unstructured.Unstructured, dryRun bool) {
		t.Helper()
		m, err := mapper.RESTMapping(o.GroupVersionKind().GroupKind(), o.GroupVersionKind().Version)
		if err != nil {
			t.Fatalf("%s: %v", o.GetKind(), err)
		}
		var r dynamic.ResourceInterface = dyn.Resource(m.Resource)
		if m.Scope.Name() == meta.RESTScopeNameNamespace {
			r = dyn.Resource(m.Resource).Namespace(o.GetNamespace())
		}
		opts := metav1.CreateOptions{FieldValidation: "Strict"}
		if dryRun {
			opts.DryRun = []string{metav1.DryRunAll}
		}
		_, err = r.Create(ctx, o, opts)
		if apierrors.IsAlreadyExists(err) { // applied by an earlier run of this test in this binary (-count)
			if !dryRun {
				return
			}
			var cur *unstructured.Unstructured
			if cur, err = r.Get(ctx, o.GetName(), metav1.GetOptions{}); err == nil {
				o := o.DeepCopy()
				o.SetResourceVersion(cur.GetResourceVersion())
				_, err = r.Update(ctx, o, metav1.UpdateOptions{DryRun: []string{metav1.DryRunAll}, FieldValidation: "Strict"})
			}
		}
		if err != nil {
			t.Fatalf("%s %s/%s (dry run %v): %v", o.GetKind(), o.GetNamespace(), o.GetName(), dryRun, err)
		}
	}
	// The namespaces first, for real: the dry run of what lives in them needs them.
	for _, o := range objs {
		if o.GetKind() == "Namespace" {
			apply(o, true)
			apply(o, false)
		}
	}
	for _, o := range objs {
		if o.GetKind() != "Namespace" {
			apply(o, true)
		}
	}
	for _, o := range objs {
		if o.GetKind() != "Namespace" {
			apply(o, false)
		}
	}

	// The jobs' namespace needs its default ServiceAccount (no controller manager makes it).
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "default", Namespace: role.Namespace}}
	if _, err := cluster.Client.CoreV1().ServiceAccounts(role.Namespace).Create(ctx, sa, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	asBarge := rest.CopyConfig(cluster.Admin)
	asBarge.Impersonate = rest.ImpersonationConfig{
		UserName: "system:serviceaccount:" + deploy.Namespace + ":" + deploy.Spec.Template.Spec.ServiceAccountName,
		Groups:   []string{"system:serviceaccounts", "system:serviceaccounts:" + deploy.Namespace, "system:authenticated"},
	}
	e, err := kube.New(kube.Options{Config: asBarge, Namespace: role.Namespace, Tolerations: []corev1.Toleration{cluster.Toleration},
		PodAnnotations: func(bexec.Spec) map[string]string { return map[string]string{kubetest.AnnotationExitCode: "0"} }})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	key := "manifest-" + strings.ToLower(strings.ReplaceAll(t.Name(), "/", "-"))
	var stderr lockedBuffer
	p, err := e.Start(ctx, bexec.Spec{ID: "job-manifest#1", Key: key, Image: "busybox:1.36", Command: []string{"true"}, Tenant: "123456789012",
		Stderr: &stderr})
	if err != nil {
		t.Fatalf("Start as the manifest's ServiceAccount: %v", err)
	}
	done := make(chan bexec.Exit, 1)
	go func() { done <- p.Wait() }()
	select {
	case x := <-done:
		if x.Code != 0 || x.Cause != bexec.CauseExited {
			t.Errorf("exit as the manifest's ServiceAccount: %+v", x)
		}
	case <-ctx.Done():
		t.Fatal("the Pod started as the manifest's ServiceAccount did not end")
	}
	if strings.Contains(strings.ToLower(stderr.String()), "forbidden") {
		t.Errorf("reading the log was forbidden: %s", stderr.String())
	}
	// Wait deleted the finished Pod.
	for {
		_, err := cluster.Client.CoreV1().Pods(role.Namespace).Get(ctx, key, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("the finished Pod was not deleted: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
