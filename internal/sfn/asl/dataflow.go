package asl

import (
	"context"
	"fmt"
	"strings"
)

// workFunc performs a state's own work on its effective input (after
// InputPath and Parameters, or Arguments) and returns its result.
type workFunc func(ctx context.Context, input any) (any, error)

// pipeline runs the data flow shared by Pass, Task, Parallel and Map:
// under JSONPath InputPath → Parameters → work → ResultSelector → Assign →
// ResultPath → OutputPath; under JSONata Arguments → work → Assign and
// Output, both of which see the variables as they were on entry.
func (r *run) pipeline(ctx context.Context, st *State, fr *Frame, sc *scope, extra map[string]any, work workFunc) (stateResult, error) {
	res := stateResult{next: st.Next, end: st.End}
	raw := fr.Input
	r.inspect(fr, func(in *Inspection) { in.Input = mustJSON(raw) })
	if st.jsonata() {
		states := r.statesVar(fr, st, extra)
		env := r.jsonataEnv(states, sc)
		args := raw
		if st.Arguments.Set {
			var err error
			if args, err = evalJSONataTemplate(st.Arguments.Value, "Arguments", env); err != nil {
				return res, err
			}
			r.inspect(fr, func(in *Inspection) { in.AfterArguments = mustJSON(args) })
		}
		result, err := work(ctx, args)
		if err != nil {
			return res, err
		}
		r.inspect(fr, func(in *Inspection) { in.Result = mustJSON(result) })
		states["result"] = result
		return r.finishJSONata(st, env, result, res)
	}
	env := r.pathEnv(raw, fr, st, sc, extra)
	eff, err := applyInputPath(st.InputPath, env)
	if err != nil {
		return res, err
	}
	r.inspect(fr, func(in *Inspection) { in.AfterInputPath = mustJSON(eff) })
	params := eff
	if st.Parameters.Set && st.Type != TypeMap {
		env.input = eff
		if params, err = evalParams(st.Parameters.Value, env, "Parameters"); err != nil {
			return res, err
		}
		if err := checkSize(params, "state input after Parameters"); err != nil {
			return res, err
		}
		r.inspect(fr, func(in *Inspection) { in.AfterParameters = mustJSON(params) })
	}
	result, werr := work(ctx, params)
	if werr != nil {
		return res, werr
	}
	r.inspect(fr, func(in *Inspection) { in.Result = mustJSON(result) })
	if st.ResultSelector.Set {
		env.input = result
		if result, err = evalParams(st.ResultSelector.Value, env, "ResultSelector"); err != nil {
			return res, err
		}
		r.inspect(fr, func(in *Inspection) { in.AfterResultSelector = mustJSON(result) })
	}
	env.input = result
	if res.assigned, err = r.assignJSONPath(st.Assign, env); err != nil {
		return res, err
	}
	out := raw
	if st.hasResult() {
		if out, err = applyResultPath(st.ResultPath, raw, result); err != nil {
			return res, err
		}
		r.inspect(fr, func(in *Inspection) { in.AfterResultPath = mustJSON(out) })
	} else {
		out = result
	}
	env.input = out
	if res.output, err = applyOutputPath(st.OutputPath, env); err != nil {
		return res, err
	}
	return res, checkSizeErr(res.output)
}

// finishJSONata evaluates Assign and Output of a JSONata state.
func (r *run) finishJSONata(st *State, env *jsonataEnv, result any, res stateResult) (stateResult, error) {
	assigned, err := r.assignJSONata(st.Assign, env)
	if err != nil {
		return res, err
	}
	res.assigned = assigned
	res.output = result
	if st.Output.Set {
		out, err := evalJSONataTemplate(st.Output.Value, "Output", env)
		if err != nil {
			return res, err
		}
		res.output = out
	}
	return res, checkSizeErr(res.output)
}

// checkSizeErr is checkSize returning a plain error (nil when fine).
func checkSizeErr(v any) error {
	if err := checkSize(v, "state output"); err != nil {
		return err
	}
	return nil
}

// contextObject builds $$ / $states.context for a state; extra adds the
// Task and Map members where they apply.
func (r *run) contextObject(fr *Frame, st *State, extra map[string]any) map[string]any {
	ex := r.cp.Execution
	c := map[string]any{
		"Execution": map[string]any{
			"Id": ex.ARN, "Input": r.cp.Input, "Name": ex.Name, "RoleArn": ex.RoleARN,
			"StartTime": formatTime(ex.StartTime), "RedriveCount": float64(ex.RedriveCount),
		},
		"State": map[string]any{
			"EnteredTime": formatTime(fr.EnteredTime), "Name": st.Name, "RetryCount": float64(fr.RetryCount),
		},
		"StateMachine": map[string]any{"Id": ex.StateMachineARN, "Name": ex.StateMachineName},
	}
	for k, v := range extra {
		c[k] = v
	}
	return c
}

