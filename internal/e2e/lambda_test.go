package e2e_test

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	ltypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	_ "modernc.org/sqlite"

	"github.com/barge-run/barge/internal/bargetest"
	"github.com/barge-run/barge/internal/bench"
)

var (
	echoZipOnce sync.Once
	echoZip     []byte
	echoZipErr  error
)

// echoFunction builds internal/fn/testdata/echofn (a real aws-lambda-go function) and zips it
// as a provided.al2023 package with its bootstrap at the root, once per test run.
func echoFunction(t testing.TB) []byte {
	t.Helper()
	echoZipOnce.Do(func() {
		root, err := bench.ModuleRoot()
		if err != nil {
			echoZipErr = err
			return
		}
		dir, err := os.MkdirTemp("", "barge-echofn-")
		if err != nil {
			echoZipErr = err
			return
		}
		defer os.RemoveAll(dir)
		bootstrap, err := bench.EchoBootstrap(context.Background(), root, dir, bench.EchoBuildFlags...)
		if err != nil {
			echoZipErr = err
			return
		}
		echoZip, echoZipErr = bench.ZipBootstrap(bootstrap)
	})
	if echoZipErr != nil {
		t.Fatalf("building the echo function: %v", echoZipErr)
	}
	return echoZip
}

// logMessages reads every message of a function's log group, oldest first within each stream.
func logMessages(t *testing.T, b *bargetest.Barge, function string) []string {
	t.Helper()
	ctx := context.Background()
	lc := b.Logs()
	group := aws.String("/aws/lambda/" + function)
	streams, err := lc.DescribeLogStreams(ctx, &cloudwatchlogs.DescribeLogStreamsInput{LogGroupName: group})
	if err != nil {
		return nil // no stream yet
	}
	var out []string
	for _, st := range streams.LogStreams {
		evs, err := lc.GetLogEvents(ctx, &cloudwatchlogs.GetLogEventsInput{LogGroupName: group, LogStreamName: st.LogStreamName, StartFromHead: aws.Bool(true)})
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range evs.Events {
			out = append(out, aws.ToString(e.Message))
		}
	}
	return out
}

type echoReply struct {
	Event    json.RawMessage `json:"event"`
	Count    int             `json:"count"`
	PID      int             `json:"pid"`
	Instance string          `json:"instance"`
}

