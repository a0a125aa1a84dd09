//go:build linux

package diskquota

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"golang.org/x/sys/unix"
)

// ErrNotLimited is returned by Used for a directory that has no bound of its own.
var ErrNotLimited = errors.New("directory has no bound of its own")

// imageKinds are tried in order when the area needs an image of its own.
var imageKinds = []string{kindExt4, kindBtrfs}

// lostFound is made by mkfs.ext4 at the root of the image and belongs to e2fsck.
const lostFound = "lost+found"

// enforcer is one way the kernel bounds a directory tree. All names are single path elements
// resolved in an open parent directory, so no path is ever looked up twice.
type enforcer interface {
	kind() string
	// makeDir creates name in parent, bounded to bytes.
	makeDir(parent *os.File, name string, bytes int64) error
	// limitDir bounds the existing empty directory name in parent.
	limitDir(parent *os.File, name string, bytes int64) error
	// remove deletes name in parent with everything under it and frees its bound.
	remove(parent *os.File, name string) error
	// used reports the bytes charged to dir's bound.
	used(dir *os.File) (int64, error)
	// sweep frees what bounds remain after every directory was removed; wholeFS says the
	// filesystem is the area's own, so every bound on it is the area's.
	sweep(wholeFS bool) error
	// escapeIoctls lists the ioctl requests that take writes out of a bound.
	escapeIoctls() []uint32

	reuser // reuse.go
}

// Area is a directory tree whose subdirectories can each be given a byte bound, enforced by the
// kernel: project quotas on ext4 or xfs, or quota groups on btrfs where the kernel cannot
// enforce project quotas.
type Area struct {
	root   string
	rootF  *os.File // the area root, open for the area's lifetime
	enf    enforcer
	fstype string
	img    string // the image file when the area is its own filesystem, else ""
	dev    string // the block device holding the area
	owned  bool   // Close unmounts: the image is the area's own
	free   freeList

	closeOnce sync.Once
	closeErr  error
}

// Open prepares an area at dir, created if missing. If dir's filesystem already enforces
// project quotas (ext4 or xfs mounted with prjquota) or btrfs quotas, it is used as is.
// Otherwise the area gets a filesystem of its own: a sparse image file <dir>.img of size bytes
// beside dir, loop-mounted on dir (nodev, nosuid). The image is made on first use (ext4 with
// project quotas; btrfs with simple quotas when this kernel cannot mount that), reused as it is
// (whatever its size) after a restart, and if a process that died left it mounted on dir, that
// mount is taken over.
func Open(dir string, size int64) (*Area, error) { return open(dir, size, imageKinds) }

// open is Open making images only of kinds (tests pin one).
func open(dir string, size int64, kinds []string) (*Area, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("area %s: %w", dir, err)
	}
	if err := os.MkdirAll(abs, 0o755); err != nil {
		return nil, fmt.Errorf("area %s: %w", dir, err)
	}
	// mountinfo shows mount points without symlinks, so the area's root must have none either.
	root, err := filepath.EvalSymlinks(abs)
	if err != nil {
		return nil, fmt.Errorf("area %s: %w", dir, err)
	}
	a := &Area{root: root, img: root + ".img", free: freeList{cap: freeCap}}
	m, mounted, err := mountAt(root)
	if err != nil {
		return nil, fmt.Errorf("area %s: %w", root, err)
	}
	if mounted && sameFile(loopBackingFile(m.source), a.img) {
		a.fstype, a.dev, a.owned = m.fstype, m.source, true
		if err := a.start(); err != nil {
			return nil, err
		}
		return a, nil
	}
	if a.useAsIs() {
		return a, nil
	}
	if err := a.mountOwnImage(size, kinds); err != nil {
		return nil, err
	}
	a.owned = true
	if err := a.start(); err != nil {
		return nil, errors.Join(err, unix.Unmount(root, 0))
	}
	return a, nil
}

// useAsIs reports whether the filesystem holding the root already enforces a kind of quota,
// and if so sets the area up on it.
func (a *Area) useAsIs() bool {
	m, ok := containingMount(a.root)
	if !ok || (m.fstype != kindExt4 && m.fstype != "xfs" && m.fstype != kindBtrfs) {
		return false
	}
	a.img, a.fstype, a.dev = "", m.fstype, m.source
	if err := a.start(); err != nil {
		a.img, a.fstype, a.dev = a.root+".img", "", ""
		return false
	}
	return true
}

