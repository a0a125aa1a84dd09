package e2e_test

import (
	"context"
	"os"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	ltypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/barge-run/barge/internal/bargetest"
)

// TestNodeSDK: a Node.js function requires or imports the AWS SDK for JavaScript v3 without
// bundling it, as on Lambda (barge's copy, from `barge runtime install node-sdk`), and calls
// barge with it with no configuration in its code.
func TestNodeSDK(t *testing.T) {
	t.Parallel()
	if _, err := os.Stat("/usr/local/lib/barge/nodejs/node_modules/@aws-sdk/client-lambda"); err != nil {
		t.Skip("the AWS SDK for JavaScript is not installed (barge runtime install node-sdk)")
	}
	rt := hostNode(t)
	b := bargetest.Start(t)
	c, ctx := lambda.NewFromConfig(b.Config()), context.Background()
	pkg := zipSources(t, map[string]string{
		"cjs.js": `const { LambdaClient, GetFunctionConfigurationCommand } = require('@aws-sdk/client-lambda');
exports.handler = async () => {
  const me = await new LambdaClient({}).send(new GetFunctionConfigurationCommand({ FunctionName: process.env.AWS_LAMBDA_FUNCTION_NAME }));
  return me.FunctionName;
};`,
		"esm.mjs": `import { LambdaClient, GetFunctionConfigurationCommand } from '@aws-sdk/client-lambda';
export const handler = async () => {
  const me = await new LambdaClient({}).send(new GetFunctionConfigurationCommand({ FunctionName: process.env.AWS_LAMBDA_FUNCTION_NAME }));
  return me.FunctionName;
};`,
	})
	for _, name := range []string{"cjs", "esm"} {
		t.Run(name, func(t *testing.T) {
			if _, err := c.CreateFunction(ctx, &lambda.CreateFunctionInput{FunctionName: aws.String(name), Runtime: rt, Timeout: aws.Int32(20),
				Handler: aws.String(name + ".handler"), Role: aws.String("arn:aws:iam::000000000000:role/any"), Code: &ltypes.FunctionCode{ZipFile: pkg}}); err != nil {
				t.Fatal(err)
			}
			out, err := c.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String(name), LogType: ltypes.LogTypeTail})
			if err != nil || string(out.Payload) != `"`+name+`"` {
				t.Fatalf("%v %s %s", err, aws.ToString(out.FunctionError), out.Payload)
			}
		})
	}
}
