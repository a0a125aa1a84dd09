package local

import "syscall"

// plainAttr makes a plain attempt its own process group that dies with barge.
func plainAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
