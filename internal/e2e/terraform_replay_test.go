package e2e_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	ltypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/barge-run/barge/internal/bargetest"
)

// TestTerraformReplay replays, with aws-sdk-go-v2 (the SDK the Terraform AWS provider is built
// on), the calls `terraform apply`, a refresh and `terraform destroy` make for an
// aws_cloudwatch_log_group, an aws_lambda_function and an aws_lambda_permission, in the
// provider's order and with its parameters: neither Terraform nor the SAM CLI can be installed
// from this machine's registries. Each read checks what the provider would store in its state,
// so a drift (a value that differs from the one applied) fails here as it would plan a change.
func TestTerraformReplay(t *testing.T) {
	t.Parallel()
	b := bargetest.Start(t)
	ctx := context.Background()
	lc, cw := lambda.NewFromConfig(b.Config()), b.Logs()
	const group, fn = "/aws/lambda/tf-fn", "tf-fn"

	// aws_cloudwatch_log_group: create, retention, then its read.
	if _, err := cw.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String(group), Tags: map[string]string{"team": "data"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := cw.PutRetentionPolicy(ctx, &cloudwatchlogs.PutRetentionPolicyInput{LogGroupName: aws.String(group), RetentionInDays: aws.Int32(14)}); err != nil {
		t.Fatal(err)
	}
	readLogGroup(t, cw, group)

	// aws_lambda_function: create, wait until Active, reserved concurrency, then its read.
	_, err := lc.CreateFunction(ctx, &lambda.CreateFunctionInput{Code: &ltypes.FunctionCode{ZipFile: echoFunction(t)}, Description: aws.String(""),
		FunctionName: aws.String(fn), MemorySize: aws.Int32(128), PackageType: ltypes.PackageTypeZip, Publish: false,
		Role: aws.String("arn:aws:iam::000000000000:role/tf"), Tags: map[string]string{"team": "data"}, Timeout: aws.Int32(3),
		Architectures: []ltypes.Architecture{ltypes.ArchitectureX8664}, Handler: aws.String("bootstrap"), Runtime: ltypes.RuntimeProvidedal2023,
		Environment:   &ltypes.Environment{Variables: map[string]string{"STAGE": "prod"}},
		TracingConfig: &ltypes.TracingConfig{Mode: ltypes.TracingModePassThrough}})
	if err != nil {
		t.Fatal(err)
	}
	waitFunctionReady(t, lc, fn)
	if _, err := lc.PutFunctionConcurrency(ctx, &lambda.PutFunctionConcurrencyInput{FunctionName: aws.String(fn), ReservedConcurrentExecutions: aws.Int32(5)}); err != nil {
		t.Fatal(err)
	}
	readFunction(t, lc, fn, 128)

	// aws_lambda_permission: add, then its read finds the statement by Sid in GetPolicy.
	if _, err := lc.AddPermission(ctx, &lambda.AddPermissionInput{Action: aws.String("lambda:InvokeFunction"), FunctionName: aws.String(fn),
		Principal: aws.String("logs.amazonaws.com"), StatementId: aws.String("AllowExecutionFromCloudWatchLogs"),
		SourceArn: aws.String("arn:aws:logs:us-east-1:000000000000:log-group:" + group + ":*")}); err != nil {
		t.Fatal(err)
	}
	readPermission(t, lc, fn, "AllowExecutionFromCloudWatchLogs", true)

	// A refresh reads everything again and finds no drift; a change applies and waits.
	readLogGroup(t, cw, group)
	readFunction(t, lc, fn, 128)
	if _, err := lc.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{FunctionName: aws.String(fn), MemorySize: aws.Int32(256)}); err != nil {
		t.Fatal(err)
	}
	waitFunctionReady(t, lc, fn)
	readFunction(t, lc, fn, 256)
	if out, err := lc.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String(fn), Payload: []byte(`{"x":1}`)}); err != nil || out.FunctionError != nil {
		t.Fatalf("invoke the applied function: %v %+v", err, out)
	}

	// destroy, in dependency order; the provider's reads then see every resource gone.
	if _, err := lc.RemovePermission(ctx, &lambda.RemovePermissionInput{FunctionName: aws.String(fn), StatementId: aws.String("AllowExecutionFromCloudWatchLogs")}); err != nil {
		t.Fatal(err)
	}
	readPermission(t, lc, fn, "AllowExecutionFromCloudWatchLogs", false)
	if _, err := lc.DeleteFunction(ctx, &lambda.DeleteFunctionInput{FunctionName: aws.String(fn)}); err != nil {
		t.Fatal(err)
	}
	if _, err := lc.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String(fn)}); errorCode(err) != "ResourceNotFoundException" {
		t.Fatalf("GetFunction after destroy: %v", err)
	}
	if _, err := cw.DeleteLogGroup(ctx, &cloudwatchlogs.DeleteLogGroupInput{LogGroupName: aws.String(group)}); err != nil {
		t.Fatal(err)
	}
	out, err := cw.DescribeLogGroups(ctx, &cloudwatchlogs.DescribeLogGroupsInput{LogGroupNamePrefix: aws.String(group)})
	if err != nil || len(out.LogGroups) != 0 {
		t.Fatalf("DescribeLogGroups after destroy: %v %+v", err, out)
	}
}

