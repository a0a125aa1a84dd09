package batch

import (
	"context"
	"encoding/json"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	wire "github.com/barge-run/barge/internal/awstypes/batch"
	"github.com/barge-run/barge/internal/store"
)

// TestStopIntentAppliedAfterRestart: a CancelJob recorded (and so acknowledged) that the engine
// never applied — the server died in between — takes effect when the engine starts again, and
// the request is then forgotten.
func TestStopIntentAppliedAfterRestart(t *testing.T) {
	h := newPropHarnessWith(t, 2, func(string, int) (int, int) { return 0, -1 })
	ctx := context.Background()
	// Retried after the restart (its attempt is lost with the server), so the job waiting on it
	// still waits when the engine starts again.
	held, err := h.svc.SubmitJob(ctx, propAccount, &wire.SubmitJobRequest{JobName: "held", JobQueue: "default", JobDefinition: h.jobDef,
		RetryStrategy: &wire.RetryStrategy{Attempts: ptr(int32(3))}})
	if err != nil {
		t.Fatal(err)
	}
	waiting, err := h.svc.SubmitJob(ctx, propAccount, &wire.SubmitJobRequest{JobName: "waiting", JobQueue: "default", JobDefinition: h.jobDef,
		DependsOn: []wire.JobDependency{{JobId: held.JobId}}})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the dependent job to be PENDING", func() bool { return storedStatus(t, h, waiting.JobId) == string(statusPending) })
	if _, err := h.svc.recordIntent(ctx, propAccount, waiting.JobId, "no longer needed", false); err != nil {
		t.Fatal(err)
	}
	h.restart()
	waitFor(t, "the cancel to be applied", func() bool { return storedStatus(t, h, waiting.JobId) == string(statusFailed) })
	jobs, _ := h.db.JobGetMany(ctx, propAccount, []string{waiting.JobId})
	rec, err := decodeJob(jobs[0])
	if err != nil || !deref(rec.Detail.IsCancelled) || rec.Detail.StatusReason != "no longer needed" {
		t.Fatalf("the cancelled job: %+v %v", rec.Detail, err)
	}
	if rs, _ := h.db.ResourceList(ctx, &store.ResourceListParams{AllAccounts: true, Kind: KindJobIntent}); len(rs) != 0 {
		t.Fatalf("%d stop requests left after they were applied", len(rs))
	}
}

