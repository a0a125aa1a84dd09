package asl

import (
	"fmt"
	"strings"
)

// Error names defined by the Amazon States Language. A state may report any
// other name too, as long as it does not start with "States.".
const (
	ErrAll                     = "States.ALL"
	ErrTaskFailed              = "States.TaskFailed"
	ErrTimeout                 = "States.Timeout"
	ErrHeartbeatTimeout        = "States.HeartbeatTimeout"
	ErrRuntime                 = "States.Runtime"
	ErrDataLimitExceeded       = "States.DataLimitExceeded"
	ErrResultPathMatchFailure  = "States.ResultPathMatchFailure"
	ErrParameterPathFailure    = "States.ParameterPathFailure"
	ErrBranchFailed            = "States.BranchFailed"
	ErrNoChoiceMatched         = "States.NoChoiceMatched"
	ErrIntrinsicFailure        = "States.IntrinsicFailure"
	ErrExceedToleratedFailures = "States.ExceedToleratedFailureThreshold"
	ErrItemReaderFailed        = "States.ItemReaderFailed"
	ErrPermissions             = "States.Permissions"
	ErrQueryEvaluationError    = "States.QueryEvaluationError"
)

// Error is a named failure inside an execution: a task's error, or one the
// interpreter raises itself. Retriers and catchers match it by Name, so a
// TaskRunner returns one to make its failures catchable by name; any other
// error a TaskRunner returns is reported as States.TaskFailed.
type Error struct {
	Name  string `json:"Error"`
	Cause string `json:"Cause"`
}

func (e *Error) Error() string {
	if e.Cause == "" {
		return e.Name
	}
	return e.Name + ": " + e.Cause
}

// newError builds an Error whose cause is formatted like fmt.Sprintf.
func newError(name, format string, args ...any) *Error {
	return &Error{Name: name, Cause: fmt.Sprintf(format, args...)}
}

// Diagnostic codes, as the ValidateStateMachineDefinition API names them.
const (
	CodeInvalidJSON       = "INVALID_JSON_DESCRIPTION"
	CodeMissingDefinition = "MISSING_DESCRIPTION"
	CodeSchema            = "SCHEMA_VALIDATION_FAILED"
	CodeInvalidResource   = "INVALID_RESOURCE"
	CodeMissingEndState   = "MISSING_END_STATE"
	CodeDuplicateState    = "DUPLICATE_STATE_NAME"
	CodeInvalidStateName  = "INVALID_STATE_NAME"
	CodeMissingTarget     = "MISSING_TRANSITION_TARGET"
	CodeTooDeeplyNested   = "TOO_DEEPLY_NESTED"
	CodeDuplicateLabel    = "DUPLICATE_LABEL_NAME"
	CodeInvalidLabel      = "INVALID_LABEL_NAME"
)

// Diagnostic is one problem found in a definition. Location is a
// slash-separated pointer into the definition such as /States/Foo/Next.
type Diagnostic struct {
	Code     string `json:"code"`
	Message  string `json:"message"`
	Location string `json:"location,omitempty"`
}

// String renders the diagnostic as AWS does inside an InvalidDefinition
// message: "CODE: message at /location".
func (d Diagnostic) String() string {
	if d.Location == "" {
		return d.Code + ": " + d.Message
	}
	return d.Code + ": " + d.Message + " at " + d.Location
}

// DefinitionError is returned when a definition is not valid. It carries
// every problem found, so a caller can show them all at once.
type DefinitionError struct {
	Diagnostics []Diagnostic
}

func (e *DefinitionError) Error() string {
	parts := make([]string, len(e.Diagnostics))
	for i, d := range e.Diagnostics {
		parts[i] = d.String()
	}
	return "Invalid State Machine Definition: '" + strings.Join(parts, ", ") + "'"
}
