package asl

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// This file is a JSONPath evaluator for the subset Step Functions uses:
// root selection ($ for the input, $$ for the context object, $name for a
// variable), child names, indexes, wildcards, slices, unions, recursive
// descent, filters and length(). A path that can only name one node
// ("definite") yields that node; any other yields an array of its matches,
// which is how Step Functions (Jayway JSONPath) behaves.

// rootKind says which document a path starts from.
type rootKind int

const (
	rootInput rootKind = iota
	rootContext
	rootVariable
)

// jpath is a compiled JSONPath.
type jpath struct {
	src      string
	root     rootKind
	variable string
	segs     []segment
	length   bool // ends in .length()
}

// segment is one step of a path applied to every current node.
type segment struct {
	descend bool       // ".." before the selector
	kind    string     // "name", "names", "index", "indexes", "wild", "slice", "filter"
	names   []string   // name(s)
	indexes []int      // index(es)
	slice   [3]*int    // start, end, step
	filter  filterExpr // for "filter"
}

func (s segment) definite() bool {
	return !s.descend && (s.kind == "name" || s.kind == "index")
}

// definite reports whether the path selects at most one node.
func (p *jpath) definite() bool {
	for _, s := range p.segs {
		if !s.definite() {
			return false
		}
	}
	return true
}

// pathEnv is what a path can read.
type pathEnv struct {
	input   any
	context any
	vars    func(name string) (any, bool)
	rand    *randSource // for States.MathRandom and States.UUID
}

// compileAnyPath compiles a path with any root ($, $$ or $var).
func compileAnyPath(src string) (*jpath, error) {
	p := &jpath{src: src}
	rest := ""
	switch {
	case strings.HasPrefix(src, "$$"):
		p.root, rest = rootContext, src[2:]
	case src == "$" || strings.HasPrefix(src, "$.") || strings.HasPrefix(src, "$["):
		p.root, rest = rootInput, src[1:]
	case strings.HasPrefix(src, "$"):
		n := 1
		for n < len(src) && isIdentChar(src[n], n == 1) {
			n++
		}
		if n == 1 {
			return nil, fmt.Errorf("invalid path %q", src)
		}
		p.root, p.variable, rest = rootVariable, src[1:n], src[n:]
	default:
		return nil, fmt.Errorf("path %q must start with $", src)
	}
	if strings.HasSuffix(rest, ".length()") {
		p.length, rest = true, strings.TrimSuffix(rest, ".length()")
	}
	ps := &pathScanner{s: rest}
	for !ps.done() {
		seg, err := ps.segment()
		if err != nil {
			return nil, fmt.Errorf("invalid path %q: %w", src, err)
		}
		p.segs = append(p.segs, seg)
	}
	return p, nil
}

func isIdentChar(c byte, first bool) bool {
	if c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') {
		return true
	}
	return !first && c >= '0' && c <= '9'
}

var errNoMatch = errors.New("no match")

// eval applies the path. For a definite path it returns the node or
// errNoMatch; otherwise it returns the array of matches.
func (p *jpath) eval(env pathEnv) (any, error) {
	var root any
	switch p.root {
	case rootInput:
		root = env.input
	case rootContext:
		root = env.context
	case rootVariable:
		v, ok := env.vars(p.variable)
		if !ok {
			return nil, fmt.Errorf("variable $%s is not defined", p.variable)
		}
		root = v
	}
	nodes := []any{root}
	for _, s := range p.segs {
		nodes = s.apply(nodes, env)
	}
	var out any
	if p.definite() {
		if len(nodes) == 0 {
			return nil, errNoMatch
		}
		out = nodes[0]
	} else {
		out = append([]any{}, nodes...)
	}
	if p.length {
		switch t := out.(type) {
		case []any:
			return float64(len(t)), nil
		case string:
			return float64(len([]rune(t))), nil
		case map[string]any:
			return float64(len(t)), nil
		}
		return nil, errNoMatch
	}
	return out, nil
}

func (s segment) apply(nodes []any, env pathEnv) []any {
	var out []any
	for _, n := range nodes {
		if s.descend {
			for _, d := range descendants(n) {
				out = s.selectFrom(d, env, out)
			}
			continue
		}
		out = s.selectFrom(n, env, out)
	}
	return out
}

// descendants lists n and every node below it, depth first.
func descendants(n any) []any {
	out := []any{n}
	switch t := n.(type) {
	case map[string]any:
		for _, k := range sortedKeys(t) {
			out = append(out, descendants(t[k])...)
		}
	case []any:
		for _, e := range t {
			out = append(out, descendants(e)...)
		}
	}
	return out
}

func (s segment) selectFrom(n any, env pathEnv, out []any) []any {
	switch s.kind {
	case "name", "names":
		if m, ok := n.(map[string]any); ok {
			for _, name := range s.names {
				if v, ok := m[name]; ok {
					out = append(out, v)
				}
			}
		}
	case "index", "indexes":
		if a, ok := n.([]any); ok {
			for _, i := range s.indexes {
				if i < 0 {
					i += len(a)
				}
				if i >= 0 && i < len(a) {
					out = append(out, a[i])
				}
			}
		}
	case "wild":
		out = append(out, children(n)...)
	case "slice":
		if a, ok := n.([]any); ok {
			out = append(out, sliceOf(a, s.slice)...)
		}
	case "filter":
		for _, c := range children(n) {
			if s.filter.test(c, env) {
				out = append(out, c)
			}
		}
	}
	return out
}

