package sfn

import (
	"context"
	"encoding/json"
	"errors"

	sw "github.com/barge-run/barge/internal/awstypes/sfn"
	"github.com/barge-run/barge/internal/sfn/asl"
)

// testStateOutput is TestState's answer; asl's inspection data has the wire's field names.
type testStateOutput struct {
	Output         string          `json:"output,omitempty"`
	Error          string          `json:"error,omitempty"`
	Cause          string          `json:"cause,omitempty"`
	InspectionData *asl.Inspection `json:"inspectionData,omitempty"`
	NextState      string          `json:"nextState,omitempty"`
	Status         string          `json:"status,omitempty"`
}

// TestState runs one state alone, its Task against barge's services in the caller's scope.
func (s *Service) TestState(ctx context.Context, scope string, in *sw.TestStateInput) (*testStateOutput, error) {
	if in.Definition == "" {
		return nil, missing("definition")
	}
	if in.Mock != nil {
		return nil, validation("barge does not support mocked TestState calls yet")
	}
	input := in.Input
	if input == "" {
		input = "{}"
	}
	if !json.Valid([]byte(input)) {
		return nil, apiErr("InvalidExecutionInput", "Invalid input: '%s'", input)
	}
	level := asl.LevelInfo
	if in.InspectionLevel != "" {
		level = asl.InspectionLevel(in.InspectionLevel)
	}
	exec := asl.Execution{ARN: s.arnOf(scope, "execution:TestState:TestState"), Name: "TestState", RoleARN: in.RoleArn,
		StateMachineARN: s.arnOf(scope, "stateMachine:TestState"), StateMachineName: "TestState"}
	res, err := asl.TestState(ctx, asl.TestStateInput{Definition: in.Definition, StateName: in.StateName,
		Input: json.RawMessage(input), Variables: json.RawMessage(in.Variables), InspectionLevel: level, Execution: exec,
		Tasks: &taskRunner{s: s, scope: scope}})
	var de *asl.DefinitionError
	if errors.As(err, &de) {
		return nil, apiErr("InvalidDefinition", "%s", de.Error())
	}
	if err != nil {
		return nil, validation("%v", err)
	}
	out := &testStateOutput{Error: res.Error, Cause: res.Cause, NextState: res.NextState, Status: res.Status, InspectionData: res.Inspection}
	if res.Output != nil {
		out.Output = string(res.Output)
	}
	return out, nil
}
