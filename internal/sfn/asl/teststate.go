package asl

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"
)

// InspectionLevel is how much TestState reports.
type InspectionLevel string

// Inspection levels of the TestState API. DEBUG and TRACE both return the
// data-flow stages; TRACE adds HTTP details, which only HTTP Tasks have.
const (
	LevelInfo  InspectionLevel = "INFO"
	LevelDebug InspectionLevel = "DEBUG"
	LevelTrace InspectionLevel = "TRACE"
)

// TestState statuses.
const (
	TestSucceeded   = "SUCCEEDED"
	TestFailed      = "FAILED"
	TestRetriable   = "RETRIABLE"
	TestCaughtError = "CAUGHT_ERROR"
)

// Inspection is the data-flow trace of a tested state, each stage as JSON
// text, named as in the TestState API's inspectionData.
type Inspection struct {
	Input                      string                  `json:"input,omitempty"`
	AfterInputPath             string                  `json:"afterInputPath,omitempty"`
	AfterParameters            string                  `json:"afterParameters,omitempty"`
	AfterArguments             string                  `json:"afterArguments,omitempty"`
	Result                     string                  `json:"result,omitempty"`
	AfterResultSelector        string                  `json:"afterResultSelector,omitempty"`
	AfterResultPath            string                  `json:"afterResultPath,omitempty"`
	Variables                  string                  `json:"variables,omitempty"`
	AfterItemsPath             string                  `json:"afterItemsPath,omitempty"`
	AfterItemSelector          string                  `json:"afterItemSelector,omitempty"`
	AfterItemBatcher           string                  `json:"afterItemBatcher,omitempty"`
	MaxConcurrency             int                     `json:"maxConcurrency,omitempty"`
	ToleratedFailureCount      int                     `json:"toleratedFailureCount,omitempty"`
	ToleratedFailurePercentage float64                 `json:"toleratedFailurePercentage,omitempty"`
	ErrorDetails               *InspectionErrorDetails `json:"errorDetails,omitempty"`
}

// InspectionErrorDetails says which retrier or catcher handled an error.
type InspectionErrorDetails struct {
	CatchIndex                  *int `json:"catchIndex,omitempty"`
	RetryIndex                  *int `json:"retryIndex,omitempty"`
	RetryBackoffIntervalSeconds *int `json:"retryBackoffIntervalSeconds,omitempty"`
}

func (in *Inspection) retried(i int, delay time.Duration) {
	secs := int(delay / time.Second)
	in.ErrorDetails = &InspectionErrorDetails{RetryIndex: &i, RetryBackoffIntervalSeconds: &secs}
}

func (in *Inspection) caught(i int) {
	in.ErrorDetails = &InspectionErrorDetails{CatchIndex: &i}
}

// inspect records TestState data for the state under test only, not for
// the states of its branches.
func (r *run) inspect(fr *Frame, fn func(*Inspection)) {
	if r.insp != nil && fr == r.cp.Root {
		fn(r.insp)
	}
}

// TestStateInput describes one TestState call.
type TestStateInput struct {
	// Definition is one state's JSON, or a whole machine when StateName
	// names the state to test in it.
	Definition      string
	StateName       string
	Input           json.RawMessage
	Variables       json.RawMessage // object of variable values visible to the state
	InspectionLevel InspectionLevel
	Execution       Execution // fills the context object
	Tasks           TaskRunner
	Clock           Clock
	Rand            rand.Source
}

// TestStateOutput is the outcome of TestState.
type TestStateOutput struct {
	Status     string
	Output     json.RawMessage
	Error      string
	Cause      string
	NextState  string
	Inspection *Inspection // DEBUG and TRACE only
}

