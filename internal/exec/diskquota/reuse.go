//go:build linux

package diskquota

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// Reuse of bounded directories. Making one costs a subvolume and two quota groups on btrfs, or
// a project id and a quota write with project quotas, and deleting it as much again plus the
// kernel's background work; most jobs write nothing. So Release empties a directory and, when
// nothing of its use can show, keeps it (parked) under a name of its own in the area root with
// its bound; Dir renames a parked one to the name asked for and sets its limit, one quota call.
//
// What the next user could see of the previous one, and how it is dealt with:
//   - contents: removed entry by entry; a directory that cannot be emptied is not kept.
//   - the directory's own state that its owner can change (look.go): owner and mode are reset;
//     anything else (inode flags, fsxattr, extended attributes and so ACLs, size) must match
//     a new directory's, else it is not kept. Times are set to now when it is handed out.
//   - the bound: set anew; handed out only once the previous use charges nothing more than a
//     new directory does (settled), so neither its data nor its old limit lingers.
//   - other bounds below it (Limit, or a job's own subvolumes): not kept.
//   - the btrfs subvolume's root item, which its owner can make read-only or stamp as
//     received: not kept unless as a new one's.
//   - files still open: a file unlinked while open stays charged (or, empty, could be written
//     later); settled waits for it to be closed, drainTimeout at most.
//   - identity stays: the inode, subvolume or project id, birth time, and on btrfs the inode
//     numbers new files get, which continue where the previous use stopped (btrfs keeps a
//     counter per subvolume). They say that the directory was used before, and roughly how
//     many files were made in it, not what they held; files made in a new directory's place
//     say as much of everyone's activity through ext4's shared inode allocator and btrfs's
//     shared subvolume ids.
//   - anything still holding a descriptor or cwd under the directory could reach the next
//     user: Release's caller must have ended whatever used it. barge's sandboxes are killed
//     first, and only ever see subdirectories, which are deleted: a process that outlived its
//     sandbox holds a dead directory, or an open file that keeps the directory parked.

const (
	// freeCap is how many emptied directories an area keeps; past it Release deletes them.
	freeCap = 256
	// parkPrefix starts the names of parked directories; Dir refuses names that start with it.
	parkPrefix = ".diskquota-free-"
	// drainTimeout: a parked directory whose previous use still shows this long after its
	// Release is deleted instead (a file someone still holds open in it, say).
	drainTimeout = 2 * time.Minute
	// scanDepth is how many parked directories one Dir looks at before it makes a new one,
	// and maxSkips how many it passes over as not settled at the last look.
	scanDepth, maxSkips = 3, 8
)

var (
	// errNotReusable rules a directory out of reuse: it is deleted instead.
	errNotReusable = errors.New("not reusable")
	// errNotYet: what the previous user freed is still charged to the bound; the kernel
	// accounts it later, so the directory stays parked.
	errNotYet = errors.New("previous use still charged")
)

// reuser is what an enforcer does for reuse.
type reuser interface {
	// boundID returns the id of dir's own bound: errNotReusable if it has none of the area's,
	// or the backend's state of it differs from a new directory's.
	boundID(dir *os.File) (uint64, error)
	// nested returns the visitor that emptying dir (bound id) needs, which fails with
	// errNotReusable on a directory below with a bound of its own; nil if the backend knows
	// there is none, errNotReusable if it knows there is one.
	nested(dir *os.File, id uint64) (visitFunc, error)
	// unlimit lifts bound id's limit, for filesystems that need quota room to delete.
	unlimit(id uint64)
	// settled: nil if the parked directory name in root is empty and charges its bound no
	// more than a new directory bounded to bytes would; errNotYet while the kernel has yet to
	// account what was freed.
	settled(root *os.File, name string, id uint64, bytes int64) error
	// relimit sets bound id's limit to bytes.
	relimit(id uint64, bytes int64) error
	// epoch changes whenever what is charged to parked directories may have: a directory
	// found not settled at one epoch is not looked at again within it. ok false: no such
	// count, look every time.
	epoch() (n uint64, ok bool)
	// closeReuse lets go of what the backend keeps open for reuse.
	closeReuse()
}

