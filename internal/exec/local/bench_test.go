package local

import (
	"context"
	"testing"
	"time"

	bexec "github.com/barge-run/barge/internal/exec"
	"github.com/barge-run/barge/internal/exec/sandbox"
)

// BenchmarkStartTrue measures starting and waiting for /bin/true as a plain process and in a
// sandbox (namespaces, cgroup, host root read-only): the sandbox's start overhead is the
// difference; "sandbox" finds its sandbox prepared (sandbox/pool.go), "sandbox-cold" makes each.
// docs/benchmarks.md reports the medians from `barge bench --only sandbox`.
func BenchmarkStartTrue(b *testing.B) {
	benchStart(b, []string{"/bin/true"})
}

// BenchmarkStartSleep is BenchmarkStartTrue for `sleep 0.05`, the efficiency benchmark's job:
// one slot's floor (ns/op over 50 ms is the slot's efficiency), the sandbox prepared meanwhile.
func BenchmarkStartSleep(b *testing.B) {
	benchStart(b, []string{"sleep", "0.05"})
}

func benchStart(b *testing.B, cmd []string) {
	dir := b.TempDir()
	spec := bexec.Spec{ID: "bench", Command: cmd, Dir: dir, MilliVCPU: 1000, MemoryMiB: 64}
	execs := map[string]*Executor{"bare": New()}
	if sandbox.Probe() == nil {
		for name, depth := range map[string]int{"sandbox": 0, "sandbox-cold": -1} {
			sb, err := sandbox.New(sandbox.Options{DataDir: b.TempDir(), PoolDepth: depth})
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(sb.Close)
			execs[name] = New(Options{Sandbox: sb})
		}
	}
	for _, name := range []string{"bare", "sandbox", "sandbox-cold"} {
		e := execs[name]
		if e == nil {
			continue
		}
		b.Run(name, func(b *testing.B) {
			var start, wait time.Duration
			for b.Loop() {
				t0 := time.Now()
				p, err := e.Start(context.Background(), spec)
				if err != nil {
					b.Fatal(err)
				}
				t1 := time.Now()
				if x := p.Wait(); x.Code != 0 {
					b.Fatalf("exit %+v", x)
				}
				start, wait = start+t1.Sub(t0), wait+time.Since(t1)
			}
			// Start is until the command is exec'd; wait is its run and exit until barge hears.
			b.ReportMetric(float64(start.Microseconds())/1000/float64(b.N), "start-ms/op")
			b.ReportMetric(float64(wait.Microseconds())/1000/float64(b.N), "wait-ms/op")
		})
	}
}
