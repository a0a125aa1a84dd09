package asl

import (
	"errors"
	"fmt"
	"strings"
	"time"

	jsonata "github.com/blues/jsonata-go"
	"github.com/blues/jsonata-go/jlib"
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
	return jsonata.Compile(jsonataBody(s))
}

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
		vars[k] = v
	}
	vars["states"] = env.states
	if err := e.RegisterVars(vars); err != nil {
		return nil, newError(ErrQueryEvaluationError, "binding variables: %v", err)
	}
	if err := e.RegisterExts(stepFunctionsExts(env)); err != nil {
		return nil, newError(ErrQueryEvaluationError, "registering functions: %v", err)
	}
	v, err := e.Eval(env.states["input"])
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
