package server

import (
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"sort"
	"strings"
	"sync"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	bexec "github.com/barge-run/barge/internal/exec"
	"github.com/barge-run/barge/internal/exec/kube"
)

// kubeClusters are the Kubernetes clusters of barge server --kubeconfig: every context of every
// file given ("in-cluster" for the cluster barge runs in), each known as
// arn:aws:eks:<region>:<account>:cluster/<context name>. A compute environment of any account may
// name one (the operator's clusters are every tenant's capacity, as a compute environment's
// instances are); its jobs run as Pods in the namespace it names.
type kubeClusters struct {
	region      string
	configs     map[string]*rest.Config // context name → how to reach it
	tolerations []corev1.Toleration
	log         *slog.Logger
	// apiEndpoint is --kube-endpoint; hostEndpoint the endpoint attempts get on barge's host.
	apiEndpoint  string
	hostEndpoint func() string

	mu    sync.Mutex
	execs map[string]*kube.Executor // context/namespace → its executor
}

// newKubeClusters reads the kubeconfig files; nil when none are given.
func newKubeClusters(files []string, tolerations []string, region string, log *slog.Logger) (*kubeClusters, error) {
	if len(files) == 0 {
		return nil, nil
	}
	k := &kubeClusters{region: region, configs: map[string]*rest.Config{}, execs: map[string]*kube.Executor{}, log: log}
	for _, f := range files {
		if f == "in-cluster" {
			cfg, err := rest.InClusterConfig()
			if err != nil {
				return nil, fmt.Errorf("--kubeconfig in-cluster: %w", err)
			}
			k.configs["in-cluster"] = cfg
			continue
		}
		raw, err := clientcmd.LoadFromFile(f)
		if err != nil {
			return nil, fmt.Errorf("--kubeconfig %s: %w", f, err)
		}
		for name := range raw.Contexts {
			cfg, err := clientcmd.NewNonInteractiveClientConfig(*raw, name, &clientcmd.ConfigOverrides{}, nil).ClientConfig()
			if err != nil {
				return nil, fmt.Errorf("--kubeconfig %s: context %s: %w", f, name, err)
			}
			k.configs[name] = cfg
		}
	}
	for _, t := range tolerations {
		tol, err := parseToleration(t)
		if err != nil {
			return nil, err
		}
		k.tolerations = append(k.tolerations, tol)
	}
	return k, nil
}

// parseToleration reads KEY=VALUE:EFFECT (or KEY:EFFECT, any value).
func parseToleration(s string) (corev1.Toleration, error) {
	kv, effect, ok := strings.Cut(s, ":")
	key, value, hasValue := strings.Cut(kv, "=")
	t := corev1.Toleration{Key: key, Value: value, Effect: corev1.TaintEffect(effect), Operator: corev1.TolerationOpEqual}
	if !hasValue {
		t.Operator = corev1.TolerationOpExists
	}
	if !ok || key == "" || (effect != "NoSchedule" && effect != "PreferNoSchedule" && effect != "NoExecute") {
		return t, fmt.Errorf("--kube-toleration %q: want KEY=VALUE:EFFECT or KEY:EFFECT, EFFECT NoSchedule, PreferNoSchedule or NoExecute", s)
	}
	return t, nil
}

// reachAPI sets the endpoint Pods reach barge's API at (--kube-endpoint; "": none) and the one
// it replaces in their environment.
func (k *kubeClusters) reachAPI(endpoint string, host func() string) error {
	if endpoint == "" {
		return nil
	}
	if k == nil {
		return errors.New("--kube-endpoint needs --kubeconfig")
	}
	u, err := url.Parse(endpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("--kube-endpoint %q: want an http:// or https:// URL, e.g. http://barge.barge-system.svc:7700", endpoint)
	}
	k.apiEndpoint, k.hostEndpoint = strings.TrimSuffix(endpoint, "/"), host
	return nil
}

// Executor implements batch.Clusters.
func (k *kubeClusters) Executor(clusterARN, namespace string) (bexec.Executor, error) {
	name, ok := k.clusterName(clusterARN)
	if !ok {
		return nil, fmt.Errorf("%s is not a cluster of this barge (it has %s)", clusterARN, strings.Join(k.names(), ", "))
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if ex, ok := k.execs[name+"/"+namespace]; ok {
		return ex, nil
	}
	ex, err := kube.New(kube.Options{Config: k.configs[name], Namespace: namespace, ClusterARN: clusterARN,
		Tolerations: k.tolerations, APIEndpoint: k.apiEndpoint, HostEndpoint: k.hostEndpoint,
		Logger: k.log.With("cluster", name, "namespace", namespace)})
	if err != nil {
		return nil, fmt.Errorf("cluster %s: %w", name, err)
	}
	k.execs[name+"/"+namespace] = ex
	return ex, nil
}

// clusterName is the context an EKS cluster ARN of this region names.
func (k *kubeClusters) clusterName(arn string) (string, bool) {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || parts[2] != "eks" || parts[3] != k.region || !strings.HasPrefix(parts[5], "cluster/") {
		return "", false
	}
	name := strings.TrimPrefix(parts[5], "cluster/")
	_, ok := k.configs[name]
	return name, ok
}

func (k *kubeClusters) names() []string {
	var out []string
	for n := range k.configs {
		out = append(out, "cluster/"+n)
	}
	sort.Strings(out)
	return out
}

// close stops every executor's watch (their Pods run on).
func (k *kubeClusters) close() {
	if k == nil {
		return
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	for _, ex := range k.execs {
		ex.Close()
	}
}
