package bench

// Lambda invocation benchmarks (`barge bench-lambda`): warm invoke latency, cold start and no-op
// invoke throughput of one function, the echo function of internal/fn/testdata/echofn, measured
// against barge or against AWS's aws-lambda-runtime-interface-emulator (RIE) with the same
// bootstrap, so the two can be shown side by side. Both are driven by the same raw HTTP client
// (one POST per invoke, keep-alive connections); requests to barge are SigV4-signed with
// aws-sdk-go-v2's signer, requests to RIE are not signed (it has no authentication), so the
// client-side difference is the signature alone.

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	ltypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
)

// Default sizes of the Lambda benchmarks.
const (
	DefaultLambdaInvokes    = 2000
	DefaultLambdaWarmup     = 200
	DefaultLambdaColdStarts = 5
	DefaultLambdaDuration   = 3 * time.Second
)

// LambdaFunction is the name of the function the barge side creates for warm and throughput runs;
// cold starts create LambdaFunction-cold-<n>-<nanos> and delete them afterwards.
const LambdaFunction = "bench-echo"

// noopPayload is the event every benchmark invoke sends.
var noopPayload = []byte(`{}`)

// LambdaOptions say what to measure and how much.
type LambdaOptions struct {
	Invokes     int           // sequential warm invokes measured (default 2000)
	Warmup      int           // invokes before measuring (default 200)
	ColdStarts  int           // cold starts measured, the median reported (default 5)
	Duration    time.Duration // length of each throughput run (default 3 s)
	Concurrency []int         // throughput client counts (default 2 and 32)
	Out         io.Writer     // progress notes; nil is silent
}

func (o LambdaOptions) withDefaults() LambdaOptions {
	if o.Invokes <= 0 {
		o.Invokes = DefaultLambdaInvokes
	}
	if o.Warmup < 0 {
		o.Warmup = 0
	} else if o.Warmup == 0 {
		o.Warmup = DefaultLambdaWarmup
	}
	if o.ColdStarts <= 0 {
		o.ColdStarts = DefaultLambdaColdStarts
	}
	if o.Duration <= 0 {
		o.Duration = DefaultLambdaDuration
	}
	if len(o.Concurrency) == 0 {
		o.Concurrency = []int{2, 32}
	}
	if o.Out == nil {
		o.Out = io.Discard
	}
	return o
}

// Throughput is one fixed-duration run of concurrent no-op invokes.
type Throughput struct {
	Concurrency int
	OK          int // invokes answered 200 without X-Amz-Function-Error
	Errors      int // any other answer or a transport error
	Elapsed     time.Duration
	FirstError  string // the first error seen, if any
	// FunctionCPU is, for the Runtime API floor, the function processes' own CPU time (user and
	// system) per invocation.
	FunctionCPU time.Duration
}

// PerSecond is successful invokes per second.
func (t Throughput) PerSecond() float64 {
	if t.Elapsed <= 0 {
		return 0
	}
	return float64(t.OK) / t.Elapsed.Seconds()
}

// LambdaResult is one endpoint's measurements.
type LambdaResult struct {
	Name       string
	Invokes    int // warm invokes measured
	P50, P99   time.Duration
	ColdStarts []time.Duration // sorted
	// ColdCreate is, for barge, the CreateFunction part of each cold start (sorted); the rest
	// is the first Invoke (instance start, runtime init, the invoke itself).
	ColdCreate []time.Duration
	Throughput []Throughput
	Note       string // how this endpoint serves concurrent invokes
}

// ColdMedian is the median cold start.
func (r LambdaResult) ColdMedian() time.Duration { return percentile(r.ColdStarts, 0.5) }

// invoker posts one invoke and reports whether it succeeded.
type invoker struct {
	hc     *http.Client
	url    string
	signer *v4.Signer
	creds  aws.Credentials
	region string
	// serial, when set, lets one invoke be in flight at a time: RIE serves one invoke at a time
	// and crashes on a concurrent one (see RIELambda).
	serial *sync.Mutex
}

func newHTTPClient(conns int) *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConns = conns + 4
	tr.MaxIdleConnsPerHost = conns + 4
	return &http.Client{Transport: tr, Timeout: 60 * time.Second}
}

var emptyHash = func() string { h := sha256.Sum256(noopPayload); return hex.EncodeToString(h[:]) }()

