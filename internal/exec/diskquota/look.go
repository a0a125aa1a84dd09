//go:build linux

package diskquota

import (
	"bytes"
	"fmt"
	"os"
	"slices"
	"unsafe"

	"golang.org/x/sys/unix"
)

// look is what the user of a bounded directory can see of the directory itself and could have
// changed: owner and mode, size, inode flags (chattr: nodatacow, compression, sync, project
// inheritance, …), the fsxattr fields (extent size hints) and extended attributes, ACLs and
// btrfs properties among them. A directory is reused only if, once emptied, it matches a fresh
// one in all of these, owner and mode being reset. Times are set anew when it is handed out.
type look struct {
	mode, uid, gid uint32
	size           int64 // a grown ext4 directory never shrinks; btrfs's counts its entries
	flags          uint32
	fsx            fsxattr // Projid is the backend's to check, Nextents is not the user's
	xattrs         []byte  // name, value pairs in name order, NUL-separated
}

func lookAt(dir *os.File) (look, error) {
	var l look
	err := withFd(dir, func(fd uintptr) error {
		var st unix.Stat_t
		if err := unix.Fstat(int(fd), &st); err != nil {
			return err
		}
		l.mode, l.uid, l.gid, l.size = st.Mode&0o7777, st.Uid, st.Gid, st.Size
		var err error
		if l.flags, err = unix.IoctlGetUint32(int(fd), unix.FS_IOC_GETFLAGS); err != nil {
			return fmt.Errorf("inode flags: %w", err)
		}
		if err := ioctlPtr(fd, fsIocFsgetxattr, unsafe.Pointer(&l.fsx)); err != nil {
			return fmt.Errorf("fsxattr: %w", err)
		}
		l.fsx.Projid, l.fsx.Nextents = 0, 0
		l.xattrs, err = xattrsOf(int(fd))
		return err
	})
	if err != nil {
		return look{}, fmt.Errorf("look at %s: %w", dir.Name(), err)
	}
	return l, nil
}

// xattrsOf lists fd's extended attributes with their values.
func xattrsOf(fd int) ([]byte, error) {
	n, err := unix.Flistxattr(fd, nil)
	if err != nil || n == 0 {
		return nil, err
	}
	list := make([]byte, n)
	if n, err = unix.Flistxattr(fd, list); err != nil {
		return nil, err // ERANGE too: the list grew, and nothing should be changing it
	}
	names := bytes.Split(bytes.TrimRight(list[:n], "\x00"), []byte{0})
	slices.SortFunc(names, bytes.Compare)
	var out []byte
	for _, name := range names {
		size, err := unix.Fgetxattr(fd, string(name), nil)
		if err != nil {
			return nil, err
		}
		val := make([]byte, size)
		if size, err = unix.Fgetxattr(fd, string(name), val); err != nil {
			return nil, err
		}
		out = append(append(append(out, name...), 0), val[:size]...)
		out = append(out, 0)
	}
	return out, nil
}

// restore makes the emptied directory dir look like fresh, which a directory Dir made looked
// like: owner and mode are set back; anything else the previous user could have changed must
// already match, or errNotReusable.
func (fresh *look) restore(dir *os.File) error {
	l, err := lookAt(dir)
	if err != nil {
		return err
	}
	if l.size != fresh.size || l.flags != fresh.flags || l.fsx != fresh.fsx || !bytes.Equal(l.xattrs, fresh.xattrs) {
		return fmt.Errorf("%s differs from a new directory (size %d, flags %#x, fsxattr %+v, %d bytes of xattrs): %w",
			dir.Name(), l.size, l.flags, l.fsx, len(l.xattrs), errNotReusable)
	}
	return withFd(dir, func(fd uintptr) error {
		// Owner first: a chown clears set-id bits, which the chmod then sets as fresh has them.
		if l.uid != fresh.uid || l.gid != fresh.gid {
			if err := unix.Fchown(int(fd), int(fresh.uid), int(fresh.gid)); err != nil {
				return fmt.Errorf("reset owner of %s: %w", dir.Name(), err)
			}
		}
		if l.mode != fresh.mode || l.uid != fresh.uid || l.gid != fresh.gid {
			if err := unix.Fchmod(int(fd), fresh.mode); err != nil {
				return fmt.Errorf("reset mode of %s: %w", dir.Name(), err)
			}
		}
		return nil
	})
}
