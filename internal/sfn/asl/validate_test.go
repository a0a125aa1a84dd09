package asl

import (
	"errors"
	"strings"
	"testing"
)

func TestValidateReportsCodeAndLocation(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, def, code, loc, msg string
	}{
		{"missing Next", `{"StartAt":"Foo","States":{"Foo":{"Type":"Pass"}}}`,
			CodeSchema, "/States/Foo", `The field "Next" is required`},
		{"missing target", `{"StartAt":"Foo","States":{"Foo":{"Type":"Pass","Next":"Bar"}}}`,
			CodeMissingTarget, "/States/Foo/Next", "Missing 'Next' target: Bar"},
		{"missing StartAt target", `{"StartAt":"X","States":{"Foo":{"Type":"Succeed"}}}`,
			CodeMissingTarget, "/StartAt", "Missing 'StartAt' target: X"},
		{"unreachable", `{"StartAt":"A","States":{"A":{"Type":"Succeed"},"B":{"Type":"Succeed"}}}`,
			CodeMissingTarget, "/States/B", `State "B" is not reachable`},
		{"no terminal", `{"StartAt":"A","States":{"A":{"Type":"Pass","Next":"B"},"B":{"Type":"Pass","Next":"A"}}}`,
			CodeMissingEndState, "", "Workflow has no terminal state"},
		{"Next and End", `{"StartAt":"A","States":{"A":{"Type":"Pass","Next":"A","End":true}}}`,
			CodeSchema, "/States/A", "Only one of"},
		{"unknown field", `{"StartAt":"A","States":{"A":{"Type":"Pass","End":true,"Foo":1}}}`,
			CodeSchema, "/States/A/Foo", `"Foo" is not supported`},
		{"field of other type", `{"StartAt":"A","States":{"A":{"Type":"Pass","End":true,"Resource":"x"}}}`,
			CodeSchema, "/States/A/Resource", "not supported for state type Pass"},
		{"Parameters under JSONata", `{"QueryLanguage":"JSONata","StartAt":"A","States":{"A":{"Type":"Pass","End":true,"Parameters":{}}}}`,
			CodeSchema, "/States/A/Parameters", "not supported when QueryLanguage is JSONata"},
		{"Output under JSONPath", `{"StartAt":"A","States":{"A":{"Type":"Pass","End":true,"Output":{}}}}`,
			CodeSchema, "/States/A/Output", "not supported when QueryLanguage is JSONPath"},
		{"Arguments under JSONPath", `{"StartAt":"A","States":{"A":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","End":true,"Arguments":{}}}}`,
			CodeSchema, "/States/A/Arguments", "not supported when QueryLanguage is JSONPath"},
		{"JSONPath state in JSONata machine", `{"QueryLanguage":"JSONata","StartAt":"A","States":{"A":{"Type":"Pass","QueryLanguage":"JSONPath","End":true}}}`,
			CodeSchema, "/States/A/QueryLanguage", "cannot use JSONPath"},
		{"timeout exclusive", `{"StartAt":"A","States":{"A":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","TimeoutSeconds":5,"TimeoutSecondsPath":"$.t","End":true}}}`,
			CodeSchema, "/States/A", "mutually exclusive"},
		{"heartbeat not below timeout", `{"StartAt":"A","States":{"A":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","TimeoutSeconds":5,"HeartbeatSeconds":5,"End":true}}}`,
			CodeSchema, "/States/A/HeartbeatSeconds", "smaller than"},
		{"bad resource", `{"StartAt":"A","States":{"A":{"Type":"Task","Resource":"nope","End":true}}}`,
			CodeInvalidResource, "/States/A/Resource", "Invalid resource"},
		{"MaxAttempts negative", `{"StartAt":"A","States":{"A":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","End":true,"Retry":[{"ErrorEquals":["X"],"MaxAttempts":-1}]}}}`,
			CodeSchema, "/States/A/Retry/0/MaxAttempts", "between 0 and"},
		{"BackoffRate below 1", `{"StartAt":"A","States":{"A":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","End":true,"Retry":[{"ErrorEquals":["X"],"BackoffRate":0.5}]}}}`,
			CodeSchema, "/States/A/Retry/0/BackoffRate", "greater than or equal to 1.0"},
		{"bad jitter", `{"StartAt":"A","States":{"A":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","End":true,"Retry":[{"ErrorEquals":["X"],"JitterStrategy":"HALF"}]}}}`,
			CodeSchema, "/States/A/Retry/0/JitterStrategy", "FULL, NONE"},
		{"States.ALL not last", `{"StartAt":"A","States":{"A":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","End":true,"Retry":[{"ErrorEquals":["States.ALL"]},{"ErrorEquals":["X"]}]}}}`,
			CodeSchema, "/States/A/Retry/0/ErrorEquals", "States.ALL must appear alone"},
		{"unknown States error", `{"StartAt":"A","States":{"A":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","End":true,"Catch":[{"ErrorEquals":["States.Nope"],"Next":"A"}]}}}`,
			CodeSchema, "/States/A/Catch/0/ErrorEquals", "Unknown error name"},
		{"catch target", `{"StartAt":"A","States":{"A":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","End":true,"Catch":[{"ErrorEquals":["States.ALL"],"Next":"Z"}]}}}`,
			CodeMissingTarget, "/States/A/Catch/0/Next", "Missing 'Next' target: Z"},
		{"choice without operator", `{"StartAt":"C","States":{"C":{"Type":"Choice","Choices":[{"Variable":"$.x","Next":"D"}]},"D":{"Type":"Succeed"}}}`,
			CodeSchema, "/States/C/Choices/0", "exactly one comparison operator"},
		{"choice operand type", `{"StartAt":"C","States":{"C":{"Type":"Choice","Choices":[{"Variable":"$.x","NumericEquals":"1","Next":"D"}]},"D":{"Type":"Succeed"}}}`,
			CodeSchema, "/States/C/Choices/0/NumericEquals", "must be a number"},
		{"choice default target", `{"StartAt":"C","States":{"C":{"Type":"Choice","Choices":[{"Variable":"$.x","IsPresent":true,"Next":"D"}],"Default":"Q"},"D":{"Type":"Succeed"}}}`,
			CodeMissingTarget, "/States/C/Default", "Missing 'Default' target: Q"},
		{"nested Next in branch", `{"StartAt":"P","States":{"P":{"Type":"Parallel","End":true,"Branches":[{"StartAt":"X","States":{"X":{"Type":"Pass","Next":"Y"}}}]}}}`,
			CodeMissingTarget, "/States/P/Branches/0/States/X/Next", "Missing 'Next' target: Y"},
		{"map processor StartAt", `{"StartAt":"M","States":{"M":{"Type":"Map","End":true,"ItemProcessor":{"StartAt":"Q","States":{"X":{"Type":"Succeed"}}}}}}`,
			CodeMissingTarget, "/States/M/ItemProcessor/StartAt", "Missing 'StartAt' target: Q"},
		{"duplicate state across branches", `{"StartAt":"X","States":{"X":{"Type":"Parallel","End":true,"Branches":[{"StartAt":"X","States":{"X":{"Type":"Succeed"}}}]}}}`,
			CodeDuplicateState, "/States/X/Branches/0/States/X", "Duplicate State name: X"},
		{"bad parameters path", `{"StartAt":"A","States":{"A":{"Type":"Pass","End":true,"Parameters":{"x.$":"nope"}}}}`,
			CodeSchema, "/States/A/Parameters", `"x.$" must be a valid JSONPath`},
		{"bad intrinsic", `{"StartAt":"A","States":{"A":{"Type":"Pass","End":true,"Parameters":{"x.$":"States.Nope(1)"}}}}`,
			CodeSchema, "/States/A/Parameters", "valid intrinsic function call"},
		{"bad JSONata", `{"QueryLanguage":"JSONata","StartAt":"A","States":{"A":{"Type":"Pass","End":true,"Output":"{% $states.input. %}"}}}`,
			CodeSchema, "/States/A/Output", "is not valid"},
		{"wait needs one field", `{"StartAt":"W","States":{"W":{"Type":"Wait","Seconds":1,"Timestamp":"2024-01-01T00:00:00Z","End":true}}}`,
			CodeSchema, "/States/W", "Exactly one of"},
		{"bad timestamp", `{"StartAt":"W","States":{"W":{"Type":"Wait","Timestamp":"yesterday","End":true}}}`,
			CodeSchema, "/States/W/Timestamp", "RFC 3339"},
		{"fail error exclusive", `{"StartAt":"F","States":{"F":{"Type":"Fail","Error":"E","ErrorPath":"$.e"}}}`,
			CodeSchema, "/States/F", "mutually exclusive"},
		{"tolerated percentage range", `{"StartAt":"M","States":{"M":{"Type":"Map","End":true,"ToleratedFailurePercentage":101,"ItemProcessor":{"StartAt":"X","States":{"X":{"Type":"Succeed"}}}}}}`,
			CodeSchema, "/States/M/ToleratedFailurePercentage", "between 0 and 100"},
		{"ResultPath not a reference", `{"StartAt":"A","States":{"A":{"Type":"Pass","End":true,"ResultPath":"$.a[*]"}}}`,
			CodeSchema, "/States/A/ResultPath", "reference path"},
		{"invalid variable name", `{"StartAt":"A","States":{"A":{"Type":"Pass","End":true,"Assign":{"1x":1}}}}`,
			CodeSchema, "/States/A/Assign", "not a valid variable name"},
		{"inner assigns outer variable", `{"StartAt":"A","States":{"A":{"Type":"Pass","Assign":{"x":1},"Next":"P"},"P":{"Type":"Parallel","End":true,"Branches":[{"StartAt":"B","States":{"B":{"Type":"Pass","Assign":{"x":2},"End":true}}}]}}}`,
			CodeSchema, "/States/P/Branches/0/States/B/Assign", `variable "x" is assigned in an enclosing scope`},
		{"bad JSON", `{"StartAt":`, CodeInvalidJSON, "", "Invalid JSON"},
		{"empty", ``, CodeMissingDefinition, "", "empty"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			diags := Validate(tc.def)
			for _, d := range diags {
				if d.Code == tc.code && d.Location == tc.loc && strings.Contains(d.Message, tc.msg) {
					return
				}
			}
			t.Errorf("want %s %q at %q; got %v", tc.code, tc.msg, tc.loc, diags)
		})
	}
}

