package asl

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

// JSON nulls in the data are null to JSONata, not undefined: a field whose
// value is null reads as null, compares equal to null and stays in objects
// and arrays built from it.
func TestJSONataNulls(t *testing.T) {
	t.Parallel()
	in, err := decodeJSON([]byte(`{"a":null,"b":[1,null,2],"o":{"k":null},"arr":[{"x":1},{"x":null}]}`))
	if err != nil {
		t.Fatal(err)
	}
	env := &jsonataEnv{states: map[string]any{"input": in}, vars: map[string]any{"nv": nil},
		now: time.Unix(0, 0), rand: newRandSource(rand.NewPCG(1, 2))}
	for expr, want := range map[string]string{
		`$states.input.a`:                     `null`,
		`$states.input.a = null`:              `true`,
		`$exists($states.input.a)`:            `true`,
		`$type($states.input.o.k)`:            `"null"`,
		`$states.input.b`:                     `[1,null,2]`,
		`$states.input.arr[x = null]`:         `{"x":null}`,
		`{'k': $states.input.a}`:              `{"k":null}`,
		`$merge([$states.input.o, {'z': 1}])`: `{"k":null,"z":1}`,
		`$string($states.input.o)`:            `"{\"k\":null}"`,
		`$nv = null`:                          `true`,
		`$states.input`:                       `{"a":null,"b":[1,null,2],"o":{"k":null},"arr":[{"x":1},{"x":null}]}`,
	} {
		v, err := evalJSONata("{% "+expr+" %}", "Output", env)
		if err != nil {
			t.Errorf("%s: %v", expr, err)
			continue
		}
		jsonEq(t, mustJSON(v), want)
	}
	// The values given to the library are copies: the input is unchanged.
	jsonEq(t, mustJSON(in), `{"a":null,"b":[1,null,2],"o":{"k":null},"arr":[{"x":1},{"x":null}]}`)
	if _, changed := withJSONataNulls(map[string]any{"a": []any{1.0, "x"}}); changed {
		t.Error("a value without null was copied")
	}
}

// $assert is JSONata 2.x's: undefined when the condition holds, an error
// with the message otherwise.
func TestJSONataAssert(t *testing.T) {
	t.Parallel()
	env := &jsonataEnv{states: map[string]any{"input": map[string]any{"n": 3.0}}, now: time.Unix(0, 0), rand: newRandSource(rand.NewPCG(1, 2))}
	v, err := evalJSONata("{% ($assert($states.input.n > 0, 'negative'); $states.input.n) %}", "Output", env)
	if err != nil || v != 3.0 {
		t.Fatalf("passing assert: %v %v", v, err)
	}
	for expr, msg := range map[string]string{
		`$assert($states.input.n < 0, 'too big')`: "too big",
		`$assert(false)`: "$assert() statement failed",
		`$assert(1)`:     "must be a boolean",
	} {
		_, err := evalJSONata("{% "+expr+" %}", "Output", env)
		e, ok := err.(*Error)
		if !ok || e.Name != ErrQueryEvaluationError || !strings.Contains(e.Cause, msg) {
			t.Errorf("%s: %v", expr, err)
		}
	}
}

// A JSONata state reading a null field, end to end: the guide's pattern of
// copying input fields into Output must keep nulls, as JSONPath does.
func TestGuideNullFieldBothLanguages(t *testing.T) {
	t.Parallel()
	jsonPath := `{"StartAt":"C","States":{"C":{"Type":"Choice","Choices":[{"Variable":"$.d","IsNull":true,"Next":"N"}],"Default":"S"},
		"N":{"Type":"Pass","Parameters":{"d.$":"$.d","kind":"none"},"End":true},"S":{"Type":"Pass","Parameters":{"d.$":"$.d","kind":"some"},"End":true}}}`
	jsonata := `{"QueryLanguage":"JSONata","StartAt":"C","States":{"C":{"Type":"Choice","Choices":[{"Condition":"{% $states.input.d = null %}","Next":"N"}],"Default":"S"},
		"N":{"Type":"Pass","Output":{"d":"{% $states.input.d %}","kind":"none"},"End":true},"S":{"Type":"Pass","Output":{"d":"{% $states.input.d %}","kind":"some"},"End":true}}}`
	for _, def := range []string{jsonPath, jsonata} {
		h := newHarness()
		jsonEq(t, h.mustRun(t, def, `{"d":null}`), `{"d":null,"kind":"none"}`)
		jsonEq(t, h.mustRun(t, def, `{"d":2}`), `{"d":2,"kind":"some"}`)
	}
}

