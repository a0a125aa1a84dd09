package batch

import (
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	wire "github.com/barge-run/barge/internal/awstypes/batch"
	"github.com/barge-run/barge/internal/store"
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

	// Another server takes the lease over (the old one's expired from its clock's view).
	l, err := h.db.LeaseAcquire(ctx, engineLease, "other-server", time.Now().Add(time.Hour), time.Hour)
	if err != nil || l.Generation != 2 {
		t.Fatalf("taking the lease over: %+v %v", l, err)
	}
	if !h.fake.release(id, 0) { // the attempt succeeds: the old engine tries to record it
		t.Fatal("the attempt was not running")
	}
	select {
	case <-h.svc.eng.done:
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
	if err := other.Start(ctx); !errors.Is(err, store.ErrLeaseHeld) {
		t.Fatalf("starting an engine while another server holds the lease: %v, want ErrLeaseHeld", err)
	}
}

func storedStatus(t *testing.T, h *propHarness, id string) string {
	t.Helper()
	jobs, err := h.db.JobGetMany(context.Background(), propAccount, []string{id})
	if err != nil || len(jobs) != 1 {
		t.Fatalf("reading job %s: %v", id, err)
	}
	return jobs[0].Status
}
