//go:build linux

package diskquota

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Kernel ABI for project quotas (linux/fs.h, linux/quota.h, linux/dqblk_xfs.h). x/sys/unix has
// neither struct fsxattr nor quotactl, so they are spelled out here.
const (
	fsIocFsgetxattr     = 0x801c581f // _IOR('X', 31, struct fsxattr)
	fsIocFssetxattr     = 0x401c5820 // _IOW('X', 32, struct fsxattr)
	fsXflagProjinherit  = 0x00000200
	prjQuota            = 2
	qGetquota           = 0x800007
	qSetquota           = 0x800008
	qGetnextquota       = 0x800009
	qXGetqstatv         = 'X'<<8 + 8
	qifBlimits          = 1
	qifIlimits          = 4
	qifDqblksize        = 1024 // Q_SETQUOTA block limits are in these units, not fs blocks
	fsQuotaPdqEnfd      = 1 << 5
	fsQstatvVersion1    = 1
	firstProjectID      = 1000    // ids below are left to whoever else uses project quotas
	maxProjectID        = 1 << 31 // keep ids positive for tools that print them signed
	bytesPerInodeBudget = 4096    // inode limit = bytes/this + inodeSlack
	inodeSlack          = 1024
)

type fsxattr struct {
	Xflags, Extsize, Nextents, Projid, Cowextsize uint32
	_                                             [8]byte
}

// dqblk is struct if_nextdqblk; struct if_dqblk is the same without ID (which is its padding).
type dqblk struct {
	Bhardlimit, Bsoftlimit, Curspace  uint64
	Ihardlimit, Isoftlimit, Curinodes uint64
	Btime, Itime                      uint64
	Valid                             uint32
	ID                                uint32
}

// quotaStatv is struct fs_quota_statv; only the version and flags are read.
type quotaStatv struct {
	Version int8
	_       uint8
	Flags   uint16
	_       [156]byte
}

func ioctlPtr(fd uintptr, req uintptr, arg unsafe.Pointer) error {
	if _, _, e := unix.Syscall(unix.SYS_IOCTL, fd, req, uintptr(arg)); e != 0 {
		return e
	}
	return nil
}

func getFsxattr(f *os.File) (fsxattr, error) {
	var fa fsxattr
	err := withFd(f, func(fd uintptr) error { return ioctlPtr(fd, fsIocFsgetxattr, unsafe.Pointer(&fa)) })
	return fa, err
}

func setFsxattr(f *os.File, fa fsxattr) error {
	return withFd(f, func(fd uintptr) error { return ioctlPtr(fd, fsIocFssetxattr, unsafe.Pointer(&fa)) })
}

// withFd runs fn on f's descriptor without making it blocking (as Fd would).
func withFd(f *os.File, fn func(fd uintptr) error) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var ferr error
	if err := rc.Control(func(fd uintptr) { ferr = fn(fd) }); err != nil {
		return err
	}
	return ferr
}

// noQuotactlFd is set once quotactl_fd turns out missing (Linux < 5.14); from then on quotactl
// is called with the block device path instead.
var noQuotactlFd atomic.Bool

// quotactl issues cmd for project id on the filesystem holding root (quotactl_fd) or dev.
func quotactl(root *os.File, dev string, cmd int, id uint32, arg unsafe.Pointer) error {
	qcmd := uintptr(cmd<<8 | prjQuota)
	if !noQuotactlFd.Load() {
		err := withFd(root, func(fd uintptr) error {
			_, _, e := unix.Syscall6(unix.SYS_QUOTACTL_FD, fd, qcmd, uintptr(id), uintptr(arg), 0, 0)
			if e != 0 {
				return e
			}
			return nil
		})
		if !errors.Is(err, unix.ENOSYS) {
			return err
		}
		noQuotactlFd.Store(true)
	}
	if dev == "" {
		return fmt.Errorf("quotactl_fd is missing and no block device is known: %w", unix.ENOSYS)
	}
	p, err := unix.BytePtrFromString(dev)
	if err != nil {
		return err
	}
	_, _, e := unix.Syscall6(unix.SYS_QUOTACTL, qcmd, uintptr(unsafe.Pointer(p)), uintptr(id), uintptr(arg), 0, 0)
	if e != 0 {
		return e
	}
	return nil
}

