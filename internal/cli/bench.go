package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime"
	"runtime/pprof"
	"strings"
	"time"

	"github.com/barge-run/barge/internal/account"
	"github.com/barge-run/barge/internal/bench"
	"github.com/barge-run/barge/internal/server"
)

// cmdBench runs the end-to-end benchmarks (internal/bench) and prints their table. Without
// --endpoint it measures a barge started in this process on a free loopback port with a temporary
// data directory, removed at the end, so it works alone on a fresh machine.
func cmdBench(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	endpoint := fs.String("endpoint", "", "measure the server at this URL (default: an in-process barge with a temporary data directory); it keeps what the benchmarks create")
	dataDir := fs.String("data-dir", envOr("BARGE_DATA_DIR", ".barge"), "with --endpoint: data directory to read the credential from when AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY are not set")
	region := fs.String("region", envOr("AWS_REGION", "us-east-1"), "AWS region")
	jobs := fs.Int("jobs", 0, fmt.Sprintf("jobs per benchmark (default %d for submit, %d for e2e)", bench.DefaultSubmitJobs, bench.DefaultE2EJobs))
	concurrency := fs.Int("concurrency", bench.DefaultConcurrency, "goroutines calling SubmitJob")
	slots := fs.Int("slots", 0, "e2e: run on job queue "+bench.SlotsQueue+" with this many vCPU slots (default 0: the default queue, whose slots are the server host's cores)")
	only := fs.String("only", "", "run one benchmark: submit, e2e, efficiency (an array of short sleeps) sandbox (start overhead of isolation and image pulls, in this process) or floor (the e2e and efficiency workloads on barge's executor alone: what the machine allows); the last three are not in the default run")
	isolation := fs.String("isolation", "auto", "without --endpoint: the in-process server's --isolation (auto, sandbox or none)")
	sandboxRuns := fs.Int("sandbox-runs", 200, "sandbox: starts of each kind")
	imageMiB := fs.Int("image-mib", 50, "sandbox: size of the image pulled")
	arraySize := fs.Int("array-size", 2000, "efficiency: children in the array")
	arraySlots := fs.Int("array-slots", 32, "efficiency: vCPU slots of its compute environment")
	arraySleep := fs.Duration("array-sleep", 50*time.Millisecond, "efficiency: how long each child sleeps")
	cpuprofile := fs.String("cpuprofile", "", "write a CPU profile to `FILE` of this process (client and, without --endpoint, server) while measuring")
	if err := parse(fs, args); err != nil {
		return err
	}
	switch {
	case fs.NArg() > 0:
		return usageError{fmt.Sprintf("unexpected argument %q", fs.Arg(0))}
	case *only != "" && *only != "submit" && *only != "e2e" && *only != "efficiency" && *only != "sandbox" && *only != "floor":
		return usageError{fmt.Sprintf("--only %q: want submit, e2e, efficiency, sandbox or floor", *only)}
	case *jobs < 0:
		return usageError{"--jobs must not be negative"}
	case *concurrency < 1:
		return usageError{"--concurrency must be at least 1"}
	case *slots < 0:
		return usageError{"--slots must not be negative"}
	}
	if *only == "sandbox" {
		r, err := bench.SandboxStart(ctx, *sandboxRuns, *imageMiB, 3)
		if err != nil {
			return fmt.Errorf("sandbox: %w", err)
		}
		ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
		fmt.Fprintf(out, "start-to-exit of /bin/true, median of %d each, interleaved:\n", r.N)
		fmt.Fprintf(out, "  bare fork/exec            %6.2f ms  p99 %6.2f ms\n", ms(r.Bare), ms(r.BareP99))
		fmt.Fprintf(out, "  sandbox, host filesystem  %6.2f ms  p99 %6.2f ms  (%.1f× bare)\n", ms(r.Host), ms(r.HostP99), float64(r.Host)/float64(r.Bare))
		fmt.Fprintf(out, "  sandbox, cached image     %6.2f ms  p99 %6.2f ms  (%.1f× bare)\n", ms(r.Image), ms(r.ImageP99), float64(r.Image)/float64(r.Bare))
		fmt.Fprintf(out, "first pull of a %.1f MB image from a loopback registry (median of 3): %.0f ms\n", float64(r.ImageBytes)/1e6, ms(r.ImageFirstPull))
		fmt.Fprintf(out, "machine: %s\n", bench.Machine())
		return nil
	}
	if *only == "floor" {
		n := *jobs
		if n == 0 {
			n = bench.DefaultE2EJobs
		}
		runs, err := bench.ProcessFloor(ctx, n, max(*slots, runtime.NumCPU()), *arraySize, *arraySlots, *arraySleep)
		if err != nil {
			return fmt.Errorf("floor: %w", err)
		}
		fmt.Fprintln(out, "the e2e and efficiency workloads on barge's executor alone (no server, store or scheduler):")
		for _, r := range runs {
			fmt.Fprintf(out, "  %-8s %-12s %5d processes, %2d at a time: %7.0f ms, %4.0f/s",
				r.Executor, strings.Join(r.Command, " "), r.N, r.Concurrency, float64(r.Elapsed.Microseconds())/1000, r.PerSecond())
			if r.Command[0] == "sleep" {
				fmt.Fprintf(out, ", efficiency %.1f %%", 100*r.Efficiency(*arraySleep))
			}
			if r.MachineCPU > 0 {
				fmt.Fprintf(out, ", machine CPU %.2f ms each", float64(r.MachineCPU.Microseconds())/1000)
			}
			fmt.Fprintln(out)
		}
		fmt.Fprintf(out, "machine: %s\n", bench.Machine())
		return nil
	}
	stderr := os.Stderr
	o := bench.Options{Endpoint: *endpoint, Region: *region, Concurrency: *concurrency, Jobs: *jobs, Out: stderr}
	where, stop, err := benchTarget(ctx, &o, *dataDir, *isolation, stderr)
	if err != nil {
		return err
	}
	defer stop()
	e2e := o
	if *slots > 0 && *only != "submit" {
		q, err := bench.SetupSlots(ctx, o, *slots)
		if err != nil {
			return apiError(err)
		}
		e2e.Queue = q
	}
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			return err
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			f.Close()
			return err
		}
		defer func() { pprof.StopCPUProfile(); f.Close() }()
	}

	var results []bench.Result
	var runErr error
	if *only == "efficiency" {
		r, err := bench.ArrayEfficiency(ctx, o, *arraySize, *arraySlots, *arraySleep)
		if err != nil {
			return fmt.Errorf("efficiency: %w", apiError(err))
		}
		fmt.Fprintf(out, "array of %d × `sleep %s` on %d vCPU slots: makespan %.2f s, ideal %.3f s, efficiency %.1f %%\n",
			r.Jobs, r.Sleep, r.Slots, r.Elapsed.Seconds(), float64(r.Jobs)*r.Sleep.Seconds()/float64(r.Slots), 100*r.Efficiency)
		if r.MachineCPU > 0 {
			fmt.Fprintf(out, "this machine's CPU per child: %.2f ms (every process: the server's when it runs here)\n", float64(r.MachineCPU.Microseconds())/1000)
		}
		fmt.Fprintf(out, "server:  %s\nmachine: %s\n", where, bench.Machine())
		return nil
	}
	if *only == "" || *only == "submit" {
		r, err := bench.SubmitThroughput(ctx, o)
		if err != nil {
			runErr = fmt.Errorf("submit: %w", apiError(err))
		} else {
			results = append(results, r)
		}
	}
	if runErr == nil && (*only == "" || *only == "e2e") {
		r, err := bench.EndToEnd(ctx, e2e)
		if err != nil {
			runErr = fmt.Errorf("e2e: %w", apiError(err))
		} else {
			results = append(results, r)
		}
	}
	if len(results) > 0 {
		if err := bench.WriteTable(out, results); err != nil {
			return err
		}
		fmt.Fprintln(out)
		for _, r := range results {
			if r.SubmitElapsed > 0 {
				fmt.Fprintf(out, "%s: queue %s, submitting took %.2f s", r.Name, r.Queue, r.SubmitElapsed.Seconds())
				if r.MachineCPU > 0 {
					// Every process on this machine: meaningful when the server runs here too.
					fmt.Fprintf(out, "; this machine's CPU %.2f ms per job", float64(r.MachineCPU.Microseconds())/1000)
				}
				fmt.Fprintln(out)
			} else {
				fmt.Fprintf(out, "%s: queue %s\n", r.Name, r.Queue)
			}
		}
		fmt.Fprintf(out, "server:  %s\n", where)
		fmt.Fprintf(out, "machine: %s\n", bench.Machine())
		if *endpoint != "" && results[0].Queue == bench.ParkedQueue {
			fmt.Fprintf(out, "note: the %d submitted jobs stay RUNNABLE in job queue %s (its compute environment is DISABLED); nothing is deleted\n", results[0].Jobs, bench.ParkedQueue)
		}
	}
	if runErr != nil {
		return runErr
	}
	if len(results) == 0 {
		return errors.New("no benchmark ran")
	}
	return nil
}

