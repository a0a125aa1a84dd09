package logs

import (
	"cmp"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// OrderBy is how DescribeStreams sorts streams.
type OrderBy string

// The orders DescribeLogStreams offers.
const (
	OrderByLogStreamName OrderBy = "LogStreamName"
	OrderByLastEventTime OrderBy = "LastEventTime"
)

const maxDescribeLimit = 50

// DescribeStreamsParams selects streams as DescribeLogStreams does.
type DescribeStreamsParams struct {
	Group string

	// Prefix keeps streams whose name starts with it. Unlike CloudWatch,
	// it is also allowed with OrderByLastEventTime.
	Prefix string

	// OrderBy defaults to OrderByLogStreamName.
	OrderBy    OrderBy
	Descending bool

	// Limit caps the streams returned; 0 (or anything above 50) means 50.
	Limit int

	// NextToken continues from an earlier result with the same order.
	NextToken string
}

// StreamInfo describes one stream. Times are ms since the epoch; the event
// fields are 0 for a stream without events.
type StreamInfo struct {
	Name                string
	CreationTime        int64
	FirstEventTimestamp int64
	LastEventTimestamp  int64
	LastIngestionTime   int64
	StoredBytes         int64 // size of the stream's events on disk
}

// DescribeStreamsResult is one page of streams. NextToken is empty after
// the last page.
type DescribeStreamsResult struct {
	Streams   []StreamInfo
	NextToken string
}

type streamEntry struct {
	file string // path relative to the store's root
	name string
	info *StreamInfo // nil until loaded
}

// DescribeStreams lists the streams of a group, as DescribeLogStreams does.
// Listing by name opens only the files of the page returned; listing by
// last event time has to look at the end of every matching stream.
func (s *Store) DescribeStreams(account string, p DescribeStreamsParams) (DescribeStreamsResult, error) {
	byTime := false
	switch p.OrderBy {
	case "", OrderByLogStreamName:
	case OrderByLastEventTime:
		byTime = true
	default:
		return DescribeStreamsResult{}, fmt.Errorf("%w: orderBy %q", ErrInvalidParameter, p.OrderBy)
	}
	limit := p.Limit
	if limit <= 0 || limit > maxDescribeLimit {
		limit = maxDescribeLimit
	}
	var after *streamEntry
	if p.NextToken != "" {
		e, err := parseDescribeToken(p.NextToken, byTime)
		if err != nil {
			return DescribeStreamsResult{}, err
		}
		after = &e
	}

	entries, err := s.listGroup(account, p.Group, p.Prefix)
	if err != nil {
		return DescribeStreamsResult{}, err
	}
	if byTime {
		kept := entries[:0]
		for _, e := range entries {
			if err := s.loadInfo(&e); err != nil {
				if skippable(err) {
					continue
				}
				return DescribeStreamsResult{}, err
			}
			kept = append(kept, e)
		}
		entries = kept
	}
	compare := func(a, b *streamEntry) int {
		if byTime {
			if c := cmp.Compare(a.info.LastEventTimestamp, b.info.LastEventTimestamp); c != 0 {
				return c
			}
		}
		return strings.Compare(a.name, b.name)
	}
	if p.Descending {
		asc := compare
		compare = func(a, b *streamEntry) int { return asc(b, a) }
	}
	slices.SortFunc(entries, func(a, b streamEntry) int { return compare(&a, &b) })

	i := 0
	if after != nil {
		i, _ = slices.BinarySearchFunc(entries, after, func(e streamEntry, t *streamEntry) int {
			if c := compare(&e, t); c != 0 {
				return c
			}
			return -1 // the token's own stream is before the page too
		})
	}
	res := DescribeStreamsResult{Streams: []StreamInfo{}}
	for ; i < len(entries) && len(res.Streams) < limit; i++ {
		e := &entries[i]
		if err := s.loadInfo(e); err != nil {
			if skippable(err) {
				continue
			}
			return DescribeStreamsResult{}, err
		}
		res.Streams = append(res.Streams, *e.info)
	}
	if i < len(entries) && len(res.Streams) > 0 {
		last := res.Streams[len(res.Streams)-1]
		res.NextToken = describeToken(last, byTime)
	}
	return res, nil
}

// skippable reports whether a listing should pass over a stream rather
// than fail: it was deleted since the directory was read, or its file is
// too damaged to describe (GetEvents still reports that).
func skippable(err error) bool {
	return errors.Is(err, fs.ErrNotExist) || errors.Is(err, errCorrupt)
}

// listGroup returns the group's streams whose names start with prefix.
func (s *Store) listGroup(account, group, prefix string) ([]streamEntry, error) {
	gp := groupPath(account, group)
	d, err := s.root.Open(gp)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, groupNotFound(group)
	}
	if err != nil {
		return nil, fmt.Errorf("logs: log group %q: %w", group, err)
	}
	defer d.Close()
	var entries []streamEntry
	for {
		des, err := d.ReadDir(1024)
		for _, de := range des {
			fn := de.Name()
			esc, ok := strings.CutSuffix(fn, fileSuffix)
			if !ok || strings.HasPrefix(fn, ".") || !de.Type().IsRegular() {
				continue
			}
			e := streamEntry{file: filepath.Join(gp, fn)}
			if e.name, ok = unescapeName(esc); !ok {
				// A hashed name: the real one is in the header.
				if err := s.loadInfo(&e); err != nil {
					if skippable(err) {
						continue
					}
					return nil, err
				}
			}
			if strings.HasPrefix(e.name, prefix) {
				entries = append(entries, e)
			}
		}
		if err == io.EOF {
			return s.withReserved(account, group, prefix, entries)
		}
		if err != nil {
			return nil, fmt.Errorf("logs: log group %q: %w", group, err)
		}
	}
}

