package sched

import (
	"fmt"
	"math/rand"
	"strings"
	"testing"
)

func cpu(v int64, mem int64) Resources { return Resources{MilliVCPU: v * 1000, MemoryMiB: mem} }

func placedIDs(r Result) string {
	var ids []string
	for _, p := range r.Placements {
		ids = append(ids, p.JobID+"@"+p.ComputeEnv)
	}
	return strings.Join(ids, " ")
}

func TestSchedule(t *testing.T) {
	type step struct {
		enqueue []Job
		release []string
		want    string
	}
	cases := []struct {
		name   string
		ces    []ComputeEnv
		queues []Queue
		steps  []step
	}{
		{
			name:   "fifo within capacity",
			ces:    []ComputeEnv{{Key: "ce", Capacity: cpu(2, 1000), Enabled: true}},
			queues: []Queue{{Key: "q", Enabled: true, ComputeEnvs: []string{"ce"}}},
			steps: []step{
				{enqueue: []Job{{ID: "a", Queue: "q", Need: cpu(1, 100)}, {ID: "b", Queue: "q", Need: cpu(1, 100)}, {ID: "c", Queue: "q", Need: cpu(1, 100)}}, want: "a@ce b@ce"},
				{want: ""},
				{release: []string{"b"}, want: "c@ce"},
			},
		},
		{
			name:   "memory bounds too",
			ces:    []ComputeEnv{{Key: "ce", Capacity: cpu(8, 1000), Enabled: true}},
			queues: []Queue{{Key: "q", Enabled: true, ComputeEnvs: []string{"ce"}}},
			steps: []step{
				{enqueue: []Job{{ID: "a", Queue: "q", Need: cpu(1, 600)}, {ID: "b", Queue: "q", Need: cpu(1, 600)}, {ID: "c", Queue: "q", Need: cpu(1, 400)}}, want: "a@ce c@ce"},
			},
		},
		{
			name: "higher priority queue first",
			ces:  []ComputeEnv{{Key: "ce", Capacity: cpu(1, 1000), Enabled: true}},
			queues: []Queue{
				{Key: "low", Priority: 1, Enabled: true, ComputeEnvs: []string{"ce"}},
				{Key: "high", Priority: 10, Enabled: true, ComputeEnvs: []string{"ce"}},
			},
			steps: []step{
				{enqueue: []Job{{ID: "l1", Queue: "low", Need: cpu(1, 1)}, {ID: "h1", Queue: "high", Need: cpu(1, 1)}}, want: "h1@ce"},
				{release: []string{"h1"}, want: "l1@ce"},
			},
		},
		{
			name: "compute environments in queue order",
			ces: []ComputeEnv{
				{Key: "first", Capacity: cpu(1, 1000), Enabled: true},
				{Key: "second", Capacity: cpu(4, 1000), Enabled: true},
			},
			queues: []Queue{{Key: "q", Enabled: true, ComputeEnvs: []string{"first", "second"}}},
			steps: []step{
				{enqueue: []Job{{ID: "a", Queue: "q", Need: cpu(1, 1)}, {ID: "b", Queue: "q", Need: cpu(1, 1)}, {ID: "c", Queue: "q", Need: cpu(2, 1)}}, want: "a@first b@second c@second"},
			},
		},
		{
			name:   "disabled queue and disabled compute environment hold jobs",
			ces:    []ComputeEnv{{Key: "ce", Capacity: cpu(4, 1000), Enabled: false}, {Key: "on", Capacity: cpu(4, 1000), Enabled: true}},
			queues: []Queue{{Key: "q", Enabled: true, ComputeEnvs: []string{"ce"}}, {Key: "off", Enabled: false, ComputeEnvs: []string{"on"}}},
			steps: []step{
				{enqueue: []Job{{ID: "a", Queue: "q", Need: cpu(1, 1)}, {ID: "b", Queue: "off", Need: cpu(1, 1)}}, want: ""},
			},
		},
		{
			name:   "big job does not block small ones",
			ces:    []ComputeEnv{{Key: "ce", Capacity: cpu(4, 1000), Enabled: true}},
			queues: []Queue{{Key: "q", Enabled: true, ComputeEnvs: []string{"ce"}}},
			steps: []step{
				{enqueue: []Job{{ID: "a", Queue: "q", Need: cpu(2, 1)}, {ID: "big", Queue: "q", Need: cpu(4, 1)}, {ID: "b", Queue: "q", Need: cpu(1, 1)}}, want: "a@ce b@ce"},
				{release: []string{"a", "b"}, want: "big@ce"},
			},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := New()
			for _, ce := range c.ces {
				s.SetComputeEnv(ce)
			}
			for _, q := range c.queues {
				s.SetQueue(q)
			}
			for i, st := range c.steps {
				for _, j := range st.enqueue {
					if !s.Enqueue(j) {
						t.Fatalf("enqueue %s refused", j.ID)
					}
				}
				for _, id := range st.release {
					if !s.Release(id) {
						t.Fatalf("release %s: not running", id)
					}
				}
				if got := placedIDs(s.Schedule()); got != st.want {
					t.Fatalf("step %d: placed %q, want %q", i, got, st.want)
				}
			}
		})
	}
}