// The @ and # bindings of JSONata 1.6+ are refused when compiled (at
// validation) rather than evaluating to nothing; a # or @ inside a string,
// a backtick name or a regex is fine.
func TestJSONataBindingsRefused(t *testing.T) {
	t.Parallel()
	for _, expr := range []string{"$states.input.arr@$i.x", "$states.input.arr#$p.x", "library.books#$i[$i < 2]"} {
		if _, err := compileJSONata("{% " + expr + " %}"); err == nil || !strings.Contains(err.Error(), "not supported") {
			t.Errorf("%s: %v", expr, err)
		}
	}
	for _, expr := range []string{"$states.input.a = '#1@x'", "$states.input.`a#b`", "$match($states.input.s, /#[0-9]+@/)", "$states.input.a"} {
		if _, err := compileJSONata("{% " + expr + " %}"); err != nil {
			t.Errorf("%s: %v", expr, err)
		}
	}
	_, err := Parse(`{"QueryLanguage":"JSONata","StartAt":"A","States":{"A":{"Type":"Pass","Output":"{% $states.input.xs#$i.v %}","End":true}}}`)
	if err == nil || !strings.Contains(err.Error(), "/States/A/Output") {
		t.Errorf("Parse: %v", err)
	}
}

// The Map *Path fields against their JSONata expression forms.
func TestGuideMapPathFieldsBothLanguages(t *testing.T) {
	t.Parallel()
	proc := `"ItemProcessor":{"ProcessorConfig":{"Mode":"DISTRIBUTED","ExecutionType":"STANDARD"},"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}}`
	jsonPath := `{"StartAt":"M","States":{"M":{"Type":"Map","ItemsPath":"$.xs","MaxConcurrencyPath":"$.conc","ToleratedFailureCountPath":"$.tolerate",
		"ItemBatcher":{"MaxItemsPerBatchPath":"$.batch"},` + proc + `,"End":true}}}`
	jsonata := `{"QueryLanguage":"JSONata","StartAt":"M","States":{"M":{"Type":"Map","Items":"{% $states.input.xs %}","MaxConcurrency":"{% $states.input.conc %}",
		"ToleratedFailureCount":"{% $states.input.tolerate %}","ItemBatcher":{"MaxItemsPerBatch":"{% $states.input.batch %}"},` + proc + `,"End":true}}}`
	for _, def := range []string{jsonPath, jsonata} {
		h := newHarness()
		jsonEq(t, h.mustRun(t, def, `{"xs":[1,2,3,4,5],"conc":2,"batch":2,"tolerate":0}`), `[{"Items":[1,2]},{"Items":[3,4]},{"Items":[5]}]`)
	}
}

// Large containers are converted once and the conversion reused; a Map
// over many items with nulls keeps them in every iteration.
func TestJSONataNullsLarge(t *testing.T) {
	t.Parallel()
	items := make([]any, 200)
	for i := range items {
		items[i] = map[string]any{"i": float64(i), "gone": nil}
	}
	in := map[string]any{"items": items}
	a, changedA := withJSONataNulls(in)
	b, changedB := withJSONataNulls(in)
	if !changedA || !changedB || mustJSON(normalize(a)) != mustJSON(in) {
		t.Fatalf("conversion %v %v", changedA, changedB)
	}
	if ai, bi := a.(map[string]any)["items"].([]any), b.(map[string]any)["items"].([]any); &ai[0] != &bi[0] {
		t.Error("the large array was converted twice")
	}
	h := newHarness()
	def := `{"QueryLanguage":"JSONata","StartAt":"M","States":{"M":{"Type":"Map","Items":"{% $states.input.items %}",
		"ItemSelector":{"i":"{% $states.context.Map.Item.Value.i %}","gone":"{% $states.context.Map.Item.Value.gone %}","n":"{% $count($states.input.items) %}"},
		"ItemProcessor":{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}},"Output":"{% $states.result[199] %}","End":true}}}`
	jsonEq(t, h.mustRun(t, def, mustJSON(in)), `{"i":199,"gone":null,"n":200}`)
}

// Evaluations running at once (Parallel branches, Map iterations, other
// executions) must not see each other's data through the library's shared
// built-in functions: $uppercase() applied as a path step takes its
// argument from the evaluation context.
func TestJSONataConcurrentContext(t *testing.T) {
	t.Parallel()
	done := make(chan string, 8)
	for g := range 8 {
		go func() {
			word := strings.Repeat(string(rune('a'+g)), 3)
			env := &jsonataEnv{states: map[string]any{"input": map[string]any{"w": word}}, now: time.Unix(0, 0), rand: newRandSource(rand.NewPCG(1, 2))}
			for range 200 {
				v, err := evalJSONata("{% $states.input.w.$uppercase() %}", "Output", env)
				if err != nil || v != strings.ToUpper(word) {
					done <- fmt.Sprintf("%s: got %v %v", word, v, err)
					return
				}
			}
			done <- ""
		}()
	}
	for range 8 {
		if msg := <-done; msg != "" {
			t.Error(msg)
		}
	}
}
