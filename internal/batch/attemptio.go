package batch

import (
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"
)

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
	for {
		d := filepath.Join(w.root, "a"+strconv.FormatInt(w.seq.Add(1), 36))
		err := os.Mkdir(d, 0o700)
		if os.IsNotExist(err) {
			err = os.MkdirAll(d, 0o700)
		}
		// A directory an earlier engine left (its attempt outlived it) is never shared.
		if !os.IsExist(err) {
			return d, err
		}
	}
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
