package eventfilter

import (
	"fmt"
	"strings"
)

// Limits AWS documents, for the caller to apply where Compile does not.
const (
	// MaxPatternLength is the longest pattern Compile accepts: Lambda's Filter.Pattern limit,
	// and the most a quota increase allows an EventBridge event pattern.
	MaxPatternLength = 4096
	// DefaultEventBridgePatternLength is EventBridge's default event pattern size quota.
	DefaultEventBridgePatternLength = 2048
	// DefaultMaxFilters is how many filters a Lambda event source mapping's FilterCriteria may
	// hold by default.
	DefaultMaxFilters = 5
	// MaxFiltersQuota is the most filters per mapping a Lambda quota increase allows.
	MaxFiltersQuota = 10
	// MaxComplexity bounds a pattern's complexity, which barge measures as the number of
	// wildcard characters in its wildcard operators (Compile enforces it).
	MaxComplexity = 100
	// NumericLimit is the magnitude numeric matching covers, with six decimal places.
	NumericLimit = 5e9
)

// Error is an invalid pattern: the key it was found at and why. Lambda answers it as
// InvalidParameterValueException and EventBridge as InvalidEventPatternException; both can
// put Reason in their message.
type Error struct {
	Key    string // dotted path of the offending key ("detail.state"); "" for the whole pattern
	Reason string
}

func (e *Error) Error() string {
	if e.Key == "" {
		return "Invalid filter pattern definition: " + e.Reason
	}
	return fmt.Sprintf("Invalid filter pattern definition: key %q: %s", e.Key, e.Reason)
}

// Pattern is a compiled event pattern. It is immutable and safe for concurrent use.
type Pattern struct {
	src  string
	root *object
}

// object is a pattern object: every field must match, and one alternative of every $or.
type object struct {
	fields []field
	ors    [][]*object
}

// field is one key of a pattern object: either a leaf (an array of match values) or a nested
// object.
type field struct {
	key   string
	leaf  *leaf
	child *object
}

// leaf is an array of match values: one of matchers must match one of the event's values;
// absent says whether the key's absence matches (an {"exists": false} among them).
type leaf struct {
	matchers []matcher
	absent   bool
}

// Compile validates pattern and compiles it for matching. Errors are *Error.
func Compile(pattern string) (*Pattern, error) {
	if len(pattern) > MaxPatternLength {
		return nil, &Error{Reason: fmt.Sprintf("the pattern is longer than %d characters", MaxPatternLength)}
	}
	v, err := decodePattern(pattern)
	if err != nil {
		if e, ok := err.(*Error); ok {
			return nil, e
		}
		return nil, &Error{Reason: "the pattern is not valid JSON: " + err.Error()}
	}
	if v.kind != jObject {
		return nil, &Error{Reason: "the pattern must be a JSON object"}
	}
	var c compiler
	root, err := c.object(v, "")
	if err != nil {
		return nil, err
	}
	if c.complexity > MaxComplexity {
		return nil, &Error{Reason: fmt.Sprintf(
			"the pattern is too complex (%d wildcard characters, at most %d): use fewer wildcards", c.complexity, MaxComplexity)}
	}
	return &Pattern{src: pattern, root: root}, nil
}

// String returns the pattern as given to Compile.
func (p *Pattern) String() string { return p.src }

