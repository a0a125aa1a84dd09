//go:build linux

package diskquota

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Kernel ABI for reusing btrfs subvolumes (linux/btrfs.h, linux/btrfs_tree.h).
var (
	btrfsIocTreeSearch    = iowr(17, unsafe.Sizeof(btrfsSearchArgs{}))
	btrfsIocStartSync     = ior(24, 8)
	btrfsIocGetSubvolInfo = ior(60, unsafe.Sizeof(btrfsSubvolInfo{}))
)

const (
	btrfsRootTreeObjectID = 1
	btrfsOrphanObjectID   = ^uint64(4) // -5: the key objectid of orphan items
	btrfsOrphanItemKey    = 48
	btrfsRootRefKey       = 156 // in the root tree, (parent, ROOT_REF, child) per subvolume
	// nudgeEvery spaces the commits reuse asks btrfs for.
	nudgeEvery = time.Second
	// metaSlack: a parked subvolume is handed out while the metadata its previous use reserved
	// (freed at the next commit) is at most this fraction of the new bound.
	metaSlack = 128
)

type btrfsSearchKey struct {
	TreeID, MinObjectID, MaxObjectID, MinOffset, MaxOffset, MinTransid, MaxTransid uint64
	MinType, MaxType, NrItems, _                                                   uint32
	_                                                                              [4]uint64
}

type btrfsSearchArgs struct {
	Key btrfsSearchKey
	Buf [4096 - 104]byte
}

type btrfsTimespec struct {
	Sec  uint64
	Nsec uint32
	_    uint32
}

type btrfsSubvolInfo struct {
	TreeID                               uint64
	Name                                 [256]byte
	ParentID, DirID, Generation, Flags   uint64
	UUID, ParentUUID, ReceivedUUID       [16]byte
	Ctransid, Otransid, Stransid, Rtrans uint64
	Ctime, Otime, Stime, Rtime           btrfsTimespec
	_                                    [8]uint64
}

// boundID: a subvolume, in the state a new one is in as far as its root item goes: its owner
// can make it read-only (SUBVOL_SETFLAGS) or stamp it as received (SET_RECEIVED_SUBVOL), and a
// new one is neither. That it has the area's level-1 quota group shows when settled reads the
// group's counters; without, it is deleted then.
func (b *btrfsQgroups) boundID(dir *os.File) (uint64, error) {
	id, err := subvolID(dir)
	if err != nil {
		return 0, err
	}
	var info btrfsSubvolInfo
	if err := fileIoctl(dir, btrfsIocGetSubvolInfo, unsafe.Pointer(&info)); err != nil {
		return 0, fmt.Errorf("subvolume %d: %w", id, err)
	}
	var zero btrfsSubvolInfo
	if info.Flags != 0 || info.ReceivedUUID != zero.ReceivedUUID || info.Stransid != 0 || info.Rtrans != 0 ||
		info.Stime != zero.Stime || info.Rtime != zero.Rtime {
		return 0, fmt.Errorf("subvolume %d is read-only or marked received: %w", id, errNotReusable)
	}
	return id, nil
}

// nested: a subvolume made inside this one (by the job, or by Limit) is listed in the root tree
// under its parent's id; with none, nothing below needs visiting. With one, the directory is
// removed as Release always did.
func (b *btrfsQgroups) nested(_ *os.File, id uint64) (visitFunc, error) {
	n, err := b.countItems(btrfsRootTreeObjectID, id, btrfsRootRefKey)
	if err != nil {
		return nil, err
	}
	if n > 0 {
		return nil, fmt.Errorf("subvolume %d holds subvolumes: %w", id, errNotReusable)
	}
	return nil, nil
}

