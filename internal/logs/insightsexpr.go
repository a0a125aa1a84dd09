package logs

import (
	"regexp"
	"strconv"
	"strings"
)

// expr is a filter expression of an Insights query.
type expr interface{ eval(Record) bool }

type (
	andExpr   struct{ l, r expr }
	orExpr    struct{ l, r expr }
	notExpr   struct{ e expr }
	isPresent struct{ field string }
	likeExpr  struct {
		field string
		re    *regexp.Regexp
	}
	cmpExpr struct {
		field, op string
		value     any // float64 or string
	}
)

func (e andExpr) eval(r Record) bool   { return e.l.eval(r) && e.r.eval(r) }
func (e orExpr) eval(r Record) bool    { return e.l.eval(r) || e.r.eval(r) }
func (e notExpr) eval(r Record) bool   { return !e.e.eval(r) }
func (e isPresent) eval(r Record) bool { _, ok := r[e.field]; return ok }

func (e likeExpr) eval(r Record) bool {
	v, ok := r[e.field]
	return ok && e.re.MatchString(display(e.field, v))
}

func (e cmpExpr) eval(r Record) bool {
	v, ok := r[e.field]
	if !ok {
		return false
	}
	var c int
	if want, isNum := e.value.(float64); isNum {
		got, ok := number(v)
		if !ok {
			return e.op == "!="
		}
		c = compareValues(got, want)
	} else {
		c = strings.Compare(display(e.field, v), e.value.(string))
	}
	switch e.op {
	case "=":
		return c == 0
	case "!=":
		return c != 0
	case "<":
		return c < 0
	case ">":
		return c > 0
	case "<=":
		return c <= 0
	}
	return c >= 0 // ">="
}

// exprParser reads a filter expression token by token.
type exprParser struct {
	toks []string
	i    int
}

func parseExpr(s string) (expr, error) {
	toks, err := tokenize(s)
	if err != nil {
		return nil, err
	}
	p := &exprParser{toks: toks}
	e, err := p.or()
	if err != nil {
		return nil, err
	}
	if p.i != len(p.toks) {
		return nil, queryErr("unexpected %q in filter %q", p.toks[p.i], s)
	}
	return e, nil
}

func (p *exprParser) peek() string {
	if p.i < len(p.toks) {
		return p.toks[p.i]
	}
	return ""
}

func (p *exprParser) next() string { t := p.peek(); p.i++; return t }

func (p *exprParser) or() (expr, error) {
	l, err := p.and()
	for err == nil && strings.EqualFold(p.peek(), "or") {
		p.next()
		var r expr
		if r, err = p.and(); err == nil {
			l = orExpr{l, r}
		}
	}
	return l, err
}

func (p *exprParser) and() (expr, error) {
	l, err := p.unary()
	for err == nil && strings.EqualFold(p.peek(), "and") {
		p.next()
		var r expr
		if r, err = p.unary(); err == nil {
			l = andExpr{l, r}
		}
	}
	return l, err
}

func (p *exprParser) unary() (expr, error) {
	switch t := p.peek(); {
	case strings.EqualFold(t, "not"):
		p.next()
		e, err := p.unary()
		return notExpr{e}, err
	case t == "(":
		p.next()
		e, err := p.or()
		if err == nil && p.next() != ")" {
			err = queryErr("a parenthesis is not closed")
		}
		return e, err
	case strings.EqualFold(t, "ispresent"):
		p.next()
		if p.next() != "(" {
			return nil, queryErr("ispresent takes a field in parentheses")
		}
		f := p.next()
		if !identRE.MatchString(f) || p.next() != ")" {
			return nil, queryErr("ispresent takes a field in parentheses")
		}
		return isPresent{f}, nil
	}
	return p.comparison()
}

func (p *exprParser) comparison() (expr, error) {
	field := p.next()
	if !identRE.MatchString(field) {
		return nil, queryErr("a filter compares a field, not %q", field)
	}
	op := p.next()
	negate := false
	if strings.EqualFold(op, "not") {
		negate, op = true, p.next()
	}
	if strings.EqualFold(op, "like") {
		re, err := likePattern(p.next())
		if err != nil {
			return nil, err
		}
		var e expr = likeExpr{field, re}
		if negate {
			e = notExpr{e}
		}
		return e, nil
	}
	switch op {
	case "=", "!=", "<", ">", "<=", ">=":
	default:
		return nil, queryErr("unknown comparison %q after %s", op, field)
	}
	v := p.next()
	var value any = v
	if s, ok := unquote(v); ok {
		value = s
	} else if f, err := strconv.ParseFloat(v, 64); err == nil {
		value = f
	} else {
		return nil, queryErr("%s %s takes a number or a quoted string, not %q", field, op, v)
	}
	return cmpExpr{field, op, value}, nil
}

// likePattern is the regular expression of like /re/ or like "substring".
func likePattern(t string) (*regexp.Regexp, error) {
	if len(t) >= 2 && t[0] == '/' && t[len(t)-1] == '/' {
		re, err := regexp.Compile(t[1 : len(t)-1])
		if err != nil {
			return nil, queryErr("like %s: %v", t, err)
		}
		return re, nil
	}
	if s, ok := unquote(t); ok {
		return regexp.MustCompile(regexp.QuoteMeta(s)), nil
	}
	return nil, queryErr("like takes /regex/ or a quoted string, not %q", t)
}

func unquote(t string) (string, bool) {
	if len(t) >= 2 && (t[0] == '"' || t[0] == '\'') && t[len(t)-1] == t[0] {
		return strings.ReplaceAll(t[1:len(t)-1], `\`+string(t[0]), string(t[0])), true
	}
	return "", false
}

// tokenize splits a filter into fields, numbers, quoted strings, /regexes/, operators and
// parentheses.
func tokenize(s string) ([]string, error) {
	var toks []string
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n':
			i++
		case c == '(' || c == ')' || c == ',':
			toks = append(toks, string(c))
			i++
		case c == '"' || c == '\'' || (c == '/' && len(toks) > 0 && strings.EqualFold(toks[len(toks)-1], "like")):
			j := i + 1
			for j < len(s) && s[j] != c {
				if s[j] == '\\' {
					j++
				}
				j++
			}
			if j >= len(s) {
				return nil, queryErr("%c is not closed in %q", c, s)
			}
			toks = append(toks, s[i:j+1])
			i = j + 1
		case strings.ContainsRune("=!<>", rune(c)):
			j := i + 1
			if j < len(s) && s[j] == '=' {
				j++
			}
			toks = append(toks, s[i:j])
			i = j
		default:
			j := i
			for j < len(s) && !strings.ContainsRune(" \t\n()=!<>,\"'", rune(s[j])) {
				j++
			}
			toks = append(toks, s[i:j])
			i = j
		}
	}
	return toks, nil
}
