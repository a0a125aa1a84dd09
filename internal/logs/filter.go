package logs

import (
	"cmp"
	"encoding/base64"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
)

// Matcher reports whether a message matches a filter pattern.
type Matcher func(msg string) bool

// CompilePattern compiles a CloudWatch Logs filter pattern of terms: a bare term or a "quoted
// phrase" must appear, a term prefixed by ? is one of alternatives of which one must appear, a
// term prefixed by - must not appear; matching is case-sensitive, as CloudWatch's is. The empty
// pattern matches everything. A JSON pattern ({ $.field op value && … }) is compiled by
// compileJSONPattern, a space-delimited one ([a, b=4*, …]) by compileSpacePattern.
func CompilePattern(pattern string) (Matcher, error) {
	pattern = strings.TrimSpace(pattern)
	if pattern == "" {
		return func(string) bool { return true }, nil
	}
	if strings.HasPrefix(pattern, "{") {
		return compileJSONPattern(pattern)
	}
	if strings.HasPrefix(pattern, "[") {
		return compileSpacePattern(pattern)
	}
	terms, err := splitTerms(pattern)
	if err != nil {
		return nil, err
	}
	var must, anyOf, not []string
	for _, t := range terms {
		switch {
		case strings.HasPrefix(t.text, "?") && !t.quoted:
			anyOf = append(anyOf, strings.Trim(strings.TrimPrefix(t.text, "?"), `"`))
		case strings.HasPrefix(t.text, "-") && !t.quoted && len(t.text) > 1:
			not = append(not, strings.Trim(strings.TrimPrefix(t.text, "-"), `"`))
		default:
			must = append(must, t.text)
		}
	}
	return func(msg string) bool {
		for _, t := range must {
			if !strings.Contains(msg, t) {
				return false
			}
		}
		for _, t := range not {
			if strings.Contains(msg, t) {
				return false
			}
		}
		if len(anyOf) == 0 {
			return true
		}
		for _, t := range anyOf {
			if strings.Contains(msg, t) {
				return true
			}
		}
		return false
	}, nil
}

type term struct {
	text   string
	quoted bool
}

// splitTerms splits a pattern at spaces outside double quotes; a quoted phrase keeps its spaces.
func splitTerms(p string) ([]term, error) {
	var out []term
	for p = strings.TrimSpace(p); p != ""; p = strings.TrimSpace(p) {
		prefix := ""
		if p[0] == '?' || p[0] == '-' {
			if len(p) > 1 && p[1] == '"' {
				prefix, p = p[:1], p[1:]
			}
		}
		if p[0] == '"' {
			end := strings.IndexByte(p[1:], '"')
			if end < 0 {
				return nil, fmt.Errorf("%w: filterPattern: an unclosed quote", ErrInvalidParameter)
			}
			text := p[1 : end+1]
			if prefix != "" {
				out = append(out, term{text: prefix + `"` + text + `"`})
			} else {
				out = append(out, term{text: text, quoted: true})
			}
			p = p[end+2:]
			continue
		}
		end := strings.IndexAny(p, " \t")
		if end < 0 {
			end = len(p)
		}
		out = append(out, term{text: p[:end]})
		p = p[end:]
	}
	return out, nil
}

// FilterParams select events across a group's streams, as FilterLogEvents does.
type FilterParams struct {
	Group        string
	StreamNames  []string // only these streams (none: all, or those with StreamPrefix)
	StreamPrefix string
	Start, End   *int64 // ms; End exclusive
	Match        Matcher
	Limit        int // 1 to 10,000; 0 means 10,000
	NextToken    string
}

// FilteredEvent is one event FilterEvents found.
type FilteredEvent struct {
	Event
	Stream string
	ID     string // unique and stable: the stream's id and the event's offset
}

// FilterResult is one page of matching events, oldest first.
type FilterResult struct {
	Events    []FilteredEvent
	Streams   []string // the streams searched
	NextToken string
}

