package batch

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	bexec "github.com/barge-run/barge/internal/exec"
	"github.com/barge-run/barge/internal/store"
)

// startGateHarness runs one job whose STARTING commit the test holds: it returns the harness,
// the job, the commit's held and release channels, and the Spec the executor's Start was given
// (its Start is under way while the commit is held).
func startGateHarness(t *testing.T) (*propHarness, *pjob, chan struct{}, *bexec.Spec) {
	t.Helper()
	manual := func(string, int) (int, int) { return 0, -1 }
	h := newPropHarnessWith(t, 0, manual, func(h *propHarness) { h.gated = &gatedStore{} })
	specs := make(chan bexec.Spec, 4)
	h.fake.specHook = func(sp bexec.Spec) { specs <- sp }
	x := &pjob{label: "x", vcpus: 1}
	held, release := h.gated.holdWhen(func(_, updates []*store.Job) bool {
		for _, j := range updates {
			if j.Status == string(statusStarting) {
				return true
			}
		}
		return false
	})
	h.submit(x)
	select {
	case <-held:
	case <-time.After(10 * time.Second):
		t.Fatal("STARTING was never committed")
	}
	var sp bexec.Spec
	select {
	case sp = <-specs:
	case <-time.After(10 * time.Second):
		t.Fatal("the executor's Start was not called while STARTING was being committed")
	}
	if sp.Gate == nil {
		t.Fatal("Start was called before STARTING was durable without a gate")
	}
	return h, x, release, &sp
}

// gateShut reports whether gate is shut now: it would not return nil without waiting.
func gateShut(gate func(context.Context) error) bool {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return gate(ctx) != nil
}

// TestStartOverlapsStartingCommit: the attempt's Start is called while its STARTING is being
// committed (so the executor prepares meanwhile), and its command runs only once STARTING is
// durable.
func TestStartOverlapsStartingCommit(t *testing.T) {
	h, x, release, sp := startGateHarness(t)
	if !gateShut(sp.Gate) {
		t.Fatal("the gate is open while STARTING is not durable")
	}
	if n := len(h.rec.startsOf(x.id)); n != 0 {
		t.Fatalf("the command ran %d times before STARTING was durable", n)
	}
	if ids := h.fake.runningIDs(); len(ids) != 0 {
		t.Fatalf("attempts run before STARTING is durable: %v", ids)
	}
	close(release)
	if err := sp.Gate(context.Background()); err != nil {
		t.Fatalf("gate after the commit: %v", err)
	}
	waitFor(t, "X to run", func() bool { return h.statusOfJob(x.id) == statusRunning })
	if n := len(h.rec.startsOf(x.id)); n != 1 {
		t.Fatalf("X started %d times, want 1", n)
	}
	h.fake.release(x.id, 0)
	waitFor(t, "X to succeed", func() bool { return h.statusOfJob(x.id) == statusSucceeded })
}

// TestStartGateFailedCommit: STARTING's commit fails until the server stops: the attempt's gate
// fails, its command never runs, and the job is still RUNNABLE in the store.
func TestStartGateFailedCommit(t *testing.T) {
	h, x, release, sp := startGateHarness(t)
	h.fake.execHook = func(id string) { t.Errorf("%s's command ran though its STARTING never became durable", id) }
	h.gated.failWith(errors.New("disk I/O error"))
	close(release)
	waitFor(t, "the failed commit to be retried", func() bool {
		return strings.Contains(h.logBuf.String(), "persist job states (will retry)")
	})
	if !gateShut(sp.Gate) {
		t.Fatal("the gate opened though the commit failed")
	}
	h.svc.Stop()
	h.fake.markStopped()
	if err := sp.Gate(context.Background()); !errors.Is(err, errStartAborted) {
		t.Fatalf("gate after Stop: %v, want %v", err, errStartAborted)
	}
	if n := len(h.rec.startsOf(x.id)); n != 0 {
		t.Fatalf("the command ran %d times", n)
	}
	if ids := h.fake.runningIDs(); len(ids) != 0 {
		t.Fatalf("attempts run: %v", ids)
	}
	h.gated.failWith(nil)
	jobs, err := h.db.JobGetMany(context.Background(), propAccount, []string{x.id})
	if err != nil || len(jobs) != 1 {
		t.Fatalf("X in the store: %v, %d rows", err, len(jobs))
	}
	if jobs[0].Status == string(statusStarting) {
		t.Errorf("X is STARTING in the store though that commit failed")
	}
}
