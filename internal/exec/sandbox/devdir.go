//go:build linux

package sandbox

import (
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// prepareDev makes dir the /dev every sandbox gets: Docker's standard nodes (null, zero, full,
// random, urandom, tty), its links (fd, stdin, stdout, stderr, ptmx) and the mount points of shm
// and pts. It returns "" when the directory's filesystem keeps devices from working (nodev) or
// it cannot be made; sandboxes then build /dev node by node.
func prepareDev(dir string) string {
	os.RemoveAll(dir)
	if err := os.Mkdir(dir, 0o755); err != nil {
		return ""
	}
	var st unix.Statfs_t
	if unix.Statfs(dir, &st) != nil || st.Flags&unix.ST_NODEV != 0 {
		return ""
	}
	for _, d := range devices {
		node := filepath.Join(dir, d.name)
		// Chmod after: the umask is the process's, not to be changed under other goroutines.
		if unix.Mknod(node, unix.S_IFCHR|0o666, int(unix.Mkdev(d.major, d.minor))) != nil || os.Chmod(node, 0o666) != nil {
			return ""
		}
	}
	for link, target := range map[string]string{"fd": "/proc/self/fd", "stdin": "/proc/self/fd/0",
		"stdout": "/proc/self/fd/1", "stderr": "/proc/self/fd/2", "ptmx": "pts/ptmx"} {
		if os.Symlink(target, filepath.Join(dir, link)) != nil {
			return ""
		}
	}
	shm := filepath.Join(dir, "shm")
	if os.Mkdir(shm, 0o755) != nil || os.Chmod(shm, os.ModeSticky|0o777) != nil || os.Mkdir(filepath.Join(dir, "pts"), 0o755) != nil {
		return ""
	}
	return dir
}
