package batch

import (
	"context"
	"encoding/json"
	"strings"
	"syscall"
	"testing"

	wire "github.com/barge-run/barge/internal/awstypes/batch"
	bexec "github.com/barge-run/barge/internal/exec"
)

// storedRecord is a job's record as stored.
func storedRecord(t *testing.T, h *propHarness, id string) jobRecord {
	t.Helper()
	jobs, err := h.db.JobGetMany(context.Background(), propAccount, []string{id})
	if err != nil || len(jobs) != 1 {
		t.Fatalf("reading job %s: %v", id, err)
	}
	var rec jobRecord
	if err := json.Unmarshal(jobs[0].Body, &rec); err != nil {
		t.Fatal(err)
	}
	return rec
}

// outlivingExecutor gives the harness one fake executor whose attempts survive restarts.
func outlivingExecutor(h *propHarness) {
	h.sameExecutor = true
	h.fake = newFakeExec(h.rec, 1, h.policy)
	h.fake.outlive = true
	h.fakes = append(h.fakes, h.fake)
}

func (h *propHarness) submitNamed(name string, rs *wire.RetryStrategy) string {
	h.t.Helper()
	out, err := h.svc.SubmitJob(context.Background(), propAccount, &wire.SubmitJobRequest{JobName: name, JobQueue: "default",
		JobDefinition: h.jobDef, RetryStrategy: rs})
	if err != nil {
		h.t.Fatal(err)
	}
	return out.JobId
}

// TestEngineTakesBackSurvivingAttempts: with an executor whose attempts outlive the server (as
// Pods do), a restart neither kills nor loses a running attempt: the new engine takes it back by
// its key, records its end as the same attempt, and stops an attempt no job records.
func TestEngineTakesBackSurvivingAttempts(t *testing.T) {
	h := newPropHarnessWith(t, 11, func(string, int) (int, int) { return 0, -1 }, outlivingExecutor)
	id := h.submitNamed("survivor", nil)
	waitFor(t, "the job to run", func() bool { return storedStatus(t, h, id) == string(statusRunning) })
	// An attempt of this executor's that no job records (a job deleted while it ran elsewhere).
	orphan, err := h.fake.Start(context.Background(), bexec.Spec{Key: attemptKey("0rphan", 1),
		Env: []string{"AWS_BATCH_JOB_ID=orphan", "AWS_BATCH_JOB_ATTEMPT=1"}})
	if err != nil {
		t.Fatal(err)
	}
	before := storedRecord(t, h, id)
	if notKilled := h.restart(); len(notKilled) != 2 {
		t.Fatalf("running after the restart: %v, want the job's attempt and the orphan", notKilled)
	}
	if orphan.Wait().Signal != syscall.SIGTERM {
		t.Fatalf("the orphan ended with %+v, want stopped", orphan.Wait())
	}
	after := storedRecord(t, h, id)
	if after.Detail.Status != statusRunning || len(after.Detail.Attempts) != 0 ||
		deref(after.Detail.StartedAt) != deref(before.Detail.StartedAt) {
		t.Fatalf("after the restart: %s, %d attempts, started %d (was %d)", after.Detail.Status,
			len(after.Detail.Attempts), deref(after.Detail.StartedAt), deref(before.Detail.StartedAt))
	}
	if !h.fake.release(id, 0) {
		t.Fatal("the job's attempt is no longer running")
	}
	waitFor(t, "the job to succeed", func() bool { return storedStatus(t, h, id) == string(statusSucceeded) })
	if n := len(h.rec.startsOf(id)); n != 1 {
		t.Fatalf("started %d times, want once", n)
	}
	if d := storedRecord(t, h, id).Detail; len(d.Attempts) != 1 || deref(d.Attempts[0].Container.ExitCode) != 0 {
		t.Fatalf("attempts after the end: %+v", d.Attempts)
	}
}

// TestEngineMarksVanishedAttemptsHostTerminated: an attempt the executor no longer has after a
// restart failed as AWS words a lost instance, and a retry strategy matching that reason runs
// the job again.
func TestEngineMarksVanishedAttemptsHostTerminated(t *testing.T) {
	h := newPropHarnessWith(t, 12, func(_ string, attempt int) (int, int) {
		if attempt == 1 {
			return 0, -1
		}
		return 0, 0
	})
	id := h.submitNamed("vanishes", &wire.RetryStrategy{Attempts: ptr(int32(2)),
		EvaluateOnExit: []wire.EvaluateOnExit{{OnStatusReason: "Host EC2*", Action: "RETRY"}, {OnReason: "*", Action: "EXIT"}}})
	waitFor(t, "the job to run", func() bool { return storedStatus(t, h, id) == string(statusRunning) })
	h.restart() // a new executor: the attempt is gone
	waitFor(t, "the retry to succeed", func() bool { return storedStatus(t, h, id) == string(statusSucceeded) })
	d := storedRecord(t, h, id).Detail
	if len(d.Attempts) != 2 || d.Attempts[0].StatusReason != "Host EC2 (instance local) terminated." ||
		d.Attempts[0].Container.Reason != reasonLost {
		t.Fatalf("attempts: %+v", d.Attempts)
	}
}

