package e2e_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/batch"
	"github.com/aws/aws-sdk-go-v2/service/batch/types"

	"github.com/barge-run/barge/internal/bargetest"
)

// TestCrashLosesNothing kills barge with SIGKILL while jobs run and wait, restarts it on the
// same data directory, and checks that every accepted job reaches exactly one terminal state:
// running attempts are recorded as lost (and retried when allowed), queued jobs still run, and
// definitions and queues survive.
func TestCrashLosesNothing(t *testing.T) {
	t.Parallel()
	b := bargetest.Start(t)
	c, ctx := b.Batch(), context.Background()
	register(t, c, "sleeper", &types.ContainerProperties{Command: []string{"sleep", "60"}})
	register(t, c, "quick", &types.ContainerProperties{Command: []string{"sh", "-c", "echo ran attempt $AWS_BATCH_JOB_ATTEMPT"}})

	noRetry := submit(t, c, &batch.SubmitJobInput{JobName: aws.String("no-retry"), JobDefinition: aws.String("sleeper")})
	// The retried job must not sleep again after the restart, so its command depends on the attempt.
	retried := submit(t, c, &batch.SubmitJobInput{JobName: aws.String("retried"), JobDefinition: aws.String("sleeper"),
		ContainerOverrides: &types.ContainerOverrides{Command: []string{"sh", "-c", `[ "$AWS_BATCH_JOB_ATTEMPT" -ge 2 ] || exec sleep 60`}},
		RetryStrategy:      &types.RetryStrategy{Attempts: aws.Int32(2)}})
	bargetest.WaitJob(t, c, noRetry, jobWait, func(s string) bool { return s == "RUNNING" })
	bargetest.WaitJob(t, c, retried, jobWait, func(s string) bool { return s == "RUNNING" })
	// The default compute environment has as many vCPUs as the host has cores; with both
	// sleepers holding cores, more jobs queue behind them (on a bigger host some may run).
	var queued []string
	for i := 0; i < 20; i++ {
		queued = append(queued, submit(t, c, &batch.SubmitJobInput{JobName: aws.String(fmt.Sprint("q", i)), JobDefinition: aws.String("quick")}))
	}

	b.Kill()
	b.Restart()
	c = b.Batch()

	nr := bargetest.WaitJob(t, c, noRetry, jobWait, terminal)
	if nr.Status != types.JobStatusFailed || len(nr.Attempts) != 1 ||
		aws.ToString(nr.StatusReason) != "Host EC2 (instance local) terminated." ||
		aws.ToString(nr.Attempts[0].Container.Reason) != "Host terminated: the barge server stopped while the attempt was running" {
		t.Fatalf("running job without retries: %s %q attempts=%d", nr.Status, aws.ToString(nr.StatusReason), len(nr.Attempts))
	}
	r := bargetest.WaitJob(t, c, retried, jobWait, terminal)
	if r.Status != types.JobStatusSucceeded || len(r.Attempts) != 2 {
		t.Fatalf("running job with retries: %s attempts=%d", r.Status, len(r.Attempts))
	}
	for _, id := range queued {
		if j := bargetest.WaitJob(t, c, id, jobWait, terminal); j.Status != types.JobStatusSucceeded {
			t.Fatalf("queued job %s: %s %q", id, j.Status, aws.ToString(j.StatusReason))
		}
	}
	defs, err := c.DescribeJobDefinitions(ctx, &batch.DescribeJobDefinitionsInput{})
	if err != nil || len(defs.JobDefinitions) != 2 {
		t.Fatalf("definitions after restart: %+v %v", defs, err)
	}
	// Every job is listed once, in a terminal state.
	all, err := c.ListJobs(ctx, &batch.ListJobsInput{JobQueue: aws.String("default"), MaxResults: aws.Int32(1000),
		Filters: []types.KeyValuesPair{{Name: aws.String("AFTER_CREATED_AT"), Values: []string{"0"}}}})
	if err != nil || len(all.JobSummaryList) != 22 {
		t.Fatalf("jobs after restart: %d %v", len(all.JobSummaryList), err)
	}
	for _, s := range all.JobSummaryList {
		if !terminal(string(s.Status)) {
			t.Fatalf("job %s left %s", aws.ToString(s.JobId), s.Status)
		}
	}
}

// TestCrashDuringSubmitBurst kills barge while a burst of submissions is in flight: every
// submission that was acknowledged must exist after the restart and finish.
func TestCrashDuringSubmitBurst(t *testing.T) {
	t.Parallel()
	b := bargetest.Start(t)
	c, ctx := b.Batch(), context.Background()
	register(t, c, "quick", &types.ContainerProperties{Command: []string{"true"}})
	acked := make(chan string, 1000)
	done := make(chan struct{})
	for w := 0; w < 8; w++ {
		go func() {
			for i := 0; ; i++ {
				out, err := c.SubmitJob(ctx, &batch.SubmitJobInput{JobName: aws.String("burst"), JobQueue: aws.String("default"), JobDefinition: aws.String("quick")})
				if err != nil {
					done <- struct{}{}
					return
				}
				acked <- aws.ToString(out.JobId)
			}
		}()
	}
	// Kill once a good number of submissions were acknowledged.
	var ids []string
	for len(ids) < 200 {
		ids = append(ids, <-acked)
	}
	b.Kill()
	for w := 0; w < 8; w++ {
		<-done
	}
	close(acked)
	for id := range acked {
		ids = append(ids, id)
	}
	b.Restart()
	c = b.Batch()
	for _, id := range ids {
		out, err := c.DescribeJobs(ctx, &batch.DescribeJobsInput{Jobs: []string{id}})
		if err != nil || len(out.Jobs) != 1 {
			t.Fatalf("acknowledged job %s lost after crash: %v", id, err)
		}
	}
	for _, id := range ids {
		bargetest.WaitJob(t, c, id, 2*jobWait, terminal)
	}
}

