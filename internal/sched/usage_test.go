package sched

import (
	"math"
	"testing"
	"time"
)

func TestShareUsagesSurviveARestart(t *testing.T) {
	now := time.Unix(1_000_000, 0)
	clock := func() time.Time { return now }
	newSched := func() *Scheduler {
		s := New()
		s.SetClock(clock)
		s.SetComputeEnv(ComputeEnv{Key: "ce", Capacity: cpu(2, 1000), Enabled: true})
		s.SetQueue(Queue{Key: "q", Enabled: true, ComputeEnvs: []string{"ce"}, FairShare: &FairShare{ShareDecay: 100 * time.Second}})
		return s
	}
	s := newSched()
	s.Enqueue(Job{ID: "a1", Queue: "q", Need: cpu(2, 1), Share: "a"})
	s.Schedule()
	now = now.Add(50 * time.Second)
	s.Release("a1")
	saved := s.ShareUsages()
	if len(saved) != 1 || saved[0].Share != "a" || saved[0].VCPUSeconds <= 0 {
		t.Fatalf("saved %+v", saved)
	}

	// A new scheduler that restores the usage serves share b before share a, as the old one would.
	now = now.Add(10 * time.Second)
	r := newSched()
	r.RestoreShareUsages(saved)
	got := r.ShareUsages()
	want := saved[0].VCPUSeconds * math.Exp(-10.0/100)
	if len(got) != 1 || math.Abs(got[0].VCPUSeconds-want) > 1e-6 {
		t.Fatalf("restored %+v, want %.3f vCPU-seconds", got, want)
	}
	r.Enqueue(Job{ID: "a2", Queue: "q", Need: cpu(2, 1), Share: "a"})
	r.Enqueue(Job{ID: "b1", Queue: "q", Need: cpu(2, 1), Share: "b"})
	if placed := placedIDs(r.Schedule()); placed != "b1@ce" {
		t.Fatalf("after restore placed %q, want the unused share b first", placed)
	}
	// Without the restored usage, FIFO order within equal usage would pick a2.
	f := newSched()
	f.Enqueue(Job{ID: "a2", Queue: "q", Need: cpu(2, 1), Share: "a"})
	f.Enqueue(Job{ID: "b1", Queue: "q", Need: cpu(2, 1), Share: "b"})
	if placed := placedIDs(f.Schedule()); placed != "a2@ce" {
		t.Fatalf("control: placed %q, want a2 (equal usage, submission order)", placed)
	}
}
