package logs

import (
	"fmt"
	"io"
)

// GetEventsParams selects events as GetLogEvents does.
type GetEventsParams struct {
	Group, Stream string

	// StartTime and EndTime, in ms since the epoch, keep events with
	// StartTime <= timestamp < EndTime. They apply on every page, token
	// or not.
	StartTime, EndTime *int64

	// NextToken continues from a NextForwardToken or NextBackwardToken of
	// an earlier result for the same stream; its direction overrides
	// StartFromHead.
	NextToken string

	// Limit caps the events returned; 0 (or anything above 10,000) means
	// 10,000. A page also stops before 1 MB of messages, counted as
	// CloudWatch does with 26 bytes of overhead per event.
	Limit int

	// StartFromHead reads the oldest events first when there is no
	// token. CloudWatch's default, false, returns the newest page.
	StartFromHead bool
}

// Event is one log event.
type Event struct {
	Timestamp     int64 // ms since the epoch
	IngestionTime int64 // ms since the epoch
	Message       string
}

// GetEventsResult is one page of events, oldest first whichever way the
// page was read.
type GetEventsResult struct {
	Events []Event

	// NextForwardToken continues after the page's newest event. A
	// forward read that finds nothing new returns the token it was given,
	// which is how followers know to wait.
	NextForwardToken string

	// NextBackwardToken continues before the page's oldest event; at the
	// start of the stream it too comes back unchanged.
	NextBackwardToken string
}

// page accumulates events within GetLogEvents' limits.
type page struct {
	limit      int
	bytes      int
	start, end *int64
	events     []Event
}

func newPage(p GetEventsParams) *page {
	limit := p.Limit
	if limit <= 0 || limit > maxPageEvents {
		limit = maxPageEvents
	}
	return &page{limit: limit, start: p.StartTime, end: p.EndTime, events: []Event{}}
}

func (pg *page) full() bool { return len(pg.events) >= pg.limit }

// add reports false if the event does not fit in the page.
func (pg *page) add(ts, ingested int64, msg []byte) bool {
	n := len(msg) + eventOverhead
	if len(pg.events) > 0 && pg.bytes+n > maxPageBytes {
		return false
	}
	pg.bytes += n
	pg.events = append(pg.events, Event{Timestamp: ts, IngestionTime: ingested, Message: string(msg)})
	return true
}

// GetEvents returns a page of the stream's events, as GetLogEvents does.
// Reading costs time in proportion to the page, not the stream: tokens
// hold byte offsets, the newest page is read from the end of the file, and
// time bounds are found by binary search.
func (s *Store) GetEvents(account string, p GetEventsParams) (GetEventsResult, error) {
	p.StartTime = laterOf(p.StartTime, s.retentionStart(account, p.Group))
	r, err := s.openReader(account, p.Group, p.Stream)
	if err != nil {
		return GetEventsResult{}, err
	}
	defer r.Close()
	res, err := r.getEvents(p)
	if err != nil {
		return GetEventsResult{}, fmt.Errorf("logs: log stream %q in log group %q: %w", p.Stream, p.Group, err)
	}
	return res, nil
}

func (r *reader) getEvents(p GetEventsParams) (GetEventsResult, error) {
	pg := newPage(p)
	if p.NextToken != "" {
		dir, off, err := r.checkToken(p.NextToken)
		if err != nil {
			return GetEventsResult{}, err
		}
		if dir == 'f' {
			return r.forward(pg, off)
		}
		return r.backward(pg, off)
	}
	if p.StartFromHead {
		return r.forward(pg, r.start)
	}
	return r.backward(pg, r.end)
}

// checkToken parses a token and makes sure its offset is a record boundary
// of this file, so reading never starts mid-record.
func (r *reader) checkToken(tok string) (byte, int64, error) {
	dir, off, err := parseToken(r.hdr.id, tok)
	if err != nil {
		return 0, 0, err
	}
	if off < r.start || off > r.end {
		return 0, 0, fmt.Errorf("%w: %q", ErrInvalidToken, tok)
	}
	if off > r.start {
		var b [1]byte
		if _, err := r.f.ReadAt(b[:], off-1); err != nil {
			return 0, 0, err
		}
		if b[0] != '\n' {
			return 0, 0, fmt.Errorf("%w: %q", ErrInvalidToken, tok)
		}
	}
	return dir, off, nil
}

func (r *reader) result(pg *page, fwd, bwd int64) GetEventsResult {
	return GetEventsResult{
		Events:            pg.events,
		NextForwardToken:  makeToken(r.hdr.id, 'f', fwd),
		NextBackwardToken: makeToken(r.hdr.id, 'b', bwd),
	}
}

