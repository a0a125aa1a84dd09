//go:build !linux

package image

import "errors"

// Off Linux these are stand-ins: barge only runs images on Linux, and other systems build this
// package for development only.

// syncFS does nothing: there is no syncfs.
func syncFS(dir string) error { return nil }

// mkfifoat fails: named pipes in images are only supported on Linux.
func mkfifoat(dirfd int, name string, mode uint32) error {
	return errors.New("named pipes are only supported on Linux")
}
