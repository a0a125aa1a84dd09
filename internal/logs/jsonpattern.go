package logs

import (
	"encoding/json"
	"fmt"
	"path"
	"regexp"
	"strconv"
	"strings"
)

// jsonTermRE is one comparison of a JSON filter pattern: a selector ($.a.b, $.list[0]), an
// operator, and a value (a quoted string, possibly with * wildcards, a number, true, false, null).
var jsonTermRE = regexp.MustCompile(`^\s*(\$(?:\.[A-Za-z0-9_-]+|\[[0-9]+\])+)\s*(=|!=|<=|>=|<|>)\s*("(?:[^"\\]|\\.)*"|[^\s&|)]+)\s*`)

// compileJSONPattern compiles CloudWatch's JSON filter pattern: `{ $.level = "ERROR" }`,
// comparisons joined by && or || (evaluated left to right, && before ||), without parentheses.
// A message that is not a JSON object never matches.
func compileJSONPattern(pattern string) (Matcher, error) {
	body := strings.TrimSpace(strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(pattern), "{"), "}"))
	if strings.ContainsAny(body, "()") {
		return nil, fmt.Errorf("%w: filterPattern: parentheses in JSON patterns are not supported by barge yet", ErrInvalidParameter)
	}
	var ors [][]func(map[string]any) bool
	var and []func(map[string]any) bool
	for rest := body; ; {
		m := jsonTermRE.FindStringSubmatch(rest)
		if m == nil {
			return nil, fmt.Errorf("%w: filterPattern: cannot read %q as a JSON pattern's comparison", ErrInvalidParameter, rest)
		}
		cmp, err := jsonComparison(m[1], m[2], m[3])
		if err != nil {
			return nil, err
		}
		and = append(and, cmp)
		rest = rest[len(m[0]):]
		switch {
		case rest == "":
			ors = append(ors, and)
			return func(msg string) bool {
				var doc map[string]any
				if json.Unmarshal([]byte(msg), &doc) != nil {
					return false
				}
				for _, all := range ors {
					ok := true
					for _, c := range all {
						ok = ok && c(doc)
					}
					if ok {
						return true
					}
				}
				return false
			}, nil
		case strings.HasPrefix(rest, "&&"):
			rest = rest[2:]
		case strings.HasPrefix(rest, "||"):
			ors, and, rest = append(ors, and), nil, rest[2:]
		default:
			return nil, fmt.Errorf("%w: filterPattern: expected && or || before %q", ErrInvalidParameter, rest)
		}
	}
}

// jsonComparison is one comparison of a selected value with a literal.
func jsonComparison(selector, op, literal string) (func(map[string]any) bool, error) {
	steps := strings.FieldsFunc(strings.TrimPrefix(selector, "$"), func(r rune) bool { return r == '.' || r == '[' || r == ']' })
	get := func(doc map[string]any) (any, bool) {
		var v any = doc
		for _, s := range steps {
			switch x := v.(type) {
			case map[string]any:
				var ok bool
				if v, ok = x[s]; !ok {
					return nil, false
				}
			case []any:
				i, err := strconv.Atoi(s)
				if err != nil || i >= len(x) {
					return nil, false
				}
				v = x[i]
			default:
				return nil, false
			}
		}
		return v, true
	}
	if strings.HasPrefix(literal, `"`) {
		want, err := strconv.Unquote(literal)
		if err != nil {
			return nil, fmt.Errorf("%w: filterPattern: %s", ErrInvalidParameter, literal)
		}
		if op != "=" && op != "!=" {
			return nil, fmt.Errorf("%w: filterPattern: strings compare with = or != only", ErrInvalidParameter)
		}
		return func(doc map[string]any) bool {
			v, ok := get(doc)
			s, isString := v.(string)
			matched := ok && isString && wildcardMatch(want, s)
			return matched == (op == "=")
		}, nil
	}
	if n, err := strconv.ParseFloat(literal, 64); err == nil {
		return func(doc map[string]any) bool {
			v, ok := get(doc)
			f, isNumber := v.(float64)
			if !ok || !isNumber {
				return op == "!="
			}
			switch op {
			case "=":
				return f == n
			case "!=":
				return f != n
			case "<":
				return f < n
			case ">":
				return f > n
			case "<=":
				return f <= n
			}
			return f >= n
		}, nil
	}
	var want any
	switch literal {
	case "true":
		want = true
	case "false":
		want = false
	case "null":
		want = nil
	default: // an unquoted string, as CloudWatch allows
		return jsonComparison(selector, op, strconv.Quote(literal))
	}
	if op != "=" && op != "!=" {
		return nil, fmt.Errorf("%w: filterPattern: %s compares with = or != only", ErrInvalidParameter, literal)
	}
	return func(doc map[string]any) bool {
		v, ok := get(doc)
		return (ok && v == want) == (op == "=")
	}, nil
}

// wildcardMatch matches s against a pattern where * stands for any run of characters.
func wildcardMatch(pattern, s string) bool {
	if !strings.Contains(pattern, "*") {
		return pattern == s
	}
	escaped := strings.NewReplacer(`\`, `\\`, "?", `\?`, "[", `\[`).Replace(pattern)
	ok, _ := path.Match(escaped, s)
	if !ok && strings.Contains(s, "/") {
		// path.Match's * stops at '/'; CloudWatch's does not.
		re := "^" + strings.ReplaceAll(regexp.QuoteMeta(pattern), `\*`, ".*") + "$"
		ok, _ = regexp.MatchString(re, s)
	}
	return ok
}
