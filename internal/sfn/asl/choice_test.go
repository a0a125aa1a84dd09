package asl

import "testing"

func TestChoiceOperators(t *testing.T) {
	t.Parallel()
	input, _ := decodeJSON([]byte(`{"s":"abc","n":5,"b":true,"t":"2024-01-02T00:00:00Z","z":null,"star":"a*b","o":{"s":"abc","n":5,"b":true,"t":"2024-01-02T00:00:00Z"}}`))
	env := pathEnv{input: input, vars: func(string) (any, bool) { return nil, false }}
	tests := []struct {
		rule string
		want bool
	}{
		{`{"Variable":"$.s","StringEquals":"abc"}`, true},
		{`{"Variable":"$.s","StringLessThan":"abd"}`, true},
		{`{"Variable":"$.s","StringGreaterThan":"abd"}`, false},
		{`{"Variable":"$.s","StringLessThanEquals":"abc"}`, true},
		{`{"Variable":"$.s","StringGreaterThanEquals":"abc"}`, true},
		{`{"Variable":"$.s","StringMatches":"a*"}`, true},
		{`{"Variable":"$.s","StringMatches":"*c"}`, true},
		{`{"Variable":"$.s","StringMatches":"b*"}`, false},
		{`{"Variable":"$.star","StringMatches":"a\\*b"}`, true},
		{`{"Variable":"$.s","StringMatches":"a\\*c"}`, false},
		{`{"Variable":"$.n","NumericEquals":5}`, true},
		{`{"Variable":"$.n","NumericLessThan":5}`, false},
		{`{"Variable":"$.n","NumericGreaterThan":4.5}`, true},
		{`{"Variable":"$.n","NumericLessThanEquals":5}`, true},
		{`{"Variable":"$.n","NumericGreaterThanEquals":6}`, false},
		{`{"Variable":"$.s","NumericEquals":5}`, false},
		{`{"Variable":"$.b","BooleanEquals":true}`, true},
		{`{"Variable":"$.t","TimestampEquals":"2024-01-02T00:00:00Z"}`, true},
		{`{"Variable":"$.t","TimestampLessThan":"2024-01-03T00:00:00Z"}`, true},
		{`{"Variable":"$.t","TimestampGreaterThan":"2024-01-03T00:00:00Z"}`, false},
		{`{"Variable":"$.t","TimestampLessThanEquals":"2024-01-02T00:00:00Z"}`, true},
		{`{"Variable":"$.t","TimestampGreaterThanEquals":"2024-01-01T00:00:00+01:00"}`, true},
		{`{"Variable":"$.s","StringEqualsPath":"$.o.s"}`, true},
		{`{"Variable":"$.s","StringLessThanPath":"$.o.s"}`, false},
		{`{"Variable":"$.s","StringGreaterThanPath":"$.o.s"}`, false},
		{`{"Variable":"$.s","StringLessThanEqualsPath":"$.o.s"}`, true},
		{`{"Variable":"$.s","StringGreaterThanEqualsPath":"$.o.s"}`, true},
		{`{"Variable":"$.n","NumericEqualsPath":"$.o.n"}`, true},
		{`{"Variable":"$.n","NumericLessThanPath":"$.o.n"}`, false},
		{`{"Variable":"$.n","NumericGreaterThanPath":"$.o.n"}`, false},
		{`{"Variable":"$.n","NumericLessThanEqualsPath":"$.o.n"}`, true},
		{`{"Variable":"$.n","NumericGreaterThanEqualsPath":"$.o.n"}`, true},
		{`{"Variable":"$.b","BooleanEqualsPath":"$.o.b"}`, true},
		{`{"Variable":"$.t","TimestampEqualsPath":"$.o.t"}`, true},
		{`{"Variable":"$.t","TimestampLessThanPath":"$.o.t"}`, false},
		{`{"Variable":"$.t","TimestampGreaterThanPath":"$.o.t"}`, false},
		{`{"Variable":"$.t","TimestampLessThanEqualsPath":"$.o.t"}`, true},
		{`{"Variable":"$.t","TimestampGreaterThanEqualsPath":"$.o.t"}`, true},
		{`{"Variable":"$.z","IsNull":true}`, true},
		{`{"Variable":"$.s","IsNull":true}`, false},
		{`{"Variable":"$.nope","IsPresent":false}`, true},
		{`{"Variable":"$.s","IsPresent":true}`, true},
		{`{"Variable":"$.n","IsNumeric":true}`, true},
		{`{"Variable":"$.s","IsString":true}`, true},
		{`{"Variable":"$.b","IsBoolean":true}`, true},
		{`{"Variable":"$.t","IsTimestamp":true}`, true},
		{`{"Variable":"$.s","IsTimestamp":false}`, true},
		{`{"And":[{"Variable":"$.n","NumericEquals":5},{"Variable":"$.s","StringEquals":"abc"}]}`, true},
		{`{"And":[{"Variable":"$.n","NumericEquals":5},{"Variable":"$.s","StringEquals":"x"}]}`, false},
		{`{"Or":[{"Variable":"$.n","NumericEquals":1},{"Variable":"$.s","StringEquals":"abc"}]}`, true},
		{`{"Not":{"Variable":"$.n","NumericEquals":5}}`, false},
	}
	for _, tc := range tests {
		def := `{"StartAt":"C","States":{"C":{"Type":"Choice","Choices":[` + tc.rule[:len(tc.rule)-1] + `,"Next":"D"}]},"D":{"Type":"Succeed"}}}`
		d, err := Parse(def)
		if err != nil {
			t.Errorf("%s: %v", tc.rule, err)
			continue
		}
		got, err := evalRule(d.States["C"].Choices[0], env)
		if err != nil || got != tc.want {
			t.Errorf("%s: got %v (%v), want %v", tc.rule, got, err, tc.want)
		}
	}
}

