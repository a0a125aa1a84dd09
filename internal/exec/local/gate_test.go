package local

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	bexec "github.com/barge-run/barge/internal/exec"
	"github.com/barge-run/barge/internal/exec/sandbox"
)

// gated is a Spec gate the test opens or fails: reached closes once Start waits on it.
type gated struct {
	reached chan struct{}
	answer  chan error
}

func newGated() *gated { return &gated{reached: make(chan struct{}), answer: make(chan error, 1)} }

func (g *gated) wait(ctx context.Context) error {
	close(g.reached)
	select {
	case err := <-g.answer:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// TestStartGate: Start prepares the attempt and waits at its gate; the command runs only once
// the gate opens (it touches a file: absent while the gate is shut), and a gate that fails ends
// the start with its error, nothing having run. Plain processes, cold sandboxes and prepared
// ones.
func TestStartGate(t *testing.T) {
	type backend struct {
		name string
		make func(t *testing.T) (*Executor, func(t *testing.T) string)
	}
	backends := []backend{
		{"plain", func(t *testing.T) (*Executor, func(t *testing.T) string) {
			return New(), func(t *testing.T) string { return t.TempDir() }
		}},
		{"sandbox-cold", func(t *testing.T) (*Executor, func(t *testing.T) string) {
			v := sandboxed(t, func(o *sandbox.Options) { o.PoolDepth = -1 })
			return v.e, v.workDir
		}},
		{"sandbox-prepared", func(t *testing.T) (*Executor, func(t *testing.T) string) {
			v := sandboxed(t)
			return v.e, v.workDir
		}},
	}
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			e, workDir := b.make(t)
			// The command says it ran on its output (a sandbox's directory may live in its own
			// bounded space, out of the host's view).
			spec := func(dir string, out *syncBuf, g *gated) bexec.Spec {
				return bexec.Spec{ID: "gate", Command: []string{"sh", "-c", "echo ran"}, Env: []string{"PATH=/usr/bin:/bin"},
					Dir: dir, MilliVCPU: 1000, MemoryMiB: 64, Tenant: "a", Gate: g.wait, Stdout: out, Stderr: out}
			}
			prepared := b.name == "sandbox-prepared"
			if prepared {
				// A first job of the shape makes the pool prepare the next.
				p, err := e.Start(context.Background(), bexec.Spec{ID: "warm", Command: []string{"true"}, Env: []string{"PATH=/usr/bin:/bin"},
					Dir: workDir(t), MilliVCPU: 1000, MemoryMiB: 64, Tenant: "a"})
				if err != nil {
					t.Fatal(err)
				}
				p.Wait()
				waitPoolReady(t, e.opts.Sandbox, 1)
			}
			startAt := func(g *gated) (*syncBuf, chan error, chan bexec.Process) {
				out := &syncBuf{}
				errc, procc := make(chan error, 1), make(chan bexec.Process, 1)
				go func() {
					p, err := e.Start(context.Background(), spec(workDir(t), out, g))
					errc <- err
					procc <- p
				}()
				select {
				case <-g.reached:
				case err := <-errc:
					t.Fatalf("Start returned before its gate: %v", err)
				}
				if s := out.String(); s != "" {
					t.Fatalf("the command ran before the gate opened: %q", s)
				}
				if prepared {
					if st := e.opts.Sandbox.PoolStats(); st.Used == 0 {
						t.Fatalf("the gate was reached before a prepared sandbox was taken: %+v", st)
					}
				}
				return out, errc, procc
			}

			// Opened: the command runs.
			g := newGated()
			out, errc, procc := startAt(g)
			g.answer <- nil
			if err := <-errc; err != nil {
				t.Fatal(err)
			}
			if exit := (<-procc).Wait(); exit.Code != 0 {
				t.Fatalf("exit %+v", exit)
			}
			if s := out.String(); s != "ran\n" {
				t.Fatalf("the command's output once the gate opened: %q", s)
			}

			// Failed: Start fails with the gate's error and nothing runs.
			if prepared {
				waitPoolReady(t, e.opts.Sandbox, 1)
			}
			g = newGated()
			out, errc, procc = startAt(g)
			g.answer <- errors.New("STARTING was not committed")
			if err := <-errc; err == nil || !strings.Contains(err.Error(), "STARTING was not committed") {
				t.Fatalf("Start after a failed gate: %v", err)
			}
			if p := <-procc; p != nil {
				t.Fatalf("Start returned a process (%T) with its error", p)
			}
			if list, _ := e.List(context.Background()); len(list) != 0 {
				t.Fatalf("attempts still listed: %v", list)
			}
			// (That its sandbox, cgroup included, is released: TestGateFailureReleases in sandbox.)
			if s := out.String(); s != "" {
				t.Fatalf("the command ran though its gate failed: %q", s)
			}
		})
	}
}

// waitPoolReady waits until the sandbox's pool holds n prepared sandboxes.
func waitPoolReady(t *testing.T, s *sandbox.Sandbox, n int) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); s.PoolStats().Ready < n; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Skipf("the pool prepares nothing here (%+v): no prepared sandbox to test", s.PoolStats())
		}
	}
}
