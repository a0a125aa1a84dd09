//go:build !linux

package local

import "syscall"

// plainAttr makes a plain attempt its own process group (there is no parent-death signal off
// Linux: an attempt can outlive a barge killed with SIGKILL).
func plainAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setpgid: true} }
