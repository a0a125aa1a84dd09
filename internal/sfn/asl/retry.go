package asl

import (
	"context"
	"errors"
	"math"
	"time"
)

// execState runs a state with its Retry and Catch policies.
func (r *run) execState(ctx context.Context, st *State, fr *Frame, sc *scope) (stateResult, error) {
	for {
		if err := r.finishBackoff(ctx, st, fr); err != nil {
			return stateResult{}, err
		}
		res, err := r.attempt(ctx, st, fr, sc)
		if err == nil {
			return res, nil
		}
		var serr *Error
		if !errors.As(err, &serr) || ctx.Err() != nil {
			return stateResult{}, stopErr(ctx, err)
		}
		if i, delay, ok := r.nextRetry(st, fr, serr); ok {
			if r.testing && fr == r.cp.Root {
				r.inspect(fr, func(in *Inspection) { in.retried(i, delay) })
				return stateResult{}, serr
			}
			until := r.clock.Now().Add(delay)
			r.update(func() {
				fr.Retries[i]++
				fr.RetryCount++
				fr.WaitUntil = &until
				fr.Submitted = nil
			})
			continue
		}
		for i, c := range st.Catch {
			if errorMatches(c.ErrorEquals, serr) {
				r.inspect(fr, func(in *Inspection) { in.caught(i) })
				return r.catch(st, c, fr, sc, serr)
			}
		}
		return stateResult{}, serr
	}
}

// stopErr returns the context's error when the run was stopped, so a
// cancelled task is not mistaken for a failed one.
func stopErr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return err
}

// finishBackoff sleeps out a retry backoff recorded in the frame, which is
// how a backoff interrupted by a restart continues where it was.
func (r *run) finishBackoff(ctx context.Context, st *State, fr *Frame) error {
	if fr.WaitUntil == nil || st.Type == TypeWait {
		return nil
	}
	if err := r.clock.Sleep(ctx, max(0, fr.WaitUntil.Sub(r.clock.Now()))); err != nil {
		return err
	}
	r.update(func() { fr.WaitUntil = nil })
	return nil
}

// errorMatches applies ASL's matching rules: names match exactly, except
// that States.ALL matches everything but the terminal States.Runtime and
// States.DataLimitExceeded, States.TaskFailed matches everything but
// timeouts and those terminal errors, and States.Timeout also matches a
// heartbeat timeout. States.Runtime is never retried or caught.
func errorMatches(names []string, e *Error) bool {
	if e.Name == ErrRuntime {
		return false
	}
	terminal := e.Name == ErrDataLimitExceeded
	timeout := e.Name == ErrTimeout || e.Name == ErrHeartbeatTimeout
	for _, n := range names {
		switch {
		case n == e.Name:
			return true
		case n == ErrAll && !terminal:
			return true
		case n == ErrTaskFailed && !terminal && !timeout:
			return true
		case n == ErrTimeout && e.Name == ErrHeartbeatTimeout:
			return true
		}
	}
	return false
}

// nextRetry finds the retrier for err and, if it has attempts left, the
// backoff before the next attempt.
func (r *run) nextRetry(st *State, fr *Frame, err *Error) (int, time.Duration, bool) {
	for i, rt := range st.Retry {
		if !errorMatches(rt.ErrorEquals, err) {
			continue
		}
		if len(fr.Retries) < len(st.Retry) {
			r.update(func() {
				fr.Retries = append(fr.Retries, make([]int, len(st.Retry)-len(fr.Retries))...)
			})
		}
		attempts := fr.Retries[i]
		if attempts >= rt.MaxAttempts {
			return i, 0, false
		}
		return i, backoff(rt, attempts, r.rand.Float64), true
	}
	return -1, 0, false
}

// backoff is IntervalSeconds × BackoffRate^attempt, capped by
// MaxDelaySeconds, and with FULL jitter a uniform draw below that.
func backoff(rt Retrier, attempt int, random func() float64) time.Duration {
	secs := float64(rt.IntervalSeconds) * math.Pow(rt.BackoffRate, float64(attempt))
	if rt.MaxDelaySeconds > 0 && secs > float64(rt.MaxDelaySeconds) {
		secs = float64(rt.MaxDelaySeconds)
	}
	if rt.JitterStrategy == "FULL" {
		secs *= random()
	}
	return time.Duration(secs * float64(time.Second))
}

// catch builds the state's output from the error and moves to the
// catcher's Next.
func (r *run) catch(st *State, c Catcher, fr *Frame, sc *scope, serr *Error) (stateResult, error) {
	errOut := map[string]any{"Error": serr.Name, "Cause": serr.Cause}
	res := stateResult{next: c.Next}
	if st.jsonata() {
		states := r.statesVar(fr, st, nil)
		states["errorOutput"] = errOut
		env := r.jsonataEnv(states, sc)
		assigned, err := r.assignJSONata(c.Assign, env)
		if err != nil {
			return stateResult{}, err
		}
		out := any(errOut)
		if c.Output.Set {
			if out, err = evalJSONataTemplate(c.Output.Value, "Output", env); err != nil {
				return stateResult{}, err
			}
		}
		res.output, res.assigned = out, assigned
	} else {
		assigned, err := r.assignJSONPath(c.Assign, r.pathEnv(errOut, fr, st, sc, nil))
		if err != nil {
			return stateResult{}, err
		}
		out, err := applyResultPath(c.ResultPath, fr.Input, errOut)
		if err != nil {
			return stateResult{}, err
		}
		res.output, res.assigned = out, assigned
	}
	if err := checkSize(res.output, "state output"); err != nil {
		return stateResult{}, err
	}
	return res, nil
}
