package asl

import (
	"regexp"
	"strings"
)

// runChoice picks the next state. The first matching rule wins; otherwise
// Default; otherwise the state fails with States.NoChoiceMatched.
func (r *run) runChoice(st *State, fr *Frame, sc *scope) (stateResult, error) {
	raw := fr.Input
	r.inspect(fr, func(in *Inspection) { in.Input = mustJSON(raw) })
	if st.jsonata() {
		return r.choiceJSONata(st, fr, sc)
	}
	env := r.pathEnv(raw, fr, st, sc, nil)
	eff, err := applyInputPath(st.InputPath, env)
	if err != nil {
		return stateResult{}, err
	}
	r.inspect(fr, func(in *Inspection) { in.AfterInputPath = mustJSON(eff) })
	env.input = eff
	var matched *ChoiceRule
	for _, rule := range st.Choices {
		ok, err := evalRule(rule, env)
		if err != nil {
			return stateResult{}, err
		}
		if ok {
			matched = rule
			break
		}
	}
	res, assign, err := choiceTarget(st, matched)
	if err != nil {
		return res, err
	}
	if res.assigned, err = r.assignJSONPath(assign, env); err != nil {
		return res, err
	}
	if res.output, err = applyOutputPath(st.OutputPath, env); err != nil {
		return res, err
	}
	return res, checkSizeErr(res.output)
}

// choiceTarget returns the transition and the Assign to apply for the
// matched rule (nil: no rule matched).
func choiceTarget(st *State, matched *ChoiceRule) (stateResult, Template, error) {
	switch {
	case matched != nil:
		assign := st.Assign
		if matched.Assign.Set {
			assign = matched.Assign
		}
		return stateResult{next: matched.Next}, assign, nil
	case st.Default != "":
		return stateResult{next: st.Default}, st.Assign, nil
	}
	return stateResult{}, Template{}, newError(ErrNoChoiceMatched, "No Matches!")
}

func (r *run) choiceJSONata(st *State, fr *Frame, sc *scope) (stateResult, error) {
	env := r.jsonataEnv(r.statesVar(fr, st, nil), sc)
	var matched *ChoiceRule
	for _, rule := range st.Choices {
		v, err := evalMaybeJSONata(rule.Condition, "Condition", env)
		if err != nil {
			return stateResult{}, err
		}
		b, ok := v.(bool)
		if !ok {
			return stateResult{}, newError(ErrQueryEvaluationError, "The Condition must evaluate to a boolean, got %s", typeName(v))
		}
		if b {
			matched = rule
			break
		}
	}
	res, assign, err := choiceTarget(st, matched)
	if err != nil {
		return res, err
	}
	view := *st
	view.Assign = assign
	if matched != nil && matched.Output.Set {
		view.Output = matched.Output
	}
	out, err := r.finishJSONata(&view, env, fr.Input, res)
	out.next = res.next
	return out, err
}

// evalRule evaluates a JSONPath choice rule against the effective input.
func evalRule(rule *ChoiceRule, env pathEnv) (bool, error) {
	switch {
	case rule.And != nil:
		for _, sub := range rule.And {
			if ok, err := evalRule(sub, env); err != nil || !ok {
				return false, err
			}
		}
		return true, nil
	case rule.Or != nil:
		for _, sub := range rule.Or {
			if ok, err := evalRule(sub, env); err != nil || ok {
				return ok, err
			}
		}
		return false, nil
	case rule.Not != nil:
		ok, err := evalRule(rule.Not, env)
		return !ok, err
	}
	p, err := compileAnyPath(rule.Variable)
	if err != nil {
		return false, newError(ErrRuntime, "%v", err)
	}
	v, verr := p.eval(env)
	if rule.Operator == "IsPresent" {
		return (verr == nil) == (rule.Operand == true), nil
	}
	if verr != nil {
		return false, newError(ErrRuntime, "Invalid path '%s': The choice state's condition path references an invalid value.", rule.Variable)
	}
	if want, isBool := rule.Operand.(bool); isBool && strings.HasPrefix(rule.Operator, "Is") {
		return typeTest(rule.Operator, v) == want, nil
	}
	op, operand := rule.Operator, rule.Operand
	if base, isPath := strings.CutSuffix(op, "Path"); isPath {
		s, _ := operand.(string)
		if operand, err = evalExpr(s, op, env); err != nil {
			return false, err
		}
		op = base
	}
	return compareRule(op, v, operand), nil
}

func typeTest(op string, v any) bool {
	switch op {
	case "IsNull":
		return v == nil
	case "IsNumeric":
		_, ok := v.(float64)
		return ok
	case "IsString":
		_, ok := v.(string)
		return ok
	case "IsBoolean":
		_, ok := v.(bool)
		return ok
	case "IsTimestamp":
		s, ok := v.(string)
		if !ok {
			return false
		}
		_, ok = parseTimestamp(s)
		return ok
	}
	return false
}

// compareRule applies a comparison operator; values of the wrong type
// never match, as in Step Functions.
func compareRule(op string, v, operand any) bool {
	var cmp int
	switch {
	case op == "StringMatches":
		s, ok := v.(string)
		pat, _ := operand.(string)
		return ok && wildcardMatch(pat, s)
	case strings.HasPrefix(op, "String"), strings.HasPrefix(op, "Numeric"):
		kindOK := strings.HasPrefix(op, "String") == isString(v) && strings.HasPrefix(op, "String") == isString(operand)
		c, ok := compareValues(v, operand)
		if !kindOK || !ok {
			return false
		}
		cmp = c
	case strings.HasPrefix(op, "Boolean"):
		a, okA := v.(bool)
		b, okB := operand.(bool)
		return okA && okB && a == b
	case strings.HasPrefix(op, "Timestamp"):
		sa, _ := v.(string)
		sb, _ := operand.(string)
		ta, okA := parseTimestamp(sa)
		tb, okB := parseTimestamp(sb)
		if !okA || !okB {
			return false
		}
		cmp = ta.Compare(tb)
	default:
		return false
	}
	switch {
	case strings.HasSuffix(op, "LessThanEquals"):
		return cmp <= 0
	case strings.HasSuffix(op, "GreaterThanEquals"):
		return cmp >= 0
	case strings.HasSuffix(op, "LessThan"):
		return cmp < 0
	case strings.HasSuffix(op, "GreaterThan"):
		return cmp > 0
	case strings.HasSuffix(op, "Equals"):
		return cmp == 0
	}
	return false
}

func isString(v any) bool {
	_, ok := v.(string)
	return ok
}

// wildcardMatch implements StringMatches: * matches any run of characters,
// \* a literal star and \\ a literal backslash.
func wildcardMatch(pattern, s string) bool {
	var b strings.Builder
	b.WriteString("(?s)^")
	for i := 0; i < len(pattern); i++ {
		c := pattern[i]
		switch {
		case c == '\\' && i+1 < len(pattern):
			i++
			b.WriteString(regexp.QuoteMeta(string(pattern[i])))
		case c == '*':
			b.WriteString(".*")
		default:
			b.WriteString(regexp.QuoteMeta(string(c)))
		}
	}
	b.WriteString("$")
	re, err := regexp.Compile(b.String())
	return err == nil && re.MatchString(s)
}