// forward reads the page starting at the record boundary off.
func (r *reader) forward(pg *page, off int64) (GetEventsResult, error) {
	sc := newFwd(r.f, off, r.end)
	pos := off // just after the last record consumed
	first := int64(-1)
	sought := false
	for !pg.full() {
		line, at, err := sc.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return GetEventsResult{}, err
		}
		ts, ing, msg, ok := parseRecord(line)
		if !ok {
			pos = sc.pos()
			continue
		}
		if pg.start != nil && ts < *pg.start {
			if !sought {
				// Jump over everything too old instead of
				// reading it.
				sought = true
				to, err := r.seekTime(*pg.start, at, r.end)
				if err != nil {
					return GetEventsResult{}, err
				}
				sc = newFwd(r.f, to, r.end)
				pos = to
			} else {
				pos = sc.pos()
			}
			continue
		}
		// Timestamps only grow, so past EndTime nothing qualifies;
		// stopping before the record keeps the token where it is.
		if pg.end != nil && ts >= *pg.end || !pg.add(ts, ing, msg) {
			break
		}
		if first < 0 {
			first = at
		}
		pos = sc.pos()
	}
	if first < 0 {
		first = off
	}
	return r.result(pg, pos, first), nil
}

// backward reads the page ending at the record boundary off.
func (r *reader) backward(pg *page, off int64) (GetEventsResult, error) {
	sc := newBwd(r.f, r.start, off)
	pos := off // start of the last record consumed
	newestEnd := int64(-1)
	sought := false
	for !pg.full() {
		line, at, err := sc.prev()
		if err == io.EOF {
			break
		}
		if err != nil {
			return GetEventsResult{}, err
		}
		ts, ing, msg, ok := parseRecord(line)
		if !ok {
			pos = at
			continue
		}
		if pg.end != nil && ts >= *pg.end {
			if !sought {
				sought = true
				to, err := r.seekTime(*pg.end, r.start, at)
				if err != nil {
					return GetEventsResult{}, err
				}
				sc = newBwd(r.f, r.start, to)
				pos = to
			} else {
				pos = at
			}
			continue
		}
		if pg.start != nil && ts < *pg.start || !pg.add(ts, ing, msg) {
			break
		}
		if newestEnd < 0 {
			newestEnd = pos
		}
		pos = at
	}
	// The page was collected newest first.
	ev := pg.events
	for i, j := 0, len(ev)-1; i < j; i, j = i+1, j-1 {
		ev[i], ev[j] = ev[j], ev[i]
	}
	if newestEnd < 0 {
		newestEnd = off
	}
	return r.result(pg, newestEnd, pos), nil
}

// seekLinear is the range below which seekTime stops bisecting and scans.
const seekLinear = 64 << 10

// seekTime returns the offset of the first record in [lo, hi) whose
// timestamp is at least t, or hi if there is none. lo and hi must be record
// boundaries. It bisects on byte offsets, relying on the writer keeping
// timestamps in file order.
func (r *reader) seekTime(t, lo, hi int64) (int64, error) {
	for hi-lo > seekLinear {
		mid := lo + (hi-lo)/2
		sc := newFwd(r.f, mid-1, hi)
		// Skip the rest of the record holding mid-1; the next record
		// starts at the first boundary at or after mid.
		if _, _, err := sc.next(); err != nil {
			if err == io.EOF {
				break
			}
			return 0, err
		}
		line, at, err := sc.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return 0, err
		}
		ts, _, _, ok := parseRecord(line)
		if !ok {
			break
		}
		if ts < t {
			lo = at
		} else {
			hi = at
		}
	}
	sc := newFwd(r.f, lo, hi)
	for {
		line, at, err := sc.next()
		if err == io.EOF {
			return hi, nil
		}
		if err != nil {
			return 0, err
		}
		if ts, _, _, ok := parseRecord(line); ok && ts >= t {
			return at, nil
		}
	}
}

// Tail returns the last maxBytes bytes of the stream's text: its messages,
// each followed by '\n' as the program printed them. It serves Lambda's
// X-Amz-Log-Result, and reads only the end of the file.
func (s *Store) Tail(account, group, stream string, maxBytes int) ([]byte, error) {
	r, err := s.openReader(account, group, stream)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	out, err := r.tail(maxBytes)
	if err != nil {
		return nil, fmt.Errorf("logs: log stream %q in log group %q: %w", stream, group, err)
	}
	return out, nil
}

func (r *reader) tail(maxBytes int) ([]byte, error) {
	if maxBytes <= 0 {
		return []byte{}, nil
	}
	sc := newBwd(r.f, r.start, r.end)
	var msgs [][]byte // newest first
	total := 0
	for total < maxBytes {
		line, _, err := sc.prev()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		if _, _, msg, ok := parseRecord(line); ok {
			msgs = append(msgs, append([]byte(nil), msg...))
			total += len(msg) + 1
		}
	}
	out := make([]byte, 0, total)
	for i := len(msgs) - 1; i >= 0; i-- {
		out = append(out, msgs[i]...)
		out = append(out, '\n')
	}
	return out[max(0, len(out)-maxBytes):], nil
}