func TestParseReturnsAllProblems(t *testing.T) {
	t.Parallel()
	_, err := Parse(`{"StartAt":"Foo","States":{"Foo":{"Type":"Pass","Next":"Bar"},"Baz":{"Type":"Pass"}}}`)
	var de *DefinitionError
	if !errors.As(err, &de) {
		t.Fatalf("want *DefinitionError, got %v", err)
	}
	msg := err.Error()
	for _, want := range []string{
		`SCHEMA_VALIDATION_FAILED: The field "Next" is required at /States/Baz`,
		`MISSING_TRANSITION_TARGET: Missing 'Next' target: Bar at /States/Foo/Next`,
		`MISSING_TRANSITION_TARGET: State "Baz" is not reachable at /States/Baz`,
		", ",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("message %q lacks %q", msg, want)
		}
	}
}

func TestValidDefinitions(t *testing.T) {
	t.Parallel()
	for _, def := range []string{
		`{"StartAt":"A","States":{"A":{"Type":"Succeed"}}}`,
		`{"Comment":"c","Version":"1.0","TimeoutSeconds":10,"StartAt":"A","States":{"A":{"Type":"Task","Resource":"arn:aws:lambda:us-east-1:1:function:f","Retry":[{"ErrorEquals":["States.TaskFailed"],"IntervalSeconds":2,"MaxAttempts":0,"MaxDelaySeconds":5,"JitterStrategy":"FULL"},{"ErrorEquals":["States.ALL"]}],"Catch":[{"ErrorEquals":["States.ALL"],"ResultPath":"$.err","Next":"F"}],"End":true},"F":{"Type":"Fail","ErrorPath":"$.err.Error","CausePath":"States.Format('{}', $.err.Cause)"}}}`,
		`{"QueryLanguage":"JSONata","StartAt":"M","States":{"M":{"Type":"Map","Items":"{% $states.input.xs %}","MaxConcurrency":"{% 2 %}","ItemProcessor":{"ProcessorConfig":{"Mode":"DISTRIBUTED","ExecutionType":"STANDARD"},"StartAt":"X","States":{"X":{"Type":"Pass","End":true}}},"Output":"{% $states.result %}","End":true}}}`,
		`{"StartAt":"M","States":{"M":{"Type":"Map","Iterator":{"StartAt":"X","States":{"X":{"Type":"Pass","End":true}}},"Parameters":{"v.$":"$$.Map.Item.Value"},"End":true}}}`,
	} {
		if diags := Validate(def); len(diags) > 0 {
			t.Errorf("%s: %v", def, diags)
		}
	}
}
