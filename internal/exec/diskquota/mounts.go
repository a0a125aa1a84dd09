//go:build linux

package diskquota

import (
	"errors"
	"fmt"
	"sync"

	"golang.org/x/sys/unix"
)

// mountTable is this process's mount table, kept parsed. Reading /proc/self/mountinfo costs
// tens of microseconds, and Release checks it every time; but an open mountinfo file reports
// POLLPRI once the namespace's mounts changed since it last said so (the kernel compares a
// per-namespace event count, bumped by every mount, unmount and propagation into it), so the
// table is read again only then, and otherwise a check costs one poll. The namespace is the
// one the process was in when the table was first read.
var mountTable = mountWatch{fd: -1}

type mountWatch struct {
	mu     sync.Mutex
	fd     int // /proc/self/mountinfo, open for the process's lifetime; -1 before first use
	mounts []mountEntry
	valid  bool // mounts is the table as of the last event seen
	buf    []byte
}

func (w *mountWatch) get() ([]mountEntry, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.fd < 0 {
		fd, err := unix.Open("/proc/self/mountinfo", unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			return nil, fmt.Errorf("read mountinfo: %w", err)
		}
		w.fd = fd
		return w.reread()
	}
	// The poll consumes the event: the table must then be read again whatever happens.
	fds := []unix.PollFd{{Fd: int32(w.fd), Events: unix.POLLPRI}}
	if n, err := unix.Poll(fds, 0); err != nil || !w.valid || (n > 0 && fds[0].Revents&(unix.POLLPRI|unix.POLLERR) != 0) {
		return w.reread()
	}
	return w.mounts, nil
}

// reread reads the whole table from the start and parses it. On an error the table is
// forgotten, so the next call reads it again.
func (w *mountWatch) reread() ([]mountEntry, error) {
	w.mounts, w.valid = nil, false
	if _, err := unix.Seek(w.fd, 0, 0); err != nil {
		return nil, fmt.Errorf("read mountinfo: %w", err)
	}
	w.buf = w.buf[:0]
	for {
		if len(w.buf) == cap(w.buf) {
			w.buf = append(w.buf, make([]byte, max(64<<10, cap(w.buf)))...)[:len(w.buf)]
		}
		n, err := unix.Read(w.fd, w.buf[len(w.buf):cap(w.buf)])
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("read mountinfo: %w", err)
		}
		if n == 0 {
			break
		}
		w.buf = w.buf[:len(w.buf)+n]
	}
	mounts, err := parseMounts(w.buf)
	if err != nil {
		return nil, err
	}
	w.mounts, w.valid = mounts, true
	return mounts, nil
}
