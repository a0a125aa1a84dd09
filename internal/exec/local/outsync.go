package local

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"os"
	"sync"
)

// outputPipe is one of a process's output pipes, read by the drain, with barge's own write end
// kept open while the process runs: barge can put a mark behind whatever the process wrote and
// learn when the drain has delivered everything before it (SyncOutput). Marks never reach the
// process's writer.
type outputPipe struct {
	w *os.File // barge's write end; closed once the process is gone

	mu    sync.Mutex
	marks []*outputMark // written into the pipe, not yet passed, in order
}

type outputMark struct {
	token  []byte
	passed chan struct{}
}

// copy delivers r to dst until EOF, cutting the marks out as it passes them.
func (op *outputPipe) copy(dst io.Writer, r io.Reader) {
	buf := make([]byte, 32<<10)
	var held []byte // the end of the data so far, which may be the start of a mark
	for {
		n, err := r.Read(buf)
		if n > 0 {
			data := buf[:n]
			if len(held) > 0 {
				data = append(held, data...)
			}
			held = op.deliver(dst, data)
		}
		if err != nil {
			if len(held) > 0 {
				dst.Write(held)
			}
			op.mu.Lock()
			for _, m := range op.marks { // the process is gone: nothing more will come
				close(m.passed)
			}
			op.marks = nil
			op.mu.Unlock()
			return
		}
	}
}

// deliver writes data to dst up to and around the pending marks, and returns (a copy of) a
// tail that could be the beginning of the next mark, held back until more data comes.
func (op *outputPipe) deliver(dst io.Writer, data []byte) []byte {
	for {
		op.mu.Lock()
		var m *outputMark
		if len(op.marks) > 0 {
			m = op.marks[0]
		}
		op.mu.Unlock()
		if m == nil {
			dst.Write(data)
			return nil
		}
		i := bytes.Index(data, m.token)
		if i < 0 {
			k := overlap(data, m.token)
			dst.Write(data[:len(data)-k])
			return append([]byte(nil), data[len(data)-k:]...)
		}
		if i > 0 {
			dst.Write(data[:i])
		}
		op.mu.Lock()
		op.marks = op.marks[1:]
		op.mu.Unlock()
		close(m.passed)
		data = data[i+len(m.token):]
	}
}

// overlap is the length of the longest end of data that begins token.
func overlap(data, token []byte) int {
	for k := min(len(data), len(token)-1); k > 0; k-- {
		if bytes.Equal(data[len(data)-k:], token[:k]) {
			return k
		}
	}
	return 0
}

// mark puts a new mark into the pipe, behind everything written so far, and returns the channel
// closed once the drain has passed it (or the mark could not be written). A mark is shorter
// than PIPE_BUF, so it is written whole; the write may wait for room in a full pipe, so it is
// not waited for here.
func (op *outputPipe) mark() <-chan struct{} {
	var nonce [16]byte
	rand.Read(nonce[:])
	m := &outputMark{token: []byte("\x00barge-mark-" + hex.EncodeToString(nonce[:]) + "\x00"), passed: make(chan struct{})}
	op.mu.Lock()
	op.marks = append(op.marks, m)
	op.mu.Unlock()
	go func() {
		if _, err := op.w.Write(m.token); err != nil {
			op.mu.Lock()
			for i, x := range op.marks {
				if x == m {
					op.marks = append(op.marks[:i], op.marks[i+1:]...)
					close(m.passed)
					break
				}
			}
			op.mu.Unlock()
		}
	}()
	return m.passed
}

// SyncOutput implements exec.OutputSyncer: it returns once everything the process wrote to
// stdout and stderr before the call has reached their writers, or when ctx ends.
func (p *process) SyncOutput(ctx context.Context) error {
	p.syncMu.Lock() // one sync at a time keeps a flood of marks out of a busy pipe
	defer p.syncMu.Unlock()
	var waits []<-chan struct{}
	for _, op := range p.pipes {
		waits = append(waits, op.mark())
	}
	for _, w := range waits {
		select {
		case <-w:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// closeWriters gives up barge's write ends, once the process is gone, so that the drain sees
// the end of its output.
func (p *process) closeWriters() {
	for _, op := range p.pipes {
		op.w.Close()
	}
}
