package e2e_test

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	ltypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/barge-run/barge/internal/bargetest"
)

// motoS3 is a local S3-compatible server (moto's, which every machine here has): its endpoint and
// an S3 client of it. The test skips without moto_server.
func motoS3(t *testing.T) (endpoint string, client *s3.Client) {
	t.Helper()
	endpoint = motoServer(t)
	client = s3.New(s3.Options{Region: "us-east-1", BaseEndpoint: aws.String(endpoint), UsePathStyle: true,
		Credentials: credentials.NewStaticCredentialsProvider("moto", "moto", "")})
	return endpoint, client
}

// motoServer starts moto_server on a free loopback port until the test ends and returns its
// endpoint; the test skips without moto_server.
func motoServer(t testing.TB) (endpoint string) {
	t.Helper()
	bin := tool(t, "moto_server")
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	cmd := exec.Command(bin, "-H", "127.0.0.1", "-p", strconv.Itoa(port))
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		cmd.Wait()
	})
	endpoint = "http://127.0.0.1:" + strconv.Itoa(port)
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(endpoint + "/moto-api/")
		if err == nil {
			resp.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("moto_server did not answer on %s: %v\n%s", endpoint, err, out.String())
		}
		time.Sleep(50 * time.Millisecond) // polling a server's readiness, not synchronising with barge
	}
	return endpoint
}

// TestLambdaCodeFromS3: with --s3-endpoint naming a real local S3 server, CreateFunction,
// UpdateFunctionCode and PublishLayerVersion take their package from Code.S3Bucket/S3Key as SAM,
// CDK and CloudFormation give it; a missing object is S3's error in Lambda's words.
func TestLambdaCodeFromS3(t *testing.T) {
	t.Parallel()
	runtime := hostPython(t)
	endpoint, s3c := motoS3(t)
	ctx := context.Background()
	if _, err := s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("deploys")}); err != nil {
		t.Fatal(err)
	}
	put := func(key string, files map[string]string) {
		t.Helper()
		if _, err := s3c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("deploys"), Key: aws.String(key), Body: bytes.NewReader(zipSources(t, files))}); err != nil {
			t.Fatal(err)
		}
	}
	put("app/v1.zip", map[string]string{"app.py": "import shared\ndef handler(e, c):\n    return 'v1 ' + shared.WORD\n"})
	put("app/v2.zip", map[string]string{"app.py": "import shared\ndef handler(e, c):\n    return 'v2 ' + shared.WORD\n"})
	put("layers/shared.zip", map[string]string{"python/shared.py": "WORD = 'from an S3 layer'\n"})

	b := bargetest.Start(t, bargetest.WithArgs("--s3-endpoint", endpoint),
		bargetest.WithEnv("AWS_ACCESS_KEY_ID=moto", "AWS_SECRET_ACCESS_KEY=moto", "AWS_SESSION_TOKEN=", "AWS_PROFILE=", "AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null"))
	c := lambda.NewFromConfig(b.Config())
	layer, err := c.PublishLayerVersion(ctx, &lambda.PublishLayerVersionInput{LayerName: aws.String("shared"),
		Content: &ltypes.LayerVersionContentInput{S3Bucket: aws.String("deploys"), S3Key: aws.String("layers/shared.zip")}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateFunction(ctx, &lambda.CreateFunctionInput{FunctionName: aws.String("from-s3"), Runtime: runtime, Handler: aws.String("app.handler"),
		Role: aws.String("arn:aws:iam::000000000000:role/any"), Layers: []string{aws.ToString(layer.LayerVersionArn)},
		Code: &ltypes.FunctionCode{S3Bucket: aws.String("deploys"), S3Key: aws.String("app/v1.zip")}}); err != nil {
		t.Fatal(err)
	}
	invoke := func(want string) {
		t.Helper()
		out, err := c.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("from-s3")})
		if err != nil || string(out.Payload) != `"`+want+`"` {
			t.Fatalf("invoke: %s %v; want %q", out.Payload, err, want)
		}
	}
	invoke("v1 from an S3 layer")
	if _, err := c.UpdateFunctionCode(ctx, &lambda.UpdateFunctionCodeInput{FunctionName: aws.String("from-s3"),
		S3Bucket: aws.String("deploys"), S3Key: aws.String("app/v2.zip")}); err != nil {
		t.Fatal(err)
	}
	invoke("v2 from an S3 layer")

	_, err = c.UpdateFunctionCode(ctx, &lambda.UpdateFunctionCodeInput{FunctionName: aws.String("from-s3"),
		S3Bucket: aws.String("deploys"), S3Key: aws.String("app/missing.zip")})
	if errorCode(err) != "InvalidParameterValueException" || !strings.Contains(err.Error(), "NoSuchKey") {
		t.Fatalf("a missing object: %v", err)
	}
	_, err = c.CreateFunction(ctx, &lambda.CreateFunctionInput{FunctionName: aws.String("both"), Runtime: runtime, Handler: aws.String("app.handler"),
		Role: aws.String("arn:aws:iam::000000000000:role/any"),
		Code: &ltypes.FunctionCode{S3Bucket: aws.String("deploys"), S3Key: aws.String("app/v1.zip"), ZipFile: []byte("PK")}})
	if errorCode(err) != "InvalidParameterValueException" || !strings.Contains(err.Error(), "Code.ZipFile") {
		t.Fatalf("both a zip and an S3 location: %v", err)
	}
	invoke("v2 from an S3 layer") // nothing the refused calls touched changed
}

