package kubetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/client-go/util/retry"
)

// The condition and reason the pod garbage collector of kube-controller-manager puts on a Pod
// whose node no longer exists, before it deletes the Pod.
const (
	ConditionDisruptionTarget = corev1.DisruptionTarget
	ReasonDeletionByPodGC     = "DeletionByPodGC"
)

// AddNode creates another kwok node named name, tainted as the first one (Pods tolerate it with
// Toleration), and waits until kwok made it Ready. The binder binds nothing to it: BindTo does.
// The node is deleted at the end of the test unless LoseNode deleted it before.
func (c *Cluster) AddNode(t testing.TB, name string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	node := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{
			Name:        name,
			Annotations: map[string]string{kwokAnnotation: "fake"},
			Labels:      map[string]string{"type": "kwok", corev1.LabelHostname: name},
		},
		Spec: corev1.NodeSpec{Taints: []corev1.Taint{{Key: kwokTaintKey, Value: "fake", Effect: corev1.TaintEffectNoSchedule}}},
	}
	if _, err := c.Client.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{}); err != nil {
		t.Fatalf("kubetest: create node %s: %v", name, err)
	}
	t.Cleanup(func() {
		err := c.Client.CoreV1().Nodes().Delete(context.Background(), name, metav1.DeleteOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			t.Errorf("kubetest: delete node %s: %v", name, err)
		}
	})
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		err := c.readyNode(ctx, name)
		if err == nil {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("kubetest: node %s: %v", name, err)
		case <-tick.C:
		}
	}
}

// BindTo binds the Pod to node, as a scheduler would (Bind binds to Node).
func (c *Cluster) BindTo(ctx context.Context, namespace, pod, node string) error {
	b := &corev1.Binding{
		ObjectMeta: metav1.ObjectMeta{Name: pod, Namespace: namespace},
		Target:     corev1.ObjectReference{Kind: "Node", Name: node},
	}
	if err := c.Client.CoreV1().Pods(namespace).Bind(ctx, b, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("kubetest: bind Pod %s/%s to %s: %w", namespace, pod, node, err)
	}
	return nil
}

// LoseNode deletes the node, as a cloud's node controller does when its instance is gone, then
// does what the pod garbage collector does (no controller manager runs here) with every Pod
// bound to it: marks it Failed with the DisruptionTarget condition (reason DeletionByPodGC) and
// deletes it with no grace period. It returns the names (namespace/name) of the Pods it removed.
func (c *Cluster) LoseNode(ctx context.Context, name string) ([]string, error) {
	if err := c.Client.CoreV1().Nodes().Delete(ctx, name, metav1.DeleteOptions{}); err != nil {
		return nil, fmt.Errorf("kubetest: delete node %s: %w", name, err)
	}
	pods, err := c.Client.CoreV1().Pods(metav1.NamespaceAll).List(ctx, metav1.ListOptions{
		FieldSelector: fields.OneTermEqualSelector("spec.nodeName", name).String()})
	if err != nil {
		return nil, fmt.Errorf("kubetest: Pods of node %s: %w", name, err)
	}
	var gone []string
	for _, pod := range pods.Items {
		pods := c.Client.CoreV1().Pods(pod.Namespace)
		err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
			cur, err := pods.Get(ctx, pod.Name, metav1.GetOptions{})
			if err != nil {
				return err
			}
			if cur.Status.Phase != corev1.PodSucceeded && cur.Status.Phase != corev1.PodFailed {
				cur.Status.Phase = corev1.PodFailed
			}
			cur.Status.Conditions = append(cur.Status.Conditions, corev1.PodCondition{
				Type: ConditionDisruptionTarget, Status: corev1.ConditionTrue, Reason: ReasonDeletionByPodGC,
				Message: "PodGC: node no longer exists", LastTransitionTime: metav1.Now()})
			_, err = pods.UpdateStatus(ctx, cur, metav1.UpdateOptions{})
			return err
		})
		if err == nil {
			err = pods.Delete(ctx, pod.Name, metav1.DeleteOptions{GracePeriodSeconds: new(int64(0))})
		}
		if err != nil && !apierrors.IsNotFound(err) {
			return gone, fmt.Errorf("kubetest: collect Pod %s/%s of node %s: %w", pod.Namespace, pod.Name, name, err)
		}
		gone = append(gone, pod.Namespace+"/"+pod.Name)
	}
	return gone, nil
}
