package logs

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

const (
	dirPerm  = 0o750
	filePerm = 0o640
)

// Store keeps log streams as append-only files under a directory, one per
// (account, group, stream). A directory must be used by one Store at a
// time: readers trust the Store's in-memory record of how much of a file
// its writers have finished.
type Store struct {
	root *os.Root
	// dir is root's path. Creating a stream is on every job's start path, and os.Root walks
	// each path component with its own openat; stream paths are built only from escaped names
	// (streamPath), so the hot path joins them to dir directly. Reads keep going through root.
	dir string
	// dirs caches the directories known to exist.
	dirs sync.Map
	now  func() time.Time
	// limit caps the bytes of one stream (SetLimit); 0: none.
	limit atomic.Int64
	// hook hears of stored events (SetAppendHook): subscription filters.
	hook atomic.Pointer[AppendHook]
	// ret caches groups' retention.
	ret retentions

	// mu orders stream creation, deletion, the last Close of a stream and
	// the start of every read, so a reader never opens a file that is
	// being created or pairs one file with another's write progress.
	// Lock order: mu, then stream.mu.
	mu     sync.Mutex
	active map[string]*stream // keyed by path relative to root
	// creating holds a channel per stream whose file is being created or opened outside mu
	// (file I/O under mu would serialise every job start); it closes when that is done.
	creating map[string]chan struct{}
	// empty holds each group's index of streams reserved without a file (empty.go), by group
	// path.
	empty map[string]*emptyIndex
}

// Open returns a Store keeping its streams under dir, creating dir if
// needed. now supplies event timestamps; nil means time.Now.
func Open(dir string, now func() time.Time) (*Store, error) {
	if now == nil {
		now = time.Now
	}
	if err := os.MkdirAll(dir, dirPerm); err != nil {
		return nil, fmt.Errorf("logs: %w", err)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("logs: %w", err)
	}
	return &Store{root: root, dir: dir, now: now, active: make(map[string]*stream), creating: make(map[string]chan struct{}),
		empty: make(map[string]*emptyIndex)}, nil
}

// SetLimit caps every stream at n bytes from now on (barge's --log-limit): past it one last event
// says so and later output is dropped. 0 removes the cap.
func (s *Store) SetLimit(n int64) { s.limit.Store(n) }

// AppendHook hears of events as they are stored. Wants is asked first, on every write, so it
// must be cheap; Appended runs under the stream's lock and must not block.
type AppendHook interface {
	Wants(account, group string) bool
	Appended(account, group, stream string, events []Event)
}

// SetAppendHook installs h (subscription filters' delivery).
func (s *Store) SetAppendHook(h AppendHook) { s.hook.Store(&h) }

// notify tells the hook, if it wants them, of events just stored in a stream.
func (s *Store) notify(hdr *header, events func() []Event) {
	if h := s.hook.Load(); h != nil && (*h).Wants(hdr.account, hdr.group) {
		(*h).Appended(hdr.account, hdr.group, hdr.stream, events())
	}
}

// Close releases the store's handle on its directory. Writers already
// created keep working; everything else fails afterwards.
func (s *Store) Close() error {
	s.mu.Lock()
	err := s.closeEmpty()
	s.mu.Unlock()
	return errors.Join(err, s.root.Close())
}

func groupPath(account, group string) string {
	return filepath.Join(escapeName(account), escapeName(group))
}

func streamPath(account, group, stream string) string {
	return filepath.Join(groupPath(account, group), escapeName(stream)+fileSuffix)
}

func groupNotFound(group string) error {
	return fmt.Errorf("log group %q: %w", group, ErrNotFound)
}

func streamNotFound(group, stream string) error {
	return fmt.Errorf("log stream %q in log group %q: %w", stream, group, ErrNotFound)
}

// Create opens the stream for appending, creating it (and its group) if
// needed, and returns a Writer that turns lines into events; see [Writer].
// Creating a stream that already has open writers returns another writer
// on the same stream, as [Writer.Sibling] does.
func (s *Store) Create(account, group, stream string) (*Writer, error) {
	return s.createWith(account, group, stream, nil)
}

