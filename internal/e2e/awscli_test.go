// Package e2e_test runs barge end to end through real clients: the AWS CLI (v1), boto3 and
// barge's own command line, each against a barge server process started by bargetest.
package e2e_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/barge-run/barge/internal/bargetest"
)

// cmdResult is what a client command did.
type cmdResult struct {
	args    []string
	code    int
	stdout  string
	stderr  string
	elapsed time.Duration
}

func (r cmdResult) String() string {
	return fmt.Sprintf("$ %s\nexit %d after %v\n--- stdout:\n%s\n--- stderr:\n%s", strings.Join(r.args, " "), r.code, r.elapsed.Round(time.Millisecond), r.stdout, r.stderr)
}

// runCmd runs a command with env and returns its exit code and output; it fails the test only
// when the command cannot be run at all or outlives its timeout.
func runCmd(t *testing.T, ctx context.Context, env []string, name string, args ...string) cmdResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	res := cmdResult{args: append([]string{name}, args...), stdout: stdout.String(), stderr: stderr.String(), elapsed: time.Since(start)}
	if ctx.Err() != nil {
		t.Fatalf("command did not finish: %v\n%s", ctx.Err(), res)
	}
	if err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			t.Fatalf("running %s: %v", name, err)
		}
		res.code = ee.ExitCode()
	}
	t.Logf("$ %s: exit %d in %v", strings.Join(res.args, " "), res.code, res.elapsed.Round(time.Millisecond))
	return res
}

var (
	toolMu    sync.Mutex
	toolPaths = map[string]string{}
)

// tool finds a client program on PATH, or skips the test. A pyenv shim is resolved once to the
// program it stands for: the shim's bash and `pyenv exec` add about half a second to every call.
func tool(t testing.TB, name string) string {
	t.Helper()
	toolMu.Lock()
	defer toolMu.Unlock()
	if p, ok := toolPaths[name]; ok {
		return p
	}
	p, err := exec.LookPath(name)
	if err != nil {
		t.Skipf("%s is not on PATH", name)
	}
	if strings.Contains(p, "/shims/") {
		if out, err := exec.Command("pyenv", "which", name).Output(); err == nil {
			if real := strings.TrimSpace(string(out)); real != "" {
				p = real
			}
		}
	}
	toolPaths[name] = p
	return p
}

// awsCLI runs `aws` with JSON output against one barge server.
type awsCLI struct {
	t   *testing.T
	ctx context.Context
	env []string
}

// run runs an aws command and returns what it did, success or not.
func (a awsCLI) run(args ...string) cmdResult {
	a.t.Helper()
	return runCmd(a.t, a.ctx, a.env, tool(a.t, "aws"), append(args, "--output", "json")...)
}

// ok runs an aws command that must succeed and decodes its JSON output into out (unless nil).
func (a awsCLI) ok(out any, args ...string) cmdResult {
	a.t.Helper()
	res := a.run(args...)
	if res.code != 0 {
		a.t.Fatalf("aws command failed:\n%s", res)
	}
	if out != nil {
		if err := json.Unmarshal([]byte(res.stdout), out); err != nil {
			a.t.Fatalf("decoding aws output: %v\n%s", err, res)
		}
	}
	return res
}

// fails runs an aws command that must fail with the AWS error code in its stderr.
func (a awsCLI) fails(code string, args ...string) cmdResult {
	a.t.Helper()
	res := a.run(args...)
	if res.code == 0 {
		a.t.Fatalf("aws command succeeded, want %s:\n%s", code, res)
	}
	if !strings.Contains(res.stderr, "("+code+")") {
		a.t.Fatalf("aws command failed without %s in stderr:\n%s", code, res)
	}
	return res
}

