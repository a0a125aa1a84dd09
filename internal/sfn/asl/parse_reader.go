package asl

import "strings"

// reader reads the fields of one definition object, reporting type errors
// against its location and remembering which fields were looked at.
type reader struct {
	p   *parser
	loc string
	o   *object
}

func (p *parser) reader(o *object, loc string) *reader {
	return &reader{p: p, loc: loc, o: o}
}

func (r *reader) get(k string) (any, bool) {
	v, ok := r.o.m[k]
	return v, ok
}

func (r *reader) has(k string) bool {
	_, ok := r.o.m[k]
	return ok
}

// str reads a string field; required reports its absence.
func (r *reader) str(k string, required bool) (string, bool) {
	v, ok := r.o.m[k]
	if !ok {
		if required {
			r.p.schema(r.loc, "The field %q is required", k)
		}
		return "", false
	}
	s, isStr := v.(string)
	if !isStr {
		r.p.schema(r.loc+"/"+k, "The value for the field %q must be a string", k)
		return "", false
	}
	return s, true
}

// intIn reads an integer field that must lie in [lo, hi].
func (r *reader) intIn(k string, lo, hi int) int {
	v, ok := r.o.m[k]
	if !ok {
		return 0
	}
	n, isInt := asInt(v)
	if !isInt || n < lo || n > hi {
		r.p.schema(r.loc+"/"+k, "The value for the field %q must be an integer between %d and %d", k, lo, hi)
		return lo
	}
	return n
}

// seconds reads a field that is an integer under JSONPath and may also be a
// JSONata expression under JSONata.
func (r *reader) seconds(k string, lang QueryLanguage, lo int) any {
	v, ok := r.o.m[k]
	if !ok {
		return nil
	}
	if s, isStr := v.(string); isStr && lang == JSONata && isJSONataString(s) {
		r.p.checkJSONata(s, r.loc+"/"+k)
		return s
	}
	n, isInt := asInt(v)
	if !isInt || n < lo || n > 99999999 {
		r.p.schema(r.loc+"/"+k, "The value for the field %q must be an integer between %d and 99999999", k, lo)
		return nil
	}
	return float64(n)
}

// path reads InputPath/OutputPath/ResultPath: null is allowed and means
// "discard"; reference-only restricts the syntax to a single node.
func (r *reader) path(k string, reference bool) OptPath {
	v, ok := r.o.m[k]
	if !ok {
		return OptPath{}
	}
	if v == nil {
		return OptPath{Set: true, Null: true}
	}
	s, isStr := v.(string)
	if !isStr {
		r.p.schema(r.loc+"/"+k, "The value for the field %q must be a string or null", k)
		return OptPath{}
	}
	if reference {
		if _, err := parseRefPath(s); err != nil {
			r.p.schema(r.loc+"/"+k, "The value for the field %q must be a valid reference path: %v", k, err)
		}
	} else if _, err := compileAnyPath(s); err != nil {
		r.p.schema(r.loc+"/"+k, "The value for the field %q must be a valid JSONPath: %v", k, err)
	}
	return OptPath{Set: true, Value: s}
}

// refPath reads a *Path field that must select a single node.
func (r *reader) refPath(k string) string {
	s, ok := r.str(k, false)
	if ok {
		if _, err := compileAnyPath(s); err != nil {
			r.p.schema(r.loc+"/"+k, "The value for the field %q must be a valid reference path: %v", k, err)
		}
	}
	return s
}

// pathOrIntrinsic reads ErrorPath/CausePath, which also accept an intrinsic.
func (r *reader) pathOrIntrinsic(k string) string {
	s, ok := r.str(k, false)
	if !ok {
		return ""
	}
	if strings.HasPrefix(s, "States.") {
		if _, err := parseIntrinsic(s); err != nil {
			r.p.schema(r.loc+"/"+k, "The value for the field %q must be a valid intrinsic function: %v", k, err)
		}
	} else if _, err := compileAnyPath(s); err != nil {
		r.p.schema(r.loc+"/"+k, "The value for the field %q must be a valid reference path: %v", k, err)
	}
	return s
}

func (r *reader) template(k string) Template {
	v, ok := r.o.m[k]
	if !ok {
		return Template{}
	}
	return Template{Set: true, Value: plain(v)}
}

// exclusive reports two fields that may not both be set.
func (r *reader) exclusive(a, b string) {
	if r.has(a) && r.has(b) {
		r.p.schema(r.loc, "The fields %q and %q are mutually exclusive", a, b)
	}
}

// unknown reports fields outside allowed (plus the common ones for states).
func (r *reader) unknown(allowed map[string]bool, stateType string) {
	for _, k := range r.o.keys {
		if allowed[k] || (stateType != "" && commonFields[k]) {
			continue
		}
		if stateType != "" {
			r.p.schema(r.loc+"/"+k, "The field %q is not supported for state type %s", k, stateType)
			continue
		}
		r.p.schema(r.loc+"/"+k, "The field %q is not supported by Step Functions", k)
	}
}
