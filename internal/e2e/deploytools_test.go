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

// boto3DeployOpsScript drives, through boto3, the Lambda calls deploy tools make besides the
// function's own: permissions, aliases, event invoke configs, code signing, versions, tracing;
// it asserts what Lambda answers and prints "deploy ops ok" last.
const boto3DeployOpsScript = `
import io, json, zipfile
import boto3
from botocore.exceptions import ClientError

def err(call, **kw):
    try:
        call(**kw)
    except ClientError as e:
        return e.response["Error"]["Code"], e.response["ResponseMetadata"]["HTTPStatusCode"], e.response["Error"]["Message"]
    raise AssertionError("no error")

buf = io.BytesIO()
with zipfile.ZipFile(buf, "w") as z:
    z.writestr("app.py", "def handler(e, c):\n    return e\n")
lam = boto3.client("lambda")
fn = lam.create_function(FunctionName="ops", Runtime=RUNTIME, Handler="app.handler", Role="arn:aws:iam::000000000000:role/any",
    Code={"ZipFile": buf.getvalue()}, Publish=True, TracingConfig={"Mode": "Active"})
assert fn["Version"] == "1" and fn["TracingConfig"]["Mode"] == "Active", fn
conf = lam.get_function_configuration(FunctionName="ops")
assert conf["Version"] == "$LATEST" and conf["TracingConfig"]["Mode"] == "Active", conf
versions = lam.list_versions_by_function(FunctionName="ops")["Versions"]
assert [v["Version"] for v in versions] == ["$LATEST", "1"] and versions[0]["FunctionArn"].endswith(":ops:$LATEST"), versions
cs = lam.get_function_code_signing_config(FunctionName="ops")
assert cs["FunctionName"] == "ops" and not cs.get("CodeSigningConfigArn"), cs

st = json.loads(lam.add_permission(FunctionName="ops", StatementId="s3", Action="lambda:InvokeFunction", Principal="s3.amazonaws.com",
    SourceArn="arn:aws:s3:::bucket")["Statement"])
assert st["Principal"] == {"Service": "s3.amazonaws.com"} and st["Condition"]["ArnLike"]["AWS:SourceArn"] == "arn:aws:s3:::bucket", st
pol = lam.get_policy(FunctionName="ops")
assert [s["Sid"] for s in json.loads(pol["Policy"])["Statement"]] == ["s3"] and pol["RevisionId"], pol
assert err(lam.add_permission, FunctionName="ops", StatementId="s3", Action="lambda:InvokeFunction", Principal="s3.amazonaws.com")[:2] == ("ResourceConflictException", 409)
code, status, msg = err(lam.add_permission, FunctionName="ops", StatementId="bad", Action="lambda:InvokeFunction", Principal="not a principal")
assert (code, status) == ("InvalidParameterValueException", 400) and "Principal" in msg, msg
assert err(lam.remove_permission, FunctionName="ops", StatementId="s3", RevisionId="stale")[:2] == ("PreconditionFailedException", 412)
lam.remove_permission(FunctionName="ops", StatementId="s3")
assert err(lam.get_policy, FunctionName="ops")[:2] == ("ResourceNotFoundException", 404)

lam.create_alias(FunctionName="ops", Name="live", FunctionVersion="1")
alias = lam.get_alias(FunctionName="ops", Name="live")
assert alias["FunctionVersion"] == "1" and alias["AliasArn"].endswith(":function:ops:live"), alias
assert err(lam.get_alias, FunctionName="ops", Name="nope")[:2] == ("ResourceNotFoundException", 404)

lam.put_function_event_invoke_config(FunctionName="ops", MaximumRetryAttempts=0)
assert lam.get_function_event_invoke_config(FunctionName="ops")["MaximumRetryAttempts"] == 0
lam.delete_function_event_invoke_config(FunctionName="ops")
assert err(lam.get_function_event_invoke_config, FunctionName="ops")[:2] == ("ResourceNotFoundException", 404)
print("deploy ops ok")
`

// TestLambdaDeployOpsBoto3 runs boto3DeployOpsScript against a real server.
func TestLambdaDeployOpsBoto3(t *testing.T) {
	t.Parallel()
	runtime := hostPython(t)
	python := boto3Python(t)
	b := bargetest.Start(t)
	runSelfCheckingScript(t, b, python, runtimePrelude(runtime), boto3DeployOpsScript, "deploy ops ok")
}
