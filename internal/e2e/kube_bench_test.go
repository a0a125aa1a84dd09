package e2e_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/batch"
	"github.com/aws/aws-sdk-go-v2/service/batch/types"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
	watchtools "k8s.io/client-go/tools/watch"

	"github.com/barge-run/barge/internal/bargetest"
	"github.com/barge-run/barge/internal/exec/kube"
	"github.com/barge-run/barge/internal/exec/kube/kubetest"
)

// BenchmarkKubernetesPodsAdmitted measures how fast one barge gets Pods into the API server: an
// array job of BARGE_BENCH_PODS children (1,000 by default; 1 vCPU each on a compute environment
// of as many vCPUs, so barge admits them all at once) on an eksConfiguration compute environment
// of the kwok cluster, timed from SubmitJob until the API server's watch has shown every child's
// Pod. Beside it, in the same iteration, the floor: client-go creating as many equivalent Pods
// directly from BARGE_BENCH_WORKERS goroutines (32) with no client-side rate limit — what the API
// server itself admits on this machine. Each iteration runs barge then the floor, each in a
// namespace of its own, and deletes the Pods after; run A B A B with -count:
//
//	go test -run '^$' -bench KubernetesPodsAdmitted -benchtime 1x -count 4 ./internal/e2e
//
// BARGE_BENCH_KUBE_QPS, when set, is handed to barge as kube.QPSEnv (5/10 is client-go's
// default, the limit barge had before it set its own); BARGE_BENCH_CPUPROFILE=FILE writes
// barge's CPU profile of the 10 seconds from SubmitJob on (go tool pprof FILE). Skipped without
// the cluster's binaries, as the Kubernetes tests are.
func BenchmarkKubernetesPodsAdmitted(b *testing.B) {
	cluster := kubetest.Start(b)
	pods, workers := envInt(b, "BARGE_BENCH_PODS", 1000), envInt(b, "BARGE_BENCH_WORKERS", 32)
	var bargeRates, floorRates, ratios, firsts []float64
	for i := 0; i < b.N; i++ {
		rate, first := bargePods(b, cluster, pods)
		floor := floorPods(b, cluster, pods, workers)
		b.Logf("iteration %d: barge %d Pods at %.1f/s (first Pod %.0f ms after SubmitJob); client-go from %d goroutines %.1f/s; ratio %.2f",
			i+1, pods, rate, first*1000, workers, floor, rate/floor)
		bargeRates, floorRates, ratios, firsts = append(bargeRates, rate), append(floorRates, floor), append(ratios, rate/floor), append(firsts, first*1000)
	}
	b.ReportMetric(median(bargeRates), "barge-pods/s")
	b.ReportMetric(median(floorRates), "client-go-pods/s")
	b.ReportMetric(median(ratios), "ratio")
	b.ReportMetric(median(firsts), "first-pod-ms")
	b.ReportMetric(0, "ns/op")
}

func envInt(b *testing.B, name string, def int) int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		b.Fatalf("%s=%q: want a positive number", name, v)
	}
	return n
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// podWatch counts the distinct barge-labelled Pods the API server reports created in ns.
type podWatch struct {
	w     watch.Interface
	want  int
	done  chan struct{}
	mu    sync.Mutex
	seen  map[string]bool
	first time.Time
	last  time.Time
}

func watchPods(b *testing.B, c kubernetes.Interface, ns string, want int) *podWatch {
	b.Helper()
	// A RetryWatcher resumes from the last resourceVersion seen when the API server drops the
	// watch (it closes the watch of a consumer that falls behind, as on a loaded machine).
	pods := c.CoreV1().Pods(ns)
	sel := metav1.ListOptions{LabelSelector: kube.LabelKey}
	list, err := pods.List(context.Background(), sel)
	if err != nil {
		b.Fatal(err)
	}
	w, err := watchtools.NewRetryWatcherWithContext(context.Background(), list.ResourceVersion, &cache.ListWatch{
		WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			o.LabelSelector = sel.LabelSelector
			return pods.Watch(ctx, o)
		}})
	if err != nil {
		b.Fatal(err)
	}
	pw := &podWatch{w: w, want: want, done: make(chan struct{}), seen: map[string]bool{}}
	go func() {
		for ev := range w.ResultChan() {
			pod, ok := ev.Object.(*corev1.Pod)
			if !ok || (ev.Type != watch.Added && ev.Type != watch.Modified) {
				continue
			}
			now := time.Now()
			pw.mu.Lock()
			if !pw.seen[pod.Name] {
				pw.seen[pod.Name] = true
				if len(pw.seen) == 1 {
					pw.first = now
				}
				if len(pw.seen) == pw.want {
					pw.last = now
					close(pw.done)
				}
			}
			pw.mu.Unlock()
		}
	}()
	return pw
}

