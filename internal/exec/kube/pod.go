package kube

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/barge-run/barge/internal/exec"
)

// GPUResource is the extended resource a Pod requests for spec.GPUs (NVIDIA's device plugin).
const GPUResource corev1.ResourceName = "nvidia.com/gpu"

type deadlineKey struct{}

// WithActiveDeadline returns a context that makes Start give the Pod activeDeadlineSeconds of d
// (rounded up to whole seconds): the kubelet ends the Pod after d even while barge is down.
// exec.Spec is shared by every backend, so a job's timeout reaches this backend this way.
func WithActiveDeadline(ctx context.Context, d time.Duration) context.Context {
	return context.WithValue(ctx, deadlineKey{}, d)
}

func activeDeadline(ctx context.Context) *int64 {
	d, ok := ctx.Value(deadlineKey{}).(time.Duration)
	if !ok || d <= 0 {
		return nil
	}
	s := int64(math.Ceil(d.Seconds()))
	return &s
}

// Start creates the Pod of spec, or takes back the Pod its key names when that exists (made by
// this barge before a restart, or by another). A key this Executor already follows returns that
// process, with the writers it was started with.
func (e *Executor) Start(ctx context.Context, spec exec.Spec) (exec.Process, error) {
	pod, err := e.podFor(ctx, spec)
	if err != nil {
		return nil, fmt.Errorf("kube: %w", err)
	}
	if err := e.synced(ctx); err != nil {
		return nil, err
	}
	// The Pod is built; nothing is created until the gate opens (exec.Spec.Gate).
	if err := spec.AwaitGate(ctx); err != nil {
		return nil, fmt.Errorf("kube: %w", err)
	}
	p, fresh := e.register(spec.Key, spec.Stdout, spec.Stderr)
	if !fresh {
		return p, nil
	}
	created, err := e.create(ctx, spec.Key, pod)
	if err != nil {
		e.unregister(p)
		return nil, fmt.Errorf("kube: create Pod %s/%s: %w", e.opts.Namespace, pod.Name, err)
	}
	p.follow(created.UID)
	return p, nil
}

// create creates the Pod, or returns the one of that name barge created before; at most
// Options.CreateConcurrency at once.
func (e *Executor) create(ctx context.Context, key string, pod *corev1.Pod) (*corev1.Pod, error) {
	select {
	case e.creating <- struct{}{}:
		defer func() { <-e.creating }()
	case <-ctx.Done():
		return nil, context.Cause(ctx)
	}
	pods := e.client.CoreV1().Pods(e.opts.Namespace)
	created, err := pods.Create(ctx, pod, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		created, err = pods.Get(ctx, pod.Name, metav1.GetOptions{})
		if err == nil && created.Labels[LabelKey] != key {
			err = fmt.Errorf("a Pod named %s exists that barge did not create", pod.Name)
		}
	}
	return created, err
}

// check refuses what a Pod cannot give.
func check(spec exec.Spec) error {
	switch {
	case spec.Image == "" || spec.Image == "host":
		return errors.New("a Kubernetes compute environment runs container images only: the job has no image")
	case len(validation.IsDNS1123Label(spec.Key)) > 0:
		return fmt.Errorf("attempt key %q is not a DNS label, so it cannot name a Pod", spec.Key)
	case len(spec.Mounts) > 0:
		return errors.New("volumes are not supported on Kubernetes compute environments yet")
	case len(spec.Listen) > 0:
		return errors.New("endpoints served into an attempt are not supported on Kubernetes")
	case spec.Network == exec.NetworkPrivate:
		return errors.New("network \"private\" is not available on Kubernetes (Pods share the cluster's network)")
	case len(spec.Ulimits) > 0:
		return errors.New("ulimits are not supported on Kubernetes")
	}
	return nil
}

// podFor builds the Pod that runs spec.
func (e *Executor) podFor(ctx context.Context, spec exec.Spec) (*corev1.Pod, error) {
	if err := check(spec); err != nil {
		return nil, err
	}
	sc, err := securityContext(spec)
	if err != nil {
		return nil, err
	}
	res, err := resources(spec)
	if err != nil {
		return nil, err
	}
	container := corev1.Container{
		Name:            ContainerName,
		Image:           spec.Image,
		Command:         spec.Entrypoint,
		Args:            spec.Command,
		WorkingDir:      spec.WorkingDir,
		Env:             envVars(e.podEnv(spec.Env)),
		Resources:       res,
		SecurityContext: sc,
	}
	automount := e.opts.ServiceAccount != ""
	pod := &corev1.Pod{
		ObjectMeta: e.podMeta(spec),
		Spec: corev1.PodSpec{
			Containers:                   []corev1.Container{container},
			RestartPolicy:                corev1.RestartPolicyNever,
			ActiveDeadlineSeconds:        activeDeadline(ctx),
			Tolerations:                  e.opts.Tolerations,
			NodeSelector:                 e.opts.NodeSelector,
			ServiceAccountName:           e.opts.ServiceAccount,
			AutomountServiceAccountToken: &automount,
			HostNetwork:                  spec.Network == exec.NetworkHost,
			EnableServiceLinks:           new(false),
		},
	}
	return pod, nil
}