// readLogGroup is aws_cloudwatch_log_group's read: the group found by prefix, then its tags by
// its ARN without the trailing ":*".
func readLogGroup(t *testing.T, cw *cloudwatchlogs.Client, group string) {
	t.Helper()
	ctx := context.Background()
	var arn string
	p := cloudwatchlogs.NewDescribeLogGroupsPaginator(cw, &cloudwatchlogs.DescribeLogGroupsInput{LogGroupNamePrefix: aws.String(group)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, g := range page.LogGroups {
			if aws.ToString(g.LogGroupName) == group {
				if aws.ToInt32(g.RetentionInDays) != 14 {
					t.Fatalf("retention %d, applied 14", aws.ToInt32(g.RetentionInDays))
				}
				arn = aws.ToString(g.Arn)
			}
		}
	}
	if !strings.HasSuffix(arn, ":log-group:"+group+":*") {
		t.Fatalf("log group %s: arn %q", group, arn)
	}
	tags, err := cw.ListTagsForResource(ctx, &cloudwatchlogs.ListTagsForResourceInput{ResourceArn: aws.String(strings.TrimSuffix(arn, ":*"))})
	if err != nil || tags.Tags["team"] != "data" {
		t.Fatalf("ListTagsForResource: %v %+v", err, tags)
	}
}

// waitFunctionReady is the provider's waitFunctionCreated/Updated: GetFunction until State is
// Active and LastUpdateStatus Successful.
func waitFunctionReady(t *testing.T, lc *lambda.Client, fn string) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		out, err := lc.GetFunction(context.Background(), &lambda.GetFunctionInput{FunctionName: aws.String(fn)})
		if err != nil {
			t.Fatal(err)
		}
		c := out.Configuration
		if c.State == ltypes.StateActive && c.LastUpdateStatus == ltypes.LastUpdateStatusSuccessful {
			return
		}
		if c.State == ltypes.StateFailed || c.LastUpdateStatus == ltypes.LastUpdateStatusFailed || time.Now().After(deadline) {
			t.Fatalf("function %s: state %s, last update %s", fn, c.State, c.LastUpdateStatus)
		}
	}
}

// readFunction is aws_lambda_function's read: GetFunction, the latest version by paging
// ListVersionsByFunction to its end, and the code signing configuration.
func readFunction(t *testing.T, lc *lambda.Client, fn string, memory int32) {
	t.Helper()
	ctx := context.Background()
	out, err := lc.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String(fn)})
	if err != nil {
		t.Fatal(err)
	}
	c := out.Configuration
	switch {
	case aws.ToInt32(c.MemorySize) != memory || aws.ToInt32(c.Timeout) != 3 || aws.ToString(c.Handler) != "bootstrap" || c.Runtime != ltypes.RuntimeProvidedal2023:
		t.Fatalf("drift in the configuration: %+v", c)
	case c.Environment == nil || c.Environment.Variables["STAGE"] != "prod" || c.TracingConfig == nil || c.TracingConfig.Mode != ltypes.TracingModePassThrough:
		t.Fatalf("drift in environment or tracing: %+v %+v", c.Environment, c.TracingConfig)
	case out.Concurrency == nil || aws.ToInt32(out.Concurrency.ReservedConcurrentExecutions) != 5 || out.Tags["team"] != "data":
		t.Fatalf("drift in concurrency or tags: %+v %v", out.Concurrency, out.Tags)
	case len(c.Architectures) != 1 || c.Architectures[0] != ltypes.ArchitectureX8664 || c.PackageType != ltypes.PackageTypeZip:
		t.Fatalf("drift in architectures or package type: %v %s", c.Architectures, c.PackageType)
	}
	var latest string
	p := lambda.NewListVersionsByFunctionPaginator(lc, &lambda.ListVersionsByFunctionInput{FunctionName: aws.String(fn)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if n := len(page.Versions); n > 0 {
			latest = aws.ToString(page.Versions[n-1].FunctionArn)
		}
	}
	if !strings.HasSuffix(latest, ":function:"+fn+":$LATEST") {
		t.Fatalf("qualified_arn from ListVersionsByFunction: %q", latest)
	}
	cs, err := lc.GetFunctionCodeSigningConfig(ctx, &lambda.GetFunctionCodeSigningConfigInput{FunctionName: aws.String(fn)})
	if err != nil || aws.ToString(cs.FunctionName) != fn || aws.ToString(cs.CodeSigningConfigArn) != "" {
		t.Fatalf("GetFunctionCodeSigningConfig: %v %+v", err, cs)
	}
}

// readPermission is aws_lambda_permission's read: the statement with the resource's Sid in the
// function's policy (present), or the policy without it (gone).
func readPermission(t *testing.T, lc *lambda.Client, fn, sid string, present bool) {
	t.Helper()
	out, err := lc.GetPolicy(context.Background(), &lambda.GetPolicyInput{FunctionName: aws.String(fn)})
	if !present && errorCode(err) == "ResourceNotFoundException" {
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	var policy struct {
		Statement []struct {
			Sid       string
			Principal map[string]string
			Condition map[string]map[string]string
		}
	}
	if err := json.Unmarshal([]byte(aws.ToString(out.Policy)), &policy); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, st := range policy.Statement {
		if st.Sid == sid {
			found = st.Principal["Service"] == "logs.amazonaws.com" && strings.HasSuffix(st.Condition["ArnLike"]["AWS:SourceArn"], ":*")
		}
	}
	if found != present {
		t.Fatalf("statement %s in %s: found %v, want %v", sid, aws.ToString(out.Policy), found, present)
	}
}
