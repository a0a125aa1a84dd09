package sfn

import (
	"net/http"

	"github.com/barge-run/barge/internal/awserr"
)

// apiErr is a Step Functions error of the model: every one is a 400 with the
// shape's name as its code.
func apiErr(code, format string, args ...any) error {
	return awserr.New(http.StatusBadRequest, code, format, args...)
}

func invalidArn(arn string) error {
	return apiErr("InvalidArn", "Invalid Arn: '%s'", arn)
}

func invalidName(name string) error {
	return apiErr("InvalidName", "Invalid Name: '%s'", name)
}

func validation(format string, args ...any) error {
	return apiErr("ValidationException", format, args...)
}

func missing(field string) error {
	return validation("1 validation error detected: Value null at '%s' failed to satisfy constraint: Member must not be null", field)
}

func machineDoesNotExist(arn string) error {
	return apiErr("StateMachineDoesNotExist", "State Machine Does Not Exist: '%s'", arn)
}

func executionDoesNotExist(arn string) error {
	return apiErr("ExecutionDoesNotExist", "Execution Does Not Exist: '%s'", arn)
}

func activityDoesNotExist(arn string) error {
	return apiErr("ActivityDoesNotExist", "Activity Does Not Exist: '%s'", arn)
}

func resourceNotFound(arn string) error {
	return apiErr("ResourceNotFound", "Resource not found: '%s'", arn)
}

func conflict(format string, args ...any) error {
	return apiErr("ConflictException", format, args...)
}

func notForExpress(op string) error {
	return apiErr("StateMachineTypeNotSupported", "This operation (%s) is not supported by EXPRESS state machines", op)
}

func invalidToken(token string) error {
	return apiErr("InvalidToken", "Invalid Token: '%s'", token)
}

func taskDoesNotExist() error {
	return apiErr("TaskDoesNotExist", "Task Does Not Exist")
}
