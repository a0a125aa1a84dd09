package sched

import (
	"testing"
	"time"
)

// TestSinceKeepsTheStarvationClock: a job enqueued again with the time it first became runnable
// (after a restart) gets capacity held back for it as soon as it has waited ReserveAfter in all,
// not ReserveAfter after it was enqueued again.
func TestSinceKeepsTheStarvationClock(t *testing.T) {
	now := epoch
	for _, c := range []struct {
		name        string
		since       time.Time
		wantReserve bool
	}{
		{"enqueued now", time.Time{}, false},
		{"runnable for 4 of the 5 minutes", now.Add(-4 * time.Minute), false},
		{"runnable for 10 minutes before a restart", now.Add(-10 * time.Minute), true},
		{"a time in the future counts as now", now.Add(time.Hour), false},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := New()
			s.SetClock(func() time.Time { return now })
			s.SetComputeEnv(ComputeEnv{Key: "ce", Capacity: cpu(4, 1000), Enabled: true})
			s.SetQueue(Queue{Key: "q", Enabled: true, ComputeEnvs: []string{"ce"}, ReserveAfter: 5 * time.Minute})
			s.Enqueue(Job{ID: "small", Queue: "q", Need: cpu(2, 100)})
			if got := placedIDs(s.Schedule()); got != "small@ce" {
				t.Fatalf("placed %q", got)
			}
			s.Enqueue(Job{ID: "big", Queue: "q", Need: cpu(4, 100), Since: c.since})
			s.Schedule()
			_, reserved := s.resByCE["ce"]
			if reserved != c.wantReserve {
				t.Fatalf("capacity held for the big job: %v, want %v", reserved, c.wantReserve)
			}
		})
	}
}
