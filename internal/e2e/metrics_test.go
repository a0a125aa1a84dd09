package e2e_test

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/batch"
	"github.com/aws/aws-sdk-go-v2/service/batch/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	ltypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/barge-run/barge/internal/bargetest"
)

// scrape reads /metrics (no credentials, as Prometheus scrapes) into series → value, each series
// written name{label="value",...} with its labels sorted by name.
func scrape(t *testing.T, b *bargetest.Barge) map[string]float64 {
	t.Helper()
	resp, err := http.Get(b.Endpoint + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(resp.Body)
		t.Fatalf("GET /metrics: %d %s", resp.StatusCode, body)
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("metrics line %q: %v", line, err)
		}
		out[line[:i]] = v
	}
	return out
}

// series spells a series as scrape keys it: labels "k=v" sorted by name.
func series(name string, labels ...string) string {
	if len(labels) == 0 {
		return name
	}
	sort.Strings(labels)
	parts := make([]string, len(labels))
	for i, l := range labels {
		k, v, _ := strings.Cut(l, "=")
		parts[i] = k + `="` + v + `"`
	}
	return name + "{" + strings.Join(parts, ",") + "}"
}

// TestMetrics: /metrics answers without credentials and its values follow what a test drove —
// API requests, job transitions and timings, a job waiting RUNNABLE, compute environment
// vCPUs, function invocations by outcome, cold starts, warm instances, store commits.
func TestMetrics(t *testing.T) {
	t.Parallel()
	b := bargetest.Start(t)
	c, ctx := b.Batch(), context.Background()
	register(t, c, "ok", &types.ContainerProperties{Command: []string{"true"}})
	register(t, c, "bad", &types.ContainerProperties{Command: []string{"false"}})
	okJob := submit(t, c, &batch.SubmitJobInput{JobName: aws.String("ok"), JobDefinition: aws.String("ok")})
	badJob := submit(t, c, &batch.SubmitJobInput{JobName: aws.String("bad"), JobDefinition: aws.String("bad")})
	bargetest.WaitJob(t, c, okJob, jobWait, terminal)
	bargetest.WaitJob(t, c, badJob, jobWait, terminal)
	queueOn(t, c, "parked", 1, nil)
	if _, err := c.UpdateComputeEnvironment(ctx, &batch.UpdateComputeEnvironmentInput{ComputeEnvironment: aws.String("parked"), State: types.CEStateDisabled}); err != nil {
		t.Fatal(err)
	}
	parked := submit(t, c, &batch.SubmitJobInput{JobName: aws.String("parked"), JobQueue: aws.String("parked"), JobDefinition: aws.String("ok")})
	bargetest.WaitJob(t, c, parked, jobWait, func(s string) bool { return s == "RUNNABLE" })

	l := lambda.NewFromConfig(b.Config(), func(o *lambda.Options) { o.RetryMaxAttempts = 1 }) // each call one request
	if _, err := l.CreateFunction(ctx, &lambda.CreateFunctionInput{FunctionName: aws.String("echo"), Runtime: ltypes.RuntimeProvidedal2023,
		Handler: aws.String("bootstrap"), Role: aws.String("arn:aws:iam::000000000000:role/any"), Code: &ltypes.FunctionCode{ZipFile: echoFunction(t)}}); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := l.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("echo"), Payload: []byte(`{}`)}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := l.PutFunctionConcurrency(ctx, &lambda.PutFunctionConcurrencyInput{FunctionName: aws.String("echo"), ReservedConcurrentExecutions: aws.Int32(0)}); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("echo")}); errorCode(err) != "TooManyRequestsException" {
		t.Fatalf("invoke at reserved concurrency 0: %v", err)
	}

	m := scrape(t, b)
	acct := "account=000000000000"
	for _, want := range []struct {
		series string
		min    float64
		exact  bool
	}{
		{series("barge_api_requests_total", "service=batch", "operation=SubmitJob", "code=200"), 3, true},
		{series("barge_api_requests_total", "service=lambda", "operation=Invoke", "code=429"), 1, true},
		{series("barge_job_transitions_total", acct, "queue=default", "status=SUCCEEDED"), 1, true},
		{series("barge_job_transitions_total", acct, "queue=default", "status=FAILED"), 1, true},
		{series("barge_job_transitions_total", acct, "queue=default", "status=RUNNING"), 2, true},
		{series("barge_job_wait_seconds_count", acct, "queue=default"), 2, true},
		{series("barge_job_run_seconds_count", acct, "queue=default"), 2, true},
		{series("barge_jobs", acct, "queue=parked", "status=RUNNABLE"), 1, true},
		{series("barge_function_invocations_total", acct, "function=echo", "outcome=success"), 2, true},
		{series("barge_function_invocations_total", acct, "function=echo", "outcome=throttled"), 1, true},
		{series("barge_function_cold_starts_total", acct, "function=echo"), 1, true},
		{series("barge_function_instances", acct, "function=echo", "state=idle"), 1, true},
		{series("barge_store_commit_seconds_count"), 1, false},
		{series("barge_attempt_phase_seconds_count", "phase=start"), 2, true},
		{series("barge_attempt_phase_seconds_count", "phase=reap"), 2, true},
		{series("go_goroutines"), 1, false},
	} {
		got, ok := m[want.series]
		if !ok || got < want.min || (want.exact && got != want.min) {
			t.Errorf("%s = %v (present %v); want %v%s", want.series, got, ok, want.min, map[bool]string{false: " or more"}[want.exact])
		}
	}
	found := false
	for k, v := range m {
		if strings.HasPrefix(k, "barge_compute_environment_vcpus{") && strings.Contains(k, "compute-environment/default") && strings.Contains(k, `state="free"`) && v > 0 {
			found = true
		}
	}
	if !found {
		t.Errorf("no free vCPUs reported for the default compute environment")
	}
}

// TestDebugLogs: with --log-level debug the server logs every API request (its request id,
// operation, account and status) and every job transition.
func TestDebugLogs(t *testing.T) {
	t.Parallel()
	b := bargetest.Start(t, bargetest.WithArgs("--log-level", "debug"))
	c := b.Batch()
	register(t, c, "ok", &types.ContainerProperties{Command: []string{"true"}})
	id := submit(t, c, &batch.SubmitJobInput{JobName: aws.String("ok"), JobDefinition: aws.String("ok")})
	bargetest.WaitJob(t, c, id, jobWait, terminal)
	log := b.Log()
	for _, want := range []string{
		"msg=request", "operation=SubmitJob", "account=000000000000", "status=200",
		"msg=job component=batch id=" + id, "to=SUCCEEDED",
	} {
		if !strings.Contains(log, want) {
			t.Errorf("the debug log lacks %q", want)
		}
	}
}
