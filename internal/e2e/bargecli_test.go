package e2e_test

import (
	"context"
	"encoding/json"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/batch"
	"github.com/aws/aws-sdk-go-v2/service/batch/types"

	"github.com/barge-run/barge/internal/bargetest"
	"github.com/barge-run/barge/internal/exec/sandbox"
)

// bargeCLI runs barge's own client commands against one server.
type bargeCLI struct {
	t   *testing.T
	ctx context.Context
	bin string
	env []string
}

func (c bargeCLI) run(args ...string) cmdResult {
	c.t.Helper()
	return runCmd(c.t, c.ctx, c.env, c.bin, args...)
}

func (c bargeCLI) ok(args ...string) cmdResult {
	c.t.Helper()
	res := c.run(args...)
	if res.code != 0 {
		c.t.Fatalf("barge command failed:\n%s", res)
	}
	return res
}

var jobIDRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

// submit runs `barge submit` and returns the job id it prints.
func (c bargeCLI) submit(args ...string) string {
	c.t.Helper()
	res := c.ok(append([]string{"submit"}, args...)...)
	id := strings.TrimSpace(res.stdout)
	if !jobIDRE.MatchString(id) {
		c.t.Fatalf("barge submit printed %q, want a job id\n%s", id, res)
	}
	return id
}

// bargeJob is what the tests read from `barge describe`, which prints the DescribeJobs response
// in AWS's wire shape ({"jobs": [...]}, camelCase), as `aws batch describe-jobs` does.
type bargeJob struct {
	JobId        string `json:"jobId"`
	Status       string `json:"status"`
	StatusReason string `json:"statusReason"`
	Container    *struct {
		ExitCode *int `json:"exitCode"`
	} `json:"container"`
}

func (c bargeCLI) describe(id string) bargeJob {
	c.t.Helper()
	res := c.ok("describe", id)
	var out struct {
		Jobs []bargeJob `json:"jobs"`
	}
	if err := json.Unmarshal([]byte(res.stdout), &out); err != nil {
		c.t.Fatalf("barge describe did not print the DescribeJobs response: %v\n%s", err, res)
	}
	jobs := out.Jobs
	if len(jobs) != 1 || jobs[0].JobId != id {
		c.t.Fatalf("barge describe %s printed %d jobs (%+v)\n%s", id, len(jobs), jobs, res)
	}
	return jobs[0]
}

