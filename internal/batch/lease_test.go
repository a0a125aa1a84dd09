package batch

import (
	"context"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	wire "github.com/barge-run/barge/internal/awstypes/batch"
)

// TestDeposedEngineStopsWithoutWriting: once another server takes the engine's lease over, the
// old engine's next write fails on the fence, nothing of it lands, and the engine stops; a
// server cannot start an engine while another holds the lease.
func TestDeposedEngineStopsWithoutWriting(t *testing.T) {
	h := newPropHarnessWith(t, 1, func(string, int) (int, int) { return 0, -1 }) // attempts run until released
	ctx := context.Background()
	out, err := h.svc.SubmitJob(ctx, propAccount, &wire.SubmitJobRequest{JobName: "held", JobQueue: "default", JobDefinition: h.jobDef})
	if err != nil {
		t.Fatal(err)
	}
	id := out.JobId
	waitFor(t, "the attempt to start", func() bool { return len(h.rec.startsOf(id)) == 1 })
	waitFor(t, "RUNNING to be durable", func() bool { return storedStatus(t, h, id) == string(statusRunning) })

	deposed := h.svc.eng()
	// Another server takes the lease over (the old one's expired from its clock's view).
	l, err := h.db.LeaseAcquire(ctx, engineLease, "other-server", time.Now().Add(time.Hour), time.Hour)
	if err != nil || l.Generation != 2 {
		t.Fatalf("taking the lease over: %+v %v", l, err)
	}
	if !h.fake.release(id, 0) { // the attempt succeeds: the old engine tries to record it
		t.Fatal("the attempt was not running")
	}
	select {
	case <-deposed.done:
	case <-time.After(30 * time.Second):
		t.Fatal("the deposed engine did not stop")
	}
	if st := storedStatus(t, h, id); st != string(statusRunning) {
		t.Fatalf("the deposed engine's write landed: the job is %s in the store", st)
	}
	if !strings.Contains(h.logBuf.String(), "no longer runs the engine") {
		t.Errorf("the server log does not say the engine was deposed:\n%s", h.logBuf.String())
	}

	other, err := New(Config{Store: h.db, Executor: newFakeExec(h.rec, 9, h.policy), Logs: h.ls, WorkDir: filepath.Join(h.dir, "work2"),
		Holder: "third-server", Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	if err := other.Start(ctx); err != nil || other.Leader() || h.svc.Leader() {
		t.Fatalf("starting while another server holds the lease: %v, leader %v (and the deposed one %v); want a follower", err, other.Leader(), h.svc.Leader())
	}
	other.Stop()
}

// TestFollowerTakesOver: a second server on the store serves the API while the first runs the
// engine (a job submitted to it runs there), and takes the engine over when the first stops.
func TestFollowerTakesOver(t *testing.T) {
	h := newPropHarnessWith(t, 2, func(string, int) (int, int) { return 0, 0 })
	ctx := context.Background()
	follower, err := New(Config{Store: h.db, Executor: newFakeExec(h.rec, 9, h.policy), Logs: h.ls, WorkDir: filepath.Join(h.dir, "work2"),
		Holder: "second-server", LeaseTTL: 600 * time.Millisecond, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	if err := follower.Start(ctx); err != nil || follower.Leader() || !h.svc.Leader() {
		t.Fatalf("second server: %v, leader %v; first leader %v", err, follower.Leader(), h.svc.Leader())
	}
	defer follower.Stop()
	out, err := follower.SubmitJob(ctx, propAccount, &wire.SubmitJobRequest{JobName: "via-follower", JobQueue: "default", JobDefinition: h.jobDef})
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(intentGrace + 30*time.Second)
	for storedStatus(t, h, out.JobId) != string(statusSucceeded) {
		if time.Now().After(deadline) {
			t.Fatalf("the job submitted to the follower is %s", storedStatus(t, h, out.JobId))
		}
		time.Sleep(10 * time.Millisecond)
	}
	h.svc.Stop() // gives the lease back
	h.svc = nil
	for !follower.Leader() {
		if time.Now().After(deadline) {
			t.Fatal("the follower never took the engine over")
		}
		time.Sleep(10 * time.Millisecond)
	}
	after, err := follower.SubmitJob(ctx, propAccount, &wire.SubmitJobRequest{JobName: "after-takeover", JobQueue: "default", JobDefinition: h.jobDef})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the job to run on the new leader", func() bool { return storedStatus(t, h, after.JobId) == string(statusSucceeded) })
}

func storedStatus(t *testing.T, h *propHarness, id string) string {
	t.Helper()
	jobs, err := h.db.JobGetMany(context.Background(), propAccount, []string{id})
	if err != nil || len(jobs) != 1 {
		t.Fatalf("reading job %s: %v", id, err)
	}
	return jobs[0].Status
}
