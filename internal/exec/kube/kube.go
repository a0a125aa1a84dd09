package kube

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"

	"github.com/barge-run/barge/internal/exec"
)

// The labels and annotations barge puts on its Pods.
const (
	// LabelKey holds the attempt's key (the Pod's name too); the informer selects on it.
	LabelKey = "barge.run/key"
	// LabelJob holds the job id, label-safe (an array child's ':' becomes '-').
	LabelJob = "barge.run/job"
	// LabelAttempt holds the attempt number.
	LabelAttempt = "barge.run/attempt"
	// LabelAccount holds the account (tenant) the attempt belongs to.
	LabelAccount = "barge.run/account"
	// AnnotationAttemptID holds the attempt's full id (exec.Spec.ID).
	AnnotationAttemptID = "barge.run/attempt-id"
	// ContainerName names the one container of every Pod.
	ContainerName = "main"
)

// Options configure an Executor.
type Options struct {
	// Config reaches the cluster: from a kubeconfig file (clientcmd) or rest.InClusterConfig.
	Config *rest.Config
	// Namespace is where the Pods are created; it must exist.
	Namespace string
	// ClusterARN names the cluster in Describe (arn:aws:eks:<region>:<account>:cluster/<name>).
	ClusterARN string
	// Tolerations and NodeSelector are added to every Pod (a dedicated node pool, kwok's taint).
	Tolerations  []corev1.Toleration
	NodeSelector map[string]string
	// ServiceAccount runs the Pods as that ServiceAccount with its token mounted; "" runs them
	// as the namespace's default one without a token (batch jobs do not call the cluster's API).
	ServiceAccount string
	// PodLabels and PodAnnotations, when set, add labels and annotations to a spec's Pod (a
	// queue's name; the tests' kwok stages read annotations). barge's own labels win.
	PodLabels      func(exec.Spec) map[string]string
	PodAnnotations func(exec.Spec) map[string]string
	// APIEndpoint is barge's API as Pods reach it (barge server --kube-endpoint: a Service's
	// DNS name, an ingress): the Pods' AWS_ENDPOINT_URL, in place of the one barge hands
	// attempts on its own host, which a Pod cannot reach. An AWS_ENDPOINT_URL the job sets
	// itself is kept. "": the attempt's environment is left as it is.
	APIEndpoint string
	// HostEndpoint returns the AWS_ENDPOINT_URL barge hands attempts on its own host: the value
	// APIEndpoint replaces, besides any on a loopback address. nil: loopback addresses only.
	HostEndpoint func() string
	// LogDrain bounds how long Wait waits for the end of the container's log after the
	// container ended; 0 is 10 seconds.
	LogDrain time.Duration
	// CreateConcurrency bounds the Pod creations in flight at once; 0 is DefaultCreateConcurrency.
	// An array's children all start at once: a thousand concurrent creations only queue in the
	// API server (and open more connections to it) without admitting Pods any sooner.
	CreateConcurrency int
	// Logger receives what the executor cannot report through a Process (a failed deletion of
	// a finished Pod); nil is slog.Default().
	Logger *slog.Logger
}

// Executor runs attempts as Pods. It implements exec.Executor and exec.Outliving.
type Executor struct {
	opts     Options
	client   kubernetes.Interface
	informer cache.SharedIndexInformer
	stop     chan struct{}
	stopOnce sync.Once
	creating chan struct{} // a slot per Pod creation in flight (Options.CreateConcurrency)

	mu        sync.Mutex
	procs     map[string]*process    // by key: the attempts this Executor follows
	collected map[types.UID]struct{} // Pods deleted after their Wait returned
}

var (
	_ exec.Executor  = (*Executor)(nil)
	_ exec.Outliving = (*Executor)(nil)
)

