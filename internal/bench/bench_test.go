package bench

import (
	"context"
	"log/slog"
	"runtime"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/batch"
	"github.com/aws/aws-sdk-go-v2/service/batch/types"

	"github.com/barge-run/barge/internal/account"
	"github.com/barge-run/barge/internal/server"
)

// startServer runs barge in this process on a free loopback port with a temporary data
// directory and returns options for it.
func startServer(t testing.TB) Options {
	t.Helper()
	dir := t.TempDir()
	s, err := server.Start(context.Background(), server.Options{Addr: "127.0.0.1:0", DataDir: dir, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	creds, err := account.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	c := creds.First()
	return Options{Endpoint: s.Endpoint(), AccessKey: c.AccessKeyID, Secret: c.SecretAccessKey}
}

// count lists a queue's jobs in the given statuses.
func count(t *testing.T, c *batch.Client, queue string, statuses ...types.JobStatus) int {
	t.Helper()
	n := 0
	for _, st := range statuses {
		p := batch.NewListJobsPaginator(c, &batch.ListJobsInput{JobQueue: aws.String(queue), JobStatus: st, MaxResults: aws.Int32(1000)})
		for p.HasMorePages() {
			page, err := p.NextPage(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			n += len(page.JobSummaryList)
		}
	}
	return n
}

// parked counts the jobs RUNNABLE in ParkedQueue, once none is SUBMITTED any more (jobs become
// RUNNABLE right after SubmitJob returns), and fails if any got further.
func parked(t *testing.T, c *batch.Client) int {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); count(t, c, ParkedQueue, types.JobStatusSubmitted) > 0; {
		if time.Now().After(deadline) {
			t.Fatalf("jobs still SUBMITTED in %s after 10s", ParkedQueue)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if n := count(t, c, ParkedQueue, types.JobStatusStarting, types.JobStatusRunning, types.JobStatusSucceeded, types.JobStatusFailed); n != 0 {
		t.Fatalf("%d jobs of %s started although its compute environment is DISABLED", n, ParkedQueue)
	}
	return count(t, c, ParkedQueue, types.JobStatusRunnable)
}

func TestSmoke(t *testing.T) {
	o := startServer(t)
	o.Jobs = 50
	ctx := context.Background()
	c := Client(o)
	t.Cleanup(func() { CloseIdle(c) })

	r, err := SubmitThroughput(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	if r.Jobs != 50 || r.Queue != ParkedQueue || r.Elapsed <= 0 || r.P50 <= 0 || r.P99 < r.P50 || r.JobsPerSecond() <= 0 {
		t.Fatalf("submit result: %+v", r)
	}
	// Setup is idempotent: a second run finds everything in place.
	o2 := o
	o2.Jobs = 10
	if _, err := SubmitThroughput(ctx, o2); err != nil {
		t.Fatalf("second submit run: %v", err)
	}
	if n := parked(t, c); n != 60 {
		t.Fatalf("%d jobs waiting in %s, want 60", n, ParkedQueue)
	}

	t.Logf("submit: %+v", r)
	r, err = EndToEnd(ctx, o)
	t.Logf("e2e: %+v", r)
	if err != nil {
		t.Fatal(err)
	}
	if r.Jobs != 50 || r.Queue != DefaultQueue || r.Elapsed <= 0 || r.SubmitElapsed <= 0 || r.SubmitElapsed > r.Elapsed {
		t.Fatalf("e2e result: %+v", r)
	}
	if n := count(t, c, DefaultQueue, types.JobStatusSucceeded); n != 50 {
		t.Fatalf("%d jobs SUCCEEDED in the default queue, want 50", n)
	}
	// The parked jobs are still parked.
	if n := parked(t, c); n != 60 {
		t.Fatalf("%d jobs waiting in %s after e2e, want 60", n, ParkedQueue)
	}

	// A dedicated queue with a chosen number of slots, set up twice (resized the second time).
	for _, slots := range []int{1, 2} {
		q, err := SetupSlots(ctx, o, slots)
		if err != nil {
			t.Fatal(err)
		}
		o3 := o
		o3.Queue, o3.Jobs = q, 10
		if r, err := EndToEnd(ctx, o3); err != nil || r.Jobs != 10 || r.Queue != SlotsQueue {
			t.Fatalf("e2e on %s with %d slots: %+v %v", q, slots, r, err)
		}
	}
	if n := count(t, c, SlotsQueue, types.JobStatusSucceeded); n != 20 {
		t.Fatalf("%d jobs SUCCEEDED in %s, want 20", n, SlotsQueue)
	}
}

func BenchmarkSubmitJob(b *testing.B) {
	o := startServer(b)
	const parallelism = 16
	o.Concurrency = parallelism * runtime.GOMAXPROCS(0)
	ctx := context.Background()
	c := Client(o)
	b.Cleanup(func() { CloseIdle(c) })
	if err := EnsureParked(ctx, c); err != nil {
		b.Fatal(err)
	}
	if err := EnsureDefinition(ctx, c); err != nil {
		b.Fatal(err)
	}
	in := &batch.SubmitJobInput{JobName: aws.String("bench-submit"), JobQueue: aws.String(ParkedQueue), JobDefinition: aws.String(Definition)}
	b.SetParallelism(parallelism)
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := c.SubmitJob(ctx, in); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "jobs/s")
}

func TestArrayEfficiencySmoke(t *testing.T) {
	o := startServer(t)
	r, err := ArrayEfficiency(context.Background(), o, 12, 4, 20*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	// 12 × 20 ms on 4 slots cannot take less than 60 ms, so efficiency is at most 1.
	if r.Jobs != 12 || r.Slots != 4 || r.Elapsed < 60*time.Millisecond || r.Efficiency <= 0 || r.Efficiency > 1 {
		t.Fatalf("efficiency result: %+v", r)
	}
}

// TestProcessFloor runs `barge bench --only floor` small: both workloads on the plain executor
// and, where the host has one, in the sandbox.
func TestProcessFloor(t *testing.T) {
	runs, err := ProcessFloor(context.Background(), 20, 2, 8, 4, 10*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != 2 && len(runs) != 4 {
		t.Fatalf("runs: %+v", runs)
	}
	for _, r := range runs {
		if r.Elapsed <= 0 || r.PerSecond() <= 0 || (r.Executor != "plain" && r.Executor != "sandbox") {
			t.Fatalf("run %+v", r)
		}
		if r.Command[0] == "sleep" {
			// 8 sleeps of 10 ms on 4 slots cannot finish in under 20 ms.
			if e := r.Efficiency(10 * time.Millisecond); e <= 0 || e > 1 || r.N != 8 || r.Concurrency != 4 {
				t.Fatalf("sleep run %+v: efficiency %v", r, e)
			}
		} else if r.N != 20 || r.Concurrency != 2 {
			t.Fatalf("true run %+v", r)
		}
	}
}
