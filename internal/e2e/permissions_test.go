package e2e_test

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	ltypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/barge-run/barge/internal/bargetest"
)

// TestLambdaPermissions: a function's resource-based policy (AddPermission, GetPolicy,
// RemovePermission) is stored and enforced — another account may invoke the function by ARN only
// while a statement allows it — and goes with the function.
func TestLambdaPermissions(t *testing.T) {
	t.Parallel()
	dir, other := twoAccounts(t)
	b := bargetest.Start(t, bargetest.WithDataDir(dir))
	owner, guest := lambda.NewFromConfig(b.Config()), lambda.NewFromConfig(b.Config(other))
	ctx := context.Background()
	create := func() *lambda.CreateFunctionOutput {
		out, err := owner.CreateFunction(ctx, &lambda.CreateFunctionInput{FunctionName: aws.String("shared"), Runtime: ltypes.RuntimeProvidedal2023,
			Handler: aws.String("bootstrap"), Role: aws.String("arn:aws:iam::000000000000:role/any"), Code: &ltypes.FunctionCode{ZipFile: echoFunction(t)}})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	arn := create().FunctionArn
	invoke := func() error {
		_, err := guest.Invoke(ctx, &lambda.InvokeInput{FunctionName: arn, Payload: []byte(`{"from":"guest"}`)})
		return err
	}
	if err := invoke(); errorCode(err) != "AccessDeniedException" {
		t.Fatalf("another account invoking with no permission: %v", err)
	}
	if _, err := owner.GetPolicy(ctx, &lambda.GetPolicyInput{FunctionName: aws.String("shared")}); errorCode(err) != "ResourceNotFoundException" {
		t.Errorf("GetPolicy with none: %v", err)
	}
	add := func(sid, principal string) (*lambda.AddPermissionOutput, error) {
		return owner.AddPermission(ctx, &lambda.AddPermissionInput{FunctionName: aws.String("shared"), StatementId: aws.String(sid),
			Action: aws.String("lambda:InvokeFunction"), Principal: aws.String(principal)})
	}
	st, err := add("guest", "111111111111")
	if err != nil || !strings.Contains(aws.ToString(st.Statement), `"AWS":"arn:aws:iam::111111111111:root"`) {
		t.Fatalf("AddPermission: %v %v", err, st)
	}
	if _, err := add("guest", "111111111111"); errorCode(err) != "ResourceConflictException" {
		t.Errorf("the same statement id again: %v", err)
	}
	if _, err := add("logs", "logs.amazonaws.com"); err != nil {
		t.Errorf("a service principal: %v", err)
	}
	if _, err := add("bad id!", "111111111111"); errorCode(err) != "InvalidParameterValueException" {
		t.Errorf("a bad statement id: %v", err)
	}
	if err := invoke(); err != nil {
		t.Fatalf("invoking with permission: %v", err)
	}
	pol, err := owner.GetPolicy(ctx, &lambda.GetPolicyInput{FunctionName: aws.String("shared")})
	if err != nil || !strings.Contains(aws.ToString(pol.Policy), `"Sid":"guest"`) || !strings.Contains(aws.ToString(pol.Policy), `"Service":"logs.amazonaws.com"`) {
		t.Fatalf("GetPolicy: %v %v", err, pol)
	}
	if _, err := owner.RemovePermission(ctx, &lambda.RemovePermissionInput{FunctionName: aws.String("shared"), StatementId: aws.String("guest")}); err != nil {
		t.Fatal(err)
	}
	if _, err := owner.RemovePermission(ctx, &lambda.RemovePermissionInput{FunctionName: aws.String("shared"), StatementId: aws.String("guest")}); errorCode(err) != "ResourceNotFoundException" {
		t.Errorf("removing it twice: %v", err)
	}
	if err := invoke(); errorCode(err) != "AccessDeniedException" {
		t.Fatalf("invoking after the permission was removed: %v", err)
	}
	// The policy goes with the function.
	add("guest", "111111111111")
	if _, err := owner.DeleteFunction(ctx, &lambda.DeleteFunctionInput{FunctionName: aws.String("shared")}); err != nil {
		t.Fatal(err)
	}
	arn = create().FunctionArn
	if err := invoke(); errorCode(err) != "AccessDeniedException" {
		t.Fatalf("a new function under the old name inherited the old grant: %v", err)
	}
}
