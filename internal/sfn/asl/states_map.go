package asl

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
)

// runMap runs the item processor once per item (or batch of items); the
// result is the array of their outputs.
func (r *run) runMap(ctx context.Context, st *State, fr *Frame, sc *scope, in any) (any, error) {
	if fr.Children == nil {
		inputs, err := r.mapInputs(ctx, st, fr, sc, in)
		if err != nil {
			return nil, err
		}
		r.update(func() {
			r.emitLocked(fr, "MapStateStarted", func(ev *HistoryEvent) {
				ev.MapStateStartedEventDetails = &MapStateStartedEventDetails{Length: len(inputs)}
			})
			if st.Mode == ModeDistributed {
				r.emitLocked(fr, "MapRunStarted", func(ev *HistoryEvent) {
					ev.MapRunStartedEventDetails = &MapRunStartedEventDetails{MapRunArn: r.mapRunARN(st)}
				})
			}
			fr.Children = make([]*Frame, len(inputs))
			for i, item := range inputs {
				fr.Children[i] = &Frame{State: st.Processor.StartAt, Input: item, Index: i, Prev: fr.Prev,
					Detached: st.Mode == ModeDistributed}
			}
		})
	}
	spec, err := r.mapSpec(st, fr, sc, in)
	if err != nil {
		return nil, err
	}
	outs, err := r.runChildren(ctx, fr, sc, spec)
	if err != nil {
		if st.Mode == ModeDistributed && ctx.Err() == nil {
			var serr *Error
			errors.As(err, &serr)
			r.update(func() {
				r.emitLocked(fr, "MapRunFailed", func(ev *HistoryEvent) {
					ev.MapRunFailedEventDetails = &ErrorDetails{Error: serr.Name, Cause: serr.Cause}
				})
			})
		}
		r.endChildren(ctx, fr, "MapStateFailed")
		return nil, err
	}
	r.update(func() {
		if st.Mode == ModeDistributed {
			r.emitLocked(fr, "MapRunSucceeded", nil)
		}
		r.emitLocked(fr, "MapStateSucceeded", nil)
	})
	return outs, nil
}

func (r *run) mapRunARN(st *State) string {
	arn := strings.Replace(r.cp.Execution.ARN, ":execution:", ":mapRun:", 1)
	label := st.Label
	if label == "" {
		label = st.Name
	}
	return arn + "/" + label
}

// mapSpec resolves MaxConcurrency and the failure tolerance.
func (r *run) mapSpec(st *State, fr *Frame, sc *scope, in any) (childSpec, error) {
	spec := childSpec{machine: func(int) *Machine { return st.Processor }, mapState: st.Name,
		detached: st.Mode == ModeDistributed}
	var err error
	if spec.maxConc, err = r.resolveInt(st, fr, sc, st.MaxConcurrency, st.MaxConcurrencyPath, "MaxConcurrency", in, 0); err != nil {
		return spec, err
	}
	tol := &tolerance{total: len(fr.Children)}
	if st.ToleratedFailureCount != nil || st.ToleratedFailureCountPath != "" {
		n, err := r.resolveInt(st, fr, sc, st.ToleratedFailureCount, st.ToleratedFailureCountPath, "ToleratedFailureCount", in, 0)
		if err != nil {
			return spec, err
		}
		tol.count, tol.countSet = float64(n), true
	}
	if st.ToleratedFailurePercentage != nil || st.ToleratedFailurePercentagePath != "" {
		v := st.ToleratedFailurePercentage
		if st.ToleratedFailurePercentagePath != "" {
			v, err = evalExpr(st.ToleratedFailurePercentagePath, "ToleratedFailurePercentagePath", r.pathEnv(in, fr, st, sc, nil))
		} else if st.jsonata() {
			v, err = evalMaybeJSONata(v, "ToleratedFailurePercentage", r.jsonataEnv(r.statesVar(fr, st, nil), sc))
		}
		if err != nil {
			return spec, err
		}
		pct, ok := v.(float64)
		if !ok || pct < 0 || pct > 100 {
			return spec, newError(ErrRuntime, "The value for the field 'ToleratedFailurePercentage' must be a number between 0 and 100, got %s", mustJSON(v))
		}
		tol.pct, tol.pctSet = pct, true
	}
	if tol.countSet || tol.pctSet {
		spec.tolerance = tol
	}
	r.inspect(fr, func(i *Inspection) {
		i.MaxConcurrency = spec.maxConc
		i.ToleratedFailureCount, i.ToleratedFailurePercentage = int(tol.count), tol.pct
	})
	return spec, nil
}

// mapInputs computes each child's input: items, then ItemSelector, then
// ItemBatcher.
func (r *run) mapInputs(ctx context.Context, st *State, fr *Frame, sc *scope, in any) ([]any, error) {
	items, err := r.mapItems(ctx, st, fr, sc, in)
	if err != nil {
		return nil, err
	}
	r.inspect(fr, func(i *Inspection) { i.AfterItemsPath = mustJSON(items) })
	sel := st.ItemSelector
	if !sel.Set && st.Parameters.Set {
		sel = st.Parameters // the older name of ItemSelector
	}
	inputs := make([]any, len(items))
	for i, item := range items {
		inputs[i] = item
		if !sel.Set {
			continue
		}
		extra := map[string]any{"Map": map[string]any{"Item": map[string]any{"Index": float64(i), "Value": item}}}
		if st.jsonata() {
			inputs[i], err = evalJSONataTemplate(sel.Value, "ItemSelector", r.jsonataEnv(r.statesVar(fr, st, extra), sc))
		} else {
			inputs[i], err = evalParams(sel.Value, r.pathEnv(in, fr, st, sc, extra), "ItemSelector")
		}
		if err != nil {
			return nil, err
		}
	}
	if sel.Set {
		r.inspect(fr, func(i *Inspection) { i.AfterItemSelector = mustJSON(inputs) })
	}
	if st.ItemBatcher == nil {
		return inputs, nil
	}
	batches, err := r.batch(st, fr, sc, in, inputs)
	if err == nil {
		r.inspect(fr, func(i *Inspection) { i.AfterItemBatcher = mustJSON(batches) })
	}
	return batches, err
}

