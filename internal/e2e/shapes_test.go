package e2e_test

import (
	"strings"
	"testing"

	"github.com/barge-run/barge/internal/bargetest"
)

// shapesScript indexes what AWS always returns, as Python callers do without checking, and
// stops jobs that do not exist.
const shapesScript = `
import boto3
b = boto3.client("batch")
b.register_job_definition(jobDefinitionName="bare", type="container",
    containerProperties={"image": "host", "resourceRequirements": [{"type": "VCPU", "value": "1"}, {"type": "MEMORY", "value": "64"}]})
d = b.describe_job_definitions(jobDefinitionName="bare")["jobDefinitions"][0]
print("definition", len(d["parameters"]), len(d["tags"]), len(d["containerProperties"]["command"]),
      len(d["containerProperties"]["environment"]), len(d["containerProperties"]["mountPoints"]), len(d["containerProperties"]["volumes"]))
job = b.submit_job(jobName="bare", jobQueue="default", jobDefinition="bare")["jobId"]
j = b.describe_jobs(jobs=[job])["jobs"][0]
print("job", type(j["attempts"]).__name__, len(j["tags"]), len(j["parameters"]), len(j["dependsOn"]),
      len(j["container"]["command"]), len(j["container"]["environment"]), len(j["container"]["volumes"]))
print("cancel", b.cancel_job(jobId="00000000-0000-0000-0000-000000000000", reason="x")["ResponseMetadata"]["HTTPStatusCode"])
print("terminate", b.terminate_job(jobId="00000000-0000-0000-0000-000000000000", reason="x")["ResponseMetadata"]["HTTPStatusCode"])
`

// TestResponseShapes: empty collections are present as AWS returns them ([] and {}), and stopping
// a job id nobody knows answers 200, as AWS does — through boto3, whose callers index the keys.
func TestResponseShapes(t *testing.T) {
	t.Parallel()
	python := boto3Python(t)
	b := bargetest.Start(t)
	res := runPythonScript(t, b, python, shapesScript)
	if res.code != 0 {
		t.Fatalf("the script failed (a key missing?):\n%s", res)
	}
	want := "definition 0 0 0 0 0 0\njob list 0 0 0 0 0 0\ncancel 200\nterminate 200"
	if got := strings.TrimSpace(res.stdout); got != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
}