func TestUnschedulable(t *testing.T) {
	s := New()
	s.SetComputeEnv(ComputeEnv{Key: "ce", Capacity: cpu(8, 16000), Enabled: true})
	s.SetQueue(Queue{Key: "q", Enabled: true, ComputeEnvs: []string{"ce"}, FailUnschedulable: true})
	s.SetQueue(Queue{Key: "patient", Enabled: true, ComputeEnvs: []string{"ce"}})
	s.Enqueue(Job{ID: "huge", Queue: "q", Need: cpu(64, 1)})
	s.Enqueue(Job{ID: "waits", Queue: "patient", Need: cpu(64, 1)})
	s.Enqueue(Job{ID: "ok", Queue: "q", Need: cpu(1, 1)})
	r := s.Schedule()
	if len(r.Unschedulable) != 1 || r.Unschedulable[0].JobID != "huge" {
		t.Fatalf("unschedulable: %+v", r.Unschedulable)
	}
	if want := "Job requires 64 vCPU, 1 MiB memory but the largest compute environment of its queue has 8 vCPU, 16000 MiB memory"; r.Unschedulable[0].Reason != want {
		t.Fatalf("reason %q", r.Unschedulable[0].Reason)
	}
	if placedIDs(r) != "ok@ce" || s.Waiting() != 1 {
		t.Fatalf("placed %q, waiting %d", placedIDs(r), s.Waiting())
	}
}

func TestCountEntries(t *testing.T) {
	s := New()
	s.SetComputeEnv(ComputeEnv{Key: "ce", Capacity: cpu(3, 1000), Enabled: true})
	s.SetQueue(Queue{Key: "q", Enabled: true, ComputeEnvs: []string{"ce"}})
	s.Enqueue(Job{ID: "arr", Queue: "q", Need: cpu(1, 1), Count: 1000000})
	s.Enqueue(Job{ID: "after", Queue: "q", Need: cpu(1, 1)})
	r := s.Schedule()
	if got := placedIDs(r); got != "arr@ce arr@ce arr@ce" {
		t.Fatalf("placed %q", got)
	}
	if r.Placements[0].Running != "arr#1" || r.Placements[2].Running != "arr#3" || s.WaitingCount("arr") != 999997 {
		t.Fatalf("instances %+v, waiting %d", r.Placements, s.WaitingCount("arr"))
	}
	if !s.Release("arr#2") || s.Release("arr") {
		t.Fatal("instances release by their own keys")
	}
	if got := placedIDs(s.Schedule()); got != "arr@ce" {
		t.Fatalf("after release: %q", got)
	}
}