// compiler carries what a compilation accumulates across the pattern.
type compiler struct {
	complexity int
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func (c *compiler) object(v jv, path string) (*object, error) {
	if len(v.keys) == 0 {
		return nil, &Error{Key: path, Reason: "empty objects are not allowed"}
	}
	o := &object{}
	for i, k := range v.keys {
		val, p := v.vals[i], join(path, k)
		switch {
		case k == "$or" && isOr(val):
			alts, err := c.or(val, path, p)
			if err != nil {
				return nil, err
			}
			o.ors = append(o.ors, alts)
		case val.kind == jObject:
			child, err := c.object(val, p)
			if err != nil {
				return nil, err
			}
			o.fields = append(o.fields, field{key: k, child: child})
		case val.kind == jArray:
			l, err := c.leaf(val, p)
			if err != nil {
				return nil, err
			}
			o.fields = append(o.fields, field{key: k, leaf: l})
		default:
			return nil, &Error{Key: p, Reason: "a value must be an array of match values or a nested object"}
		}
	}
	return o, nil
}

// isOr says whether a "$or" key's value is the operator's: a non-empty array of objects.
// Anything else leaves "$or" an ordinary key, so events with such a field stay matchable.
func isOr(v jv) bool {
	if v.kind != jArray || len(v.arr) == 0 {
		return false
	}
	for _, e := range v.arr {
		if e.kind != jObject {
			return false
		}
	}
	return true
}

// or compiles a $or's alternatives, each a pattern object at the level of the $or itself.
func (c *compiler) or(v jv, path, orPath string) ([]*object, error) {
	if len(v.arr) < 2 {
		return nil, &Error{Key: orPath, Reason: "$or needs at least two patterns"}
	}
	alts := make([]*object, 0, len(v.arr))
	for _, e := range v.arr {
		o, err := c.object(e, path)
		if err != nil {
			return nil, err
		}
		alts = append(alts, o)
	}
	return alts, nil
}

func (c *compiler) leaf(v jv, path string) (*leaf, error) {
	if len(v.arr) == 0 {
		return nil, &Error{Key: path, Reason: "empty arrays are not allowed"}
	}
	l := &leaf{}
	for _, e := range v.arr {
		switch e.kind {
		case jString:
			l.matchers = append(l.matchers, exactString(e.str))
		case jNumber:
			n, err := number(e.str, path)
			if err != nil {
				return nil, err
			}
			l.matchers = append(l.matchers, exactNumber{n})
		case jBool:
			l.matchers = append(l.matchers, exactBool(e.b))
		case jNull:
			l.matchers = append(l.matchers, exactNull{})
		case jArray:
			return nil, &Error{Key: path, Reason: "nested arrays are not allowed"}
		case jObject:
			m, absent, err := c.operator(e, path)
			if err != nil {
				return nil, err
			}
			if absent {
				l.absent = true
			} else {
				l.matchers = append(l.matchers, m)
			}
		}
	}
	return l, nil
}

// operator compiles one {"op": value} match object. absent reports {"exists": false}, which
// is a property of the key rather than a test of a value.
func (c *compiler) operator(v jv, path string) (m matcher, absent bool, err error) {
	if len(v.keys) != 1 {
		return nil, false, &Error{Key: path, Reason: "a match object must hold exactly one operator, e.g. {\"prefix\": \"a\"}"}
	}
	op, val := v.keys[0], v.vals[0]
	bad := func(format string, args ...any) (matcher, bool, error) {
		return nil, false, &Error{Key: path, Reason: op + ": " + fmt.Sprintf(format, args...)}
	}
	switch op {
	case "prefix", "suffix":
		s, fold, ok := affix(val)
		if !ok {
			return bad("the value must be a string or {\"equals-ignore-case\": string}")
		}
		return affixMatcher{s: s, suffix: op == "suffix", fold: fold}, false, nil
	case "equals-ignore-case":
		if val.kind != jString {
			return bad("the value must be a string")
		}
		return foldMatcher(val.str), false, nil
	case "wildcard":
		if val.kind != jString {
			return bad("the value must be a string")
		}
		w, err := c.wildcard(val.str, path)
		return w, false, err
	case "exists":
		if val.kind != jBool {
			return bad("the value must be true or false")
		}
		return existsMatcher{}, !val.b, nil
	case "cidr":
		m, err := cidr(val, path)
		return m, false, err
	case "numeric":
		m, err := numeric(val, path)
		return m, false, err
	case "anything-but":
		m, err := c.anythingBut(val, path)
		return m, false, err
	}
	return nil, false, &Error{Key: path, Reason: fmt.Sprintf("unrecognized match type %q", op)}
}

// affix reads prefix's and suffix's value: a string, or {"equals-ignore-case": string}.
func affix(v jv) (s string, fold, ok bool) {
	switch {
	case v.kind == jString:
		return v.str, false, true
	case v.kind == jObject && len(v.keys) == 1 && v.keys[0] == "equals-ignore-case" && v.vals[0].kind == jString:
		return strings.ToLower(v.vals[0].str), true, true
	}
	return "", false, false
}
