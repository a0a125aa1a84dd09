//go:build linux

package diskquota

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// Filesystem kinds an image can hold.
const (
	kindExt4  = "ext4"
	kindBtrfs = "btrfs"
)

// mountFlags keep device nodes and set-id programs of untrusted jobs inert on the area.
const mountFlags = unix.MS_NODEV | unix.MS_NOSUID

// mountData is what each kind is mounted with: ext4 enforces project quotas only when asked
// (prjquota), and its inode tables are all zero already in a sparse file, so the background
// zeroing thread (noinit_itable) would only turn holes into written zeros. btrfs turns quotas on
// with an ioctl instead, and discards freed extents itself (discard=async) on a loop device.
var mountData = map[string]string{
	kindExt4:  "prjquota,noinit_itable,discard",
	kindBtrfs: "discard=async",
}

// mountEntry is one line of /proc/self/mountinfo.
type mountEntry struct {
	devMajor, devMinor uint32
	point, fstype      string
	source, options    string
}

// readMounts returns /proc/self/mountinfo parsed: the kernel's own view of this mount
// namespace, which (unlike mtab) also shows what a process killed before it could clean up
// left behind. It is read again only when it changed (mounts.go); callers must not modify it.
func readMounts() ([]mountEntry, error) { return mountTable.get() }

func parseMounts(raw []byte) ([]mountEntry, error) {
	var out []mountEntry
	sc := bufio.NewScanner(bytes.NewReader(raw))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		left, right, ok := strings.Cut(sc.Text(), " - ")
		f, g := strings.Fields(left), strings.Fields(right)
		if !ok || len(f) < 5 || len(g) < 3 {
			continue
		}
		var e mountEntry
		if _, err := fmt.Sscanf(f[2], "%d:%d", &e.devMajor, &e.devMinor); err != nil {
			continue
		}
		e.point, e.fstype, e.source, e.options = unescapeMount(f[4]), g[0], unescapeMount(g[1]), g[2]
		out = append(out, e)
	}
	return out, sc.Err()
}

// unescapeMount undoes mountinfo's octal escapes (\040 for a space, \011, \012, \134).
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+4 <= len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// mountAt returns the topmost mount whose mount point is dir, if any.
func mountAt(dir string) (mountEntry, bool, error) {
	mounts, err := readMounts()
	if err != nil {
		return mountEntry{}, false, err
	}
	for i := len(mounts) - 1; i >= 0; i-- {
		if mounts[i].point == dir {
			return mounts[i], true, nil
		}
	}
	return mountEntry{}, false, nil
}

// mountsUnder lists mount points strictly below dir — and dir itself when withDir is set:
// deleting a tree must never walk into one (a bind-mounted host directory would be emptied), and
// opening dir by name would enter a filesystem mounted on it.
func mountsUnder(dir string, withDir bool) ([]string, error) {
	mounts, err := readMounts()
	if err != nil {
		return nil, err
	}
	var out []string
	for _, m := range mounts {
		if (withDir && m.point == dir) || strings.HasPrefix(m.point, dir+"/") {
			out = append(out, m.point)
		}
	}
	return out, nil
}

// loopBackingFile returns the file behind a loop device such as /dev/loop3, or "" if the device
// is not a loop device or is unbound.
func loopBackingFile(dev string) string {
	name := filepath.Base(dev)
	if !strings.HasPrefix(name, "loop") {
		return ""
	}
	b, err := os.ReadFile(filepath.Join("/sys/block", name, "loop", "backing_file"))
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// imageKind tells which filesystem an image holds by its superblock magic, or "" if neither.
func imageKind(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	buf := make([]byte, 8)
	// ext4's superblock starts at 1024; its 16-bit magic sits 56 bytes in.
	if _, err := f.ReadAt(buf[:2], 1024+56); err == nil && buf[0] == 0x53 && buf[1] == 0xEF {
		return kindExt4, nil
	}
	// btrfs's superblock starts at 64 KiB; its 8-byte magic sits 64 bytes in.
	if _, err := f.ReadAt(buf, 0x10000+0x40); err == nil && string(buf) == "_BHRfS_M" {
		return kindBtrfs, nil
	}
	return "", nil
}

// makeImage creates a sparse image of size bytes at path holding a new filesystem of kind. It
// formats a temporary file and renames it into place, so a crash mid-way never leaves a
// half-formatted image that a later Open would try to mount.
func makeImage(path, kind string, size int64) error {
	tmp := path + ".tmp"
	_ = os.Remove(tmp)
	f, err := os.OpenFile(tmp, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("create image: %w", err)
	}
	err = f.Truncate(size)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = mkfs(tmp, kind, size)
	}
	if err == nil {
		err = syncFile(tmp)
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("make %s image %s: %w", kind, path, err)
	}
	return nil
}

