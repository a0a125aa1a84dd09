//go:build linux

package sandbox

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"golang.org/x/sys/unix"

	"github.com/barge-run/barge/internal/exec/diskquota"
)

// DefaultDiskBytes bounds a sandbox's writes when neither the caller nor the options say.
const DefaultDiskBytes = 20 << 30

// openDisk prepares the area that bounds sandboxes' writable space: <data>/scratch, on a
// filesystem the kernel can bound per directory (diskquota). Its image, when one is needed, is
// sparse and sized at half the data directory's free space, so that sandboxes all together
// cannot fill the disk under barge's store either.
func openDisk(dataDir string) (*diskquota.Area, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(dataDir, &st); err != nil {
		return nil, err
	}
	size := int64(st.Bavail) * st.Bsize / 2
	area, err := diskquota.Open(filepath.Join(dataDir, "scratch"), size)
	if err != nil {
		return nil, err
	}
	// Whatever a previous barge left there (a kill -9 leaves its attempts' space) is garbage.
	if err := area.Sweep(); err != nil {
		area.Close()
		return nil, err
	}
	return area, nil
}

// space is one sandbox's bounded writable space: the directories it writes in, all charged to
// one bound. Without an area they are plain directories beside the attempt's.
type space struct {
	dir  string // "" when the sandbox has none (no area): the old layout is used
	base uint32
}

// newSpace makes the bounded directory of one sandbox.
func (s *Sandbox) newSpace(name string, bytes int64, base uint32) (space, error) {
	if s.disk == nil {
		return space{}, nil
	}
	if bytes <= 0 {
		bytes = s.opts.DiskBytes
	}
	if bytes <= 0 {
		bytes = DefaultDiskBytes
	}
	d, err := s.disk.Dir(name, bytes)
	if err != nil {
		return space{}, fmt.Errorf("disk space: %w", err)
	}
	return space{dir: d, base: base}, nil
}

// sub is a directory inside the space, made on first use and owned by the sandbox's root.
func (sp space) sub(name string, mode os.FileMode) (string, error) {
	d := filepath.Join(sp.dir, name)
	if err := os.Mkdir(d, mode); err != nil && !os.IsExist(err) {
		return "", err
	}
	os.Chmod(d, mode) // past the umask
	if sp.base != 0 {
		if err := own(sp.base, d); err != nil {
			return "", err
		}
	}
	return d, nil
}

// releaseSpace gives the space back (it runs off the sandbox's exit path).
func (s *Sandbox) releaseSpace(sp space) {
	if sp.dir != "" {
		s.disk.Release(sp.dir)
	}
}

// diskProtection says how writable space is bounded.
func (s *Sandbox) diskProtection() Protection {
	switch {
	case s.unsafe["disk"]:
		return Protection{"disk", false, "turned off: writes bounded only by the host's disk"}
	case s.disk == nil:
		return Protection{"disk", false, s.diskLacking + "; writes bounded only by the host's disk"}
	}
	return Protection{"disk", true, fmt.Sprintf("the working directory, /tmp, an image's writable layer and scratch volumes together at most ephemeralStorage (default %s): %s",
		sizeText(s.opts.DiskBytes), s.disk.Describe())}
}

func sizeText(n int64) string {
	if n <= 0 {
		n = DefaultDiskBytes
	}
	if n%(1<<30) == 0 {
		return strconv.FormatInt(n>>30, 10) + " GiB"
	}
	return strconv.FormatInt(n>>20, 10) + " MiB"
}
