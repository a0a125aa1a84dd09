package asl

import (
	"context"
	"errors"
	"sync"
)

// runParallel runs every branch on the same input; the result is the array
// of branch outputs. The first failing branch cancels its siblings and
// fails the state with its own error.
func (r *run) runParallel(ctx context.Context, st *State, fr *Frame, sc *scope, in any) (any, error) {
	r.update(func() {
		if fr.Children != nil {
			return // resumed: the branches keep their progress
		}
		r.emitLocked(fr, "ParallelStateStarted", nil)
		fr.Children = make([]*Frame, len(st.Branches))
		for i, b := range st.Branches {
			fr.Children[i] = &Frame{State: b.StartAt, Input: in, Index: i, Prev: fr.Prev}
		}
	})
	outs, err := r.runChildren(ctx, fr, sc, childSpec{
		machine: func(i int) *Machine { return st.Branches[i] },
	})
	if err != nil {
		r.endChildren(ctx, fr, "ParallelStateFailed")
		return nil, err
	}
	r.update(func() { r.emitLocked(fr, "ParallelStateSucceeded", nil) })
	return outs, nil
}

// endChildren records a Parallel or Map failure and forgets the children,
// so that a retry starts them afresh. A stopped run keeps them to resume.
func (r *run) endChildren(ctx context.Context, fr *Frame, event string) {
	if ctx.Err() != nil {
		return
	}
	r.update(func() {
		r.emitLocked(fr, event, nil)
		fr.Children = nil
	})
}

// childSpec says how runChildren runs a state's children.
type childSpec struct {
	machine   func(i int) *Machine
	maxConc   int        // 0: no limit
	tolerance *tolerance // nil: the first failure fails the state
	mapState  string     // set for Map: iteration events carry it
	detached  bool       // distributed Map: children see no outer variables
}

// tolerance is a Map's ToleratedFailureCount / Percentage.
type tolerance struct {
	count, pct       float64
	countSet, pctSet bool
	total            int
}

func (t *tolerance) exceeded(failures int) bool {
	if t == nil {
		return failures > 0
	}
	return (t.countSet && float64(failures) > t.count) ||
		(t.pctSet && t.total > 0 && float64(failures)*100/float64(t.total) > t.pct)
}

// runChildren runs fr.Children that are not done yet and returns their
// outputs in order; failed children tolerated by a Map yield their error
// output.
func (r *run) runChildren(ctx context.Context, fr *Frame, sc *scope, spec childSpec) ([]any, error) {
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		mu       sync.Mutex
		failures int
		firstErr *Error
		wg       sync.WaitGroup
	)
	fail := func(e *Error) {
		mu.Lock()
		defer mu.Unlock()
		failures++
		if firstErr == nil && spec.tolerance.exceeded(failures) {
			firstErr = e
			cancel()
		}
	}
	var sem chan struct{}
	if spec.maxConc > 0 {
		sem = make(chan struct{}, spec.maxConc)
	}
	for _, ch := range fr.Children {
		if ch.Done {
			if ch.Err != nil {
				fail(ch.Err)
			}
			continue
		}
		if sem != nil {
			select {
			case sem <- struct{}{}:
			case <-cctx.Done():
			}
		}
		if cctx.Err() != nil {
			break
		}
		wg.Add(1)
		go func(ch *Frame) {
			defer wg.Done()
			if sem != nil {
				defer func() { <-sem }()
			}
			if err := r.runChild(cctx, sc, spec, ch); err != nil {
				fail(err)
			}
		}(ch)
	}
	wg.Wait()
	r.update(func() {
		for _, ch := range fr.Children {
			fr.Prev = max(fr.Prev, ch.Prev)
		}
	})
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	if firstErr != nil {
		if spec.tolerance != nil {
			return nil, newError(ErrExceedToleratedFailures, "The specified tolerated failure threshold was exceeded")
		}
		return nil, firstErr
	}
	outs := make([]any, len(fr.Children))
	for i, ch := range fr.Children {
		outs[i] = ch.Output
		if ch.Err != nil {
			outs[i] = map[string]any{"Error": ch.Err.Name, "Cause": ch.Err.Cause}
		}
	}
	return outs, nil
}

// runChild runs one branch or iteration; it returns the child's error when
// it failed (not when it was cancelled).
func (r *run) runChild(ctx context.Context, sc *scope, spec childSpec, ch *Frame) *Error {
	iteration := func(suffix string) {
		if spec.mapState != "" {
			r.emitLocked(ch, "MapIteration"+suffix, func(ev *HistoryEvent) {
				d := &MapIterationEventDetails{Name: spec.mapState, Index: ch.Index}
				switch suffix {
				case "Started":
					ev.MapIterationStartedEventDetails = d
				case "Succeeded":
					ev.MapIterationSucceededEventDetails = d
				case "Failed":
					ev.MapIterationFailedEventDetails = d
				default:
					ev.MapIterationAbortedEventDetails = d
				}
			})
		}
	}
	input := ch.Input // a successful child forgets it
	if !ch.Started {
		r.update(func() {
			ch.Started, ch.enc = true, nil
			iteration("Started")
		})
		r.childRun(spec, ch, input, "RUNNING")
	}
	csc := &scope{frame: ch, parent: sc, up: sc}
	if spec.detached {
		csc.parent = nil
	}
	out, err := r.runMachine(ctx, spec.machine(ch.Index), ch, csc)
	var serr *Error
	switch {
	case err == nil:
		r.update(func() {
			iteration("Succeeded")
			finishFrame(ch, out, nil)
		})
		r.childRun(spec, ch, input, StatusSucceeded)
		return nil
	case errors.As(err, &serr):
		r.update(func() {
			iteration("Failed")
			finishFrame(ch, nil, serr)
		})
		r.childRun(spec, ch, input, StatusFailed)
		return serr
	}
	r.update(func() { iteration("Aborted") })
	r.childRun(spec, ch, input, StatusAborted)
	return nil
}

// childRun reports a distributed Map child to Config.OnChildRun.
func (r *run) childRun(spec childSpec, ch *Frame, input any, status string) {
	if !spec.detached || r.onChildRun == nil {
		return
	}
	cr := ChildRun{MapState: spec.mapState, Index: ch.Index, Status: status, Input: []byte(mustJSON(input))}
	if status == StatusSucceeded {
		cr.Output = []byte(mustJSON(ch.Output))
	}
	if ch.Err != nil {
		cr.Error, cr.Cause = ch.Err.Name, ch.Err.Cause
	}
	r.onChildRun(cr)
}
