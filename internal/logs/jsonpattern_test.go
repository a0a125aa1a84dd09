package logs

import (
	"errors"
	"strings"
	"testing"
)

// TestJSONPatternGrouping: parentheses group a JSON pattern's comparisons to any depth, && binds
// tighter than ||, and the value-less tests (IS NULL, IS TRUE, IS FALSE, NOT EXISTS) work alone and
// inside groups — including the nesting AWS CDK's FilterPattern.all/any writes.
func TestJSONPatternGrouping(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, pattern string
		match, miss   []string
	}{
		{"a group, then ||", `{ ($.a = 1 && $.b = 2) || $.c = 3 }`,
			[]string{`{"a":1,"b":2}`, `{"c":3}`, `{"a":0,"c":3}`},
			[]string{`{"a":1}`, `{"b":2,"c":4}`, `{}`}},
		{"|| inside a group, then &&", `{ $.a = 1 && ($.b = 2 || $.c = 3) }`,
			[]string{`{"a":1,"b":2}`, `{"a":1,"c":3}`},
			[]string{`{"b":2}`, `{"a":1}`, `{"a":2,"c":3}`}},
		{"&& binds tighter than || without parentheses", `{ $.a = 1 || $.b = 2 && $.c = 3 }`,
			[]string{`{"a":1}`, `{"b":2,"c":3}`},
			[]string{`{"b":2}`, `{"c":3}`}},
		{"nested groups", `{ (($.a = 1) && (($.b = "x") || ($.n > 10))) || ($.z IS TRUE) }`,
			[]string{`{"a":1,"b":"x"}`, `{"a":1,"n":11}`, `{"z":true}`},
			[]string{`{"a":1,"b":"y","n":10}`, `{"b":"x","n":20}`, `{"z":"true"}`}},
		{"a group around everything", `{ ( $.level = "ERROR" ) }`,
			[]string{`{"level":"ERROR"}`}, []string{`{"level":"INFO"}`}},
		{"groups without spaces", `{($.a=1)||($.b=2&&$.c=3)}`,
			[]string{`{"a":1}`, `{"b":2,"c":3}`}, []string{`{"b":2}`}},
		{"IS NULL", `{ $.user IS NULL }`,
			[]string{`{"user":null}`}, []string{`{}`, `{"user":"x"}`, `{"user":0}`}},
		{"IS TRUE", `{ $.ok IS TRUE }`,
			[]string{`{"ok":true}`}, []string{`{"ok":false}`, `{"ok":"true"}`, `{}`}},
		{"IS FALSE", `{ $.ok IS FALSE }`,
			[]string{`{"ok":false}`}, []string{`{"ok":true}`, `{"ok":null}`, `{}`}},
		{"NOT EXISTS", `{ $.trace.id NOT EXISTS }`,
			[]string{`{}`, `{"trace":{}}`, `{"trace":"flat"}`}, []string{`{"trace":{"id":null}}`, `{"trace":{"id":"x"}}`}},
		{"tests in lower case", `{ $.x is null || $.y not exists }`,
			[]string{`{"x":null,"y":1}`, `{"x":1}`}, []string{`{"x":1,"y":1}`}},
		{"tests joined and grouped", `{ ($.ok IS FALSE || $.err NOT EXISTS) && $.code >= 500 }`,
			[]string{`{"ok":false,"err":"e","code":500}`, `{"code":503}`},
			[]string{`{"ok":true,"err":"e","code":500}`, `{"ok":false,"code":404}`}},
		{"an unquoted value before ')'", `{ ($.path = /api/*) && ($.n < 5) }`,
			[]string{`{"path":"/api/v1","n":1}`}, []string{`{"path":"/web","n":1}`, `{"path":"/api/x","n":5}`}},
		{"parentheses inside a quoted value", `{ $.msg = "f(x) && g" || $.msg = "(*" }`,
			[]string{`{"msg":"f(x) && g"}`, `{"msg":"(open"}`}, []string{`{"msg":"f(x)"}`}},
		{"not a JSON object", `{ ($.a NOT EXISTS) }`, nil, []string{"plain text", `["a"]`, ""}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := CompilePattern(tc.pattern)
			if err != nil {
				t.Fatalf("%q: %v", tc.pattern, err)
			}
			for _, s := range tc.match {
				if !m(s) {
					t.Errorf("%q does not match %s", tc.pattern, s)
				}
			}
			for _, s := range tc.miss {
				if m(s) {
					t.Errorf("%q matches %s", tc.pattern, s)
				}
			}
		})
	}
}

// TestJSONPatternMalformed: a malformed JSON pattern is refused with ErrInvalidParameter (the API's
// InvalidParameterException), in a message naming filterPattern.
func TestJSONPatternMalformed(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ name, pattern string }{
		{"an unclosed group", `{ ($.a = 1 }`},
		{"a group closed twice", `{ ($.a = 1)) }`},
		{"a ')' with no '('", `{ $.a = 1) || ($.b = 2 }`},
		{"an empty group", `{ () }`},
		{"an empty pattern", `{ }`},
		{"a trailing &&", `{ $.a = 1 && }`},
		{"a leading ||", `{ || $.a = 1 }`},
		{"operators in a row", `{ $.a = 1 && || $.b = 2 }`},
		{"two comparisons with no operator", `{ ($.a = 1) ($.b = 2) }`},
		{"no closing brace", `{ $.a = 1`},
		{"an unknown test", `{ $.a IS MAYBE }`},
		{"NOT without EXISTS", `{ $.a NOT }`},
		{"a test with a value", `{ $.a IS NULL 1 }`},
		{"no selector", `{ level = 1 }`},
		{"a number compared with a string operator", `{ $.a > "x" }`},
		{"too deep", "{ " + strings.Repeat("(", maxJSONPatternDepth+1) + "$.a = 1" + strings.Repeat(")", maxJSONPatternDepth+1) + " }"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := CompilePattern(tc.pattern)
			if !errors.Is(err, ErrInvalidParameter) || !strings.Contains(err.Error(), "filterPattern") {
				t.Errorf("%q: %v, want ErrInvalidParameter naming filterPattern", tc.pattern, err)
			}
		})
	}
	deep := "{ " + strings.Repeat("(", maxJSONPatternDepth) + "$.a = 1" + strings.Repeat(")", maxJSONPatternDepth) + " }"
	if m, err := CompilePattern(deep); err != nil || !m(`{"a":1}`) {
		t.Errorf("groups %d deep: %v", maxJSONPatternDepth, err)
	}
}
