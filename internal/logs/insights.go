package logs

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// A subset of CloudWatch Logs Insights' query language: commands joined by "|" —
//
//	fields f, …              the result's fields (default @timestamp, @message)
//	filter EXPR              comparisons (= != < > <= >=), like /re/ or like "text", not like,
//	                         ispresent(f), joined with and, or, not and parentheses
//	stats AGG[, AGG…] [by f, …]   count(*), count(f), sum, avg, min, max; "as name" renames
//	sort f [asc|desc]
//	limit N
//
// Fields are @timestamp, @message, @logStream, @log, @ingestionTime and, for a JSON message, its
// members by dotted path (a.b.c), found as Insights discovers them.

// Record is one event as a query sees it: its fields by name.
type Record map[string]any

// Query is a parsed Insights query.
type Query struct {
	fields  []string
	filters []expr
	stats   *statsCmd
	sortBy  string
	desc    bool
	limit   int
}

// ErrQuery is a query that does not parse; its message says where.
var ErrQuery = errors.New("invalid query")

func queryErr(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrQuery, fmt.Sprintf(format, args...))
}

// ParseQuery parses an Insights query string.
func ParseQuery(q string) (*Query, error) {
	out := &Query{sortBy: "@timestamp", desc: true}
	for _, part := range splitOutside(q, '|') {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		verb, rest, _ := strings.Cut(part, " ")
		rest = strings.TrimSpace(rest)
		switch strings.ToLower(verb) {
		case "fields", "display":
			for _, f := range splitOutside(rest, ',') {
				if f = strings.TrimSpace(f); f != "" {
					out.fields = append(out.fields, f)
				}
			}
		case "filter":
			e, err := parseExpr(rest)
			if err != nil {
				return nil, err
			}
			out.filters = append(out.filters, e)
		case "stats":
			s, err := parseStats(rest)
			if err != nil {
				return nil, err
			}
			out.stats = s
		case "sort":
			f := strings.Fields(rest)
			if len(f) == 0 || len(f) > 2 || (len(f) == 2 && !slices.Contains([]string{"asc", "desc"}, strings.ToLower(f[1]))) {
				return nil, queryErr("sort takes a field and asc or desc: %q", rest)
			}
			out.sortBy, out.desc = f[0], len(f) == 1 || strings.EqualFold(f[1], "desc")
		case "limit":
			n, err := strconv.Atoi(rest)
			if err != nil || n < 1 || n > 10000 {
				return nil, queryErr("limit takes a number from 1 to 10000: %q", rest)
			}
			out.limit = n
		default:
			return nil, queryErr("unknown command %q (barge serves fields, filter, stats, sort, limit)", verb)
		}
	}
	if len(out.fields) == 0 {
		out.fields = []string{"@timestamp", "@message"}
	}
	return out, nil
}

// splitOutside splits s at sep where it is not inside quotes, a /regex/ or parentheses.
func splitOutside(s string, sep byte) []string {
	var parts []string
	depth, quote, start := 0, byte(0), 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quote != 0:
			if c == '\\' {
				i++
			} else if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'' || c == '/' && regexStarts(s[:i]):
			quote = c
		case c == '(':
			depth++
		case c == ')':
			depth--
		case c == sep && depth == 0:
			parts = append(parts, s[start:i])
			start = i + 1
		}
	}
	return append(parts, s[start:])
}

// regexStarts reports whether a "/" after prefix opens a regular expression (after "like").
func regexStarts(prefix string) bool {
	return strings.HasSuffix(strings.ToLower(strings.TrimSpace(prefix)), "like")
}

// RecordOf is an event's fields: the built-ins and, for a JSON message, its members.
func RecordOf(group string, e FilteredEvent) Record {
	r := Record{"@timestamp": e.Timestamp, "@message": e.Message, "@logStream": e.Stream, "@log": group,
		"@ingestionTime": e.IngestionTime}
	if m := strings.TrimSpace(e.Message); strings.HasPrefix(m, "{") {
		var doc map[string]any
		if json.Unmarshal([]byte(m), &doc) == nil {
			flatten(r, "", doc)
		}
	}
	return r
}

func flatten(r Record, prefix string, doc map[string]any) {
	for k, v := range doc {
		if sub, ok := v.(map[string]any); ok {
			flatten(r, prefix+k+".", sub)
			continue
		}
		r[prefix+k] = v
	}
}

// Run applies the query to records (in any order) and returns the result rows, each a list of
// field → value in the query's field order.
func (q *Query) Run(records []Record, limit int) [][2][]string {
	var kept []Record
	for _, r := range records {
		if q.Matches(r) {
			kept = append(kept, r)
		}
	}
	fields := q.fields
	if q.stats != nil {
		kept, fields = q.stats.apply(kept)
	}
	slices.SortStableFunc(kept, func(a, b Record) int {
		c := compareValues(a[q.sortBy], b[q.sortBy])
		if q.desc {
			return -c
		}
		return c
	})
	if q.limit > 0 {
		limit = min(limit, q.limit)
	}
	if len(kept) > limit {
		kept = kept[:limit]
	}
	rows := make([][2][]string, 0, len(kept))
	for _, r := range kept {
		var names, values []string
		for _, f := range fields {
			if v, ok := r[f]; ok {
				names, values = append(names, f), append(values, display(f, v))
			}
		}
		rows = append(rows, [2][]string{names, values})
	}
	return rows
}

// Matches reports whether a record passes the query's filters.
func (q *Query) Matches(r Record) bool {
	for _, f := range q.filters {
		if !f.eval(r) {
			return false
		}
	}
	return true
}

// display is a value as Insights prints it: timestamps as "2006-01-02 15:04:05.000".
func display(field string, v any) string {
	switch x := v.(type) {
	case int64:
		if field == "@timestamp" || field == "@ingestionTime" {
			return time.UnixMilli(x).UTC().Format("2006-01-02 15:04:05.000")
		}
		return strconv.FormatInt(x, 10)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case string:
		return x
	case nil:
		return ""
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// number is v as a number, if it is one (or a string that reads as one).
func number(v any) (float64, bool) {
	switch x := v.(type) {
	case int64:
		return float64(x), true
	case float64:
		return x, true
	case string:
		f, err := strconv.ParseFloat(x, 64)
		return f, err == nil
	}
	return 0, false
}

func compareValues(a, b any) int {
	if x, ok := number(a); ok {
		if y, ok := number(b); ok {
			return cmp.Compare(x, y)
		}
	}
	return cmp.Compare(display("", a), display("", b))
}

var identRE = regexp.MustCompile(`^@?[A-Za-z_][A-Za-z0-9_.\-]*$`)
