package asl

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"time"
	"unsafe"

	jsonata "github.com/blues/jsonata-go"
	"github.com/blues/jsonata-go/jlib"
	"github.com/blues/jsonata-go/jparse"
	"github.com/blues/jsonata-go/jtypes"
)

// isJSONataString reports whether a string is a "{% expression %}".
func isJSONataString(s string) bool {
	t := strings.TrimSpace(s)
	return len(t) >= 4 && strings.HasPrefix(t, "{%") && strings.HasSuffix(t, "%}")
}

func jsonataBody(s string) string {
	t := strings.TrimSpace(s)
	return strings.TrimSpace(t[2 : len(t)-2])
}

// compileJSONata compiles the expression inside "{% %}". An Expr carries
// its own registry of functions and variables, so each evaluation compiles
// afresh rather than sharing one across goroutines.
func compileJSONata(s string) (*jsonata.Expr, error) {
	body := jsonataBody(s)
	e, err := jsonata.Compile(body)
	if err != nil {
		return nil, err
	}
	if strings.ContainsAny(body, "@#") {
		if err := checkBindings(body); err != nil {
			return nil, err
		}
	}
	return e, nil
}

// checkBindings refuses JSONata 1.6+'s context (@) and positional (#)
// variable bindings, which the library (JSONata 1.5) reads as part of a
// field name and so evaluates to nothing instead of failing.
func checkBindings(body string) error {
	root, err := jparse.Parse(body)
	if err != nil {
		return err
	}
	var bad string
	var walk func(v reflect.Value)
	walk = func(v reflect.Value) {
		if bad != "" || !v.IsValid() {
			return
		}
		if v.CanInterface() {
			if n, ok := v.Interface().(jparse.NameNode); ok {
				if !n.Escaped() && strings.ContainsAny(n.Value, "@#") {
					bad = n.Value
				}
				return
			}
		}
		switch v.Kind() {
		case reflect.Pointer, reflect.Interface:
			if !v.IsNil() {
				walk(v.Elem())
			}
		case reflect.Struct:
			for i := range v.NumField() {
				walk(v.Field(i))
			}
		case reflect.Slice, reflect.Array:
			for i := range v.Len() {
				walk(v.Index(i))
			}
		}
	}
	walk(reflect.ValueOf(root))
	if bad != "" {
		return fmt.Errorf("%q: the @ and # variable bindings of JSONata 1.6+ are not supported (JSONata 1.5)", bad)
	}
	return nil
}

// jsonataEvalMu serializes evaluations. The library's built-in functions
// ($count, $string, ...) are single values shared by every expression, and
// each call stores its name and evaluation context in them
// (evalFunctionCall's SetName/SetContext): two evaluations at once race, and
// a function using its context ($string() with no argument, a function
// applied as a path step) could read the other evaluation's data. An
// evaluation takes microseconds, so Parallel branches and Map iterations
// lose little by taking turns.
var jsonataEvalMu sync.Mutex

// jsonataEnv is what a JSONata expression can see: $states and the
// workflow variables in scope.
type jsonataEnv struct {
	states map[string]any
	vars   map[string]any
	now    time.Time
	rand   *randSource
}

// evalJSONata evaluates one "{% %}" string for the named field.
func evalJSONata(src, field string, env *jsonataEnv) (any, error) {
	e, err := compileJSONata(src)
	if err != nil {
		return nil, newError(ErrQueryEvaluationError, "The JSONata expression '%s' specified for the field '%s' is invalid: %v", jsonataBody(src), field, err)
	}
	vars := make(map[string]any, len(env.vars)+1)
	for k, v := range env.vars {
		vars[k] = jsonataNulls(v)
	}
	states := jsonataNulls(env.states)
	vars["states"] = states
	if err := e.RegisterVars(vars); err != nil {
		return nil, newError(ErrQueryEvaluationError, "binding variables: %v", err)
	}
	if err := e.RegisterExts(stepFunctionsExts(env)); err != nil {
		return nil, newError(ErrQueryEvaluationError, "registering functions: %v", err)
	}
	jsonataEvalMu.Lock()
	v, err := e.Eval(states.(map[string]any)["input"])
	jsonataEvalMu.Unlock()
	if errors.Is(err, jsonata.ErrUndefined) {
		return nil, newError(ErrQueryEvaluationError,
			"The JSONata expression '%s' specified for the field '%s' returned nothing (undefined).", jsonataBody(src), field)
	}
	if err != nil {
		return nil, newError(ErrQueryEvaluationError,
			"An error occurred while evaluating the JSONata expression '%s' specified for the field '%s': %v", jsonataBody(src), field, err)
	}
	return normalize(v), nil
}

// evalJSONataTemplate evaluates every "{% %}" string inside a JSON value.
func evalJSONataTemplate(v any, field string, env *jsonataEnv) (any, error) {
	switch t := v.(type) {
	case string:
		if isJSONataString(t) {
			return evalJSONata(t, field, env)
		}
		return t, nil
	case map[string]any:
		out := make(map[string]any, len(t))
		for _, k := range sortedKeys(t) {
			e, err := evalJSONataTemplate(t[k], field+"/"+k, env)
			if err != nil {
				return nil, err
			}
			out[k] = e
		}
		return out, nil
	case []any:
		out := make([]any, len(t))
		for i, e := range t {
			r, err := evalJSONataTemplate(e, fmt.Sprintf("%s[%d]", field, i), env)
			if err != nil {
				return nil, err
			}
			out[i] = r
		}
		return out, nil
	}
	return v, nil
}

