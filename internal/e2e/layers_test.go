package e2e_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	ltypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/barge-run/barge/internal/bargetest"
)

// layerApp reads what its layers put at /opt: a module on the Python path and a plain file.
const layerApp = `
import greeting

def handler(event, context):
    with open("/opt/data/which.txt") as f:
        which = f.read().strip()
    return {"greeting": greeting.GREETING, "which": which}
`

// TestLambdaLayers drives layers through aws-sdk-go-v2: published from a zip, used by a real
// Python function that imports a module from one and reads a file another replaces (at /opt, in
// order), swapped by UpdateFunctionConfiguration, kept by a published version after the layer
// version is deleted, shared with another account only by a permission, and refused with
// Lambda's errors for bad input.
func TestLambdaLayers(t *testing.T) {
	t.Parallel()
	runtime := hostPython(t)
	dir, other := twoAccounts(t)
	b := bargetest.Start(t, bargetest.WithDataDir(dir))
	c, theirs := lambda.NewFromConfig(b.Config()), lambda.NewFromConfig(b.Config(other))
	ctx := context.Background()

	publish := func(name string, files map[string]string) *lambda.PublishLayerVersionOutput {
		t.Helper()
		out, err := c.PublishLayerVersion(ctx, &lambda.PublishLayerVersionInput{LayerName: aws.String(name),
			Content: &ltypes.LayerVersionContentInput{ZipFile: zipSources(t, files)}, CompatibleRuntimes: []ltypes.Runtime{runtime}})
		if err != nil {
			t.Fatalf("publish %s: %v", name, err)
		}
		return out
	}
	greet1 := publish("greet", map[string]string{"python/greeting.py": `GREETING = "hello from v1"`, "data/which.txt": "greet"})
	greet2 := publish("greet", map[string]string{"python/greeting.py": `GREETING = "hello from v2"`})
	extra := publish("extra", map[string]string{"data/which.txt": "extra"})
	if greet1.Version != 1 || greet2.Version != 2 || !strings.HasSuffix(aws.ToString(greet2.LayerVersionArn), ":layer:greet:2") {
		t.Fatalf("versions: %d %d %s", greet1.Version, greet2.Version, aws.ToString(greet2.LayerVersionArn))
	}
	checkLayerContent(t, greet1.Content)

	role := aws.String("arn:aws:iam::000000000000:role/any")
	if _, err := c.CreateFunction(ctx, &lambda.CreateFunctionInput{FunctionName: aws.String("uses-layers"), Runtime: runtime,
		Handler: aws.String("app.handler"), Role: role, Code: &ltypes.FunctionCode{ZipFile: zipSources(t, map[string]string{"app.py": layerApp})},
		Layers: []string{aws.ToString(greet1.LayerVersionArn), aws.ToString(extra.LayerVersionArn)}}); err != nil {
		t.Fatal(err)
	}
	invokeLayers(t, c, "uses-layers", "hello from v1", "extra") // extra's file replaces greet's
	v1, err := c.PublishVersion(ctx, &lambda.PublishVersionInput{FunctionName: aws.String("uses-layers")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{FunctionName: aws.String("uses-layers"),
		Layers: []string{aws.ToString(extra.LayerVersionArn), aws.ToString(greet1.LayerVersionArn)}}); err != nil {
		t.Fatal(err)
	}
	invokeLayers(t, c, "uses-layers", "hello from v1", "greet") // the other order: greet's file wins
	cfg, err := c.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{FunctionName: aws.String("uses-layers"),
		Layers: []string{aws.ToString(greet2.LayerVersionArn), aws.ToString(extra.LayerVersionArn)}})
	if err != nil || len(cfg.Layers) != 2 || aws.ToString(cfg.Layers[0].Arn) != aws.ToString(greet2.LayerVersionArn) || cfg.Layers[0].CodeSize == 0 {
		t.Fatalf("update layers: %+v %v", cfg, err)
	}
	invokeLayers(t, c, "uses-layers", "hello from v2", "extra")

	// A deleted version is gone, its number never given again, and functions keep their copy.
	if _, err := c.DeleteLayerVersion(ctx, &lambda.DeleteLayerVersionInput{LayerName: aws.String("greet"), VersionNumber: aws.Int64(1)}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetLayerVersion(ctx, &lambda.GetLayerVersionInput{LayerName: aws.String("greet"), VersionNumber: aws.Int64(1)}); errorCode(err) != "ResourceNotFoundException" {
		t.Fatalf("deleted version: %v", err)
	}
	invokeLayers(t, c, "uses-layers:"+aws.ToString(v1.Version), "hello from v1", "extra")
	if greet3 := publish("greet", map[string]string{"python/greeting.py": `GREETING = "v3"`}); greet3.Version != 3 {
		t.Fatalf("after deleting v1 the next version is %d, want 3", greet3.Version)
	}
	checkLayerListings(t, c, greet2)
	checkLayerSharing(t, c, theirs, runtime, extra)
	checkLayerErrors(t, c, greet2, extra)
}

// invokeLayers invokes fn and checks what it read from its layers.
func invokeLayers(t *testing.T, c *lambda.Client, fn, greeting, which string) {
	t.Helper()
	out, err := c.Invoke(context.Background(), &lambda.InvokeInput{FunctionName: aws.String(fn), Payload: []byte(`{}`)})
	if err != nil {
		t.Fatal(err)
	}
	var r struct{ Greeting, Which string }
	if json.Unmarshal(out.Payload, &r) != nil || out.FunctionError != nil || r.Greeting != greeting || r.Which != which {
		t.Fatalf("invoke %s: %s (%s); want greeting %q and /opt/data/which.txt %q", fn, out.Payload, aws.ToString(out.FunctionError), greeting, which)
	}
}

// checkLayerContent downloads a layer version's Content.Location and compares its digest.
func checkLayerContent(t *testing.T, content *ltypes.LayerVersionContentOutput) {
	t.Helper()
	resp, err := http.Get(aws.ToString(content.Location))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || len(body) == 0 || aws.ToString(content.CodeSha256) == "" || content.CodeSize == 0 {
		t.Fatalf("Content.Location: %d, %d bytes; sha %q size %d", resp.StatusCode, len(body), aws.ToString(content.CodeSha256), content.CodeSize)
	}
	zipped := zipFiles(t, body)
	if zipped["python/greeting.py"] != `GREETING = "hello from v1"` {
		t.Fatalf("Content.Location's zip holds %v", zipped)
	}
}

func checkLayerListings(t *testing.T, c *lambda.Client, greet2 *lambda.PublishLayerVersionOutput) {
	t.Helper()
	ctx := context.Background()
	layers, err := c.ListLayers(ctx, &lambda.ListLayersInput{})
	if err != nil || len(layers.Layers) != 2 || aws.ToString(layers.Layers[0].LayerName) != "extra" ||
		layers.Layers[1].LatestMatchingVersion.Version != 3 {
		t.Fatalf("ListLayers: %+v %v", layers, err)
	}
	versions, err := c.ListLayerVersions(ctx, &lambda.ListLayerVersionsInput{LayerName: aws.String("greet"), MaxItems: aws.Int32(1)})
	if err != nil || len(versions.LayerVersions) != 1 || versions.LayerVersions[0].Version != 3 || versions.NextMarker == nil {
		t.Fatalf("ListLayerVersions page 1: %+v %v", versions, err)
	}
	versions, err = c.ListLayerVersions(ctx, &lambda.ListLayerVersionsInput{LayerName: aws.String("greet"), Marker: versions.NextMarker})
	if err != nil || len(versions.LayerVersions) != 1 || versions.LayerVersions[0].Version != 2 || versions.NextMarker != nil {
		t.Fatalf("ListLayerVersions page 2 (v1 deleted): %+v %v", versions, err)
	}
	byArn, err := c.GetLayerVersionByArn(ctx, &lambda.GetLayerVersionByArnInput{Arn: greet2.LayerVersionArn})
	if err != nil || byArn.Version != 2 || aws.ToString(byArn.Content.CodeSha256) != aws.ToString(greet2.Content.CodeSha256) {
		t.Fatalf("GetLayerVersionByArn: %+v %v", byArn, err)
	}
}

// checkLayerSharing: another account can use a layer version only once its policy allows it.
func checkLayerSharing(t *testing.T, c, theirs *lambda.Client, runtime ltypes.Runtime, extra *lambda.PublishLayerVersionOutput) {
	t.Helper()
	ctx := context.Background()
	create := func() error {
		_, err := theirs.CreateFunction(ctx, &lambda.CreateFunctionInput{FunctionName: aws.String("borrower"), Runtime: runtime,
			Handler: aws.String("app.handler"), Role: aws.String("arn:aws:iam::111111111111:role/any"),
			Code:   &ltypes.FunctionCode{ZipFile: zipSources(t, map[string]string{"app.py": "def handler(e, c):\n    return open('/opt/data/which.txt').read()\n"})},
			Layers: []string{aws.ToString(extra.LayerVersionArn)}})
		return err
	}
	if err := create(); errorCode(err) != "AccessDeniedException" {
		t.Fatalf("another account's layer without permission: %v", err)
	}
	perm, err := c.AddLayerVersionPermission(ctx, &lambda.AddLayerVersionPermissionInput{LayerName: aws.String("extra"), VersionNumber: aws.Int64(1),
		StatementId: aws.String("share"), Action: aws.String("lambda:GetLayerVersion"), Principal: aws.String("111111111111")})
	if err != nil || !strings.Contains(aws.ToString(perm.Statement), "111111111111") || aws.ToString(perm.RevisionId) == "" {
		t.Fatalf("AddLayerVersionPermission: %+v %v", perm, err)
	}
	if err := create(); err != nil {
		t.Fatal(err)
	}
	out, err := theirs.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("borrower")})
	if err != nil || string(out.Payload) != `"extra"` {
		t.Fatalf("the borrower's invoke: %s %v", out.Payload, err)
	}
	pol, err := c.GetLayerVersionPolicy(ctx, &lambda.GetLayerVersionPolicyInput{LayerName: aws.String("extra"), VersionNumber: aws.Int64(1)})
	if err != nil || !strings.Contains(aws.ToString(pol.Policy), `"Sid":"share"`) {
		t.Fatalf("GetLayerVersionPolicy: %+v %v", pol, err)
	}
	if _, err := c.RemoveLayerVersionPermission(ctx, &lambda.RemoveLayerVersionPermissionInput{LayerName: aws.String("extra"), VersionNumber: aws.Int64(1), StatementId: aws.String("share")}); err != nil {
		t.Fatal(err)
	}
	if _, err := theirs.GetLayerVersionByArn(ctx, &lambda.GetLayerVersionByArnInput{Arn: extra.LayerVersionArn}); errorCode(err) != "AccessDeniedException" {
		t.Fatalf("after RemoveLayerVersionPermission: %v", err)
	}
}

