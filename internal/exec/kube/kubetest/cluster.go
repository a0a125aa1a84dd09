package kubetest

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// The users the API server knows, by token.
const (
	// AdminUser is in system:masters: it may do anything.
	AdminUser = "admin"
	// ExecutorUser has no rights of its own; Namespace binds kube.Role to it there.
	ExecutorUser = "barge"
)

// Cluster is a running control plane: etcd, kube-apiserver and kwok with one fake node.
type Cluster struct {
	// Dir holds the data, logs, certificates and kubeconfig; removed when the cluster stops.
	Dir string
	// Kubeconfig is a kubeconfig file for AdminUser.
	Kubeconfig string
	// Admin reaches the API server as AdminUser; Client is its clientset.
	Admin  *rest.Config
	Client kubernetes.Interface
	// Node is the kwok node every Pod is bound to; Pods must tolerate Toleration (its taint).
	Node       string
	Toleration corev1.Toleration

	host   string
	tokens map[string]string // user → token
	procs  []*proc
	stop   context.CancelFunc // stops the binder
	nsSeq  int
	mu     sync.Mutex
}

var shared struct {
	once    sync.Once
	cluster *Cluster
	skip    string // why there is no cluster: binaries missing
	err     error  // the cluster failed to start
}

// Start returns the test binary's cluster, starting it on first use. Without the binaries, or
// when the control plane will not start on this machine, the test is skipped saying why (failed
// when BARGE_KUBE_REQUIRED=1), as it is under -short. Run the test binary
// through Main so that the cluster is stopped at its end.
func Start(t testing.TB) *Cluster {
	t.Helper()
	if testing.Short() {
		t.Skip("kubetest: a Kubernetes control plane is not started under -short")
	}
	shared.once.Do(func() {
		bin, err := binaries()
		if err != nil {
			shared.skip = err.Error()
			return
		}
		shared.cluster, shared.err = startWithRetries(bin, startAttempts)
	})
	switch {
	case shared.skip != "" && os.Getenv("BARGE_KUBE_REQUIRED") == "1":
		t.Fatal(shared.skip)
	case shared.skip != "":
		t.Skip(shared.skip)
	case shared.err != nil && os.Getenv("BARGE_KUBE_REQUIRED") == "1":
		t.Fatal(shared.err)
	case shared.err != nil:
		// The binaries are there but this machine cannot run the control plane (it has failed
		// startAttempts times, each with fresh ports and a fresh directory): like missing
		// binaries, that says nothing about barge's executor. The reason is printed in full.
		t.Skipf("kubetest: the control plane does not start on this machine: %v", shared.err)
	}
	return shared.cluster
}

// startAttempts is how many times Start tries to bring the control plane up: a port chosen free
// may be taken by another test binary before etcd or the API server binds it.
const startAttempts = 3

// startWithRetries starts a cluster, trying again from scratch after a failure.
func startWithRetries(bin Binaries, attempts int) (*Cluster, error) {
	var err error
	for i := 1; i <= attempts; i++ {
		began := time.Now()
		var c *Cluster
		if c, err = start(bin); err == nil {
			fmt.Fprintf(os.Stderr, "kubetest: cluster ready in %s at %s\n", time.Since(began).Round(time.Millisecond), c.host)
			return c, nil
		}
		fmt.Fprintf(os.Stderr, "kubetest: attempt %d of %d to start the cluster failed: %v\n", i, attempts, err)
	}
	return nil, err
}

// Main runs the tests and then stops the cluster if one was started; TestMain returns its code:
//
//	func TestMain(m *testing.M) { os.Exit(kubetest.Main(m)) }
func Main(m *testing.M) int {
	code := m.Run()
	if shared.cluster != nil {
		shared.cluster.Stop()
	}
	return code
}