// stepFunctionsExts are the functions Step Functions adds to JSONata, plus
// $now and $millis bound to the injected clock so tests are deterministic.
func stepFunctionsExts(env *jsonataEnv) map[string]jsonata.Extension {
	ms := env.now.UnixMilli()
	return map[string]jsonata.Extension{
		"partition": {Func: func(arr any, size float64) (any, error) {
			return fnArrayPartition(intrinsicEnv{}, []any{toArray(arr), size})
		}},
		"range": {Func: func(start, end, step float64) (any, error) {
			return fnArrayRange(intrinsicEnv{}, []any{start, end, step})
		}},
		"hash": {Func: func(data any, alg jtypes.OptionalString) (any, error) {
			a := "SHA-256"
			if alg.IsSet() {
				a = alg.String
			}
			s, ok := data.(string)
			if !ok {
				s = mustJSON(normalize(data))
			}
			return fnHash(intrinsicEnv{}, []any{s, a})
		}},
		"random": {Func: func(seed jtypes.OptionalFloat64) float64 {
			if seed.IsSet() {
				return seededFloat(int64(seed.Float64))
			}
			return env.rand.Float64()
		}},
		"uuid": {Func: func() string { return env.rand.uuid() }},
		"parse": {Func: func(s string) (any, error) {
			return fnStringToJSON(intrinsicEnv{}, []any{s})
		}},
		// $assert is JSONata 2.x's, which the library (1.5) lacks.
		"assert": {Func: func(cond any, msg jtypes.OptionalString) (any, error) {
			b, ok := cond.(bool)
			if !ok {
				return nil, errors.New("the first argument of $assert must be a boolean")
			}
			if !b {
				if msg.IsSet() {
					return nil, errors.New(msg.String)
				}
				return nil, errors.New("$assert() statement failed")
			}
			return nil, nil
		}},
		"millis": {Func: func() int64 { return ms }},
		"now": {Func: func(picture, tz jtypes.OptionalString) (string, error) {
			return jlib.FromMillis(ms, picture, tz)
		}},
	}
}

func toArray(v any) any {
	if a, ok := normalize(v).([]any); ok {
		return a
	}
	return []any{normalize(v)}
}

// jsonataNull is how github.com/blues/jsonata-go represents a JSON null: a
// nil *interface{}. A plain nil in the data is undefined to it, so a field
// whose value is null would vanish ($states.input.x failing as "returned
// nothing", {"a": null} losing a) where JSONata returns null.
var jsonataNull *any

// jsonataNulls returns v with every JSON null turned into jsonataNull,
// copying only the containers that hold one (values are never modified in
// place).
func jsonataNulls(v any) any {
	out, _ := withJSONataNulls(v)
	return out
}

func withJSONataNulls(v any) (any, bool) {
	switch t := v.(type) {
	case nil:
		return jsonataNull, true
	case map[string]any:
		if len(t) < nullCacheMin {
			return mapNulls(t)
		}
		return nullCache.get(reflect.ValueOf(t).UnsafePointer(), len(t), t, func() (any, bool) { return mapNulls(t) })
	case []any:
		if len(t) < nullCacheMin {
			return sliceNulls(t)
		}
		return nullCache.get(unsafe.Pointer(unsafe.SliceData(t)), len(t), t, func() (any, bool) { return sliceNulls(t) })
	}
	return v, false
}

func mapNulls(t map[string]any) (any, bool) {
	var out map[string]any
	for k, e := range t {
		c, changed := withJSONataNulls(e)
		if !changed {
			continue
		}
		if out == nil {
			out = make(map[string]any, len(t))
			for k2, e2 := range t {
				out[k2] = e2
			}
		}
		out[k] = c
	}
	if out == nil {
		return t, false
	}
	return out, true
}

func sliceNulls(t []any) (any, bool) {
	var out []any
	for i, e := range t {
		c, changed := withJSONataNulls(e)
		if !changed {
			continue
		}
		if out == nil {
			out = append([]any{}, t...)
		}
		out[i] = c
	}
	if out == nil {
		return t, false
	}
	return out, true
}

// Converting a large value again for every expression would make, say, a
// Map's ItemSelector quadratic in the size of its input. Values are never
// modified once created, so the conversion of a large container is kept,
// keyed by its identity; the entry holds the original so that its memory
// cannot be reused by another value while cached.
const (
	nullCacheMin  = 32 // containers with fewer children are converted each time
	nullCacheSize = 64 // entries kept (each pins a value); emptied when full
)

type nullCacheKey struct {
	ptr unsafe.Pointer
	n   int
}

type nullCacheEntry struct {
	orig    any
	out     any
	changed bool
}

type nullCacheT struct {
	mu sync.Mutex
	m  map[nullCacheKey]nullCacheEntry
}

var nullCache = &nullCacheT{m: map[nullCacheKey]nullCacheEntry{}}

func (c *nullCacheT) get(ptr unsafe.Pointer, n int, orig any, convert func() (any, bool)) (any, bool) {
	key := nullCacheKey{ptr, n}
	c.mu.Lock()
	e, ok := c.m[key]
	c.mu.Unlock()
	if ok {
		return e.out, e.changed
	}
	out, changed := convert()
	c.mu.Lock()
	if len(c.m) >= nullCacheSize {
		clear(c.m)
	}
	c.m[key] = nullCacheEntry{orig: orig, out: out, changed: changed}
	c.mu.Unlock()
	return out, changed
}
