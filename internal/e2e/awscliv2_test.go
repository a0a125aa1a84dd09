package e2e_test

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	ltypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/barge-run/barge/internal/bargetest"
)

// TestCLIv2: the AWS CLI v2 (Debian's package, /usr/bin/aws) against barge — its request shapes
// differ from v1's (it sends "GET /2015-03-31/functions/" with a trailing slash).
func TestCLIv2(t *testing.T) {
	t.Parallel()
	const cli = "/usr/bin/aws"
	if out, err := exec.Command(cli, "--version").Output(); err != nil || !strings.HasPrefix(string(out), "aws-cli/2.") {
		t.Skipf("no AWS CLI v2 at %s (Debian: apt install awscli): %v %s", cli, err, out)
	}
	b := bargetest.Start(t)
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	if _, err := lambda.NewFromConfig(b.Config()).CreateFunction(ctx, &lambda.CreateFunctionInput{
		FunctionName: aws.String("echo"), Runtime: ltypes.RuntimeProvidedal2023, Handler: aws.String("bootstrap"),
		Role: aws.String("arn:aws:iam::000000000000:role/any"), Code: &ltypes.FunctionCode{ZipFile: echoFunction(t)}}); err != nil {
		t.Fatal(err)
	}
	env := append(b.Env(), "HOME="+t.TempDir(), "AWS_PAGER=")
	out := t.TempDir() + "/out.json"
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"lambda", "list-functions"}, `"FunctionName": "echo"`},
		{[]string{"lambda", "get-function", "--function-name", "echo"}, `"FunctionName": "echo"`},
		{[]string{"lambda", "invoke", "--function-name", "echo", "--cli-binary-format", "raw-in-base64-out", "--payload", `{"v":2}`, out}, `"StatusCode": 200`},
		{[]string{"batch", "describe-job-queues"}, `"jobQueueName": "default"`},
	} {
		// Debian 12's v2.9 predates AWS_ENDPOINT_URL (v2.13): the endpoint is a flag.
		res := runCmd(t, ctx, env, cli, append([]string{"--endpoint-url", b.Endpoint}, tc.args...)...)
		if res.code != 0 || !strings.Contains(res.stdout, tc.want) {
			t.Errorf("aws %s:\n%s", strings.Join(tc.args, " "), res)
		}
	}
	if b, err := os.ReadFile(out); err != nil || !strings.Contains(string(b), `"v":2`) {
		t.Errorf("the invoke's answer: %s %v", b, err)
	}
}
