package logs

import (
	"regexp"
	"strings"
)

// statsCmd is "stats AGG[, AGG…] [by f, …]".
type statsCmd struct {
	aggs []aggregate
	by   []string
}

type aggregate struct {
	fn, field, name string // fn: count, sum, avg, min, max; field "" or "*" for count(*)
}

var aggRE = regexp.MustCompile(`^(?i)(count|sum|avg|min|max)\(\s*([^)]*?)\s*\)(?:\s+as\s+(\S+))?$`)

func parseStats(s string) (*statsCmd, error) {
	aggPart, byPart := s, ""
	if i := indexWord(s, "by"); i >= 0 {
		aggPart, byPart = s[:i], s[i+2:]
	}
	cmd := &statsCmd{}
	for _, a := range splitOutside(aggPart, ',') {
		a = strings.TrimSpace(a)
		m := aggRE.FindStringSubmatch(a)
		if m == nil {
			return nil, queryErr("stats takes count(), sum(f), avg(f), min(f) or max(f), not %q", a)
		}
		fn, field := strings.ToLower(m[1]), m[2]
		if fn != "count" && !identRE.MatchString(field) {
			return nil, queryErr("%s takes a field, not %q", fn, field)
		}
		name := m[3]
		if name == "" {
			name = fn + "(" + field + ")"
		}
		cmd.aggs = append(cmd.aggs, aggregate{fn, field, name})
	}
	for _, f := range splitOutside(byPart, ',') {
		if f = strings.TrimSpace(f); f != "" {
			if !identRE.MatchString(f) {
				return nil, queryErr("stats groups by fields, not %q", f)
			}
			cmd.by = append(cmd.by, f)
		}
	}
	if len(cmd.aggs) == 0 {
		return nil, queryErr("stats needs an aggregate")
	}
	return cmd, nil
}

// indexWord finds the word w in s (outside quotes is not checked: stats has none).
func indexWord(s, w string) int {
	f := strings.ToLower(s)
	for i := 0; i+len(w) <= len(f); i++ {
		if f[i:i+len(w)] == w && (i == 0 || f[i-1] == ' ' || f[i-1] == ')') && (i+len(w) == len(f) || f[i+len(w)] == ' ') {
			return i
		}
	}
	return -1
}

// apply groups records by the by-fields and computes the aggregates: one record per group,
// with the result's fields (the group's, then the aggregates').
func (c *statsCmd) apply(records []Record) ([]Record, []string) {
	type group struct {
		key   Record
		count map[int]float64
		sum   map[int]float64
		min   map[int]float64
		max   map[int]float64
		n     map[int]float64
	}
	groups := map[string]*group{}
	var order []string
	for _, r := range records {
		key := Record{}
		var k strings.Builder
		for _, f := range c.by {
			if v, ok := r[f]; ok {
				key[f] = v
			}
			k.WriteString(display(f, r[f]) + "\x00")
		}
		g := groups[k.String()]
		if g == nil {
			g = &group{key: key, count: map[int]float64{}, sum: map[int]float64{}, min: map[int]float64{}, max: map[int]float64{}, n: map[int]float64{}}
			groups[k.String()] = g
			order = append(order, k.String())
		}
		for i, a := range c.aggs {
			if a.fn == "count" {
				if a.field == "" || a.field == "*" || r[a.field] != nil {
					g.count[i]++
				}
				continue
			}
			v, ok := number(r[a.field])
			if !ok {
				continue
			}
			if g.n[i] == 0 || v < g.min[i] {
				g.min[i] = v
			}
			if g.n[i] == 0 || v > g.max[i] {
				g.max[i] = v
			}
			g.sum[i] += v
			g.n[i]++
		}
	}
	out := make([]Record, 0, len(groups))
	for _, k := range order {
		g := groups[k]
		r := g.key
		for i, a := range c.aggs {
			switch a.fn {
			case "count":
				r[a.name] = g.count[i]
			case "sum":
				r[a.name] = g.sum[i]
			case "avg":
				if g.n[i] > 0 {
					r[a.name] = g.sum[i] / g.n[i]
				}
			case "min":
				r[a.name] = g.min[i]
			case "max":
				r[a.name] = g.max[i]
			}
		}
		out = append(out, r)
	}
	fields := append([]string(nil), c.by...)
	for _, a := range c.aggs {
		fields = append(fields, a.name)
	}
	return out, fields
}