// settled: the subvolume is empty, no file unlinked in it is still open (an orphan item stays
// until the last descriptor goes), and its level-1 group is charged no more than a new one.
//
// With simple quotas, space freed is accounted when the transaction that freed it commits,
// and the metadata each transaction reserved against the group is given back then too. So a
// directory whose previous use wrote data waits for that commit, which is asked for at once
// (nudge) rather than left to btrfs's commit interval (30 s by default). What a trivial job
// leaves reserved (a few hundred KiB for a few directories made and removed) is tolerated up
// to 1/metaSlack of the new bound, or every directory would wait for a commit; it goes at the
// next one, asked for once half of that is reached, for reuse piles it up. Past the tolerance
// (small bounds) the directory waits without asking: a commit for each handful of reuses
// would cost more than it saves.
//
// Two counters are read: referenced, the data and tree blocks charged, and
// rsv_meta_pertrans. The data reserved for writes not yet on disk (rsv_data) is given back
// when a file is unlinked or truncated, so only a file still open keeps it, and none is;
// rsv_meta_prealloc is held for the delayed updates of the inodes there are, here only the
// directory's own: a few nodes at most.
func (b *btrfsQgroups) settled(root *os.File, name string, id uint64, bytes int64) error {
	var st unix.Stat_t
	err := withFd(root, func(fd uintptr) error { return unix.Fstatat(int(fd), name, &st, unix.AT_SYMLINK_NOFOLLOW) })
	if err != nil {
		return fmt.Errorf("stat %s: %w", name, err)
	}
	// A btrfs directory's size counts its entries' names: 0 is empty.
	if st.Mode&unix.S_IFMT != unix.S_IFDIR || st.Ino != btrfsFirstFreeObjectID || st.Size != 0 {
		return fmt.Errorf("%s is no longer an empty subvolume: %w", name, errNotReusable)
	}
	if n, err := b.countItems(id, btrfsOrphanObjectID, btrfsOrphanItemKey); err != nil || n > 0 {
		if err == nil {
			err = fmt.Errorf("subvolume %d holds unlinked files still open: %w", id, errNotYet)
		}
		return err
	}
	// Metadata first: past its tolerance the directory waits without asking for a commit,
	// whatever its data.
	group := filepath.Join(b.sysfs, fmt.Sprintf("1_%d", id))
	meta, err := readInt(filepath.Join(group, "rsv_meta_pertrans"))
	if err != nil {
		return fmt.Errorf("usage of subvolume %d: %w", id, err)
	}
	if meta > bytes/metaSlack {
		return fmt.Errorf("subvolume %d still holds %d bytes of metadata reservations: %w", id, meta, errNotYet)
	}
	data, err := readInt(filepath.Join(group, "referenced"))
	if err != nil {
		return fmt.Errorf("usage of subvolume %d: %w", id, err)
	}
	if data > b.leaf || meta > bytes/metaSlack/2 {
		b.nudge()
	}
	if data > b.leaf {
		return fmt.Errorf("subvolume %d still charged %d bytes: %w", id, data, errNotYet)
	}
	return nil
}

// countItems counts (up to one) the items with objectid and type in tree: one tree search.
func (b *btrfsQgroups) countItems(tree, objectid uint64, typ uint32) (uint32, error) {
	args := btrfsSearchArgs{Key: btrfsSearchKey{
		TreeID: tree, MinObjectID: objectid, MaxObjectID: objectid,
		MaxOffset: ^uint64(0), MaxTransid: ^uint64(0),
		MinType: typ, MaxType: typ, NrItems: 1,
	}}
	if err := fileIoctl(b.root, btrfsIocTreeSearch, unsafe.Pointer(&args)); err != nil {
		return 0, fmt.Errorf("search tree %d: %w", tree, err)
	}
	return args.Key.NrItems, nil
}

func (b *btrfsQgroups) relimit(id uint64, bytes int64) error {
	limit := btrfsQgroupLimitArgs{Qgroupid: level1(id), Flags: btrfsQgroupLimitMaxRfer, MaxRfer: uint64(bytes)}
	if err := fileIoctl(b.root, btrfsIocQgroupLimit, unsafe.Pointer(&limit)); err != nil {
		return fmt.Errorf("limit qgroup 1/%d: %w", id, err)
	}
	return nil
}

// nudge starts a transaction commit without waiting for it, at most once per nudgeEvery.
func (b *btrfsQgroups) nudge() {
	now, last := time.Now().UnixNano(), b.lastNudge.Load()
	if now-last < int64(nudgeEvery) || !b.lastNudge.CompareAndSwap(last, now) {
		return
	}
	var transid uint64
	_ = fileIoctl(b.root, btrfsIocStartSync, unsafe.Pointer(&transid))
}

// epoch is the number of transactions committed since the filesystem was mounted: charges to
// parked subvolumes change only at commits (and when a file held open is closed). It reads the
// count from a descriptor kept open, which costs a tenth of opening the file.
func (b *btrfsQgroups) epoch() (uint64, bool) {
	b.commitsOnce.Do(func() {
		b.commits, _ = os.Open(filepath.Join(filepath.Dir(b.sysfs), "commit_stats"))
	})
	if b.commits == nil {
		return 0, false
	}
	var buf [64]byte
	n, err := b.commits.ReadAt(buf[:], 0) // sysfs makes the text anew when read from 0
	if n == 0 && err != nil {
		return 0, false
	}
	line, _, _ := strings.Cut(string(buf[:n]), "\n")
	v, err := strconv.ParseUint(strings.TrimPrefix(line, "commits "), 10, 64)
	return v, err == nil
}

func (b *btrfsQgroups) closeReuse() {
	if b == nil {
		return
	}
	b.commitsOnce.Do(func() {}) // none opened from now on
	if b.commits != nil {
		b.commits.Close()
	}
}

// readInt reads a sysfs file holding one integer, with as few system calls as it takes.
func readInt(path string) (int64, error) {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return 0, fmt.Errorf("open %s: %w", path, err)
	}
	var buf [32]byte
	n, err := unix.Read(fd, buf[:])
	unix.Close(fd)
	if err != nil {
		return 0, fmt.Errorf("read %s: %w", path, err)
	}
	v, err := strconv.ParseInt(strings.TrimSpace(string(buf[:max(n, 0)])), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("read %s: %w", path, err)
	}
	return v, nil
}