// withReserved adds to a group's files the streams reserved without one (empty.go).
func (s *Store) withReserved(account, group, prefix string, entries []streamEntry) ([]streamEntry, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	names, err := s.emptyNames(account, group)
	if err != nil || len(names) == 0 {
		return entries, err
	}
	files := make(map[string]bool, len(entries))
	for _, e := range entries {
		files[e.name] = true
	}
	for name, hdr := range names {
		if !files[name] && strings.HasPrefix(name, prefix) {
			entries = append(entries, streamEntry{name: name, info: &StreamInfo{Name: name, CreationTime: hdr.created}})
		}
	}
	return entries, nil
}

// loadInfo fills in e.info (and e.name) from the stream file.
func (s *Store) loadInfo(e *streamEntry) error {
	if e.info != nil {
		return nil
	}
	r, err := s.openReaderPath(e.file)
	if err != nil {
		return err
	}
	defer r.Close()
	info := StreamInfo{Name: r.hdr.stream, CreationTime: r.hdr.created, StoredBytes: r.end - r.start}
	sc := newFwd(r.f, r.start, r.end)
	for {
		line, _, err := sc.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		if ts, _, _, ok := parseRecord(line); ok {
			info.FirstEventTimestamp = ts
			break
		}
	}
	bsc := newBwd(r.f, r.start, r.end)
	for {
		line, _, err := bsc.prev()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		if ts, ing, _, ok := parseRecord(line); ok {
			info.LastEventTimestamp, info.LastIngestionTime = ts, ing
			break
		}
	}
	e.name, e.info = info.Name, &info
	return nil
}

// Listing tokens name the last stream returned, so streams created or
// deleted between pages neither repeat nor shift the listing: "n/<name>"
// in name order, "t/<last event time>/<name>" in time order, names in
// unpadded base64url.
func describeToken(last StreamInfo, byTime bool) string {
	name := base64.RawURLEncoding.EncodeToString([]byte(last.Name))
	if byTime {
		return "t/" + strconv.FormatInt(last.LastEventTimestamp, 10) + "/" + name
	}
	return "n/" + name
}

func parseDescribeToken(tok string, byTime bool) (streamEntry, error) {
	bad := fmt.Errorf("%w: %q", ErrInvalidToken, tok)
	var e streamEntry
	rest, ok := strings.CutPrefix(tok, "n/")
	if byTime {
		var ts string
		if rest, ok = strings.CutPrefix(tok, "t/"); ok {
			ts, rest, ok = strings.Cut(rest, "/")
		}
		if ok {
			n, err := strconv.ParseInt(ts, 10, 64)
			if err != nil {
				return e, bad
			}
			e.info = &StreamInfo{LastEventTimestamp: n}
		}
	}
	if !ok {
		return e, bad
	}
	name, err := base64.RawURLEncoding.DecodeString(rest)
	if err != nil {
		return e, bad
	}
	e.name = string(name)
	return e, nil
}
