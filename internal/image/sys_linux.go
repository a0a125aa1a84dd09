package image

import (
	"os"

	"golang.org/x/sys/unix"
)

// syncFS flushes the filesystem holding dir, so a rootfs is on disk before config.json marks it
// complete and a power cut cannot leave a "complete" image with empty files. One syncfs is far
// cheaper than an fsync per file.
func syncFS(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var syncErr error
	if err := rc.Control(func(fd uintptr) { syncErr = unix.Syncfs(int(fd)) }); err != nil {
		return err
	}
	return syncErr
}

// mkfifoat creates the named pipe name in the directory open as dirfd.
func mkfifoat(dirfd int, name string, mode uint32) error {
	return unix.Mkfifoat(dirfd, name, mode)
}
