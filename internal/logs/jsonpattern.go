package logs

import (
	"encoding/json"
	"fmt"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// jsonTermRE is one comparison of a JSON filter pattern: a selector ($.a.b, $.list[0]), an
// operator, and a value (a quoted string, possibly with * wildcards, a number, true, false, null).
var jsonTermRE = regexp.MustCompile(`^\s*(\$(?:\.[A-Za-z0-9_-]+|\[[0-9]+\])+)\s*(=|!=|<=|>=|<|>)\s*("(?:[^"\\]|\\.)*"|[^\s&|()]+)\s*`)

// jsonTestRE is one of a JSON filter pattern's tests without a value: `$.a IS NULL`, `IS TRUE`,
// `IS FALSE`, `NOT EXISTS`.
var jsonTestRE = regexp.MustCompile(`^\s*(\$(?:\.[A-Za-z0-9_-]+|\[[0-9]+\])+)\s+(?i:(IS\s+NULL|IS\s+TRUE|IS\s+FALSE|NOT\s+EXISTS))\b`)

// maxJSONPatternDepth bounds the nesting of parentheses in a JSON filter pattern.
const maxJSONPatternDepth = 32

// jsonCond is a compiled part of a JSON filter pattern, asked of one parsed message.
type jsonCond func(doc map[string]any) bool

// compileJSONPattern compiles CloudWatch's JSON filter pattern: `{ $.level = "ERROR" }`,
// comparisons and tests (`IS NULL`, `IS TRUE`, `IS FALSE`, `NOT EXISTS`) joined by && and ||,
// && binding tighter than ||, grouped with parentheses to any depth up to maxJSONPatternDepth.
// A message that is not a JSON object never matches.
func compileJSONPattern(pattern string) (Matcher, error) {
	body, ok := strings.CutSuffix(strings.TrimSpace(pattern), "}")
	if !ok {
		return nil, fmt.Errorf("%w: filterPattern: a JSON pattern ends with '}'", ErrInvalidParameter)
	}
	p := &jsonParser{rest: strings.TrimPrefix(body, "{")}
	cond, err := p.or(0)
	if err != nil {
		return nil, err
	}
	if rest := strings.TrimSpace(p.rest); rest != "" {
		return nil, fmt.Errorf("%w: filterPattern: unexpected %q in a JSON pattern (an unmatched ')'?)", ErrInvalidParameter, rest)
	}
	return func(msg string) bool {
		var doc map[string]any
		if json.Unmarshal([]byte(msg), &doc) != nil {
			return false
		}
		return cond(doc)
	}, nil
}

// jsonParser reads a JSON pattern's body by recursive descent: an or is ands joined by ||, an
// and is operands joined by &&, an operand a comparison, a test, or an or in parentheses.
type jsonParser struct {
	rest string // what is left to read
}

// or reads operands joined by && and ||.
func (p *jsonParser) or(depth int) (jsonCond, error) {
	var alts []jsonCond
	for {
		and, err := p.and(depth)
		if err != nil {
			return nil, err
		}
		alts = append(alts, and)
		if !p.take("||") {
			break
		}
	}
	if len(alts) == 1 {
		return alts[0], nil
	}
	return func(doc map[string]any) bool {
		return slices.ContainsFunc(alts, func(c jsonCond) bool { return c(doc) })
	}, nil
}

// and reads operands joined by &&.
func (p *jsonParser) and(depth int) (jsonCond, error) {
	var all []jsonCond
	for {
		c, err := p.operand(depth)
		if err != nil {
			return nil, err
		}
		all = append(all, c)
		if !p.take("&&") {
			break
		}
	}
	if len(all) == 1 {
		return all[0], nil
	}
	return func(doc map[string]any) bool {
		for _, c := range all {
			if !c(doc) {
				return false
			}
		}
		return true
	}, nil
}

// operand reads a group in parentheses, a test or a comparison.
func (p *jsonParser) operand(depth int) (jsonCond, error) {
	if p.take("(") {
		if depth+1 > maxJSONPatternDepth {
			return nil, fmt.Errorf("%w: filterPattern: parentheses nested deeper than %d", ErrInvalidParameter, maxJSONPatternDepth)
		}
		c, err := p.or(depth + 1)
		if err != nil {
			return nil, err
		}
		if !p.take(")") {
			return nil, fmt.Errorf("%w: filterPattern: a '(' without its ')' in a JSON pattern", ErrInvalidParameter)
		}
		return c, nil
	}
	if m := jsonTestRE.FindStringSubmatch(p.rest); m != nil {
		p.rest = p.rest[len(m[0]):]
		return jsonTest(m[1], strings.ToUpper(strings.Join(strings.Fields(m[2]), " "))), nil
	}
	m := jsonTermRE.FindStringSubmatch(p.rest)
	if m == nil {
		rest := strings.TrimSpace(p.rest)
		if rest == "" {
			return nil, fmt.Errorf("%w: filterPattern: a JSON pattern ends where a comparison should be", ErrInvalidParameter)
		}
		return nil, fmt.Errorf("%w: filterPattern: cannot read %q as a JSON pattern's comparison", ErrInvalidParameter, rest)
	}
	p.rest = p.rest[len(m[0]):]
	return jsonComparison(m[1], m[2], m[3])
}

// take consumes tok, after spaces, if it comes next.
func (p *jsonParser) take(tok string) bool {
	rest, ok := strings.CutPrefix(strings.TrimSpace(p.rest), tok)
	if ok {
		p.rest = rest
	}
	return ok
}

// jsonTest is a test without a value: IS NULL (present and null), IS TRUE, IS FALSE (present
// and that boolean), NOT EXISTS (absent).
func jsonTest(selector, test string) jsonCond {
	get := jsonSelector(selector)
	return func(doc map[string]any) bool {
		v, ok := get(doc)
		switch test {
		case "IS NULL":
			return ok && v == nil
		case "IS TRUE":
			return ok && v == true
		case "IS FALSE":
			return ok && v == false
		}
		return !ok // NOT EXISTS
	}
}

// jsonSelector returns a function reading the value a selector ($.a.b, $.list[0]) names.
func jsonSelector(selector string) func(map[string]any) (any, bool) {
	steps := strings.FieldsFunc(strings.TrimPrefix(selector, "$"), func(r rune) bool { return r == '.' || r == '[' || r == ']' })
	return func(doc map[string]any) (any, bool) {
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
}

// jsonComparison is one comparison of a selected value with a literal.
func jsonComparison(selector, op, literal string) (jsonCond, error) {
	get := jsonSelector(selector)
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
