package logs

import (
	"bytes"
	"fmt"
	"io"
)

// Scanners start with a small read and double it, so that looking at one
// record (a token check, DescribeStreams' first and last event) costs a few
// KiB while a full page still takes only a handful of reads.
const (
	firstChunk = 4 << 10
	lastChunk  = 1 << 20
)

// fwdScanner yields the complete records in [pos, end) in file order.
// Returned lines alias its buffer and are valid until the next call.
type fwdScanner struct {
	r     io.ReaderAt
	end   int64
	off   int64 // file offset of buf[0]
	buf   []byte
	i     int // buf[:i] has been returned
	chunk int
}

func newFwd(r io.ReaderAt, pos, end int64) *fwdScanner {
	return &fwdScanner{r: r, end: end, off: pos, chunk: firstChunk}
}

// pos is the offset just after the last record returned.
func (s *fwdScanner) pos() int64 { return s.off + int64(s.i) }

// next returns the next line without its '\n' and the offset it starts at,
// or io.EOF when no complete line is left before end.
func (s *fwdScanner) next() ([]byte, int64, error) {
	for {
		if j := bytes.IndexByte(s.buf[s.i:], '\n'); j >= 0 {
			line := s.buf[s.i : s.i+j]
			at := s.pos()
			s.i += j + 1
			return line, at, nil
		}
		filled := s.off + int64(len(s.buf))
		if filled >= s.end {
			return nil, 0, io.EOF
		}
		pending := len(s.buf) - s.i
		if pending > maxRecordBytes {
			return nil, 0, fmt.Errorf("%w: record at offset %d too long", errCorrupt, s.pos())
		}
		n := int(min(int64(s.chunk), s.end-filled))
		s.chunk = min(2*s.chunk, lastChunk)
		var nb []byte
		if cap(s.buf) >= pending+n {
			nb = s.buf[:pending+n]
		} else {
			nb = make([]byte, pending+n, max(pending+n, 2*cap(s.buf)))
		}
		copy(nb, s.buf[s.i:])
		m, err := s.r.ReadAt(nb[pending:], filled)
		if m < n {
			if err == nil || err == io.EOF {
				// The file shrank under us (only a crash-recovery
				// truncate does that); what is left is all there is.
				s.end = filled + int64(m)
			} else {
				return nil, 0, err
			}
		}
		s.buf = nb[:pending+m]
		s.off = s.pos()
		s.i = 0
	}
}

// bwdScanner yields the complete records in [start, pos) newest first.
// Returned lines alias its buffer and are valid until the next call.
type bwdScanner struct {
	r     io.ReaderAt
	start int64  // offset of the first record
	off   int64  // file offset of buf[0]
	buf   []byte // the file's bytes [off, pos)
	pos   int64  // record boundary: everything from here on has been returned
	chunk int
}

// newBwd starts at pos, which must be a record boundary.
func newBwd(r io.ReaderAt, start, pos int64) *bwdScanner {
	return &bwdScanner{r: r, start: start, off: pos, pos: pos, chunk: firstChunk}
}

// newBwdAligned starts at the last record boundary at or before end, so a
// record torn by a crash at the end of the file is ignored.
func newBwdAligned(r io.ReaderAt, start, end int64) (*bwdScanner, error) {
	s := newBwd(r, start, end)
	for {
		if j := bytes.LastIndexByte(s.buf, '\n'); j >= 0 {
			s.buf = s.buf[:j+1]
			s.pos = s.off + int64(j+1)
			return s, nil
		}
		if s.off <= s.start {
			s.buf = s.buf[:0]
			s.pos = s.start
			return s, nil
		}
		if err := s.load(); err != nil {
			return nil, err
		}
	}
}

// prev returns the record ending just before pos, without its '\n', and
// the offset it starts at, or io.EOF at the first record.
func (s *bwdScanner) prev() ([]byte, int64, error) {
	for {
		if s.pos <= s.start {
			return nil, 0, io.EOF
		}
		if n := len(s.buf); n > 0 {
			// buf[n-1] is the '\n' that ends the record.
			if j := bytes.LastIndexByte(s.buf[:n-1], '\n'); j >= 0 {
				line := s.buf[j+1 : n-1]
				s.buf = s.buf[:j+1]
				s.pos = s.off + int64(j+1)
				return line, s.pos, nil
			}
			if s.off <= s.start {
				line := s.buf[:n-1]
				s.buf = s.buf[:0]
				s.pos = s.start
				return line, s.pos, nil
			}
		}
		if err := s.load(); err != nil {
			return nil, 0, err
		}
	}
}

// load prepends the chunk before off to buf.
func (s *bwdScanner) load() error {
	if len(s.buf) > maxRecordBytes {
		return fmt.Errorf("%w: record before offset %d too long", errCorrupt, s.pos)
	}
	n := int(min(int64(s.chunk), s.off-s.start))
	s.chunk = min(2*s.chunk, lastChunk)
	nb := make([]byte, n+len(s.buf))
	if _, err := s.r.ReadAt(nb[:n], s.off-int64(n)); err != nil {
		if err == io.EOF {
			return fmt.Errorf("%w: file shorter than expected", errCorrupt)
		}
		return err
	}
	copy(nb[n:], s.buf)
	s.buf = nb
	s.off -= int64(n)
	return nil
}
