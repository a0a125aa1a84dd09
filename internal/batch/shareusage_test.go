package batch

import (
	"context"
	"testing"

	wire "github.com/barge-run/barge/internal/awstypes/batch"
)

// TestShareUsageSurvivesRestart: a fair-share queue's usage is saved when the service stops and
// restored when a new one starts on the same store.
func TestShareUsageSurvivesRestart(t *testing.T) {
	h := newPropHarnessWith(t, 0, func(string, int) (int, int) { return 0, 0 }) // every attempt succeeds at once
	ctx := context.Background()
	pol, err := h.svc.CreateSchedulingPolicy(ctx, propAccount, &wire.CreateSchedulingPolicyRequest{Name: "fair",
		FairsharePolicy: &wire.FairsharePolicy{ShareDecaySeconds: ptr(int32(3600))}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.svc.CreateJobQueue(ctx, propAccount, &wire.CreateJobQueueRequest{JobQueueName: "fair", Priority: ptr(int32(1)),
		SchedulingPolicyArn: pol.Arn, ComputeEnvironmentOrder: []wire.ComputeEnvironmentOrder{{Order: ptr(int32(1)), ComputeEnvironment: "default"}}}); err != nil {
		t.Fatal(err)
	}
	out, err := h.svc.SubmitJob(ctx, propAccount, &wire.SubmitJobRequest{JobName: "j", JobQueue: "fair", JobDefinition: h.jobDef, ShareIdentifier: "team-a"})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the job to finish", func() bool { return terminal(h.statusOfJob(out.JobId)) })

	h.restart()
	restored := make(chan int, 1)
	h.svc.eng().do(func() {
		n := 0
		for _, u := range h.svc.eng().sched.ShareUsages() {
			if u.Share == "team-a" && u.VCPUSeconds > 0 {
				n++
			}
		}
		restored <- n
	})
	if n := <-restored; n != 1 {
		t.Fatalf("after a restart the share team-a has no usage: %+v", n)
	}
}
