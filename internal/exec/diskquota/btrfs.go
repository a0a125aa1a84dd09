//go:build linux

package diskquota

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Kernel ABI for btrfs subvolumes and quota groups (linux/btrfs.h).
var (
	btrfsIocSubvolCreate  = iow(14, unsafe.Sizeof(btrfsVolArgs{}))
	btrfsIocSnapDestroy   = iow(15, unsafe.Sizeof(btrfsVolArgs{}))
	btrfsIocInoLookup     = iowr(18, unsafe.Sizeof(btrfsInoLookupArgs{}))
	btrfsIocFsInfo        = ior(31, unsafe.Sizeof(btrfsFsInfoArgs{}))
	btrfsIocQuotaCtl      = iowr(40, unsafe.Sizeof(btrfsQuotaCtlArgs{}))
	btrfsIocQgroupAssign  = iow(41, unsafe.Sizeof(btrfsQgroupAssignArgs{}))
	btrfsIocQgroupCreate  = iow(42, unsafe.Sizeof(btrfsQgroupCreateArgs{}))
	btrfsIocQgroupLimit   = ior(43, unsafe.Sizeof(btrfsQgroupLimitArgs{})) // sic: _IOR in the uapi
	btrfsIocSnapCreate2   = iow(23, unsafe.Sizeof(btrfsVolArgsV2{}))
	btrfsIocSubvolCreate2 = iow(24, unsafe.Sizeof(btrfsVolArgsV2{}))
)

const (
	btrfsQuotaCtlEnable       = 1
	btrfsQuotaCtlEnableSimple = 4 // Linux 6.7+
	btrfsQgroupLimitMaxRfer   = 1
	btrfsFirstFreeObjectID    = 256 // inode number of every subvolume's root directory
	btrfsSubvolQgroupInherit  = 1 << 2
)

func ioc(dir, nr, size uintptr) uintptr { return dir<<30 | size<<16 | 0x94<<8 | nr }
func iow(nr, size uintptr) uintptr      { return ioc(1, nr, size) }
func ior(nr, size uintptr) uintptr      { return ioc(2, nr, size) }
func iowr(nr, size uintptr) uintptr     { return ioc(3, nr, size) }

type btrfsVolArgs struct {
	Fd   int64
	Name [4088]byte
}

type btrfsVolArgsV2 struct {
	Fd, Transid, Flags uint64
	Size               uint64
	QgroupInherit      uintptr // struct btrfs_qgroup_inherit *
	_                  [2]uint64
	Name               [4040]byte
}

type btrfsInoLookupArgs struct {
	Treeid, Objectid uint64
	Name             [4080]byte
}

type btrfsFsInfoArgs struct {
	MaxID, NumDevices uint64
	Fsid              [16]byte
	_                 [1024 - 32]byte
}

type btrfsQuotaCtlArgs struct{ Cmd, Status uint64 }
type btrfsQgroupAssignArgs struct{ Assign, Src, Dst uint64 }
type btrfsQgroupCreateArgs struct{ Create, Qgroupid uint64 }
type btrfsQgroupLimitArgs struct {
	Qgroupid                                  uint64
	Flags, MaxRfer, MaxExcl, RsvRfer, RsvExcl uint64
}

func fileIoctl(f *os.File, req uintptr, arg unsafe.Pointer) error {
	return withFd(f, func(fd uintptr) error { return ioctlPtr(fd, req, arg) })
}

// btrfsQgroups bounds directories by making each a subvolume whose level-0 qgroup 0/N belongs
// to a level-1 qgroup 1/N that carries the limit. The limit sits one level up because in
// simple-quota mode a subvolume a job creates inside its own (any user may, no privilege
// needed) is put into the parent subvolume's level-1 qgroups automatically, so its data still
// counts; a limit on 0/N alone would let it escape.
type btrfsQgroups struct {
	root   *os.File
	sysfs  string // /sys/fs/btrfs/<fsid>/qgroups
	simple bool   // simple quotas; false: full qgroup accounting (nested subvolumes escape)
	leaf   int64  // nodesize: what an empty subvolume's tree takes

	lastNudge   atomic.Int64 // unix nanoseconds of the last commit nudge asked for
	commitsOnce sync.Once
	commits     *os.File // commit_stats, kept open: reuse_btrfs.go
	mu          sync.Mutex
	stale       []uint64 // subvolumes deleted whose qgroups could not be removed yet
}

