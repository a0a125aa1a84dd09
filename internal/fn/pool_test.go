package fn

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambda/messages"

	"github.com/barge-run/barge/internal/exec/local"
	"github.com/barge-run/barge/internal/logs"
)

// echoDir holds the echofn bootstrap, built once per test binary run by TestMain.
var echoDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "barge-fn-echofn-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	cmd := exec.Command("go", "build", "-o", filepath.Join(dir, "bootstrap"), "./testdata/echofn")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux")
	if out, err := cmd.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building echofn: %v\n%s", err, out)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	echoDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

type echoReply struct {
	Event    json.RawMessage   `json:"event"`
	Count    int64             `json:"count"`
	PID      int               `json:"pid"`
	Instance string            `json:"instance"`
	Env      map[string]string `json:"env"`
	Handler  string            `json:"handler"`
}

func newPool(tb testing.TB, cfg Config) (*Pool, *logs.Store) {
	tb.Helper()
	store, err := logs.Open(tb.TempDir(), nil)
	if err != nil {
		tb.Fatal(err)
	}
	cfg.Executor = local.New()
	cfg.Logs = store
	p, err := New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		p.Close()
		store.Close()
	})
	return p, store
}

func echoSpec(name string) FunctionSpec {
	return FunctionSpec{
		Account: "123456789012", Name: name, Version: "$LATEST",
		ARN:     "arn:aws:lambda:us-east-1:123456789012:function:" + name,
		CodeDir: echoDir, Handler: "bootstrap", Runtime: "provided.al2023",
		MemoryMiB: 256, Timeout: 5 * time.Second,
		Env: map[string]string{"GREETING": "hi"},
	}
}

func invoke(t *testing.T, p *Pool, fn FunctionSpec, payload string) Result {
	t.Helper()
	res, err := p.Invoke(context.Background(), fn, []byte(payload))
	if err != nil {
		t.Fatalf("Invoke(%s): %v", payload, err)
	}
	return res
}

func decodeReply(t *testing.T, res Result) echoReply {
	t.Helper()
	if res.FunctionError != "" {
		t.Fatalf("FunctionError %q, payload %s", res.FunctionError, res.Payload)
	}
	var r echoReply
	if err := json.Unmarshal(res.Payload, &r); err != nil {
		t.Fatalf("payload %s: %v", res.Payload, err)
	}
	return r
}

