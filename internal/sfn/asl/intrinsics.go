package asl

import (
	"fmt"
	"strconv"
	"strings"
)

// Intrinsic functions (States.Format(...) and friends) are parsed into a
// small call tree at validation time and evaluated against a pathEnv.

// icall is a parsed intrinsic function call.
type icall struct {
	name string
	args []iarg
}

// iarg is one argument: a literal, a path or a nested call.
type iarg struct {
	literal any
	path    *jpath
	call    *icall
}

func parseIntrinsic(s string) (*icall, error) {
	ip := &intrinsicParser{s: strings.TrimSpace(s)}
	c, err := ip.call()
	if err != nil {
		return nil, fmt.Errorf("invalid intrinsic function %q: %w", s, err)
	}
	ip.skip()
	if ip.pos != len(ip.s) {
		return nil, fmt.Errorf("invalid intrinsic function %q: unexpected %q", s, ip.s[ip.pos:])
	}
	return c, nil
}

type intrinsicParser struct {
	s   string
	pos int
}

func (ip *intrinsicParser) skip() {
	for ip.pos < len(ip.s) && (ip.s[ip.pos] == ' ' || ip.s[ip.pos] == '\t' || ip.s[ip.pos] == '\n') {
		ip.pos++
	}
}

func (ip *intrinsicParser) call() (*icall, error) {
	ip.skip()
	open := strings.IndexByte(ip.s[ip.pos:], '(')
	if open < 0 {
		return nil, fmt.Errorf("missing (")
	}
	name := strings.TrimSpace(ip.s[ip.pos : ip.pos+open])
	if _, ok := intrinsics[name]; !ok {
		return nil, fmt.Errorf("unknown function %q", name)
	}
	ip.pos += open + 1
	c := &icall{name: name}
	ip.skip()
	if ip.pos < len(ip.s) && ip.s[ip.pos] == ')' {
		ip.pos++
		return c, c.checkArity()
	}
	for {
		a, err := ip.arg()
		if err != nil {
			return nil, err
		}
		c.args = append(c.args, a)
		ip.skip()
		if ip.pos >= len(ip.s) {
			return nil, fmt.Errorf("missing )")
		}
		if ip.s[ip.pos] == ')' {
			ip.pos++
			return c, c.checkArity()
		}
		if ip.s[ip.pos] != ',' {
			return nil, fmt.Errorf("expected , or ) at offset %d", ip.pos)
		}
		ip.pos++
	}
}

func (c *icall) checkArity() error {
	spec := intrinsics[c.name]
	if len(c.args) < spec.min || (spec.max >= 0 && len(c.args) > spec.max) {
		return fmt.Errorf("%s takes %s arguments, got %d", c.name, spec.arity(), len(c.args))
	}
	return nil
}

func (ip *intrinsicParser) arg() (iarg, error) {
	ip.skip()
	if ip.pos >= len(ip.s) {
		return iarg{}, fmt.Errorf("missing argument")
	}
	rest := ip.s[ip.pos:]
	switch {
	case rest[0] == '\'':
		s, err := ip.stringLit()
		return iarg{literal: s}, err
	case strings.HasPrefix(rest, "States."):
		c, err := ip.call()
		return iarg{call: c}, err
	case rest[0] == '$':
		end := ip.pathEnd()
		p, err := compileAnyPath(strings.TrimSpace(ip.s[ip.pos:end]))
		ip.pos = end
		return iarg{path: p}, err
	}
	end := ip.pathEnd()
	tok := strings.TrimSpace(ip.s[ip.pos:end])
	ip.pos = end
	switch tok {
	case "null":
		return iarg{literal: nil}, nil
	case "true", "false":
		return iarg{literal: tok == "true"}, nil
	}
	f, err := strconv.ParseFloat(tok, 64)
	if err != nil {
		return iarg{}, fmt.Errorf("invalid argument %q", tok)
	}
	return iarg{literal: f}, nil
}

// pathEnd finds where an unquoted argument ends: at a , or ) outside
// brackets and quotes.
func (ip *intrinsicParser) pathEnd() int {
	depth := 0
	var quote byte
	for i := ip.pos; i < len(ip.s); i++ {
		c := ip.s[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '\'' || c == '"':
			quote = c
		case c == '[' || c == '(':
			depth++
		case c == ']':
			depth--
		case c == ')' && depth == 0, c == ',' && depth == 0:
			return i
		case c == ')':
			depth--
		}
	}
	return len(ip.s)
}

// stringLit reads a '...' literal; a backslash escapes ' { } and \.
func (ip *intrinsicParser) stringLit() (string, error) {
	var b strings.Builder
	for i := ip.pos + 1; i < len(ip.s); i++ {
		c := ip.s[i]
		switch c {
		case '\\':
			if i+1 >= len(ip.s) {
				return "", fmt.Errorf("unterminated string")
			}
			i++
			switch ip.s[i] {
			case '{':
				b.WriteRune(escapedOpen)
			case '}':
				b.WriteRune(escapedClose)
			case '\'', '\\':
				b.WriteByte(ip.s[i])
			default:
				b.WriteByte('\\')
				b.WriteByte(ip.s[i])
			}
		case '\'':
			ip.pos = i + 1
			return b.String(), nil
		default:
			b.WriteByte(c)
		}
	}
	return "", fmt.Errorf("unterminated string")
}

// Escaped braces in a string literal are kept as private-use runes until
// the value is used, so that States.Format can tell a literal "\{}" from
// a placeholder.
const (
	escapedOpen  = '\uE000'
	escapedClose = '\uE001'
)

var unescapeBraces = strings.NewReplacer(string(escapedOpen), "{", string(escapedClose), "}")

// intrinsicEnv is what evaluating a call needs beyond the paths.
type intrinsicEnv struct {
	paths pathEnv
	rand  *randSource
}

func (c *icall) eval(env intrinsicEnv) (any, *Error) {
	args := make([]any, len(c.args))
	for i, a := range c.args {
		switch {
		case a.call != nil:
			v, err := a.call.eval(env)
			if err != nil {
				return nil, err
			}
			args[i] = v
		case a.path != nil:
			v, err := a.path.eval(env.paths)
			if err != nil {
				return nil, newError(ErrRuntime,
					"The JsonPath argument for the field '%s' could not be found in the input", a.path.src)
			}
			args[i] = v
		default:
			args[i] = a.literal
			if s, ok := a.literal.(string); ok && (c.name != "States.Format" || i > 0) {
				args[i] = unescapeBraces.Replace(s)
			}
		}
	}
	v, err := intrinsics[c.name].fn(env, args)
	if err != nil {
		// AWS's error-handling guide reserves States.IntrinsicFailure for
		// future use: a failing intrinsic is reported as States.Runtime,
		// which no Retry or Catch matches.
		return nil, newError(ErrRuntime, "%s: %v", c.name, err)
	}
	return v, nil
}
