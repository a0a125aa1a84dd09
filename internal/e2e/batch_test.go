package e2e_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/batch"
	"github.com/aws/aws-sdk-go-v2/service/batch/types"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	cwltypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/barge-run/barge/internal/account"
	"github.com/barge-run/barge/internal/bargetest"
)

const jobWait = 30 * time.Second

func reqs(vcpu, mem string) []types.ResourceRequirement {
	return []types.ResourceRequirement{
		{Type: types.ResourceTypeVcpu, Value: aws.String(vcpu)},
		{Type: types.ResourceTypeMemory, Value: aws.String(mem)},
	}
}

func register(t *testing.T, c *batch.Client, name string, cp *types.ContainerProperties, mod ...func(*batch.RegisterJobDefinitionInput)) *batch.RegisterJobDefinitionOutput {
	t.Helper()
	if cp.ResourceRequirements == nil {
		cp.ResourceRequirements = reqs("1", "64")
	}
	in := &batch.RegisterJobDefinitionInput{JobDefinitionName: aws.String(name), Type: types.JobDefinitionTypeContainer, ContainerProperties: cp}
	for _, m := range mod {
		m(in)
	}
	out, err := c.RegisterJobDefinition(context.Background(), in)
	if err != nil {
		t.Fatalf("register %s: %v", name, err)
	}
	return out
}

func submit(t *testing.T, c *batch.Client, in *batch.SubmitJobInput) string {
	t.Helper()
	if in.JobQueue == nil {
		in.JobQueue = aws.String("default")
	}
	out, err := c.SubmitJob(context.Background(), in)
	if err != nil {
		t.Fatalf("submit %s: %v", aws.ToString(in.JobName), err)
	}
	return aws.ToString(out.JobId)
}

func terminal(s string) bool { return bargetest.Terminal(s) }

func logLines(t *testing.T, c *cloudwatchlogs.Client, stream string) []string {
	t.Helper()
	lines, err := logLinesSoFar(c, stream)
	if err != nil {
		t.Fatalf("get log events %s: %v", stream, err)
	}
	return lines
}

// firstLogLine waits for a running job's first line of output (at most jobWait).
func firstLogLine(t *testing.T, c *cloudwatchlogs.Client, stream string) string {
	t.Helper()
	for deadline := time.Now().Add(jobWait); ; time.Sleep(20 * time.Millisecond) {
		ls, err := logLinesSoFar(c, stream)
		if err != nil {
			t.Fatal(err)
		}
		if len(ls) > 0 {
			return ls[0]
		}
		if time.Now().After(deadline) {
			t.Fatalf("log stream %s: no output within %v", stream, jobWait)
		}
	}
}

// logLinesSoFar is logLines for a job that may not have started yet: as in CloudWatch, its stream
// exists from the attempt's start, so before that a missing stream is no lines (not an error).
func logLinesSoFar(c *cloudwatchlogs.Client, stream string) ([]string, error) {
	in := &cloudwatchlogs.GetLogEventsInput{LogGroupName: aws.String("/aws/batch/job"), LogStreamName: aws.String(stream), StartFromHead: aws.Bool(true)}
	var lines []string
	for {
		out, err := c.GetLogEvents(context.Background(), in)
		var missing *cwltypes.ResourceNotFoundException
		if errors.As(err, &missing) {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		for _, e := range out.Events {
			lines = append(lines, aws.ToString(e.Message))
		}
		// As in CloudWatch, the end is a page that hands back the token it was given.
		if len(out.Events) == 0 || aws.ToString(out.NextForwardToken) == aws.ToString(in.NextToken) {
			return lines, nil
		}
		in.NextToken = out.NextForwardToken
	}
}

// apiErr asserts err is an AWS API error with this code, HTTP status and a message containing want.
func apiErr(t *testing.T, err error, code string, status int, want string) {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("want %s error, got %v", code, err)
	}
	if ae.ErrorCode() != code || !strings.Contains(ae.ErrorMessage(), want) {
		t.Fatalf("want %s containing %q, got %s: %s", code, want, ae.ErrorCode(), ae.ErrorMessage())
	}
	var re *smithyhttp.ResponseError
	if errors.As(err, &re) && re.HTTPStatusCode() != status {
		t.Fatalf("want HTTP %d, got %d", status, re.HTTPStatusCode())
	}
}