// start brings a cluster up in a new temporary directory.
func start(bin Binaries) (_ *Cluster, err error) {
	dir, err := os.MkdirTemp("", "barge-kubetest-")
	if err != nil {
		return nil, fmt.Errorf("kubetest: %w", err)
	}
	c := &Cluster{Dir: dir, Node: "kwok-node", tokens: map[string]string{}}
	defer func() {
		if err != nil {
			c.Stop() // c, not the nil the failed start returns
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	etcdURL, err := c.startEtcd(ctx, bin.Etcd)
	if err != nil {
		return nil, err
	}
	if err := c.startAPIServer(ctx, bin.APIServer, etcdURL); err != nil {
		return nil, err
	}
	if err := c.startKwok(ctx, bin.Kwok); err != nil {
		return nil, err
	}
	return c, nil
}

// Stop kills the processes, last started first, and removes the directory.
func (c *Cluster) Stop() {
	if c.stop != nil {
		c.stop()
	}
	for i := len(c.procs) - 1; i >= 0; i-- {
		c.procs[i].kill()
	}
	os.RemoveAll(c.Dir)
}

// startEtcd starts etcd and waits for its health endpoint.
func (c *Cluster) startEtcd(ctx context.Context, bin string) (string, error) {
	client, peer := freePort(), freePort()
	clientURL := "http://127.0.0.1:" + strconv.Itoa(client)
	peerURL := "http://127.0.0.1:" + strconv.Itoa(peer)
	p, err := c.run(bin, "etcd",
		"--name=kubetest", "--data-dir="+filepath.Join(c.Dir, "etcd"),
		"--listen-client-urls="+clientURL, "--advertise-client-urls="+clientURL,
		"--listen-peer-urls="+peerURL, "--initial-advertise-peer-urls="+peerURL,
		"--initial-cluster=kubetest="+peerURL, "--log-level=warn",
		"--quota-backend-bytes=1073741824", "--unsafe-no-fsync")
	if err != nil {
		return "", err
	}
	err = p.waitReady(ctx, func(ctx context.Context) error { return httpOK(ctx, clientURL+"/health", "") })
	return clientURL, err
}

// writeCredentials writes the token file and the service-account key pair.
func (c *Cluster) writeCredentials() error {
	var tokens []byte
	for _, u := range []struct{ name, group string }{{AdminUser, "system:masters"}, {ExecutorUser, ""}} {
		c.tokens[u.name] = randomToken()
		tokens = fmt.Appendf(tokens, "%s,%s,%s,%q\n", c.tokens[u.name], u.name, u.name, u.group)
	}
	if err := os.WriteFile(filepath.Join(c.Dir, "tokens.csv"), tokens, 0o600); err != nil {
		return fmt.Errorf("kubetest: %w", err)
	}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return fmt.Errorf("kubetest: service-account key: %w", err)
	}
	pub, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		return fmt.Errorf("kubetest: service-account key: %w", err)
	}
	priv := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
	if err := os.WriteFile(filepath.Join(c.Dir, "sa.key"), priv, 0o600); err != nil {
		return fmt.Errorf("kubetest: %w", err)
	}
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub})
	if err := os.WriteFile(filepath.Join(c.Dir, "sa.pub"), pubPEM, 0o600); err != nil {
		return fmt.Errorf("kubetest: %w", err)
	}
	return nil
}

// startAPIServer starts kube-apiserver on etcd and waits for /readyz.
func (c *Cluster) startAPIServer(ctx context.Context, bin, etcdURL string) error {
	if err := c.writeCredentials(); err != nil {
		return err
	}
	port := freePort()
	c.host = "https://127.0.0.1:" + strconv.Itoa(port)
	p, err := c.run(bin, "kube-apiserver",
		"--etcd-servers="+etcdURL, "--bind-address=127.0.0.1", "--advertise-address=127.0.0.1",
		"--secure-port="+strconv.Itoa(port), "--cert-dir="+filepath.Join(c.Dir, "certs"),
		"--token-auth-file="+filepath.Join(c.Dir, "tokens.csv"), "--authorization-mode=RBAC",
		"--service-account-issuer=https://kubernetes.default.svc",
		"--service-account-key-file="+filepath.Join(c.Dir, "sa.pub"),
		"--service-account-signing-key-file="+filepath.Join(c.Dir, "sa.key"),
		"--service-cluster-ip-range=10.0.0.0/24",
		// Reach a node by its address (kwok's is loopback), never by resolving its name.
		"--kubelet-preferred-address-types=InternalIP", "--profiling=false")
	if err != nil {
		return err
	}
	c.Admin = c.config(AdminUser)
	if err := p.waitReady(ctx, func(ctx context.Context) error {
		return httpOK(ctx, c.host+"/readyz", c.tokens[AdminUser])
	}); err != nil {
		return err
	}
	client, err := kubernetes.NewForConfig(c.Admin)
	if err != nil {
		return fmt.Errorf("kubetest: %w", err)
	}
	c.Client = client
	return c.writeKubeconfig()
}

// config returns a client configuration for user.
func (c *Cluster) config(user string) *rest.Config {
	return &rest.Config{
		Host:            c.host,
		BearerToken:     c.tokens[user],
		TLSClientConfig: rest.TLSClientConfig{Insecure: true},
		QPS:             200,
		Burst:           400,
	}
}

func (c *Cluster) writeKubeconfig() error {
	c.Kubeconfig = filepath.Join(c.Dir, "kubeconfig")
	kc := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: kubetest
  cluster: {server: %q, insecure-skip-tls-verify: true}
users:
- name: admin
  user: {token: %q}
contexts:
- name: kubetest
  context: {cluster: kubetest, user: admin}
current-context: kubetest
`, c.host, c.tokens[AdminUser])
	if err := os.WriteFile(c.Kubeconfig, []byte(kc), 0o600); err != nil {
		return fmt.Errorf("kubetest: %w", err)
	}
	return nil
}

// freePort returns a loopback port nothing listens on now.
func freePort() int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(fmt.Sprintf("kubetest: no free port: %v", err))
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func randomToken() string {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}
