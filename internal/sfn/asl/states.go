package asl

import (
	"context"
	"time"
)

// attempt runs one try of a state.
func (r *run) attempt(ctx context.Context, st *State, fr *Frame, sc *scope) (stateResult, error) {
	switch st.Type {
	case TypePass:
		return r.pipeline(ctx, st, fr, sc, nil, func(_ context.Context, in any) (any, error) {
			if st.Result.Set {
				return st.Result.Value, nil
			}
			return in, nil
		})
	case TypeTask:
		return r.runTask(ctx, st, fr, sc)
	case TypeParallel:
		return r.pipeline(ctx, st, fr, sc, nil, func(ctx context.Context, in any) (any, error) {
			return r.runParallel(ctx, st, fr, sc, in)
		})
	case TypeMap:
		return r.pipeline(ctx, st, fr, sc, nil, func(ctx context.Context, in any) (any, error) {
			return r.runMap(ctx, st, fr, sc, in)
		})
	case TypeWait:
		return r.passThrough(ctx, st, fr, sc, func(ctx context.Context, in any) error {
			return r.wait(ctx, st, fr, sc, in)
		})
	case TypeChoice:
		return r.runChoice(st, fr, sc)
	case TypeSucceed:
		res, err := r.passThrough(ctx, st, fr, sc, nil)
		res.end = true
		return res, err
	case TypeFail:
		return stateResult{}, r.fail(st, fr, sc)
	}
	return stateResult{}, newError(ErrRuntime, "unknown state type %q", st.Type)
}

// passThrough is the data flow of states without a result (Wait, Succeed):
// InputPath then OutputPath, or Output under JSONata, around an optional
// action on the effective input.
func (r *run) passThrough(ctx context.Context, st *State, fr *Frame, sc *scope, act func(context.Context, any) error) (stateResult, error) {
	res := stateResult{next: st.Next, end: st.End}
	raw := fr.Input
	r.inspect(fr, func(in *Inspection) { in.Input = mustJSON(raw) })
	if st.jsonata() {
		env := r.jsonataEnv(r.statesVar(fr, st, nil), sc)
		if act != nil {
			if err := act(ctx, raw); err != nil {
				return res, err
			}
		}
		return r.finishJSONata(st, env, raw, res)
	}
	env := r.pathEnv(raw, fr, st, sc, nil)
	eff, err := applyInputPath(st.InputPath, env)
	if err != nil {
		return res, err
	}
	r.inspect(fr, func(in *Inspection) { in.AfterInputPath = mustJSON(eff) })
	if act != nil {
		if err := act(ctx, eff); err != nil {
			return res, err
		}
	}
	env.input = eff
	if res.assigned, err = r.assignJSONPath(st.Assign, env); err != nil {
		return res, err
	}
	if res.output, err = applyOutputPath(st.OutputPath, env); err != nil {
		return res, err
	}
	return res, checkSizeErr(res.output)
}

// wait sleeps for a Wait state. The deadline is stored in the frame first,
// so a resumed execution waits only for what is left.
func (r *run) wait(ctx context.Context, st *State, fr *Frame, sc *scope, in any) error {
	if fr.WaitUntil == nil {
		until, err := r.waitDeadline(st, fr, sc, in)
		if err != nil {
			return err
		}
		r.update(func() { fr.WaitUntil = &until })
	}
	if r.testing && fr == r.cp.Root {
		return nil
	}
	if err := r.clock.Sleep(ctx, max(0, fr.WaitUntil.Sub(r.clock.Now()))); err != nil {
		return err
	}
	r.update(func() { fr.WaitUntil = nil })
	return nil
}

