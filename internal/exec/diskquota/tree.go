//go:build linux

package diskquota

import (
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
// (and its parent) before it is emptied.
func removeTree(parent *os.File, name string, visit func(parent, dir *os.File)) error {
	if err := removeAt(parent, name, visit); err != nil {
		return fmt.Errorf("remove %s: %w", filepath.Join(parent.Name(), name), err)
	}
	return nil
}

func removeAt(parent *os.File, name string, visit func(parent, dir *os.File)) error {
	err := unlinkAt(parent, name, 0)
	if err == nil || errors.Is(err, unix.ENOENT) {
		return nil
	}
	if !errors.Is(err, unix.EISDIR) {
		return err
	}
	// Entries removed while a directory is read can make getdents skip others; the directory
	// is read again until rmdir succeeds, a bounded number of times.
	for pass := 0; ; pass++ {
		if err := emptyDir(parent, name, visit); err != nil {
			return err
		}
		err := unlinkAt(parent, name, unix.AT_REMOVEDIR)
		if err == nil || errors.Is(err, unix.ENOENT) {
			return nil
		}
		if !errors.Is(err, unix.ENOTEMPTY) || pass == 3 {
			return err
		}
		visit = nil
	}
}

func emptyDir(parent *os.File, name string, visit func(parent, dir *os.File)) error {
	dir, err := openDirAt(parent, name)
	if err != nil {
		return err
	}
	defer dir.Close()
	if visit != nil {
		visit(parent, dir)
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
// and last element. The kernel resolves the parent beneath the root refusing symlinks and
// mount crossings, so a job that swaps a component of a path inside its own directory cannot
// redirect the operation elsewhere.
func (a *Area) locate(path string) (*os.File, string, error) {
	rel, err := filepath.Rel(a.root, filepath.Clean(path))
	if err != nil || !filepath.IsAbs(path) || rel == "." || rel == ".." || strings.HasPrefix(rel, "../") {
		return nil, "", fmt.Errorf("%s: not inside the area %s", path, a.root)
	}
	dirRel, name := filepath.Split(rel)
	if dirRel == "" {
		dirRel = "."
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
