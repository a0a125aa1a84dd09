//go:build linux

package diskquota

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// boundID: dir must carry a project the area's pool handed out (the inherit flag and the rest
// of its fsxattr are compared with a new directory's by look).
func (p *projectQuota) boundID(dir *os.File) (uint64, error) {
	id, err := p.projectOf(dir)
	if err != nil {
		return 0, err
	}
	if id < firstProjectID || !p.ids.holds(id) {
		return 0, fmt.Errorf("%s is in project %d, not one of the area's: %w", dir.Name(), id, errNotReusable)
	}
	return uint64(id), nil
}

// nested: only a look at each directory below tells whether one is in a project other than its
// parent's: a bound of its own (Limit), or a job's way out of its bound. Either way the tree
// is then removed as Release always did, which forgets the projects Limit gave.
func (p *projectQuota) nested(*os.File, uint64) (visitFunc, error) { return p.refuseNested, nil }

func (p *projectQuota) refuseNested(parent, dir *os.File) error {
	pid, err := p.projectOf(parent)
	if err != nil {
		return err
	}
	id, err := p.projectOf(dir)
	if err != nil {
		return err
	}
	if id != pid {
		return fmt.Errorf("%s is in project %d, not %d: %w", dir.Name(), id, pid, errNotReusable)
	}
	return nil
}

// unlimit does nothing: ext4 and xfs delete under a full bound.
func (p *projectQuota) unlimit(uint64) {}

// settled: the directory is empty and its project charges nothing but the directory itself,
// one inode and its own blocks. The kernel uncharges an unlinked file at once unless something
// still holds it open: then it stays charged, and the directory parked.
func (p *projectQuota) settled(root *os.File, name string, id uint64, _ int64) error {
	dir, err := openDirAt(root, name)
	if err != nil {
		return err
	}
	defer dir.Close()
	if err := isEmpty(dir); err != nil {
		return err
	}
	var st unix.Stat_t
	if err := withFd(dir, func(fd uintptr) error { return unix.Fstat(int(fd), &st) }); err != nil {
		return err
	}
	q, err := p.usage(uint32(id))
	if err != nil {
		return err
	}
	if q.Curinodes != 1 || q.Curspace != uint64(st.Blocks)*512 {
		return fmt.Errorf("project %d still charged %d inodes, %d bytes: %w", id, q.Curinodes, q.Curspace, errNotYet)
	}
	return nil
}

func (p *projectQuota) relimit(id uint64, bytes int64) error { return p.setLimit(uint32(id), bytes) }

// epoch: none; a parked directory waits only for files held open, closed at any time.
func (p *projectQuota) epoch() (uint64, bool) { return 0, false }

func (p *projectQuota) closeReuse() {}

// holds reports whether the pool handed id out and has not had it back.
func (p *idPool) holds(id uint32) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.taken[id]
}