func checkLayerErrors(t *testing.T, c *lambda.Client, greet2, extra *lambda.PublishLayerVersionOutput) {
	t.Helper()
	ctx := context.Background()
	g2, ex := aws.ToString(greet2.LayerVersionArn), aws.ToString(extra.LayerVersionArn)
	for _, tc := range []struct {
		name   string
		layers []string
		code   string
		field  string
	}{
		{"six layers", []string{g2, ex, g2, ex, g2, ex}, "InvalidParameterValueException", "Layers"},
		{"one layer twice", []string{g2, strings.TrimSuffix(g2, "2") + "3"}, "InvalidParameterValueException", "Layers"},
		{"no such version", []string{strings.TrimSuffix(g2, "2") + "9"}, "InvalidParameterValueException", "Layers"},
		{"not an ARN", []string{"greet"}, "InvalidParameterValueException", "Layers"},
	} {
		_, err := c.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{FunctionName: aws.String("uses-layers"), Layers: tc.layers})
		if errorCode(err) != tc.code || !strings.Contains(err.Error(), tc.field) {
			t.Errorf("%s: %v; want %s naming %s", tc.name, err, tc.code, tc.field)
		}
	}
	_, err := c.PublishLayerVersion(ctx, &lambda.PublishLayerVersionInput{LayerName: aws.String("empty"), Content: &ltypes.LayerVersionContentInput{}})
	if errorCode(err) != "InvalidParameterValueException" || !strings.Contains(err.Error(), "Content.ZipFile") {
		t.Errorf("publish without content: %v", err)
	}
	_, err = c.PublishLayerVersion(ctx, &lambda.PublishLayerVersionInput{LayerName: aws.String("s3"),
		Content: &ltypes.LayerVersionContentInput{S3Bucket: aws.String("b"), S3Key: aws.String("k")}})
	if errorCode(err) != "InvalidParameterValueException" || !strings.Contains(err.Error(), "--s3-endpoint") {
		t.Errorf("publish from S3 without --s3-endpoint: %v", err)
	}
}

