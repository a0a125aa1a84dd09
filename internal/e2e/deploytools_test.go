package e2e_test

import (
	"archive/zip"
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	ltypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/barge-run/barge/internal/bargetest"
)

// TestLambdaDeployToolCalls: what Terraform, SAM and CDK call after CreateFunction works —
// Publish's version ARN accepted by the next calls, TracingConfig kept, ListFunctions with
// FunctionVersion=ALL listing the published versions too.
func TestLambdaDeployToolCalls(t *testing.T) {
	t.Parallel()
	b := bargetest.Start(t)
	c, ctx := lambda.NewFromConfig(b.Config()), context.Background()
	created, err := c.CreateFunction(ctx, &lambda.CreateFunctionInput{FunctionName: aws.String("tool"), Runtime: ltypes.RuntimeProvidedal2023,
		Handler: aws.String("bootstrap"), Role: aws.String("arn:aws:iam::000000000000:role/any"), Code: &ltypes.FunctionCode{ZipFile: echoFunction(t)},
		Publish: true, TracingConfig: &ltypes.TracingConfig{Mode: ltypes.TracingModeActive}})
	if err != nil {
		t.Fatal(err)
	}
	arn := aws.ToString(created.FunctionArn)
	if aws.ToString(created.Version) != "1" || created.TracingConfig == nil || created.TracingConfig.Mode != ltypes.TracingModeActive {
		t.Fatalf("CreateFunction with Publish and TracingConfig: version %q, tracing %+v, arn %s", aws.ToString(created.Version), created.TracingConfig, arn)
	}
	// The version's ARN, as CreateFunction answered it, in the calls that follow; its package is
	// fetched from the link GetFunction gives, as from Lambda's presigned S3 URL.
	got, err := c.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String(arn)})
	if err != nil {
		t.Fatalf("GetFunction %s: %v", arn, err)
	}
	link := aws.ToString(got.Code.Location)
	res, err := http.Get(link)
	if err != nil {
		t.Fatal(err)
	}
	pkg, _ := io.ReadAll(res.Body)
	res.Body.Close()
	zr, err := zip.NewReader(bytes.NewReader(pkg), int64(len(pkg)))
	if res.StatusCode != http.StatusOK || err != nil || len(zr.File) != 1 || zr.File[0].Name != "bootstrap" || aws.ToString(got.Code.RepositoryType) != "S3" {
		t.Fatalf("the package at Code.Location %s: %d %v", link, res.StatusCode, err)
	}
	if res, err := http.Get(link[:len(link)-2] + "xx"); err != nil || res.StatusCode != http.StatusForbidden {
		t.Errorf("a tampered link: %v %v", err, res)
	}
	if out, err := c.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String(arn)}); err != nil || aws.ToString(out.ExecutedVersion) != "1" {
		t.Errorf("Invoke %s: %v %+v", arn, err, out)
	}
	if _, err := c.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{FunctionName: aws.String("tool"),
		TracingConfig: &ltypes.TracingConfig{Mode: ltypes.TracingModePassThrough}}); err != nil {
		t.Fatal(err)
	}
	cfg, err := c.GetFunctionConfiguration(ctx, &lambda.GetFunctionConfigurationInput{FunctionName: aws.String("tool")})
	if err != nil || cfg.TracingConfig == nil || cfg.TracingConfig.Mode != ltypes.TracingModePassThrough {
		t.Errorf("TracingConfig after the update: %v %+v", err, cfg)
	}
	all, err := c.ListFunctions(ctx, &lambda.ListFunctionsInput{FunctionVersion: ltypes.FunctionVersionAll})
	var versions []string
	for _, f := range all.Functions {
		versions = append(versions, aws.ToString(f.Version))
	}
	if err != nil || strings.Join(versions, ",") != "$LATEST,1" {
		t.Errorf("ListFunctions(FunctionVersion=ALL): %v %q", err, versions)
	}
}