// New connects to the cluster and starts watching the namespace's barge Pods. Close stops the
// watch; the Pods themselves are left running.
func New(opts Options) (*Executor, error) {
	if opts.Config == nil {
		return nil, errors.New("kube: no cluster configuration")
	}
	if opts.Namespace == "" {
		return nil, errors.New("kube: no namespace")
	}
	if opts.LogDrain <= 0 {
		opts.LogDrain = 10 * time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.CreateConcurrency <= 0 {
		opts.CreateConcurrency = DefaultCreateConcurrency
	}
	cfg, err := withRateLimit(opts.Config)
	if err != nil {
		return nil, fmt.Errorf("kube: %w", err)
	}
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("kube: client for %s: %w", opts.Config.Host, err)
	}
	e := &Executor{
		opts:      opts,
		client:    client,
		stop:      make(chan struct{}),
		creating:  make(chan struct{}, opts.CreateConcurrency),
		procs:     map[string]*process{},
		collected: map[types.UID]struct{}{},
	}
	factory := informers.NewSharedInformerFactoryWithOptions(client, time.Minute,
		informers.WithNamespace(opts.Namespace),
		informers.WithTweakListOptions(func(o *metav1.ListOptions) { o.LabelSelector = LabelKey }))
	e.informer = factory.Core().V1().Pods().Informer()
	if _, err := e.informer.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { e.dispatch(obj, false) },
		UpdateFunc: func(_, obj any) { e.dispatch(obj, false) },
		DeleteFunc: func(obj any) { e.dispatch(obj, true) },
	}); err != nil {
		return nil, fmt.Errorf("kube: watching Pods: %w", err)
	}
	factory.Start(e.stop)
	return e, nil
}

// The client-side rate limit of a configuration that sets none. client-go's own default (5
// requests a second, bursts of 10 — what a kubeconfig or rest.InClusterConfig gives) caps barge
// at 5 Pods created a second, fewer with their log streams and deletions (three requests a Pod):
// a 1,000-child array took minutes to reach the cluster. The API server protects itself with
// its own priority and fairness; this bound only keeps one barge from flooding it, well above
// what a Pod's requests need at the admission rate the API server allows (docs/benchmarks.md).
const (
	DefaultQPS   = 500
	DefaultBurst = 1000
)

// DefaultCreateConcurrency is Options.CreateConcurrency's default.
const DefaultCreateConcurrency = 32

// QPSEnv names the variable that sets the client-side rate limit of every cluster in place of
// DefaultQPS and DefaultBurst: "QPS" or "QPS/BURST" (a negative QPS: no limit). The limit a
// configuration sets itself (rest.Config.QPS) wins over it.
const QPSEnv = "BARGE_KUBE_QPS"

// withRateLimit returns cfg, or a copy of it with QPSEnv's limit, else DefaultQPS and
// DefaultBurst, when it sets no rate limit of its own (QPS 0 and no RateLimiter).
func withRateLimit(cfg *rest.Config) (*rest.Config, error) {
	if cfg.QPS != 0 || cfg.RateLimiter != nil {
		return cfg, nil
	}
	qps, burst := float32(DefaultQPS), DefaultBurst
	if v := os.Getenv(QPSEnv); v != "" {
		q, b, hasBurst := strings.Cut(v, "/")
		f, err := strconv.ParseFloat(q, 32)
		if err == nil && f == 0 {
			err = errors.New("zero")
		}
		burst = int(2 * f)
		if err == nil && hasBurst {
			burst, err = strconv.Atoi(b)
		}
		if err != nil {
			return nil, fmt.Errorf("%s=%q: want QPS or QPS/BURST (QPS < 0: no limit): %w", QPSEnv, v, err)
		}
		qps = float32(f)
	}
	cfg = rest.CopyConfig(cfg)
	cfg.QPS, cfg.Burst = qps, max(burst, 1)
	return cfg, nil
}

// Close stops watching the cluster. Processes still followed learn nothing more; Pods run on.
func (e *Executor) Close() {
	e.stopOnce.Do(func() { close(e.stop) })
}