func children(n any) []any {
	switch t := n.(type) {
	case map[string]any:
		out := make([]any, 0, len(t))
		for _, k := range sortedKeys(t) {
			out = append(out, t[k])
		}
		return out
	case []any:
		return t
	}
	return nil
}

func sliceOf(a []any, sl [3]*int) []any {
	step := 1
	if sl[2] != nil {
		step = *sl[2]
	}
	if step <= 0 {
		return nil
	}
	norm := func(p *int, def int) int {
		if p == nil {
			return def
		}
		i := *p
		if i < 0 {
			i += len(a)
		}
		return min(max(i, 0), len(a))
	}
	var out []any
	for i := norm(sl[0], 0); i < norm(sl[1], len(a)); i += step {
		out = append(out, a[i])
	}
	return out
}

// pathScanner parses the segments after the root.
type pathScanner struct {
	s   string
	pos int
}

func (ps *pathScanner) done() bool { return ps.pos >= len(ps.s) }

func (ps *pathScanner) segment() (segment, error) {
	var seg segment
	switch {
	case strings.HasPrefix(ps.s[ps.pos:], ".."):
		seg.descend = true
		ps.pos += 2
		if ps.pos < len(ps.s) && ps.s[ps.pos] == '[' {
			return ps.bracket(seg)
		}
		return ps.dotName(seg)
	case ps.s[ps.pos] == '.':
		ps.pos++
		return ps.dotName(seg)
	case ps.s[ps.pos] == '[':
		return ps.bracket(seg)
	}
	return seg, fmt.Errorf("unexpected %q at offset %d", ps.s[ps.pos], ps.pos)
}

func (ps *pathScanner) dotName(seg segment) (segment, error) {
	start := ps.pos
	for ps.pos < len(ps.s) && ps.s[ps.pos] != '.' && ps.s[ps.pos] != '[' {
		ps.pos++
	}
	name := ps.s[start:ps.pos]
	switch {
	case name == "":
		return seg, fmt.Errorf("empty name at offset %d", start)
	case name == "*":
		seg.kind = "wild"
	case strings.ContainsAny(name, " \t()'\""):
		return seg, fmt.Errorf("invalid name %q", name)
	default:
		seg.kind, seg.names = "name", []string{name}
	}
	return seg, nil
}

func (ps *pathScanner) bracket(seg segment) (segment, error) {
	end := matchingBracket(ps.s, ps.pos)
	if end < 0 {
		return seg, errors.New("unclosed [")
	}
	body := strings.TrimSpace(ps.s[ps.pos+1 : end])
	ps.pos = end + 1
	switch {
	case body == "*":
		seg.kind = "wild"
	case strings.HasPrefix(body, "?"):
		f, err := parseFilter(strings.TrimSpace(body[1:]))
		if err != nil {
			return seg, err
		}
		seg.kind, seg.filter = "filter", f
	case strings.HasPrefix(body, "'") || strings.HasPrefix(body, "\""):
		names, err := splitQuoted(body)
		if err != nil {
			return seg, err
		}
		seg.kind, seg.names = "names", names
		if len(names) == 1 {
			seg.kind = "name"
		}
	case strings.Contains(body, ":"):
		return ps.sliceSeg(seg, body)
	default:
		for _, part := range strings.Split(body, ",") {
			i, err := strconv.Atoi(strings.TrimSpace(part))
			if err != nil {
				return seg, fmt.Errorf("invalid index %q", part)
			}
			seg.indexes = append(seg.indexes, i)
		}
		seg.kind = "indexes"
		if len(seg.indexes) == 1 {
			seg.kind = "index"
		}
	}
	return seg, nil
}

func (ps *pathScanner) sliceSeg(seg segment, body string) (segment, error) {
	parts := strings.Split(body, ":")
	if len(parts) > 3 {
		return seg, fmt.Errorf("invalid slice %q", body)
	}
	for i, part := range parts {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		n, err := strconv.Atoi(part)
		if err != nil {
			return seg, fmt.Errorf("invalid slice %q", body)
		}
		seg.slice[i] = &n
	}
	seg.kind = "slice"
	return seg, nil
}

// matchingBracket finds the ] closing the [ at open, skipping quoted text
// and nested brackets (filters may contain both).
func matchingBracket(s string, open int) int {
	depth := 0
	var quote byte
	for i := open; i < len(s); i++ {
		c := s[i]
		switch {
		case quote != 0:
			if c == '\\' {
				i++
			} else if c == quote {
				quote = 0
			}
		case c == '\'' || c == '"':
			quote = c
		case c == '[':
			depth++
		case c == ']':
			depth--
			if depth == 0 {
				return i
			}
		}
	}
	return -1
}

// splitQuoted parses 'a','b' into its names.
func splitQuoted(body string) ([]string, error) {
	var names []string
	for body != "" {
		q := body[0]
		if q != '\'' && q != '"' {
			return nil, fmt.Errorf("invalid name list %q", body)
		}
		var b strings.Builder
		i := 1
		for ; i < len(body) && body[i] != q; i++ {
			if body[i] == '\\' && i+1 < len(body) {
				i++
			}
			b.WriteByte(body[i])
		}
		if i >= len(body) {
			return nil, errors.New("unterminated quoted name")
		}
		names = append(names, b.String())
		body = strings.TrimSpace(body[i+1:])
		if strings.HasPrefix(body, ",") {
			body = strings.TrimSpace(body[1:])
		} else if body != "" {
			return nil, fmt.Errorf("invalid name list near %q", body)
		}
	}
	return names, nil
}
