package sigv4

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/batch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/smithy-go"
)

const testFunctionARN = "arn:aws:lambda:us-east-1:123456789012:function:hello"

// seen is what the test server recorded about one verified request.
type seen struct {
	requestURI    string
	authorization string
	canonicalURI  string // escapePath(requestPath)
	singleEncoded bool   // would the signature also match with the path encoded only once?
	result        Result
	err           error
}

// fakeAWS is an httptest server that verifies every request with a real
// Verifier (real clock) and answers like Batch, Lambda or CloudWatch Logs.
type fakeAWS struct {
	*httptest.Server
	v    *Verifier
	mu   sync.Mutex
	reqs []seen
}

func newFakeAWS(t *testing.T) *fakeAWS {
	f := &fakeAWS{v: &Verifier{Lookup: lookup}}
	f.Server = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeAWS) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	res, err := f.v.Verify(r, body)
	s := seen{requestURI: r.RequestURI, authorization: r.Header.Get("Authorization"), canonicalURI: escapePath(requestPath(r)), result: res, err: err}
	if err == nil {
		// Double-check the exact path encoding rule: the signature must not
		// also verify with the path encoded only once.
		a, _ := parseAuth(r)
		payload, _ := payloadHash(r, body)
		key := f.v.signingKey(testCred.SecretAccessKey, a.scopeDate, a.region, a.service)
		s.singleEncoded = a.matches(r, key, requestPath(r), payload)
	}
	f.mu.Lock()
	f.reqs = append(f.reqs, s)
	f.mu.Unlock()

	if err != nil {
		var e *Error
		errors.As(err, &e)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Amzn-Errortype", e.Code)
		w.WriteHeader(e.Status)
		json.NewEncoder(w).Encode(map[string]string{"__type": e.Code, "message": e.Message})
		return
	}
	switch {
	case r.URL.Path == "/v1/submitjob":
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"jobArn":"arn:aws:batch:us-east-1:123456789012:job/1","jobName":"j","jobId":"1"}`)
	case r.URL.Path == "/v1/listjobs":
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"jobSummaryList":[]}`)
	case strings.HasPrefix(r.URL.Path, "/2015-03-31/functions/"):
		w.Header().Set("Content-Type", "application/json")
		w.Write(body) // echo the payload back
	case r.Header.Get("X-Amz-Target") == "Logs_20140328.DescribeLogGroups":
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		io.WriteString(w, `{"logGroups":[]}`)
	default:
		http.Error(w, "unexpected request "+r.Method+" "+r.RequestURI, http.StatusNotFound)
	}
}

func (f *fakeAWS) last(t *testing.T) seen {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.reqs) == 0 {
		t.Fatal("server saw no request")
	}
	return f.reqs[len(f.reqs)-1]
}

func signedHeaders(authz string) string {
	m := signedHeadersRE.FindString(authz)
	return strings.TrimPrefix(m, "SignedHeaders=")
}

func sdkConfig(url, akid, secret string) aws.Config {
	return aws.Config{
		Region:           "us-east-1",
		Credentials:      credentials.NewStaticCredentialsProvider(akid, secret, ""),
		BaseEndpoint:     aws.String(url),
		RetryMaxAttempts: 1,
	}
}

func TestSDKBatchSubmitJob(t *testing.T) {
	f := newFakeAWS(t)
	c := batch.NewFromConfig(sdkConfig(f.URL, testCred.AccessKeyID, testCred.SecretAccessKey))
	out, err := c.SubmitJob(context.Background(), &batch.SubmitJobInput{
		JobName: aws.String("j"), JobQueue: aws.String("q"), JobDefinition: aws.String("d:1"),
	})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(out.JobId) != "1" {
		t.Fatalf("JobId = %q", aws.ToString(out.JobId))
	}
	s := f.last(t)
	if s.result.Service != "batch" || s.result.Region != "us-east-1" || s.result.Credential.AccountID != testCred.AccountID {
		t.Fatalf("result = %+v", s.result)
	}
	t.Logf("aws-sdk-go-v2 batch SignedHeaders=%s", signedHeaders(s.authorization))
}

func TestSDKBatchWrongSecret(t *testing.T) {
	f := newFakeAWS(t)
	c := batch.NewFromConfig(sdkConfig(f.URL, testCred.AccessKeyID, "wrong"))
	_, err := c.SubmitJob(context.Background(), &batch.SubmitJobInput{
		JobName: aws.String("j"), JobQueue: aws.String("q"), JobDefinition: aws.String("d:1"),
	})
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != "InvalidSignatureException" {
		t.Fatalf("err = %v, want InvalidSignatureException", err)
	}
}

