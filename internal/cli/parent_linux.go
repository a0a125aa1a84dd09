package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"golang.org/x/sys/unix"
)

// stopWithGoRun makes the server stop (SIGTERM) when it was started by `go run` and `go run` ends.
// `go run` ignores SIGINT (the terminal sends it to the server too) but dies of SIGTERM without
// passing it on, which left the server running, orphaned, on its port. Linux's parent-death
// signal closes that gap; it is set only under `go run`, so that `nohup barge server &` and
// service managers keep the server when its parent goes.
func stopWithGoRun() {
	ppid := os.Getppid()
	if !isGoRun(ppid) {
		return
	}
	if err := unix.Prctl(unix.PR_SET_PDEATHSIG, uintptr(unix.SIGTERM), 0, 0, 0); err != nil {
		return
	}
	// The parent may have gone before the signal was armed.
	if os.Getppid() != ppid {
		unix.Kill(os.Getpid(), unix.SIGTERM)
	}
}

// isGoRun reports whether process pid is the go command running `go run`.
func isGoRun(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil {
		return false
	}
	argv := strings.Split(strings.TrimRight(string(b), "\x00"), "\x00")
	if len(argv) < 2 || filepath.Base(argv[0]) != "go" {
		return false
	}
	// `go run …`, or `go -C dir run …`.
	return slices.Contains(argv[1:min(len(argv), 4)], "run")
}
