package lambda

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/barge-run/barge/internal/awstypes"
)

// roundTrip decodes doc into v, refusing unknown fields, and checks that encoding v gives the
// same document back: a renamed or dropped member would lose data on the wire.
func roundTrip(t *testing.T, doc string, v any) {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(doc))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("decode into %T: %v", v, err)
	}
	out, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var want, got any
	if err := json.Unmarshal([]byte(doc), &want); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(want, got) {
		t.Errorf("%T did not round-trip:\n in: %s\nout: %s", v, doc, out)
	}
}

func TestCreateFunctionRequestRoundTrip(t *testing.T) {
	var req CreateFunctionRequest
	roundTrip(t, `{
		"FunctionName": "thumbnailer",
		"Runtime": "python3.12",
		"Role": "arn:aws:iam::123456789012:role/lambda-exec",
		"Handler": "app.handler",
		"Code": {"ZipFile": "UEsDBBQAAAAIAA=="},
		"Description": "makes thumbnails",
		"Timeout": 30,
		"MemorySize": 512,
		"Publish": true,
		"VpcConfig": {"SubnetIds": ["subnet-1"], "SecurityGroupIds": ["sg-1"]},
		"PackageType": "Zip",
		"DeadLetterConfig": {"TargetArn": "arn:aws:sqs:us-east-1:123456789012:dlq"},
		"Environment": {"Variables": {"BUCKET": "thumbs", "EMPTY": ""}},
		"TracingConfig": {"Mode": "Active"},
		"Tags": {"team": "media"},
		"Layers": ["arn:aws:lambda:us-east-1:123456789012:layer:pillow:1"],
		"Architectures": ["arm64"],
		"EphemeralStorage": {"Size": 1024},
		"LoggingConfig": {"LogFormat": "JSON", "ApplicationLogLevel": "INFO", "SystemLogLevel": "WARN", "LogGroup": "/aws/lambda/thumbnailer"}
	}`, &req)
	if req.Runtime != RuntimePython3_12 || string(req.Code.ZipFile[:2]) != "PK" || req.Architectures[0] != ArchitectureArm64 {
		t.Errorf("decoded %+v", req)
	}
	if !slices.Contains(Runtime("").Values(), RuntimeProvidedAl2023) || RuntimeNodejs18X != "nodejs18.x" {
		t.Error("Runtime enum incomplete")
	}
}

func TestFunctionConfigurationRoundTrip(t *testing.T) {
	var fc FunctionConfiguration
	roundTrip(t, `{
		"FunctionName": "thumbnailer",
		"FunctionArn": "arn:aws:lambda:us-east-1:123456789012:function:thumbnailer",
		"Runtime": "provided.al2023",
		"Role": "arn:aws:iam::123456789012:role/lambda-exec",
		"Handler": "bootstrap",
		"CodeSize": 5120,
		"Timeout": 3,
		"MemorySize": 128,
		"LastModified": "2024-01-01T00:00:00.000+0000",
		"CodeSha256": "abc=",
		"Version": "$LATEST",
		"Environment": {"Variables": {"A": "b"}},
		"TracingConfig": {"Mode": "PassThrough"},
		"RevisionId": "r1",
		"State": "Active",
		"LastUpdateStatus": "Successful",
		"PackageType": "Zip",
		"Architectures": ["x86_64"],
		"EphemeralStorage": {"Size": 512},
		"SnapStart": {"ApplyOn": "None", "OptimizationStatus": "Off"},
		"LoggingConfig": {"LogFormat": "Text", "LogGroup": "/aws/lambda/thumbnailer"}
	}`, &fc)
	if fc.State != StateActive || fc.Architectures[0] != ArchitectureX86_64 {
		t.Errorf("decoded %+v", fc)
	}
}