// projectQuotasEnforced reports whether root's filesystem enforces project quota limits now.
func projectQuotasEnforced(root *os.File, dev string) bool {
	st := quotaStatv{Version: fsQstatvVersion1}
	if err := quotactl(root, dev, qXGetqstatv, 0, unsafe.Pointer(&st)); err != nil {
		return false
	}
	return st.Flags&fsQuotaPdqEnfd != 0
}

// projectQuota bounds directories by giving each its own project id with the inherit flag and
// a hard limit for that project.
type projectQuota struct {
	root *os.File // the area root, kept open: quotactl_fd names the filesystem by it
	dev  string   // block device, for quotactl without _fd
	ids  idPool
}

func newProjectQuota(root *os.File, dev string) (*projectQuota, error) {
	p := &projectQuota{root: root, dev: dev}
	used, err := p.idsWithQuota()
	if err != nil {
		return nil, err
	}
	p.ids.reset(used)
	return p, nil
}

// idsWithQuota lists the project ids from firstProjectID up that have usage or limits: left by
// a previous process or someone else's, either way not free.
func (p *projectQuota) idsWithQuota() ([]uint32, error) {
	var out []uint32
	for id := uint32(firstProjectID); id < maxProjectID; {
		var q dqblk
		err := quotactl(p.root, p.dev, qGetnextquota, id, unsafe.Pointer(&q))
		if errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ESRCH) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("list project quotas: %w", err)
		}
		if q.ID < id { // a kernel that ignores the start id would loop forever
			break
		}
		if q.Curspace|q.Curinodes|q.Bhardlimit|q.Bsoftlimit|q.Ihardlimit|q.Isoftlimit != 0 {
			out = append(out, q.ID)
		}
		id = q.ID + 1
	}
	return out, nil
}

func (p *projectQuota) setLimit(id uint32, bytes int64) error {
	q := dqblk{Valid: qifBlimits | qifIlimits}
	if bytes > 0 {
		q.Bhardlimit = uint64((bytes + qifDqblksize - 1) / qifDqblksize)
		q.Ihardlimit = uint64(bytes/bytesPerInodeBudget + inodeSlack)
	}
	if err := quotactl(p.root, p.dev, qSetquota, id, unsafe.Pointer(&q)); err != nil {
		return fmt.Errorf("set limit of project %d: %w", id, err)
	}
	return nil
}

func (p *projectQuota) usage(id uint32) (dqblk, error) {
	var q dqblk
	if err := quotactl(p.root, p.dev, qGetquota, id, unsafe.Pointer(&q)); err != nil {
		return q, fmt.Errorf("read quota of project %d: %w", id, err)
	}
	return q, nil
}

func (p *projectQuota) escapeIoctls() []uint32 { return []uint32{fsIocFssetxattr} }

func (p *projectQuota) kind() string { return "project quotas" }

// limit gives the empty directory dir a fresh project. The limit is set before the directory
// joins the project, so there is no moment when the project exists unbounded.
func (p *projectQuota) limit(dir *os.File, bytes int64) error {
	id, err := p.ids.get()
	if err != nil {
		return err
	}
	fa, err := getFsxattr(dir)
	if err == nil {
		err = p.setLimit(id, bytes)
	}
	if err == nil {
		fa.Projid, fa.Xflags = id, fa.Xflags|fsXflagProjinherit
		if err = setFsxattr(dir, fa); err != nil {
			err = fmt.Errorf("put %s in project %d: %w", dir.Name(), id, err)
			_ = p.setLimit(id, 0)
		}
	}
	if err != nil {
		p.ids.put(id)
		return err
	}
	return nil
}

// projectOf returns dir's project id, or 0 for one outside any project.
func (p *projectQuota) projectOf(dir *os.File) (uint32, error) {
	fa, err := getFsxattr(dir)
	if err != nil {
		return 0, fmt.Errorf("read project of %s: %w", dir.Name(), err)
	}
	return fa.Projid, nil
}

