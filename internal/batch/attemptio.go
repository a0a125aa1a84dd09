package batch

import (
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/barge-run/barge/internal/logs"
)

// lazyLog is an attempt's log stream, created on its first byte of output: as in CloudWatch, a
// job that prints nothing has no stream, and a silent job costs no file.
type lazyLog struct {
	mu                     sync.Mutex
	store                  *logs.Store
	account, group, stream string
	first                  *logs.Writer
	err                    error
}

// writer returns one of the attempt's outputs (stdout or stderr); each gets its own writer onto
// the shared stream, so their lines never mix.
func (l *lazyLog) writer() *lazyWriter { return &lazyWriter{l: l} }

type lazyWriter struct {
	l *lazyLog
	w *logs.Writer
}

func (lw *lazyWriter) Write(p []byte) (int, error) {
	if lw.w == nil {
		l := lw.l
		l.mu.Lock()
		switch {
		case l.err != nil:
		case l.first == nil:
			l.first, l.err = l.store.Create(l.account, l.group, l.stream)
			lw.w = l.first
		default:
			lw.w = l.first.Sibling()
		}
		err := l.err
		l.mu.Unlock()
		if err != nil {
			// Keep draining the pipe so the job is not blocked or killed by its own output.
			return len(p), nil
		}
	}
	return lw.w.Write(p)
}

func (lw *lazyWriter) Close() error {
	if lw.w == nil {
		return nil
	}
	return lw.w.Close()
}

// workDirs hands out attempt working directories and takes back the ones an attempt left
// empty for reuse: creating a directory is a surprisingly large part of a short job's cost on
// some filesystems, and most jobs never write to theirs.
type workDirs struct {
	root string
	free chan string
	seq  atomic.Int64
}

func newWorkDirs(root string) *workDirs {
	return &workDirs{root: root, free: make(chan string, 512)}
}

func (w *workDirs) take() (string, error) {
	select {
	case d := <-w.free:
		return d, nil
	default:
	}
	d := filepath.Join(w.root, "a"+strconv.FormatInt(w.seq.Add(1), 36))
	err := os.Mkdir(d, 0o700)
	if os.IsNotExist(err) {
		err = os.MkdirAll(d, 0o700)
	}
	return d, err
}

// give takes a directory back. Only an empty directory, reset to mode 0700, is reused, so no
// attempt ever sees what another left behind.
func (w *workDirs) give(d string) {
	if f, err := os.Open(d); err == nil {
		names, _ := f.Readdirnames(1)
		f.Close()
		if len(names) == 0 && os.Chmod(d, 0o700) == nil {
			select {
			case w.free <- d:
				return
			default:
			}
		}
	}
	os.RemoveAll(d)
}
