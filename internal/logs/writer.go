package logs

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"sync"
	"sync/atomic"
	"unicode/utf8"
)

const (
	minTimestamp = math.MinInt64

	// maxBatchBytes bounds the buffer one Write builds before handing it
	// to write(2), so a huge Write does not double its memory.
	maxBatchBytes = 1 << 20
)

// stream is one open stream file shared by all of its writers.
type stream struct {
	store *Store
	path  string
	hdr   header

	// size is the offset just after the last complete record written.
	// Readers load it without mu; it only ever grows.
	size atomic.Int64

	mu      sync.Mutex
	f       *os.File // nil once the last writer has closed
	refs    int
	lastTS  int64 // newest timestamp in the file, so timestamps never go back
	scratch []byte
	// truncated is set once the stream reached the store's limit: later output is dropped.
	truncated bool
	// lost counts the message bytes that could not be stored (a full disk), lostErr says why;
	// the next write that succeeds stores one event saying so first (lostNotice).
	lost    int64
	lostErr error
}

// recover prepares an existing file for appending after a restart: it
// drops a record torn by a crash, which would otherwise be glued to the
// next line written, and picks up the newest timestamp.
func (st *stream) recover(f *os.File) error {
	hdr, err := readHeader(f)
	if err != nil {
		return err
	}
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	sc, err := newBwdAligned(f, hdr.size, max(fi.Size(), hdr.size))
	if err != nil {
		return err
	}
	if sc.pos < fi.Size() {
		if err := f.Truncate(sc.pos); err != nil {
			return err
		}
	}
	st.hdr = hdr
	st.size.Store(sc.pos)
	for {
		line, _, err := sc.prev()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if ts, _, _, ok := parseRecord(line); ok {
			st.lastTS = ts
			return nil
		}
	}
}

// append writes msgs as events stamped with the current time, each event
// whole within a single write(2), so that a crash loses at most a line that
// had not been completed yet. Output that cannot be stored (the disk is full)
// is counted, not returned as an error: the process writing it must not block
// on its own output, and once writes succeed again one event says how much was
// lost and why.
func (st *stream) append(msgs [][]byte) error {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.f == nil {
		return fs.ErrClosed
	}
	if st.truncated {
		return nil // past the limit: dropped, said once already
	}
	ts := max(st.store.now().UnixMilli(), st.lastTS)
	buf, noted := st.lostNotice(st.scratch[:0], ts)
	var pending int64 // message bytes in buf
	limit := st.store.limit.Load()
	for i, m := range msgs {
		if limit > 0 && st.size.Load()+int64(len(buf)+len(m))+40 > limit {
			return st.truncate(buf, ts, limit)
		}
		buf = appendRecord(buf, ts, ts, m)
		pending += int64(len(m))
		if len(buf) >= maxBatchBytes || i == len(msgs)-1 {
			st.writeOrCount(buf, pending, noted)
			buf, pending, noted = buf[:0], 0, 0
		}
	}
	st.lastTS = ts
	st.store.notify(&st.hdr, func() []Event {
		events := make([]Event, len(msgs))
		for i, m := range msgs {
			events[i] = Event{Timestamp: ts, IngestionTime: ts, Message: string(m)}
		}
		return events
	})
	if cap(buf) <= maxBatchBytes+MaxMessageBytes+64 {
		st.scratch = buf
	}
	return nil
}

// lostNotice appends the event saying how much output was lost, when some was; noted is the
// count it reports.
func (st *stream) lostNotice(buf []byte, ts int64) ([]byte, int64) {
	if st.lost == 0 {
		return buf, 0
	}
	notice := fmt.Sprintf("barge: %d bytes of output could not be stored and are lost (%v)", st.lost, st.lostErr)
	return appendRecord(buf, ts, ts, []byte(notice)), st.lost
}

// writeOrCount writes buf, holding pending bytes of messages and a notice of noted lost bytes;
// if it fails, the messages join the lost count.
func (st *stream) writeOrCount(buf []byte, pending, noted int64) {
	if err := st.write(buf); err != nil {
		st.lost += pending
		st.lostErr = err
		return
	}
	st.lost -= noted
}

// noteLost adds n bytes lost for err (output that never reached the stream) to the count the
// next successful write reports.
func (st *stream) noteLost(n int64, err error) {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.lost += n
	st.lostErr = err
}

// truncate writes what fits (buf) and one last event saying the log stops here, then drops
// whatever the stream is given after: one job printing without end cannot fill the disk.
func (st *stream) truncate(buf []byte, ts, limit int64) error {
	notice := fmt.Sprintf("barge: this log reached its limit of %d bytes (--log-limit); later output was dropped", limit)
	buf = appendRecord(buf, ts, ts, []byte(notice))
	st.truncated = true
	st.lastTS = ts
	return st.write(buf)
}

func (st *stream) write(b []byte) error {
	n, err := st.f.Write(b)
	if err != nil {
		if n > 0 {
			// Cut the partial record off, so readers and later
			// appends see a clean file; failing that, the torn
			// record is skipped by readers and dropped on restart.
			st.f.Truncate(st.size.Load())
		}
		return err
	}
	st.size.Add(int64(n))
	return nil
}

