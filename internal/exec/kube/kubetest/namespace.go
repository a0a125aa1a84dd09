package kubetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"

	"github.com/barge-run/barge/internal/exec/kube"
)

// Namespace creates a namespace of the test's own, with the default ServiceAccount Pods need
// (no controller manager makes it) and kube.Role bound to ExecutorUser. Namespaces are left
// behind: nothing would finish deleting them, and the cluster goes at the end of the binary.
func (c *Cluster) Namespace(t testing.TB) string {
	t.Helper()
	c.mu.Lock()
	c.nsSeq++
	name := fmt.Sprintf("t%d-%s", c.nsSeq, randomToken()[:6])
	c.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := c.createNamespace(ctx, name); err != nil {
		t.Fatal(err)
	}
	return name
}

func (c *Cluster) createNamespace(ctx context.Context, name string) error {
	core, rbac := c.Client.CoreV1(), c.Client.RbacV1()
	if _, err := core.Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("kubetest: create namespace %s: %w", name, err)
	}
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "default", Namespace: name}}
	if _, err := core.ServiceAccounts(name).Create(ctx, sa, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("kubetest: create ServiceAccount %s/default: %w", name, err)
	}
	if _, err := rbac.Roles(name).Create(ctx, kube.Role(name, "barge-executor"), metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("kubetest: create Role in %s: %w", name, err)
	}
	rb := &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "barge-executor", Namespace: name},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "barge-executor"},
		Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: ExecutorUser}},
	}
	if _, err := rbac.RoleBindings(name).Create(ctx, rb, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("kubetest: create RoleBinding in %s: %w", name, err)
	}
	return nil
}

// ExecutorConfig reaches the API server as ExecutorUser: in a namespace made by Namespace it
// may do exactly what kube.Role allows.
func (c *Cluster) ExecutorConfig() *rest.Config {
	return c.config(ExecutorUser)
}