// boto3LayersScript drives every layer operation through boto3 and asserts what Lambda answers;
// it prints "layers ok" last.
const boto3LayersScript = `
import io, json, urllib.request, zipfile
import boto3
from botocore.exceptions import ClientError

def zipped(files):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, text in files.items():
            z.writestr(name, text)
    return buf.getvalue()

def code_of(call, *args, **kw):
    try:
        call(*args, **kw)
    except ClientError as e:
        return e.response["Error"]["Code"], e.response["ResponseMetadata"]["HTTPStatusCode"], e.response["Error"]["Message"]
    raise AssertionError("no error from %s" % call.__name__)

lam = boto3.client("lambda")
runtime = RUNTIME
v = lam.publish_layer_version(LayerName="util", Description="helpers", LicenseInfo="MIT",
    Content={"ZipFile": zipped({"python/util.py": "def twice(x):\n    return 2 * x\n"})},
    CompatibleRuntimes=[runtime], CompatibleArchitectures=["x86_64"])
assert v["Version"] == 1 and v["LayerVersionArn"].endswith(":layer:util:1"), v
assert v["Content"]["CodeSize"] > 0 and v["CompatibleRuntimes"] == [runtime], v
with urllib.request.urlopen(v["Content"]["Location"]) as r:
    assert zipfile.ZipFile(io.BytesIO(r.read())).namelist() == ["python/util.py"]
got = lam.get_layer_version(LayerName="util", VersionNumber=1)
assert got["Description"] == "helpers" and got["LicenseInfo"] == "MIT", got
assert lam.get_layer_version_by_arn(Arn=v["LayerVersionArn"])["Version"] == 1
listed = lam.list_layers(CompatibleRuntime=runtime)["Layers"]
assert [l["LayerName"] for l in listed] == ["util"] and listed[0]["LatestMatchingVersion"]["Version"] == 1, listed
assert lam.list_layers(CompatibleRuntime="nodejs20.x")["Layers"] == []
assert [x["Version"] for x in lam.list_layer_versions(LayerName="util")["LayerVersions"]] == [1]

lam.create_function(FunctionName="twice", Runtime=runtime, Handler="app.handler", Role="arn:aws:iam::000000000000:role/any",
    Code={"ZipFile": zipped({"app.py": "import util\ndef handler(e, c):\n    return util.twice(e['n'])\n"})},
    Layers=[v["LayerVersionArn"]])
out = lam.invoke(FunctionName="twice", Payload=json.dumps({"n": 21}))
assert out["Payload"].read() == b"42", "invoke"
assert lam.get_function(FunctionName="twice")["Configuration"]["Layers"][0]["Arn"] == v["LayerVersionArn"]

st = lam.add_layer_version_permission(LayerName="util", VersionNumber=1, StatementId="all", Action="lambda:GetLayerVersion", Principal="*")
assert json.loads(st["Statement"])["Sid"] == "all"
pol = json.loads(lam.get_layer_version_policy(LayerName="util", VersionNumber=1)["Policy"])
assert [s["Sid"] for s in pol["Statement"]] == ["all"], pol
assert code_of(lam.add_layer_version_permission, LayerName="util", VersionNumber=1, StatementId="all", Action="lambda:GetLayerVersion", Principal="*")[:2] == ("ResourceConflictException", 409)
assert code_of(lam.add_layer_version_permission, LayerName="util", VersionNumber=1, StatementId="x", Action="lambda:InvokeFunction", Principal="*")[:2] == ("InvalidParameterValueException", 400)
lam.remove_layer_version_permission(LayerName="util", VersionNumber=1, StatementId="all")
assert code_of(lam.get_layer_version_policy, LayerName="util", VersionNumber=1)[:2] == ("ResourceNotFoundException", 404)

code, status, msg = code_of(lam.publish_layer_version, LayerName="bad name!", Content={"ZipFile": zipped({"a": "b"})})
assert (code, status) == ("InvalidParameterValueException", 400) and "LayerName" in msg, msg
code, status, msg = code_of(lam.publish_layer_version, LayerName="util", Content={"ZipFile": b"not a zip"})
assert (code, status) == ("InvalidParameterValueException", 400), msg
code, status, msg = code_of(lam.publish_layer_version, LayerName="util", Content={"ZipFile": zipped({"a": "b"})}, CompatibleRuntimes=["cobol1"])
assert (code, status) == ("InvalidParameterValueException", 400) and "CompatibleRuntimes" in msg, msg
assert code_of(lam.get_layer_version, LayerName="util", VersionNumber=7)[:2] == ("ResourceNotFoundException", 404)

lam.delete_layer_version(LayerName="util", VersionNumber=1)
lam.delete_layer_version(LayerName="util", VersionNumber=1)  # again: still fine, as in Lambda
assert lam.list_layers()["Layers"] == []
out = lam.invoke(FunctionName="twice", Payload=json.dumps({"n": 4}))
assert out["Payload"].read() == b"8", "the function keeps its copy of a deleted layer"
print("layers ok")
`