// parked is an emptied directory kept for reuse.
type parked struct {
	name  string    // in the area root
	id    uint64    // its bound: btrfs subvolume id, or project id
	since time.Time // its Release

	unsettled bool   // found not settled yet,
	at        uint64 // at this epoch
}

// freeList holds the parked directories, oldest first: they are the likeliest to be settled.
type freeList struct {
	mu      sync.Mutex
	dirs    []parked
	pending int // slots of directories being parked, or being looked at by a Dir
	cap     int

	seq     atomic.Uint64        // numbers parked names
	fresh   atomic.Pointer[look] // how a directory Dir made lately looked
	freshAt atomic.Int64         // when, in unix nanoseconds
	reused  atomic.Int64         // Dirs served by a parked directory (for tests and benchmarks)
}

// reserve takes a slot for a directory about to be parked, or reports the list full.
func (f *freeList) reserve() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.dirs)+f.pending >= f.cap {
		return false
	}
	f.pending++
	return true
}

// done gives back a slot that reserve or pop took, putting p at the end of the list if keep.
func (f *freeList) done(p parked, keep bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.pending--
	if keep {
		f.dirs = append(f.dirs, p)
	}
}

// pop takes the oldest parked directory off the list; its slot stays taken until done.
func (f *freeList) pop() (parked, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.dirs) == 0 {
		return parked{}, false
	}
	p := f.dirs[0]
	f.dirs = f.dirs[1:]
	f.pending++
	return p, true
}

func (f *freeList) len() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.dirs)
}

// clear forgets every parked directory (Sweep deletes them with everything else).
func (f *freeList) clear() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.dirs = nil
}

// noteFresh records how the directory name, just made by Dir, looks: parked directories must
// look the same before they are handed out. Once a second is often enough: only a change of
// the process's umask or of the area root's default ACL or set-group-id bit changes it.
func (a *Area) noteFresh(name string) {
	now := time.Now().UnixNano()
	if last := a.free.freshAt.Load(); a.free.fresh.Load() != nil && now-last < int64(time.Second) ||
		!a.free.freshAt.CompareAndSwap(last, now) {
		return
	}
	dir, err := openDirAt(a.rootF, name)
	if err != nil {
		return
	}
	defer dir.Close()
	if l, err := lookAt(dir); err == nil {
		a.free.fresh.Store(&l)
	}
}

// recycle empties the bounded directory name in parent and parks it, reporting whether it did.
// Only directories in the area root are parked, and only while the list has room; one that
// could not be emptied, holds another bound, or differs from a fresh one in anything its user
// could have set is left for Release to delete.
func (a *Area) recycle(parent *os.File, name string) bool {
	fresh := a.free.fresh.Load()
	if parent.Name() != a.root || fresh == nil || !a.free.reserve() {
		return false
	}
	p, err := a.park(parent, name, fresh)
	a.free.done(p, err == nil)
	return err == nil
}

func (a *Area) park(parent *os.File, name string, fresh *look) (parked, error) {
	dir, err := openDirAt(parent, name)
	if err != nil {
		return parked{}, err
	}
	defer dir.Close()
	id, err := a.enf.boundID(dir)
	if err != nil {
		return parked{}, err
	}
	visit, err := a.enf.nested(dir, id)
	if err != nil {
		return parked{}, err
	}
	clear := func() error {
		if err := emptyTree(dir, visit); err != nil {
			return err
		}
		return fresh.restore(dir)
	}
	err = clear()
	if errors.Is(err, unix.EDQUOT) {
		// btrfs needs quota room even to unlink, which a full bound refuses; Dir sets the
		// bound again when it hands the directory out.
		a.enf.unlimit(id)
		err = clear()
	}
	if err != nil {
		return parked{}, err
	}
	p := parked{name: fmt.Sprintf("%s%d", parkPrefix, a.free.seq.Add(1)), id: id, since: time.Now()}
	if err := renameNoReplace(parent, name, p.name); err != nil {
		return parked{}, err
	}
	return p, nil
}