func TestLambdaFunctions(t *testing.T) {
	t.Parallel()
	b := bargetest.Start(t)
	c := lambda.NewFromConfig(b.Config())
	ctx := context.Background()
	code := echoFunction(t)

	created, err := c.CreateFunction(ctx, &lambda.CreateFunctionInput{
		FunctionName: aws.String("echo"), Runtime: ltypes.RuntimeProvidedal2023, Handler: aws.String("bootstrap"),
		Role: aws.String("arn:aws:iam::000000000000:role/any"), Code: &ltypes.FunctionCode{ZipFile: code},
		Timeout: aws.Int32(2), Environment: &ltypes.Environment{Variables: map[string]string{"GREETING": "hi"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(created.FunctionArn) != "arn:aws:lambda:us-east-1:000000000000:function:echo" || created.State != ltypes.StateActive || aws.ToString(created.Version) != "$LATEST" {
		t.Fatalf("created: %+v", created)
	}
	_, err = c.CreateFunction(ctx, &lambda.CreateFunctionInput{FunctionName: aws.String("echo"), Runtime: ltypes.RuntimeProvidedal2023,
		Handler: aws.String("bootstrap"), Role: aws.String("arn:aws:iam::000000000000:role/any"), Code: &ltypes.FunctionCode{ZipFile: code}})
	var conflict *ltypes.ResourceConflictException
	if !errors.As(err, &conflict) {
		t.Fatalf("second create: %v", err)
	}

	invoke := func(payload string, tail bool) *lambda.InvokeOutput {
		t.Helper()
		in := &lambda.InvokeInput{FunctionName: aws.String("echo"), Payload: []byte(payload)}
		if tail {
			in.LogType = ltypes.LogTypeTail
		}
		out, err := c.Invoke(ctx, in)
		if err != nil {
			t.Fatalf("invoke %s: %v", payload, err)
		}
		return out
	}
	var first, second echoReply
	out := invoke(`{"n":1}`, true)
	if err := json.Unmarshal(out.Payload, &first); err != nil || string(first.Event) != `{"n":1}` || first.Count != 1 {
		t.Fatalf("first invoke: %s %v", out.Payload, err)
	}
	logTail, _ := base64.StdEncoding.DecodeString(aws.ToString(out.LogResult))
	if !strings.Contains(string(logTail), "START RequestId:") || !strings.Contains(string(logTail), "Init Duration:") || aws.ToString(out.ExecutedVersion) != "$LATEST" {
		t.Fatalf("log tail of a cold start: %q", logTail)
	}
	// Warm: the same process serves the second invoke.
	out = invoke(`{"n":2}`, false)
	if err := json.Unmarshal(out.Payload, &second); err != nil || second.Count != 2 || second.Instance != first.Instance {
		t.Fatalf("second invoke was not warm: %s", out.Payload)
	}
	// A function error is a 200 with X-Amz-Function-Error and the error document.
	out = invoke(`{"fail":true}`, false)
	if aws.ToString(out.FunctionError) != "Unhandled" || !strings.Contains(string(out.Payload), `"errorMessage":"echofn: asked to fail"`) {
		t.Fatalf("function error: %q %s", aws.ToString(out.FunctionError), out.Payload)
	}
	// A timeout stops the instance; the next call starts cleanly.
	start := time.Now()
	out = invoke(`{"sleepMs":5000}`, false)
	if aws.ToString(out.FunctionError) != "Unhandled" || !strings.Contains(string(out.Payload), "Task timed out after 2.00 seconds") || time.Since(start) > 4*time.Second {
		t.Fatalf("timeout: %s", out.Payload)
	}
	var after echoReply
	out = invoke(`{}`, false)
	if err := json.Unmarshal(out.Payload, &after); err != nil || after.Count != 1 || after.Instance == first.Instance {
		t.Fatalf("after a timeout the next invoke must cold-start: %s", out.Payload)
	}
	// DryRun checks the function without running it.
	dry, err := c.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("echo"), InvocationType: ltypes.InvocationTypeDryRun})
	if err != nil || dry.StatusCode != 204 {
		t.Fatalf("dry run: %+v %v", dry, err)
	}
	// The function's log group is readable through CloudWatch Logs.
	lc := b.Logs()
	streams, err := lc.DescribeLogStreams(ctx, &cloudwatchlogs.DescribeLogStreamsInput{LogGroupName: aws.String("/aws/lambda/echo")})
	if err != nil || len(streams.LogStreams) == 0 {
		t.Fatalf("function log streams: %+v %v", streams, err)
	}

	// Reserved concurrency: 0 throttles everything; 1 lets one of two concurrent calls through.
	if _, err := c.PutFunctionConcurrency(ctx, &lambda.PutFunctionConcurrencyInput{FunctionName: aws.String("echo"), ReservedConcurrentExecutions: aws.Int32(0)}); err != nil {
		t.Fatal(err)
	}
	_, err = c.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("echo"), Payload: []byte(`{}`)})
	var throttled *ltypes.TooManyRequestsException
	if !errors.As(err, &throttled) || throttled.Reason != ltypes.ThrottleReasonReservedFunctionConcurrentInvocationLimitExceeded {
		t.Fatalf("invoke with reserved concurrency 0: %v", err)
	}
	if _, err := c.PutFunctionConcurrency(ctx, &lambda.PutFunctionConcurrencyInput{FunctionName: aws.String("echo"), ReservedConcurrentExecutions: aws.Int32(1)}); err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, 2)
	// The SDK retries throttles by default; this check needs to see them.
	once := lambda.NewFromConfig(b.Config(), func(o *lambda.Options) { o.Retryer = aws.NopRetryer{} })
	for i := 0; i < 2; i++ {
		go func() {
			_, err := once.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("echo"), Payload: []byte(`{"sleepMs":1000}`)})
			errs <- err
		}()
	}
	var nThrottled int
	for i := 0; i < 2; i++ {
		if err := <-errs; errors.As(err, &throttled) {
			nThrottled++
		} else if err != nil {
			t.Fatal(err)
		}
	}
	if nThrottled != 1 {
		t.Fatalf("with reserved concurrency 1, %d of 2 concurrent invokes were throttled, want 1", nThrottled)
	}
	if _, err := c.DeleteFunctionConcurrency(ctx, &lambda.DeleteFunctionConcurrencyInput{FunctionName: aws.String("echo")}); err != nil {
		t.Fatal(err)
	}
	if cc, err := c.GetFunctionConcurrency(ctx, &lambda.GetFunctionConcurrencyInput{FunctionName: aws.String("echo")}); err != nil || cc.ReservedConcurrentExecutions != nil {
		t.Fatalf("after delete: %+v %v", cc, err)
	}
	// Configuration and code updates take effect on the next invocation.
	if _, err := c.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{FunctionName: aws.String("echo"),
		Environment: &ltypes.Environment{Variables: map[string]string{"GREETING": "updated"}}}); err != nil {
		t.Fatal(err)
	}
	out = invoke(`{}`, false)
	if !strings.Contains(string(out.Payload), `"GREETING":"updated"`) {
		t.Fatalf("after UpdateFunctionConfiguration: %s", out.Payload)
	}
	updated, err := c.UpdateFunctionCode(ctx, &lambda.UpdateFunctionCodeInput{FunctionName: aws.String("echo"), ZipFile: withExtraFile(t, code)})
	if err != nil || aws.ToString(updated.CodeSha256) == aws.ToString(created.CodeSha256) {
		t.Fatalf("UpdateFunctionCode: %+v %v", updated, err)
	}
	var fresh echoReply
	out = invoke(`{}`, false)
	if err := json.Unmarshal(out.Payload, &fresh); err != nil || fresh.Count != 1 {
		t.Fatalf("after UpdateFunctionCode the next invoke must start the new code: %s", out.Payload)
	}

	got, err := c.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("echo")})
	if err != nil || aws.ToInt32(got.Configuration.Timeout) != 2 || got.Configuration.Environment.Variables["GREETING"] != "updated" {
		t.Fatalf("get function: %+v %v", got, err)
	}
	list, err := c.ListFunctions(ctx, &lambda.ListFunctionsInput{})
	if err != nil || len(list.Functions) != 1 {
		t.Fatalf("list: %+v %v", list, err)
	}
	if _, err := c.DeleteFunction(ctx, &lambda.DeleteFunctionInput{FunctionName: aws.String("echo")}); err != nil {
		t.Fatal(err)
	}
	_, err = c.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("echo")})
	var nf *ltypes.ResourceNotFoundException
	if !errors.As(err, &nf) {
		t.Fatalf("invoke of a deleted function: %v", err)
	}
	_, err = c.CreateFunction(ctx, &lambda.CreateFunctionInput{FunctionName: aws.String("bad"), Runtime: ltypes.RuntimeProvidedal2023,
		Handler: aws.String("bootstrap"), Role: aws.String("arn:aws:iam::000000000000:role/any"), Code: &ltypes.FunctionCode{ZipFile: []byte("not a zip")}})
	var inv *ltypes.InvalidParameterValueException
	if !errors.As(err, &inv) {
		t.Fatalf("create from a non-zip: %v", err)
	}
}

