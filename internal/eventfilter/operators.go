package eventfilter

import (
	"encoding/json"
	"fmt"
	"math"
	"net/netip"
	"strconv"
	"strings"
)

// matcher tests one leaf value of an event: a string, a json.Number, a bool or nil (null).
type matcher interface {
	match(v any) bool
}

type (
	exactString string
	exactBool   bool
	exactNull   struct{}
	exactNumber struct{ n num }
	foldMatcher string
	// existsMatcher is {"exists": true}: any leaf value will do.
	existsMatcher struct{}
)

func (m exactString) match(v any) bool { s, ok := v.(string); return ok && s == string(m) }
func (m exactBool) match(v any) bool   { b, ok := v.(bool); return ok && b == bool(m) }
func (exactNull) match(v any) bool     { return v == nil }
func (m exactNumber) match(v any) bool { n, ok := eventNumber(v); return ok && n.eq(m.n) }
func (m foldMatcher) match(v any) bool {
	s, ok := v.(string)
	return ok && strings.EqualFold(s, string(m))
}
func (existsMatcher) match(any) bool { return true }

// affixMatcher is prefix or suffix; with fold, s is lower case and so is the value compared.
type affixMatcher struct {
	s      string
	suffix bool
	fold   bool
}

func (m affixMatcher) match(v any) bool {
	s, ok := v.(string)
	if !ok {
		return false
	}
	if m.fold {
		s = strings.ToLower(s)
	}
	if m.suffix {
		return strings.HasSuffix(s, m.s)
	}
	return strings.HasPrefix(s, m.s)
}

// num is a JSON number as numeric matching sees it: within ±NumericLimit it is compared
// exactly in millionths (AWS's six decimal places); beyond, only exact values compare, as
// float64s.
type num struct {
	micros  int64
	f       float64
	inRange bool
}

func parseNum(s string) (num, bool) {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		return num{}, false
	}
	n := num{f: f, inRange: f >= -NumericLimit && f <= NumericLimit}
	if n.inRange {
		n.micros = int64(math.Round(f * 1e6))
	}
	return n, true
}

func (a num) eq(b num) bool {
	if a.inRange && b.inRange {
		return a.micros == b.micros
	}
	return a.f == b.f
}

// number reads a pattern's number literal.
func number(s, path string) (num, error) {
	n, ok := parseNum(s)
	if !ok {
		return num{}, &Error{Key: path, Reason: fmt.Sprintf("%s is not a usable number", s)}
	}
	return n, nil
}

// eventNumber reads an event's leaf value as a number; only JSON numbers are (a string "5" is
// not).
func eventNumber(v any) (num, bool) {
	s, ok := v.(json.Number)
	if !ok {
		return num{}, false
	}
	return parseNum(string(s))
}

// numericMatcher is a range: lower and upper bounds in millionths, each optional.
type numericMatcher struct {
	lo, hi         int64
	hasLo, hasHi   bool
	loIncl, hiIncl bool
}

func (m numericMatcher) match(v any) bool {
	n, ok := eventNumber(v)
	if !ok || !n.inRange {
		return false
	}
	x := n.micros
	if m.hasLo && (x < m.lo || (x == m.lo && !m.loIncl)) {
		return false
	}
	if m.hasHi && (x > m.hi || (x == m.hi && !m.hiIncl)) {
		return false
	}
	return true
}

// numeric compiles ["op", n] or ["op", n, "op", n]: = alone, or at most one lower bound
// (>, >=) and one upper bound (<, <=), the lower below the upper.
func numeric(v jv, path string) (matcher, error) {
	bad := func(format string, args ...any) (matcher, error) {
		return nil, &Error{Key: path, Reason: "numeric: " + fmt.Sprintf(format, args...)}
	}
	if v.kind != jArray || (len(v.arr) != 2 && len(v.arr) != 4) {
		return bad(`want ["op", number] or ["op", number, "op", number]`)
	}
	var m numericMatcher
	for i := 0; i < len(v.arr); i += 2 {
		op, val := v.arr[i], v.arr[i+1]
		if op.kind != jString || val.kind != jNumber {
			return bad("each operator must be a string followed by a number")
		}
		n, ok := parseNum(val.str)
		if !ok || !n.inRange {
			return bad("%s is outside -5.0e9 to 5.0e9", val.str)
		}
		switch op.str {
		case "=":
			if len(v.arr) != 2 {
				return bad("= stands alone")
			}
			m = numericMatcher{lo: n.micros, hi: n.micros, hasLo: true, hasHi: true, loIncl: true, hiIncl: true}
		case ">", ">=":
			if m.hasLo {
				return bad("two lower bounds")
			}
			m.lo, m.hasLo, m.loIncl = n.micros, true, op.str == ">="
		case "<", "<=":
			if m.hasHi {
				return bad("two upper bounds")
			}
			m.hi, m.hasHi, m.hiIncl = n.micros, true, op.str == "<="
		default:
			return bad("unknown operator %q (=, <, <=, >, >=)", op.str)
		}
	}
	if len(v.arr) == 4 && m.lo >= m.hi {
		return bad("the lower bound must be below the upper bound")
	}
	return m, nil
}

// cidrMatcher matches a string holding an IP address within the prefix.
type cidrMatcher struct{ p netip.Prefix }

func (m cidrMatcher) match(v any) bool {
	s, ok := v.(string)
	if !ok {
		return false
	}
	a, err := netip.ParseAddr(s)
	return err == nil && m.p.Contains(a.WithZone("").Unmap())
}

func cidr(v jv, path string) (matcher, error) {
	if v.kind != jString {
		return nil, &Error{Key: path, Reason: "cidr: the value must be a string such as \"10.0.0.0/24\""}
	}
	p, err := netip.ParsePrefix(v.str)
	if err != nil {
		return nil, &Error{Key: path, Reason: fmt.Sprintf("cidr: %q is not an IPv4 or IPv6 CIDR block", v.str)}
	}
	return cidrMatcher{p.Masked()}, nil
}

// anythingBut matches what its inner matcher does not. strict limits it to strings (the
// prefix, suffix, equals-ignore-case and wildcard forms); a plain value list excludes only
// the values listed, so any other leaf value matches.
type anythingBut struct {
	not    []matcher
	strict bool
}

func (m anythingBut) match(v any) bool {
	if _, isString := v.(string); m.strict && !isString {
		return false
	}
	for _, n := range m.not {
		if n.match(v) {
			return false
		}
	}
	return true
}