// reuse gives a parked directory, the oldest settled one, the name and a bound of bytes,
// reporting whether it did (if not, Dir makes a new one). One not settled yet goes to the back
// of the list, and is looked at again only in a new epoch (on btrfs, after a commit): while
// bounds are too small for what jobs leave reserved, Dirs cost little more than without
// reuse. One past drainTimeout, or no longer fit, is deleted. A Dir looks at scanDepth
// directories at most, and skips maxSkips.
func (a *Area) reuse(name string, bytes int64) (bool, error) {
	var epoch uint64
	known := false
	for looks, pops := 0, 0; looks < scanDepth && pops < maxSkips; pops++ {
		p, ok := a.free.pop()
		if !ok {
			break
		}
		if p.unsettled {
			if !known {
				epoch, known = a.enf.epoch()
			}
			if known && epoch == p.at {
				a.free.done(p, true) // nothing changed since it was last looked at
				continue
			}
		}
		looks++
		err := a.take(p, name, bytes)
		switch {
		case err == nil:
			a.free.done(p, false)
			a.free.reused.Add(1)
			return true, nil
		case errors.Is(err, unix.EEXIST):
			a.free.done(p, true)
			return false, err
		case errors.Is(err, errNotYet) && time.Since(p.since) < drainTimeout:
			// The epoch is read after the look: one that began during it is missed, and
			// the directory waits for the next.
			p.unsettled = true
			p.at, _ = a.enf.epoch()
			a.free.done(p, true)
			continue
		}
		// Deleting it is what Release did before reuse; should that fail, the next Sweep
		// takes it.
		_ = a.enf.remove(a.rootF, p.name)
		a.free.done(p, false)
	}
	return false, nil
}

// take checks that p is settled, bounds it to bytes, stamps its times as a new directory's
// and renames it to name. The rename comes last: until it succeeds p is still parked.
func (a *Area) take(p parked, name string, bytes int64) error {
	if err := a.enf.settled(a.rootF, p.name, p.id, bytes); err != nil {
		return err
	}
	if err := a.enf.relimit(p.id, bytes); err != nil {
		return err
	}
	if err := touch(a.rootF, p.name); err != nil {
		return err
	}
	return renameNoReplace(a.rootF, p.name, name)
}

// touch sets the access and modification times of name in dir (and so its change time) to
// now, as a new directory's.
func touch(dir *os.File, name string) error {
	ts := []unix.Timespec{{Nsec: unix.UTIME_NOW}, {Nsec: unix.UTIME_NOW}}
	err := withFd(dir, func(fd uintptr) error {
		return unix.UtimesNanoAt(int(fd), name, ts, unix.AT_SYMLINK_NOFOLLOW)
	})
	if err != nil {
		return fmt.Errorf("set times of %s: %w", name, err)
	}
	return nil
}

// renameNoReplace renames from to to within dir, failing with EEXIST if to exists.
func renameNoReplace(dir *os.File, from, to string) error {
	err := withFd(dir, func(fd uintptr) error {
		return unix.Renameat2(int(fd), from, int(fd), to, unix.RENAME_NOREPLACE)
	})
	if err != nil {
		return fmt.Errorf("rename %s to %s: %w", from, to, err)
	}
	return nil
}

// isEmpty returns nil if dir has no entries, through a fresh descriptor.
func isEmpty(dir *os.File) error {
	names, err := readNames(dir)
	if err == nil && len(names) > 0 {
		err = fmt.Errorf("%s holds %d entries: %w", dir.Name(), len(names), errNotReusable)
	}
	return err
}
