//go:build linux

package sandbox

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"golang.org/x/sys/unix"

	bexec "github.com/barge-run/barge/internal/exec"
)

// openVolume opens a volume's host path beneath the volume root it lies in, as a descriptor the
// sandbox mounts: the kernel resolves every component without leaving the root (RESOLVE_BENEATH:
// no "..", no absolute symlink, no symlink out) and without magic links, so swapping a component
// for a symlink between a check and the mount can never redirect the mount elsewhere.
func (s *Sandbox) openVolume(m bexec.Mount) (*os.File, error) {
	if !filepath.IsAbs(m.Source) || !filepath.IsAbs(m.Target) {
		return nil, fmt.Errorf("volume %s on %s: both paths must be absolute", m.Source, m.Target)
	}
	for _, root := range s.opts.VolumeRoots {
		if !within(m.Source, root) {
			continue
		}
		rel, err := filepath.Rel(root, m.Source)
		if err != nil {
			return nil, err
		}
		dir, err := unix.Open(root, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if err != nil {
			return nil, fmt.Errorf("volume root %s: %w", root, err)
		}
		defer unix.Close(dir)
		fd, err := unix.Openat2(dir, rel, &unix.OpenHow{
			Flags:   unix.O_PATH | unix.O_CLOEXEC,
			Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_MAGICLINKS,
		})
		if err != nil {
			return nil, fmt.Errorf("volume sourcePath %s: %w (resolved beneath the volume root %s)", m.Source, err, root)
		}
		f := os.NewFile(uintptr(fd), m.Source)
		// What the descriptor is, whatever path led there: never barge's own data.
		real, err := os.Readlink("/proc/self/fd/" + strconv.Itoa(fd))
		if d := s.opts.DataDir; err != nil || (d != "" && (within(real, d) || within(d, real))) {
			f.Close()
			return nil, fmt.Errorf("volume sourcePath %s: barge's data directory %s is not available to jobs", m.Source, d)
		}
		return f, nil
	}
	return nil, fmt.Errorf("volume sourcePath %s: not under a volume root this barge allows (--volume-root)", m.Source)
}

// checkMount is how volumes were checked before volume roots: by path, then mounted by path,
// which a symlink swapped in between defeats. Only the "volumes" unsafe mode uses it.
func (s *Sandbox) checkMount(m bexec.Mount) error {
	if !filepath.IsAbs(m.Source) || !filepath.IsAbs(m.Target) {
		return fmt.Errorf("volume %s on %s: both paths must be absolute", m.Source, m.Target)
	}
	src, err := filepath.EvalSymlinks(m.Source)
	if err != nil {
		return fmt.Errorf("volume sourcePath %s: %w", m.Source, err)
	}
	if d := s.opts.DataDir; d != "" && (within(src, d) || within(d, src)) {
		return fmt.Errorf("volume sourcePath %s: barge's data directory %s is not available to jobs", m.Source, d)
	}
	return nil
}