// TestLambdaLayersBoto3 runs boto3LayersScript against a real server.
func TestLambdaLayersBoto3(t *testing.T) {
	t.Parallel()
	runtime := hostPython(t)
	python := boto3Python(t)
	b := bargetest.Start(t)
	runSelfCheckingScript(t, b, python, runtimePrelude(runtime), boto3LayersScript, "layers ok")
}

// TestLambdaLayersWithoutSandbox: with --isolation none a plain process has no /opt of its
// own; barge's runtime still finds the layers' modules (BARGE_OPT_DIR).
func TestLambdaLayersWithoutSandbox(t *testing.T) {
	t.Parallel()
	runtime := hostPython(t)
	b := bargetest.Start(t, bargetest.WithArgs("--isolation", "none"))
	c := lambda.NewFromConfig(b.Config())
	ctx := context.Background()
	layer, err := c.PublishLayerVersion(ctx, &lambda.PublishLayerVersionInput{LayerName: aws.String("plain"),
		Content: &ltypes.LayerVersionContentInput{ZipFile: zipSources(t, map[string]string{"python/word.py": "WORD = 'plain'\n"})}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateFunction(ctx, &lambda.CreateFunctionInput{FunctionName: aws.String("plain"), Runtime: runtime, Handler: aws.String("app.handler"),
		Role: aws.String("arn:aws:iam::000000000000:role/any"), Layers: []string{aws.ToString(layer.LayerVersionArn)},
		Code: &ltypes.FunctionCode{ZipFile: zipSources(t, map[string]string{"app.py": "import word\ndef handler(e, c):\n    return word.WORD\n"})}}); err != nil {
		t.Fatal(err)
	}
	out, err := c.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("plain")})
	if err != nil || string(out.Payload) != `"plain"` {
		t.Fatalf("invoke: %s %v", out.Payload, err)
	}
}

