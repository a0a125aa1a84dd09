// Package sandbox runs one command isolated on this host: its own PID, mount, UTS and IPC
// namespaces, its own cgroup (memory, CPU quota, pids limit; cgroup v1 or v2, whichever the host
// uses), a private /proc, /dev, /tmp, a root filesystem that is either an unpacked OCI image with a
// per-attempt overlay layer or the host's filesystem read-only with barge's data hidden, host
// volumes, ulimits, a user, and Docker's default capability set.
//
// How: all policy is Go — Start computes a plan of mount, cgroup, credential and exec operations
// (plan.go) and creates the cgroup with containerd/cgroups (cgroup.go). A zygote does the cloning
// (zygote.go): barge's own executable started once with _BARGE_NSINIT=zygote, where a C
// constructor (nsinit.c) takes over before the Go runtime starts and never returns to Go, so the
// process stays small and cheap to clone. For each sandbox it clones a child into new namespaces;
// the child interprets the plan and execs the command, and the zygote relays its exit. See
// docs/isolation.md.
//
// Needs Linux, root and cgo; Probe says what the host offers and New runs a test sandbox, so
// callers can fall back to plain processes (saying so) when it is not enough.
package sandbox
