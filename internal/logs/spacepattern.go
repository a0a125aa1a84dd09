package logs

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// spaceFieldRE is one field of a space-delimited pattern: a name, optionally compared with a
// value (`status=4*`, `bytes>1000`), or the ellipsis.
var spaceFieldRE = regexp.MustCompile(`^\s*(\.\.\.|[A-Za-z_][A-Za-z0-9_]*)\s*(?:(=|!=|<=|>=|<|>)\s*("[^"]*"|[^\s,]+))?\s*$`)

// spaceField is one field of a space-delimited pattern and its condition, if any.
type spaceField struct {
	ellipsis bool
	test     func(string) bool // nil: any value
}

// compileSpacePattern compiles CloudWatch's space-delimited pattern: `[ip, user, ..., status=4*,
// bytes>1000]` matches a message whose space-separated fields ("quoted" and [bracketed] runs are
// one field each) line up with the pattern's, `...` standing for any number of fields (once).
func compileSpacePattern(pattern string) (Matcher, error) {
	body := strings.TrimSpace(pattern)
	if !strings.HasSuffix(body, "]") {
		return nil, fmt.Errorf("%w: filterPattern: a space-delimited pattern ends with ']'", ErrInvalidParameter)
	}
	body = body[1 : len(body)-1]
	var fields []spaceField
	ellipses := 0
	for _, part := range strings.Split(body, ",") {
		m := spaceFieldRE.FindStringSubmatch(part)
		if m == nil {
			return nil, fmt.Errorf("%w: filterPattern: cannot read %q as a field", ErrInvalidParameter, strings.TrimSpace(part))
		}
		if m[1] == "..." {
			ellipses++
			fields = append(fields, spaceField{ellipsis: true})
			continue
		}
		f := spaceField{}
		if m[2] != "" {
			test, err := fieldTest(m[2], strings.Trim(m[3], `"`))
			if err != nil {
				return nil, err
			}
			f.test = test
		}
		fields = append(fields, f)
	}
	if ellipses > 1 {
		return nil, fmt.Errorf("%w: filterPattern: barge takes one ... per space-delimited pattern", ErrInvalidParameter)
	}
	return func(msg string) bool {
		values := splitFields(msg)
		at := -1
		for i, f := range fields {
			if f.ellipsis {
				at = i
			}
		}
		if at < 0 {
			return len(values) == len(fields) && testFields(fields, values)
		}
		head, tail := fields[:at], fields[at+1:]
		return len(values) >= len(head)+len(tail) && testFields(head, values[:len(head)]) &&
			testFields(tail, values[len(values)-len(tail):])
	}, nil
}

func testFields(fields []spaceField, values []string) bool {
	for i, f := range fields {
		if f.test != nil && !f.test(values[i]) {
			return false
		}
	}
	return true
}

// fieldTest compares a field's value with a literal: numerically for <, >, <=, >= (and for =, !=
// with a number), as a string with * wildcards otherwise.
func fieldTest(op, literal string) (func(string) bool, error) {
	n, numErr := strconv.ParseFloat(literal, 64)
	switch op {
	case "<", ">", "<=", ">=":
		if numErr != nil {
			return nil, fmt.Errorf("%w: filterPattern: %s needs a number, not %q", ErrInvalidParameter, op, literal)
		}
		return func(v string) bool {
			f, err := strconv.ParseFloat(v, 64)
			switch {
			case err != nil:
				return false
			case op == "<":
				return f < n
			case op == ">":
				return f > n
			case op == "<=":
				return f <= n
			}
			return f >= n
		}, nil
	}
	equal := func(v string) bool {
		if numErr == nil {
			if f, err := strconv.ParseFloat(v, 64); err == nil {
				return f == n
			}
		}
		return wildcardMatch(literal, v)
	}
	if op == "=" {
		return equal, nil
	}
	return func(v string) bool { return !equal(v) }, nil
}

// splitFields splits a message at spaces; a "quoted" or [bracketed] run is one field, without
// its quotes or brackets.
func splitFields(msg string) []string {
	var out []string
	for rest := strings.TrimSpace(msg); rest != ""; rest = strings.TrimLeft(rest, " \t") {
		closer := byte(0)
		switch rest[0] {
		case '"':
			closer = '"'
		case '[':
			closer = ']'
		}
		if closer != 0 {
			if end := strings.IndexByte(rest[1:], closer); end >= 0 {
				out = append(out, rest[1:end+1])
				rest = rest[end+2:]
				continue
			}
		}
		end := strings.IndexAny(rest, " \t")
		if end < 0 {
			end = len(rest)
		}
		out = append(out, rest[:end])
		rest = rest[end:]
	}
	return out
}
