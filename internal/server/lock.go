package server

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// lockDataDir takes an exclusive lock on the data directory for this process's life (an flock on
// <dir>/lock, which the kernel drops when the process dies, even by kill -9). A second server on
// the same directory would sweep the first one's sandboxes, take over its store and run its jobs
// twice; it stops here instead, naming the holder. Commands that only read the directory (env,
// jobs, logs…) never take the lock.
func lockDataDir(dir string) (*os.File, error) {
	path := filepath.Join(dir, "lock")
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("data dir lock: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			holder := "another process"
			if b, _ := os.ReadFile(path); len(strings.TrimSpace(string(b))) > 0 {
				holder = "barge pid " + strings.TrimSpace(string(b))
			}
			return nil, fmt.Errorf("data directory %s is in use by %s (another barge server); stop it, or give this one its own --data-dir", dir, holder)
		}
		return nil, fmt.Errorf("data dir lock %s: %w", path, err)
	}
	if err := f.Truncate(0); err == nil {
		f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return f, nil
}