// podMeta names the Pod by the key and labels it; the caller's labels and annotations go under
// barge's own.
func (e *Executor) podMeta(spec exec.Spec) metav1.ObjectMeta {
	labels, annotations := map[string]string{}, map[string]string{}
	for k, v := range spec.Labels {
		labels[k] = v
	}
	for k, v := range spec.Annotations {
		annotations[k] = v
	}
	if e.opts.PodLabels != nil {
		for k, v := range e.opts.PodLabels(spec) {
			labels[k] = v
		}
	}
	if e.opts.PodAnnotations != nil {
		for k, v := range e.opts.PodAnnotations(spec) {
			annotations[k] = v
		}
	}
	job, attempt := splitID(spec.ID)
	labels[LabelKey] = spec.Key
	labels[LabelJob] = labelValue(job)
	labels[LabelAttempt] = labelValue(attempt)
	labels[LabelAccount] = labelValue(spec.Tenant)
	annotations[AnnotationAttemptID] = spec.ID
	return metav1.ObjectMeta{Name: spec.Key, Namespace: e.opts.Namespace, Labels: labels, Annotations: annotations}
}

// splitID splits "<job id>#<attempt>".
func splitID(id string) (job, attempt string) {
	if i := strings.LastIndexByte(id, '#'); i >= 0 {
		return id[:i], id[i+1:]
	}
	return id, ""
}

// labelValue makes s a valid label value: characters outside [A-Za-z0-9._-] become '-', at most
// 63 of them, starting and ending with a letter or digit.
func labelValue(s string) string {
	b := []byte(s)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			b[i] = '-'
		}
	}
	if len(b) > validation.LabelValueMaxLength {
		b = b[:validation.LabelValueMaxLength]
	}
	alnum := func(r rune) bool { return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') }
	return strings.TrimFunc(string(b), alnum)
}

// podEnv puts Options.APIEndpoint in the environment's AWS_ENDPOINT_URL where the variable is
// missing or is barge's own address on its host (HostEndpoint, or any loopback URL): those
// reach nothing from inside a Pod.
func (e *Executor) podEnv(env []string) []string {
	if e.opts.APIEndpoint == "" {
		return env
	}
	host := ""
	if e.opts.HostEndpoint != nil {
		host = e.opts.HostEndpoint()
	}
	out := make([]string, 0, len(env)+1)
	found := false
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, endpointVar+"="); ok {
			found = true
			if v == host || isLoopbackURL(v) {
				kv = endpointVar + "=" + e.opts.APIEndpoint
			}
		}
		out = append(out, kv)
	}
	if !found {
		out = append(out, endpointVar+"="+e.opts.APIEndpoint)
	}
	return out
}

// endpointVar is the variable the AWS SDKs and CLIs take their endpoint from.
const endpointVar = "AWS_ENDPOINT_URL"

// isLoopbackURL reports whether u names a loopback host (127.0.0.0/8, ::1, localhost).
func isLoopbackURL(u string) bool {
	parsed, err := url.Parse(u)
	if err != nil {
		return false
	}
	host := parsed.Hostname()
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func envVars(env []string) []corev1.EnvVar {
	out := make([]corev1.EnvVar, 0, len(env))
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		out = append(out, corev1.EnvVar{Name: k, Value: v})
	}
	return out
}

// resources gives requests = limits from the spec's vCPU, memory, GPUs and disk.
func resources(spec exec.Spec) (corev1.ResourceRequirements, error) {
	list := corev1.ResourceList{}
	if spec.MilliVCPU > 0 {
		list[corev1.ResourceCPU] = *resource.NewMilliQuantity(spec.MilliVCPU, resource.DecimalSI)
	}
	if spec.MemoryMiB > 0 {
		list[corev1.ResourceMemory] = resource.MustParse(strconv.FormatInt(spec.MemoryMiB, 10) + "Mi")
	}
	if spec.GPUs > 0 {
		list[GPUResource] = *resource.NewQuantity(int64(spec.GPUs), resource.DecimalSI)
	}
	if spec.DiskBytes > 0 {
		list[corev1.ResourceEphemeralStorage] = *resource.NewQuantity(spec.DiskBytes, resource.BinarySI)
	}
	if spec.MilliVCPU < 0 || spec.MemoryMiB < 0 || spec.GPUs < 0 || spec.DiskBytes < 0 {
		return corev1.ResourceRequirements{}, errors.New("negative resource requirement")
	}
	if len(list) == 0 {
		return corev1.ResourceRequirements{}, nil
	}
	return corev1.ResourceRequirements{Requests: list, Limits: list.DeepCopy()}, nil
}

// securityContext maps the spec's user, privilege and read-only root. Kubernetes knows users
// by number only: a user name is refused rather than run as the image's user.
func securityContext(spec exec.Spec) (*corev1.SecurityContext, error) {
	sc := &corev1.SecurityContext{}
	set := false
	if spec.User != "" {
		u, g, hasGroup := strings.Cut(spec.User, ":")
		uid, err := strconv.ParseInt(u, 10, 64)
		if err != nil || uid < 0 {
			return nil, fmt.Errorf("user %q: Kubernetes runs containers as numeric users only (uid or uid:gid)", spec.User)
		}
		sc.RunAsUser, set = &uid, true
		if hasGroup {
			gid, err := strconv.ParseInt(g, 10, 64)
			if err != nil || gid < 0 {
				return nil, fmt.Errorf("user %q: Kubernetes runs containers with numeric groups only", spec.User)
			}
			sc.RunAsGroup = &gid
		}
	}
	if spec.Privileged {
		sc.Privileged, set = new(true), true
	}
	if spec.ReadonlyRootFS {
		sc.ReadOnlyRootFilesystem, set = new(true), true
	}
	if !set {
		return nil, nil
	}
	return sc, nil
}