// withExtraFile returns the package with one more file, so its SHA-256 differs.
func withExtraFile(t *testing.T, pkg []byte) []byte {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(pkg), int64(len(pkg)))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, f := range zr.File {
		if err := zw.Copy(f); err != nil {
			t.Fatal(err)
		}
	}
	w, _ := zw.Create("VERSION")
	w.Write([]byte("2\n"))
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestCLILambda is the AWS CLI smoke test: create a function from a zip file and invoke it.
func TestCLILambda(t *testing.T) {
	t.Parallel()
	b := bargetest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dir := t.TempDir()
	zipPath := filepath.Join(dir, "fn.zip")
	if err := os.WriteFile(zipPath, echoFunction(t), 0o644); err != nil {
		t.Fatal(err)
	}
	a := awsCLI{t, ctx, b.Env()}
	var created struct {
		FunctionArn string
		State       string
	}
	a.ok(&created, "lambda", "create-function", "--function-name", "cli-echo", "--runtime", "provided.al2023",
		"--handler", "bootstrap", "--role", "arn:aws:iam::000000000000:role/any", "--zip-file", "fileb://"+zipPath)
	if created.FunctionArn != "arn:aws:lambda:us-east-1:000000000000:function:cli-echo" || created.State != "Active" {
		t.Fatalf("create-function: %+v", created)
	}
	outFile := filepath.Join(dir, "out.json")
	var inv struct {
		StatusCode      int
		ExecutedVersion string
		LogResult       string
	}
	a.ok(&inv, "lambda", "invoke", "--function-name", "cli-echo", "--payload", `{"from":"cli"}`, "--log-type", "Tail", outFile)
	body, err := os.ReadFile(outFile)
	if err != nil {
		t.Fatal(err)
	}
	logs, _ := base64.StdEncoding.DecodeString(inv.LogResult)
	if inv.StatusCode != 200 || inv.ExecutedVersion != "$LATEST" || !strings.Contains(string(body), `"event":{"from":"cli"}`) || !strings.Contains(string(logs), "REPORT RequestId:") {
		t.Fatalf("invoke: %+v\nbody %s\nlogs %s", inv, body, logs)
	}
	a.fails("ResourceNotFoundException", "lambda", "get-function", "--function-name", "nope")

	// barge's own command line.
	res := runCmd(t, ctx, b.Env(), bargetest.Binary(t), "invoke", "cli-echo", `{"via":"barge"}`)
	if res.code != 0 || !strings.Contains(res.stdout, `"event":{"via":"barge"}`) {
		t.Fatalf("barge invoke:\n%s", res)
	}
	if res := runCmd(t, ctx, b.Env(), bargetest.Binary(t), "invoke", "cli-echo", `{"fail":true}`); res.code != 1 || !strings.Contains(res.stderr, "function error (Unhandled)") {
		t.Fatalf("barge invoke of a failing call:\n%s", res)
	}

	// barge deploy: a function from a local zip, and from a directory, created then updated.
	deployZip := filepath.Join(t.TempDir(), "fn.zip")
	if err := os.WriteFile(deployZip, echoFunction(t), 0o644); err != nil {
		t.Fatal(err)
	}
	barge := func(args ...string) cmdResult {
		t.Helper()
		res := runCmd(t, ctx, b.Env(), bargetest.Binary(t), args...)
		if res.code != 0 {
			t.Fatalf("barge %v:\n%s", args, res)
		}
		return res
	}
	if res := barge("deploy", "--env", "GREETING=deployed", "deployed-echo", deployZip); !strings.HasPrefix(res.stdout, "created ") {
		t.Fatalf("barge deploy of a zip:\n%s", res)
	}
	if res := barge("invoke", "deployed-echo", `{}`); !strings.Contains(res.stdout, `"GREETING":"deployed"`) {
		t.Fatalf("invoking the deployed zip:\n%s", res)
	}
	if _, err := exec.LookPath("python3"); err == nil {
		dir := t.TempDir()
		write := func(version string) {
			os.WriteFile(filepath.Join(dir, "app.py"), []byte("def handler(event, context):\n    return {'version': "+version+"}\n"), 0o644)
		}
		write("1")
		if res := barge("deploy", "--runtime", string(hostPython(t)), "--handler", "app.handler", "py-dir", dir); !strings.HasPrefix(res.stdout, "created ") {
			t.Fatalf("barge deploy of a directory:\n%s", res)
		}
		if res := barge("invoke", "py-dir"); !strings.Contains(res.stdout, `"version": 1`) {
			t.Fatalf("invoking the deployed directory:\n%s", res)
		}
		write("2")
		if res := barge("deploy", "--runtime", string(hostPython(t)), "--handler", "app.handler", "py-dir", dir); !strings.HasPrefix(res.stdout, "updated ") {
			t.Fatalf("barge deploy again:\n%s", res)
		}
		if res := barge("invoke", "py-dir"); !strings.Contains(res.stdout, `"version": 2`) {
			t.Fatalf("invoking the redeployed directory:\n%s", res)
		}
	}
}

// startLines counts the invocations a function's log group records (one START line each).
func startLines(t *testing.T, b *bargetest.Barge, function string) int {
	t.Helper()
	n := 0
	for _, m := range logMessages(t, b, function) {
		if strings.HasPrefix(m, "START RequestId:") {
			n++
		}
	}
	return n
}

func TestLambdaAsyncInvoke(t *testing.T) {
	t.Parallel()
	b := bargetest.Start(t)
	c := lambda.NewFromConfig(b.Config())
	ctx := context.Background()
	for _, name := range []string{"ok", "bad"} {
		if _, err := c.CreateFunction(ctx, &lambda.CreateFunctionInput{FunctionName: aws.String(name), Runtime: ltypes.RuntimeProvidedal2023,
			Handler: aws.String("bootstrap"), Role: aws.String("arn:aws:iam::000000000000:role/any"), Code: &ltypes.FunctionCode{ZipFile: echoFunction(t)}}); err != nil {
			t.Fatal(err)
		}
	}
	wait := func(function string, want int) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for {
			n := startLines(t, b, function)
			if n >= want {
				if n != want {
					t.Fatalf("%s ran %d times, want %d", function, n, want)
				}
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s ran %d times after 30s, want %d", function, n, want)
			}
			time.Sleep(50 * time.Millisecond) // poll interval; the loop waits on the log's state
		}
	}
	out, err := c.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("ok"), InvocationType: ltypes.InvocationTypeEvent, Payload: []byte(`{"n":1}`)})
	if err != nil || out.StatusCode != 202 {
		t.Fatalf("event invoke: %+v %v", out, err)
	}
	wait("ok", 1)
	// A failing event is tried three times in all (two retries), as Lambda does.
	if _, err := c.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("bad"), InvocationType: ltypes.InvocationTypeEvent, Payload: []byte(`{"fail":true}`)}); err != nil {
		t.Fatal(err)
	}
	wait("bad", 3)
	// Async payloads are limited to 256 KB.
	big := `{"pad":"` + strings.Repeat("x", 300<<10) + `"}`
	_, err = c.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("ok"), InvocationType: ltypes.InvocationTypeEvent, Payload: []byte(big)})
	var tooLarge *ltypes.RequestTooLargeException
	if !errors.As(err, &tooLarge) {
		t.Fatalf("oversized event: %v", err)
	}
}