// TestLambdaCodeFromS3Boto3: boto3's create_function, update_function_code and
// publish_layer_version with S3 locations, against a barge started with --s3-endpoint.
func TestLambdaCodeFromS3Boto3(t *testing.T) {
	t.Parallel()
	runtime := hostPython(t)
	python := boto3Python(t)
	endpoint, s3c := motoS3(t)
	ctx := context.Background()
	if _, err := s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("artifacts")}); err != nil {
		t.Fatal(err)
	}
	for key, files := range map[string]map[string]string{
		"fn/v1.zip":     {"app.py": "def handler(e, c):\n    return 'one'\n"},
		"fn/v2.zip":     {"app.py": "import lib\ndef handler(e, c):\n    return 'two ' + lib.X\n"},
		"layer/lib.zip": {"python/lib.py": "X = 'with a layer'\n"},
	} {
		if _, err := s3c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("artifacts"), Key: aws.String(key), Body: bytes.NewReader(zipSources(t, files))}); err != nil {
			t.Fatal(err)
		}
	}
	b := bargetest.Start(t, bargetest.WithArgs("--s3-endpoint", endpoint),
		bargetest.WithEnv("AWS_ACCESS_KEY_ID=moto", "AWS_SECRET_ACCESS_KEY=moto", "AWS_SESSION_TOKEN=", "AWS_PROFILE=", "AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null"))
	script := `
import boto3
from botocore.exceptions import ClientError
lam = boto3.client("lambda")
lam.create_function(FunctionName="s3fn", Runtime=RUNTIME, Handler="app.handler", Role="arn:aws:iam::000000000000:role/any",
    Code={"S3Bucket": "artifacts", "S3Key": "fn/v1.zip"})
assert lam.invoke(FunctionName="s3fn")["Payload"].read() == b'"one"'
layer = lam.publish_layer_version(LayerName="lib", Content={"S3Bucket": "artifacts", "S3Key": "layer/lib.zip"})
lam.update_function_code(FunctionName="s3fn", S3Bucket="artifacts", S3Key="fn/v2.zip")
lam.update_function_configuration(FunctionName="s3fn", Layers=[layer["LayerVersionArn"]])
assert lam.invoke(FunctionName="s3fn")["Payload"].read() == b'"two with a layer"'
try:
    lam.update_function_code(FunctionName="s3fn", S3Bucket="artifacts", S3Key="fn/missing.zip")
    raise AssertionError("a missing object was accepted")
except ClientError as e:
    assert e.response["Error"]["Code"] == "InvalidParameterValueException" and "NoSuchKey" in e.response["Error"]["Message"], e.response
print("s3 ok")
`
	runSelfCheckingScript(t, b, python, runtimePrelude(runtime), script, "s3 ok")
}
