package kubetest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/client-go/tools/cache"
)

// The annotation that hands a Node to kwok, and the taint the node carries.
const (
	kwokAnnotation = "kwok.x-k8s.io/node"
	kwokTaintKey   = "kwok.x-k8s.io/node"
)

// startKwok starts kwok, creates its node, waits for kwok to make it Ready and starts the binder.
func (c *Cluster) startKwok(ctx context.Context, bin string) error {
	cfg := filepath.Join(c.Dir, "kwok.yaml")
	if err := os.WriteFile(cfg, []byte(kwokConfig), 0o600); err != nil {
		return fmt.Errorf("kubetest: %w", err)
	}
	// The node's kubelet endpoint is kwok's own server on loopback: the API server's log
	// requests reach it and never leave the machine. No container runs, so it has no logs to
	// serve and answers "no logs found".
	port := strconv.Itoa(freePort())
	p, err := c.run(bin, "kwok", "--kubeconfig="+c.Kubeconfig, "--config="+cfg,
		"--manage-all-nodes=false", "--manage-nodes-with-annotation-selector="+kwokAnnotation+"=fake",
		"--node-ip=127.0.0.1", "--node-port="+port, "--server-address=127.0.0.1:"+port)
	if err != nil {
		return err
	}
	c.Toleration = corev1.Toleration{Key: kwokTaintKey, Operator: corev1.TolerationOpEqual, Value: "fake", Effect: corev1.TaintEffectNoSchedule}
	node := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{
			Name:        c.Node,
			Annotations: map[string]string{kwokAnnotation: "fake"},
			Labels:      map[string]string{"type": "kwok", corev1.LabelHostname: c.Node},
		},
		Spec: corev1.NodeSpec{Taints: []corev1.Taint{{Key: kwokTaintKey, Value: "fake", Effect: corev1.TaintEffectNoSchedule}}},
	}
	if _, err := c.Client.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("kubetest: create node: %w", err)
	}
	if err := p.waitReady(ctx, c.nodeReady); err != nil {
		return err
	}
	bctx, cancel := context.WithCancel(context.Background())
	c.stop = cancel
	return c.startBinder(bctx)
}

// nodeReady checks that kwok made the node Ready, and clears the not-ready taint the API
// server's admission put on it (no node controller runs to clear it).
func (c *Cluster) nodeReady(ctx context.Context) error { return c.readyNode(ctx, c.Node) }

// readyNode is nodeReady of the node named name.
func (c *Cluster) readyNode(ctx context.Context, name string) error {
	n, err := c.Client.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return err
	}
	ready := false
	for _, cond := range n.Status.Conditions {
		ready = ready || cond.Type == corev1.NodeReady && cond.Status == corev1.ConditionTrue
	}
	if !ready {
		return fmt.Errorf("node %s not Ready yet", name)
	}
	var keep []corev1.Taint
	for _, t := range n.Spec.Taints {
		if t.Key != corev1.TaintNodeNotReady {
			keep = append(keep, t)
		}
	}
	if len(keep) == len(n.Spec.Taints) {
		return nil
	}
	n.Spec.Taints = keep
	_, err = c.Client.CoreV1().Nodes().Update(ctx, n, metav1.UpdateOptions{})
	return err
}

// startBinder plays the scheduler: every Pod without a node and without AnnotationHold is bound
// to the kwok node.
func (c *Cluster) startBinder(ctx context.Context) error {
	lw := cache.NewFilteredListWatchFromClient(c.Client.CoreV1().RESTClient(), "pods", metav1.NamespaceAll,
		func(o *metav1.ListOptions) {
			o.FieldSelector = fields.OneTermEqualSelector("spec.nodeName", "").String()
		})
	inf := cache.NewSharedIndexInformer(lw, &corev1.Pod{}, 0, cache.Indexers{})
	bind := func(obj any) {
		pod, ok := obj.(*corev1.Pod)
		if !ok || pod.Spec.NodeName != "" || pod.DeletionTimestamp != nil {
			return
		}
		if _, hold := pod.Annotations[AnnotationHold]; hold {
			return
		}
		_ = c.Bind(ctx, pod.Namespace, pod.Name) // a Pod bound or deleted meanwhile is no error here
	}
	if _, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    bind,
		UpdateFunc: func(_, obj any) { bind(obj) },
	}); err != nil {
		return fmt.Errorf("kubetest: binder: %w", err)
	}
	go inf.RunWithContext(ctx)
	if !cache.WaitForCacheSync(ctx.Done(), inf.HasSynced) {
		return fmt.Errorf("kubetest: binder did not sync")
	}
	return nil
}

// Bind binds the Pod to the kwok node, as a scheduler would.
func (c *Cluster) Bind(ctx context.Context, namespace, pod string) error {
	b := &corev1.Binding{
		ObjectMeta: metav1.ObjectMeta{Name: pod, Namespace: namespace},
		Target:     corev1.ObjectReference{Kind: "Node", Name: c.Node},
	}
	if err := c.Client.CoreV1().Pods(namespace).Bind(ctx, b, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("kubetest: bind Pod %s/%s: %w", namespace, pod, err)
	}
	return nil
}
