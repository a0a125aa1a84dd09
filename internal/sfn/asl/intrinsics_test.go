package asl

import (
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"
)

func evalIntrinsicForTest(t *testing.T, expr string, input any) (any, *Error) {
	t.Helper()
	c, err := parseIntrinsic(expr)
	if err != nil {
		t.Fatalf("parse %s: %v", expr, err)
	}
	env := intrinsicEnv{rand: newRandSource(rand.NewPCG(3, 4)), paths: pathEnv{
		input:   input,
		context: map[string]any{"Execution": map[string]any{"Name": "ex"}},
		vars:    func(n string) (any, bool) { return map[string]any{"v": "var"}[n], n == "v" },
	}}
	return c.eval(env)
}

func TestIntrinsics(t *testing.T) {
	t.Parallel()
	input := map[string]any{"name": "bob", "n": 3.0, "arr": []any{1.0, 2.0, 2.0, "x"}, "obj": map[string]any{"a": 1.0},
		"json": `{"k":[1,2]}`, "csv": "a,b,,c"}
	tests := []struct {
		expr, want string
	}{
		{`States.Format('Hello, {}! n={} {} {}', $.name, $.n, true, null)`, `"Hello, bob! n=3 true null"`},
		{`States.Format('esc \{\} \' \\ {}', $$.Execution.Name)`, `"esc {} ' \\ ex"`},
		{`States.Format('{}', $v)`, `"var"`},
		{`States.StringToJson($.json)`, `{"k":[1,2]}`},
		{`States.JsonToString($.obj)`, `"{\"a\":1}"`},
		{`States.Array(1, 'two', $.obj, States.Array())`, `[1,"two",{"a":1},[]]`},
		{`States.ArrayPartition(States.ArrayRange(1, 5, 1), 2)`, `[[1,2],[3,4],[5]]`},
		{`States.ArrayContains($.arr, 'x')`, `true`},
		{`States.ArrayContains($.arr, 5)`, `false`},
		{`States.ArrayRange(10, 0, -5)`, `[10,5,0]`},
		{`States.ArrayGetItem($.arr, 3)`, `"x"`},
		{`States.ArrayLength($.arr)`, `4`},
		{`States.ArrayUnique($.arr)`, `[1,2,"x"]`},
		{`States.Base64Encode('Data to encode')`, `"RGF0YSB0byBlbmNvZGU="`},
		{`States.Base64Decode('RGF0YSB0byBlbmNvZGU=')`, `"Data to encode"`},
		{`States.Hash('input data', 'MD5')`, `"812f45842bc6d66ee14572ce20db8e86"`},
		{`States.Hash('input data', 'SHA-1')`, `"aaff4a450a104cd177d28d18d74485e8cae074b7"`},
		{`States.Hash('input data', 'SHA-256')`, `"b4a697a057313163aee33cd8d40c66e9f0f177e00cac2de32475ffff6169c3e3"`},
		{`States.JsonMerge($.obj, States.StringToJson('{"b":2,"a":3}'), false)`, `{"a":3,"b":2}`},
		{`States.MathAdd($.n, -4)`, `-1`},
		{`States.MathRandom(5, 6)`, `5`},
		{`States.StringSplit($.csv, ',')`, `["a","b","c"]`},
		{`States.StringSplit('This is+a+test string', '+ ')`, `["This","is","a","test","string"]`},
	}
	for _, tc := range tests {
		got, err := evalIntrinsicForTest(t, tc.expr, input)
		if err != nil {
			t.Errorf("%s: %v", tc.expr, err)
			continue
		}
		jsonEq(t, mustJSON(got), tc.want)
	}
	for _, alg := range []string{"SHA-384", "SHA-512"} {
		got, err := evalIntrinsicForTest(t, "States.Hash('x', '"+alg+"')", input)
		if err != nil || len(got.(string)) < 96 {
			t.Errorf("%s: %v %v", alg, got, err)
		}
	}
	u, _ := evalIntrinsicForTest(t, "States.UUID()", input)
	if !regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`).MatchString(u.(string)) {
		t.Errorf("UUID %v", u)
	}
	a, _ := evalIntrinsicForTest(t, "States.MathRandom(1, 1000, 42)", input)
	b, _ := evalIntrinsicForTest(t, "States.MathRandom(1, 1000, 42)", input)
	if a != b {
		t.Errorf("seeded MathRandom differs: %v %v", a, b)
	}
}

func TestIntrinsicErrors(t *testing.T) {
	t.Parallel()
	input := map[string]any{"s": "x", "arr": []any{1.0}, "obj": map[string]any{}}
	tests := []struct{ expr, name, cause string }{
		{`States.Format('{} {}', 'a')`, ErrRuntime, "placeholders"},
		{`States.Format('{}', $.obj)`, ErrRuntime, "must be a string, number"},
		{`States.StringToJson('{')`, ErrRuntime, "not valid JSON"},
		{`States.ArrayPartition($.arr, 0)`, ErrRuntime, "positive"},
		{`States.ArrayRange(0, 2000, 1)`, ErrRuntime, "more than 1000"},
		{`States.ArrayRange(0, 5, 0)`, ErrRuntime, "must not be 0"},
		{`States.ArrayGetItem($.arr, 5)`, ErrRuntime, "out of bounds"},
		{`States.ArrayLength($.s)`, ErrRuntime, "must be an array"},
		{`States.Base64Decode('***')`, ErrRuntime, "not valid base64"},
		{`States.Hash('x', 'SHA-3')`, ErrRuntime, "is not one of"},
		{`States.JsonMerge($.obj, $.obj, true)`, ErrRuntime, "deep merging"},
		{`States.JsonMerge($.obj, $.arr, false)`, ErrRuntime, "must be objects"},
		{`States.MathAdd(1.5, 1)`, ErrRuntime, "must be an integer"},
		{`States.MathRandom(5, 5)`, ErrRuntime, "greater than"},
		{`States.StringSplit(1, ',')`, ErrRuntime, "must be a string"},
		{`States.Format('{}', $.missing)`, ErrRuntime, "could not be found"},
	}
	for _, tc := range tests {
		_, err := evalIntrinsicForTest(t, tc.expr, input)
		if err == nil || err.Name != tc.name || !strings.Contains(err.Cause, tc.cause) {
			t.Errorf("%s: got %v, want %s containing %q", tc.expr, err, tc.name, tc.cause)
		}
	}
	long := strings.Repeat("a", maxIntrinsicString+1)
	if _, err := evalIntrinsicForTest(t, "States.Base64Encode($.s)", map[string]any{"s": long}); err == nil {
		t.Error("Base64Encode accepted an over-long string")
	}
}

func TestIntrinsicParseErrors(t *testing.T) {
	t.Parallel()
	for _, expr := range []string{
		`States.Nope()`, `States.Format('x'`, `States.UUID(1)`, `States.ArrayLength()`,
		`States.Format('unterminated)`, `States.Format('a' 'b')`, `States.MathAdd(1, two)`,
	} {
		if _, err := parseIntrinsic(expr); err == nil {
			t.Errorf("%s parsed", expr)
		}
	}
}