func TestLambdaVersionsAndAliases(t *testing.T) {
	t.Parallel()
	b := bargetest.Start(t)
	c := lambda.NewFromConfig(b.Config())
	ctx := context.Background()
	fn := aws.String("versioned")
	if _, err := c.CreateFunction(ctx, &lambda.CreateFunctionInput{FunctionName: fn, Runtime: ltypes.RuntimeProvidedal2023, Handler: aws.String("bootstrap"),
		Role: aws.String("arn:aws:iam::000000000000:role/any"), Code: &ltypes.FunctionCode{ZipFile: echoFunction(t)},
		Environment: &ltypes.Environment{Variables: map[string]string{"GREETING": "one"}}}); err != nil {
		t.Fatal(err)
	}
	v1, err := c.PublishVersion(ctx, &lambda.PublishVersionInput{FunctionName: fn})
	if err != nil || aws.ToString(v1.Version) != "1" || !strings.HasSuffix(aws.ToString(v1.FunctionArn), ":versioned:1") {
		t.Fatalf("publish 1: %+v %v", v1, err)
	}
	again, err := c.PublishVersion(ctx, &lambda.PublishVersionInput{FunctionName: fn})
	if err != nil || aws.ToString(again.Version) != "1" {
		t.Fatalf("publishing an unchanged function must return version 1: %+v %v", again, err)
	}
	if _, err := c.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{FunctionName: fn,
		Environment: &ltypes.Environment{Variables: map[string]string{"GREETING": "two"}}}); err != nil {
		t.Fatal(err)
	}
	v2, err := c.PublishVersion(ctx, &lambda.PublishVersionInput{FunctionName: fn})
	if err != nil || aws.ToString(v2.Version) != "2" {
		t.Fatalf("publish 2: %+v %v", v2, err)
	}
	if _, err := c.CreateAlias(ctx, &lambda.CreateAliasInput{FunctionName: fn, Name: aws.String("live"), FunctionVersion: aws.String("1")}); err != nil {
		t.Fatal(err)
	}
	call := func(qualifier string) (string, string) {
		t.Helper()
		out, err := c.Invoke(ctx, &lambda.InvokeInput{FunctionName: fn, Qualifier: aws.String(qualifier), Payload: []byte(`{}`)})
		if err != nil {
			t.Fatalf("invoke %s: %v", qualifier, err)
		}
		var r struct {
			Env map[string]string `json:"env"`
		}
		json.Unmarshal(out.Payload, &r)
		return aws.ToString(out.ExecutedVersion), r.Env["GREETING"]
	}
	for _, tc := range []struct{ qualifier, version, greeting string }{
		{"live", "1", "one"}, {"1", "1", "one"}, {"2", "2", "two"}, {"$LATEST", "$LATEST", "two"},
	} {
		if v, g := call(tc.qualifier); v != tc.version || g != tc.greeting {
			t.Fatalf("invoke %s ran version %s with GREETING=%s, want %s with %s", tc.qualifier, v, g, tc.version, tc.greeting)
		}
	}
	// Weighted routing: half of live's invocations go to version 2.
	route := func(w map[string]float64) {
		t.Helper()
		if _, err := c.UpdateAlias(ctx, &lambda.UpdateAliasInput{FunctionName: fn, Name: aws.String("live"),
			RoutingConfig: &ltypes.AliasRoutingConfiguration{AdditionalVersionWeights: w}}); err != nil {
			t.Fatal(err)
		}
	}
	ran := func(n int) map[string]int {
		counts := map[string]int{}
		for range n {
			v, g := call("live")
			if (v == "1") != (g == "one") {
				t.Fatalf("version %s ran with GREETING=%s", v, g)
			}
			counts[v]++
		}
		return counts
	}
	route(map[string]float64{"2": 0.5})
	if got := ran(40); got["1"] == 0 || got["2"] == 0 || got["1"]+got["2"] != 40 {
		t.Fatalf("a 50 %% weighted alias ran %v", got)
	}
	route(map[string]float64{"2": 1})
	if got := ran(10); got["2"] != 10 {
		t.Fatalf("a 100 %% weighted alias ran %v", got)
	}
	_, err = c.DeleteFunction(ctx, &lambda.DeleteFunctionInput{FunctionName: fn, Qualifier: aws.String("2")})
	var inUse *ltypes.ResourceConflictException
	if !errors.As(err, &inUse) {
		t.Fatalf("deleting a version an alias routes to: %v", err)
	}
	route(map[string]float64{})
	if got := ran(5); got["1"] != 5 {
		t.Fatalf("after clearing the routing, live ran %v", got)
	}
	for _, bad := range []struct {
		version string
		w       map[string]float64
		want    string
	}{
		{"1", map[string]float64{"2": 1.5}, "between 0.0 and 1.0"},
		{"$LATEST", map[string]float64{"2": 0.5}, "$LATEST is not supported"},
		{"1", map[string]float64{"1": 0.5}, "already the alias's FunctionVersion"},
		{"1", map[string]float64{"9": 0.5}, "not found"},
	} {
		_, err := c.UpdateAlias(ctx, &lambda.UpdateAliasInput{FunctionName: fn, Name: aws.String("live"), FunctionVersion: aws.String(bad.version),
			RoutingConfig: &ltypes.AliasRoutingConfiguration{AdditionalVersionWeights: bad.w}})
		if err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("UpdateAlias to %s with %v: %v, want an error containing %q", bad.version, bad.w, err, bad.want)
		}
	}
	if _, err := c.UpdateAlias(ctx, &lambda.UpdateAliasInput{FunctionName: fn, Name: aws.String("live"), FunctionVersion: aws.String("2")}); err != nil {
		t.Fatal(err)
	}
	if v, _ := call("live"); v != "2" {
		t.Fatalf("after moving the alias, live ran version %s", v)
	}
	vs, err := c.ListVersionsByFunction(ctx, &lambda.ListVersionsByFunctionInput{FunctionName: fn})
	if err != nil || len(vs.Versions) != 3 || aws.ToString(vs.Versions[0].Version) != "$LATEST" || aws.ToString(vs.Versions[2].Version) != "2" {
		t.Fatalf("versions: %+v %v", vs, err)
	}
	as, err := c.ListAliases(ctx, &lambda.ListAliasesInput{FunctionName: fn})
	if err != nil || len(as.Aliases) != 1 || aws.ToString(as.Aliases[0].FunctionVersion) != "2" {
		t.Fatalf("aliases: %+v %v", as, err)
	}
	// A version an alias points to cannot be deleted; another one can.
	_, err = c.DeleteFunction(ctx, &lambda.DeleteFunctionInput{FunctionName: fn, Qualifier: aws.String("2")})
	var conflict *ltypes.ResourceConflictException
	if !errors.As(err, &conflict) {
		t.Fatalf("deleting an aliased version: %v", err)
	}
	if _, err := c.DeleteFunction(ctx, &lambda.DeleteFunctionInput{FunctionName: fn, Qualifier: aws.String("1")}); err != nil {
		t.Fatal(err)
	}
	_, err = c.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("versioned:1"), Payload: []byte(`{}`)})
	var nf *ltypes.ResourceNotFoundException
	if !errors.As(err, &nf) {
		t.Fatalf("invoking a deleted version: %v", err)
	}
	if _, err := c.DeleteAlias(ctx, &lambda.DeleteAliasInput{FunctionName: fn, Name: aws.String("live")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.DeleteFunction(ctx, &lambda.DeleteFunctionInput{FunctionName: fn}); err != nil {
		t.Fatal(err)
	}
}

// TestLambdaPython runs an ordinary Python handler (module.function), as Lambda's python3.x
// runtimes do, on the host's python3.
func TestLambdaPython(t *testing.T) {
	t.Parallel()
	pkg := pythonPackage(t, "app.py", `
calls = 0

def handler(event, context):
    global calls
    calls += 1
    if event.get("boom"):
        raise ValueError("boom requested")
    print("handling", context.aws_request_id)
    return {"got": event, "calls": calls, "function": context.function_name, "remaining_ok": context.get_remaining_time_in_millis() > 0}
`)
	b := bargetest.Start(t)
	c := lambda.NewFromConfig(b.Config())
	ctx := context.Background()
	if _, err := c.CreateFunction(ctx, &lambda.CreateFunctionInput{FunctionName: aws.String("py"), Runtime: hostPython(t),
		Handler: aws.String("app.handler"), Role: aws.String("arn:aws:iam::000000000000:role/any"), Code: &ltypes.FunctionCode{ZipFile: pkg}}); err != nil {
		t.Fatal(err)
	}
	invoke := func(payload string) *lambda.InvokeOutput {
		t.Helper()
		out, err := c.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("py"), Payload: []byte(payload)})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	var r struct {
		Got         map[string]any `json:"got"`
		Calls       int            `json:"calls"`
		Function    string         `json:"function"`
		RemainingOK bool           `json:"remaining_ok"`
	}
	invoke(`{"a":1}`)
	out := invoke(`{"a":2}`)
	if err := json.Unmarshal(out.Payload, &r); err != nil || r.Calls != 2 || r.Got["a"] != float64(2) || r.Function != "py" || !r.RemainingOK {
		t.Fatalf("python handler: %s %v", out.Payload, err)
	}
	out = invoke(`{"boom":true}`)
	if aws.ToString(out.FunctionError) != "Unhandled" || !strings.Contains(string(out.Payload), `"errorType": "ValueError"`) {
		t.Fatalf("python exception: %q %s", aws.ToString(out.FunctionError), out.Payload)
	}
}

