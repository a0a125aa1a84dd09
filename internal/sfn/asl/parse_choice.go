package asl

import (
	"fmt"
	"regexp"
	"strings"
)

func (p *parser) choiceFields(r *reader, st *State) {
	st.Default, _ = r.str("Default", false)
	v, ok := r.get("Choices")
	arr, isArr := v.([]any)
	if !ok || !isArr || len(arr) == 0 {
		p.schema(r.loc, "The field \"Choices\" is required and must be a non-empty array")
		return
	}
	for i, e := range arr {
		loc := fmt.Sprintf("%s/Choices/%d", r.loc, i)
		if rule := p.choiceRule(e, loc, st.QueryLanguage, true); rule != nil {
			st.Choices = append(st.Choices, rule)
		}
	}
}

// choiceRule reads one rule. Only top-level rules carry Next (and Assign or
// Output); nested And/Or/Not rules are pure conditions.
func (p *parser) choiceRule(v any, loc string, lang QueryLanguage, top bool) *ChoiceRule {
	o, ok := v.(*object)
	if !ok {
		p.schema(loc, "A choice rule must be a JSON object")
		return nil
	}
	r := p.reader(o, loc)
	rule := &ChoiceRule{}
	allowed := set("Comment")
	if top {
		rule.Next, _ = r.str("Next", true)
		rule.Assign = r.template("Assign")
		p.checkAssign(rule.Assign, lang, loc+"/Assign")
		allowed["Next"], allowed["Assign"] = true, true
		if lang == JSONata {
			rule.Output = r.template("Output")
			p.checkTemplate(rule.Output, lang, loc+"/Output", false)
			allowed["Output"] = true
		}
	}
	if lang == JSONata {
		allowed["Condition"] = true
		cv, ok := r.get("Condition")
		switch c := cv.(type) {
		case bool:
		case string:
			if isJSONataString(c) {
				p.checkJSONata(c, loc+"/Condition")
			} else {
				p.schema(loc+"/Condition", "The value for the field \"Condition\" must be a boolean or a JSONata expression")
			}
		default:
			if ok {
				p.schema(loc+"/Condition", "The value for the field \"Condition\" must be a boolean or a JSONata expression")
			} else {
				p.schema(loc, "The field \"Condition\" is required")
			}
		}
		rule.Condition = cv
		r.unknown(allowed, "")
		return rule
	}
	p.jsonPathRule(r, rule, allowed)
	r.unknown(allowed, "")
	return rule
}

func (p *parser) jsonPathRule(r *reader, rule *ChoiceRule, allowed map[string]bool) {
	for _, k := range []string{"And", "Or"} {
		allowed[k] = true
		v, ok := r.get(k)
		if !ok {
			continue
		}
		arr, isArr := v.([]any)
		if !isArr || len(arr) == 0 {
			p.schema(r.loc+"/"+k, "The value for the field %q must be a non-empty array", k)
			continue
		}
		var rules []*ChoiceRule
		for i, e := range arr {
			if sub := p.choiceRule(e, fmt.Sprintf("%s/%s/%d", r.loc, k, i), JSONPath, false); sub != nil {
				rules = append(rules, sub)
			}
		}
		if k == "And" {
			rule.And = rules
		} else {
			rule.Or = rules
		}
	}
	allowed["Not"] = true
	if v, ok := r.get("Not"); ok {
		rule.Not = p.choiceRule(v, r.loc+"/Not", JSONPath, false)
	}
	allowed["Variable"] = true
	for k := range choiceOperators {
		allowed[k] = true
	}
	ops := 0
	for _, k := range r.o.keys {
		if _, isOp := choiceOperators[k]; isOp {
			ops++
			rule.Operator, rule.Operand = k, r.o.m[k]
		}
	}
	if r.has("And") {
		ops++
	}
	if r.has("Or") {
		ops++
	}
	if r.has("Not") {
		ops++
	}
	if ops != 1 {
		p.schema(r.loc, "A choice rule must have exactly one comparison operator or one of And, Or, Not")
		return
	}
	if rule.Operator == "" {
		return
	}
	rule.Variable, _ = r.str("Variable", true)
	if rule.Variable != "" {
		if _, err := compileAnyPath(rule.Variable); err != nil {
			p.schema(r.loc+"/Variable", "The value for the field \"Variable\" must be a valid JSONPath: %v", err)
		}
	}
	p.checkOperand(r, rule)
}