// Describe says where attempts run and what is enforced.
func (e *Executor) Describe() string {
	cluster := e.opts.ClusterARN
	if cluster == "" {
		cluster = e.opts.Config.Host
	}
	return fmt.Sprintf("kubernetes: cluster %s, namespace %s; every attempt a Pod; cpu, memory and "+
		"nvidia.com/gpu as requests = limits, enforced by the kubelet; images required; volumes not supported",
		cluster, e.opts.Namespace)
}

// AttemptsOutliveServer reports that Pods run on when barge stops.
func (e *Executor) AttemptsOutliveServer() bool { return true }

// synced waits until the informer holds the namespace's Pods.
func (e *Executor) synced(ctx context.Context) error {
	if !cache.WaitForCacheSync(ctx.Done(), e.informer.HasSynced) {
		return fmt.Errorf("kube: Pods of namespace %s not listed: %w", e.opts.Namespace, context.Cause(ctx))
	}
	return nil
}

// List returns the keys of the namespace's barge Pods that have not been collected (finished,
// Waited on and deleted), and of the attempts this Executor follows.
func (e *Executor) List(ctx context.Context) ([]string, error) {
	if err := e.synced(ctx); err != nil {
		return nil, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	seen := map[string]bool{}
	var keys []string
	for _, obj := range e.informer.GetStore().List() {
		pod, ok := obj.(*corev1.Pod)
		if !ok {
			continue
		}
		key := pod.Labels[LabelKey]
		if _, gone := e.collected[pod.UID]; gone || key == "" || seen[key] {
			continue
		}
		seen[key] = true
		keys = append(keys, key)
	}
	for key := range e.procs {
		if !seen[key] {
			seen[key] = true
			keys = append(keys, key)
		}
	}
	return keys, nil
}

// Attach takes back the Pod named key, following its log anew from its start into stdout.
func (e *Executor) Attach(ctx context.Context, key string, stdout, stderr io.Writer) (exec.Process, error) {
	if err := e.synced(ctx); err != nil {
		return nil, err
	}
	pod, err := e.client.CoreV1().Pods(e.opts.Namespace).Get(ctx, key, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, exec.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("kube: get Pod %s/%s: %w", e.opts.Namespace, key, err)
	}
	if pod.Labels[LabelKey] != key || e.isCollected(pod.UID) {
		return nil, exec.ErrNotFound
	}
	p, fresh := e.register(key, stdout, stderr)
	if fresh {
		p.follow(pod.UID)
	}
	return p, nil
}

// register returns the process following key, making one (fresh) when there is none.
func (e *Executor) register(key string, stdout, stderr io.Writer) (p *process, fresh bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if p := e.procs[key]; p != nil {
		return p, false
	}
	p = newProcess(e, key, stdout, stderr)
	e.procs[key] = p
	return p, true
}

// unregister forgets p (its Pod was not created, or it was collected).
func (e *Executor) unregister(p *process) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.procs[p.key] == p {
		delete(e.procs, p.key)
	}
}

func (e *Executor) isCollected(uid types.UID) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	_, ok := e.collected[uid]
	return ok
}

func (e *Executor) markCollected(uid types.UID) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.collected[uid] = struct{}{}
}

// cached returns the informer's copy of the Pod named key.
func (e *Executor) cached(key string) (*corev1.Pod, bool) {
	obj, ok, err := e.informer.GetStore().GetByKey(e.opts.Namespace + "/" + key)
	if err != nil || !ok {
		return nil, false
	}
	pod, ok := obj.(*corev1.Pod)
	return pod, ok
}

// dispatch hands an informer event to the process following the Pod.
func (e *Executor) dispatch(obj any, deleted bool) {
	if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = tomb.Obj
	}
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		return
	}
	e.mu.Lock()
	if deleted {
		delete(e.collected, pod.UID)
	}
	p := e.procs[pod.Labels[LabelKey]]
	e.mu.Unlock()
	if p != nil {
		p.observe(pod, deleted)
	}
}