func (iv *invoker) invoke(ctx context.Context) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, iv.url, bytes.NewReader(noopPayload))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	if iv.signer != nil {
		if err := iv.signer.SignHTTP(ctx, iv.creds, req, emptyHash, "lambda", iv.region, time.Now()); err != nil {
			return err
		}
	}
	if iv.serial != nil {
		iv.serial.Lock()
		defer iv.serial.Unlock()
	}
	res, err := iv.hc.Do(req)
	if err != nil {
		return err
	}
	body, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil {
		return err
	}
	if res.StatusCode != http.StatusOK || res.Header.Get("X-Amz-Function-Error") != "" {
		return fmt.Errorf("invoke: HTTP %d %s: %.200s", res.StatusCode, res.Header.Get("X-Amz-Function-Error"), body)
	}
	return nil
}

func (iv *invoker) close() { iv.hc.CloseIdleConnections() }

// warm runs warmup unmeasured invokes and then n measured ones, one at a time.
func (iv *invoker) warm(ctx context.Context, warmup, n int) (p50, p99 time.Duration, err error) {
	for range warmup {
		if err := iv.invoke(ctx); err != nil {
			return 0, 0, fmt.Errorf("warm-up: %w", err)
		}
	}
	lat := make([]time.Duration, n)
	for i := range n {
		t := time.Now()
		if err := iv.invoke(ctx); err != nil {
			return 0, 0, err
		}
		lat[i] = time.Since(t)
	}
	slices.Sort(lat)
	return percentile(lat, 0.50), percentile(lat, 0.99), nil
}

// throughput runs c goroutines invoking back to back for d.
func (iv *invoker) throughput(ctx context.Context, c int, d time.Duration) Throughput {
	var ok, bad atomic.Int64
	var firstErr atomic.Value
	deadline := time.Now().Add(d)
	start := time.Now()
	var wg sync.WaitGroup
	for range c {
		wg.Go(func() {
			for time.Now().Before(deadline) && ctx.Err() == nil {
				if err := iv.invoke(ctx); err != nil {
					bad.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
					continue
				}
				ok.Add(1)
			}
		})
	}
	wg.Wait()
	t := Throughput{Concurrency: c, OK: int(ok.Load()), Errors: int(bad.Load()), Elapsed: time.Since(start)}
	if s, _ := firstErr.Load().(string); s != "" {
		t.FirstError = s
	}
	return t
}

// EchoBuildFlags are the `go build` flags of the echo function: AWS's documented build for Go
// on provided.al2023 (`-tags lambda.norpc`, which leaves out aws-lambda-go's net/rpc mode) with
// the symbol tables stripped, as deployment builds usually are. The package is 2.6 MB instead of
// 6.4 MB for a plain `go build`.
var EchoBuildFlags = []string{"-tags", "lambda.norpc", "-ldflags", "-s -w"}

// EchoBootstrap builds internal/fn/testdata/echofn with CGO_ENABLED=0 and flags (EchoBuildFlags,
// or none for a plain build) into dir/bootstrap and returns its path. root is the module root
// (see ModuleRoot).
func EchoBootstrap(ctx context.Context, root, dir string, flags ...string) (string, error) {
	out := filepath.Join(dir, "bootstrap")
	args := append(append([]string{"build", "-o", out}, flags...), "./internal/fn/testdata/echofn")
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building the echo function: %v: %s", err, b)
	}
	return out, nil
}

// ModuleRoot finds barge's source tree: the working directory or one of its parents holding
// internal/fn/testdata/echofn, else the tree this binary was built from.
func ModuleRoot() (string, error) {
	has := func(d string) bool {
		_, err := os.Stat(filepath.Join(d, "internal", "fn", "testdata", "echofn"))
		return err == nil
	}
	if wd, err := os.Getwd(); err == nil {
		for d := wd; ; d = filepath.Dir(d) {
			if has(d) {
				return d, nil
			}
			if filepath.Dir(d) == d {
				break
			}
		}
	}
	if _, file, _, ok := runtime.Caller(0); ok {
		if d := filepath.Join(filepath.Dir(file), "..", ".."); has(d) {
			return d, nil
		}
	}
	return "", errors.New("cannot find barge's source tree (internal/fn/testdata/echofn) to build the echo function; run from inside it")
}

