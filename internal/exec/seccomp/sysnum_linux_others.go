//go:build linux && !amd64 && !arm64

package seccomp

// syscallNumbers is empty where mksysnum.go generates no table: Program reports the
// architecture as unsupported rather than compile a filter that would deny everything.
var syscallNumbers map[string]uint32