func TestChoiceRouting(t *testing.T) {
	t.Parallel()
	jp := `{"StartAt":"C","States":{
		"C":{"Type":"Choice","Choices":[{"Variable":"$.n","NumericGreaterThan":10,"Next":"Big","Assign":{"kind":"big"}}],"Default":"Small","Assign":{"kind":"small"}},
		"Big":{"Type":"Pass","Parameters":{"kind.$":"$kind"},"End":true},
		"Small":{"Type":"Pass","Parameters":{"kind.$":"$kind"},"End":true}}}`
	ja := `{"QueryLanguage":"JSONata","StartAt":"C","States":{
		"C":{"Type":"Choice","Choices":[{"Condition":"{% $states.input.n > 10 %}","Next":"Big","Assign":{"kind":"big"}}],"Default":"Small","Assign":{"kind":"small"}},
		"Big":{"Type":"Pass","Output":{"kind":"{% $kind %}"},"End":true},
		"Small":{"Type":"Pass","Output":{"kind":"{% $kind %}"},"End":true}}}`
	for _, def := range []string{jp, ja} {
		h := newHarness()
		jsonEq(t, h.mustRun(t, def, `{"n":11}`), `{"kind":"big"}`)
		jsonEq(t, h.mustRun(t, def, `{"n":1}`), `{"kind":"small"}`)
	}
	h := newHarness()
	res := h.run(t, `{"StartAt":"C","States":{"C":{"Type":"Choice","Choices":[{"Variable":"$.n","NumericEquals":1,"Next":"D"}]},"D":{"Type":"Succeed"}}}`, `{"n":2}`)
	if res.Error != ErrNoChoiceMatched {
		t.Errorf("no match: %+v", res)
	}
	res = h.run(t, `{"StartAt":"C","States":{"C":{"Type":"Choice","Choices":[{"Variable":"$.x","NumericEquals":1,"Next":"D"}]},"D":{"Type":"Succeed"}}}`, `{"n":2}`)
	if res.Error != ErrRuntime {
		t.Errorf("missing variable: %+v", res)
	}
}