// createWith is Create giving a new file the header reserved (Reserve), when there is one.
func (s *Store) createWith(account, group, stream string, reserved *header) (*Writer, error) {
	p := streamPath(account, group, stream)
	for {
		s.mu.Lock()
		if st := s.active[p]; st != nil {
			st.mu.Lock()
			st.refs++
			st.mu.Unlock()
			s.mu.Unlock()
			return &Writer{st: st}, nil
		}
		wait, busy := s.creating[p]
		if !busy {
			break // still holding mu
		}
		s.mu.Unlock()
		<-wait
	}
	done := make(chan struct{})
	s.creating[p] = done
	s.mu.Unlock()

	st, err := s.openStream(account, group, stream, p, reserved)

	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.creating, p)
	close(done)
	if err != nil {
		return nil, fmt.Errorf("logs: create log stream %q in log group %q: %w", stream, group, err)
	}
	s.active[p] = st
	return &Writer{st: st}, nil
}

// openStream opens or creates the file for appending, outside s.mu (Create marks the path as
// being created meanwhile).
//
// A new stream's file is made whole before it is named: its header is written to an unnamed
// file (O_TMPFILE) that is then linked into place, so no reader, and no restart after a crash,
// ever finds a stream file without a header. That is one directory update and no second open on
// every job's start path; where the filesystem has no O_TMPFILE the header goes to a named
// temporary file that is renamed into place.
func (s *Store) openStream(account, group, name, p string, reserved *header) (*stream, error) {
	st := &stream{store: s, path: p, refs: 1, lastTS: minTimestamp}
	full := filepath.Join(s.dir, p)
	hdr := header{created: s.now().UnixMilli(), id: newID(), account: account, group: group, stream: name}
	if reserved != nil {
		hdr = *reserved
	}
	f, err := s.createFile(full, hdr.encode())
	if err == nil {
		st.hdr, st.f = hdr, f
		st.size.Store(hdr.size)
		return st, nil
	}
	if !errors.Is(err, fs.ErrExist) {
		return nil, err
	}
	// The stream exists (a restart, or a stream written before): append after what it holds.
	if f, err = os.OpenFile(full, os.O_RDWR|os.O_APPEND, 0); err != nil {
		return nil, err
	}
	if err := st.recover(f); err != nil {
		f.Close()
		return nil, err
	}
	st.f = f
	return st, nil
}

// ensureDir makes dir (and its parents) unless this Store made or saw it already.
func (s *Store) ensureDir(dir string) error {
	if _, ok := s.dirs.Load(dir); ok {
		return nil
	}
	if err := os.MkdirAll(dir, dirPerm); err != nil {
		return err
	}
	s.dirs.Store(dir, true)
	return nil
}

// createFile creates the file at path holding hdr, open for appending; fs.ErrExist when there is
// one already.
func (s *Store) createFile(path string, hdr []byte) (*os.File, error) {
	dir := filepath.Dir(path)
	if err := s.ensureDir(dir); err != nil {
		return nil, err
	}
	f, err := createLinked(dir, path, hdr)
	if errors.Is(err, fs.ErrNotExist) {
		// The directory went away behind the cache's back: make it again.
		s.dirs.Delete(dir)
		if err = os.MkdirAll(dir, dirPerm); err == nil {
			f, err = createLinked(dir, path, hdr)
		}
	}
	if errors.Is(err, errNoTmpfile) {
		f, err = createRenamed(dir, path, hdr)
	}
	return f, err
}

// errNoTmpfile: the filesystem cannot make unnamed files.
var errNoTmpfile = errors.New("no O_TMPFILE")

// createLinked writes hdr to an unnamed file in dir and links it at path.
func createLinked(dir, path string, hdr []byte) (*os.File, error) {
	fd, err := unix.Open(dir, unix.O_TMPFILE|unix.O_RDWR|unix.O_APPEND|unix.O_CLOEXEC, filePerm)
	switch {
	case errors.Is(err, unix.EOPNOTSUPP) || errors.Is(err, unix.EISDIR) || errors.Is(err, unix.EINVAL):
		return nil, errNoTmpfile
	case err != nil:
		return nil, &fs.PathError{Op: "open", Path: dir, Err: err}
	}
	f := os.NewFile(uintptr(fd), path)
	if _, err := f.Write(hdr); err != nil {
		f.Close()
		return nil, err
	}
	// Linking a descriptor by its /proc path needs no privilege (AT_EMPTY_PATH would).
	if err := unix.Linkat(unix.AT_FDCWD, "/proc/self/fd/"+strconv.Itoa(fd), unix.AT_FDCWD, path, unix.AT_SYMLINK_FOLLOW); err != nil {
		f.Close()
		if errors.Is(err, unix.ENOENT) {
			if _, statErr := os.Stat("/proc/self/fd"); statErr != nil {
				return nil, errNoTmpfile // no /proc to name the descriptor by
			}
		}
		return nil, &fs.PathError{Op: "link", Path: path, Err: err}
	}
	return f, nil
}

