//go:build linux

package sandbox

import (
	"errors"
	"os"
	"testing"
)

// TestGateFailureReleases: a gate that fails ends the start with its error and releases the
// sandbox made for it, cold or prepared: its process is gone, its cgroup removed.
func TestGateFailureReleases(t *testing.T) {
	for _, tc := range []struct {
		name  string
		depth int
	}{{"cold", -1}, {"prepared", 1}} {
		t.Run(tc.name, func(t *testing.T) {
			s := poolSandbox(t, tc.depth)
			defer s.Close()
			parent := groupParent(s)
			cfg := Config{ID: "g", Argv: []string{"true"}, Env: []string{"PATH=/usr/bin:/bin"}, Dir: t.TempDir(), MilliVCPU: 1000, MemoryMiB: 64, Tenant: "a"}
			var pids []int
			if tc.depth > 0 {
				poolJob(t, s, cfg)
				waitReady(t, s, 1)
				s.pool.mu.Lock()
				for _, sp := range s.pool.shapes {
					for _, r := range sp.ready {
						pids = append(pids, r.p.pid)
					}
				}
				s.pool.mu.Unlock()
			}
			s.cleanups.Wait()
			before := map[string]bool{}
			entries, _ := os.ReadDir(parent)
			for _, e := range entries {
				if e.IsDir() {
					before[e.Name()] = true
				}
			}
			if tc.depth > 0 && len(before) == 0 {
				t.Fatalf("no cgroup under %s with a sandbox prepared", parent)
			}
			gateErr := errors.New("not durable")
			called := false
			cfg.Gate = func() error { called = true; return gateErr }
			if tc.depth > 0 {
				p, _, ok, err := s.StartPrepared(cfg)
				if !ok || !errors.Is(err, gateErr) || p != nil {
					t.Fatalf("StartPrepared with a failing gate: %v, %v, %v", p, ok, err)
				}
			} else {
				r, w, _ := os.Pipe()
				defer r.Close()
				p, err := s.Start(cfg, w, w)
				w.Close()
				if !errors.Is(err, gateErr) || p != nil {
					t.Fatalf("Start with a failing gate: %v, %v", p, err)
				}
			}
			if !called {
				t.Fatal("the gate was not called")
			}
			s.cleanups.Wait()
			for _, pid := range pids {
				gone(t, pid, "the prepared sandbox whose gate failed")
			}
			entries, _ = os.ReadDir(parent)
			for _, e := range entries {
				switch {
				case !e.IsDir():
				case tc.depth < 0:
					t.Errorf("cgroup %s left behind by a cold start whose gate failed", e.Name())
				case before[e.Name()]:
					t.Errorf("the prepared sandbox's cgroup %s is left behind", e.Name())
				}
			}
		})
	}
}
