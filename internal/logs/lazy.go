package logs

import (
	"errors"
	"io/fs"
	"sync"
	"time"
)

// retryCreate is how often a Lazy whose stream could not be created tries again while output
// keeps coming.
const retryCreate = time.Second

// Lazy is a log stream created on its first byte of output: as in CloudWatch, a job that prints
// nothing has no stream, and a silent job costs no file. When the stream cannot be created (the
// disk is full), output is counted as lost and creation is tried again as output keeps coming;
// the stream, once created, starts with an event saying how much was lost.
type Lazy struct {
	store                  *Store
	account, group, stream string

	mu sync.Mutex
	// holder keeps the stream open, once created, until every LazyWriter is closed: a source
	// that writes its first byte after another closed still finds the stream open.
	holder   *Writer
	created  bool
	reserved *header // Open reserved the stream (Reserve): its file, when made, has this header
	open     int     // LazyWriters not closed yet
	lost     int64   // bytes written before the stream existed
	lostErr  error
	lastTry  time.Time
	unstored *LostError // what the stream's last Close could not report
}

// Lazy returns the stream (account, group, stream), to be created on its first output.
func (s *Store) Lazy(account, group, stream string) *Lazy {
	return &Lazy{store: s, account: account, group: group, stream: stream}
}

// Writer returns a writer of its own onto the stream (its own incomplete line, as
// [Writer.Sibling] gives), for one source such as a process's stdout.
func (l *Lazy) Writer() *LazyWriter {
	l.mu.Lock()
	l.open++
	l.mu.Unlock()
	return &LazyWriter{l: l}
}

// Lost is how much output could be neither stored nor reported in the stream, once every
// writer is closed; nil when everything was stored or reported.
func (l *Lazy) Lost() *LostError {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.unstored == nil && !l.created && l.lost > 0 {
		return &LostError{Bytes: l.lost, Err: l.lostErr}
	}
	return l.unstored
}

// writer returns a Writer on the stream, creating the stream if it must; nil when it cannot
// (yet), having counted n bytes as lost.
func (l *Lazy) writer(n int) *Writer {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.holder != nil {
		return l.holder.Sibling()
	}
	now := l.store.now()
	if l.lostErr == nil || now.Sub(l.lastTry) >= retryCreate {
		l.lastTry = now
		w, err := l.store.createWith(l.account, l.group, l.stream, l.reserved)
		if err == nil {
			if l.lost > 0 {
				w.st.noteLost(l.lost, l.lostErr)
			}
			l.holder, l.created = w, true
			return w.Sibling()
		}
		l.lostErr = err
	}
	l.lost += int64(n)
	return nil
}

// Open makes the stream exist now, as CloudWatch has a job's stream from its container's start:
// an attempt that prints nothing has a stream with no events. It is reserved (Reserve), not
// created: a file is made at the first output. If it cannot be reserved (the disk is full), the
// first output tries to create it.
func (l *Lazy) Open() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.holder != nil || l.created || l.reserved != nil {
		return
	}
	hdr, err := l.store.Reserve(l.account, l.group, l.stream)
	if err != nil {
		l.lostErr, l.lastTry = err, l.store.now()
		return
	}
	l.reserved = &hdr
}

// closed records that a LazyWriter closed; after the last, the stream is released, storing
// the notice of lost output if it can.
func (l *Lazy) closed() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.open--
	if l.open > 0 || l.holder == nil {
		return nil
	}
	err := l.holder.Close()
	l.holder = nil
	var le *LostError
	if errors.As(err, &le) {
		l.unstored = le
	}
	return err
}

// LazyWriter is one source's writer onto a Lazy stream.
type LazyWriter struct {
	l    *Lazy
	mu   sync.Mutex
	w    *Writer
	done bool // closed
}

// Write stores p's lines as [Writer.Write] does, creating the stream first if need be. It never
// fails: output that cannot be stored is counted, so the process writing it is never blocked
// by its own output.
func (lw *LazyWriter) Write(p []byte) (int, error) {
	lw.mu.Lock()
	defer lw.mu.Unlock()
	if lw.done {
		return 0, fs.ErrClosed
	}
	if lw.w == nil {
		if lw.w = lw.l.writer(len(p)); lw.w == nil {
			return len(p), nil
		}
	}
	lw.w.Write(p)
	return len(p), nil
}

// Close closes the writer; after the last, the stream stores the notice of lost output if it
// can. Closing again does nothing.
func (lw *LazyWriter) Close() error {
	lw.mu.Lock()
	defer lw.mu.Unlock()
	if lw.done {
		return nil
	}
	lw.done = true
	var err error
	if lw.w != nil {
		err = lw.w.Close()
	}
	return errors.Join(err, lw.l.closed())
}