// TestEngineRunningOnlyOnceStarted: an attempt whose container starts after Start returns (a Pod
// scheduled, pulling) keeps its job STARTING, with no start time, until the executor says it runs.
func TestEngineRunningOnlyOnceStarted(t *testing.T) {
	h := newPropHarnessWith(t, 13, func(string, int) (int, int) { return 0, -1 }, func(h *propHarness) {
		outlivingExecutor(h)
		h.fake.startedLater = true
	})
	id := h.submitNamed("slow-pull", nil)
	waitFor(t, "the attempt to be handed to the engine", func() bool {
		return readOnLoop(h.svc.eng(), func() map[string]bool {
			aj := h.svc.eng().jobs[id]
			return map[string]bool{"": aj != nil && aj.attempt != nil && aj.attempt.proc != nil}
		})[""]
	})
	h.svc.eng().call(context.Background(), func() error { return nil }) // what the engine did is durable
	if rec := storedRecord(t, h, id); rec.Detail.Status != statusStarting || rec.Detail.StartedAt != nil {
		t.Fatalf("before the container started: %s, startedAt %v", rec.Detail.Status, rec.Detail.StartedAt)
	}
	if !h.fake.markStarted(id) {
		t.Fatal("no attempt to mark started")
	}
	waitFor(t, "RUNNING", func() bool { return storedStatus(t, h, id) == string(statusRunning) })
	if storedRecord(t, h, id).Detail.StartedAt == nil {
		t.Fatal("RUNNING without a start time")
	}
	h.fake.release(id, 0)
	waitFor(t, "the job to succeed", func() bool { return storedStatus(t, h, id) == string(statusSucceeded) })
}

// TestExitCausesInAWSWords: each way an executor says an attempt ended becomes the reasons AWS
// gives, through the engine, and a retry strategy can act on them.
func TestExitCausesInAWSWords(t *testing.T) {
	cases := []struct {
		exit                    bexec.Exit
		statusReason, reasonPfx string
		exitCode                bool
	}{
		{bexec.Exit{Cause: bexec.CausePullFailed, Reason: "manifest unknown"}, "Task failed to start", "CannotPullContainerError: manifest unknown", false},
		{bexec.Exit{Cause: bexec.CauseStartFailed, Reason: "exec format error"}, "Task failed to start", "CannotStartContainerError: exec format error", false},
		{bexec.Exit{Cause: bexec.CauseEvicted, Reason: "node memory pressure", Host: "node-3"}, "Host EC2 (instance node-3) terminated.", "Host terminated: node memory pressure", false},
		{bexec.Exit{Cause: bexec.CauseHostLost, Host: "node-4"}, "Host EC2 (instance node-4) terminated.", "Host terminated: ", false},
		{bexec.Exit{Code: 137, OOM: true}, reasonEssentialExited, "OutOfMemoryError: Container killed due to memory usage", true},
		{bexec.Exit{Code: 3}, reasonEssentialExited, "", true},
	}
	h := newPropHarnessWith(t, 14, func(string, int) (int, int) { return 0, -1 })
	for _, c := range cases {
		t.Run(c.statusReason+"/"+c.reasonPfx, func(t *testing.T) {
			id := h.submitNamed("cause", nil)
			waitFor(t, "the job to run", func() bool { return storedStatus(t, h, id) == string(statusRunning) })
			if !h.fake.releaseWith(id, c.exit) {
				t.Fatal("not running")
			}
			waitFor(t, "the job to fail", func() bool { return storedStatus(t, h, id) == string(statusFailed) })
			d := storedRecord(t, h, id).Detail
			a := d.Attempts[0]
			if d.StatusReason != c.statusReason || !strings.HasPrefix(a.Container.Reason, c.reasonPfx) || (a.Container.ExitCode != nil) != c.exitCode {
				t.Fatalf("statusReason %q, reason %q, exit code %v", d.StatusReason, a.Container.Reason, a.Container.ExitCode)
			}
		})
	}
}
