//go:build linux && !cgo

package sandbox

// Without cgo there is no constructor to run before the Go runtime, so no sandbox.
const haveInit = false
