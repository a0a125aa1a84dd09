package bench

// The process floor of issue 3's two process-bound targets (≥ 300 `true` jobs/s end to end,
// ≥ 90 % efficiency for 50 ms jobs): the same workloads run by barge's executor alone, with no
// server, store, scheduler or API in the way, once as plain processes and once in barge's
// sandbox. Whatever the scheduler does, the end-to-end figures cannot beat these.

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	bexec "github.com/barge-run/barge/internal/exec"
	"github.com/barge-run/barge/internal/exec/local"
	"github.com/barge-run/barge/internal/exec/sandbox"
)

// FloorRun is one workload run directly on an executor.
type FloorRun struct {
	Executor    string // "plain" or "sandbox"
	Command     []string
	N           int // processes run
	Concurrency int
	Elapsed     time.Duration
	// MachineCPU is the CPU time the whole machine spent per process (machinecpu.go); 0 when
	// it cannot be read.
	MachineCPU time.Duration
}

// PerSecond is processes started and reaped per second.
func (r FloorRun) PerSecond() float64 { return float64(r.N) / r.Elapsed.Seconds() }

// Efficiency is, for a workload of sleeps of d on Concurrency slots, the ideal makespan over the
// measured one (the efficiency target's definition).
func (r FloorRun) Efficiency(d time.Duration) float64 {
	ideal := float64(r.N) * d.Seconds() / float64(r.Concurrency)
	return ideal / r.Elapsed.Seconds()
}

// ProcessFloor runs n `true` processes with trueConc at a time, and arrayN `sleep <sleep>`
// processes with slots at a time, on the plain executor and, when the host has one, in the
// sandbox (1 vCPU, 64 MiB each, as a default job).
func ProcessFloor(ctx context.Context, n, trueConc, arrayN, slots int, sleep time.Duration) ([]FloorRun, error) {
	dir, err := os.MkdirTemp("", "barge-bench-floor-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	type executor struct {
		name string
		e    *local.Executor
	}
	executors := []executor{{"plain", local.New()}}
	if sandbox.Probe() == nil {
		sb, err := sandbox.New(sandbox.Options{DataDir: dir})
		if err != nil {
			return nil, err
		}
		defer sb.Close()
		executors = append(executors, executor{"sandbox", local.New(local.Options{Sandbox: sb})})
	}
	var runs []FloorRun
	for _, ex := range executors {
		for _, w := range []struct {
			cmd  []string
			n, c int
		}{
			{[]string{"true"}, n, trueConc},
			{[]string{"sleep", fmt.Sprintf("%g", sleep.Seconds())}, arrayN, slots},
		} {
			r, err := runFloor(ctx, ex.e, dir, w.cmd, w.n, w.c)
			if err != nil {
				return runs, fmt.Errorf("%s %v: %w", ex.name, w.cmd, err)
			}
			r.Executor = ex.name
			runs = append(runs, r)
		}
	}
	return runs, nil
}

func runFloor(ctx context.Context, e *local.Executor, dir string, cmd []string, n, c int) (FloorRun, error) {
	work := filepath.Join(dir, "work")
	if err := os.MkdirAll(work, 0o700); err != nil {
		return FloorRun{}, err
	}
	var next atomic.Int64
	var firstErr error
	var once sync.Once
	var wg sync.WaitGroup
	cpu := startCPU()
	start := time.Now()
	for range c {
		wg.Go(func() {
			for {
				i := next.Add(1)
				if i > int64(n) || ctx.Err() != nil {
					return
				}
				p, err := e.Start(ctx, bexec.Spec{ID: fmt.Sprintf("floor-%d", i), Command: cmd, Dir: work, MilliVCPU: 1000, MemoryMiB: 64})
				if err == nil {
					if x := p.Wait(); x.Code != 0 {
						err = fmt.Errorf("exited %+v", x)
					}
				}
				if err != nil {
					once.Do(func() { firstErr = err })
					return
				}
			}
		})
	}
	wg.Wait()
	if firstErr == nil {
		firstErr = ctx.Err()
	}
	return FloorRun{Command: cmd, N: n, Concurrency: c, Elapsed: time.Since(start), MachineCPU: cpu.perJob(n)}, firstErr
}