// mountOwnImage mounts the area's image, making it first if there is none.
func (a *Area) mountOwnImage(size int64, kinds []string) error {
	kind, err := imageKind(a.img)
	switch {
	case err == nil && kind == "":
		return fmt.Errorf("area %s: %s exists but holds no ext4 or btrfs filesystem", a.root, a.img)
	case err == nil:
		a.fstype = kind
		a.dev, err = mountImage(a.img, a.root, kind)
		return err
	case !errors.Is(err, os.ErrNotExist):
		return fmt.Errorf("area %s: %w", a.root, err)
	}
	var errs []error
	for _, kind := range kinds {
		if err := makeImage(a.img, kind, size); err != nil {
			errs = append(errs, err)
			continue
		}
		dev, err := mountImage(a.img, a.root, kind)
		if err == nil {
			a.fstype, a.dev = kind, dev
			return nil
		}
		// A kernel without ext4 quota support (CONFIG_QFMT_V2) refuses this mount: the image
		// is new and empty, so it is dropped and the next kind tried.
		errs = append(errs, err)
		_ = os.Remove(a.img)
	}
	return fmt.Errorf("area %s: no filesystem with quotas could be made: %w", a.root, errors.Join(errs...))
}

// start opens the root and picks the enforcer for the filesystem now mounted there.
func (a *Area) start() error {
	f, err := os.OpenFile(a.root, os.O_RDONLY|unix.O_DIRECTORY, 0)
	if err != nil {
		return fmt.Errorf("area %s: %w", a.root, err)
	}
	wholeFS := a.img != ""
	switch a.fstype {
	case kindBtrfs:
		a.enf, err = openBtrfs(f, wholeFS)
	case kindExt4, "xfs":
		if !projectQuotasEnforced(f, a.dev) {
			err = fmt.Errorf("%s at %s does not enforce project quotas", a.fstype, a.root)
			break
		}
		a.enf, err = newProjectQuota(f, a.dev)
	default:
		err = fmt.Errorf("%s at %s has no quotas this package can use", a.fstype, a.root)
	}
	if err != nil {
		f.Close()
		return fmt.Errorf("area %s: %w", a.root, err)
	}
	a.rootF = f
	return nil
}

// containingMount returns the mount that holds path: the last-mounted one with the longest
// mount point that is path or an ancestor of it.
func containingMount(path string) (mountEntry, bool) {
	mounts, err := readMounts()
	if err != nil {
		return mountEntry{}, false
	}
	best, found := mountEntry{}, false
	for _, m := range mounts {
		if m.point == path || m.point == "/" || strings.HasPrefix(path, m.point+"/") {
			if !found || len(m.point) >= len(best.point) {
				best, found = m, true
			}
		}
	}
	return best, found
}

func sameFile(a, b string) bool {
	if a == "" || b == "" {
		return false
	}
	sa, errA := os.Stat(a)
	sb, errB := os.Stat(b)
	return errA == nil && errB == nil && os.SameFile(sa, sb)
}

// Root is the area's directory.
func (a *Area) Root() string { return a.root }

// Describe says how the area is bounded, for logs and diagnostics.
func (a *Area) Describe() string {
	if a.img != "" {
		return fmt.Sprintf("%s on the %s image %s (%s, loop device %s)",
			a.enf.kind(), a.fstype, a.img, fmtSize(imageSize(a.img)), a.dev)
	}
	return fmt.Sprintf("%s on %s at %s", a.enf.kind(), a.fstype, a.root)
}

func fmtSize(n int64) string {
	if n >= 1<<30 && n%(1<<30) == 0 {
		return fmt.Sprintf("%d GiB", n>>30)
	}
	return fmt.Sprintf("%d MiB", n>>20)
}

// EscapeIoctls lists the ioctl requests by which a job could take its writes out of its bound
// on this area, which the kernel lets unprivileged processes make: a sandbox writing to the
// area must refuse them (seccomp). On btrfs they create a subvolume or snapshot with an
// explicit quota group inheritance, which puts it outside the job's quota group. With project
// quotas it is FS_IOC_FSSETXATTR, by which a directory's owner moves it to another project;
// the kernel refuses that only to processes outside the initial user namespace.
func (a *Area) EscapeIoctls() []uint32 { return a.enf.escapeIoctls() }

// Dir creates the directory name (a single path element) in the area, bounded to bytes:
// everything created under it, at any depth and by anyone, counts. The directory's own
// metadata takes a few KiB of the bound. It may be one Release emptied and kept (reuse.go),
// indistinguishable from a new one but for its identity.
func (a *Area) Dir(name string, bytes int64) (string, error) {
	if err := checkName(name); err != nil {
		return "", err
	}
	if bytes <= 0 {
		return "", fmt.Errorf("area dir %s: bound %d is not positive", name, bytes)
	}
	reused, err := a.reuse(name, bytes)
	if err == nil && !reused {
		if err = a.enf.makeDir(a.rootF, name, bytes); err == nil {
			a.noteFresh(name)
		}
	}
	if err != nil {
		return "", fmt.Errorf("area dir %s: %w", name, err)
	}
	return filepath.Join(a.root, name), nil
}