func TestBatchLifecycle(t *testing.T) {
	t.Parallel()
	b := bargetest.Start(t)
	c, lc, ctx := b.Batch(), b.Logs(), context.Background()

	// The default compute environment and queue exist on a fresh server.
	ces, err := c.DescribeComputeEnvironments(ctx, &batch.DescribeComputeEnvironmentsInput{})
	if err != nil || len(ces.ComputeEnvironments) != 1 || aws.ToString(ces.ComputeEnvironments[0].ComputeEnvironmentName) != "default" {
		t.Fatalf("default compute environment: %+v %v", ces, err)
	}
	qs, err := c.DescribeJobQueues(ctx, &batch.DescribeJobQueuesInput{JobQueues: []string{"default"}})
	if err != nil || len(qs.JobQueues) != 1 || qs.JobQueues[0].State != types.JQStateEnabled {
		t.Fatalf("default job queue: %+v %v", qs, err)
	}

	def := register(t, c, "hello", &types.ContainerProperties{
		Command:     []string{"sh", "-c", `echo "id=$AWS_BATCH_JOB_ID q=$AWS_BATCH_JQ_NAME ce=$AWS_BATCH_CE_NAME attempt=$AWS_BATCH_JOB_ATTEMPT greeting=$GREETING"; echo "Ref::word" >&2`},
		Environment: []types.KeyValuePair{{Name: aws.String("GREETING"), Value: aws.String("from-definition")}},
	}, func(in *batch.RegisterJobDefinitionInput) { in.Parameters = map[string]string{"word": "default-word"} })
	if aws.ToInt32(def.Revision) != 1 || aws.ToString(def.JobDefinitionArn) != "arn:aws:batch:us-east-1:000000000000:job-definition/hello:1" {
		t.Fatalf("register: %+v", def)
	}
	id := submit(t, c, &batch.SubmitJobInput{
		JobName: aws.String("hi"), JobDefinition: aws.String("hello"),
		Parameters:         map[string]string{"word": "submitted-word"},
		ContainerOverrides: &types.ContainerOverrides{Environment: []types.KeyValuePair{{Name: aws.String("GREETING"), Value: aws.String("overridden")}}},
		Tags:               map[string]string{"team": "a"},
	})
	j := bargetest.WaitJob(t, c, id, jobWait, terminal)
	if j.Status != types.JobStatusSucceeded {
		t.Fatalf("status %s: %s", j.Status, aws.ToString(j.StatusReason))
	}
	checks := map[string]bool{
		"jobArn":            aws.ToString(j.JobArn) == "arn:aws:batch:us-east-1:000000000000:job/"+id,
		"jobQueue":          aws.ToString(j.JobQueue) == "arn:aws:batch:us-east-1:000000000000:job-queue/default",
		"jobDefinition":     aws.ToString(j.JobDefinition) == aws.ToString(def.JobDefinitionArn),
		"statusReason":      aws.ToString(j.StatusReason) == "Essential container in task exited",
		"exitCode":          j.Container != nil && aws.ToInt32(j.Container.ExitCode) == 0 && j.Container.ExitCode != nil,
		"attempts":          len(j.Attempts) == 1 && aws.ToInt32(j.Attempts[0].Container.ExitCode) == 0,
		"times":             aws.ToInt64(j.CreatedAt) > 0 && aws.ToInt64(j.StartedAt) >= aws.ToInt64(j.CreatedAt) && aws.ToInt64(j.StoppedAt) >= aws.ToInt64(j.StartedAt),
		"logStreamName":     strings.HasPrefix(aws.ToString(j.Container.LogStreamName), "hello/default/"),
		"attempt log":       aws.ToString(j.Attempts[0].Container.LogStreamName) == aws.ToString(j.Container.LogStreamName),
		"tags":              j.Tags["team"] == "a",
		"parameters merged": j.Parameters["word"] == "submitted-word",
	}
	for name, ok := range checks {
		if !ok {
			t.Errorf("job detail %s wrong: %+v", name, j)
		}
	}
	lines := logLines(t, lc, aws.ToString(j.Container.LogStreamName))
	want := []string{fmt.Sprintf("id=%s q=default ce=default attempt=1 greeting=overridden", id), "submitted-word"}
	// stdout and stderr are separate pipes, so their relative order is not defined (as in AWS).
	slices.Sort(lines)
	slices.Sort(want)
	if !slices.Equal(lines, want) {
		t.Fatalf("log lines %q, want %q", lines, want)
	}

	// A failing job keeps its exit code.
	failID := submit(t, c, &batch.SubmitJobInput{JobName: aws.String("fails"), JobDefinition: aws.String("hello:1"),
		ContainerOverrides: &types.ContainerOverrides{Command: []string{"sh", "-c", "exit 3"}}})
	fj := bargetest.WaitJob(t, c, failID, jobWait, terminal)
	if fj.Status != types.JobStatusFailed || aws.ToInt32(fj.Container.ExitCode) != 3 || aws.ToString(fj.StatusReason) != "Essential container in task exited" {
		t.Fatalf("failing job: %s exit %v reason %q", fj.Status, fj.Container.ExitCode, aws.ToString(fj.StatusReason))
	}

	// ListJobs by status, by name filter, and paging.
	list, err := c.ListJobs(ctx, &batch.ListJobsInput{JobQueue: aws.String("default"), JobStatus: types.JobStatusSucceeded})
	if err != nil || len(list.JobSummaryList) != 1 || aws.ToString(list.JobSummaryList[0].JobId) != id {
		t.Fatalf("list succeeded: %+v %v", list, err)
	}
	list, err = c.ListJobs(ctx, &batch.ListJobsInput{JobQueue: aws.String("default"), Filters: []types.KeyValuesPair{{Name: aws.String("JOB_NAME"), Values: []string{"FAIL*"}}}})
	if err != nil || len(list.JobSummaryList) != 1 || aws.ToString(list.JobSummaryList[0].JobId) != failID || aws.ToInt32(list.JobSummaryList[0].Container.ExitCode) != 3 {
		t.Fatalf("list by name prefix: %+v %v", list, err)
	}
	var paged []string
	p := batch.NewListJobsPaginator(c, &batch.ListJobsInput{JobQueue: aws.String("default"), MaxResults: aws.Int32(1),
		Filters: []types.KeyValuesPair{{Name: aws.String("AFTER_CREATED_AT"), Values: []string{"0"}}}})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range page.JobSummaryList {
			paged = append(paged, aws.ToString(s.JobId))
		}
	}
	if !slices.Equal(paged, []string{id, failID}) {
		t.Fatalf("paged list %v", paged)
	}

	// Revisions, filters and deregistration.
	register(t, c, "hello", &types.ContainerProperties{Command: []string{"true"}})
	defs, err := c.DescribeJobDefinitions(ctx, &batch.DescribeJobDefinitionsInput{JobDefinitionName: aws.String("hello")})
	if err != nil || len(defs.JobDefinitions) != 2 || aws.ToInt32(defs.JobDefinitions[1].Revision) != 2 {
		t.Fatalf("describe definitions: %+v %v", defs, err)
	}
	if _, err := c.DeregisterJobDefinition(ctx, &batch.DeregisterJobDefinitionInput{JobDefinition: aws.String("hello:2")}); err != nil {
		t.Fatal(err)
	}
	defs, _ = c.DescribeJobDefinitions(ctx, &batch.DescribeJobDefinitionsInput{JobDefinitions: []string{"hello:2"}})
	if len(defs.JobDefinitions) != 1 || aws.ToString(defs.JobDefinitions[0].Status) != "INACTIVE" {
		t.Fatalf("deregistered revision: %+v", defs)
	}
	// Submitting by name now picks the latest ACTIVE revision, 1.
	id3 := submit(t, c, &batch.SubmitJobInput{JobName: aws.String("latest"), JobDefinition: aws.String("hello")})
	if j := bargetest.WaitJob(t, c, id3, jobWait, terminal); !strings.HasSuffix(aws.ToString(j.JobDefinition), ":1") {
		t.Fatalf("latest active revision: %s", aws.ToString(j.JobDefinition))
	}

	// Tags on a job and on a job definition.
	jobArn := aws.ToString(j.JobArn)
	if _, err := c.TagResource(ctx, &batch.TagResourceInput{ResourceArn: aws.String(jobArn), Tags: map[string]string{"k": "v"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.UntagResource(ctx, &batch.UntagResourceInput{ResourceArn: aws.String(jobArn), TagKeys: []string{"team"}}); err != nil {
		t.Fatal(err)
	}
	tags, err := c.ListTagsForResource(ctx, &batch.ListTagsForResourceInput{ResourceArn: aws.String(jobArn)})
	if err != nil || len(tags.Tags) != 1 || tags.Tags["k"] != "v" {
		t.Fatalf("job tags: %+v %v", tags, err)
	}
	if _, err := c.TagResource(ctx, &batch.TagResourceInput{ResourceArn: def.JobDefinitionArn, Tags: map[string]string{"owner": "me"}}); err != nil {
		t.Fatal(err)
	}
	tags, _ = c.ListTagsForResource(ctx, &batch.ListTagsForResourceInput{ResourceArn: def.JobDefinitionArn})
	if tags.Tags["owner"] != "me" {
		t.Fatalf("definition tags: %+v", tags)
	}
}

func TestComputeEnvironmentsAndQueues(t *testing.T) {
	t.Parallel()
	b := bargetest.Start(t)
	c, ctx := b.Batch(), context.Background()
	ce, err := c.CreateComputeEnvironment(ctx, &batch.CreateComputeEnvironmentInput{
		ComputeEnvironmentName: aws.String("small"), Type: types.CETypeManaged,
		ComputeResources: &types.ComputeResource{Type: types.CRTypeEc2, MaxvCpus: aws.Int32(1), Subnets: []string{"s"}, SecurityGroupIds: []string{"g"}, InstanceRole: aws.String("r")},
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateJobQueue(ctx, &batch.CreateJobQueueInput{JobQueueName: aws.String("small"), Priority: aws.Int32(5),
		ComputeEnvironmentOrder: []types.ComputeEnvironmentOrder{{Order: aws.Int32(1), ComputeEnvironment: ce.ComputeEnvironmentArn}}}); err != nil {
		t.Fatal(err)
	}
	_, err = c.CreateJobQueue(ctx, &batch.CreateJobQueueInput{JobQueueName: aws.String("small"), Priority: aws.Int32(5),
		ComputeEnvironmentOrder: []types.ComputeEnvironmentOrder{{Order: aws.Int32(1), ComputeEnvironment: aws.String("small")}}})
	apiErr(t, err, "ClientException", 400, "already exists")

	// Capacity: one vCPU, so three 1-vCPU jobs run one at a time.
	register(t, c, "nap", &types.ContainerProperties{Command: []string{"sleep", "0.3"}})
	var ids []string
	for i := 0; i < 3; i++ {
		ids = append(ids, submit(t, c, &batch.SubmitJobInput{JobName: aws.String(fmt.Sprint("nap", i)), JobQueue: aws.String("small"), JobDefinition: aws.String("nap")}))
	}
	maxRunning := 0
	for done := 0; done < 3; {
		out, err := c.DescribeJobs(ctx, &batch.DescribeJobsInput{Jobs: ids})
		if err != nil {
			t.Fatal(err)
		}
		running, finished := 0, 0
		for _, j := range out.Jobs {
			switch j.Status {
			case types.JobStatusRunning, types.JobStatusStarting:
				running++
			case types.JobStatusSucceeded:
				finished++
			case types.JobStatusFailed:
				t.Fatalf("job failed: %s", aws.ToString(j.StatusReason))
			}
		}
		maxRunning = max(maxRunning, running)
		done = finished
		time.Sleep(10 * time.Millisecond) // poll interval only; the loop waits on job states
	}
	if maxRunning != 1 {
		t.Fatalf("at most 1 job may run on a 1-vCPU compute environment; saw %d", maxRunning)
	}

	// A disabled compute environment holds jobs RUNNABLE; a cancel fails them.
	if _, err := c.UpdateComputeEnvironment(ctx, &batch.UpdateComputeEnvironmentInput{ComputeEnvironment: aws.String("small"), State: types.CEStateDisabled}); err != nil {
		t.Fatal(err)
	}
	held := submit(t, c, &batch.SubmitJobInput{JobName: aws.String("held"), JobQueue: aws.String("small"), JobDefinition: aws.String("nap")})
	bargetest.WaitJob(t, c, held, jobWait, func(s string) bool { return s == "RUNNABLE" })
	if _, err := c.CancelJob(ctx, &batch.CancelJobInput{JobId: aws.String(held), Reason: aws.String("not needed")}); err != nil {
		t.Fatal(err)
	}
	hj := bargetest.WaitJob(t, c, held, jobWait, terminal)
	if hj.Status != types.JobStatusFailed || aws.ToString(hj.StatusReason) != "not needed" || !aws.ToBool(hj.IsCancelled) {
		t.Fatalf("cancelled job: %s %q cancelled=%v", hj.Status, aws.ToString(hj.StatusReason), hj.IsCancelled)
	}

	// Deleting follows AWS's order: a queue must be disabled; a compute environment disabled and unused.
	_, err = c.DeleteComputeEnvironment(ctx, &batch.DeleteComputeEnvironmentInput{ComputeEnvironment: aws.String("small")})
	apiErr(t, err, "ClientException", 400, "JobQueue relationship")
	_, err = c.DeleteJobQueue(ctx, &batch.DeleteJobQueueInput{JobQueue: aws.String("small")})
	apiErr(t, err, "ClientException", 400, "DISABLED")
	if _, err := c.UpdateJobQueue(ctx, &batch.UpdateJobQueueInput{JobQueue: aws.String("small"), State: types.JQStateDisabled}); err != nil {
		t.Fatal(err)
	}
	_, err = c.SubmitJob(ctx, &batch.SubmitJobInput{JobName: aws.String("late"), JobQueue: aws.String("small"), JobDefinition: aws.String("nap")})
	apiErr(t, err, "ClientException", 400, "jobQueue")
	if _, err := c.DeleteJobQueue(ctx, &batch.DeleteJobQueueInput{JobQueue: aws.String("small")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.DeleteComputeEnvironment(ctx, &batch.DeleteComputeEnvironmentInput{ComputeEnvironment: aws.String("small")}); err != nil {
		t.Fatal(err)
	}
	ces, _ := c.DescribeComputeEnvironments(ctx, &batch.DescribeComputeEnvironmentsInput{ComputeEnvironments: []string{"small"}})
	if len(ces.ComputeEnvironments) != 0 {
		t.Fatalf("deleted compute environment still described")
	}

	// Beyond AWS: a job that no compute environment could ever fit fails at once.
	big := submit(t, c, &batch.SubmitJobInput{JobName: aws.String("big"), JobDefinition: aws.String("nap"),
		ContainerOverrides: &types.ContainerOverrides{ResourceRequirements: reqs("4096", "64")}})
	bj := bargetest.WaitJob(t, c, big, jobWait, terminal)
	if bj.Status != types.JobStatusFailed || !strings.Contains(aws.ToString(bj.StatusReason), "requires 4096 vCPU") {
		t.Fatalf("unschedulable job: %s %q", bj.Status, aws.ToString(bj.StatusReason))
	}
}

func TestRetriesTimeoutsTerminate(t *testing.T) {
	t.Parallel()
	b := bargetest.Start(t, bargetest.WithArgs("--kill-grace", "1s"))
	c, ctx := b.Batch(), context.Background()
	register(t, c, "flaky", &types.ContainerProperties{Command: []string{"sh", "-c", `echo attempt $AWS_BATCH_JOB_ATTEMPT; [ "$AWS_BATCH_JOB_ATTEMPT" -ge 3 ] || exit 9`}})

	t.Run("retried until success", func(t *testing.T) {
		id := submit(t, c, &batch.SubmitJobInput{JobName: aws.String("flaky"), JobDefinition: aws.String("flaky"),
			RetryStrategy: &types.RetryStrategy{Attempts: aws.Int32(3)}})
		j := bargetest.WaitJob(t, c, id, jobWait, terminal)
		if j.Status != types.JobStatusSucceeded || len(j.Attempts) != 3 {
			t.Fatalf("status %s after %d attempts", j.Status, len(j.Attempts))
		}
		if aws.ToInt32(j.Attempts[0].Container.ExitCode) != 9 || aws.ToInt32(j.Attempts[2].Container.ExitCode) != 0 ||
			aws.ToString(j.Attempts[0].Container.LogStreamName) == aws.ToString(j.Attempts[1].Container.LogStreamName) {
			t.Fatalf("attempts: %+v", j.Attempts)
		}
		if got := logLines(t, b.Logs(), aws.ToString(j.Attempts[1].Container.LogStreamName)); !slices.Equal(got, []string{"attempt 2"}) {
			t.Fatalf("second attempt's log: %q", got)
		}
	})
	t.Run("evaluateOnExit EXIT stops retrying", func(t *testing.T) {
		id := submit(t, c, &batch.SubmitJobInput{JobName: aws.String("noretry"), JobDefinition: aws.String("flaky"),
			RetryStrategy: &types.RetryStrategy{Attempts: aws.Int32(5), EvaluateOnExit: []types.EvaluateOnExit{
				{OnExitCode: aws.String("9"), Action: types.RetryActionExit},
				{OnReason: aws.String("*"), Action: types.RetryActionRetry},
			}}})
		j := bargetest.WaitJob(t, c, id, jobWait, terminal)
		if j.Status != types.JobStatusFailed || len(j.Attempts) != 1 {
			t.Fatalf("status %s after %d attempts", j.Status, len(j.Attempts))
		}
	})
	t.Run("timeout kills the attempt", func(t *testing.T) {
		id := submit(t, c, &batch.SubmitJobInput{JobName: aws.String("slow"), JobDefinition: aws.String("flaky"),
			ContainerOverrides: &types.ContainerOverrides{Command: []string{"sleep", "60"}},
			Timeout:            &types.JobTimeout{AttemptDurationSeconds: aws.Int32(1)}})
		j := bargetest.WaitJob(t, c, id, jobWait, terminal)
		if j.Status != types.JobStatusFailed || aws.ToString(j.StatusReason) != "Job attempt duration exceeded timeout" {
			t.Fatalf("timed out job: %s %q", j.Status, aws.ToString(j.StatusReason))
		}
	})
	t.Run("terminate a running job", func(t *testing.T) {
		id := submit(t, c, &batch.SubmitJobInput{JobName: aws.String("victim"), JobDefinition: aws.String("flaky"),
			ContainerOverrides: &types.ContainerOverrides{Command: []string{"sleep", "60"}},
			RetryStrategy:      &types.RetryStrategy{Attempts: aws.Int32(3)}})
		bargetest.WaitJob(t, c, id, jobWait, func(s string) bool { return s == "RUNNING" })
		// CancelJob leaves a running job alone, as in AWS.
		if _, err := c.CancelJob(ctx, &batch.CancelJobInput{JobId: aws.String(id), Reason: aws.String("ignored")}); err != nil {
			t.Fatal(err)
		}
		if _, err := c.TerminateJob(ctx, &batch.TerminateJobInput{JobId: aws.String(id), Reason: aws.String("operator says stop")}); err != nil {
			t.Fatal(err)
		}
		j := bargetest.WaitJob(t, c, id, jobWait, terminal)
		if j.Status != types.JobStatusFailed || aws.ToString(j.StatusReason) != "operator says stop" || len(j.Attempts) != 1 || aws.ToInt32(j.Container.ExitCode) != 143 {
			t.Fatalf("terminated job: %s %q attempts=%d exit=%v", j.Status, aws.ToString(j.StatusReason), len(j.Attempts), j.Container.ExitCode)
		}
		// An id nobody knows: 200, as AWS answers.
		if _, err := c.TerminateJob(ctx, &batch.TerminateJobInput{JobId: aws.String("no-such-job"), Reason: aws.String("x")}); err != nil {
			t.Fatalf("terminating an unknown job: %v", err)
		}
	})
}

func TestValidationErrors(t *testing.T) {
	t.Parallel()
	b := bargetest.Start(t)
	c, ctx := b.Batch(), context.Background()
	register(t, c, "ok", &types.ContainerProperties{Command: []string{"true"}})
	cases := []struct {
		name string
		call func() error
		want string
	}{
		{"bad job name", func() error {
			_, err := c.SubmitJob(ctx, &batch.SubmitJobInput{JobName: aws.String("no spaces"), JobQueue: aws.String("default"), JobDefinition: aws.String("ok")})
			return err
		}, "jobName"},
		{"unknown queue", func() error {
			_, err := c.SubmitJob(ctx, &batch.SubmitJobInput{JobName: aws.String("j"), JobQueue: aws.String("nope"), JobDefinition: aws.String("ok")})
			return err
		}, "jobQueue"},
		{"unknown definition", func() error {
			_, err := c.SubmitJob(ctx, &batch.SubmitJobInput{JobName: aws.String("j"), JobQueue: aws.String("default"), JobDefinition: aws.String("nope:3")})
			return err
		}, "jobDefinition"},
		{"bad VCPU", func() error {
			_, err := c.SubmitJob(ctx, &batch.SubmitJobInput{JobName: aws.String("j"), JobQueue: aws.String("default"), JobDefinition: aws.String("ok"),
				ContainerOverrides: &types.ContainerOverrides{ResourceRequirements: reqs("-1", "10")}})
			return err
		}, "VCPU"},
		{"too many attempts", func() error {
			_, err := c.SubmitJob(ctx, &batch.SubmitJobInput{JobName: aws.String("j"), JobQueue: aws.String("default"), JobDefinition: aws.String("ok"),
				RetryStrategy: &types.RetryStrategy{Attempts: aws.Int32(11)}})
			return err
		}, "retryStrategy.attempts"},
		{"missing memory", func() error {
			_, err := c.RegisterJobDefinition(ctx, &batch.RegisterJobDefinitionInput{JobDefinitionName: aws.String("nomem"), Type: types.JobDefinitionTypeContainer,
				ContainerProperties: &types.ContainerProperties{Command: []string{"true"}, ResourceRequirements: []types.ResourceRequirement{{Type: types.ResourceTypeMemory, Value: aws.String("lots")}}}})
			return err
		}, "MEMORY"},
		{"privileged", func() error {
			_, err := c.RegisterJobDefinition(ctx, &batch.RegisterJobDefinitionInput{JobDefinitionName: aws.String("root"), Type: types.JobDefinitionTypeContainer,
				ContainerProperties: &types.ContainerProperties{Command: []string{"true"}, Privileged: aws.Bool(true)}})
			return err
		}, "privileged"},
		{"queue priority", func() error {
			_, err := c.CreateJobQueue(ctx, &batch.CreateJobQueueInput{JobQueueName: aws.String("q"), Priority: aws.Int32(5000),
				ComputeEnvironmentOrder: []types.ComputeEnvironmentOrder{{Order: aws.Int32(1), ComputeEnvironment: aws.String("default")}}})
			return err
		}, "priority"},
		{"queue with unknown compute environment", func() error {
			_, err := c.CreateJobQueue(ctx, &batch.CreateJobQueueInput{JobQueueName: aws.String("q"), Priority: aws.Int32(1),
				ComputeEnvironmentOrder: []types.ComputeEnvironmentOrder{{Order: aws.Int32(1), ComputeEnvironment: aws.String("ghost")}}})
			return err
		}, "computeEnvironmentOrder[0].computeEnvironment"},
		{"too many ids", func() error {
			ids := make([]string, 101)
			for i := range ids {
				ids[i] = fmt.Sprint("id", i)
			}
			_, err := c.DescribeJobs(ctx, &batch.DescribeJobsInput{Jobs: ids})
			return err
		}, "at most 100"},
		{"list filter", func() error {
			_, err := c.ListJobs(ctx, &batch.ListJobsInput{JobQueue: aws.String("default"), Filters: []types.KeyValuesPair{{Name: aws.String("COLOUR"), Values: []string{"x"}}}})
			return err
		}, "filters[0].name"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			apiErr(t, tc.call(), "ClientException", 400, tc.want)
		})
	}
	// Nothing was created by the failed calls.
	defs, _ := c.DescribeJobDefinitions(ctx, &batch.DescribeJobDefinitionsInput{})
	if len(defs.JobDefinitions) != 1 {
		t.Fatalf("failed registrations left %d definitions", len(defs.JobDefinitions))
	}
}

// signedRaw sends a raw body to a Batch operation, signed with the default credential, so tests
// can send what no SDK would.
func signedRaw(t *testing.T, b *bargetest.Barge, path, body string) (int, string) {
	t.Helper()
	cmd := exec.Command("python3", "-c", `
import sys, os, urllib.request, botocore.session
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
url, body = sys.argv[1], sys.argv[2].encode()
creds = botocore.session.get_session().get_credentials()
req = AWSRequest(method="POST", url=url, data=body, headers={"Content-Type": "application/json"})
SigV4Auth(creds, "batch", "us-east-1").add_auth(req)
r = urllib.request.Request(url, data=body, headers=dict(req.headers), method="POST")
try:
    resp = urllib.request.urlopen(r)
    print(resp.status); print(resp.read().decode())
except urllib.error.HTTPError as e:
    print(e.code); print(e.read().decode())
`, b.Endpoint+path, body)
	cmd.Env = b.Env()
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Skipf("python3/botocore unavailable: %v %s", err, out)
	}
	status, rest, _ := strings.Cut(string(out), "\n")
	var code int
	fmt.Sscan(status, &code)
	return code, rest
}

func TestMalformedRequests(t *testing.T) {
	t.Parallel()
	b := bargetest.Start(t)
	cases := []struct {
		path, body string
		status     int
		want       string
	}{
		{"/v1/submitjob", `{"jobName": 5}`, 400, "SerializationException"},
		{"/v1/submitjob", `{not json`, 400, "SerializationException"},
		{"/v1/submitjob", `{}`, 400, "jobName is required"},
		{"/v1/describejobs", `{"jobs": [null, ""]}`, 400, "ClientException"},
		{"/v1/createcomputeenvironment", `{"computeEnvironmentName":"x","type":"MANAGED","computeResources":{"type":"EC2","maxvCpus":-3}}`, 400, "maxvCpus"},
		{"/v1/nosuchop", `{}`, 404, "UnknownOperationException"},
	}
	for _, tc := range cases {
		status, body := signedRaw(t, b, tc.path, tc.body)
		if status != tc.status || !strings.Contains(body, tc.want) {
			t.Errorf("%s %s: got %d %s, want %d containing %q", tc.path, tc.body, status, body, tc.status, tc.want)
		}
	}
	// The server is still healthy.
	if _, err := b.Batch().DescribeJobQueues(context.Background(), &batch.DescribeJobQueuesInput{}); err != nil {
		t.Fatal(err)
	}
}

func TestAuthentication(t *testing.T) {
	t.Parallel()
	b := bargetest.Start(t)
	ctx := context.Background()
	wrong := b.Cred
	wrong.SecretAccessKey = "not-the-secret"
	_, err := batch.NewFromConfig(b.Config(wrong)).DescribeJobQueues(ctx, &batch.DescribeJobQueuesInput{})
	apiErr(t, err, "InvalidSignatureException", 403, "signature we calculated does not match")
	unknown := b.Cred
	unknown.AccessKeyID = "AKIAUNKNOWNKEY000000"
	_, err = batch.NewFromConfig(b.Config(unknown)).DescribeJobQueues(ctx, &batch.DescribeJobQueuesInput{})
	apiErr(t, err, "UnrecognizedClientException", 403, "security token")
	resp, err := http.Post(b.Endpoint+"/v1/describejobqueues", "application/json", bytes.NewBufferString("{}"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 403 || resp.Header.Get("x-amzn-ErrorType") != "MissingAuthenticationTokenException" {
		t.Fatalf("unsigned request: %d %s", resp.StatusCode, resp.Header.Get("x-amzn-ErrorType"))
	}
}

func TestAccountsAreIsolated(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if _, err := account.LoadOrCreate(dir); err != nil {
		t.Fatal(err)
	}
	other, err := account.Add(dir, "111111111111")
	if err != nil {
		t.Fatal(err)
	}
	b := bargetest.Start(t, bargetest.WithDataDir(dir))
	a, o, ctx := b.Batch(), batch.NewFromConfig(b.Config(other)), context.Background()
	register(t, a, "mine", &types.ContainerProperties{Command: []string{"sleep", "30"}})
	id := submit(t, a, &batch.SubmitJobInput{JobName: aws.String("mine"), JobDefinition: aws.String("mine")})

	// The other account has its own default queue and sees none of the first account's things.
	out, err := o.DescribeJobs(ctx, &batch.DescribeJobsInput{Jobs: []string{id}})
	if err != nil || len(out.Jobs) != 0 {
		t.Fatalf("other account sees the job: %+v %v", out, err)
	}
	// Stopping it from the other account answers as AWS does for an id it does not know (200)
	// and touches nothing: the job runs on (checked below).
	if _, err = o.TerminateJob(ctx, &batch.TerminateJobInput{JobId: aws.String(id), Reason: aws.String("hostile")}); err != nil {
		t.Fatalf("terminating another account's job: %v", err)
	}
	_, err = o.SubmitJob(ctx, &batch.SubmitJobInput{JobName: aws.String("x"), JobQueue: aws.String("default"), JobDefinition: aws.String("mine")})
	apiErr(t, err, "ClientException", 400, "jobDefinition")
	_, err = o.ListTagsForResource(ctx, &batch.ListTagsForResourceInput{ResourceArn: aws.String("arn:aws:batch:us-east-1:000000000000:job/" + id)})
	apiErr(t, err, "ClientException", 400, "resourceArn")
	qs, err := o.DescribeJobQueues(ctx, &batch.DescribeJobQueuesInput{})
	if err != nil || len(qs.JobQueues) != 1 || !strings.Contains(aws.ToString(qs.JobQueues[0].JobQueueArn), ":111111111111:") {
		t.Fatalf("other account's queues: %+v %v", qs, err)
	}
	list, err := o.ListJobs(ctx, &batch.ListJobsInput{JobQueue: aws.String("default"), Filters: []types.KeyValuesPair{{Name: aws.String("JOB_NAME"), Values: []string{"*"}}}})
	if err != nil || len(list.JobSummaryList) != 0 {
		t.Fatalf("other account lists jobs: %+v %v", list, err)
	}
	// The job is untouched.
	if j := bargetest.WaitJob(t, a, id, jobWait, func(s string) bool { return s == "RUNNING" }); j.Status != types.JobStatusRunning {
		t.Fatal(j.Status)
	}
	a.TerminateJob(ctx, &batch.TerminateJobInput{JobId: aws.String(id), Reason: aws.String("done")})
}