// TestEngineAdoptsSubmittedJobs: a job another server accepted (its row SUBMITTED, its engine
// not running) is taken up and run by the engine that holds the lease.
func TestEngineAdoptsSubmittedJobs(t *testing.T) {
	h := newPropHarnessWith(t, 3, func(string, int) (int, int) { return 0, 0 })
	ctx := context.Background()
	// Another server's service: it accepts API calls, but its engine never runs.
	front, err := New(Config{Store: h.db, Executor: newFakeExec(h.rec, 9, h.policy), Logs: h.ls, WorkDir: filepath.Join(h.dir, "front"),
		Holder: "front-server", Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	out, err := front.SubmitJob(ctx, propAccount, &wire.SubmitJobRequest{JobName: "elsewhere", JobQueue: "default", JobDefinition: h.jobDef})
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(intentGrace + 30*time.Second)
	for storedStatus(t, h, out.JobId) != string(statusSucceeded) {
		if time.Now().After(deadline) {
			t.Fatalf("the job accepted by another server is %s, never run", storedStatus(t, h, out.JobId))
		}
		time.Sleep(20 * time.Millisecond)
	}
	if n := len(h.rec.startsOf(out.JobId)); n != 1 {
		t.Fatalf("started %d times, want once", n)
	}
	var d jobRecord
	jobs, _ := h.db.JobGetMany(ctx, propAccount, []string{out.JobId})
	json.Unmarshal(jobs[0].Body, &d)
	if len(d.Detail.Attempts) != 1 {
		t.Fatalf("%d attempts", len(d.Detail.Attempts))
	}
}

// TestEngineReloadsConfigChangedElsewhere: a job queue disabled and enabled again through
// another server's API reaches the engine's scheduler (it polls the configuration version), so
// the engine stops placing the queue's jobs and then runs them.
func TestEngineReloadsConfigChangedElsewhere(t *testing.T) {
	h := newPropHarnessWith(t, 4, func(string, int) (int, int) { return 0, 0 })
	ctx := context.Background()
	front, err := New(Config{Store: h.db, Executor: newFakeExec(h.rec, 9, h.policy), Logs: h.ls, WorkDir: filepath.Join(h.dir, "front"),
		Holder: "front-server", Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	queueEnabled := func() bool {
		out := readOnLoop(h.svc.eng(), func() map[string]bool {
			return map[string]bool{"on": h.svc.eng().sched.QueueEnabled(h.svc.arn(propAccount, "job-queue", "default"))}
		})
		return out["on"]
	}
	setState := func(state wire.JQState) {
		t.Helper()
		if _, err := front.UpdateJobQueue(ctx, propAccount, &wire.UpdateJobQueueRequest{JobQueue: "default", State: state}); err != nil {
			t.Fatal(err)
		}
	}
	setState(wire.JQStateDisabled)
	waitFor(t, "the engine to see the queue disabled", func() bool { return !queueEnabled() })
	setState(wire.JQStateEnabled)
	waitFor(t, "the engine to see the queue enabled", queueEnabled)
	out, err := h.svc.SubmitJob(ctx, propAccount, &wire.SubmitJobRequest{JobName: "after", JobQueue: "default", JobDefinition: h.jobDef})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the job to run", func() bool { return storedStatus(t, h, out.JobId) == string(statusSucceeded) })
}

// TestFollowerWritesReachTheEngine: every call that acts on what the engine holds answers at once
// on a server whose engine does not run (another holds the lease) and takes effect on the
// engine that does: a job's tags, a cancel, a queue's snapshot and the deletion of a queue
// with jobs in it.
func TestFollowerWritesReachTheEngine(t *testing.T) {
	h := newPropHarnessWith(t, 5, func(string, int) (int, int) { return 0, -1 })
	ctx := context.Background()
	front, err := New(Config{Store: h.db, Executor: newFakeExec(h.rec, 9, h.policy), Logs: h.ls, WorkDir: filepath.Join(h.dir, "front"),
		Holder: "front-server", Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.svc.CreateJobQueue(ctx, propAccount, &wire.CreateJobQueueRequest{JobQueueName: "doomed", Priority: ptr(int32(1)),
		ComputeEnvironmentOrder: []wire.ComputeEnvironmentOrder{{Order: ptr(int32(1)), ComputeEnvironment: "default"}}}); err != nil {
		t.Fatal(err)
	}
	running := h.submitNamed("tagged", nil)
	doomed, err := h.svc.SubmitJob(ctx, propAccount, &wire.SubmitJobRequest{JobName: "in-doomed", JobQueue: "doomed", JobDefinition: h.jobDef})
	if err != nil {
		t.Fatal(err)
	}
	pending, err := h.svc.SubmitJob(ctx, propAccount, &wire.SubmitJobRequest{JobName: "pending", JobQueue: "default", JobDefinition: h.jobDef,
		DependsOn: []wire.JobDependency{{JobId: running}}})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "both jobs to run", func() bool {
		return storedStatus(t, h, running) == string(statusRunning) && storedStatus(t, h, doomed.JobId) == string(statusRunning)
	})
	arn := storedRecord(t, h, running).Detail.JobArn
	if _, err := front.TagResource(ctx, propAccount, &wire.TagResourceRequest{ResourceArn: arn, Tags: map[string]string{"team": "genomics", "tmp": "x"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := front.UntagResource(ctx, propAccount, &wire.UntagResourceRequest{ResourceArn: arn, TagKeys: []string{"tmp"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := front.CancelJob(ctx, propAccount, &wire.CancelJobRequest{JobId: pending.JobId, Reason: "from the follower"}); err != nil {
		t.Fatal(err)
	}
	if _, err := front.GetJobQueueSnapshot(ctx, propAccount, &wire.GetJobQueueSnapshotRequest{JobQueue: "default"}); err != nil {
		t.Fatal(err)
	}
	if _, err := front.UpdateJobQueue(ctx, propAccount, &wire.UpdateJobQueueRequest{JobQueue: "doomed", State: wire.JQStateDisabled}); err != nil {
		t.Fatal(err)
	}
	if _, err := front.DeleteJobQueue(ctx, propAccount, &wire.DeleteJobQueueRequest{JobQueue: "doomed"}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(intentGrace + 30*time.Second)
	for {
		tags := storedRecord(t, h, running).Detail.Tags
		done := len(tags) == 1 && tags["team"] == "genomics" &&
			storedStatus(t, h, pending.JobId) == string(statusFailed) && storedStatus(t, h, doomed.JobId) == string(statusFailed)
		if done {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("tags %v, cancelled job %s, job of the deleted queue %s", tags, storedStatus(t, h, pending.JobId), storedStatus(t, h, doomed.JobId))
		}
		time.Sleep(20 * time.Millisecond)
	}
	if d := storedRecord(t, h, doomed.JobId).Detail; d.StatusReason != "Job queue deleted" || !deref(d.IsTerminated) {
		t.Fatalf("the deleted queue's job: %q terminated=%v", d.StatusReason, deref(d.IsTerminated))
	}
	// The engine deletes intents once their effect is durable, just after that commit: wait for it.
	for {
		rs, _ := h.db.ResourceList(ctx, &store.ResourceListParams{AllAccounts: true, Kind: KindJobIntent})
		if len(rs) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d intents left after they were applied", len(rs))
		}
		time.Sleep(20 * time.Millisecond)
	}
}
