package asl

import "fmt"

// A reference path names exactly one node: $ followed by .name, ['name'] or
// [index] steps. ResultPath uses one to say where a result goes.

type refStep struct {
	key   string
	index int
	isIdx bool
}

func parseRefPath(s string) ([]refStep, error) {
	p, err := compileAnyPath(s)
	if err != nil {
		return nil, err
	}
	if p.root != rootInput || p.length {
		return nil, fmt.Errorf("reference path %q must start with $", s)
	}
	steps := make([]refStep, 0, len(p.segs))
	for _, seg := range p.segs {
		switch {
		case seg.descend:
			return nil, fmt.Errorf("reference path %q cannot use '..'", s)
		case seg.kind == "name":
			steps = append(steps, refStep{key: seg.names[0]})
		case seg.kind == "index" && seg.indexes[0] >= 0:
			steps = append(steps, refStep{index: seg.indexes[0], isIdx: true})
		default:
			return nil, fmt.Errorf("reference path %q must select a single node", s)
		}
	}
	return steps, nil
}

// setRefPath returns a copy of doc with value placed at the path, creating
// missing objects on the way. It fails when the path crosses a value that is
// not an object (or an array, for an index step).
func setRefPath(doc any, path string, value any) (any, error) {
	steps, err := parseRefPath(path)
	if err != nil {
		return nil, err
	}
	return setSteps(doc, steps, value, "$")
}

func setSteps(doc any, steps []refStep, value any, at string) (any, error) {
	if len(steps) == 0 {
		return value, nil
	}
	st := steps[0]
	if st.isIdx {
		arr, ok := doc.([]any)
		if !ok || st.index >= len(arr) {
			return nil, fmt.Errorf("%s is not an array with index %d", at, st.index)
		}
		child, err := setSteps(arr[st.index], steps[1:], value, fmt.Sprintf("%s[%d]", at, st.index))
		if err != nil {
			return nil, err
		}
		out := append([]any{}, arr...)
		out[st.index] = child
		return out, nil
	}
	var obj map[string]any
	switch t := doc.(type) {
	case map[string]any:
		obj = t
	case nil:
		obj = map[string]any{}
	default:
		return nil, fmt.Errorf("%s is a %s, not an object", at, typeName(doc))
	}
	next, exists := obj[st.key]
	if !exists {
		next = nil
	}
	child, err := setSteps(next, steps[1:], value, at+"."+st.key)
	if err != nil {
		return nil, err
	}
	out := make(map[string]any, len(obj)+1)
	for k, v := range obj {
		out[k] = v
	}
	out[st.key] = child
	return out, nil
}
