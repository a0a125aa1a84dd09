package e2e_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	ltypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/barge-run/barge/internal/bargetest"
)

// boto3Script drives barge through boto3 and prints one JSON summary line last; the Go test makes
// the assertions, so a failure shows what the script saw. The script itself only raises when it
// cannot go on (a job that never finishes, an unexpected exception).
const boto3Script = `
import json, os, sys, time
import boto3
import botocore.exceptions

endpoint = os.environ["AWS_ENDPOINT_URL"]
batch = boto3.client("batch", endpoint_url=endpoint)
logs = boto3.client("logs", endpoint_url=endpoint)
summary = {}

def wait(job_ids, timeout=15.0):
    deadline = time.monotonic() + timeout
    while True:
        jobs = batch.describe_jobs(jobs=job_ids)["jobs"]
        if len(jobs) == len(job_ids) and all(j["status"] in ("SUCCEEDED", "FAILED") for j in jobs):
            return {j["jobId"]: j for j in jobs}
        if time.monotonic() > deadline:
            raise SystemExit("jobs not finished after %ss: %s" % (timeout, [(j["jobId"], j["status"]) for j in jobs]))
        time.sleep(0.05)

reg = batch.register_job_definition(
    jobDefinitionName="boto3-marker",
    type="container",
    containerProperties={
        "command": ["sh", "-c", "echo boto3-marker-$AWS_BATCH_JOB_ATTEMPT"],
        "resourceRequirements": [{"type": "VCPU", "value": "1"}, {"type": "MEMORY", "value": "256"}],
    },
)
summary["revision"] = reg["revision"]
summary["jobDefinitionArn"] = reg["jobDefinitionArn"]

sub = batch.submit_job(jobName="boto3-marker-job", jobQueue="default", jobDefinition="boto3-marker")
job = wait([sub["jobId"]])[sub["jobId"]]
summary["jobId"] = sub["jobId"]
summary["status"] = job["status"]
summary["statusReason"] = job.get("statusReason")
summary["exitCode"] = job.get("container", {}).get("exitCode")
summary["createdAtIsInt"] = isinstance(job.get("createdAt"), int)
stream = job.get("container", {}).get("logStreamName")
summary["logStreamName"] = stream
events = logs.get_log_events(logGroupName="/aws/batch/job", logStreamName=stream, startFromHead=True)["events"]
summary["logMessages"] = [e["message"] for e in events]

# Three more jobs, then every SUCCEEDED job of the queue one page at a time.
more = [batch.submit_job(jobName="boto3-page-%d" % i, jobQueue="default", jobDefinition="boto3-marker")["jobId"] for i in range(3)]
wait(more)
summary["submitted"] = [sub["jobId"]] + more
pages = 0
listed = []
for page in batch.get_paginator("list_jobs").paginate(jobQueue="default", jobStatus="SUCCEEDED", PaginationConfig={"PageSize": 1}):
    pages += 1
    listed += [j["jobId"] for j in page["jobSummaryList"]]
summary["pages"] = pages
summary["listed"] = listed

try:
    batch.submit_job(jobName="boto3-bad", jobQueue="default", jobDefinition="boto3-no-such-definition")
    summary["badDefinitionError"] = None
except botocore.exceptions.ClientError as e:
    summary["badDefinitionError"] = {
        "code": e.response["Error"]["Code"],
        "message": e.response["Error"]["Message"],
        "httpStatus": e.response["ResponseMetadata"]["HTTPStatusCode"],
    }

print(json.dumps(summary))
`

