package sched

import (
	"testing"
	"time"
)

func TestFront(t *testing.T) {
	now := time.Unix(1000, 0)
	s := New()
	s.SetClock(func() time.Time { return now })
	s.SetComputeEnv(ComputeEnv{Key: "ce", Capacity: Resources{MilliVCPU: 2000, MemoryMiB: 4096}, Enabled: true})
	s.SetQueue(Queue{Key: "fifo", Enabled: true, ComputeEnvs: []string{"ce"}})
	s.SetQueue(Queue{Key: "fair", Enabled: true, ComputeEnvs: []string{"ce"}, FairShare: &FairShare{ShareDecay: time.Hour,
		Weights: []ShareWeight{{Identifier: "a", Weight: 1}, {Identifier: "b", Weight: 1}}}})
	need := Resources{MilliVCPU: 1000, MemoryMiB: 64}
	s.Enqueue(Job{ID: "j1", Queue: "fifo", Need: need})
	s.Enqueue(Job{ID: "arr", Queue: "fifo", Need: need, Count: 5})
	s.Enqueue(Job{ID: "j2", Queue: "fifo", Need: need})

	got := s.Front("fifo", 4)
	want := []FrontEntry{{ID: "j1", Instances: 1, Enqueued: now}, {ID: "arr", Instances: 3, Enqueued: now}}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Fatalf("FIFO front: %+v", got)
	}
	if got := s.Front("fifo", 100); len(got) != 3 || got[2].ID != "j2" {
		t.Fatalf("whole FIFO queue: %+v", got)
	}

	// Fair share: with equal weights and no usage the shares alternate.
	for _, id := range []string{"a1", "a2", "a3"} {
		s.Enqueue(Job{ID: id, Queue: "fair", Need: need, Share: "a"})
	}
	for _, id := range []string{"b1", "b2"} {
		s.Enqueue(Job{ID: id, Queue: "fair", Need: need, Share: "b"})
	}
	var order []string
	for _, e := range s.Front("fair", 10) {
		order = append(order, e.ID)
	}
	if len(order) != 5 || order[0] == order[1] || (order[0][0] == order[1][0]) || order[4] != "a3" {
		t.Fatalf("fair-share front: %v", order)
	}
	if s.Waiting() != 8 {
		t.Fatalf("Front changed the queue: %d waiting", s.Waiting())
	}
	if s.Front("nope", 10) != nil {
		t.Fatal("an unknown queue has a front")
	}
}
