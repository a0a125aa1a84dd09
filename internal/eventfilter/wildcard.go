package eventfilter

import (
	"fmt"
	"strings"
)

// wildcardMatcher matches a whole string against literal parts separated by "*", each "*"
// standing for any run of characters (including none).
type wildcardMatcher struct {
	parts []string // len(parts) = number of "*" + 1
}

// wildcard compiles a wildcard value: "*" is the wildcard, "\*" a literal star and "\\" a
// literal backslash; any other escape, a trailing backslash and "**" (AWS refuses consecutive
// wildcards) are errors. Each "*" adds one to the pattern's complexity.
func (c *compiler) wildcard(s, path string) (matcher, error) {
	bad := func(reason string) (matcher, error) {
		return nil, &Error{Key: path, Reason: fmt.Sprintf("wildcard %q: %s", s, reason)}
	}
	var parts []string
	var cur strings.Builder
	prevStar := false
	for i := 0; i < len(s); i++ {
		switch ch := s[i]; {
		case ch == '\\':
			if i+1 == len(s) || (s[i+1] != '*' && s[i+1] != '\\') {
				return bad(`only \* and \\ may be escaped`)
			}
			i++
			cur.WriteByte(s[i])
			prevStar = false
		case ch == '*':
			if prevStar {
				return bad("consecutive wildcard characters are not allowed")
			}
			parts = append(parts, cur.String())
			cur.Reset()
			prevStar = true
			c.complexity++
		default:
			cur.WriteByte(ch)
			prevStar = false
		}
	}
	return wildcardMatcher{parts: append(parts, cur.String())}, nil
}

// match anchors the first part at the start and the last at the end, then finds the middle
// parts left to right; taking the earliest place for each is always safe with "*" alone.
func (m wildcardMatcher) match(v any) bool {
	s, ok := v.(string)
	if !ok {
		return false
	}
	if len(m.parts) == 1 {
		return s == m.parts[0]
	}
	first, last := m.parts[0], m.parts[len(m.parts)-1]
	if len(s) < len(first)+len(last) || !strings.HasPrefix(s, first) || !strings.HasSuffix(s, last) {
		return false
	}
	mid := s[len(first) : len(s)-len(last)]
	for _, p := range m.parts[1 : len(m.parts)-1] {
		i := strings.Index(mid, p)
		if i < 0 {
			return false
		}
		mid = mid[i+len(p):]
	}
	return true
}

// anythingBut compiles anything-but's value: a string or number, a list of strings or of
// numbers, or an object {prefix|suffix: string} or {equals-ignore-case|wildcard: string or
// list of strings}.
func (c *compiler) anythingBut(v jv, path string) (matcher, error) {
	bad := func(reason string) (matcher, error) {
		return nil, &Error{Key: path, Reason: "anything-but: " + reason}
	}
	switch v.kind {
	case jString:
		return anythingBut{not: []matcher{exactString(v.str)}}, nil
	case jNumber:
		n, err := number(v.str, path)
		return anythingBut{not: []matcher{exactNumber{n}}}, err
	case jArray:
		not, err := valueList(v, path)
		if err != nil {
			return nil, err
		}
		return anythingBut{not: not}, nil
	case jObject:
		if len(v.keys) != 1 {
			return bad("the object must hold exactly one of prefix, suffix, equals-ignore-case, wildcard")
		}
		return c.anythingButOp(v.keys[0], v.vals[0], path)
	}
	return bad("the value must be a string, a number, a list of either, or an operator object")
}

// valueList reads anything-but's list: all strings or all numbers, not empty.
func valueList(v jv, path string) ([]matcher, error) {
	if len(v.arr) == 0 {
		return nil, &Error{Key: path, Reason: "anything-but: the list is empty"}
	}
	var not []matcher
	for _, e := range v.arr {
		if e.kind != v.arr[0].kind || (e.kind != jString && e.kind != jNumber) {
			return nil, &Error{Key: path, Reason: "anything-but: the list must hold only strings or only numbers"}
		}
		if e.kind == jString {
			not = append(not, exactString(e.str))
			continue
		}
		n, err := number(e.str, path)
		if err != nil {
			return nil, err
		}
		not = append(not, exactNumber{n})
	}
	return not, nil
}

func (c *compiler) anythingButOp(op string, v jv, path string) (matcher, error) {
	bad := func(reason string) (matcher, error) {
		return nil, &Error{Key: path, Reason: "anything-but: " + op + ": " + reason}
	}
	switch op {
	case "prefix", "suffix", "equals-ignore-case", "wildcard":
	default:
		return nil, &Error{Key: path, Reason: fmt.Sprintf("anything-but: unsupported operator %q", op)}
	}
	var strs []string
	switch {
	case v.kind == jString:
		strs = []string{v.str}
	case v.kind == jArray && len(v.arr) > 0 && (op == "equals-ignore-case" || op == "wildcard"):
		for _, e := range v.arr {
			if e.kind != jString {
				return bad("the list must hold only strings")
			}
			strs = append(strs, e.str)
		}
	default:
		return bad("the value must be a string")
	}
	m := anythingBut{strict: true}
	for _, s := range strs {
		switch op {
		case "prefix", "suffix":
			if s == "" {
				return bad("the value must not be empty")
			}
			m.not = append(m.not, affixMatcher{s: s, suffix: op == "suffix"})
		case "equals-ignore-case":
			m.not = append(m.not, foldMatcher(s))
		case "wildcard":
			w, err := c.wildcard(s, path)
			if err != nil {
				return nil, err
			}
			m.not = append(m.not, w)
		}
	}
	return m, nil
}