// btrfsSysfs returns /sys/fs/btrfs/<fsid> for the filesystem holding f.
func btrfsSysfs(f *os.File) (string, error) {
	var info btrfsFsInfoArgs
	if err := fileIoctl(f, btrfsIocFsInfo, unsafe.Pointer(&info)); err != nil {
		return "", fmt.Errorf("btrfs filesystem info: %w", err)
	}
	u := info.Fsid
	return fmt.Sprintf("/sys/fs/btrfs/%x-%x-%x-%x-%x", u[0:4], u[4:6], u[6:8], u[8:10], u[10:16]), nil
}

// openBtrfs uses root's btrfs as it is if quotas are on; with enable it first turns simple
// quotas on (full accounting on kernels before 6.7), which only the area's own image may get.
func openBtrfs(root *os.File, enable bool) (*btrfsQgroups, error) {
	dir, err := btrfsSysfs(root)
	if err != nil {
		return nil, err
	}
	b := &btrfsQgroups{root: root, sysfs: filepath.Join(dir, "qgroups")}
	if _, err := os.Stat(b.sysfs); err != nil {
		if !enable {
			return nil, fmt.Errorf("btrfs at %s has quotas off", root.Name())
		}
		if err := b.enable(); err != nil {
			return nil, err
		}
	}
	mode, _ := readSmall(filepath.Join(b.sysfs, "mode"))
	b.simple = mode == "squota"
	if b.leaf, err = readInt(filepath.Join(dir, "nodesize")); err != nil {
		return nil, fmt.Errorf("btrfs node size: %w", err)
	}
	return b, nil
}

func (b *btrfsQgroups) enable() error {
	args := btrfsQuotaCtlArgs{Cmd: btrfsQuotaCtlEnableSimple}
	err := fileIoctl(b.root, btrfsIocQuotaCtl, unsafe.Pointer(&args))
	if errors.Is(err, unix.EINVAL) || errors.Is(err, unix.EOPNOTSUPP) {
		args = btrfsQuotaCtlArgs{Cmd: btrfsQuotaCtlEnable}
		err = fileIoctl(b.root, btrfsIocQuotaCtl, unsafe.Pointer(&args))
	}
	if err != nil {
		return fmt.Errorf("enable btrfs quotas on %s: %w", b.root.Name(), err)
	}
	return nil
}

func (b *btrfsQgroups) kind() string {
	if b.simple {
		return "btrfs simple quotas"
	}
	return "btrfs qgroups (full accounting: subvolumes a job creates escape its bound)"
}

// escapeIoctls: the v2 creation calls carry a quota group inheritance that replaces the
// automatic one, and the kernel checks no privilege for it. The v1 calls stay allowed: what
// they create joins the job's quota group.
func (b *btrfsQgroups) escapeIoctls() []uint32 {
	return []uint32{uint32(btrfsIocSnapCreate2), uint32(btrfsIocSubvolCreate2)}
}

func level1(subvol uint64) uint64 { return 1<<48 | subvol }

// subvolID returns the id of the subvolume whose root dir is; an error if dir is not one.
func subvolID(dir *os.File) (uint64, error) {
	var st unix.Stat_t
	if err := withFd(dir, func(fd uintptr) error { return unix.Fstat(int(fd), &st) }); err != nil {
		return 0, err
	}
	if st.Ino != btrfsFirstFreeObjectID {
		return 0, fmt.Errorf("%s: %w", dir.Name(), ErrNotLimited)
	}
	args := btrfsInoLookupArgs{Objectid: btrfsFirstFreeObjectID}
	if err := fileIoctl(dir, btrfsIocInoLookup, unsafe.Pointer(&args)); err != nil {
		return 0, fmt.Errorf("subvolume id of %s: %w", dir.Name(), err)
	}
	return args.Treeid, nil
}

// makeDir creates name in parent as a subvolume and bounds it.
func (b *btrfsQgroups) makeDir(parent *os.File, name string, bytes int64) error {
	var args btrfsVolArgs
	copy(args.Name[:len(args.Name)-1], name)
	if err := fileIoctl(parent, btrfsIocSubvolCreate, unsafe.Pointer(&args)); err != nil {
		return fmt.Errorf("create subvolume %s: %w", name, err)
	}
	err := b.bound(parent, name, bytes)
	if err != nil {
		_ = b.remove(parent, name)
	}
	return err
}