// wait returns when the last Pod and the first Pod were seen; it fails the benchmark after timeout.
func (pw *podWatch) wait(b *testing.B, timeout time.Duration) (first, last time.Time) {
	b.Helper()
	defer pw.w.Stop()
	select {
	case <-pw.done:
	case <-time.After(timeout):
		pw.mu.Lock()
		n := len(pw.seen)
		pw.mu.Unlock()
		b.Fatalf("%d of %d Pods created within %s", n, pw.want, timeout)
	}
	pw.mu.Lock()
	defer pw.mu.Unlock()
	return pw.first, pw.last
}

// deletePods removes every Pod of ns at once (no grace period: nothing runs in them).
func deletePods(b *testing.B, c kubernetes.Interface, ns string) {
	b.Helper()
	err := c.CoreV1().Pods(ns).DeleteCollection(context.Background(), metav1.DeleteOptions{GracePeriodSeconds: new(int64(0))}, metav1.ListOptions{})
	if err != nil {
		b.Fatal(err)
	}
}

// bargePods submits an array of n children to a barge on a compute environment of the cluster
// and returns the Pods per second from SubmitJob to the last Pod created, and the seconds to the
// first.
func bargePods(b *testing.B, cluster *kubetest.Cluster, n int) (rate, first float64) {
	b.Helper()
	ns := cluster.Namespace(b)
	tol := cluster.Toleration
	var env []string
	if q := os.Getenv("BARGE_BENCH_KUBE_QPS"); q != "" {
		env = append(env, kube.QPSEnv+"="+q)
	}
	args := []string{"--kubeconfig", cluster.Kubeconfig, "--kube-toleration", tol.Key + "=" + tol.Value + ":" + string(tol.Effect), "--log-level", "warn"}
	profile := os.Getenv("BARGE_BENCH_CPUPROFILE")
	pprofAddr := fmt.Sprintf("127.0.0.1:%d", freeLoopbackPort(b))
	if profile != "" {
		args = append(args, "--pprof", pprofAddr)
	}
	srv := bargetest.Start(b, bargetest.WithEnv(env...), bargetest.WithArgs(args...))
	defer srv.Stop()
	c, ctx := srv.Batch(), context.Background()
	clusterARN := "arn:aws:eks:us-east-1:" + srv.Cred.AccountID + ":cluster/kubetest"
	if _, err := c.CreateComputeEnvironment(ctx, &batch.CreateComputeEnvironmentInput{ComputeEnvironmentName: aws.String("k8s"), Type: types.CETypeManaged,
		ComputeResources: &types.ComputeResource{Type: types.CRTypeEc2, MaxvCpus: aws.Int32(int32(n)), Subnets: []string{"subnet-1"},
			InstanceRole: aws.String("r"), InstanceTypes: []string{"optimal"}},
		EksConfiguration: &types.EksConfiguration{EksClusterArn: aws.String(clusterARN), KubernetesNamespace: aws.String(ns)}}); err != nil {
		b.Fatal(err)
	}
	if _, err := c.CreateJobQueue(ctx, &batch.CreateJobQueueInput{JobQueueName: aws.String("pods"), Priority: aws.Int32(1),
		ComputeEnvironmentOrder: []types.ComputeEnvironmentOrder{{Order: aws.Int32(1), ComputeEnvironment: aws.String("k8s")}}}); err != nil {
		b.Fatal(err)
	}
	if _, err := c.RegisterJobDefinition(ctx, &batch.RegisterJobDefinitionInput{JobDefinitionName: aws.String("runs"), Type: types.JobDefinitionTypeContainer,
		EksProperties: &types.EksProperties{PodProperties: &types.EksPodProperties{
			Containers: []types.EksContainer{{Image: aws.String("public.ecr.aws/docker/library/busybox:1.36"), Command: []string{"sleep", "3600"},
				Resources: &types.EksContainerResourceRequirements{Limits: map[string]string{"cpu": "1", "memory": "16Mi"}}}}}}}); err != nil {
		b.Fatal(err)
	}
	pw := watchPods(b, cluster.Client, ns, n)
	profiled := make(chan struct{})
	if profile != "" { // the server's CPU profile of the next 10 seconds, into that file
		go func() {
			defer close(profiled)
			resp, err := http.Get("http://" + pprofAddr + "/debug/pprof/profile?seconds=10")
			if err != nil {
				b.Error(err)
				return
			}
			defer resp.Body.Close()
			data, _ := io.ReadAll(resp.Body)
			if err := os.WriteFile(profile, data, 0o644); err != nil {
				b.Error(err)
			}
		}()
	} else {
		close(profiled)
	}
	begun := time.Now()
	if _, err := c.SubmitJob(ctx, &batch.SubmitJobInput{JobName: aws.String("wide"), JobQueue: aws.String("pods"), JobDefinition: aws.String("runs"),
		ArrayProperties: &types.ArrayProperties{Size: aws.Int32(int32(n))}}); err != nil {
		b.Fatal(err)
	}
	f, last := pw.wait(b, 15*time.Minute)
	<-profiled
	srv.Stop() // before the Pods go, so that barge does not retry them
	deletePods(b, cluster.Client, ns)
	return float64(n) / last.Sub(begun).Seconds(), f.Sub(begun).Seconds()
}

