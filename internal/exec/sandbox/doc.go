// Package sandbox runs one command isolated on this host: its own PID, mount, UTS and IPC
// namespaces, its own cgroup (memory, CPU quota, pids limit; cgroup v1 or v2, whichever the host
// uses), a private /proc, /dev, /tmp, a root filesystem that is either an unpacked OCI image with a
// per-attempt overlay layer or the host's filesystem read-only with barge's data hidden, host
// volumes, ulimits, a user, and Docker's default capability set.
//
// How: barge starts its own executable (/proc/self/exe) in new namespaces; a C constructor
// (nsinit.c) runs before the Go runtime, reads a plan of mount, credential and exec operations
// that this package computed (plan.go), applies it and execs the command. All policy is Go; the C
// side is a small interpreter, so a sandbox costs one extra exec, not a Go program's start. Cgroups
// are managed with containerd/cgroups. See docs/isolation.md.
//
// Needs Linux, root and cgo; Probe says what the host offers, and callers fall back to plain
// processes (saying so) when it is not enough.
package sandbox