// FilterEvents returns the events of a group's streams that match, merged by time.
func (s *Store) FilterEvents(account string, p FilterParams) (FilterResult, error) {
	limit := p.Limit
	if limit <= 0 || limit > 10000 {
		limit = 10000
	}
	var after *FilteredEvent
	if p.NextToken != "" {
		e, err := parseFilterToken(p.NextToken)
		if err != nil {
			return FilterResult{}, err
		}
		after = &e
	}
	p.Start = laterOf(p.Start, s.retentionStart(account, p.Group))
	entries, err := s.listGroup(account, p.Group, p.StreamPrefix)
	if err != nil {
		return FilterResult{}, err
	}
	res := FilterResult{Events: []FilteredEvent{}, Streams: []string{}}
	var all []FilteredEvent
	for _, e := range entries {
		if len(p.StreamNames) > 0 && !slices.Contains(p.StreamNames, e.name) {
			continue
		}
		found, err := s.scanStream(e, p, after, limit)
		if err != nil {
			if skippable(err) {
				continue
			}
			return FilterResult{}, err
		}
		res.Streams = append(res.Streams, e.name)
		all = append(all, found...)
	}
	slices.SortFunc(all, eventOrder)
	bytes := 0
	for _, e := range all {
		if len(res.Events) == limit || bytes+len(e.Message)+eventOverhead > maxPageBytes {
			last := res.Events[len(res.Events)-1]
			res.NextToken = filterToken(last)
			break
		}
		bytes += len(e.Message) + eventOverhead
		res.Events = append(res.Events, e)
	}
	return res, nil
}

// scanStream reads one stream's events in the time window that match and come after the page
// token, at most what one page can hold: a stream's events are in time order, so the page's
// events from this stream are its first matches after the token, and each page reads on from
// the token instead of from the start of the window.
func (s *Store) scanStream(e streamEntry, p FilterParams, after *FilteredEvent, limit int) ([]FilteredEvent, error) {
	if e.file == "" {
		return nil, nil // reserved, no events yet
	}
	r, err := s.openReaderPath(e.file)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	from := p.Start
	if after != nil && (from == nil || after.Timestamp > *from) {
		from = &after.Timestamp
	}
	off := r.start
	if from != nil {
		if off, err = r.seekTime(*from, r.start, r.end); err != nil {
			return nil, err
		}
	}
	var out []FilteredEvent
	bytes := 0
	sc := newFwd(r.f, off, r.end)
	for {
		line, at, err := sc.next()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		ts, ing, msg, ok := parseRecord(line)
		if !ok {
			continue
		}
		if p.End != nil && ts >= *p.End {
			return out, nil
		}
		if m := string(msg); p.Match == nil || p.Match(m) {
			fe := FilteredEvent{Event: Event{Timestamp: ts, IngestionTime: ing, Message: m}, Stream: e.name, ID: r.hdr.id + strconv.FormatInt(at, 10)}
			if after != nil && eventOrder(fe, *after) <= 0 {
				continue
			}
			if bytes += len(m) + eventOverhead; len(out) == limit || bytes > maxPageBytes {
				return out, nil // the page is full whatever the other streams hold
			}
			out = append(out, fe)
		}
	}
}

// eventOrder is the order FilterLogEvents returns events in: by time, then stream, then place.
func eventOrder(a, b FilteredEvent) int {
	return cmp.Or(cmp.Compare(a.Timestamp, b.Timestamp), strings.Compare(a.Stream, b.Stream), strings.Compare(a.ID, b.ID))
}

func filterToken(e FilteredEvent) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(e.Timestamp, 10) + "\x00" + e.Stream + "\x00" + e.ID))
}

func parseFilterToken(tok string) (FilteredEvent, error) {
	bad := fmt.Errorf("%w: %q", ErrInvalidToken, tok)
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil {
		return FilteredEvent{}, bad
	}
	parts := strings.SplitN(string(b), "\x00", 3)
	if len(parts) != 3 {
		return FilteredEvent{}, bad
	}
	ts, err := strconv.ParseInt(parts[0], 10, 64)
	if err != nil {
		return FilteredEvent{}, bad
	}
	return FilteredEvent{Event: Event{Timestamp: ts}, Stream: parts[1], ID: parts[2]}, nil
}
