//go:build !linux

package cli

// stopWithGoRun does nothing where there is no parent-death signal: stop the server itself.
func stopWithGoRun() {}