func TestBoto3(t *testing.T) {
	t.Parallel()
	python := boto3Python(t)
	b := bargetest.Start(t)
	res := runPythonScript(t, b, python, boto3Script)
	if res.code != 0 {
		t.Fatalf("boto3 script failed:\n%s", res)
	}
	lines := strings.Split(strings.TrimSpace(res.stdout), "\n")
	var s struct {
		Revision           int      `json:"revision"`
		JobDefinitionArn   string   `json:"jobDefinitionArn"`
		JobId              string   `json:"jobId"`
		Status             string   `json:"status"`
		StatusReason       string   `json:"statusReason"`
		ExitCode           *int     `json:"exitCode"`
		CreatedAtIsInt     bool     `json:"createdAtIsInt"`
		LogStreamName      string   `json:"logStreamName"`
		LogMessages        []string `json:"logMessages"`
		Submitted          []string `json:"submitted"`
		Pages              int      `json:"pages"`
		Listed             []string `json:"listed"`
		BadDefinitionError *struct {
			Code       string `json:"code"`
			Message    string `json:"message"`
			HTTPStatus int    `json:"httpStatus"`
		} `json:"badDefinitionError"`
	}
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &s); err != nil {
		t.Fatalf("decoding the script's summary: %v\n%s", err, res)
	}
	t.Logf("boto3 summary: %s", lines[len(lines)-1])

	if s.Revision != 1 || !strings.HasSuffix(s.JobDefinitionArn, ":job-definition/boto3-marker:1") {
		t.Errorf("register_job_definition: revision %d, arn %q; want 1 and …:job-definition/boto3-marker:1", s.Revision, s.JobDefinitionArn)
	}
	if s.Status != "SUCCEEDED" || s.ExitCode == nil || *s.ExitCode != 0 || s.StatusReason != "Essential container in task exited" {
		t.Errorf("job: status %s, exit code %v, reason %q; want SUCCEEDED, 0, Essential container in task exited", s.Status, s.ExitCode, s.StatusReason)
	}
	if !s.CreatedAtIsInt {
		t.Errorf("describe_jobs createdAt is not an integer (epoch milliseconds)")
	}
	if !strings.HasPrefix(s.LogStreamName, "boto3-marker/default/") {
		t.Errorf("logStreamName %q, want boto3-marker/default/…", s.LogStreamName)
	}
	if !slices.Equal(s.LogMessages, []string{"boto3-marker-1"}) {
		t.Errorf("get_log_events messages %q, want [boto3-marker-1]", s.LogMessages)
	}

	// The paginator walks every SUCCEEDED job exactly once, one per page.
	if len(s.Submitted) != 4 {
		t.Fatalf("script submitted %d jobs, want 4", len(s.Submitted))
	}
	count := map[string]int{}
	for _, id := range s.Listed {
		count[id]++
	}
	for _, id := range s.Submitted {
		if count[id] != 1 {
			t.Errorf("job %s listed %d times by the list_jobs paginator, want once (listed: %v)", id, count[id], s.Listed)
		}
	}
	if len(s.Listed) != len(s.Submitted) {
		t.Errorf("list_jobs paginator listed %d jobs, want %d: %v", len(s.Listed), len(s.Submitted), s.Listed)
	}
	// PageSize 1 gives a page per job, maybe plus an empty last page.
	if s.Pages < len(s.Submitted) || s.Pages > len(s.Submitted)+1 {
		t.Errorf("list_jobs paginator with PageSize 1 made %d pages for %d jobs", s.Pages, len(s.Submitted))
	}

	switch e := s.BadDefinitionError; {
	case e == nil:
		t.Errorf("submit_job with a missing job definition raised no ClientError")
	case e.Code != "ClientException" || e.HTTPStatus != 400 || !strings.Contains(e.Message, "jobDefinition"):
		t.Errorf("submit_job with a missing job definition: %+v; want ClientException, HTTP 400, a message naming jobDefinition", *e)
	}
}

// boto3Python is the host's python3, or the test skips when it cannot import boto3.
func boto3Python(t *testing.T) string {
	t.Helper()
	python := tool(t, "python3")
	if res := runCmd(t, t.Context(), os.Environ(), python, "-c", "import boto3"); res.code != 0 {
		t.Skipf("boto3 is not importable:\n%s", res)
	}
	return python
}

// runPythonScript runs script with python as a client of b (its endpoint and credential in the
// environment).
func runPythonScript(t *testing.T, b *bargetest.Barge, python, script string) cmdResult {
	t.Helper()
	path := filepath.Join(t.TempDir(), "script.py")
	if err := os.WriteFile(path, []byte(script), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	return runCmd(t, ctx, b.Env(), python, path)
}

// runSelfCheckingScript runs a boto3 script that asserts on its own and prints done last;
// prelude (e.g. RUNTIME = "python3.11") comes first. The test fails unless the script does.
func runSelfCheckingScript(t *testing.T, b *bargetest.Barge, python, prelude, script, done string) {
	t.Helper()
	res := runPythonScript(t, b, python, prelude+script)
	if res.code != 0 || !strings.HasSuffix(strings.TrimSpace(res.stdout), done) {
		t.Fatalf("boto3 script (want %q last):\n%s", done, res)
	}
}

// runtimePrelude names the Lambda runtime a script's functions use.
func runtimePrelude(rt ltypes.Runtime) string { return "RUNTIME = \"" + string(rt) + "\"\n" }