// TestState runs one state alone, as the TestState API does: it does not
// wait (Wait states and retry backoffs return at once) and does not retry,
// reporting RETRIABLE with the retrier and backoff instead.
func TestState(ctx context.Context, in TestStateInput) (*TestStateOutput, error) {
	def, name, err := testDefinition(in.Definition, in.StateName)
	if err != nil {
		return nil, err
	}
	input, err := decodeJSON(in.Input)
	if err != nil {
		return nil, fmt.Errorf("test state input: %w", err)
	}
	vars := map[string]any{}
	if len(in.Variables) > 0 {
		v, err := decodeJSON(in.Variables)
		m, ok := v.(map[string]any)
		if err != nil || !ok {
			return nil, errors.New("test state variables must be a JSON object")
		}
		vars = m
	}
	it := New(def, Config{Tasks: in.Tasks, Clock: in.Clock, Rand: in.Rand})
	r := it.newRun()
	r.testing, r.insp = true, &Inspection{}
	if in.Execution.StartTime.IsZero() {
		in.Execution.StartTime = r.clock.Now()
	}
	root := &Frame{State: name, Input: input, Vars: vars, Entered: true, EnteredTime: r.clock.Now()}
	r.cp = Checkpoint{Execution: in.Execution, Input: input, Root: root}
	st := def.States[name]
	res, err := r.execState(ctx, st, root, &scope{frame: root})
	out := &TestStateOutput{}
	var serr *Error
	switch {
	case err == nil:
		out.Status, out.NextState = TestSucceeded, res.next
		b, _ := marshalJSON(res.output)
		out.Output = b
		for k, v := range res.assigned {
			vars[k] = v
		}
		if d := r.insp.ErrorDetails; d != nil && d.CatchIndex != nil {
			out.Status = TestCaughtError
		}
	case errors.As(err, &serr):
		out.Status, out.Error, out.Cause = TestFailed, serr.Name, serr.Cause
		if d := r.insp.ErrorDetails; d != nil && d.RetryIndex != nil {
			out.Status = TestRetriable
		}
	default:
		return nil, err
	}
	if in.InspectionLevel == LevelDebug || in.InspectionLevel == LevelTrace {
		r.insp.Variables = mustJSON(vars)
		out.Inspection = r.insp
	}
	return out, nil
}

// testDefinition parses the definition under test. A lone state is wrapped
// in a machine of its own, and its transitions to states outside it are
// not errors.
func testDefinition(definition, stateName string) (*Definition, string, error) {
	var probe map[string]json.RawMessage
	if err := json.Unmarshal([]byte(definition), &probe); err != nil {
		return nil, "", &DefinitionError{Diagnostics: []Diagnostic{{Code: CodeInvalidJSON, Message: err.Error()}}}
	}
	if _, whole := probe["States"]; whole {
		def, err := Parse(definition)
		if err != nil {
			return nil, "", err
		}
		if def.States[stateName] == nil {
			return nil, "", fmt.Errorf("state %q is not in the definition", stateName)
		}
		return def, stateName, nil
	}
	name := stateName
	if name == "" {
		name = "TestState"
	}
	wrapped := fmt.Sprintf(`{"StartAt":%q,"States":{%q:%s}}`, name, name, definition)
	if ql, ok := probe["QueryLanguage"]; ok {
		wrapped = fmt.Sprintf(`{"QueryLanguage":%s,"StartAt":%q,"States":{%q:%s}}`, ql, name, name, definition)
	}
	def, diags := parseDefinition(wrapped)
	var kept []Diagnostic
	own := "/States/" + name
	for _, d := range diags {
		outside := d.Code == CodeMissingTarget && (d.Location == own+"/Next" || d.Location == own+"/Default" ||
			strings.HasPrefix(d.Location, own+"/Catch/") || strings.HasPrefix(d.Location, own+"/Choices/"))
		if outside || (d.Code == CodeMissingEndState && d.Location == "") {
			continue
		}
		kept = append(kept, d)
	}
	if len(kept) > 0 {
		return nil, "", &DefinitionError{Diagnostics: kept}
	}
	return def, name, nil
}