func TestTimestampMembersRoundTrip(t *testing.T) {
	var esm EventSourceMappingConfiguration
	roundTrip(t, `{"UUID": "u1", "StartingPosition": "AT_TIMESTAMP", "StartingPositionTimestamp": 1700000000.5,
		"BatchSize": 10, "EventSourceArn": "arn:aws:sqs:us-east-1:123456789012:q", "FunctionArn": "arn:fn",
		"LastModified": 1700000001, "State": "Enabled", "FunctionResponseTypes": ["ReportBatchItemFailures"]}`, &esm)
	if !esm.StartingPositionTimestamp.Equal(time.Unix(1700000000, 500_000_000)) {
		t.Errorf("StartingPositionTimestamp = %v", esm.StartingPositionTimestamp)
	}
}

func TestLocationMembers(t *testing.T) {
	// ListFunctions takes everything from the query string.
	var list ListFunctionsRequest
	err := awstypes.BindLocation(&list, nil, url.Values{"MaxItems": {"25"}, "Marker": {"m"}, "FunctionVersion": {"ALL"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if *list.MaxItems != 25 || list.Marker != "m" || list.FunctionVersion != FunctionVersionAll {
		t.Errorf("bound %+v", list)
	}
	err = awstypes.BindLocation(&list, nil, url.Values{"MaxItems": {"lots"}}, nil)
	var le *awstypes.LocationError
	if !errors.As(err, &le) || le.Name != "MaxItems" {
		t.Errorf("bad MaxItems: %v", err)
	}

	// Invoke mixes a path label, a query parameter, headers and a raw payload.
	var inv InvocationRequest
	h := http.Header{}
	h.Set("X-Amz-Invocation-Type", "Event")
	h.Set("X-Amz-Log-Type", "Tail")
	path := func(name string) string { return map[string]string{"FunctionName": "thumbnailer"}[name] }
	if err := awstypes.BindLocation(&inv, path, url.Values{"Qualifier": {"live"}}, h); err != nil {
		t.Fatal(err)
	}
	if inv.FunctionName != "thumbnailer" || inv.Qualifier != "live" || inv.InvocationType != InvocationTypeEvent || inv.LogType != LogTypeTail {
		t.Errorf("bound %+v", inv)
	}
	f, _ := reflect.TypeFor[InvocationRequest]().FieldByName("Payload")
	if f.Tag.Get("location") != "payload" || f.Tag.Get("json") != "-" {
		t.Errorf("Payload tag = %q", f.Tag)
	}

	status, hdr := awstypes.LocationHeaders(&InvocationResponse{
		StatusCode:      ptr[int32](202),
		FunctionError:   "Unhandled",
		ExecutedVersion: "$LATEST",
		Payload:         []byte(`{}`),
	})
	want := http.Header{"X-Amz-Function-Error": {"Unhandled"}, "X-Amz-Executed-Version": {"$LATEST"}}
	if status != 202 || !reflect.DeepEqual(hdr, want) {
		t.Errorf("status %d headers %v", status, hdr)
	}
	// Location members must stay out of the body.
	body, _ := json.Marshal(InvocationRequest{FunctionName: "f", Qualifier: "q"})
	if string(body) != `{}` {
		t.Errorf("body = %s", body)
	}
}

func TestTables(t *testing.T) {
	if APIVersion != "2015-03-31" || EndpointPrefix != "lambda" || Protocol != "rest-json" {
		t.Errorf("metadata %s %s %s", APIVersion, EndpointPrefix, Protocol)
	}
	i := slices.IndexFunc(Operations, func(o awstypes.Operation) bool { return o.Name == "CreateFunction" })
	if i < 0 {
		t.Fatal("CreateFunction missing")
	}
	if op := Operations[i]; op.Method != "POST" || op.RequestURI != "/2015-03-31/functions" || op.ResponseCode != 201 ||
		op.Input != "CreateFunctionRequest" || op.Output != "FunctionConfiguration" {
		t.Errorf("CreateFunction = %+v", op)
	}
	if Exceptions["ResourceNotFoundException"] != 404 || Exceptions["TooManyRequestsException"] != 429 || Exceptions["ServiceException"] != 500 {
		t.Errorf("Exceptions = %v", Exceptions)
	}
	if got := Required["CreateFunctionRequest"]; !slices.Equal(got, []string{"FunctionName", "Role", "Code"}) {
		t.Errorf("Required[CreateFunctionRequest] = %v", got)
	}
}

func ptr[T any](v T) *T { return &v }