// awsJob is the part of a DescribeJobs job detail the tests read, in the AWS wire names.
type awsJob struct {
	JobArn       string `json:"jobArn"`
	JobId        string `json:"jobId"`
	JobName      string `json:"jobName"`
	JobQueue     string `json:"jobQueue"`
	Status       string `json:"status"`
	StatusReason string `json:"statusReason"`
	Attempts     []struct {
		StatusReason string `json:"statusReason"`
		Container    struct {
			ExitCode      *int   `json:"exitCode"`
			LogStreamName string `json:"logStreamName"`
		} `json:"container"`
	} `json:"attempts"`
	Container *struct {
		ExitCode      *int   `json:"exitCode"`
		LogStreamName string `json:"logStreamName"`
	} `json:"container"`
}

// waitJob polls `aws batch describe-jobs` until the job's status satisfies done.
func (a awsCLI) waitJob(id string, timeout time.Duration, done func(string) bool) awsJob {
	a.t.Helper()
	deadline := time.Now().Add(timeout)
	last := "(not found)"
	for {
		var out struct{ Jobs []awsJob }
		a.ok(&out, "batch", "describe-jobs", "--jobs", id)
		if len(out.Jobs) == 1 {
			last = out.Jobs[0].Status
			if done(last) {
				return out.Jobs[0]
			}
		}
		if time.Now().After(deadline) {
			a.t.Fatalf("job %s: status %s after %v", id, last, timeout)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func is(statuses ...string) func(string) bool {
	return func(s string) bool { return slices.Contains(statuses, s) }
}

// containerProps is a --container-properties value for a shell command with 1 vCPU and 256 MiB.
func containerProps(t *testing.T, command ...string) string {
	t.Helper()
	b, err := json.Marshal(map[string]any{
		"command": command,
		"resourceRequirements": []map[string]string{
			{"type": "VCPU", "value": "1"},
			{"type": "MEMORY", "value": "256"},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

type registered struct {
	JobDefinitionName string `json:"jobDefinitionName"`
	JobDefinitionArn  string `json:"jobDefinitionArn"`
	Revision          int    `json:"revision"`
}

func (a awsCLI) register(name string, command ...string) registered {
	a.t.Helper()
	var out registered
	a.ok(&out, "batch", "register-job-definition", "--job-definition-name", name, "--type", "container",
		"--container-properties", containerProps(a.t, command...))
	if out.JobDefinitionName != name || out.JobDefinitionArn == "" {
		a.t.Fatalf("register-job-definition %s returned %+v", name, out)
	}
	return out
}

type submitted struct {
	JobArn  string `json:"jobArn"`
	JobId   string `json:"jobId"`
	JobName string `json:"jobName"`
}

func (a awsCLI) submit(name, queue, def string) submitted {
	a.t.Helper()
	var out submitted
	a.ok(&out, "batch", "submit-job", "--job-name", name, "--job-queue", queue, "--job-definition", def)
	if out.JobId == "" || out.JobName != name || !strings.HasSuffix(out.JobArn, ":job/"+out.JobId) {
		a.t.Fatalf("submit-job %s returned %+v", name, out)
	}
	return out
}

func TestCLIAWS(t *testing.T) {
	t.Parallel()
	tool(t, "aws")
	b := bargetest.Start(t)
	// Each aws call is bounded (runCmd); the subtests' own contexts end with them. (A deadline
	// set here would run while the parallel subtests still wait for their turn.)

	// A definition for the groups that need any job definition at all.
	const shared = "e2e-shared"
	sharedDef := awsCLI{t, t.Context(), b.Env()}.register(shared, "true")

	// The groups share the server but no resources, so they run side by side: each aws call
	// costs most of a second of Python start-up.
	t.Run("JobDefinitionsJobsLogs", func(t *testing.T) {
		t.Parallel()
		a := awsCLI{t, t.Context(), b.Env()}
		const def = "e2e-hello"
		r1 := a.register(def, "sh", "-c", "echo hello from $AWS_BATCH_JOB_ID; echo to-stderr >&2")
		r2 := a.register(def, "sh", "-c", "echo hello from $AWS_BATCH_JOB_ID; echo to-stderr >&2")
		if r1.Revision != 1 || r2.Revision != 2 {
			t.Fatalf("revisions %d, %d; want 1, 2", r1.Revision, r2.Revision)
		}
		if !strings.HasSuffix(r1.JobDefinitionArn, ":job-definition/"+def+":1") {
			t.Errorf("jobDefinitionArn %q does not end in :job-definition/%s:1", r1.JobDefinitionArn, def)
		}

		type defs struct {
			JobDefinitions []struct {
				JobDefinitionName string `json:"jobDefinitionName"`
				Revision          int    `json:"revision"`
				Status            string `json:"status"`
				Type              string `json:"type"`
			} `json:"jobDefinitions"`
		}
		statusByRevision := func(d defs) map[int]string {
			m := map[int]string{}
			for _, jd := range d.JobDefinitions {
				if jd.JobDefinitionName != def {
					t.Errorf("describe-job-definitions --job-definition-name %s returned %s", def, jd.JobDefinitionName)
				}
				m[jd.Revision] = jd.Status
			}
			return m
		}
		var before defs
		a.ok(&before, "batch", "describe-job-definitions", "--job-definition-name", def)
		if got := statusByRevision(before); len(got) != 2 || got[1] != "ACTIVE" || got[2] != "ACTIVE" {
			t.Errorf("before deregistering, status by revision = %v; want 1 and 2 ACTIVE", got)
		}
		if len(before.JobDefinitions) > 0 && before.JobDefinitions[0].Type != "container" {
			t.Errorf("type %q, want container", before.JobDefinitions[0].Type)
		}
		a.ok(nil, "batch", "deregister-job-definition", "--job-definition", def+":1")
		var after defs
		a.ok(&after, "batch", "describe-job-definitions", "--job-definition-name", def)
		if got := statusByRevision(after); len(got) != 2 || got[1] != "INACTIVE" || got[2] != "ACTIVE" {
			t.Errorf("after deregistering :1, status by revision = %v; want 1 INACTIVE, 2 ACTIVE", got)
		}

		// A job on the latest ACTIVE revision.
		sub := a.submit("e2e-hello-job", "default", def)
		job := a.waitJob(sub.JobId, 15*time.Second, bargetest.Terminal)
		if job.Status != "SUCCEEDED" {
			t.Fatalf("job ended %s (%s), want SUCCEEDED", job.Status, job.StatusReason)
		}
		if job.StatusReason != "Essential container in task exited" {
			t.Errorf("statusReason %q, want %q", job.StatusReason, "Essential container in task exited")
		}
		if job.JobArn != sub.JobArn || job.JobName != sub.JobName {
			t.Errorf("describe-jobs arn/name %s/%s, submit-job said %s/%s", job.JobArn, job.JobName, sub.JobArn, sub.JobName)
		}
		if !strings.HasSuffix(job.JobQueue, ":job-queue/default") {
			t.Errorf("jobQueue %q, want the ARN of queue default", job.JobQueue)
		}
		if len(job.Attempts) != 1 {
			t.Fatalf("%d attempts, want 1", len(job.Attempts))
		}
		if job.Container == nil || job.Container.ExitCode == nil || *job.Container.ExitCode != 0 {
			t.Fatalf("container %+v: want exitCode 0", job.Container)
		}
		stream := job.Container.LogStreamName
		if !strings.HasPrefix(stream, def+"/default/") || len(stream) == len(def+"/default/") {
			t.Errorf("logStreamName %q, want %s/default/<task id>", stream, def)
		}
		if a0 := job.Attempts[0]; a0.Container.LogStreamName != stream || a0.Container.ExitCode == nil || *a0.Container.ExitCode != 0 {
			t.Errorf("attempts[0].container = %+v, want exit 0 on stream %s", a0.Container, stream)
		}

		var events struct {
			Events []struct {
				Timestamp int64  `json:"timestamp"`
				Message   string `json:"message"`
			} `json:"events"`
		}
		a.ok(&events, "logs", "get-log-events", "--log-group-name", "/aws/batch/job", "--log-stream-name", stream, "--start-from-head")
		var msgs []string
		for _, ev := range events.Events {
			msgs = append(msgs, ev.Message)
			if ev.Timestamp <= 0 {
				t.Errorf("event %q has timestamp %d", ev.Message, ev.Timestamp)
			}
		}
		for _, want := range []string{"hello from " + sub.JobId, "to-stderr"} {
			if !slices.Contains(msgs, want) {
				t.Errorf("log events %q lack %q", msgs, want)
			}
		}
		if len(msgs) != 2 {
			t.Errorf("log events %q, want exactly 2", msgs)
		}

		type list struct {
			JobSummaryList []struct {
				JobId   string `json:"jobId"`
				JobName string `json:"jobName"`
				Status  string `json:"status"`
			} `json:"jobSummaryList"`
		}
		has := func(l list) bool {
			for _, s := range l.JobSummaryList {
				if s.JobId == sub.JobId {
					return s.Status == "SUCCEEDED" && s.JobName == sub.JobName
				}
			}
			return false
		}
		var succeeded list
		a.ok(&succeeded, "batch", "list-jobs", "--job-queue", "default", "--job-status", "SUCCEEDED")
		if !has(succeeded) {
			t.Errorf("list-jobs --job-status SUCCEEDED lacks job %s: %+v", sub.JobId, succeeded.JobSummaryList)
		}
		var filtered list
		a.ok(&filtered, "batch", "list-jobs", "--job-queue", "default", "--job-status", "SUCCEEDED",
			"--filters", "name=JOB_NAME,values="+sub.JobName)
		if !has(filtered) || len(filtered.JobSummaryList) != 1 {
			t.Errorf("list-jobs --filters name=JOB_NAME,values=%s = %+v, want just job %s", sub.JobName, filtered.JobSummaryList, sub.JobId)
		}
	})

	t.Run("Tags", func(t *testing.T) {
		t.Parallel()
		a := awsCLI{t, t.Context(), b.Env()}
		job := a.submit("e2e-tagged", "default", shared)
		// On a job definition revision and on a job.
		for _, arn := range []string{sharedDef.JobDefinitionArn, job.JobArn} {
			// One listing checks both edits: team is there only if tag-resource added it, and env
			// is gone only if untag-resource removed it.
			a.ok(nil, "batch", "tag-resource", "--resource-arn", arn, "--tags", "env=e2e,team=barge")
			a.ok(nil, "batch", "untag-resource", "--resource-arn", arn, "--tag-keys", "env")
			var got struct {
				Tags map[string]string `json:"tags"`
			}
			a.ok(&got, "batch", "list-tags-for-resource", "--resource-arn", arn)
			if len(got.Tags) != 1 || got.Tags["team"] != "barge" {
				t.Errorf("%s: tags after tag-resource env=e2e,team=barge and untag-resource env = %v, want just team=barge", arn, got.Tags)
			}
		}
	})

	t.Run("ComputeEnvironmentsAndQueues", func(t *testing.T) {
		t.Parallel()
		a := awsCLI{t, t.Context(), b.Env()}
		const ce, jq = "e2e-ce", "e2e-queue"
		var ceOut struct {
			ComputeEnvironmentName string `json:"computeEnvironmentName"`
			ComputeEnvironmentArn  string `json:"computeEnvironmentArn"`
		}
		// The CLI's model requires subnets client-side; barge ignores the EC2 details.
		a.ok(&ceOut, "batch", "create-compute-environment", "--compute-environment-name", ce, "--type", "MANAGED",
			"--compute-resources", `{"type":"EC2","minvCpus":0,"maxvCpus":4,"instanceTypes":["optimal"],"subnets":["subnet-0e2e"],"securityGroupIds":["sg-0e2e"],"instanceRole":"ecsInstanceRole"}`)
		if ceOut.ComputeEnvironmentName != ce || !strings.HasSuffix(ceOut.ComputeEnvironmentArn, ":compute-environment/"+ce) {
			t.Fatalf("create-compute-environment returned %+v", ceOut)
		}
		var jqOut struct {
			JobQueueName string `json:"jobQueueName"`
			JobQueueArn  string `json:"jobQueueArn"`
		}
		a.ok(&jqOut, "batch", "create-job-queue", "--job-queue-name", jq, "--priority", "10",
			"--compute-environment-order", "order=1,computeEnvironment="+ce)
		if jqOut.JobQueueName != jq || !strings.HasSuffix(jqOut.JobQueueArn, ":job-queue/"+jq) {
			t.Fatalf("create-job-queue returned %+v", jqOut)
		}

		var ces struct {
			ComputeEnvironments []struct {
				ComputeEnvironmentName string `json:"computeEnvironmentName"`
				ComputeEnvironmentArn  string `json:"computeEnvironmentArn"`
				Type                   string `json:"type"`
				State                  string `json:"state"`
				Status                 string `json:"status"`
				ComputeResources       struct {
					Type     string `json:"type"`
					MinvCpus *int   `json:"minvCpus"`
					MaxvCpus *int   `json:"maxvCpus"`
				} `json:"computeResources"`
			} `json:"computeEnvironments"`
		}
		a.ok(&ces, "batch", "describe-compute-environments", "--compute-environments", ce)
		if len(ces.ComputeEnvironments) != 1 {
			t.Fatalf("describe-compute-environments %s: %d results, want 1", ce, len(ces.ComputeEnvironments))
		}
		if c := ces.ComputeEnvironments[0]; c.ComputeEnvironmentArn != ceOut.ComputeEnvironmentArn || c.Type != "MANAGED" ||
			c.State != "ENABLED" || c.Status != "VALID" || c.ComputeResources.Type != "EC2" ||
			c.ComputeResources.MaxvCpus == nil || *c.ComputeResources.MaxvCpus != 4 ||
			c.ComputeResources.MinvCpus == nil || *c.ComputeResources.MinvCpus != 0 {
			t.Errorf("compute environment %+v: want MANAGED ENABLED VALID, EC2 0..4 vCPUs", c)
		}

		type queues struct {
			JobQueues []struct {
				JobQueueName            string `json:"jobQueueName"`
				JobQueueArn             string `json:"jobQueueArn"`
				State                   string `json:"state"`
				Status                  string `json:"status"`
				Priority                int    `json:"priority"`
				ComputeEnvironmentOrder []struct {
					Order              int    `json:"order"`
					ComputeEnvironment string `json:"computeEnvironment"`
				} `json:"computeEnvironmentOrder"`
			} `json:"jobQueues"`
		}
		var qs queues
		a.ok(&qs, "batch", "describe-job-queues", "--job-queues", jq)
		if len(qs.JobQueues) != 1 {
			t.Fatalf("describe-job-queues %s: %d results, want 1", jq, len(qs.JobQueues))
		}
		q := qs.JobQueues[0]
		if q.JobQueueArn != jqOut.JobQueueArn || q.State != "ENABLED" || q.Status != "VALID" || q.Priority != 10 ||
			len(q.ComputeEnvironmentOrder) != 1 || q.ComputeEnvironmentOrder[0].Order != 1 ||
			q.ComputeEnvironmentOrder[0].ComputeEnvironment != ceOut.ComputeEnvironmentArn {
			t.Errorf("job queue %+v: want ENABLED VALID priority 10 on %s (by ARN)", q, ceOut.ComputeEnvironmentArn)
		}

		a.ok(nil, "batch", "update-job-queue", "--job-queue", jq, "--state", "DISABLED")
		qs = queues{}
		a.ok(&qs, "batch", "describe-job-queues", "--job-queues", jq)
		if len(qs.JobQueues) != 1 || qs.JobQueues[0].State != "DISABLED" {
			t.Errorf("after update-job-queue --state DISABLED: %+v", qs.JobQueues)
		}

		// A disabled queue takes no jobs.
		res := a.fails("ClientException", "batch", "submit-job", "--job-name", "refused", "--job-queue", jq, "--job-definition", shared)
		if !strings.Contains(res.stderr, "DISABLED") {
			t.Errorf("submit-job to a disabled queue: stderr does not say the queue is DISABLED:\n%s", res)
		}

		a.ok(nil, "batch", "delete-job-queue", "--job-queue", jq)
		qs = queues{}
		a.ok(&qs, "batch", "describe-job-queues", "--job-queues", jq)
		if len(qs.JobQueues) != 0 {
			t.Errorf("describe-job-queues after delete-job-queue: %+v", qs.JobQueues)
		}
		a.ok(nil, "batch", "update-compute-environment", "--compute-environment", ce, "--state", "DISABLED")
		a.ok(nil, "batch", "delete-compute-environment", "--compute-environment", ce)
		ces.ComputeEnvironments = nil
		a.ok(&ces, "batch", "describe-compute-environments", "--compute-environments", ce)
		if len(ces.ComputeEnvironments) != 0 {
			t.Errorf("describe-compute-environments after delete-compute-environment: %+v", ces.ComputeEnvironments)
		}
	})

	t.Run("Errors", func(t *testing.T) {
		t.Parallel()
		a := awsCLI{t, t.Context(), b.Env()}
		res := a.fails("ClientException", "batch", "submit-job", "--job-name", "lost", "--job-queue", "no-such-queue", "--job-definition", shared)
		if !strings.Contains(res.stderr, "jobQueue") || !strings.Contains(res.stderr, "no-such-queue") {
			t.Errorf("submit-job to a missing queue: stderr does not name the field jobQueue and the queue:\n%s", res)
		}

		bad := awsCLI{t, t.Context(), append(b.Env(), "AWS_SECRET_ACCESS_KEY=not-"+b.Cred.SecretAccessKey)}
		bad.fails("InvalidSignatureException", "batch", "list-jobs", "--job-queue", "default")

		res = a.fails("ClientException", "batch", "list-service-jobs")
		if !strings.Contains(res.stderr, "does not implement") || !strings.Contains(res.stderr, "ListServiceJobs") {
			t.Errorf("unimplemented operation: stderr does not say barge does not implement ListServiceJobs:\n%s", res)
		}
		var snap struct {
			FrontOfQueue struct {
				Jobs []any `json:"jobs"`
			} `json:"frontOfQueue"`
		}
		a.ok(&snap, "batch", "get-job-queue-snapshot", "--job-queue", "default")
	})

	t.Run("TerminateRunningJob", func(t *testing.T) {
		t.Parallel()
		a := awsCLI{t, t.Context(), b.Env()}
		var sub submitted
		a.ok(&sub, "batch", "submit-job", "--job-name", "e2e-sleeper", "--job-queue", "default", "--job-definition", shared,
			"--container-overrides", `{"command":["sleep","30"]}`)
		if sub.JobId == "" {
			t.Fatalf("submit-job returned no jobId")
		}
		a.waitJob(sub.JobId, 15*time.Second, is("RUNNING", "SUCCEEDED", "FAILED"))

		// CancelJob leaves a job that has started alone and still succeeds, as in AWS.
		a.ok(nil, "batch", "cancel-job", "--job-id", sub.JobId, "--reason", "too late to cancel")
		const reason = "e2e: terminated on purpose"
		a.ok(nil, "batch", "terminate-job", "--job-id", sub.JobId, "--reason", reason)
		job := a.waitJob(sub.JobId, 15*time.Second, bargetest.Terminal)
		if job.Status != "FAILED" {
			t.Fatalf("terminated job ended %s, want FAILED", job.Status)
		}
		if job.StatusReason != reason {
			t.Errorf("statusReason %q, want the terminate reason %q (not the cancel reason)", job.StatusReason, reason)
		}
		if job.Container == nil || job.Container.ExitCode == nil || *job.Container.ExitCode != 143 {
			t.Errorf("container %+v: want exitCode 143 (SIGTERM)", job.Container)
		}
		if len(job.Attempts) != 1 {
			t.Errorf("%d attempts, want 1 (a terminated job is not retried)", len(job.Attempts))
		}
	})
}