func (p *parser) checkOperand(r *reader, rule *ChoiceRule) {
	kind := choiceOperators[rule.Operator]
	loc := r.loc + "/" + rule.Operator
	bad := func(what string) {
		p.schema(loc, "The value for the field %q must be %s", rule.Operator, what)
	}
	switch kind {
	case "string":
		if _, ok := rule.Operand.(string); !ok {
			bad("a string")
		}
	case "number":
		if _, ok := rule.Operand.(float64); !ok {
			bad("a number")
		}
	case "boolean":
		if _, ok := rule.Operand.(bool); !ok {
			bad("a boolean")
		}
	case "timestamp":
		s, _ := rule.Operand.(string)
		if _, ok := parseTimestamp(s); !ok {
			bad("an RFC 3339 timestamp")
		}
	case "path":
		s, ok := rule.Operand.(string)
		if !ok {
			bad("a string")
		} else if _, err := compileAnyPath(s); err != nil {
			bad("a valid JSONPath")
		}
	}
}

// checkTemplate validates the expressions in a template: under JSONPath the
// "key.$" values must be paths or intrinsic calls; under JSONata every
// "{% %}" string must compile.
func (p *parser) checkTemplate(t Template, lang QueryLanguage, loc string, dollarKeys bool) {
	if !t.Set {
		return
	}
	if lang == JSONata {
		walkStrings(t.Value, func(s string) {
			if isJSONataString(s) {
				p.checkJSONata(s, loc)
			}
		})
		return
	}
	if dollarKeys {
		p.checkDollarKeys(t.Value, loc)
	}
}

func (p *parser) checkDollarKeys(v any, loc string) {
	switch t := v.(type) {
	case map[string]any:
		for k, e := range t {
			if !strings.HasSuffix(k, ".$") {
				p.checkDollarKeys(e, loc)
				continue
			}
			s, ok := e.(string)
			if !ok {
				p.schema(loc, "The value for the field %q must be a string", k)
				continue
			}
			if err := checkPathOrIntrinsic(s); err != nil {
				p.schema(loc, "The value for the field %q must be a valid JSONPath or a valid intrinsic function call", k)
			}
		}
	case []any:
		for _, e := range t {
			p.checkDollarKeys(e, loc)
		}
	}
}

func checkPathOrIntrinsic(s string) error {
	if strings.HasPrefix(s, "States.") {
		_, err := parseIntrinsic(s)
		return err
	}
	_, err := compileAnyPath(s)
	return err
}

var varNameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,79}$`)

// checkAssign validates an Assign object: its keys are variable names
// (optionally with ".$" under JSONPath) and "states" is reserved.
func (p *parser) checkAssign(t Template, lang QueryLanguage, loc string) {
	if !t.Set {
		return
	}
	m, ok := t.Value.(map[string]any)
	if !ok {
		p.schema(loc, "The value for the field \"Assign\" must be an object")
		return
	}
	for k := range m {
		name := k
		if lang == JSONPath {
			name = strings.TrimSuffix(k, ".$")
		}
		if !varNameRE.MatchString(name) || name == "states" {
			p.schema(loc, "%q is not a valid variable name", name)
		}
	}
	p.checkTemplate(t, lang, loc, true)
}

func walkStrings(v any, fn func(string)) {
	switch t := v.(type) {
	case string:
		fn(t)
	case map[string]any:
		for _, e := range t {
			walkStrings(e, fn)
		}
	case []any:
		for _, e := range t {
			walkStrings(e, fn)
		}
	}
}

func (p *parser) checkJSONata(s, loc string) {
	if _, err := compileJSONata(s); err != nil {
		p.schema(loc, "The JSONata expression %q is not valid: %v", s, err)
	}
}
