//go:build linux

package diskquota

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// readNames lists dir's entries through a fresh descriptor, so dir's own offset is untouched.
func readNames(dir *os.File) ([]string, error) {
	f, err := openDirAt(dir, ".")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return f.Readdirnames(-1)
}

// removeTree deletes name in parent and everything under it, resolving every entry relative to
// its open parent and never following a symlink, so an entry swapped for a symlink while the
// tree is removed is unlinked itself rather than followed. visit, if set, sees each directory
// (and its parent) before it is emptied; an error from it stops the removal.
func removeTree(parent *os.File, name string, visit visitFunc) error {
	if err := removeAt(parent, name, visit); err != nil {
		return fmt.Errorf("remove %s: %w", filepath.Join(parent.Name(), name), err)
	}
	return nil
}

// visitFunc sees a directory about to be emptied, and its parent.
type visitFunc func(parent, dir *os.File) error

// emptyTree removes everything inside dir but dir itself, as removeTree does, and returns nil
// only once a read of dir from its start finds it empty. It reads dir through dir's own
// descriptor, rewound for each pass, which nothing else may be reading. Without visit, a
// subdirectory is first simply rmdir'ed: what a sandbox leaves is mostly empty directories,
// and Release runs this on every directory it keeps.
func emptyTree(dir *os.File, visit visitFunc) error {
	buf := make([]byte, 8<<10)
	for pass := 0; ; pass++ {
		var ents []dirent
		err := withFd(dir, func(fd uintptr) (err error) {
			ents, err = readDirents(int(fd), buf)
			return err
		})
		if err != nil {
			return fmt.Errorf("empty %s: %w", dir.Name(), err)
		}
		if len(ents) == 0 {
			return nil
		}
		if pass == 3 {
			return fmt.Errorf("empty %s: %w", dir.Name(), unix.ENOTEMPTY)
		}
		for _, e := range ents {
			if visit == nil && e.typ == unix.DT_DIR && unlinkAt(dir, e.name, unix.AT_REMOVEDIR) == nil {
				continue // saves removeAt's unlink, which fails on a directory
			}
			if err := removeAt(dir, e.name, visit); err != nil {
				return fmt.Errorf("remove %s: %w", filepath.Join(dir.Name(), e.name), err)
			}
		}
	}
}

type dirent struct {
	name string
	typ  uint8 // DT_DIR, DT_REG, …; DT_UNKNOWN where the filesystem does not say
}

// readDirents reads the directory open as fd from its start, less "." and "..".
func readDirents(fd int, buf []byte) ([]dirent, error) {
	if _, err := unix.Seek(fd, 0, 0); err != nil {
		return nil, err
	}
	var out []dirent
	for {
		n, err := unix.Getdents(fd, buf)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil || n <= 0 {
			return out, err
		}
		// struct linux_dirent64: ino u64, off s64, reclen u16, type u8, NUL-terminated name.
		for b := buf[:n]; len(b) >= 19; {
			reclen := int(binary.NativeEndian.Uint16(b[16:18]))
			if reclen < 19 || reclen > len(b) {
				return out, fmt.Errorf("getdents: bad record length %d", reclen)
			}
			name := b[19:reclen]
			if i := bytes.IndexByte(name, 0); i >= 0 {
				name = name[:i]
			}
			if s := string(name); s != "." && s != ".." {
				out = append(out, dirent{name: s, typ: b[18]})
			}
			b = b[reclen:]
		}
	}
}

func removeAt(parent *os.File, name string, visit visitFunc) error {
	err := unlinkAt(parent, name, 0)
	if err == nil || errors.Is(err, unix.ENOENT) {
		return nil
	}
	if !errors.Is(err, unix.EISDIR) {
		return err
	}
	// Entries removed while a directory is read can make getdents skip others; the directory
	// is read again until rmdir succeeds, a bounded number of times. Unless visit must see it,
	// an empty directory goes at the first rmdir.
	for pass := 0; ; pass++ {
		if pass > 0 || visit != nil {
			if err := emptyDir(parent, name, visit); err != nil {
				return err
			}
		}
		err := unlinkAt(parent, name, unix.AT_REMOVEDIR)
		if err == nil || errors.Is(err, unix.ENOENT) {
			return nil
		}
		if !errors.Is(err, unix.ENOTEMPTY) || pass == 4 {
			return err
		}
		visit = nil
	}
}

func emptyDir(parent *os.File, name string, visit visitFunc) error {
	dir, err := openDirAt(parent, name)
	if err != nil {
		return err
	}
	defer dir.Close()
	if visit != nil {
		if err := visit(parent, dir); err != nil {
			return err
		}
	}
	for {
		names, err := dir.Readdirnames(1024)
		for _, n := range names {
			if err := removeAt(dir, n, visit); err != nil {
				return err
			}
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

func unlinkAt(parent *os.File, name string, flags int) error {
	return withFd(parent, func(fd uintptr) error { return unix.Unlinkat(int(fd), name, flags) })
}

// locate resolves path, which must lie strictly inside the area, to its open parent directory
// and last element; closeParent lets the parent go. The kernel resolves the parent beneath the
// root refusing symlinks and mount crossings, so a job that swaps a component of a path inside
// its own directory cannot redirect the operation elsewhere. The parent of a directory in the
// root is the area's open root itself.
func (a *Area) locate(path string) (*os.File, string, error) {
	rel, err := filepath.Rel(a.root, filepath.Clean(path))
	if err != nil || !filepath.IsAbs(path) || rel == "." || rel == ".." || strings.HasPrefix(rel, "../") {
		return nil, "", fmt.Errorf("%s: not inside the area %s", path, a.root)
	}
	dirRel, name := filepath.Split(rel)
	if dirRel == "" {
		return a.rootF, name, nil
	}
	var fd int
	err = withFd(a.rootF, func(root uintptr) error {
		var err error
		fd, err = unix.Openat2(int(root), dirRel, &unix.OpenHow{
			Flags:   unix.O_RDONLY | unix.O_DIRECTORY | unix.O_CLOEXEC,
			Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_XDEV | unix.RESOLVE_NO_MAGICLINKS,
		})
		return err
	})
	if err != nil {
		return nil, "", fmt.Errorf("%s: %w", path, err)
	}
	return os.NewFile(uintptr(fd), filepath.Join(a.root, dirRel)), name, nil
}

func (a *Area) closeParent(f *os.File) {
	if f != a.rootF {
		f.Close()
	}
}

// openDirAt opens the directory name in parent, never following a symlink.
func openDirAt(parent *os.File, name string) (*os.File, error) {
	var fd int
	err := withFd(parent, func(p uintptr) error {
		var err error
		fd, err = unix.Openat(int(p), name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", filepath.Join(parent.Name(), name), err)
	}
	return os.NewFile(uintptr(fd), filepath.Join(parent.Name(), name)), nil
}
