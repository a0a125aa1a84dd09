package local

import (
	"context"
	"testing"

	bexec "github.com/barge-run/barge/internal/exec"
	"github.com/barge-run/barge/internal/exec/sandbox"
)

// BenchmarkStartTrue measures starting and waiting for /bin/true as a plain process and in a
// sandbox (namespaces, cgroup, host root read-only): the sandbox's start overhead is the
// difference. docs/benchmarks.md reports the medians from `barge bench --only sandbox`.
func BenchmarkStartTrue(b *testing.B) {
	dir := b.TempDir()
	spec := bexec.Spec{ID: "bench", Command: []string{"/bin/true"}, Dir: dir, MilliVCPU: 1000, MemoryMiB: 64}
	execs := map[string]*Executor{"bare": New()}
	if sandbox.Probe() == nil {
		sb, err := sandbox.New(sandbox.Options{DataDir: b.TempDir()})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(sb.Close)
		execs["sandbox"] = New(Options{Sandbox: sb})
	}
	for _, name := range []string{"bare", "sandbox"} {
		e := execs[name]
		if e == nil {
			continue
		}
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				p, err := e.Start(context.Background(), spec)
				if err != nil {
					b.Fatal(err)
				}
				if x := p.Wait(); x.Code != 0 {
					b.Fatalf("exit %+v", x)
				}
			}
		})
	}
}
