//go:build linux && cgo

package sandbox

// The C constructor in nsinit.c is linked into every binary that imports this package; it only
// acts when _BARGE_NSINIT is set (a sandbox being started).

// #cgo CFLAGS: -O2 -Wall
import "C"

const haveInit = true