// TestLambdaDestinations: with PutFunctionEventInvokeConfig, a failed event (after its retries)
// and a successful one send AWS's invocation record to a Lambda function destination.
func TestLambdaDestinations(t *testing.T) {
	t.Parallel()
	sinkPkg := pythonPackage(t, "sink.py", "import json\ndef handler(event, context):\n    print('RECORD ' + json.dumps(event, sort_keys=True))\n    return {}\n")
	b := bargetest.Start(t)
	c := lambda.NewFromConfig(b.Config())
	ctx := context.Background()
	role := aws.String("arn:aws:iam::000000000000:role/any")
	sink, err := c.CreateFunction(ctx, &lambda.CreateFunctionInput{FunctionName: aws.String("sink"), Runtime: hostPython(t),
		Handler: aws.String("sink.handler"), Role: role, Code: &ltypes.FunctionCode{ZipFile: sinkPkg}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateFunction(ctx, &lambda.CreateFunctionInput{FunctionName: aws.String("worker"), Runtime: ltypes.RuntimeProvidedal2023,
		Handler: aws.String("bootstrap"), Role: role, Code: &ltypes.FunctionCode{ZipFile: echoFunction(t)}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.PutFunctionEventInvokeConfig(ctx, &lambda.PutFunctionEventInvokeConfigInput{FunctionName: aws.String("worker"),
		MaximumRetryAttempts: aws.Int32(0), DestinationConfig: &ltypes.DestinationConfig{
			OnFailure: &ltypes.OnFailure{Destination: sink.FunctionArn}, OnSuccess: &ltypes.OnSuccess{Destination: sink.FunctionArn}}}); err != nil {
		t.Fatal(err)
	}
	got, err := c.GetFunctionEventInvokeConfig(ctx, &lambda.GetFunctionEventInvokeConfigInput{FunctionName: aws.String("worker")})
	if err != nil || aws.ToInt32(got.MaximumRetryAttempts) != 0 || aws.ToString(got.DestinationConfig.OnFailure.Destination) != aws.ToString(sink.FunctionArn) {
		t.Fatalf("event invoke config: %+v %v", got, err)
	}
	for _, payload := range []string{`{"fail":true}`, `{"ok":1}`} {
		if _, err := c.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("worker"), InvocationType: ltypes.InvocationTypeEvent, Payload: []byte(payload)}); err != nil {
			t.Fatal(err)
		}
	}
	// Wait for both records to reach the sink's log.
	records := func() []string {
		var out []string
		for _, m := range logMessages(t, b, "sink") {
			if strings.HasPrefix(m, "RECORD ") {
				out = append(out, m)
			}
		}
		return out
	}
	deadline := time.Now().Add(30 * time.Second)
	var recs []string
	for recs = records(); len(recs) < 2 && time.Now().Before(deadline); recs = records() {
		time.Sleep(50 * time.Millisecond) // poll interval; the loop waits on the log's state
	}
	all := strings.Join(recs, "\n")
	if len(recs) != 2 || !strings.Contains(all, `"condition": "RetriesExhausted"`) || !strings.Contains(all, `"condition": "Success"`) ||
		!strings.Contains(all, `"requestPayload": {"fail": true}`) || !strings.Contains(all, `"functionError": "Unhandled"`) {
		t.Fatalf("destination records:\n%s", all)
	}
}

// TestLambdaAsyncEventSurvivesCrash: an accepted Event invocation is durable: queued while the
// function is throttled, it survives a kill -9 of barge and runs once the throttle is lifted.
func TestLambdaAsyncEventSurvivesCrash(t *testing.T) {
	t.Parallel()
	b := bargetest.Start(t)
	c := lambda.NewFromConfig(b.Config())
	ctx := context.Background()
	if _, err := c.CreateFunction(ctx, &lambda.CreateFunctionInput{FunctionName: aws.String("later"), Runtime: ltypes.RuntimeProvidedal2023,
		Handler: aws.String("bootstrap"), Role: aws.String("arn:aws:iam::000000000000:role/any"), Code: &ltypes.FunctionCode{ZipFile: echoFunction(t)}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.PutFunctionConcurrency(ctx, &lambda.PutFunctionConcurrencyInput{FunctionName: aws.String("later"), ReservedConcurrentExecutions: aws.Int32(0)}); err != nil {
		t.Fatal(err)
	}
	out, err := c.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("later"), InvocationType: ltypes.InvocationTypeEvent, Payload: []byte(`{"n":1}`)})
	if err != nil || out.StatusCode != 202 {
		t.Fatalf("event invoke: %+v %v", out, err)
	}
	if n := startLines(t, b, "later"); n != 0 {
		t.Fatalf("a throttled function ran %d times", n)
	}
	b.Kill()
	b.Restart()
	c = lambda.NewFromConfig(b.Config())
	if _, err := c.DeleteFunctionConcurrency(ctx, &lambda.DeleteFunctionConcurrencyInput{FunctionName: aws.String("later")}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for startLines(t, b, "later") < 1 {
		if time.Now().After(deadline) {
			t.Fatal("the queued event did not run after the restart")
		}
		time.Sleep(50 * time.Millisecond) // poll interval; the loop waits on the log's state
	}
}

// pythonPackage zips one Python source file as a function package; it skips the test where the
// host has no python3 to run it.
func pythonPackage(t *testing.T, name, source string) []byte {
	t.Helper()
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("no python3 on this host")
	}
	return zipSources(t, map[string]string{name: source})
}

func TestLambdaTags(t *testing.T) {
	t.Parallel()
	b := bargetest.Start(t)
	c, ctx := lambda.NewFromConfig(b.Config()), context.Background()
	created, err := c.CreateFunction(ctx, &lambda.CreateFunctionInput{FunctionName: aws.String("tagged"), Runtime: ltypes.RuntimeProvidedal2023,
		Handler: aws.String("bootstrap"), Role: aws.String("arn:aws:iam::000000000000:role/any"), Code: &ltypes.FunctionCode{ZipFile: echoFunction(t)},
		Tags: map[string]string{"team": "batch"}})
	if err != nil {
		t.Fatal(err)
	}
	arn := created.FunctionArn
	if _, err := c.TagResource(ctx, &lambda.TagResourceInput{Resource: arn, Tags: map[string]string{"env": "dev", "team": "lambda"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.UntagResource(ctx, &lambda.UntagResourceInput{Resource: arn, TagKeys: []string{"env", "absent"}}); err != nil {
		t.Fatal(err)
	}
	got, err := c.ListTags(ctx, &lambda.ListTagsInput{Resource: arn})
	if err != nil || len(got.Tags) != 1 || got.Tags["team"] != "lambda" {
		t.Fatalf("ListTags: %v %v", got, err)
	}
	if fn, err := c.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("tagged")}); err != nil || fn.Tags["team"] != "lambda" {
		t.Fatalf("GetFunction tags: %v %v", fn, err)
	}
	_, err = c.TagResource(ctx, &lambda.TagResourceInput{Resource: arn, Tags: map[string]string{"aws:owner": "x"}})
	apiErr(t, err, "InvalidParameterValueException", 400, "reserved")
	_, err = c.ListTags(ctx, &lambda.ListTagsInput{Resource: aws.String("arn:aws:lambda:us-east-1:000000000000:function:nope")})
	apiErr(t, err, "ResourceNotFoundException", 404, "nope")
}

// TestLambdaNode runs Node.js handlers (async, callback-style, ES module) as Lambda's nodejs
// runtimes do, on the host's node.
func TestLambdaNode(t *testing.T) {
	if _, err := exec.LookPath("node"); err != nil {
		t.Skip("no node on this host")
	}
	t.Parallel()
	pkg := zipSources(t, map[string]string{
		"index.js": `let calls = 0;
exports.handler = async (event, context) => {
  calls++;
  if (event.boom) throw new TypeError("boom requested");
  console.log("handling", context.awsRequestId);
  return { got: event, calls, fn: context.functionName, remainingOk: context.getRemainingTimeInMillis() > 0 };
};
exports.cb = (event, context, callback) => { setTimeout(() => callback(null, { viaCallback: event.n * 2 }), 5); };`,
		"esm.mjs": `export const handler = async (event) => ({ esm: true, n: event.n });`,
	})
	b := bargetest.Start(t)
	c, ctx := lambda.NewFromConfig(b.Config()), context.Background()
	for name, handler := range map[string]string{"node": "index.handler", "node-cb": "index.cb", "node-esm": "esm.handler"} {
		if _, err := c.CreateFunction(ctx, &lambda.CreateFunctionInput{FunctionName: aws.String(name), Runtime: hostNode(t),
			Handler: aws.String(handler), Role: aws.String("arn:aws:iam::000000000000:role/any"), Code: &ltypes.FunctionCode{ZipFile: pkg}}); err != nil {
			t.Fatal(err)
		}
	}
	invoke := func(fn, payload string) *lambda.InvokeOutput {
		t.Helper()
		out, err := c.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String(fn), Payload: []byte(payload)})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	invoke("node", `{"a":1}`)
	var r struct {
		Got         map[string]any `json:"got"`
		Calls       int            `json:"calls"`
		Fn          string         `json:"fn"`
		RemainingOK bool           `json:"remainingOk"`
	}
	out := invoke("node", `{"a":2}`)
	if err := json.Unmarshal(out.Payload, &r); err != nil || r.Calls != 2 || r.Got["a"] != float64(2) || r.Fn != "node" || !r.RemainingOK {
		t.Fatalf("node handler: %s %v", out.Payload, err)
	}
	out = invoke("node", `{"boom":true}`)
	if aws.ToString(out.FunctionError) != "Unhandled" || !strings.Contains(string(out.Payload), `"errorType":"TypeError"`) {
		t.Fatalf("a throwing handler: %s %s", aws.ToString(out.FunctionError), out.Payload)
	}
	if out := invoke("node-cb", `{"n":21}`); string(out.Payload) != `{"viaCallback":42}` {
		t.Fatalf("callback handler: %s", out.Payload)
	}
	if out := invoke("node-esm", `{"n":7}`); string(out.Payload) != `{"esm":true,"n":7}` {
		t.Fatalf("ES module handler: %s", out.Payload)
	}
}

// TestLambdaDeadLetter: an asynchronous event that fails after its retries goes to the function's
// dead-letter queue, which barge keeps in its store (it has no SQS): read here from the SQLite file
// as another process would.
func TestLambdaDeadLetter(t *testing.T) {
	t.Parallel()
	b := bargetest.Start(t)
	c, ctx := lambda.NewFromConfig(b.Config()), context.Background()
	role := aws.String("arn:aws:iam::000000000000:role/any")
	_, err := c.CreateFunction(ctx, &lambda.CreateFunctionInput{FunctionName: aws.String("bad-dlq"), Runtime: ltypes.RuntimeProvidedal2023,
		Handler: aws.String("bootstrap"), Role: role, Code: &ltypes.FunctionCode{ZipFile: echoFunction(t)},
		DeadLetterConfig: &ltypes.DeadLetterConfig{TargetArn: aws.String("arn:aws:s3:::bucket")}})
	apiErr(t, err, "InvalidParameterValueException", 400, "DeadLetterConfig.TargetArn")
	queue := "arn:aws:sqs:us-east-1:000000000000:failed-events"
	created, err := c.CreateFunction(ctx, &lambda.CreateFunctionInput{FunctionName: aws.String("dlq"), Runtime: ltypes.RuntimeProvidedal2023,
		Handler: aws.String("bootstrap"), Role: role, Code: &ltypes.FunctionCode{ZipFile: echoFunction(t)},
		DeadLetterConfig: &ltypes.DeadLetterConfig{TargetArn: aws.String(queue)}})
	if err != nil || created.DeadLetterConfig == nil || aws.ToString(created.DeadLetterConfig.TargetArn) != queue {
		t.Fatalf("create: %v %+v", err, created)
	}
	if _, err := c.PutFunctionEventInvokeConfig(ctx, &lambda.PutFunctionEventInvokeConfigInput{FunctionName: aws.String("dlq"), MaximumRetryAttempts: aws.Int32(0)}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("dlq"), InvocationType: ltypes.InvocationTypeEvent, Payload: []byte(`{"fail":true,"n":7}`)}); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", "file:"+filepath.Join(b.DataDir, "barge.db")+"?mode=ro&_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var arn string
	var body []byte
	deadline := time.Now().Add(30 * time.Second)
	for {
		err := db.QueryRow(`SELECT arn, body FROM resources WHERE kind = 'lambda-dead-letter'`).Scan(&arn, &body)
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no dead-letter message: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	var msg struct {
		Body  map[string]any    `json:"body"`
		Attrs map[string]string `json:"messageAttributes"`
	}
	if err := json.Unmarshal(body, &msg); err != nil || arn != queue || msg.Body["n"] != float64(7) || msg.Attrs["RequestID"] == "" || !strings.Contains(msg.Attrs["ErrorMessage"], "asked to fail") {
		t.Fatalf("dead-letter message for %s: %s (%v)", arn, body, err)
	}
	// UpdateFunctionConfiguration with an empty TargetArn removes it.
	up, err := c.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{FunctionName: aws.String("dlq"), DeadLetterConfig: &ltypes.DeadLetterConfig{TargetArn: aws.String("")}})
	if err != nil || up.DeadLetterConfig != nil {
		t.Fatalf("removing the dead-letter queue: %v %+v", err, up.DeadLetterConfig)
	}
}

// TestLambdaProvisionedConcurrency: a provisioned alias has warm instances before any invoke
// (its first invocation has no Init Duration), after a restart too.
func TestLambdaProvisionedConcurrency(t *testing.T) {
	t.Parallel()
	b := bargetest.Start(t)
	c, ctx := lambda.NewFromConfig(b.Config()), context.Background()
	fn := aws.String("warm")
	if _, err := c.CreateFunction(ctx, &lambda.CreateFunctionInput{FunctionName: fn, Runtime: ltypes.RuntimeProvidedal2023, Handler: aws.String("bootstrap"),
		Role: aws.String("arn:aws:iam::000000000000:role/any"), Code: &ltypes.FunctionCode{ZipFile: echoFunction(t)}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.PublishVersion(ctx, &lambda.PublishVersionInput{FunctionName: fn}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateAlias(ctx, &lambda.CreateAliasInput{FunctionName: fn, Name: aws.String("live"), FunctionVersion: aws.String("1")}); err != nil {
		t.Fatal(err)
	}
	_, err := c.PutProvisionedConcurrencyConfig(ctx, &lambda.PutProvisionedConcurrencyConfigInput{FunctionName: fn, Qualifier: aws.String("$LATEST"), ProvisionedConcurrentExecutions: aws.Int32(1)})
	apiErr(t, err, "InvalidParameterValueException", 400, "unpublished")
	put, err := c.PutProvisionedConcurrencyConfig(ctx, &lambda.PutProvisionedConcurrencyConfigInput{FunctionName: fn, Qualifier: aws.String("live"), ProvisionedConcurrentExecutions: aws.Int32(2)})
	if err != nil || aws.ToInt32(put.RequestedProvisionedConcurrentExecutions) != 2 {
		t.Fatalf("put: %v %+v", err, put)
	}
	waitReady := func() {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for {
			got, err := c.GetProvisionedConcurrencyConfig(ctx, &lambda.GetProvisionedConcurrencyConfigInput{FunctionName: fn, Qualifier: aws.String("live")})
			if err != nil {
				t.Fatal(err)
			}
			if got.Status == ltypes.ProvisionedConcurrencyStatusEnumReady && aws.ToInt32(got.AvailableProvisionedConcurrentExecutions) == 2 {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("never READY: %+v", got)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	noInit := func() {
		t.Helper()
		out, err := c.Invoke(ctx, &lambda.InvokeInput{FunctionName: fn, Qualifier: aws.String("live"), LogType: ltypes.LogTypeTail, Payload: []byte(`{}`)})
		if err != nil || out.FunctionError != nil {
			t.Fatalf("invoke: %v", err)
		}
		tail, _ := base64.StdEncoding.DecodeString(aws.ToString(out.LogResult))
		if !strings.Contains(string(tail), "REPORT RequestId") || strings.Contains(string(tail), "Init Duration") {
			t.Fatalf("the first invoke of a provisioned alias was a cold start:\n%s", tail)
		}
	}
	waitReady()
	noInit()
	list, err := c.ListProvisionedConcurrencyConfigs(ctx, &lambda.ListProvisionedConcurrencyConfigsInput{FunctionName: fn})
	if err != nil || len(list.ProvisionedConcurrencyConfigs) != 1 || !strings.HasSuffix(aws.ToString(list.ProvisionedConcurrencyConfigs[0].FunctionArn), ":warm:live") {
		t.Fatalf("list: %v %+v", err, list)
	}
	b.Stop()
	b.Restart()
	c = lambda.NewFromConfig(b.Config())
	waitReady()
	noInit()
	if _, err := c.DeleteProvisionedConcurrencyConfig(ctx, &lambda.DeleteProvisionedConcurrencyConfigInput{FunctionName: fn, Qualifier: aws.String("live")}); err != nil {
		t.Fatal(err)
	}
	_, err = c.GetProvisionedConcurrencyConfig(ctx, &lambda.GetProvisionedConcurrencyConfigInput{FunctionName: fn, Qualifier: aws.String("live")})
	apiErr(t, err, "ProvisionedConcurrencyConfigNotFoundException", 404, "No Provisioned Concurrency Config")
}

// TestLambdaFunctionURL: a function URL turns plain HTTP requests into invocations (payload format
// 2.0) and the function's answer into the response; AWS_IAM URLs want a signature of the account.
func TestLambdaFunctionURL(t *testing.T) {
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("no python3 on this host")
	}
	t.Parallel()
	pkg := pythonPackage(t, "web.py", `import json
def handler(event, context):
    if event["rawPath"] == "/plain":
        return {"path": event["rawPath"]}
    return {"statusCode": 201, "headers": {"x-from": "barge"}, "cookies": ["a=1"],
            "body": json.dumps({"method": event["requestContext"]["http"]["method"], "path": event["rawPath"],
                                "query": event.get("queryStringParameters"), "body": event.get("body"),
                                "account": event["requestContext"]["accountId"]})}
`)
	b := bargetest.Start(t)
	c, ctx := lambda.NewFromConfig(b.Config()), context.Background()
	if _, err := c.CreateFunction(ctx, &lambda.CreateFunctionInput{FunctionName: aws.String("web"), Runtime: hostPython(t),
		Handler: aws.String("web.handler"), Role: aws.String("arn:aws:iam::000000000000:role/any"), Code: &ltypes.FunctionCode{ZipFile: pkg}}); err != nil {
		t.Fatal(err)
	}
	created, err := c.CreateFunctionUrlConfig(ctx, &lambda.CreateFunctionUrlConfigInput{FunctionName: aws.String("web"), AuthType: ltypes.FunctionUrlAuthTypeNone})
	if err != nil || !strings.HasPrefix(aws.ToString(created.FunctionUrl), "http://") {
		t.Fatalf("create: %v %+v", err, created)
	}
	url := aws.ToString(created.FunctionUrl)
	resp, err := http.Post(url+"orders/7?x=1", "text/plain", strings.NewReader("hello"))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var got map[string]any
	json.Unmarshal(body, &got)
	if resp.StatusCode != 201 || resp.Header.Get("X-From") != "barge" || !strings.Contains(resp.Header.Get("Set-Cookie"), "a=1") ||
		got["method"] != "POST" || got["path"] != "/orders/7" || got["body"] != "hello" || got["account"] != "anonymous" {
		t.Fatalf("function URL answered %d %v %s", resp.StatusCode, resp.Header, body)
	}
	if resp, err := http.Get(url + "plain"); err != nil || resp.StatusCode != 200 {
		t.Fatalf("a plain answer: %v %v", err, resp)
	}
	// AWS_IAM: unsigned is refused; a signed request of the account is served.
	if _, err := c.UpdateFunctionUrlConfig(ctx, &lambda.UpdateFunctionUrlConfigInput{FunctionName: aws.String("web"), AuthType: ltypes.FunctionUrlAuthTypeAwsIam}); err != nil {
		t.Fatal(err)
	}
	if resp, err := http.Get(url + "x"); err != nil || resp.StatusCode != http.StatusForbidden {
		t.Fatalf("unsigned request to an AWS_IAM URL: %v %v", err, resp)
	}
	req, _ := http.NewRequest("GET", url+"x", nil)
	cfg := b.Config()
	creds, _ := cfg.Credentials.Retrieve(ctx)
	sum := sha256.Sum256(nil)
	if err := v4.NewSigner().SignHTTP(ctx, creds, req, hex.EncodeToString(sum[:]), "lambda", cfg.Region, time.Now()); err != nil {
		t.Fatal(err)
	}
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 201 || !strings.Contains(string(body), `"account": "000000000000"`) {
		t.Fatalf("signed request: %d %s", resp.StatusCode, body)
	}
	list, err := c.ListFunctionUrlConfigs(ctx, &lambda.ListFunctionUrlConfigsInput{FunctionName: aws.String("web")})
	if err != nil || len(list.FunctionUrlConfigs) != 1 || list.FunctionUrlConfigs[0].AuthType != ltypes.FunctionUrlAuthTypeAwsIam {
		t.Fatalf("list: %v %+v", err, list)
	}
	if _, err := c.DeleteFunctionUrlConfig(ctx, &lambda.DeleteFunctionUrlConfigInput{FunctionName: aws.String("web")}); err != nil {
		t.Fatal(err)
	}
	if resp, err := http.Get(url); err != nil || resp.StatusCode != http.StatusNotFound {
		t.Fatalf("a deleted URL: %v %v", err, resp)
	}
}

func TestLambdaAccountSettingsAndEventConfigs(t *testing.T) {
	t.Parallel()
	b := bargetest.Start(t)
	c, ctx := lambda.NewFromConfig(b.Config()), context.Background()
	if _, err := c.CreateFunction(ctx, &lambda.CreateFunctionInput{FunctionName: aws.String("acct"), Runtime: ltypes.RuntimeProvidedal2023,
		Handler: aws.String("bootstrap"), Role: aws.String("arn:aws:iam::000000000000:role/any"), Code: &ltypes.FunctionCode{ZipFile: echoFunction(t)}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.PutFunctionConcurrency(ctx, &lambda.PutFunctionConcurrencyInput{FunctionName: aws.String("acct"), ReservedConcurrentExecutions: aws.Int32(5)}); err != nil {
		t.Fatal(err)
	}
	s, err := c.GetAccountSettings(ctx, &lambda.GetAccountSettingsInput{})
	if err != nil {
		t.Fatal(err)
	}
	if s.AccountUsage.FunctionCount != 1 || s.AccountUsage.TotalCodeSize != int64(len(echoFunction(t))) ||
		s.AccountLimit.ConcurrentExecutions != 1000 || aws.ToInt32(s.AccountLimit.UnreservedConcurrentExecutions) != 995 {
		t.Fatalf("account settings: %v %+v %+v", err, s.AccountLimit, s.AccountUsage)
	}
	if _, err := c.PutFunctionEventInvokeConfig(ctx, &lambda.PutFunctionEventInvokeConfigInput{FunctionName: aws.String("acct"), MaximumRetryAttempts: aws.Int32(1)}); err != nil {
		t.Fatal(err)
	}
	up, err := c.UpdateFunctionEventInvokeConfig(ctx, &lambda.UpdateFunctionEventInvokeConfigInput{FunctionName: aws.String("acct"), MaximumEventAgeInSeconds: aws.Int32(120)})
	if err != nil || aws.ToInt32(up.MaximumRetryAttempts) != 1 || aws.ToInt32(up.MaximumEventAgeInSeconds) != 120 {
		t.Fatalf("update keeps what it does not set: %v %+v", err, up)
	}
	list, err := c.ListFunctionEventInvokeConfigs(ctx, &lambda.ListFunctionEventInvokeConfigsInput{FunctionName: aws.String("acct")})
	if err != nil || len(list.FunctionEventInvokeConfigs) != 1 {
		t.Fatalf("list: %v %+v", err, list)
	}
}

// TestLambdaPublishOnWrite: Publish on CreateFunction and UpdateFunctionCode publishes a version
// and answers with it, as in AWS.
func TestLambdaPublishOnWrite(t *testing.T) {
	t.Parallel()
	b := bargetest.Start(t)
	c, ctx := lambda.NewFromConfig(b.Config()), context.Background()
	created, err := c.CreateFunction(ctx, &lambda.CreateFunctionInput{FunctionName: aws.String("pub"), Runtime: ltypes.RuntimeProvidedal2023,
		Handler: aws.String("bootstrap"), Role: aws.String("arn:aws:iam::000000000000:role/any"), Code: &ltypes.FunctionCode{ZipFile: echoFunction(t)}, Publish: true})
	if err != nil || aws.ToString(created.Version) != "1" {
		t.Fatalf("create with Publish: %v %+v", err, created)
	}
	updated, err := c.UpdateFunctionCode(ctx, &lambda.UpdateFunctionCodeInput{FunctionName: aws.String("pub"), ZipFile: withExtraFile(t, echoFunction(t)), Publish: true})
	if err != nil || aws.ToString(updated.Version) != "2" {
		t.Fatalf("update with Publish: %v %+v", err, updated)
	}
	out, err := c.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("pub:2"), Payload: []byte(`{}`)})
	if err != nil || out.FunctionError != nil || aws.ToString(out.ExecutedVersion) != "2" {
		t.Fatalf("invoke version 2: %v %+v", err, out)
	}
}