// mapItems finds the array to iterate: from an ItemReader, ItemsPath, or
// (JSONata) Items; by default the effective input.
func (r *run) mapItems(ctx context.Context, st *State, fr *Frame, sc *scope, in any) ([]any, error) {
	var v any = in
	var err error
	switch {
	case st.ItemReader != nil:
		v, err = r.readItems(ctx, st, fr, sc, in)
	case st.jsonata() && st.Items.Set:
		v, err = evalJSONataTemplate(st.Items.Value, "Items", r.jsonataEnv(r.statesVar(fr, st, nil), sc))
	case st.ItemsPath.Set && !st.ItemsPath.Null:
		v, err = evalExpr(st.ItemsPath.Value, "ItemsPath", r.pathEnv(in, fr, st, sc, nil))
	}
	if err != nil {
		return nil, err
	}
	items, ok := v.([]any)
	if !ok {
		return nil, newError(ErrRuntime, "The Map state's items must be an array, got %s", typeName(v))
	}
	return items, nil
}

// readItems calls the ItemReader's resource through the TaskRunner; it must
// return the items as a JSON array.
func (r *run) readItems(ctx context.Context, st *State, fr *Frame, sc *scope, in any) (any, error) {
	ir := st.ItemReader
	res, err := ParseResource(ir.Resource)
	if err != nil {
		return nil, newError(ErrItemReaderFailed, "%v", err)
	}
	var params any = map[string]any{}
	switch {
	case st.jsonata() && ir.Arguments.Set:
		params, err = evalJSONataTemplate(ir.Arguments.Value, "ItemReader/Arguments", r.jsonataEnv(r.statesVar(fr, st, nil), sc))
	case ir.Parameters.Set:
		params, err = evalParams(ir.Parameters.Value, r.pathEnv(in, fr, st, sc, nil), "ItemReader/Parameters")
	}
	if err != nil {
		return nil, err
	}
	req := TaskRequest{ExecutionARN: r.cp.Execution.ARN, StateName: st.Name, Resource: res, Input: []byte(mustJSON(params)),
		AttemptID: r.attemptID(sc) + "/ItemReader", Submit: func(json.RawMessage) {}}
	out, err := r.callRunner(ctx, req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, newError(ErrItemReaderFailed, "%v", err)
	}
	v, err := decodeJSON(out)
	items, ok := v.([]any)
	if err != nil || !ok {
		return nil, newError(ErrItemReaderFailed, "The ItemReader did not return a JSON array")
	}
	maxItems, err := r.resolveInt(st, fr, sc, ir.MaxItems, ir.MaxItemsPath, "MaxItems", in, 0)
	if err != nil {
		return nil, err
	}
	if maxItems > 0 && len(items) > maxItems {
		items = items[:maxItems]
	}
	return items, nil
}

// batch groups inputs into {"Items": [...]} objects (plus BatchInput)
// bounded by MaxItemsPerBatch and MaxInputBytesPerBatch.
func (r *run) batch(st *State, fr *Frame, sc *scope, in any, inputs []any) ([]any, error) {
	b := st.ItemBatcher
	maxItems, err := r.resolveInt(st, fr, sc, b.MaxItemsPerBatch, b.MaxItemsPerBatchPath, "MaxItemsPerBatch", in, 0)
	if err != nil {
		return nil, err
	}
	maxBytes, err := r.resolveInt(st, fr, sc, b.MaxInputBytesPerBatch, b.MaxInputBytesPerBatchPath, "MaxInputBytesPerBatch", in, MaxPayloadBytes)
	if err != nil {
		return nil, err
	}
	var batchInput any = map[string]any{}
	if b.BatchInput.Set {
		if st.jsonata() {
			batchInput, err = evalJSONataTemplate(b.BatchInput.Value, "BatchInput", r.jsonataEnv(r.statesVar(fr, st, nil), sc))
		} else {
			batchInput, err = evalParams(b.BatchInput.Value, r.pathEnv(in, fr, st, sc, nil), "BatchInput")
		}
		if err != nil {
			return nil, err
		}
	}
	wrap := func(items []any) any {
		out := map[string]any{"Items": items}
		if bi, ok := batchInput.(map[string]any); ok && len(bi) > 0 {
			out["BatchInput"] = bi
		}
		return out
	}
	var batches []any
	var cur []any
	size := 0
	for _, item := range inputs {
		n := len(mustJSON(item))
		if n > maxBytes {
			return nil, newError(ErrRuntime, "An item of %d bytes exceeds MaxInputBytesPerBatch (%d)", n, maxBytes)
		}
		if len(cur) > 0 && ((maxItems > 0 && len(cur) >= maxItems) || size+n > maxBytes) {
			batches = append(batches, wrap(cur))
			cur, size = nil, 0
		}
		cur = append(cur, item)
		size += n
	}
	if len(cur) > 0 {
		batches = append(batches, wrap(cur))
	}
	return batches, nil
}