// ZipBootstrap zips the bootstrap at path as a provided.al2023 package.
func ZipBootstrap(path string) ([]byte, error) {
	bin, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	h := &zip.FileHeader{Name: "bootstrap", Method: zip.Deflate}
	h.SetMode(0o755)
	w, err := zw.CreateHeader(h)
	if err != nil {
		return nil, err
	}
	if _, err := w.Write(bin); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// BargeLambda measures barge at o.Endpoint (credentials and region from o) with the zipped
// function code: it creates LambdaFunction (deleting an older one first), measures warm latency
// and throughput on it, and cold starts on fresh functions it deletes afterwards.
func BargeLambda(ctx context.Context, o Options, lo LambdaOptions, code []byte) (LambdaResult, error) {
	o = o.withDefaults(0, "")
	lo = lo.withDefaults()
	maxC := slices.Max(lo.Concurrency)
	lc := lambda.NewFromConfig(aws.Config{
		Region:           o.Region,
		Credentials:      credentials.NewStaticCredentialsProvider(o.AccessKey, o.Secret, ""),
		BaseEndpoint:     aws.String(o.Endpoint),
		RetryMaxAttempts: 1,
	})
	create := func(name string) error {
		_, err := lc.CreateFunction(ctx, &lambda.CreateFunctionInput{
			FunctionName: aws.String(name), Runtime: ltypes.RuntimeProvidedal2023, Handler: aws.String("bootstrap"),
			Role: aws.String("arn:aws:iam::000000000000:role/bench"), Code: &ltypes.FunctionCode{ZipFile: code},
			Timeout: aws.Int32(10),
		})
		return err
	}
	iv := func(name string) *invoker {
		return &invoker{
			hc:     newHTTPClient(maxC),
			url:    strings.TrimRight(o.Endpoint, "/") + "/2015-03-31/functions/" + name + "/invocations",
			signer: v4.NewSigner(),
			creds:  aws.Credentials{AccessKeyID: o.AccessKey, SecretAccessKey: o.Secret},
			region: o.Region,
		}
	}
	r := LambdaResult{Name: "barge", Invokes: lo.Invokes,
		Note: "one instance (process) per concurrent invoke, up to the function's reserved / the account's concurrency"}

	// Cold starts: CreateFunction → first successful Invoke response.
	for i := range lo.ColdStarts {
		name := fmt.Sprintf("%s-cold-%d-%d", LambdaFunction, i, time.Now().UnixNano())
		inv := iv(name)
		t := time.Now()
		err := create(name)
		dc := time.Since(t)
		if err == nil {
			err = inv.invoke(ctx)
		}
		d := time.Since(t)
		inv.close()
		_, _ = lc.DeleteFunction(ctx, &lambda.DeleteFunctionInput{FunctionName: aws.String(name)})
		if err != nil {
			return r, fmt.Errorf("cold start %d: %w", i, err)
		}
		r.ColdStarts = append(r.ColdStarts, d)
		r.ColdCreate = append(r.ColdCreate, dc)
	}
	slices.Sort(r.ColdStarts)
	slices.Sort(r.ColdCreate)
	fmt.Fprintf(lo.Out, "barge: cold starts %v, of which CreateFunction %v (%d-byte zip)\n", r.ColdStarts, r.ColdCreate, len(code))

	_, _ = lc.DeleteFunction(ctx, &lambda.DeleteFunctionInput{FunctionName: aws.String(LambdaFunction)})
	if err := create(LambdaFunction); err != nil {
		return r, fmt.Errorf("create %s: %w", LambdaFunction, err)
	}
	inv := iv(LambdaFunction)
	defer inv.close()
	var err error
	if r.P50, r.P99, err = inv.warm(ctx, lo.Warmup, lo.Invokes); err != nil {
		return r, err
	}
	fmt.Fprintf(lo.Out, "barge: warm p50 %v p99 %v\n", r.P50, r.P99)
	for _, c := range lo.Concurrency {
		// Warm c instances first so the run measures invokes, not c-1 cold starts.
		_ = inv.throughput(ctx, c, 300*time.Millisecond)
		t := inv.throughput(ctx, c, lo.Duration)
		fmt.Fprintf(lo.Out, "barge: c=%d %d ok %d errors in %v\n", c, t.OK, t.Errors, t.Elapsed)
		r.Throughput = append(r.Throughput, t)
	}
	return r, nil
}

// RIELambda measures aws-lambda-runtime-interface-emulator: rie is its binary, bootstrap the
// function. Cold start is from starting the RIE process to the first successful response; the
// first request is retried only while the port refuses connections, then blocks until the
// runtime has initialised and answered.
//
// RIE runs one runtime and serves one invoke at a time. A second invoke while one is in flight
// does not wait: RIE (at 4fa2157, January 2026) logs "ReserveFailed: AlreadyReserved" and then
// panics with a nil pointer dereference in rapidcore.(*Server).Invoke, and the process is gone.
// So its throughput runs queue the concurrent clients on the client side, one request in flight,
// which is the best RIE can do; the result says so.
func RIELambda(ctx context.Context, rie, bootstrap string, lo LambdaOptions) (LambdaResult, error) {
	lo = lo.withDefaults()
	maxC := slices.Max(lo.Concurrency)
	r := LambdaResult{Name: "peer (RIE)", Invokes: lo.Invokes,
		Note: "one runtime process, one invoke at a time; a concurrent invoke crashes it (nil pointer panic in rapidcore), so its c>1 clients queue client-side, one request in flight"}
	start := func() (*exec.Cmd, *invoker, error) {
		port, err := freePort()
		if err != nil {
			return nil, nil, err
		}
		addr := fmt.Sprintf("127.0.0.1:%d", port)
		cmd := exec.CommandContext(ctx, rie, "--runtime-interface-emulator-address", addr, bootstrap)
		cmd.Dir = filepath.Dir(bootstrap)
		cmd.Env = append(os.Environ(), "AWS_LAMBDA_FUNCTION_TIMEOUT=10")
		cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
		if err := cmd.Start(); err != nil {
			return nil, nil, err
		}
		return cmd, &invoker{hc: newHTTPClient(maxC), url: "http://" + addr + "/2015-03-31/functions/function/invocations"}, nil
	}
	stop := func(cmd *exec.Cmd, iv *invoker) {
		iv.close()
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	}
	first := func(iv *invoker, t0 time.Time) error {
		for {
			err := iv.invoke(ctx)
			if err == nil || !isRefused(err) {
				return err
			}
			if time.Since(t0) > 10*time.Second {
				return err
			}
			time.Sleep(200 * time.Microsecond)
		}
	}
	for i := range lo.ColdStarts {
		t0 := time.Now()
		cmd, iv, err := start()
		if err != nil {
			return r, err
		}
		err = first(iv, t0)
		d := time.Since(t0)
		stop(cmd, iv)
		if err != nil {
			return r, fmt.Errorf("RIE cold start %d: %w", i, err)
		}
		r.ColdStarts = append(r.ColdStarts, d)
	}
	slices.Sort(r.ColdStarts)
	fmt.Fprintf(lo.Out, "peer: cold starts %v\n", r.ColdStarts)

	t0 := time.Now()
	cmd, iv, err := start()
	if err != nil {
		return r, err
	}
	defer stop(cmd, iv)
	if err := first(iv, t0); err != nil {
		return r, err
	}
	if r.P50, r.P99, err = iv.warm(ctx, lo.Warmup, lo.Invokes); err != nil {
		return r, err
	}
	fmt.Fprintf(lo.Out, "peer: warm p50 %v p99 %v\n", r.P50, r.P99)
	iv.serial = new(sync.Mutex)
	for _, c := range lo.Concurrency {
		t := iv.throughput(ctx, c, lo.Duration)
		fmt.Fprintf(lo.Out, "peer: c=%d %d ok %d errors in %v (first error: %s)\n", c, t.OK, t.Errors, t.Elapsed, t.FirstError)
		r.Throughput = append(r.Throughput, t)
	}
	return r, nil
}

func isRefused(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// WriteLambdaTable prints the side-by-side table of `barge bench-lambda`: one column per result.
func WriteLambdaTable(w io.Writer, results []LambdaResult) error {
	var b strings.Builder
	row := func(label string, cell func(LambdaResult) string) {
		fmt.Fprintf(&b, "%-26s", label)
		for _, r := range results {
			fmt.Fprintf(&b, " %-22s", cell(r))
		}
		b.WriteByte('\n')
	}
	row("", func(r LambdaResult) string { return r.Name })
	row("warm p50 ms", func(r LambdaResult) string { return orDash(r.Invokes > 0, "%.3f", msf(r.P50)) })
	row("warm p99 ms", func(r LambdaResult) string { return orDash(r.Invokes > 0, "%.3f", msf(r.P99)) })
	row("cold start median ms", func(r LambdaResult) string {
		return orDash(len(r.ColdStarts) > 0, "%.1f (n=%d)", msf(r.ColdMedian()), len(r.ColdStarts))
	})
	conc := map[int]bool{}
	for _, r := range results {
		for _, t := range r.Throughput {
			conc[t.Concurrency] = true
		}
	}
	for _, c := range slices.Sorted(maps.Keys(conc)) {
		row(fmt.Sprintf("throughput c=%d invokes/s", c), func(r LambdaResult) string {
			for _, t := range r.Throughput {
				if t.Concurrency == c {
					if t.Errors > 0 {
						return fmt.Sprintf("%.0f (%d errors)", t.PerSecond(), t.Errors)
					}
					return fmt.Sprintf("%.0f", t.PerSecond())
				}
			}
			return "-"
		})
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// orDash formats the cell when the result measured it, else "-".
func orDash(measured bool, format string, args ...any) string {
	if !measured {
		return "-"
	}
	return fmt.Sprintf(format, args...)
}

func msf(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
