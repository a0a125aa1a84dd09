package e2e_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/batch"
	"github.com/aws/aws-sdk-go-v2/service/batch/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	ltypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/smithy-go"

	"github.com/barge-run/barge/internal/bargetest"
	"github.com/barge-run/barge/internal/bench"
)

// pythonWithBoto3 is the prefix of a host Python that has boto3 (sys.prefix); the test skips
// without one. Jobs reach it through a read-only volume at /srv (a directory every Debian host
// has: the host root jobs see is read-only, so a mount point must exist on it).
func pythonWithBoto3(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("python3", "-c", "import boto3, sys; print(sys.prefix)").Output()
	if err != nil {
		t.Skipf("no host python3 with boto3: %v", err)
	}
	return strings.TrimSpace(string(out))
}

// TestJobCallsBack: a job's own code calls barge with no keys or endpoint configured — boto3 in
// Python and the AWS CLI, both unmodified, find the credentials and AWS_ENDPOINT_URL barge puts
// in the attempt's environment. The job reads its own status and submits a child that runs; it
// cannot see another account's job; its credentials are refused once the attempt has ended.
func TestJobCallsBack(t *testing.T) {
	t.Parallel()
	prefix := pythonWithBoto3(t)
	dir, other := twoAccounts(t)
	b := bargetest.Start(t, bargetest.WithDataDir(dir), bargetest.WithArgs("--volume-root", prefix))
	c, ctx := b.Batch(), context.Background()

	// Another account's job, which the first account's job must not see.
	oc := batch.NewFromConfig(b.Config(other))
	register(t, oc, "theirs", &types.ContainerProperties{Command: []string{"true"}})
	theirs := submit(t, oc, &batch.SubmitJobInput{JobName: aws.String("theirs"), JobDefinition: aws.String("theirs")})

	register(t, c, "child", &types.ContainerProperties{Command: []string{"echo", "child-ran"}})
	withPython := func(cmd ...string) *types.ContainerProperties {
		return &types.ContainerProperties{Command: cmd, ResourceRequirements: reqs("1", "256"),
			// The host's Python finds its libpython by an absolute RUNPATH under /root, which the
			// job's unprivileged user cannot enter: point the loader at the volume.
			Environment: []types.KeyValuePair{{Name: aws.String("LD_LIBRARY_PATH"), Value: aws.String("/srv/lib")}},
			JobRoleArn:  aws.String("arn:aws:iam::000000000000:role/parent"),
			Volumes:     []types.Volume{{Name: aws.String("py"), Host: &types.Host{SourcePath: aws.String(prefix)}}},
			MountPoints: []types.MountPoint{{SourceVolume: aws.String("py"), ContainerPath: aws.String("/srv"), ReadOnly: aws.Bool(true)}}}
	}
	register(t, c, "parent", withPython("/srv/bin/python3", "-c", `
import os, boto3
b = boto3.client("batch")
me = b.describe_jobs(jobs=[os.environ["AWS_BATCH_JOB_ID"]])["jobs"][0]
print("status", me["status"])
print("theirs", len(b.describe_jobs(jobs=[os.environ["THEIRS"]])["jobs"]))
print("child", b.submit_job(jobName="child", jobQueue="default", jobDefinition="child")["jobId"])
print("creds", os.environ["AWS_ACCESS_KEY_ID"], os.environ["AWS_SECRET_ACCESS_KEY"], os.environ["AWS_SESSION_TOKEN"])
`))
	register(t, c, "cli", withPython("sh", "-c",
		`/srv/bin/python3 /srv/bin/aws batch describe-jobs --jobs "$AWS_BATCH_JOB_ID" --query 'jobs[0].status' --output text`))

	parent := submit(t, c, &batch.SubmitJobInput{JobName: aws.String("parent"), JobDefinition: aws.String("parent"),
		ContainerOverrides: &types.ContainerOverrides{Environment: []types.KeyValuePair{{Name: aws.String("THEIRS"), Value: aws.String(theirs)}}}})
	cli := submit(t, c, &batch.SubmitJobInput{JobName: aws.String("cli"), JobDefinition: aws.String("cli")})
	got := map[string][]string{}
	for _, id := range []string{parent, cli} {
		j := bargetest.WaitJob(t, c, id, jobWait, terminal)
		lines := logLines(t, b.Logs(), aws.ToString(j.Container.LogStreamName))
		if j.Status != types.JobStatusSucceeded {
			t.Fatalf("job %s: %s %q %q\n%s", aws.ToString(j.JobName), j.Status, aws.ToString(j.StatusReason), aws.ToString(j.Container.Reason), strings.Join(lines, "\n"))
		}
		for _, l := range lines {
			f := strings.Fields(l)
			if len(f) > 0 {
				got[aws.ToString(j.JobName)+" "+f[0]] = f[1:]
			}
		}
	}
	if s := got["parent status"]; len(s) != 1 || s[0] != "RUNNING" {
		t.Errorf("the job read its own status as %q", s)
	}
	if s := got["parent theirs"]; len(s) != 1 || s[0] != "0" {
		t.Errorf("the job saw %q of another account's jobs", s)
	}
	if s := got["cli RUNNING"]; s == nil {
		t.Errorf("the AWS CLI inside a job did not print its status: %v", got)
	}
	child := got["parent child"]
	if len(child) != 1 {
		t.Fatalf("the job submitted no child: %v", got)
	}
	if j := bargetest.WaitJob(t, c, child[0], jobWait, terminal); j.Status != types.JobStatusSucceeded {
		t.Fatalf("the child: %s", j.Status)
	}

	// The attempt is over: its credentials are refused.
	creds := got["parent creds"]
	if len(creds) != 3 || !strings.HasPrefix(creds[0], "ASIA") {
		t.Fatalf("the job's credentials: %q", creds)
	}
	cfg := b.Config()
	cfg.Credentials = credentials.NewStaticCredentialsProvider(creds[0], creds[1], creds[2])
	cfg.RetryMaxAttempts = 1
	_, err := batch.NewFromConfig(cfg).DescribeJobs(ctx, &batch.DescribeJobsInput{Jobs: []string{parent}})
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != "ExpiredTokenException" {
		t.Fatalf("the ended attempt's credentials: %v", err)
	}
}