func freeLoopbackPort(b *testing.B) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// floorPods creates n Pods like barge's from workers goroutines through client-go with no
// client-side rate limit, as the executor's user, and returns the Pods per second.
func floorPods(b *testing.B, cluster *kubetest.Cluster, n, workers int) float64 {
	b.Helper()
	ns := cluster.Namespace(b)
	cfg := rest.CopyConfig(cluster.ExecutorConfig())
	cfg.QPS, cfg.Burst = -1, 0
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		b.Fatal(err)
	}
	res := corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1"), corev1.ResourceMemory: resource.MustParse("16Mi")}
	pod := func(i int) *corev1.Pod {
		key := fmt.Sprintf("floor-%d-1", i)
		return &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: key, Namespace: ns,
				Labels:      map[string]string{kube.LabelKey: key, kube.LabelJob: fmt.Sprintf("floor-%d", i), kube.LabelAttempt: "1", kube.LabelAccount: "000000000000"},
				Annotations: map[string]string{kube.AnnotationAttemptID: fmt.Sprintf("floor:%d#1", i)}},
			Spec: corev1.PodSpec{
				Containers: []corev1.Container{{Name: kube.ContainerName, Image: "public.ecr.aws/docker/library/busybox:1.36", Command: []string{"sleep", "3600"},
					Env:       []corev1.EnvVar{{Name: "AWS_BATCH_JOB_ID", Value: fmt.Sprintf("floor:%d", i)}, {Name: "AWS_BATCH_JOB_ATTEMPT", Value: "1"}},
					Resources: corev1.ResourceRequirements{Requests: res, Limits: res.DeepCopy()}}},
				RestartPolicy:                corev1.RestartPolicyNever,
				Tolerations:                  []corev1.Toleration{cluster.Toleration},
				AutomountServiceAccountToken: new(false),
				EnableServiceLinks:           new(false),
			},
		}
	}
	pw := watchPods(b, cluster.Client, ns, n)
	var next atomic.Int64
	var failed atomic.Value
	var wg sync.WaitGroup
	begun := time.Now()
	for range workers {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				if _, err := client.CoreV1().Pods(ns).Create(context.Background(), pod(i), metav1.CreateOptions{}); err != nil {
					failed.Store(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if err, _ := failed.Load().(error); err != nil {
		b.Fatal(err)
	}
	_, last := pw.wait(b, 5*time.Minute)
	deletePods(b, cluster.Client, ns)
	return float64(n) / last.Sub(begun).Seconds()
}
