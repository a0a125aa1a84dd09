//go:build linux

package diskquota

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

const (
	fsImmutableFl = 0x10
	fsNodumpFl    = 0x40
	bigBound      = 20 << 30 // barge's default bound
)

func TestMain(m *testing.M) {
	if mode := os.Getenv(helperEnv); mode != "" {
		os.Exit(runHelper(mode))
	}
	os.Exit(m.Run())
}

// needLoop skips when this process cannot make loop-mounted filesystems at all.
func needLoop(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: the area mounts a loop device and sets quotas")
	}
	f, err := os.OpenFile("/dev/loop-control", os.O_RDWR, 0)
	if err != nil {
		t.Skipf("loop devices unusable here: %v", err)
	}
	f.Close()
}

// forEachKind runs fn against an area on an image of each kind. A kind whose filesystem this
// kernel refuses to mount with quotas is skipped, saying why; one whose mkfs is missing fails.
func forEachKind(t *testing.T, fn func(t *testing.T, kind string)) {
	t.Helper()
	needLoop(t)
	for _, kind := range imageKinds {
		t.Run(kind, func(t *testing.T) {
			needKind(t, kind)
			fn(t, kind)
		})
	}
}

var kindProbes sync.Map // image kind → probeResult

type probeResult struct{ err error }

// needKind skips if this kernel cannot mount an image of kind with quotas (the only reason it
// may: a missing mkfs fails, naming the package to install).
func needKind(t testing.TB, kind string) {
	t.Helper()
	v, done := kindProbes.Load(kind)
	if !done {
		a, err := open(filepath.Join(t.TempDir(), "probe"), areaSize, []string{kind})
		if err == nil {
			err = a.Close()
		}
		v, _ = kindProbes.LoadOrStore(kind, probeResult{err})
	}
	err := v.(probeResult).err
	if err == nil {
		return
	}
	if kind == kindExt4 && errors.Is(err, unix.EINVAL) {
		t.Skipf("this kernel cannot mount ext4 with project quotas (it needs CONFIG_QUOTA and CONFIG_QFMT_V2; see dmesg): %v", err)
	}
	t.Fatalf("areas on %s images do not work here (mkfs.ext4 is in e2fsprogs, mkfs.btrfs in btrfs-progs): %v", kind, err)
}

// openKind opens an area at dir on an image of kind and closes it when the test ends.
func openKind(t testing.TB, dir, kind string) *Area {
	t.Helper()
	a, err := open(dir, areaSize, []string{kind})
	if err != nil {
		t.Fatalf("open area on %s: %v", kind, err)
	}
	t.Cleanup(func() {
		if err := a.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return a
}

func newArea(t testing.TB, kind string) *Area {
	t.Helper()
	return openKind(t, filepath.Join(t.TempDir(), "area"), kind)
}

// fill writes n bytes to a new file at path and syncs it, returning the bytes written and the
// first error.
func fill(path string, n int64) (int64, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return 0, err
	}
	buf := make([]byte, 64<<10)
	for i := range buf {
		buf[i] = byte(i) // not zeros: no filesystem may store them as a hole
	}
	var done int64
	for done < n && err == nil {
		var k int
		k, err = f.Write(buf[:min(int64(len(buf)), n-done)])
		done += int64(k)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return done, err
}

// mountOptions returns the per-mount options (nodev, nosuid live there, not in the
// superblock options that mountEntry keeps).
func mountOptions(t testing.TB, dir string) string {
	raw, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	opts := ""
	for _, line := range strings.Split(string(raw), "\n") {
		if f := strings.Fields(line); len(f) > 5 && unescapeMount(f[4]) == dir {
			opts = f[5]
		}
	}
	return opts
}

func countMounts(t testing.TB, dir string) int {
	mounts, err := readMounts()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, m := range mounts {
		if m.point == dir {
			n++
		}
	}
	return n
}

// areaNames lists the area's root, less what mkfs put there and the directories kept for reuse.
func areaNames(t testing.TB, a *Area) []string {
	names, err := readNames(a.rootF)
	if err != nil {
		t.Fatal(err)
	}
	return slices.DeleteFunc(names, func(n string) bool { return n == lostFound || strings.HasPrefix(n, parkPrefix) })
}

// parkedNames lists the directories kept for reuse in the area's root.
func parkedNames(t testing.TB, a *Area) []string {
	names, err := readNames(a.rootF)
	if err != nil {
		t.Fatal(err)
	}
	return slices.DeleteFunc(names, func(n string) bool { return !strings.HasPrefix(n, parkPrefix) })
}

func errnoOf(err error) int {
	var e unix.Errno
	if errors.As(err, &e) {
		return int(e)
	}
	return 0
}

// createUntilError creates empty files in dir until one fails or max exist.
func createUntilError(dir string, max int) (int, error) {
	for i := 0; i < max; i++ {
		f, err := os.Create(filepath.Join(dir, fmt.Sprintf("empty%d", i)))
		if err != nil {
			return i, err
		}
		f.Close()
	}
	return max, nil
}

func projectID(t testing.TB, dir string) uint32 {
	f, err := os.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fa, err := getFsxattr(f)
	if err != nil {
		return 0 // btrfs has no project ids
	}
	return fa.Projid
}

// imageKindHere is the kind Open picks on this machine.
func imageKindHere(t testing.TB) string {
	a, err := Open(filepath.Join(t.TempDir(), "probe"), areaSize)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	return a.fstype
}

// settle commits the filesystem, after which btrfs has accounted what was freed.
func settle(t testing.TB, a *Area) {
	t.Helper()
	if err := withFd(a.rootF, func(fd uintptr) error { return unix.Syncfs(int(fd)) }); err != nil {
		t.Fatal(err)
	}
}

// boundOf returns the id of path's bound: its subvolume id or its project id.
func boundOf(t testing.TB, a *Area, path string) uint64 {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, ok := a.enf.(*btrfsQgroups); ok {
		id, err := subvolID(f)
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	fa, err := getFsxattr(f)
	if err != nil {
		t.Fatal(err)
	}
	return uint64(fa.Projid)
}

// boundGone reports whether the area let go of bound id: btrfs removed its level-1 quota
// group (or will, once the kernel lets it), or the project went back to the pool.
func boundGone(a *Area, id uint64) bool {
	switch e := a.enf.(type) {
	case *btrfsQgroups:
		e.mu.Lock()
		stale := slices.Contains(e.stale, id)
		e.mu.Unlock()
		_, err := os.Stat(filepath.Join(e.sysfs, fmt.Sprintf("1_%d", id)))
		return stale || errors.Is(err, os.ErrNotExist)
	case *projectQuota:
		return !e.ids.holds(uint32(id))
	}
	return false
}

func lookOf(t testing.TB, path string) look {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	l, err := lookAt(f)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func setFlags(t testing.TB, path string, set, clear uint32) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDONLY|unix.O_NOFOLLOW, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	flags, err := unix.IoctlGetUint32(int(f.Fd()), unix.FS_IOC_GETFLAGS)
	if err == nil {
		flags = flags&^clear | set
		err = fileIoctl(f, unix.FS_IOC_SETFLAGS, unsafe.Pointer(&flags))
	}
	if err != nil {
		t.Fatalf("chattr %s: %v", path, err)
	}
}

func mustDir(t testing.TB, a *Area, name string, bytes int64) string {
	t.Helper()
	p, err := a.Dir(name, bytes)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func mustRelease(t testing.TB, a *Area, path string) {
	t.Helper()
	if err := a.Release(path); err != nil {
		t.Fatal(err)
	}
}