// statesVar builds the JSONata $states variable without a result.
func (r *run) statesVar(fr *Frame, st *State, extra map[string]any) map[string]any {
	return map[string]any{"input": fr.Input, "context": r.contextObject(fr, st, extra)}
}

func (r *run) jsonataEnv(states map[string]any, sc *scope) *jsonataEnv {
	return &jsonataEnv{states: states, vars: sc.all(), now: r.clock.Now(), rand: r.rand}
}

func (r *run) pathEnv(input any, fr *Frame, st *State, sc *scope, extra map[string]any) pathEnv {
	return pathEnv{input: input, context: r.contextObject(fr, st, extra), vars: sc.lookup, rand: r.rand}
}

// evalParams evaluates a JSONPath payload template: a "key.$" field takes
// the value of its path or intrinsic call under "key".
func evalParams(v any, env pathEnv, field string) (any, error) {
	switch t := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(t))
		for _, k := range sortedKeys(t) {
			name, dynamic := strings.CutSuffix(k, ".$")
			if !dynamic {
				e, err := evalParams(t[k], env, field)
				if err != nil {
					return nil, err
				}
				out[k] = e
				continue
			}
			expr, _ := t[k].(string)
			e, err := evalExpr(expr, k, env)
			if err != nil {
				return nil, err
			}
			out[name] = e
		}
		return out, nil
	case []any:
		out := make([]any, len(t))
		for i, e := range t {
			r, err := evalParams(e, env, field)
			if err != nil {
				return nil, err
			}
			out[i] = r
		}
		return out, nil
	}
	return v, nil
}

// evalExpr evaluates the value of a "key.$" field: a path or an intrinsic.
func evalExpr(expr, key string, env pathEnv) (any, error) {
	if strings.HasPrefix(expr, "States.") {
		c, err := parseIntrinsic(expr)
		if err != nil {
			return nil, newError(ErrRuntime, "%v", err)
		}
		v, ierr := c.eval(intrinsicEnv{paths: env, rand: env.rand})
		if ierr != nil {
			return nil, ierr
		}
		return v, nil
	}
	p, err := compileAnyPath(expr)
	if err != nil {
		return nil, newError(ErrRuntime, "%v", err)
	}
	v, err := p.eval(env)
	if err != nil {
		return nil, newError(ErrRuntime, "The JSONPath '%s' specified for the field '%s' could not be found in the input '%s'",
			expr, key, mustJSON(env.input))
	}
	return v, nil
}

// applyInputPath selects the effective input; null means {}.
func applyInputPath(p OptPath, env pathEnv) (any, error) {
	return selectPath(p, env, "InputPath")
}

// applyOutputPath selects the state output; null means {}.
func applyOutputPath(p OptPath, env pathEnv) (any, error) {
	return selectPath(p, env, "OutputPath")
}

func selectPath(p OptPath, env pathEnv, field string) (any, error) {
	switch {
	case !p.Set:
		return env.input, nil
	case p.Null:
		return map[string]any{}, nil
	}
	jp, err := compileAnyPath(p.Value)
	if err != nil {
		return nil, newError(ErrRuntime, "%v", err)
	}
	v, err := jp.eval(env)
	if err != nil {
		return nil, newError(ErrRuntime, "Invalid path '%s' : No results for path: %s in %s", p.Value, field, mustJSON(env.input))
	}
	return v, nil
}

// applyResultPath places the result into the raw input: absent means the
// result replaces the input, null means the input passes through.
func applyResultPath(p OptPath, raw, result any) (any, error) {
	switch {
	case !p.Set:
		return result, nil
	case p.Null:
		return raw, nil
	}
	out, err := setRefPath(raw, p.Value, result)
	if err != nil {
		return nil, newError(ErrResultPathMatchFailure, "Unable to apply ResultPath \"%s\" to input %s: %v", p.Value, mustJSON(raw), err)
	}
	return out, nil
}

// assignJSONPath evaluates a JSONPath Assign object into new variable
// values; every expression reads the variables as they were on entry.
func (r *run) assignJSONPath(t Template, env pathEnv) (map[string]any, error) {
	if !t.Set {
		return nil, nil
	}
	v, err := evalParams(t.Value, env, "Assign")
	if err != nil {
		return nil, err
	}
	m, _ := v.(map[string]any)
	return m, nil
}

// assignJSONata evaluates a JSONata Assign object.
func (r *run) assignJSONata(t Template, env *jsonataEnv) (map[string]any, error) {
	if !t.Set {
		return nil, nil
	}
	v, err := evalJSONataTemplate(t.Value, "Assign", env)
	if err != nil {
		return nil, err
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, newError(ErrQueryEvaluationError, "Assign must be an object, got %s", fmt.Sprint(typeName(v)))
	}
	return m, nil
}
