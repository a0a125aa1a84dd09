package eventfilter

import "fmt"

// Matcher is what matches a decoded event: a *Pattern or a *Criteria.
type Matcher interface {
	MatchValue(event any) bool
}

var (
	_ Matcher = (*Pattern)(nil)
	_ Matcher = (*Criteria)(nil)
)

// Match reports whether the JSON event matches. An event that is not a valid JSON object
// matches nothing.
func (p *Pattern) Match(event []byte) bool {
	v, err := DecodeEvent(event)
	return err == nil && p.MatchValue(v)
}

// MatchValue reports whether an event decoded by DecodeEvent (or built of map[string]any,
// []any, string, json.Number, bool and nil) matches. Only objects can.
func (p *Pattern) MatchValue(event any) bool {
	m, ok := event.(map[string]any)
	return ok && p.root.match(m)
}

// match tests the object pattern against an event object; m is nil where the event has no
// object at this level, and then only absence tests ({"exists": false}) can hold.
func (o *object) match(m map[string]any) bool {
	for _, f := range o.fields {
		v, present := m[f.key]
		if f.leaf != nil {
			var vals []any
			if present {
				vals = leaves(v, nil)
			}
			if !f.leaf.match(vals) {
				return false
			}
		} else if !f.child.matchValue(v) {
			return false
		}
	}
	for _, alts := range o.ors {
		if !anyMatch(alts, m) {
			return false
		}
	}
	return true
}

func anyMatch(alts []*object, m map[string]any) bool {
	for _, a := range alts {
		if a.match(m) {
			return true
		}
	}
	return false
}

// matchValue tests a nested object pattern against whatever the event holds at its key. An
// array matches if one of its objects matches the whole nested pattern, so keys are never
// combined across elements; with no object there, the nested keys are all absent.
func (o *object) matchValue(v any) bool {
	switch x := v.(type) {
	case map[string]any:
		return o.match(x)
	case []any:
		if objs := objects(x, nil); len(objs) > 0 {
			for _, e := range objs {
				if o.match(e) {
					return true
				}
			}
			return false
		}
	}
	return o.match(nil)
}

// objects collects the objects in an array, looking through nested arrays.
func objects(a []any, out []map[string]any) []map[string]any {
	for _, e := range a {
		switch x := e.(type) {
		case map[string]any:
			out = append(out, x)
		case []any:
			out = objects(x, out)
		}
	}
	return out
}

// leaves collects the leaf values under an event key: the value itself, or an array's
// elements (through nested arrays). Objects are not leaves.
func leaves(v any, out []any) []any {
	switch x := v.(type) {
	case map[string]any:
	case []any:
		for _, e := range x {
			out = leaves(e, out)
		}
	default:
		out = append(out, v)
	}
	return out
}

func (l *leaf) match(vals []any) bool {
	if len(vals) == 0 {
		return l.absent
	}
	for _, v := range vals {
		for _, m := range l.matchers {
			if m.match(v) {
				return true
			}
		}
	}
	return false
}

// Criteria is a Lambda FilterCriteria: a record passes if any of its filters matches, and
// every record passes when there are none. It is immutable and safe for concurrent use.
type Criteria struct {
	filters []*Pattern
}

// CompileCriteria compiles FilterCriteria.Filters[].Pattern. An error wraps the first
// invalid filter's *Error with its index. The caller checks len(patterns) against its filters
// quota (DefaultMaxFilters).
func CompileCriteria(patterns []string) (*Criteria, error) {
	c := &Criteria{filters: make([]*Pattern, 0, len(patterns))}
	for i, s := range patterns {
		p, err := Compile(s)
		if err != nil {
			return nil, fmt.Errorf("filter %d: %w", i, err)
		}
		c.filters = append(c.filters, p)
	}
	return c, nil
}

// Len is the number of filters.
func (c *Criteria) Len() int { return len(c.filters) }

// Match reports whether the JSON event passes the criteria.
func (c *Criteria) Match(event []byte) bool {
	if len(c.filters) == 0 {
		return true
	}
	v, err := DecodeEvent(event)
	return err == nil && c.MatchValue(v)
}

// MatchValue reports whether a decoded event passes the criteria.
func (c *Criteria) MatchValue(event any) bool {
	if len(c.filters) == 0 {
		return true
	}
	for _, p := range c.filters {
		if p.MatchValue(event) {
			return true
		}
	}
	return false
}

// SQSRecordValue decodes an SQS record as Lambda delivers it (messageId, body, attributes,
// messageAttributes...) for matching: a body holding valid JSON is replaced by its decoded
// value, so patterns can reach into it; any other body stays a plain string.
func SQSRecordValue(record []byte) (map[string]any, error) {
	v, err := DecodeEvent(record)
	if err != nil {
		return nil, err
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("an SQS record must be a JSON object")
	}
	if body, ok := m["body"].(string); ok {
		if decoded, err := DecodeEvent([]byte(body)); err == nil {
			m["body"] = decoded
		}
	}
	return m, nil
}

// MatchSQSRecord reports whether an SQS record passes m (a *Pattern or *Criteria), with its
// body read as SQSRecordValue does. A record that is not a JSON object passes nothing.
func MatchSQSRecord(m Matcher, record []byte) bool {
	v, err := SQSRecordValue(record)
	return err == nil && m.MatchValue(v)
}
