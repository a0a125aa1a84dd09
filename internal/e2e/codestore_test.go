package e2e_test

import (
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/barge-run/barge/internal/bargetest"
)

// TestFunctionCodeFromTheStore: a function's code is kept in the store by its hash, so a server
// whose host has none of it unpacked (another server on the store, a data directory restored
// without its functions directory) runs the function and serves its package.
func TestFunctionCodeFromTheStore(t *testing.T) {
	b := bargetest.Start(t, bargetest.WithArgs("--isolation", "none"))
	c := lambda.NewFromConfig(b.Config())
	ctx := context.Background()
	pkg := zipSources(t, map[string]string{"app.py": "def handler(event, context):\n    return {'hello': event['name']}\n"})
	if _, err := c.CreateFunction(ctx, &lambda.CreateFunctionInput{FunctionName: aws.String("kept"), Runtime: types.RuntimePython311,
		Handler: aws.String("app.handler"), Role: aws.String("arn:aws:iam::000000000000:role/r"), Code: &types.FunctionCode{ZipFile: pkg}}); err != nil {
		t.Fatal(err)
	}
	v2 := zipSources(t, map[string]string{"app.py": "def handler(event, context):\n    return {'v2': event['name']}\n"})
	if _, err := c.UpdateFunctionCode(ctx, &lambda.UpdateFunctionCodeInput{FunctionName: aws.String("kept"), ZipFile: v2, Publish: true}); err != nil {
		t.Fatal(err)
	}
	b.Stop()
	if err := os.RemoveAll(filepath.Join(b.DataDir, "functions")); err != nil {
		t.Fatal(err)
	}
	b.Restart()
	c = lambda.NewFromConfig(b.Config())
	out, err := c.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("kept"), Qualifier: aws.String("1"), Payload: []byte(`{"name":"barge"}`)})
	if err != nil || out.FunctionError != nil || string(out.Payload) != `{"v2": "barge"}` {
		t.Fatalf("invoke after the code directory was lost: %v %v %s", err, aws.ToString(out.FunctionError), out.Payload)
	}
	got, err := c.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("kept")})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(aws.ToString(got.Code.Location))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if files := zipFiles(t, body); !strings.Contains(files["app.py"], "'v2'") {
		t.Fatalf("the package served after the restart: %v", files)
	}
	// Deleting the function forgets its packages: one made again under its name starts afresh.
	if _, err := c.DeleteFunction(ctx, &lambda.DeleteFunctionInput{FunctionName: aws.String("kept")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateFunction(ctx, &lambda.CreateFunctionInput{FunctionName: aws.String("kept"), Runtime: types.RuntimePython311,
		Handler: aws.String("app.handler"), Role: aws.String("arn:aws:iam::000000000000:role/r"), Code: &types.FunctionCode{ZipFile: pkg}}); err != nil {
		t.Fatal(err)
	}
	out, err = c.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("kept"), Payload: []byte(`{"name":"again"}`)})
	if err != nil || string(out.Payload) != `{"hello": "again"}` {
		t.Fatalf("invoke of the function made again: %v %s", err, out.Payload)
	}
}