func decodeError(t *testing.T, res Result) messages.InvokeResponse_Error {
	t.Helper()
	if res.FunctionError != "Unhandled" {
		t.Fatalf("FunctionError = %q, want Unhandled; payload %s", res.FunctionError, res.Payload)
	}
	var e messages.InvokeResponse_Error
	if err := json.Unmarshal(res.Payload, &e); err != nil {
		t.Fatalf("error payload %s: %v", res.Payload, err)
	}
	return e
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestInvokeReusesWarmInstance(t *testing.T) {
	p, _ := newPool(t, Config{})
	fn := echoSpec("echo")

	res := invoke(t, p, fn, `{"hello":"world"}`)
	r1 := decodeReply(t, res)
	if string(r1.Event) != `{"hello":"world"}` {
		t.Errorf("event = %s", r1.Event)
	}
	if r1.Count != 1 || !res.ColdStart || res.InitDuration <= 0 {
		t.Errorf("first invoke: count %d, ColdStart %v, InitDuration %v; want 1, true, > 0", r1.Count, res.ColdStart, res.InitDuration)
	}
	if res.ExecutedVersion != "$LATEST" || res.Duration <= 0 {
		t.Errorf("ExecutedVersion %q, Duration %v", res.ExecutedVersion, res.Duration)
	}
	want := map[string]string{
		"AWS_LAMBDA_FUNCTION_NAME":        "echo",
		"AWS_LAMBDA_FUNCTION_VERSION":     "$LATEST",
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
		"AWS_LAMBDA_LOG_GROUP_NAME":       "/aws/lambda/echo",
		"AWS_REGION":                      "us-east-1",
		"LAMBDA_TASK_ROOT":                echoDir,
		"TZ":                              ":UTC",
		"GREETING":                        "hi",
	}
	for k, v := range want {
		if r1.Env[k] != v {
			t.Errorf("%s = %q, want %q", k, r1.Env[k], v)
		}
	}
	if !regexp.MustCompile(`^\d{4}/\d{2}/\d{2}/\[\$LATEST\][0-9a-f]{32}$`).MatchString(r1.Env["AWS_LAMBDA_LOG_STREAM_NAME"]) {
		t.Errorf("log stream name %q", r1.Env["AWS_LAMBDA_LOG_STREAM_NAME"])
	}
	if r1.Handler != "bootstrap" {
		t.Errorf("_HANDLER = %q", r1.Handler)
	}

	res2 := invoke(t, p, fn, `{"n":2}`)
	r2 := decodeReply(t, res2)
	if r2.Count != 2 || r2.Instance != r1.Instance || res2.ColdStart || res2.InitDuration != 0 {
		t.Errorf("second invoke: count %d pid %d (first %d) ColdStart %v InitDuration %v; want a warm reuse",
			r2.Count, r2.PID, r1.PID, res2.ColdStart, res2.InitDuration)
	}
	if n := p.Instances(fn); n != 1 {
		t.Errorf("Instances = %d, want 1", n)
	}
}

func TestFunctionErrorKeepsInstance(t *testing.T) {
	p, _ := newPool(t, Config{})
	fn := echoSpec("failing")
	res := invoke(t, p, fn, `{"fail":true}`)
	e := decodeError(t, res)
	if e.Message != "echofn: asked to fail" || e.Type != "errorString" {
		t.Errorf("error = %+v, want errorMessage %q errorType errorString", e, "echofn: asked to fail")
	}
	var raw map[string]any
	json.Unmarshal(res.Payload, &raw)
	if _, ok := raw["errorMessage"]; !ok {
		t.Errorf("payload %s has no errorMessage", res.Payload)
	}
	// A handled error leaves the instance warm, as in Lambda.
	r := decodeReply(t, invoke(t, p, fn, `{}`))
	if r.Count != 2 {
		t.Errorf("count after error = %d, want 2 (same instance)", r.Count)
	}
}

func TestTimeoutKillsInstance(t *testing.T) {
	p, _ := newPool(t, Config{})
	fn := echoSpec("slow")
	fn.Timeout = time.Second
	first := decodeReply(t, invoke(t, p, fn, `{}`))

	res := invoke(t, p, fn, `{"sleepMs":5000}`)
	e := decodeError(t, res)
	if !strings.Contains(e.Message, "Task timed out after 1.00 seconds") || e.Type != "Sandbox.Timedout" {
		t.Errorf("timeout error = %+v", e)
	}
	if res.Duration < time.Second || res.Duration > 4*time.Second {
		t.Errorf("Duration = %v, want about 1s", res.Duration)
	}
	if !bytes.Contains(res.LogTail, []byte("Task timed out after 1.00 seconds")) {
		t.Errorf("log tail lacks the timeout line:\n%s", res.LogTail)
	}
	waitFor(t, "the timed-out instance to go", func() bool { return p.Instances(fn) == 0 })

	next := invoke(t, p, fn, `{}`)
	r := decodeReply(t, next)
	if !next.ColdStart || r.Count != 1 || r.Instance == first.Instance {
		t.Errorf("after timeout: ColdStart %v count %d pid %d (old %d); want a fresh instance", next.ColdStart, r.Count, r.PID, first.PID)
	}
}

func TestCrashDiscardsInstance(t *testing.T) {
	p, _ := newPool(t, Config{})
	fn := echoSpec("crashy")
	res := invoke(t, p, fn, `{"crash":true}`)
	e := decodeError(t, res)
	if e.Type != "Runtime.ExitError" || !strings.Contains(e.Message, "Runtime exited with error: exit status 3") {
		t.Errorf("crash error = %+v", e)
	}
	waitFor(t, "the crashed instance to go", func() bool { return p.Instances(fn) == 0 })
	next := invoke(t, p, fn, `{}`)
	if r := decodeReply(t, next); !next.ColdStart || r.Count != 1 {
		t.Errorf("after crash: ColdStart %v count %d; want a fresh instance", next.ColdStart, r.Count)
	}
}

func TestInitFailure(t *testing.T) {
	dir := t.TempDir()
	script := "#!/bin/sh\necho init is broken >&2\nexit 2\n"
	if err := os.WriteFile(filepath.Join(dir, "bootstrap"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	p, store := newPool(t, Config{})
	fn := echoSpec("broken")
	fn.CodeDir = dir
	res := invoke(t, p, fn, `{}`)
	e := decodeError(t, res)
	if e.Type != "Runtime.ExitError" || !strings.Contains(e.Message, "exit status 2") {
		t.Errorf("init error = %+v", e)
	}
	if !res.ColdStart {
		t.Error("ColdStart = false")
	}
	// The process's output is drained before its exit is seen, so it is in the tail.
	if !bytes.Contains(res.LogTail, []byte("INIT_REPORT")) || !bytes.Contains(res.LogTail, []byte("init is broken\n")) {
		t.Errorf("log tail lacks INIT_REPORT or the runtime's output:\n%s", res.LogTail)
	}
	waitFor(t, "the broken instance to go", func() bool { return p.Instances(fn) == 0 })
	b, err := store.Tail(fn.Account, "/aws/lambda/broken", onlyStream(t, store, fn.Account, "/aws/lambda/broken"), 1<<20)
	if err != nil || !bytes.Contains(b, []byte("init is broken\n")) || !bytes.Contains(b, []byte("INIT_REPORT")) {
		t.Errorf("stream: %v\n%s", err, b)
	}
}

// onlyStream is the name of the group's only log stream.
func onlyStream(t *testing.T, store *logs.Store, account, group string) string {
	t.Helper()
	res, err := store.DescribeStreams(account, logs.DescribeStreamsParams{Group: group})
	if err != nil || len(res.Streams) != 1 {
		t.Fatalf("streams of %s: %v %+v", group, err, res.Streams)
	}
	return res.Streams[0].Name
}

func TestMissingBootstrap(t *testing.T) {
	p, _ := newPool(t, Config{})
	fn := echoSpec("empty")
	fn.CodeDir = t.TempDir()
	res := invoke(t, p, fn, `{}`)
	if e := decodeError(t, res); e.Type != "Runtime.InvalidEntrypoint" {
		t.Errorf("error = %+v", e)
	}
	if n := p.Instances(fn); n != 0 {
		t.Errorf("Instances = %d", n)
	}
}

func TestReservedConcurrencyThrottles(t *testing.T) {
	p, _ := newPool(t, Config{})
	fn := echoSpec("limited")
	fn.ReservedConcurrency = 2

	var wg sync.WaitGroup
	results := make([]Result, 2)
	errs := make([]error, 2)
	for i := range 2 {
		wg.Go(func() {
			results[i], errs[i] = p.Invoke(context.Background(), fn, []byte(`{"sleepMs":1500}`))
		})
	}
	waitFor(t, "two instances", func() bool { return p.Instances(fn) == 2 })
	for range 2 {
		_, err := p.Invoke(context.Background(), fn, []byte(`{}`))
		var te *ThrottledError
		if !errors.Is(err, ErrThrottled) || !errors.As(err, &te) || te.Reason != "ReservedFunctionConcurrentInvocationLimitExceeded" {
			t.Errorf("third invoke: err = %v, want a reserved-concurrency ThrottledError", err)
		}
	}
	wg.Wait()
	pids := map[string]bool{}
	for i := range 2 {
		if errs[i] != nil {
			t.Fatalf("slow invoke %d: %v", i, errs[i])
		}
		pids[decodeReply(t, results[i]).Instance] = true
	}
	if len(pids) != 2 {
		t.Errorf("slow invokes ran on %d instances, want 2", len(pids))
	}
	// Both are idle now: the limit counts running invocations, not warm instances.
	decodeReply(t, invoke(t, p, fn, `{}`))
}

func TestAccountConcurrencyThrottles(t *testing.T) {
	p, _ := newPool(t, Config{AccountConcurrency: 1})
	a, b := echoSpec("a"), echoSpec("b")
	done := make(chan error, 1)
	go func() {
		_, err := p.Invoke(context.Background(), a, []byte(`{"sleepMs":1000}`))
		done <- err
	}()
	waitFor(t, "a's instance", func() bool { return p.Instances(a) == 1 })
	_, err := p.Invoke(context.Background(), b, []byte(`{}`))
	var te *ThrottledError
	if !errors.As(err, &te) || te.Reason != "ConcurrentInvocationLimitExceeded" {
		t.Errorf("invoke of b: err = %v, want an account ThrottledError", err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	decodeReply(t, invoke(t, p, b, `{}`))
}

func TestScaleToZero(t *testing.T) {
	p, _ := newPool(t, Config{IdleTimeout: 200 * time.Millisecond})
	fn := echoSpec("idle")
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	for range 2 {
		wg.Go(func() {
			_, err := p.Invoke(context.Background(), fn, []byte(`{"sleepMs":300}`))
			errs <- err
		})
	}
	wg.Wait()
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if n := p.Instances(fn); n < 1 {
		t.Fatalf("Instances = %d after invokes", n)
	}
	waitFor(t, "scale to zero", func() bool { return p.Instances(fn) == 0 })
	if res := invoke(t, p, fn, `{}`); !res.ColdStart {
		t.Error("invoke after scale to zero was not a cold start")
	}
}

func TestCallerCancelKillsInstance(t *testing.T) {
	p, _ := newPool(t, Config{})
	fn := echoSpec("cancelled")
	first := decodeReply(t, invoke(t, p, fn, `{}`))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := p.Invoke(ctx, fn, []byte(`{"sleepMs":5000}`))
		done <- err
	}()
	// Whether cancel lands before or during the invocation, Invoke hands the event to the warm
	// instance and then sees the cancellation, so the instance is killed either way.
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Invoke with a cancelled context: %v, want context.Canceled", err)
	}
	waitFor(t, "the cancelled instance to go", func() bool { return p.Instances(fn) == 0 })
	next := invoke(t, p, fn, `{}`)
	if r := decodeReply(t, next); !next.ColdStart || r.Instance == first.Instance {
		t.Errorf("after cancel: ColdStart %v pid %d (old %d); want a fresh instance", next.ColdStart, r.PID, first.PID)
	}
}

func TestCloseStopsEverything(t *testing.T) {
	p, _ := newPool(t, Config{})
	fn := echoSpec("closing")
	decodeReply(t, invoke(t, p, fn, `{}`))
	p.Close()
	if n := p.Instances(fn); n != 0 {
		t.Errorf("Instances after Close = %d", n)
	}
	if _, err := p.Invoke(context.Background(), fn, nil); !errors.Is(err, ErrClosed) {
		t.Errorf("Invoke after Close: %v, want ErrClosed", err)
	}
}

var reportRE = regexp.MustCompile(`(?m)^REPORT RequestId: ([0-9a-f-]{36})\tDuration: \d+\.\d\d ms\tBilled Duration: \d+ ms\tMemory Size: 256 MB\tMax Memory Used: \d+ MB\t(Init Duration: \d+\.\d\d ms\t)?$`)

func TestLogLines(t *testing.T) {
	p, store := newPool(t, Config{})
	fn := echoSpec("logged")
	cold := invoke(t, p, fn, `{}`)
	warm := invoke(t, p, fn, `{}`)
	for _, c := range []struct {
		res  Result
		cold bool
	}{{cold, true}, {warm, false}} {
		id := c.res.RequestID
		tail := string(c.res.LogTail)
		if !strings.HasPrefix(tail, "START RequestId: "+id+" Version: $LATEST\n") {
			t.Errorf("log tail does not start with START:\n%s", tail)
		}
		if !strings.Contains(tail, "\nEND RequestId: "+id+"\n") {
			t.Errorf("log tail lacks END:\n%s", tail)
		}
		m := reportRE.FindStringSubmatch(tail)
		if m == nil || m[1] != id {
			t.Errorf("log tail lacks a REPORT line for %s:\n%q", id, tail)
			continue
		}
		if hasInit := m[2] != ""; hasInit != c.cold {
			t.Errorf("REPORT has Init Duration = %v, want %v:\n%s", hasInit, c.cold, tail)
		}
	}
	// The function's own output lands in the same stream (it arrives through a pipe, so
	// possibly after REPORT).
	stream := decodeReply(t, warm).Env["AWS_LAMBDA_LOG_STREAM_NAME"]
	waitFor(t, "the function's output in the log stream", func() bool {
		b, err := store.Tail(fn.Account, "/aws/lambda/logged", stream, 1<<20)
		return err == nil && bytes.Contains(b, []byte("echofn invocation 2 pid"))
	})
	b, _ := store.Tail(fn.Account, "/aws/lambda/logged", stream, 1<<20)
	if n := strings.Count(string(b), "\tInit Duration: "); n != 1 {
		t.Errorf("stream has %d Init Durations, want 1:\n%s", n, b)
	}
}

func TestRuntimeAPIProtocol(t *testing.T) {
	api := newRuntimeAPI()
	srv := httptest.NewServer(api)
	defer srv.Close()
	defer api.close()
	post := func(path, errType, body string) (int, string) {
		req, _ := http.NewRequest(http.MethodPost, srv.URL+path, strings.NewReader(body))
		if errType != "" {
			req.Header.Set(hdrErrorType, errType)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}

	// No invocation in progress: answering is an invalid state transition.
	if code, body := post("/2018-06-01/runtime/invocation/x/response", "", `{}`); code != 403 || !strings.Contains(body, "Runtime.InvalidStateTransition") {
		t.Errorf("response without invocation: %d %s", code, body)
	}

	deadline := time.Now().Add(time.Minute)
	inv := &invocation{requestID: "req-1", deadline: deadline, arn: "arn:fn", traceID: "Root=1-x", payload: []byte(`{"a":1}`), done: make(chan outcome, 1)}
	api.queue <- inv
	resp, err := http.Get(srv.URL + "/2018-06-01/runtime/invocation/next")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	h := resp.Header
	if string(body) != `{"a":1}` || h.Get(hdrRequestID) != "req-1" || h.Get(hdrFunctionARN) != "arn:fn" ||
		h.Get(hdrTraceID) != "Root=1-x" || h.Get(hdrDeadline) != fmt.Sprint(deadline.UnixMilli()) || h.Get("Content-Type") != "application/json" {
		t.Errorf("next: %s %v", body, h)
	}
	select {
	case <-api.ready:
	default:
		t.Error("ready not closed by /next")
	}
	if code, body := post("/2018-06-01/runtime/invocation/other/response", "", `{}`); code != 400 || !strings.Contains(body, "InvalidRequestID") {
		t.Errorf("wrong request id: %d %s", code, body)
	}
	if code, body := post("/2018-06-01/runtime/invocation/req-1/error", "Custom.Error", `{"errorMessage":"m","errorType":"Custom.Error"}`); code != 202 || !strings.Contains(body, `"status":"OK"`) {
		t.Errorf("error: %d %s", code, body)
	}
	out := <-inv.done
	if !out.isError || out.errorType != "Custom.Error" || string(out.payload) != `{"errorMessage":"m","errorType":"Custom.Error"}` {
		t.Errorf("outcome = %+v", out)
	}
	// Answered: a second answer has nothing to answer.
	if code, _ := post("/2018-06-01/runtime/invocation/req-1/response", "", `{}`); code != 403 {
		t.Errorf("second answer: %d, want 403", code)
	}
	if code, _ := post("/2018-06-01/runtime/init/error", "Runtime.X", `{}`); code != 403 {
		t.Errorf("init/error after init: %d, want 403", code)
	}
	if code, _ := post("/2018-06-01/runtime/nope", "", ``); code != 404 {
		t.Errorf("unknown path: %d, want 404", code)
	}

	api2 := newRuntimeAPI()
	srv2 := httptest.NewServer(api2)
	defer srv2.Close()
	req, _ := http.NewRequest(http.MethodPost, srv2.URL+"/2018-06-01/runtime/init/error", strings.NewReader(`not json`))
	req.Header.Set(hdrErrorType, "Runtime.BadConfig")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 202 {
		t.Errorf("init/error: %d", resp.StatusCode)
	}
	f := <-api2.initErr
	if f.errorType != "Runtime.BadConfig" || !json.Valid(f.payload) {
		t.Errorf("init failure = %+v", f)
	}
}

func BenchmarkWarmInvoke(b *testing.B) {
	p, _ := newPool(b, Config{})
	fn := echoSpec("bench")
	ctx := context.Background()
	payload := []byte(`{"k":"v"}`)
	if _, err := p.Invoke(ctx, fn, payload); err != nil {
		b.Fatal(err)
	}
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for range b.N {
		t0 := time.Now()
		res, err := p.Invoke(ctx, fn, payload)
		lat = append(lat, time.Since(t0))
		if err != nil || res.FunctionError != "" || res.ColdStart {
			b.Fatalf("invoke: %v %q cold=%v", err, res.FunctionError, res.ColdStart)
		}
	}
	b.StopTimer()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
}
