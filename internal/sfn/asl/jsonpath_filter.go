package asl

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// filterExpr is a compiled [?(...)] filter.
type filterExpr interface {
	test(current any, env pathEnv) bool
}

type filterOr struct{ a, b filterExpr }
type filterAnd struct{ a, b filterExpr }
type filterNot struct{ e filterExpr }

func (f filterOr) test(c any, env pathEnv) bool  { return f.a.test(c, env) || f.b.test(c, env) }
func (f filterAnd) test(c any, env pathEnv) bool { return f.a.test(c, env) && f.b.test(c, env) }
func (f filterNot) test(c any, env pathEnv) bool { return !f.e.test(c, env) }

// operand is a literal or a path relative to the current node (@) or root.
type operand struct {
	literal any
	isPath  bool
	rel     bool // @-relative
	path    *jpath
	re      *regexp.Regexp
}

func (o operand) value(c any, env pathEnv) (any, bool) {
	if !o.isPath {
		return o.literal, true
	}
	e := env
	if o.rel {
		e.input = c
	}
	v, err := o.path.eval(e)
	return v, err == nil
}

type filterCmp struct {
	left  operand
	op    string // "" for an existence test
	right operand
}

func (f filterCmp) test(c any, env pathEnv) bool {
	l, ok := f.left.value(c, env)
	if f.op == "" {
		return ok
	}
	if !ok {
		return false
	}
	if f.op == "=~" {
		s, isStr := l.(string)
		return isStr && f.right.re.MatchString(s)
	}
	r, ok := f.right.value(c, env)
	if !ok {
		return false
	}
	switch f.op {
	case "==":
		return jsonEqual(l, r)
	case "!=":
		return !jsonEqual(l, r)
	}
	cmp, comparable := compareValues(l, r)
	if !comparable {
		return false
	}
	switch f.op {
	case "<":
		return cmp < 0
	case "<=":
		return cmp <= 0
	case ">":
		return cmp > 0
	case ">=":
		return cmp >= 0
	}
	return false
}

// compareValues orders two numbers or two strings.
func compareValues(a, b any) (int, bool) {
	switch x := a.(type) {
	case float64:
		y, ok := b.(float64)
		if !ok {
			return 0, false
		}
		switch {
		case x < y:
			return -1, true
		case x > y:
			return 1, true
		}
		return 0, true
	case string:
		y, ok := b.(string)
		if !ok {
			return 0, false
		}
		return strings.Compare(x, y), true
	}
	return 0, false
}

type filterParser struct {
	s   string
	pos int
}

func parseFilter(s string) (filterExpr, error) {
	fp := &filterParser{s: s}
	e, err := fp.or()
	if err != nil {
		return nil, err
	}
	fp.skip()
	if fp.pos != len(fp.s) {
		return nil, fmt.Errorf("unexpected %q in filter", fp.s[fp.pos:])
	}
	return e, nil
}

func (fp *filterParser) skip() {
	for fp.pos < len(fp.s) && (fp.s[fp.pos] == ' ' || fp.s[fp.pos] == '\t') {
		fp.pos++
	}
}

func (fp *filterParser) eat(tok string) bool {
	fp.skip()
	if strings.HasPrefix(fp.s[fp.pos:], tok) {
		fp.pos += len(tok)
		return true
	}
	return false
}

func (fp *filterParser) or() (filterExpr, error) {
	e, err := fp.and()
	for err == nil && fp.eat("||") {
		var r filterExpr
		if r, err = fp.and(); err == nil {
			e = filterOr{e, r}
		}
	}
	return e, err
}

func (fp *filterParser) and() (filterExpr, error) {
	e, err := fp.unary()
	for err == nil && fp.eat("&&") {
		var r filterExpr
		if r, err = fp.unary(); err == nil {
			e = filterAnd{e, r}
		}
	}
	return e, err
}

func (fp *filterParser) unary() (filterExpr, error) {
	if fp.eat("!") {
		e, err := fp.unary()
		return filterNot{e}, err
	}
	if fp.eat("(") {
		e, err := fp.or()
		if err != nil {
			return nil, err
		}
		if !fp.eat(")") {
			return nil, fmt.Errorf("missing ) in filter")
		}
		return e, nil
	}
	return fp.comparison()
}

var filterOps = []string{"==", "!=", "<=", ">=", "=~", "<", ">"}

func (fp *filterParser) comparison() (filterExpr, error) {
	left, err := fp.operand()
	if err != nil {
		return nil, err
	}
	for _, op := range filterOps {
		if !fp.eat(op) {
			continue
		}
		if op == "=~" {
			re, err := fp.regex()
			return filterCmp{left: left, op: op, right: operand{re: re}}, err
		}
		right, err := fp.operand()
		return filterCmp{left: left, op: op, right: right}, err
	}
	return filterCmp{left: left}, nil
}

func (fp *filterParser) regex() (*regexp.Regexp, error) {
	fp.skip()
	if fp.pos >= len(fp.s) || fp.s[fp.pos] != '/' {
		return nil, fmt.Errorf("=~ needs a /regex/")
	}
	end := strings.LastIndex(fp.s, "/")
	if end <= fp.pos {
		return nil, fmt.Errorf("unterminated regex")
	}
	pat := fp.s[fp.pos+1 : end]
	fp.pos = end + 1
	if fp.pos < len(fp.s) && fp.s[fp.pos] == 'i' {
		pat = "(?i)" + pat
		fp.pos++
	}
	return regexp.Compile(pat)
}

func (fp *filterParser) operand() (operand, error) {
	fp.skip()
	if fp.pos >= len(fp.s) {
		return operand{}, fmt.Errorf("missing operand in filter")
	}
	c := fp.s[fp.pos]
	if c == '\'' || c == '"' {
		end := strings.IndexByte(fp.s[fp.pos+1:], c)
		if end < 0 {
			return operand{}, fmt.Errorf("unterminated string in filter")
		}
		s := fp.s[fp.pos+1 : fp.pos+1+end]
		fp.pos += end + 2
		return operand{literal: s}, nil
	}
	start := fp.pos
	depth := 0
	for fp.pos < len(fp.s) {
		ch := fp.s[fp.pos]
		if ch == '[' {
			depth++
		} else if ch == ']' {
			depth--
		} else if depth == 0 && strings.IndexByte(" \t)=!<>&|", ch) >= 0 {
			break
		}
		fp.pos++
	}
	tok := fp.s[start:fp.pos]
	switch {
	case strings.HasPrefix(tok, "@"):
		p, err := compileAnyPath("$" + tok[1:])
		return operand{isPath: true, rel: true, path: p}, err
	case strings.HasPrefix(tok, "$"):
		p, err := compileAnyPath(tok)
		return operand{isPath: true, path: p}, err
	case tok == "true", tok == "false":
		return operand{literal: tok == "true"}, nil
	case tok == "null":
		return operand{literal: nil}, nil
	}
	f, err := strconv.ParseFloat(tok, 64)
	if err != nil {
		return operand{}, fmt.Errorf("invalid filter operand %q", tok)
	}
	return operand{literal: f}, nil
}