// mkfs formats the image. Lazy initialisation keeps this fast on a sparse file: nothing is
// zeroed that already reads as zero.
func mkfs(path, kind string, size int64) error {
	var cmd *exec.Cmd
	switch kind {
	case kindExt4:
		// quotatype=prjquota: only project usage is tracked; user and group accounting would cost
		// on every write for nothing. -m 0: no blocks held back for root, the area is all jobs'.
		cmd = exec.Command("mkfs.ext4", "-F", "-q", "-m", "0", "-L", "barge-area", "-O", "quota,project",
			"-E", "quotatype=prjquota,lazy_itable_init=1,lazy_journal_init=1,nodiscard", path)
	case kindBtrfs:
		// One device: duplicating metadata on it protects nothing. Below 1 GiB btrfs itself
		// recommends mixed block groups, which also lowers its minimum size.
		args := []string{"-q", "-f", "-L", "barge-area", "-m", "single", "-d", "single"}
		if size < 1<<30 {
			args = append(args, "--mixed")
		}
		cmd = exec.Command("mkfs.btrfs", append(args, path)...)
	default:
		return fmt.Errorf("unknown filesystem kind %q", kind)
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%s: %w: %s", cmd.Path, err, bytes.TrimSpace(out))
	}
	return nil
}

func syncFile(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}

// mountImage binds img to a free loop device and mounts it on dir. The loop device is set to
// clear itself (LO_FLAGS_AUTOCLEAR) when its last user goes: after the unmount, or at once if
// this process dies before mounting, so no step can leak a device.
func mountImage(img, dir, kind string) (dev string, err error) {
	devFile, dev, err := attachLoop(img)
	if err != nil {
		return "", err
	}
	// The device must stay open until the mount holds it, or autoclear would unbind it first.
	defer devFile.Close()
	if err := unix.Mount(dev, dir, kind, mountFlags, mountData[kind]); err != nil {
		return "", fmt.Errorf("mount %s (%s on %s) on %s: %w", kind, dev, img, dir, err)
	}
	return dev, nil
}

// attachLoop binds img to a free loop device with LOOP_CONFIGURE (one ioctl, Linux 5.8+) and
// returns the open device.
func attachLoop(img string) (*os.File, string, error) {
	ctl, err := os.OpenFile("/dev/loop-control", os.O_RDWR, 0)
	if err != nil {
		return nil, "", fmt.Errorf("loop devices: %w", err)
	}
	defer ctl.Close()
	backing, err := os.OpenFile(img, os.O_RDWR, 0)
	if err != nil {
		return nil, "", fmt.Errorf("open image: %w", err)
	}
	defer backing.Close()
	cfg := unix.LoopConfig{Fd: uint32(backing.Fd())}
	cfg.Info.Flags = unix.LO_FLAGS_AUTOCLEAR
	copy(cfg.Info.File_name[:len(cfg.Info.File_name)-1], img)
	// Another process may take the device LOOP_CTL_GET_FREE offered before we bind it: then the
	// bind fails with EBUSY and we ask again.
	for attempt := 0; attempt < 16; attempt++ {
		n, err := unix.IoctlRetInt(int(ctl.Fd()), unix.LOOP_CTL_GET_FREE)
		if err != nil {
			return nil, "", fmt.Errorf("find a free loop device: %w", err)
		}
		dev := fmt.Sprintf("/dev/loop%d", n)
		f, err := openLoopDevice(dev, n)
		if err != nil {
			return nil, "", err
		}
		err = unix.IoctlLoopConfigure(int(f.Fd()), &cfg)
		if err == nil {
			return f, dev, nil
		}
		f.Close()
		if !errors.Is(err, unix.EBUSY) {
			return nil, "", fmt.Errorf("bind %s to %s: %w", img, dev, err)
		}
	}
	return nil, "", fmt.Errorf("bind %s: every free loop device was taken by others first", img)
}

// openLoopDevice opens /dev/loopN, making the node if /dev is not a devtmpfs that made it.
func openLoopDevice(dev string, n int) (*os.File, error) {
	f, err := os.OpenFile(dev, os.O_RDWR|unix.O_CLOEXEC, 0)
	if errors.Is(err, os.ErrNotExist) {
		if err := unix.Mknod(dev, unix.S_IFBLK|0o600, int(unix.Mkdev(7, uint32(n)))); err != nil && !errors.Is(err, os.ErrExist) {
			return nil, fmt.Errorf("make %s: %w", dev, err)
		}
		f, err = os.OpenFile(dev, os.O_RDWR|unix.O_CLOEXEC, 0)
	}
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", dev, err)
	}
	return f, nil
}

// imageSize is the image's apparent size (what it can hold), for Describe.
func imageSize(img string) int64 {
	st, err := os.Stat(img)
	if err != nil {
		return 0
	}
	return st.Size()
}

// readSmall reads a small sysfs or proc file as a trimmed string.
func readSmall(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, 4096))
	return strings.TrimSpace(string(b)), err
}
