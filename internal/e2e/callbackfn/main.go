// Command callbackfn is a test function that calls barge back the way a function calls AWS:
// through the AWS SDK's default configuration, with no keys or endpoint in its code (barge hands
// it credentials and AWS_ENDPOINT_URL in its environment, as Lambda hands its execution role's
// credentials). It reads its own configuration and invokes the function its event names.
// internal/e2e's TestFunctionCallsBack builds and runs it.
package main

import (
	"context"
	"encoding/json"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	lambdasvc "github.com/aws/aws-sdk-go-v2/service/lambda"
)

type event struct {
	Invoke  string          `json:"invoke"`  // a function to invoke
	Payload json.RawMessage `json:"payload"` // its event
}

type reply struct {
	Role    string          `json:"role"`    // from its own GetFunctionConfiguration
	Timeout int32           `json:"timeout"` // likewise
	Answer  json.RawMessage `json:"answer"`  // what the invoked function returned
	// The credentials it was given, so that a test can try them after the instance is gone.
	KeyID  string `json:"keyId"`
	Secret string `json:"secret"`
	Token  string `json:"token"`
}

func handle(ctx context.Context, ev event) (reply, error) {
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return reply{}, err
	}
	c := lambdasvc.NewFromConfig(cfg)
	me, err := c.GetFunctionConfiguration(ctx, &lambdasvc.GetFunctionConfigurationInput{FunctionName: aws.String(os.Getenv("AWS_LAMBDA_FUNCTION_NAME"))})
	if err != nil {
		return reply{}, err
	}
	r := reply{Role: aws.ToString(me.Role), Timeout: aws.ToInt32(me.Timeout), KeyID: os.Getenv("AWS_ACCESS_KEY_ID"),
		Secret: os.Getenv("AWS_SECRET_ACCESS_KEY"), Token: os.Getenv("AWS_SESSION_TOKEN")}
	if ev.Invoke != "" {
		out, err := c.Invoke(ctx, &lambdasvc.InvokeInput{FunctionName: aws.String(ev.Invoke), Payload: ev.Payload})
		if err != nil {
			return reply{}, err
		}
		r.Answer = out.Payload
	}
	return r, nil
}

func main() { lambda.Start(handle) }
