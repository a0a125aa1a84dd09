package logs

// Streams with no events yet. CloudWatch has a job's log stream from its container's start,
// whether the job prints or not, and most short jobs print nothing: a file for each such stream
// costs an inode each (0.2–0.7 ms of CPU on an ext4 of the 2-core test machine, the largest part
// of what the engine does per job; a million for a million-child array). A reserved stream is
// instead one line in its group's index of empty streams; its first event makes it a file, with
// the header the reservation gave it, so tokens and its creation time do not change.
//
// The index is append-only: a reservation is the stream's header line, a deletion
// "deleted stream=<name>". The Store is the only writer of its directory, so once loaded the
// index is kept in memory and updated with every line written; it is loaded by the first reader
// of the group (a reservation alone only appends).

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// emptyIndexName is the index's file in its group's directory: it lacks fileSuffix, so it is
// never listed or counted as a stream.
const emptyIndexName = ".empty-streams"

// deletedPrefix starts an index line that cancels a reservation.
const deletedPrefix = "deleted stream="

// emptyIndex is one group's index of reserved streams.
type emptyIndex struct {
	f *os.File // open for appending; nil until the first line this process writes
	// names are the reservations not cancelled, by stream name; nil until loaded. A stream that
	// has a file since is still here: its file wins wherever both are seen.
	names map[string]header
}

// Reserve makes the stream exist with no events and no file, and returns its header (the one
// its file will have); nothing is written when the stream is open already, or reserved and the
// group's index loaded. The index is neither compacted nor loaded here: reserving costs one
// write, and readers load it once (for a million empty streams, about 130 MB read where files
// would have taken a million inodes and 4 GB of blocks).
func (s *Store) Reserve(account, group, stream string) (header, error) {
	hdr := header{created: s.now().UnixMilli(), id: newID(), account: account, group: group, stream: stream}
	line := hdr.encode()
	s.mu.Lock()
	defer s.mu.Unlock()
	if st := s.active[streamPath(account, group, stream)]; st != nil {
		return st.hdr, nil
	}
	gp := groupPath(account, group)
	idx := s.emptyIndexOf(gp)
	if old, ok := idx.names[stream]; ok {
		return old, nil // reserved already (an attempt taken back after a restart)
	}
	if err := s.appendEmpty(gp, idx, line); err != nil {
		return header{}, fmt.Errorf("logs: create log stream %q in log group %q: %w", stream, group, err)
	}
	if idx.names != nil { // loaded: kept up to date
		idx.names[stream] = hdr
	}
	return hdr, nil
}

// appendEmpty writes one line to idx, group gp's index, creating the group's directory and the
// index file as needed. s.mu must be held.
func (s *Store) appendEmpty(gp string, idx *emptyIndex, line []byte) error {
	if idx.f == nil {
		dir := filepath.Join(s.dir, gp)
		if err := s.ensureDir(dir); err != nil {
			return err
		}
		f, err := os.OpenFile(filepath.Join(dir, emptyIndexName), os.O_WRONLY|os.O_APPEND|os.O_CREATE, filePerm)
		if err != nil {
			return err
		}
		idx.f = f
	}
	// One write(2) per line, so a crash leaves at most a torn last line, which loading skips.
	_, err := idx.f.Write(line)
	return err
}

// emptyIndexOf returns the group's index, made on first use. s.mu must be held.
func (s *Store) emptyIndexOf(gp string) *emptyIndex {
	idx := s.empty[gp]
	if idx == nil {
		idx = &emptyIndex{}
		s.empty[gp] = idx
	}
	return idx
}

// withoutFile resolves a stream that has no file: its reservation, or the error that its group
// or it does not exist.
func (s *Store) withoutFile(account, group, stream string) (header, error) {
	if _, err := s.root.Stat(groupPath(account, group)); errors.Is(err, fs.ErrNotExist) {
		return header{}, groupNotFound(group)
	}
	s.mu.Lock()
	hdr, ok, err := s.reserved(account, group, stream)
	s.mu.Unlock()
	switch {
	case err != nil:
		return header{}, err
	case !ok:
		return header{}, streamNotFound(group, stream)
	}
	return hdr, nil
}

// reserved returns the stream's reservation, if it has one not cancelled. s.mu must be held.
func (s *Store) reserved(account, group, stream string) (header, bool, error) {
	names, err := s.emptyNames(account, group)
	if err != nil {
		return header{}, false, err
	}
	hdr, ok := names[stream]
	return hdr, ok, nil
}

// emptyNames returns the group's reservations, loading its index on first use. s.mu must be
// held; the map must not be changed by the caller.
func (s *Store) emptyNames(account, group string) (map[string]header, error) {
	gp := groupPath(account, group)
	idx := s.emptyIndexOf(gp)
	if idx.names != nil {
		return idx.names, nil
	}
	names, err := loadEmpty(filepath.Join(s.dir, gp, emptyIndexName))
	if err != nil {
		return nil, fmt.Errorf("logs: log group %q: %w", group, err)
	}
	idx.names = names
	return names, nil
}

// loadEmpty reads an index; none is an empty one.
func loadEmpty(path string) (map[string]header, error) {
	names := map[string]header{}
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return names, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r := bufio.NewReader(f)
	for {
		line, err := r.ReadString('\n')
		if err == io.EOF {
			return names, nil // a last line without its '\n' was torn by a crash: never used
		}
		if err != nil {
			return nil, err
		}
		if rest, ok := strings.CutPrefix(line, deletedPrefix); ok {
			if name, ok := unescapeBytes(strings.TrimSuffix(rest, "\n")); ok {
				delete(names, name)
			}
			continue
		}
		if hdr, err := parseHeader([]byte(line)); err == nil {
			names[hdr.stream] = hdr
		}
	}
}

// unreserve cancels the stream's reservation; false when it had none. s.mu must be held.
func (s *Store) unreserve(account, group, stream string) (bool, error) {
	names, err := s.emptyNames(account, group)
	if err != nil {
		return false, err
	}
	if _, ok := names[stream]; !ok {
		return false, nil
	}
	gp := groupPath(account, group)
	if err := s.appendEmpty(gp, s.emptyIndexOf(gp), []byte(deletedPrefix+escapeBytes(stream)+"\n")); err != nil {
		return false, fmt.Errorf("logs: delete log stream %q in log group %q: %w", stream, group, err)
	}
	delete(names, stream)
	return true, nil
}

// forgetEmpty drops what is known of the group's index (the group is gone). s.mu must be held.
func (s *Store) forgetEmpty(gp string) {
	if idx := s.empty[gp]; idx != nil && idx.f != nil {
		idx.f.Close()
	}
	delete(s.empty, gp)
}

// closeEmpty closes every index. s.mu must be held.
func (s *Store) closeEmpty() error {
	var errs []error
	for gp, idx := range s.empty {
		if idx.f != nil {
			errs = append(errs, idx.f.Close())
		}
		delete(s.empty, gp)
	}
	return errors.Join(errs...)
}

// emptyReader reads a reserved stream: no events, and the offsets its file will have.
func emptyReader(hdr header) *reader {
	hdr.encode() // sets size
	return &reader{hdr: hdr, start: hdr.size, end: hdr.size}
}
