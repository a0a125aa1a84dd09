package bench

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"
)

// TestBargeLambdaSmoke runs the barge side of `barge bench-lambda` small: a few cold starts,
// 30 warm invokes and two short throughput runs, and checks the numbers are sane.
func TestBargeLambdaSmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs a Lambda function")
	}
	ctx := context.Background()
	root, err := ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	bootstrap, err := EchoBootstrap(ctx, root, t.TempDir(), EchoBuildFlags...)
	if err != nil {
		t.Fatal(err)
	}
	code, err := ZipBootstrap(bootstrap)
	if err != nil {
		t.Fatal(err)
	}
	o := startServer(t)
	lo := LambdaOptions{Invokes: 30, Warmup: 5, ColdStarts: 2, Duration: 200 * time.Millisecond, Concurrency: []int{1, 2}}
	r, err := BargeLambda(ctx, o, lo, code)
	if err != nil {
		t.Fatal(err)
	}
	if r.Invokes != 30 || r.P50 <= 0 || r.P99 < r.P50 || r.P99 > 10*time.Second {
		t.Fatalf("warm: invokes %d p50 %v p99 %v", r.Invokes, r.P50, r.P99)
	}
	if len(r.ColdStarts) != 2 || r.ColdMedian() <= 0 || r.ColdMedian() < r.P50 {
		t.Fatalf("cold starts %v (warm p50 %v)", r.ColdStarts, r.P50)
	}
	if len(r.Throughput) != 2 {
		t.Fatalf("throughput runs: %+v", r.Throughput)
	}
	for _, tp := range r.Throughput {
		if tp.OK == 0 || tp.Errors != 0 || tp.PerSecond() <= 0 {
			t.Fatalf("throughput c=%d: %+v", tp.Concurrency, tp)
		}
	}
	floor, err := RuntimeFloor(ctx, bootstrap, lo)
	if err != nil {
		t.Fatal(err)
	}
	for _, tp := range floor.Throughput {
		if tp.OK == 0 || tp.FunctionCPU <= 0 {
			t.Fatalf("floor c=%d: %+v", tp.Concurrency, tp)
		}
	}
	var buf bytes.Buffer
	if err := WriteLambdaTable(&buf, []LambdaResult{r, floor}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"barge", "warm p50 ms", "cold start median ms", "throughput c=1 invokes/s", "throughput c=2 invokes/s", "floor (function alone)"} {
		if !strings.Contains(buf.String(), want) {
			t.Fatalf("table lacks %q:\n%s", want, buf.String())
		}
	}
}