// TestCrashWithArraysAndDependencies kills barge while array children run and dependent jobs
// wait; after the restart every array finishes with a consistent status summary, sequential
// order holds, and dependents run once their dependencies succeed.
func TestCrashWithArraysAndDependencies(t *testing.T) {
	t.Parallel()
	b := bargetest.Start(t)
	c := b.Batch()
	register(t, c, "nap", &types.ContainerProperties{Command: []string{"sleep", "0.3"}}, func(in *batch.RegisterJobDefinitionInput) {
		in.RetryStrategy = &types.RetryStrategy{Attempts: aws.Int32(3)}
	})
	plain := submit(t, c, &batch.SubmitJobInput{JobName: aws.String("plain"), JobDefinition: aws.String("nap"), ArrayProperties: &types.ArrayProperties{Size: aws.Int32(6)}})
	seq := submit(t, c, &batch.SubmitJobInput{JobName: aws.String("seq"), JobDefinition: aws.String("nap"), ArrayProperties: &types.ArrayProperties{Size: aws.Int32(4)},
		DependsOn: []types.JobDependency{{Type: types.ArrayJobDependencySequential}}})
	nton := submit(t, c, &batch.SubmitJobInput{JobName: aws.String("nton"), JobDefinition: aws.String("nap"), ArrayProperties: &types.ArrayProperties{Size: aws.Int32(6)},
		DependsOn: []types.JobDependency{{JobId: aws.String(plain), Type: types.ArrayJobDependencyNToN}}})
	after := submit(t, c, &batch.SubmitJobInput{JobName: aws.String("after"), JobDefinition: aws.String("nap"),
		DependsOn: []types.JobDependency{{JobId: aws.String(plain)}, {JobId: aws.String(seq)}}})
	// Crash once some children are running.
	bargetest.WaitJob(t, c, plain+":0", jobWait, func(s string) bool { return s == "RUNNING" || terminal(s) })
	b.Kill()
	b.Restart()
	c = b.Batch()
	for _, id := range []string{plain, seq, nton, after} {
		j := bargetest.WaitJob(t, c, id, 2*jobWait, terminal)
		if j.Status != types.JobStatusSucceeded {
			t.Fatalf("%s %s: %s %q", aws.ToString(j.JobName), id, j.Status, aws.ToString(j.StatusReason))
		}
		if j.ArrayProperties != nil {
			sum := int32(0)
			for _, n := range j.ArrayProperties.StatusSummary {
				sum += n
			}
			if sum != aws.ToInt32(j.ArrayProperties.Size) || j.ArrayProperties.StatusSummary["SUCCEEDED"] != sum {
				t.Fatalf("%s summary %v", id, j.ArrayProperties.StatusSummary)
			}
		}
	}
	kids := describe(t, c, seq+":0", seq+":1", seq+":2", seq+":3")
	for i := 1; i < 4; i++ {
		if aws.ToInt64(kids[i].StartedAt) < aws.ToInt64(kids[i-1].StoppedAt) {
			t.Fatalf("sequential child %d started before %d stopped", i, i-1)
		}
	}
	a := describe(t, c, after)[0]
	for _, k := range append(describe(t, c, plain+":5"), kids[3]) {
		if aws.ToInt64(a.StartedAt) < aws.ToInt64(k.StoppedAt) {
			t.Fatalf("dependent started before %s stopped", aws.ToString(k.JobId))
		}
	}
}

// TestDataDirLock: a second server on a data directory in use exits at once, naming the
// directory and the first server's pid, and the first server's running job is unharmed.
func TestDataDirLock(t *testing.T) {
	t.Parallel()
	b := bargetest.Start(t)
	c := b.Batch()
	register(t, c, "steady", &types.ContainerProperties{Command: []string{"sh", "-c", "echo started; sleep 2; echo finished"}})
	id := submit(t, c, &batch.SubmitJobInput{JobName: aws.String("steady"), JobDefinition: aws.String("steady")})
	bargetest.WaitJob(t, c, id, jobWait, func(s string) bool { return s == "RUNNING" })

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	second := exec.CommandContext(ctx, bargetest.Binary(t), "server", "--addr", "127.0.0.1:0", "--data-dir", b.DataDir)
	out, err := second.CombinedOutput()
	if err == nil || ctx.Err() != nil {
		t.Fatalf("the second server did not refuse the data directory (err %v):\n%s", err, out)
	}
	holder, _ := os.ReadFile(filepath.Join(b.DataDir, "lock"))
	want := "data directory " + b.DataDir + " is in use by barge pid " + strings.TrimSpace(string(holder))
	if !strings.Contains(string(out), want) {
		t.Fatalf("the refusal does not say %q:\n%s", want, out)
	}
	if j := bargetest.WaitJob(t, c, id, jobWait, terminal); j.Status != types.JobStatusSucceeded {
		t.Fatalf("the first server's job: %s %q", j.Status, aws.ToString(j.StatusReason))
	}
}
