//go:build !linux

package seccomp

import (
	"errors"
	"runtime"
)

// Program is not available off Linux: there is no seccomp to install it with.
func Program(caps []string) ([]byte, error) {
	return nil, errors.New("seccomp: not available on " + runtime.GOOS)
}

// Describe says that no profile is available off Linux.
func Describe([]string, []uint32) string {
	return "Docker's default seccomp profile: not available on " + runtime.GOOS
}
