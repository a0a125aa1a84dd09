package e2e_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	ltypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/barge-run/barge/internal/bargetest"
)

// TestWireDetails: what real clients notice beyond the shapes — REST paths with a trailing slash
// (Debian's AWS CLI v2 sends "GET /2015-03-31/functions/"), Retry-After on a throttle, and an
// Invoke answered with the invocation's own request id.
func TestWireDetails(t *testing.T) {
	t.Parallel()
	b := bargetest.Start(t)
	lc, ctx := lambda.NewFromConfig(b.Config()), context.Background()
	if _, err := lc.CreateFunction(ctx, &lambda.CreateFunctionInput{
		FunctionName: aws.String("echo"), Runtime: ltypes.RuntimeProvidedal2023, Handler: aws.String("bootstrap"),
		Role: aws.String("arn:aws:iam::000000000000:role/any"), Code: &ltypes.FunctionCode{ZipFile: echoFunction(t)}}); err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct{ service, method, path, want string }{
		{"lambda", "GET", "/2015-03-31/functions/", `"FunctionName":"echo"`},
		{"lambda", "GET", "/2015-03-31/functions/echo/", `"FunctionName":"echo"`},
		{"batch", "POST", "/v1/describejobqueues/", `"jobQueueName":"default"`},
	} {
		status, body := signedCall(t, b, tc.service, tc.method, tc.path)
		if status != http.StatusOK || !strings.Contains(body, tc.want) {
			t.Errorf("%s %s: %d %.300s", tc.method, tc.path, status, body)
		}
	}

	// The invocation's request id is the answer's.
	out, err := lc.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("echo"), LogType: ltypes.LogTypeTail})
	if err != nil {
		t.Fatal(err)
	}
	id, _ := awsmiddleware.GetRequestIDMetadata(out.ResultMetadata)
	tail, _ := base64.StdEncoding.DecodeString(aws.ToString(out.LogResult))
	if id == "" || !strings.Contains(string(tail), "START RequestId: "+id) {
		t.Errorf("x-amzn-RequestId %q, log tail:\n%s", id, tail)
	}

	// A throttle says when to come back.
	if _, err := lc.PutFunctionConcurrency(ctx, &lambda.PutFunctionConcurrencyInput{FunctionName: aws.String("echo"), ReservedConcurrentExecutions: aws.Int32(0)}); err != nil {
		t.Fatal(err)
	}
	once := lambda.NewFromConfig(b.Config(), func(o *lambda.Options) { o.RetryMaxAttempts = 1 })
	_, err = once.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("echo")})
	var tooMany *ltypes.TooManyRequestsException
	var re *awshttp.ResponseError
	if !errors.As(err, &tooMany) || !errors.As(err, &re) || re.Response.Header.Get("Retry-After") == "" || aws.ToString(tooMany.RetryAfterSeconds) == "" {
		t.Fatalf("a throttled invoke: %v", err)
	}
}

// signedCall sends a request with no body, signed with the default account's key, and returns
// the answer.
func signedCall(t *testing.T, b *bargetest.Barge, service, method, path string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, b.Endpoint+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	empty := sha256.Sum256(nil)
	creds := aws.Credentials{AccessKeyID: b.Cred.AccessKeyID, SecretAccessKey: b.Cred.SecretAccessKey}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, hex.EncodeToString(empty[:]), service, b.Region, time.Now()); err != nil {
		t.Fatal(err)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(body)
}
