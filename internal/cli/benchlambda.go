package cli

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/barge-run/barge/internal/bench"
)

// cmdBenchLambda measures Lambda invocation (warm latency, cold start, throughput) on barge and,
// with --peer, on aws-lambda-runtime-interface-emulator with the same echo function, and prints
// them side by side. Without --endpoint it measures a barge started in this process with a
// temporary data directory. It builds internal/fn/testdata/echofn, so it runs inside barge's
// source tree with a Go toolchain.
func cmdBenchLambda(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("bench-lambda", flag.ContinueOnError)
	peer := fs.String("peer", "", "also measure this aws-lambda-runtime-interface-emulator binary (e.g. /tmp/aws-lambda-rie)")
	endpoint := fs.String("endpoint", "", "measure the barge at this URL (default: an in-process barge with a temporary data directory)")
	dataDir := fs.String("data-dir", envOr("BARGE_DATA_DIR", ".barge"), "with --endpoint: data directory to read the credential from when AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY are not set")
	region := fs.String("region", envOr("AWS_REGION", "us-east-1"), "AWS region")
	n := fs.Int("n", bench.DefaultLambdaInvokes, "sequential warm invokes measured")
	warmup := fs.Int("warmup", bench.DefaultLambdaWarmup, "invokes before measuring warm latency")
	cold := fs.Int("cold", bench.DefaultLambdaColdStarts, "cold starts measured (median reported)")
	duration := fs.Duration("duration", bench.DefaultLambdaDuration, "length of each throughput run")
	plainBuild := fs.Bool("plain-build", false, "build the echo function with a bare `go build` (6.4 MB package) instead of AWS's documented -tags lambda.norpc, stripped (2.6 MB)")
	floor := fs.Bool("floor", true, "also measure the function alone against a minimal in-process Runtime API (the machine's ceiling for invoke throughput)")
	if err := parse(fs, args); err != nil {
		return err
	}
	switch {
	case fs.NArg() > 0:
		return usageError{fmt.Sprintf("unexpected argument %q", fs.Arg(0))}
	case *n < 1:
		return usageError{"--n must be at least 1"}
	case *cold < 1:
		return usageError{"--cold must be at least 1"}
	case *duration <= 0:
		return usageError{"--duration must be positive"}
	}
	if *warmup == 0 {
		*warmup = -1 // LambdaOptions: 0 means the default
	}
	stderr := os.Stderr
	lo := bench.LambdaOptions{Invokes: *n, Warmup: *warmup, ColdStarts: *cold, Duration: *duration, Out: stderr}

	tmp, err := os.MkdirTemp("", "barge-bench-lambda-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	flags := bench.EchoBuildFlags
	if *plainBuild {
		flags = nil
	}
	bootstrap, code, err := echoPackage(ctx, tmp, flags)
	if err != nil {
		return err
	}

	o := bench.Options{Endpoint: *endpoint, Region: *region}
	where, stop, err := benchTarget(ctx, &o, *dataDir, "auto", stderr)
	if err != nil {
		return err
	}
	defer stop()

	var results []bench.LambdaResult
	r, err := bench.BargeLambda(ctx, o, lo, code)
	if err != nil {
		return fmt.Errorf("barge: %w", apiError(err))
	}
	results = append(results, r)
	if *peer != "" {
		p, err := bench.RIELambda(ctx, *peer, bootstrap, lo)
		if err != nil {
			return fmt.Errorf("peer: %w", err)
		}
		results = append(results, p)
	}
	if *floor {
		f, err := bench.RuntimeFloor(ctx, bootstrap, lo)
		if err != nil {
			return err
		}
		results = append(results, f)
	}
	if err := bench.WriteLambdaTable(out, results); err != nil {
		return err
	}
	fmt.Fprintln(out)
	for _, r := range results {
		fmt.Fprintf(out, "%s: %s\n", r.Name, r.Note)
		if len(r.ColdCreate) > 0 {
			fmt.Fprintf(out, "  cold start median %.1f ms, of which CreateFunction median %.1f ms (%d-byte zip)\n",
				float64(r.ColdMedian())/1e6, float64(r.ColdCreate[len(r.ColdCreate)/2])/1e6, len(code))
		}
		for _, t := range r.Throughput {
			if t.FunctionCPU > 0 {
				fmt.Fprintf(out, "  c=%d: the function's own CPU %.0f µs per invocation, so at most %.0f invokes/s on %d CPUs even if serving them cost nothing\n",
					t.Concurrency, float64(t.FunctionCPU)/1e3, float64(runtime.NumCPU())*1e9/float64(t.FunctionCPU), runtime.NumCPU())
			}
			if t.Errors > 0 {
				fmt.Fprintf(out, "  c=%d: %d ok, %d errors in %s; first: %s\n", t.Concurrency, t.OK, t.Errors, t.Elapsed.Round(time.Millisecond), t.FirstError)
			}
		}
	}
	fmt.Fprintf(out, "warm: %d sequential invokes after %d warm-up; throughput: %s per run; function: internal/fn/testdata/echofn (go build %s), payload {}\n", *n, max(*warmup, 0), *duration, strings.Join(flags, " "))
	fmt.Fprintf(out, "server:  %s\n", where)
	if *peer != "" {
		fmt.Fprintf(out, "peer:    %s\n", *peer)
	}
	fmt.Fprintf(out, "machine: %s\n", bench.Machine())
	return nil
}

// echoPackage builds the echo function (internal/fn/testdata/echofn, so inside barge's source tree
// with a Go toolchain) into dir with flags, and zips it as a provided.al2023 package.
func echoPackage(ctx context.Context, dir string, flags []string) (bootstrap string, zip []byte, err error) {
	root, err := bench.ModuleRoot()
	if err != nil {
		return "", nil, err
	}
	if bootstrap, err = bench.EchoBootstrap(ctx, root, dir, flags...); err != nil {
		return "", nil, err
	}
	zip, err = bench.ZipBootstrap(bootstrap)
	return bootstrap, zip, err
}
