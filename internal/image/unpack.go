package image

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
)

// unpack writes the flattened image tar read from r into root.
//
// It expects the stream mutate.Extract produces: whiteouts already applied, every path at most
// once, and upper layers first. So when an entry's path already exists, it was created as the
// implicit parent directory of an entry from a higher layer; the higher layer wins and the entry
// is skipped (a directory entry still gets its metadata).
//
// Every name and hard-link target goes through os.Root, which refuses anything resolving outside
// root (absolute names, "..", symlinks leading out); such an entry fails the whole unpack rather
// than being skipped, because an image built that way is broken or hostile and should not run.
// Device nodes are skipped: the sandbox provides /dev.
func unpack(root *os.Root, r io.Reader) error {
	u := unpacker{root: root, asRoot: os.Geteuid() == 0}
	tr := tar.NewReader(r)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			// mutate.Extract writes the end-of-archive marker even when it fails between
			// entries (a layer that cannot be fetched, fails its digest check or holds an
			// unsafe name), and reports the failure only by closing its pipe afterwards; read
			// to the real end so it is not mistaken for a complete image.
			if _, err := io.Copy(io.Discard, r); err != nil {
				return fmt.Errorf("read image layers: %w", err)
			}
			break
		}
		if err != nil {
			return fmt.Errorf("read image layers: %w", err)
		}
		if err := u.entry(hdr, tr); err != nil {
			return fmt.Errorf("unpack %q: %w", hdr.Name, err)
		}
	}
	// A hard link can arrive before its target when the target comes from a lower layer.
	for _, hdr := range u.links {
		if err := u.root.Link(hdr.Linkname, hdr.Name); err != nil && !errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("unpack %q: %w", hdr.Name, err)
		}
	}
	// Directory metadata goes last: creating an entry bumps its parent's mtime, and a read-only
	// directory mode would stop a non-root unpack from filling it.
	for i := len(u.dirs) - 1; i >= 0; i-- {
		if err := u.meta(u.dirs[i]); err != nil {
			return fmt.Errorf("unpack %q: %w", u.dirs[i].Name, err)
		}
	}
	return nil
}

type unpacker struct {
	root   *os.Root
	asRoot bool          // euid 0: ownership must be applied, not just attempted
	dirs   []*tar.Header // directory entries whose metadata is still to be applied
	links  []*tar.Header // hard links whose target did not exist yet
}

func (u *unpacker) entry(hdr *tar.Header, body io.Reader) error {
	name := path.Clean(hdr.Name)
	if name == "." {
		return nil // the root filesystem itself keeps mode 0755, owned by the unpacker
	}
	hdr.Name = name
	switch hdr.Typeflag {
	case tar.TypeChar, tar.TypeBlock:
		return nil
	case tar.TypeDir, tar.TypeReg, tar.TypeSymlink, tar.TypeLink, tar.TypeFifo:
	default:
		return nil // PAX global headers and the like carry no file
	}
	// Tars may omit parent directories, and mutate.Extract emits upper layers first, so a
	// parent's own entry may come later or never.
	if dir := path.Dir(name); dir != "." {
		if err := u.root.MkdirAll(dir, 0o755); err != nil {
			return err
		}
	}

	var err error
	switch hdr.Typeflag {
	case tar.TypeDir:
		if err = u.root.Mkdir(name, 0o700); err == nil || errors.Is(err, fs.ErrExist) {
			if fi, serr := u.root.Lstat(name); serr == nil && fi.IsDir() {
				u.dirs = append(u.dirs, hdr)
			}
			return nil
		}
		return err
	case tar.TypeReg:
		var f *os.File
		// O_EXCL: never write through whatever already sits at name, symlink or not.
		f, err = u.root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err == nil {
			_, err = io.Copy(f, body)
			if cerr := f.Close(); err == nil {
				err = cerr
			}
		}
	case tar.TypeSymlink:
		// The target is not checked: it is resolved later inside the sandbox, where "/" is
		// the root filesystem.
		if err = u.root.Symlink(hdr.Linkname, name); err == nil {
			return u.chown(name, hdr)
		}
	case tar.TypeLink:
		// Hard-link targets are names in the same archive, so relative to the root.
		err = u.root.Link(hdr.Linkname, name)
		if errors.Is(err, fs.ErrNotExist) {
			u.links = append(u.links, hdr)
			return nil
		}
		if err == nil {
			return nil // shares the target's inode, so its metadata too
		}
	case tar.TypeFifo:
		err = u.mkfifo(name)
	}
	if errors.Is(err, fs.ErrExist) {
		return nil // a higher layer's entry already holds name
	}
	if err != nil {
		return err
	}
	return u.meta(hdr)
}

// meta applies owner, mode and times. Chmod comes after Lchown because chown clears setuid bits.
func (u *unpacker) meta(hdr *tar.Header) error {
	if err := u.chown(hdr.Name, hdr); err != nil {
		return err
	}
	mode := hdr.FileInfo().Mode() & (fs.ModePerm | fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky)
	if err := u.root.Chmod(hdr.Name, mode); err != nil {
		return err
	}
	atime := hdr.AccessTime
	if atime.IsZero() {
		atime = hdr.ModTime
	}
	if hdr.ModTime.IsZero() {
		return nil
	}
	return u.root.Chtimes(hdr.Name, atime, hdr.ModTime)
}

// chown applies the entry's owner. Without root only the unpacking user can own files, so
// EPERM is expected there and ignored: the unpack still serves tests and rootless use.
func (u *unpacker) chown(name string, hdr *tar.Header) error {
	err := u.root.Lchown(name, hdr.Uid, hdr.Gid)
	if err != nil && !u.asRoot && errors.Is(err, fs.ErrPermission) {
		return nil
	}
	return err
}

// mkfifo creates a named pipe; os.Root has no Mkfifo, so it opens the parent through the root
// (which resolves it safely) and creates the last component relative to that directory.
func (u *unpacker) mkfifo(name string) error {
	dir, err := u.root.Open(path.Dir(name))
	if err != nil {
		return err
	}
	defer dir.Close()
	rc, err := dir.SyscallConn()
	if err != nil {
		return err
	}
	var mkErr error
	if err := rc.Control(func(fd uintptr) {
		mkErr = mkfifoat(int(fd), path.Base(name), 0o600)
	}); err != nil {
		return err
	}
	if mkErr != nil {
		return &fs.PathError{Op: "mkfifo", Path: name, Err: mkErr}
	}
	return nil
}