func (p *projectQuota) used(dir *os.File) (int64, error) {
	id, err := p.projectOf(dir)
	if err != nil {
		return 0, err
	}
	if id == 0 {
		return 0, fmt.Errorf("%s: %w", dir.Name(), ErrNotLimited)
	}
	q, err := p.usage(id)
	return int64(q.Curspace), err
}

// forget drops project id's limit once its tree is gone. The id is reused only if nothing is
// charged to it any more: a file a process still holds open after its unlink stays charged,
// and a new directory must not inherit that.
func (p *projectQuota) forget(id uint32) error {
	if id < firstProjectID {
		return nil
	}
	if err := p.setLimit(id, 0); err != nil {
		return err
	}
	if q, err := p.usage(id); err == nil && q.Curspace == 0 && q.Curinodes == 0 {
		p.ids.put(id)
	}
	return nil
}

// forgetAll drops the limits of ids (or, when the filesystem is the area's own image, of every
// id from firstProjectID up) and starts the pool afresh.
func (p *projectQuota) forgetAll(ids []uint32, wholeFS bool) error {
	if wholeFS {
		all, err := p.idsWithQuota()
		if err != nil {
			return err
		}
		ids = append(ids, all...)
	}
	var errs []error
	for _, id := range ids {
		if id >= firstProjectID {
			errs = append(errs, p.setLimit(id, 0))
		}
	}
	used, err := p.idsWithQuota()
	if err != nil {
		return errors.Join(append(errs, err)...)
	}
	// Ids with a limit are someone else's; ids still charged are files held open.
	p.ids.reset(used)
	return errors.Join(errs...)
}

// idPool hands out project ids: freed ones first, then ones never used, skipping ids known to
// be taken.
type idPool struct {
	mu    sync.Mutex
	next  uint32
	free  []uint32
	taken map[uint32]bool
}

func (p *idPool) reset(taken []uint32) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.next, p.free, p.taken = firstProjectID, nil, make(map[uint32]bool, len(taken))
	for _, id := range taken {
		p.taken[id] = true
	}
}

func (p *idPool) get() (uint32, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for len(p.free) > 0 {
		id := p.free[len(p.free)-1]
		p.free = p.free[:len(p.free)-1]
		if !p.taken[id] {
			p.taken[id] = true
			return id, nil
		}
	}
	for ; p.next < maxProjectID; p.next++ {
		if !p.taken[p.next] {
			id := p.next
			p.next++
			p.taken[id] = true
			return id, nil
		}
	}
	return 0, errors.New("no free project id")
}

func (p *idPool) put(id uint32) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.taken[id] {
		delete(p.taken, id)
		p.free = append(p.free, id)
	}
}

// makeDir creates name in parent and gives it a project of its own.
func (p *projectQuota) makeDir(parent *os.File, name string, bytes int64) error {
	if err := withFd(parent, func(fd uintptr) error { return unix.Mkdirat(int(fd), name, 0o755) }); err != nil {
		return fmt.Errorf("make %s: %w", name, err)
	}
	if err := p.limitDir(parent, name, bytes); err != nil {
		_ = unlinkAt(parent, name, unix.AT_REMOVEDIR)
		return err
	}
	return nil
}

func (p *projectQuota) limitDir(parent *os.File, name string, bytes int64) error {
	dir, err := openDirAt(parent, name)
	if err != nil {
		return err
	}
	defer dir.Close()
	return p.limit(dir, bytes)
}

// remove deletes the tree and forgets the projects rooted in it: those of directories whose
// project differs from their parent's (Dir or Limit made them). A subdirectory that merely
// inherited its project shares it with an ancestor, which may lie outside the tree.
func (p *projectQuota) remove(parent *os.File, name string) error {
	var roots []uint32
	err := removeTree(parent, name, func(parent, dir *os.File) error {
		pid, err1 := p.projectOf(parent)
		id, err2 := p.projectOf(dir)
		if err1 == nil && err2 == nil && id != pid {
			roots = append(roots, id)
		}
		return nil
	})
	var errs []error
	for _, id := range roots {
		errs = append(errs, p.forget(id))
	}
	return errors.Join(append(errs, err)...)
}

func (p *projectQuota) sweep(wholeFS bool) error { return p.forgetAll(nil, wholeFS) }