func (r *run) waitDeadline(st *State, fr *Frame, sc *scope, in any) (time.Time, error) {
	now := r.clock.Now()
	var secs, ts any
	switch {
	case st.jsonata():
		env := r.jsonataEnv(r.statesVar(fr, st, nil), sc)
		var err error
		if secs, err = evalMaybeJSONata(st.Seconds, "Seconds", env); err != nil {
			return now, err
		}
		if ts, err = evalMaybeJSONata(st.Timestamp, "Timestamp", env); err != nil {
			return now, err
		}
	default:
		secs, ts = st.Seconds, st.Timestamp
		env := r.pathEnv(in, fr, st, sc, nil)
		var err error
		if st.SecondsPath != "" {
			if secs, err = evalExpr(st.SecondsPath, "SecondsPath", env); err != nil {
				return now, err
			}
		}
		if st.TimestampPath != "" {
			if ts, err = evalExpr(st.TimestampPath, "TimestampPath", env); err != nil {
				return now, err
			}
		}
	}
	if secs != nil {
		n, ok := asInt(secs)
		if !ok || n < 0 {
			return now, newError(ErrRuntime, "The value for the field 'Seconds' must be a non-negative integer, got %s", mustJSON(secs))
		}
		return now.Add(time.Duration(n) * time.Second), nil
	}
	s, _ := ts.(string)
	t, ok := parseTimestamp(s)
	if !ok {
		return now, newError(ErrRuntime, "The value for the field 'Timestamp' must be an RFC 3339 timestamp, got %s", mustJSON(ts))
	}
	return t, nil
}

// evalMaybeJSONata evaluates a field that is either a literal or a JSONata
// string.
func evalMaybeJSONata(v any, field string, env *jsonataEnv) (any, error) {
	if s, ok := v.(string); ok && isJSONataString(s) {
		return evalJSONata(s, field, env)
	}
	return v, nil
}

// fail builds a Fail state's error from Error/Cause or their paths.
func (r *run) fail(st *State, fr *Frame, sc *scope) error {
	r.inspect(fr, func(in *Inspection) { in.Input = mustJSON(fr.Input) })
	var name, cause any = st.Error, st.Cause
	var err error
	if st.jsonata() {
		env := r.jsonataEnv(r.statesVar(fr, st, nil), sc)
		if name, err = evalMaybeJSONata(st.Error, "Error", env); err != nil {
			return err
		}
		if cause, err = evalMaybeJSONata(st.Cause, "Cause", env); err != nil {
			return err
		}
	} else {
		env := r.pathEnv(fr.Input, fr, st, sc, nil)
		if st.ErrorPath != "" {
			if name, err = evalExpr(st.ErrorPath, "ErrorPath", env); err != nil {
				return err
			}
		}
		if st.CausePath != "" {
			if cause, err = evalExpr(st.CausePath, "CausePath", env); err != nil {
				return err
			}
		}
	}
	e := &Error{}
	for _, f := range []struct {
		v   any
		dst *string
		fld string
	}{{name, &e.Name, "Error"}, {cause, &e.Cause, "Cause"}} {
		if f.v == nil {
			continue
		}
		s, ok := f.v.(string)
		if !ok {
			return newError(ErrRuntime, "The value for the field '%s' must be a string, got %s", f.fld, typeName(f.v))
		}
		*f.dst = s
	}
	r.update(func() {
		r.emitLocked(fr, "FailStateEntered", nil)
	})
	return e
}

// resolveInt resolves a numeric field given as a literal, a *Path or a
// JSONata string; def is used when none is set.
func (r *run) resolveInt(st *State, fr *Frame, sc *scope, lit any, path, field string, input any, def int) (int, error) {
	v := lit
	var err error
	switch {
	case path != "":
		v, err = evalExpr(path, field+"Path", r.pathEnv(input, fr, st, sc, nil))
	case st.jsonata():
		v, err = evalMaybeJSONata(lit, field, r.jsonataEnv(r.statesVar(fr, st, nil), sc))
	}
	if err != nil {
		return 0, err
	}
	if v == nil {
		return def, nil
	}
	n, ok := asInt(v)
	if !ok || n < 0 {
		return 0, newError(ErrRuntime, "The value for the field '%s' must be a non-negative integer, got %s", field, mustJSON(v))
	}
	return n, nil
}