func checkName(name string) error {
	if name == "" || name == "." || name == ".." || name == lostFound || len(name) > 255 ||
		strings.ContainsAny(name, "/\x00") || strings.HasPrefix(name, parkPrefix) {
		return fmt.Errorf("area dir name %q: not a single path element this package allows", name)
	}
	return nil
}

// Limit bounds an existing empty directory that lies inside the area to bytes. Files it held
// before would keep counting elsewhere, hence empty. On btrfs the directory is replaced by a
// subvolume with the same mode and owner (extended attributes and ACLs are not carried over).
// A bound inside a bounded directory takes its contents out of the outer bound with project
// quotas but not on btrfs, where both apply.
func (a *Area) Limit(path string, bytes int64) error {
	if bytes <= 0 {
		return fmt.Errorf("limit %s: bound %d is not positive", path, bytes)
	}
	parent, name, err := a.locate(path)
	if err != nil {
		return err
	}
	defer a.closeParent(parent)
	dir, err := openDirAt(parent, name)
	if err != nil {
		return fmt.Errorf("limit %s: %w", path, err)
	}
	_, err = dir.Readdirnames(1)
	dir.Close()
	if err != io.EOF {
		if err == nil {
			err = errors.New("directory is not empty")
		}
		return fmt.Errorf("limit %s: %w", path, err)
	}
	if err := a.enf.limitDir(parent, name, bytes); err != nil {
		return fmt.Errorf("limit %s: %w", path, err)
	}
	return nil
}

// Release removes path with everything under it and frees its bound; a directory in the root
// is instead emptied and kept with its bound for a later Dir when nothing of its use can show
// (reuse.go). Nothing may hold anything under path open any more, cwd included: it could
// reach the next user. It refuses while anything is mounted on or below path: removing
// through a mount would empty what is mounted.
func (a *Area) Release(path string) error {
	parent, name, err := a.locate(path)
	if err != nil {
		return err
	}
	defer a.closeParent(parent)
	under, err := mountsUnder(filepath.Join(parent.Name(), name), true)
	if err != nil {
		return fmt.Errorf("release %s: %w", path, err)
	}
	if len(under) > 0 {
		return fmt.Errorf("release %s: still mounted on or below it: %s", path, strings.Join(under, ", "))
	}
	if a.recycle(parent, name) {
		return nil
	}
	if err := a.enf.remove(parent, name); err != nil {
		return fmt.Errorf("release %s: %w", path, err)
	}
	return nil
}

// Used reports the bytes charged to path's bound; path must be a directory that Dir made or
// Limit bounded (ErrNotLimited otherwise).
func (a *Area) Used(path string) (int64, error) {
	parent, name, err := a.locate(path)
	if err != nil {
		return 0, err
	}
	defer a.closeParent(parent)
	dir, err := openDirAt(parent, name)
	if err != nil {
		return 0, fmt.Errorf("used %s: %w", path, err)
	}
	defer dir.Close()
	n, err := a.enf.used(dir)
	if err != nil {
		return 0, fmt.Errorf("used %s: %w", path, err)
	}
	return n, nil
}

// Sweep removes everything in the area and frees every bound, for startup after a crash:
// nothing a previous process left survives, directories kept for reuse included. Mounts left
// below the root are detached first. It must not run concurrently with Dir, Limit or Release.
func (a *Area) Sweep() error {
	a.free.clear()
	under, err := mountsUnder(a.root, false)
	if err != nil {
		return fmt.Errorf("sweep %s: %w", a.root, err)
	}
	sort.Slice(under, func(i, j int) bool { return len(under[i]) > len(under[j]) })
	for _, p := range under {
		if err := unix.Unmount(p, unix.MNT_DETACH); err != nil && !errors.Is(err, unix.EINVAL) {
			return fmt.Errorf("sweep %s: unmount %s: %w", a.root, p, err)
		}
	}
	names, err := readNames(a.rootF)
	if err != nil {
		return fmt.Errorf("sweep %s: %w", a.root, err)
	}
	var errs []error
	for _, name := range names {
		if name != lostFound {
			errs = append(errs, a.enf.remove(a.rootF, name))
		}
	}
	errs = append(errs, a.enf.sweep(a.img != ""))
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("sweep %s: %w", a.root, err)
	}
	return nil
}

// Close unmounts the area's own image (its loop device then detaches itself) and leaves any
// other filesystem mounted; data stays (kept directories too), for Sweep at the next start.
func (a *Area) Close() error {
	a.closeOnce.Do(func() {
		if a.enf != nil {
			a.enf.closeReuse()
		}
		if a.rootF != nil {
			a.rootF.Close()
		}
		if a.owned {
			if err := unix.Unmount(a.root, 0); err != nil {
				a.closeErr = fmt.Errorf("close area %s: unmount: %w", a.root, err)
			}
		}
	})
	return a.closeErr
}