// wait polls `barge describe` until the job's status satisfies done.
func (c bargeCLI) wait(id string, timeout time.Duration, done func(string) bool) bargeJob {
	c.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		j := c.describe(id)
		if done(j.Status) {
			return j
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("job %s: status %s after %v", id, j.Status, timeout)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestCLIBarge(t *testing.T) {
	t.Parallel()
	b := bargetest.Start(t)
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	c := bargeCLI{t, ctx, bargetest.Binary(t), b.Env()}

	// submit, logs -f, jobs, describe.
	id := c.submit("--", "sh", "-c", "echo one; echo two")
	logs := c.ok("logs", "-f", id)
	if logs.stdout != "one\ntwo\n" {
		t.Errorf("barge logs -f printed %q, want %q\n%s", logs.stdout, "one\ntwo\n", logs)
	}
	// logs -f returns once the job is finished, so no polling is needed here.
	if j := c.describe(id); j.Status != "SUCCEEDED" || j.Container == nil || j.Container.ExitCode == nil || *j.Container.ExitCode != 0 {
		t.Errorf("after barge logs -f returned, job is %+v; want SUCCEEDED with exit code 0", j)
	}
	jobs := c.ok("jobs")
	lines := strings.Split(strings.TrimRight(jobs.stdout, "\n"), "\n")
	if !strings.Contains(lines[0], "JOB ID") || !strings.Contains(lines[0], "STATUS") {
		t.Errorf("barge jobs header %q lacks JOB ID and STATUS\n%s", lines[0], jobs)
	}
	if !slices.ContainsFunc(lines[1:], func(l string) bool {
		f := strings.Fields(l)
		return len(f) > 2 && f[0] == id && slices.Contains(f, "SUCCEEDED")
	}) {
		t.Errorf("barge jobs has no row for %s with SUCCEEDED\n%s", id, jobs)
	}
	if rows := c.ok("jobs", "--status", "RUNNING"); strings.Contains(rows.stdout, id) {
		t.Errorf("barge jobs --status RUNNING lists the finished job %s\n%s", id, rows)
	}

	// doctor says what the host offers and what barge enforces (or, honestly, that it enforces nothing).
	if doc := c.ok("doctor"); !strings.Contains(doc.stdout, "cgroups:") || !strings.Contains(doc.stdout, "sandbox:") ||
		(sandbox.Probe() == nil) != strings.Contains(doc.stdout, "enforced      user namespace") {
		t.Errorf("barge doctor:\n%s", doc)
	}

	// watch an array to the end: the last line is the full bar.
	arrOut, err := b.Batch().SubmitJob(context.Background(), &batch.SubmitJobInput{JobName: aws.String("arr"), JobQueue: aws.String("default"),
		JobDefinition: aws.String("barge-adhoc"), ArrayProperties: &types.ArrayProperties{Size: aws.Int32(4)}})
	if err != nil {
		t.Fatal(err)
	}
	watch := c.ok("jobs", "watch", "--interval", "50ms", aws.ToString(arrOut.JobId))
	wl := strings.Split(strings.TrimSpace(watch.stdout), "\n")
	if last := wl[len(wl)-1]; !strings.Contains(last, "100% 4/4") || !strings.Contains(last, "SUCCEEDED=4") {
		t.Errorf("barge jobs watch ended with %q\n%s", last, watch)
	}

	// terminate a running job.
	sleeper := c.submit("--", "sleep", "30")
	c.wait(sleeper, 15*time.Second, func(s string) bool { return s == "RUNNING" || bargetest.Terminal(s) })
	term := c.ok("terminate", sleeper, "--reason", "x")
	if !strings.Contains(term.stdout, sleeper) {
		t.Errorf("barge terminate printed %q, want the job id", term.stdout)
	}
	j := c.wait(sleeper, 15*time.Second, bargetest.Terminal)
	if j.Status != "FAILED" || j.StatusReason != "x" {
		t.Errorf("terminated job: status %s, reason %q; want FAILED, x", j.Status, j.StatusReason)
	}
	if j.Container == nil || j.Container.ExitCode == nil || *j.Container.ExitCode != 143 {
		t.Errorf("terminated job: container %+v, want exit code 143 (SIGTERM)", j.Container)
	}

	// cancel a job that cannot start: its queue's only compute environment is DISABLED.
	sdk := b.Batch()
	_, err = sdk.CreateComputeEnvironment(ctx, &batch.CreateComputeEnvironmentInput{
		ComputeEnvironmentName: aws.String("parked"),
		Type:                   types.CETypeManaged,
		State:                  types.CEStateDisabled,
		ComputeResources: &types.ComputeResource{
			Type:         types.CRTypeEc2,
			MinvCpus:     aws.Int32(0),
			MaxvCpus:     aws.Int32(4),
			Subnets:      []string{"subnet-0e2e"},
			InstanceRole: aws.String("ecsInstanceRole"),
		},
	})
	if err != nil {
		t.Fatalf("CreateComputeEnvironment: %v", err)
	}
	_, err = sdk.CreateJobQueue(ctx, &batch.CreateJobQueueInput{
		JobQueueName: aws.String("parked"),
		Priority:     aws.Int32(1),
		ComputeEnvironmentOrder: []types.ComputeEnvironmentOrder{
			{Order: aws.Int32(1), ComputeEnvironment: aws.String("parked")},
		},
	})
	if err != nil {
		t.Fatalf("CreateJobQueue: %v", err)
	}
	parked := c.submit("--queue", "parked", "--", "true")
	c.wait(parked, 15*time.Second, func(s string) bool { return s == "RUNNABLE" || bargetest.Terminal(s) })
	c.ok("cancel", parked)
	j = c.wait(parked, 15*time.Second, bargetest.Terminal)
	if j.Status != "FAILED" || j.StatusReason != "Cancelled by user via barge" {
		t.Errorf("cancelled job: status %s, reason %q; want FAILED, Cancelled by user via barge", j.Status, j.StatusReason)
	}

	// env prints the exports a shell needs, from the data directory alone.
	env := c.ok("env", "--data-dir", b.DataDir, "--addr", b.Addr)
	for _, want := range []string{
		"export AWS_ENDPOINT_URL=" + b.Endpoint,
		"export AWS_ACCESS_KEY_ID=" + b.Cred.AccessKeyID,
		"export AWS_SECRET_ACCESS_KEY=" + b.Cred.SecretAccessKey,
		"export AWS_REGION=" + b.Region,
	} {
		if !slices.Contains(strings.Split(env.stdout, "\n"), want) {
			t.Errorf("barge env lacks the line %q\n%s", want, env)
		}
	}

	// usage errors exit 2.
	res := c.run("frobnicate")
	if res.code != 2 || !strings.Contains(res.stderr, "unknown command") {
		t.Errorf("barge frobnicate: want exit 2 and \"unknown command\" on stderr\n%s", res)
	}
}