// createRenamed writes hdr to a named temporary file in dir and renames it to path, unless path
// exists.
func createRenamed(dir, path string, hdr []byte) (*os.File, error) {
	tmp := filepath.Join(dir, ".tmp-"+newID())
	if err := os.WriteFile(tmp, hdr, filePerm); err != nil {
		os.Remove(tmp)
		return nil, err
	}
	defer os.Remove(tmp) // left only when the link below fails
	// A hard link, not a rename, so that an existing stream is never replaced.
	if err := os.Link(tmp, path); err != nil {
		return nil, err
	}
	return os.OpenFile(path, os.O_RDWR|os.O_APPEND, 0)
}

func newID() string {
	var b [8]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// DeleteStream removes the stream and its events. Writers still open on it
// keep accepting output, which goes nowhere: a job whose log stream was
// deleted should not fail for it. A later Create starts a new stream.
func (s *Store) DeleteStream(account, group, stream string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := s.root.Stat(groupPath(account, group)); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return groupNotFound(group)
		}
		return fmt.Errorf("logs: %w", err)
	}
	p := streamPath(account, group, stream)
	removeErr := s.root.Remove(p)
	if removeErr != nil && !errors.Is(removeErr, fs.ErrNotExist) {
		return fmt.Errorf("logs: delete log stream %q in log group %q: %w", stream, group, removeErr)
	}
	// A reservation too, or the stream would come back empty.
	wasReserved, err := s.unreserve(account, group, stream)
	if err != nil {
		return err
	}
	if removeErr != nil && !wasReserved {
		return streamNotFound(group, stream)
	}
	delete(s.active, p)
	return nil
}

// reader is one read-only view of a stream file, fixed at the moment it
// was opened: records appended later are not visible through it.
type reader struct {
	f     *os.File
	hdr   header
	start int64 // offset of the first record
	end   int64 // offset just after the last complete record
}

func (r *reader) Close() error {
	if r.f == nil {
		return nil // a reserved stream's (emptyReader)
	}
	return r.f.Close()
}

// openReader opens the stream for reading.
func (s *Store) openReader(account, group, stream string) (*reader, error) {
	r, err := s.openReaderPath(streamPath(account, group, stream))
	if errors.Is(err, fs.ErrNotExist) {
		hdr, err := s.withoutFile(account, group, stream)
		if err != nil {
			return nil, err
		}
		return emptyReader(hdr), nil
	}
	if err != nil {
		return nil, fmt.Errorf("logs: log stream %q in log group %q: %w", stream, group, err)
	}
	return r, nil
}

func (s *Store) openReaderPath(p string) (*reader, error) {
	s.mu.Lock()
	f, err := s.root.Open(p)
	var hdr header
	end := int64(-1)
	if st := s.active[p]; st != nil && err == nil {
		// Only what the writer has finished writing: a write in
		// progress may already be partly visible in the file.
		hdr, end = st.hdr, st.size.Load()
	}
	s.mu.Unlock()
	if err != nil {
		return nil, err
	}
	r := &reader{f: f, hdr: hdr, start: hdr.size, end: end}
	if end < 0 {
		if err := r.initIdle(); err != nil {
			f.Close()
			return nil, err
		}
	}
	return r, nil
}

// initIdle reads the header and finds the end of the last complete record
// of a file nobody is writing to.
func (r *reader) initIdle() error {
	hdr, err := readHeader(r.f)
	if err != nil {
		return err
	}
	fi, err := r.f.Stat()
	if err != nil {
		return err
	}
	r.hdr, r.start = hdr, hdr.size
	sc, err := newBwdAligned(r.f, r.start, max(fi.Size(), r.start))
	if err != nil {
		return err
	}
	r.end = sc.pos
	return nil
}

func readHeader(f io.ReaderAt) (header, error) {
	buf := make([]byte, firstChunk)
	for {
		n, err := f.ReadAt(buf, 0)
		hdr, perr := parseHeader(buf[:n])
		if perr == nil || n < len(buf) || len(buf) >= maxRecordBytes || bytes.IndexByte(buf, '\n') >= 0 {
			if perr != nil && err != nil && err != io.EOF {
				return header{}, err
			}
			return hdr, perr
		}
		buf = make([]byte, 4*len(buf))
	}
}