// TestFunctionCallsBack: a function (Go, the AWS SDK's default configuration, no keys in its
// code) reads its own configuration and invokes another function with the credentials and
// endpoint barge gives its instance; those credentials belong to its account only and are
// refused once the instance is gone.
func TestFunctionCallsBack(t *testing.T) {
	t.Parallel()
	dir, other := twoAccounts(t)
	b := bargetest.Start(t, bargetest.WithDataDir(dir), bargetest.WithArgs("--function-idle", "2s"))
	lc, ctx := lambda.NewFromConfig(b.Config()), context.Background()
	create := func(name, role string, code []byte) {
		t.Helper()
		if _, err := lc.CreateFunction(ctx, &lambda.CreateFunctionInput{
			FunctionName: aws.String(name), Runtime: ltypes.RuntimeProvidedal2023, Handler: aws.String("bootstrap"),
			Role: aws.String(role), Code: &ltypes.FunctionCode{ZipFile: code}, Timeout: aws.Int32(20)}); err != nil {
			t.Fatalf("create %s: %v", name, err)
		}
	}
	create("echo", "arn:aws:iam::000000000000:role/echo", echoFunction(t))
	create("caller", "arn:aws:iam::000000000000:role/caller", buildFunction(t, "./internal/e2e/callbackfn"))
	out, err := lc.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("caller"), Payload: []byte(`{"invoke":"echo","payload":{"hello":"from caller"}}`)})
	if err != nil || out.FunctionError != nil {
		t.Fatalf("invoke caller: %v %s %s", err, aws.ToString(out.FunctionError), out.Payload)
	}
	var r struct {
		Role    string `json:"role"`
		Timeout int32  `json:"timeout"`
		Answer  struct {
			Event json.RawMessage `json:"event"`
		} `json:"answer"`
		KeyID  string `json:"keyId"`
		Secret string `json:"secret"`
		Token  string `json:"token"`
	}
	if err := json.Unmarshal(out.Payload, &r); err != nil {
		t.Fatalf("%v: %s", err, out.Payload)
	}
	if r.Role != "arn:aws:iam::000000000000:role/caller" || r.Timeout != 20 || !strings.HasPrefix(r.KeyID, "ASIA") ||
		!strings.Contains(string(r.Answer.Event), "from caller") {
		t.Fatalf("the function's calls back: %s", out.Payload)
	}

	// Its credentials see its own account only: another account's function does not exist for
	// them.
	if _, err := lambda.NewFromConfig(b.Config(other)).CreateFunction(ctx, &lambda.CreateFunctionInput{
		FunctionName: aws.String("theirs"), Runtime: ltypes.RuntimeProvidedal2023, Handler: aws.String("bootstrap"),
		Role: aws.String("arn:aws:iam::111111111111:role/x"), Code: &ltypes.FunctionCode{ZipFile: echoFunction(t)}}); err != nil {
		t.Fatal(err)
	}
	cfg := b.Config()
	cfg.Credentials = credentials.NewStaticCredentialsProvider(r.KeyID, r.Secret, r.Token)
	cfg.RetryMaxAttempts = 1
	asInstance := lambda.NewFromConfig(cfg)
	var notFound *ltypes.ResourceNotFoundException
	if _, err := asInstance.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("theirs")}); !errors.As(err, &notFound) {
		t.Fatalf("another account's function with the instance's credentials: %v", err)
	}
	// The instance is reaped after 2 s idle; from then on its credentials are refused.
	deadline := time.Now().Add(jobWait)
	for {
		_, err := asInstance.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("caller")})
		var ae smithy.APIError
		if errors.As(err, &ae) && ae.ErrorCode() == "ExpiredTokenException" {
			break
		}
		if err != nil || time.Now().After(deadline) {
			t.Fatalf("the instance's credentials after it idled out: %v", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// buildFunction builds a Go function package of this module as a provided.al2023 zip.
func buildFunction(t *testing.T, pkg string) []byte {
	t.Helper()
	root, err := bench.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	bootstrap := filepath.Join(dir, "bootstrap")
	cmd := exec.Command("go", append(append([]string{"build", "-o", bootstrap}, bench.EchoBuildFlags...), pkg)...)
	cmd.Dir, cmd.Env = root, append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", pkg, err, out)
	}
	zip, err := bench.ZipBootstrap(bootstrap)
	if err != nil {
		t.Fatal(err)
	}
	return zip
}