func (b *btrfsQgroups) bound(parent *os.File, name string, bytes int64) error {
	dir, err := openDirAt(parent, name)
	if err != nil {
		return err
	}
	defer dir.Close()
	id, err := subvolID(dir)
	if err != nil {
		return err
	}
	create := btrfsQgroupCreateArgs{Create: 1, Qgroupid: level1(id)}
	assign := btrfsQgroupAssignArgs{Assign: 1, Src: id, Dst: level1(id)}
	limit := btrfsQgroupLimitArgs{Qgroupid: level1(id), Flags: btrfsQgroupLimitMaxRfer, MaxRfer: uint64(bytes)}
	if err := fileIoctl(b.root, btrfsIocQgroupCreate, unsafe.Pointer(&create)); err != nil && !errors.Is(err, unix.EEXIST) {
		return fmt.Errorf("create qgroup 1/%d: %w", id, err)
	}
	if err := fileIoctl(b.root, btrfsIocQgroupAssign, unsafe.Pointer(&assign)); err != nil && !errors.Is(err, unix.EEXIST) {
		return fmt.Errorf("assign qgroup 0/%d to 1/%d: %w", id, id, err)
	}
	if err := fileIoctl(b.root, btrfsIocQgroupLimit, unsafe.Pointer(&limit)); err != nil {
		return fmt.Errorf("limit qgroup 1/%d: %w", id, err)
	}
	return nil
}

// limitDir turns the existing empty directory name into a bounded subvolume: a directory
// cannot become a subvolume in place, so it is replaced by one with the same mode and owner.
func (b *btrfsQgroups) limitDir(parent *os.File, name string, bytes int64) error {
	var st unix.Stat_t
	err := withFd(parent, func(fd uintptr) error {
		if err := unix.Fstatat(int(fd), name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			return err
		}
		return unix.Unlinkat(int(fd), name, unix.AT_REMOVEDIR)
	})
	if err != nil {
		return fmt.Errorf("replace %s by a subvolume: %w", name, err)
	}
	if err := b.makeDir(parent, name, bytes); err != nil {
		return err
	}
	return withFd(parent, func(fd uintptr) error {
		if err := unix.Fchownat(int(fd), name, int(st.Uid), int(st.Gid), unix.AT_SYMLINK_NOFOLLOW); err != nil {
			return err
		}
		return unix.Fchmodat(int(fd), name, st.Mode&0o7777, 0)
	})
}

// used is what the limit is checked against: bytes committed plus data reserved by writes
// not yet on disk (the committed count trails writes until the next transaction commit).
func (b *btrfsQgroups) used(dir *os.File) (int64, error) {
	id, err := subvolID(dir)
	if err != nil {
		return 0, err
	}
	var total int64
	for _, f := range []string{"referenced", "rsv_data"} {
		s, err := readSmall(filepath.Join(b.sysfs, fmt.Sprintf("1_%d", id), f))
		if err != nil {
			return 0, fmt.Errorf("usage of %s: %w", dir.Name(), err)
		}
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("usage of %s: %q: %w", dir.Name(), s, err)
		}
		total += n
	}
	return total, nil
}

// remove deletes name (a subvolume or a plain directory) and everything under it. Deleting a
// subvolume is one ioctl whatever it holds (a kernel thread frees its extents later), but it
// fails if the job made subvolumes inside: then the tree is removed entry by entry. Bounds are
// lifted first, because btrfs needs quota room even to unlink and a full bound would refuse.
func (b *btrfsQgroups) remove(parent *os.File, name string) error {
	var ids []uint64
	if dir, err := openDirAt(parent, name); err == nil {
		if id, err := subvolID(dir); err == nil {
			ids = append(ids, id)
			b.unlimit(id)
		}
		dir.Close()
	}
	err := errors.ErrUnsupported
	if len(ids) > 0 {
		var args btrfsVolArgs
		copy(args.Name[:len(args.Name)-1], name)
		err = fileIoctl(parent, btrfsIocSnapDestroy, unsafe.Pointer(&args))
	}
	if err != nil {
		err = removeTree(parent, name, func(_, dir *os.File) error {
			if id, err := subvolID(dir); err == nil && (len(ids) == 0 || id != ids[0]) {
				ids = append(ids, id)
				b.unlimit(id)
			}
			return nil
		})
	}
	for _, id := range ids {
		if !b.forget(id, false) {
			b.mu.Lock()
			b.stale = append(b.stale, id)
			b.mu.Unlock()
		}
	}
	b.collect()
	return err
}