// benchTarget completes o with the server to measure: with no o.Endpoint, a barge started in this
// process on a loopback port with a temporary data directory (stop shuts it down and removes
// it); else the given endpoint, with credentials from AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or
// dataDir. It returns a description of the target for the report.
func benchTarget(ctx context.Context, o *bench.Options, dataDir, isolation string, logTo io.Writer) (where string, stop func(), err error) {
	if o.Endpoint != "" {
		o.AccessKey, o.Secret = os.Getenv("AWS_ACCESS_KEY_ID"), os.Getenv("AWS_SECRET_ACCESS_KEY")
		if o.AccessKey == "" || o.Secret == "" {
			creds, err := account.Load(dataDir)
			if err != nil {
				return "", nil, fmt.Errorf("no AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY set and %w", err)
			}
			o.AccessKey, o.Secret = creds.First().AccessKeyID, creds.First().SecretAccessKey
		}
		return o.Endpoint, func() {}, nil
	}
	dir, err := os.MkdirTemp("", "barge-bench-")
	if err != nil {
		return "", nil, err
	}
	logger := slog.New(slog.NewTextHandler(logTo, &slog.HandlerOptions{Level: slog.LevelWarn}))
	s, err := server.Start(ctx, server.Options{Addr: "127.0.0.1:0", DataDir: dir, Region: o.Region, Logger: logger, Isolation: isolation})
	if err != nil {
		os.RemoveAll(dir)
		return "", nil, err
	}
	stop = func() { s.Close(); os.RemoveAll(dir) }
	creds, err := account.Load(dir)
	if err != nil {
		stop()
		return "", nil, err
	}
	o.Endpoint, o.AccessKey, o.Secret = s.Endpoint(), creds.First().AccessKeyID, creds.First().SecretAccessKey
	mode := "jobs sandboxed"
	if !s.Isolated() {
		mode = "jobs NOT isolated (plain processes)"
	}
	return "in-process barge on " + s.Endpoint() + ", temporary data directory, " + mode, stop, nil
}