func TestSDKLambdaInvokeByARN(t *testing.T) {
	f := newFakeAWS(t)
	c := lambda.NewFromConfig(sdkConfig(f.URL, testCred.AccessKeyID, testCred.SecretAccessKey))
	out, err := c.Invoke(context.Background(), &lambda.InvokeInput{
		FunctionName: aws.String(testFunctionARN),
		Payload:      []byte(`{"k":"v"}`),
	})
	if err != nil {
		t.Fatal(err)
	}
	if string(out.Payload) != `{"k":"v"}` {
		t.Fatalf("payload = %s", out.Payload)
	}
	s := f.last(t)
	const wantURI = "/2015-03-31/functions/arn%3Aaws%3Alambda%3Aus-east-1%3A123456789012%3Afunction%3Ahello/invocations"
	if s.requestURI != wantURI {
		t.Fatalf("RequestURI = %q, want %q", s.requestURI, wantURI)
	}
	if !strings.Contains(s.canonicalURI, "arn%253Aaws%253Alambda") {
		t.Fatalf("canonical URI = %q, want double-encoded ARN", s.canonicalURI)
	}
	if s.singleEncoded {
		t.Fatal("signature also matched the single-encoded path; the SDK is expected to double-encode")
	}
	if s.result.Service != "lambda" {
		t.Fatalf("result = %+v", s.result)
	}
	t.Logf("aws-sdk-go-v2 lambda SignedHeaders=%s", signedHeaders(s.authorization))
}

func TestSDKCloudWatchLogs(t *testing.T) {
	f := newFakeAWS(t)
	c := cloudwatchlogs.NewFromConfig(sdkConfig(f.URL, testCred.AccessKeyID, testCred.SecretAccessKey))
	if _, err := c.DescribeLogGroups(context.Background(), &cloudwatchlogs.DescribeLogGroupsInput{
		LogGroupNamePrefix: aws.String("/aws/batch/job"),
	}); err != nil {
		t.Fatal(err)
	}
	s := f.last(t)
	sh := signedHeaders(s.authorization)
	if !strings.Contains(sh, "x-amz-target") {
		t.Fatalf("X-Amz-Target not signed: %s", sh)
	}
	if s.result.Service != "logs" {
		t.Fatalf("result = %+v", s.result)
	}
	t.Logf("aws-sdk-go-v2 logs SignedHeaders=%s", sh)

	// Unknown access key surfaces as the AWS error code through the SDK.
	c = cloudwatchlogs.NewFromConfig(sdkConfig(f.URL, "AKIDNOBODY", "x"))
	_, err := c.DescribeLogGroups(context.Background(), &cloudwatchlogs.DescribeLogGroupsInput{})
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != "UnrecognizedClientException" {
		t.Fatalf("err = %v, want UnrecognizedClientException", err)
	}
}

// botoScript exercises boto3 against the server: Batch ListJobs (the
// required check), Lambda Invoke by ARN and CloudWatch Logs.
const botoScript = `
import json, os, sys
import boto3
from botocore.config import Config
kw = dict(endpoint_url=os.environ["BARGE_ENDPOINT"], region_name="us-east-1",
          aws_access_key_id=os.environ["BARGE_AKID"], aws_secret_access_key=os.environ["BARGE_SECRET"],
          config=Config(retries={"max_attempts": 1}))
out = {}
out["list_jobs"] = boto3.client("batch", **kw).list_jobs(jobQueue="q")["jobSummaryList"]
r = boto3.client("lambda", **kw).invoke(FunctionName=os.environ["BARGE_ARN"], Payload=b'{"k":"v"}')
out["invoke"] = r["Payload"].read().decode()
out["log_groups"] = boto3.client("logs", **kw).describe_log_groups(logGroupNamePrefix="/aws/batch")["logGroups"]
print(json.dumps(out))
`

func TestBoto3(t *testing.T) {
	python, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 not installed")
	}
	if err := exec.Command(python, "-c", "import boto3").Run(); err != nil {
		t.Skip("boto3 not installed")
	}
	f := newFakeAWS(t)
	cmd := exec.Command(python, "-c", botoScript)
	// Keep the developer's AWS settings (profiles, endpoints, tokens) out.
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AWS_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env,
		"BARGE_ENDPOINT="+f.URL, "BARGE_AKID="+testCred.AccessKeyID, "BARGE_SECRET="+testCred.SecretAccessKey, "BARGE_ARN="+testFunctionARN,
		"AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null", "AWS_EC2_METADATA_DISABLED=true")
	out, err := cmd.CombinedOutput()
	f.mu.Lock()
	reqs := append([]seen(nil), f.reqs...)
	f.mu.Unlock()
	for _, s := range reqs {
		if s.err != nil {
			t.Errorf("server rejected boto3 request %s: %v", s.requestURI, s.err)
		} else {
			t.Logf("boto3 %s %s SignedHeaders=%s", s.result.Service, s.requestURI, signedHeaders(s.authorization))
		}
	}
	if err != nil {
		t.Fatalf("boto3: %v\n%s", err, out)
	}
	var got struct {
		ListJobs  []any  `json:"list_jobs"`
		Invoke    string `json:"invoke"`
		LogGroups []any  `json:"log_groups"`
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("boto3 output %q: %v", out, err)
	}
	if got.ListJobs == nil || len(got.ListJobs) != 0 || got.Invoke != `{"k":"v"}` || got.LogGroups == nil {
		t.Fatalf("boto3 output = %s", out)
	}
	if len(reqs) != 3 {
		t.Fatalf("server saw %d requests, want 3", len(reqs))
	}
	for _, s := range reqs {
		if strings.Contains(s.requestURI, "arn%3A") && s.singleEncoded {
			t.Fatal("boto3 signature matched a single-encoded ARN path")
		}
	}
}