// unlimit clears the bound on subvolume id's level-1 quota group, if it has one.
func (b *btrfsQgroups) unlimit(id uint64) {
	clear := btrfsQgroupLimitArgs{Qgroupid: level1(id), Flags: btrfsQgroupLimitMaxRfer, MaxRfer: ^uint64(0)}
	_ = fileIoctl(b.root, btrfsIocQgroupLimit, unsafe.Pointer(&clear))
}

// forget removes subvolume id's level-1 quota group (taking the subvolume's own group out of
// it first, which leaves it empty) and, with level0, the subvolume's own group too. It reports
// whether they are gone. The kernel removes a subvolume's own group by itself once its
// cleaner thread has dropped the subvolume (until then the group is busy with the extents).
func (b *btrfsQgroups) forget(id uint64, level0 bool) bool {
	unassign := btrfsQgroupAssignArgs{Src: id, Dst: level1(id)}
	_ = fileIoctl(b.root, btrfsIocQgroupAssign, unsafe.Pointer(&unassign))
	groups := []uint64{level1(id)}
	if level0 {
		groups = append(groups, id)
	}
	gone := true
	for _, q := range groups {
		args := btrfsQgroupCreateArgs{Qgroupid: q}
		err := fileIoctl(b.root, btrfsIocQgroupCreate, unsafe.Pointer(&args))
		gone = gone && (err == nil || errors.Is(err, unix.ENOENT))
	}
	return gone
}

// collect retries forgetting deleted subvolumes' quota groups that were busy, a few per call
// so that a backlog never makes a call slow.
func (b *btrfsQgroups) collect() {
	b.mu.Lock()
	n := min(len(b.stale), 2)
	ids := slices.Clone(b.stale[:n])
	b.stale = b.stale[n:]
	b.mu.Unlock()
	for _, id := range ids {
		if !b.forget(id, false) {
			b.mu.Lock()
			b.stale = append(b.stale, id)
			b.mu.Unlock()
		}
	}
}

// staleQgroups lists subvolume ids that have a quota group but no subvolume any more: left by
// a process that died between deleting a subvolume and forgetting its groups, or by a kernel
// that does not remove a dropped subvolume's group itself. Level-1 groups count only when the
// filesystem is the area's own: elsewhere they may be someone else's grouping.
func (b *btrfsQgroups) staleQgroups(wholeFS bool) []uint64 {
	entries, _ := os.ReadDir(b.sysfs)
	seen := map[uint64]bool{}
	var out []uint64
	for _, e := range entries {
		level, rest, ok := strings.Cut(e.Name(), "_")
		if !ok || (level != "0" && (level != "1" || !wholeFS)) {
			continue
		}
		id, err := strconv.ParseUint(rest, 10, 64)
		if err != nil || id < btrfsFirstFreeObjectID || seen[id] || b.subvolExists(id) {
			continue
		}
		seen[id] = true
		out = append(out, id)
	}
	return out
}

// subvolExists asks the kernel whether subvolume id still exists (it is in the root tree
// until fully dropped).
func (b *btrfsQgroups) subvolExists(id uint64) bool {
	args := btrfsInoLookupArgs{Treeid: id, Objectid: btrfsFirstFreeObjectID}
	return fileIoctl(b.root, btrfsIocInoLookup, unsafe.Pointer(&args)) == nil
}

// sweep forgets the quota groups of every subvolume already deleted. Groups of subvolumes
// that still exist are left alone even on the area's own filesystem: they are in use.
func (b *btrfsQgroups) sweep(wholeFS bool) error {
	b.mu.Lock()
	b.stale = nil
	b.mu.Unlock()
	for _, id := range b.staleQgroups(wholeFS) {
		b.forget(id, true)
	}
	return nil
}