// release drops one writer's reference and closes the file after the last.
func (st *stream) release() error {
	s := st.store
	s.mu.Lock()
	st.mu.Lock()
	st.refs--
	if st.refs > 0 || st.f == nil {
		st.mu.Unlock()
		s.mu.Unlock()
		return nil
	}
	var lostErr error
	if st.lost > 0 && !st.truncated {
		// A last try at saying what was lost; failing that, the closer is told.
		ts := max(st.store.now().UnixMilli(), st.lastTS)
		buf, noted := st.lostNotice(nil, ts)
		st.writeOrCount(buf, 0, noted)
		if st.lost > 0 {
			lostErr = &LostError{Bytes: st.lost, Err: st.lostErr}
		}
	}
	if s.active[st.path] == st {
		delete(s.active, st.path)
	}
	f := st.f
	st.f = nil
	st.mu.Unlock()
	s.mu.Unlock()
	// Closing outside the locks: readers open their own descriptors by path.
	return errors.Join(lostErr, f.Close())
}

// LostError is what closing a stream's last Writer returns when output could not be stored and
// not even the event saying so could be.
type LostError struct {
	Bytes int64 // message bytes lost
	Err   error // why the last write failed
}

func (e *LostError) Error() string {
	return fmt.Sprintf("%d bytes of output could not be stored: %v", e.Bytes, e.Err)
}

func (e *LostError) Unwrap() error { return e.Err }

// Writer appends to a log stream, one event per line. A line is complete
// at '\n', which is not part of the message ("\r\n" leaves the '\r'); the
// event is stamped with the time its line completed, never earlier than the
// stream's previous event. A line longer than [MaxMessageBytes] becomes
// several events, cut at UTF-8 character boundaries where possible. An
// incomplete last line is held in memory until its '\n' arrives or Close.
//
// A Writer is safe for concurrent use, but two goroutines writing the same
// Writer share its incomplete line. For two sources feeding one stream,
// such as a process's stdout and stderr, give each its own Writer with
// [Writer.Sibling]: lines are then never mixed, and the stream stays open
// until every sibling is closed.
type Writer struct {
	st *stream

	mu      sync.Mutex
	closed  bool
	partial []byte   // the incomplete line
	msgs    [][]byte // scratch, kept to avoid an allocation per Write
}

// Sibling returns another Writer on the same stream with its own
// incomplete line. It must be called before the stream's last Writer is
// closed; afterwards it returns a Writer that is already closed.
func (w *Writer) Sibling() *Writer {
	st := w.st
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.f == nil {
		return &Writer{st: st, closed: true}
	}
	st.refs++
	return &Writer{st: st}
}

// Write stores every line p completes. Lines the disk cannot take are
// counted, not failed: the stream stores one event saying how much was lost
// once it can. Write fails only on a closed Writer.
func (w *Writer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return 0, fs.ErrClosed
	}
	nl := bytes.IndexByte(p, '\n')
	if nl < 0 && len(w.partial)+len(p) <= MaxMessageBytes {
		w.partial = append(w.partial, p...)
		return len(p), nil
	}

	// Appending to w.partial below only writes past its length, so on
	// failure w.partial still holds the old incomplete line.
	msgs := w.msgs[:0]
	carry := w.partial
	rest := p
	for nl >= 0 {
		line := rest[:nl]
		if len(carry) > 0 {
			line = append(carry, line...)
			carry = nil
		}
		msgs = appendPieces(msgs, line)
		rest = rest[nl+1:]
		nl = bytes.IndexByte(rest, '\n')
	}
	pending := rest
	if len(carry) > 0 {
		pending = append(carry, rest...)
	}
	for len(pending) > MaxMessageBytes {
		cut := splitPoint(pending)
		msgs = append(msgs, pending[:cut])
		pending = pending[cut:]
	}

	err := w.st.append(msgs)
	clear(msgs) // do not pin the caller's buffer
	w.msgs = msgs[:0]
	if err != nil {
		return 0, err
	}
	w.partial = append(w.partial[:0], pending...)
	return len(p), nil
}

// Close stores the incomplete line, if any, as a last event and releases
// the stream. Closing again does nothing.
func (w *Writer) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return nil
	}
	w.closed = true
	var err error
	if len(w.partial) > 0 {
		err = w.st.append([][]byte{w.partial})
	}
	w.partial, w.msgs = nil, nil
	if rerr := w.st.release(); err == nil {
		err = rerr
	}
	return err
}

// appendPieces appends line to msgs, split into events of at most
// MaxMessageBytes.
func appendPieces(msgs [][]byte, line []byte) [][]byte {
	for len(line) > MaxMessageBytes {
		cut := splitPoint(line)
		msgs = append(msgs, line[:cut])
		line = line[cut:]
	}
	return append(msgs, line)
}

// splitPoint is where to cut b, longer than MaxMessageBytes, so the first
// event is as long as allowed without splitting a UTF-8 character. Bytes
// that are not UTF-8 are cut anywhere.
func splitPoint(b []byte) int {
	cut := MaxMessageBytes
	for i := cut; i > cut-utf8.UTFMax && i > 0; i-- {
		if utf8.RuneStart(b[i]) {
			return i
		}
	}
	return cut
}