func TestDequeueAndRemoveQueue(t *testing.T) {
	s := New()
	s.SetComputeEnv(ComputeEnv{Key: "ce", Capacity: cpu(1, 100), Enabled: true})
	s.SetQueue(Queue{Key: "q", Enabled: true, ComputeEnvs: []string{"ce"}})
	s.Enqueue(Job{ID: "a", Queue: "q", Need: cpu(1, 1)})
	s.Enqueue(Job{ID: "b", Queue: "q", Need: cpu(1, 1)})
	if !s.Dequeue("a") || s.Dequeue("a") {
		t.Fatal("dequeue must succeed once")
	}
	if got := placedIDs(s.Schedule()); got != "b@ce" {
		t.Fatalf("placed %q", got)
	}
	s.Enqueue(Job{ID: "c", Queue: "q", Need: cpu(1, 1)})
	s.RemoveQueue("q")
	if s.Waiting() != 0 || s.Enqueue(Job{ID: "d", Queue: "q", Need: cpu(1, 1)}) {
		t.Fatal("removed queue must drop its jobs and refuse new ones")
	}
}

// TestRandomNeverOvercommits drives random workloads and checks the invariants that must always
// hold: capacity is never exceeded and every job is placed (or found unschedulable) exactly once.
func TestRandomNeverOvercommits(t *testing.T) {
	for seed := int64(0); seed < 50; seed++ {
		rng := rand.New(rand.NewSource(seed))
		s := New()
		caps := map[string]Resources{}
		for i := 0; i < 3; i++ {
			key := fmt.Sprintf("ce%d", i)
			caps[key] = cpu(int64(1+rng.Intn(8)), int64(1000+rng.Intn(8000)))
			s.SetComputeEnv(ComputeEnv{Key: key, Capacity: caps[key], Enabled: true})
		}
		for i := 0; i < 3; i++ {
			s.SetQueue(Queue{Key: fmt.Sprintf("q%d", i), Priority: int32(rng.Intn(3)), Enabled: true, ComputeEnvs: []string{"ce0", "ce1", "ce2"}[:1+rng.Intn(3)], FailUnschedulable: true})
		}
		const n = 300
		for i := 0; i < n; i++ {
			s.Enqueue(Job{ID: fmt.Sprintf("j%d", i), Queue: fmt.Sprintf("q%d", rng.Intn(3)), Need: Resources{MilliVCPU: int64(250 * (1 + rng.Intn(8))), MemoryMiB: int64(100 + rng.Intn(1000))}})
		}
		placed := map[string]bool{}
		var active []string
		for round := 0; round < 10*n && len(placed) < n; round++ {
			r := s.Schedule()
			for _, u := range r.Unschedulable {
				if placed[u.JobID] {
					t.Fatalf("seed %d: %s resolved twice", seed, u.JobID)
				}
				placed[u.JobID] = true
			}
			for _, p := range r.Placements {
				if placed[p.JobID] {
					t.Fatalf("seed %d: %s placed twice", seed, p.JobID)
				}
				placed[p.JobID] = true
				active = append(active, p.JobID)
			}
			for key, c := range caps {
				if !s.Used(key).Fits(c) {
					t.Fatalf("seed %d: %s overcommitted: %v of %v", seed, key, s.Used(key), c)
				}
			}
			if len(active) > 0 {
				k := rng.Intn(len(active))
				s.Release(active[k])
				active = append(active[:k], active[k+1:]...)
			}
		}
		if len(placed) != n {
			t.Fatalf("seed %d: only %d of %d placed", seed, len(placed), n)
		}
	}
}

func BenchmarkSchedule100kRunnable50Queues(b *testing.B) {
	s := New()
	s.SetComputeEnv(ComputeEnv{Key: "ce", Capacity: cpu(64, 256000), Enabled: true})
	for q := 0; q < 50; q++ {
		s.SetQueue(Queue{Key: fmt.Sprintf("q%d", q), Priority: int32(q % 5), Enabled: true, ComputeEnvs: []string{"ce"}})
	}
	for i := 0; i < 100000; i++ {
		s.Enqueue(Job{ID: fmt.Sprintf("j%d", i), Queue: fmt.Sprintf("q%d", i%50), Need: cpu(1, 512)})
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r := s.Schedule()
		b.StopTimer()
		for _, p := range r.Placements {
			s.Release(p.JobID)
			s.Enqueue(Job{ID: p.JobID, Queue: p.Queue, Need: p.Need})
		}
		b.StartTimer()
	}
}