// TestLambdaRuntimeFromLayer: a provided.al2023 function whose package has no bootstrap runs the
// one its layer brings (/opt/bootstrap), as Lambda runs custom runtimes shipped as layers.
func TestLambdaRuntimeFromLayer(t *testing.T) {
	t.Parallel()
	b := bargetest.Start(t)
	c := lambda.NewFromConfig(b.Config())
	ctx := context.Background()
	layer, err := c.PublishLayerVersion(ctx, &lambda.PublishLayerVersionInput{LayerName: aws.String("runtime"),
		Content: &ltypes.LayerVersionContentInput{ZipFile: echoFunction(t)}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateFunction(ctx, &lambda.CreateFunctionInput{FunctionName: aws.String("on-layer-runtime"), Runtime: ltypes.RuntimeProvidedal2023,
		Handler: aws.String("handler"), Role: aws.String("arn:aws:iam::000000000000:role/any"), Layers: []string{aws.ToString(layer.LayerVersionArn)},
		Code: &ltypes.FunctionCode{ZipFile: zipSources(t, map[string]string{"README": "the runtime is in the layer"})}}); err != nil {
		t.Fatal(err)
	}
	out, err := c.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("on-layer-runtime"), Payload: []byte(`{"hello":"layer"}`)})
	if err != nil || out.FunctionError != nil || !strings.Contains(string(out.Payload), `"hello":"layer"`) {
		t.Fatalf("invoke: %v %s %s", err, aws.ToString(out.FunctionError), out.Payload)
	}
}
