package sandbox

import bexec "github.com/barge-run/barge/internal/exec"

// Options configures a Sandbox.
type Options struct {
	// DataDir is barge's data directory: hidden from host-filesystem sandboxes (other jobs'
	// files, the database, credentials), and never allowed as a volume source.
	DataDir string
	// CgroupParent names the group sandboxes are created under; default "barge/<hash of
	// DataDir>", so that barges with different data directories never sweep each other's.
	CgroupParent string
	// PidsLimit caps the processes of one sandbox; default 1024.
	PidsLimit int64
	// VolumeRoots are the host directories under which volumes' host paths may lie (the
	// operator's --volume-root); none means no host volumes at all.
	VolumeRoots []string
	// DiskBytes is the default bound of a sandbox's writable space (--ephemeral-storage).
	DiskBytes int64
	// HostUsers turns user namespaces off: root in a sandbox is then root on the host (with
	// Docker's capabilities). Unsafe for untrusted code (--userns host).
	HostUsers bool
	// HostNetwork shares the host's network with every sandbox instead of giving each its own
	// loopback-only namespace. Unsafe for untrusted code (--job-network host).
	HostNetwork bool
	// NetworkNAT gives each sandbox's network namespace outbound connectivity through pasta's
	// user-mode NAT (--job-network nat; the passt package): a tap interface with 10.0.2.100/24
	// and a default route via 10.0.2.2, no inbound port forwarded, the host's loopback and the
	// link-local range (instance metadata) unreachable. New fails without pasta in PATH.
	NetworkNAT bool
	// Unsafe turns named protections off, for tests that show an attack would succeed without
	// them: "masks" (/proc and /sys as the host has them), "seccomp", "mknod" (CAP_MKNOD kept,
	// writable mounts without nodev), "volumes" (volumes checked and mounted by path, no roots).
	Unsafe []string
	// Strict refuses to make a Sandbox that cannot enforce every protection (--isolation
	// sandbox), instead of running with what the host allows and saying what is missing.
	Strict bool
	// PoolDepth is how many sandboxes of each shape are prepared ahead of their jobs (pool.go);
	// 0 is DefaultPoolDepth, negative prepares none.
	PoolDepth int
}

// Config is one sandbox.
type Config struct {
	ID   string
	Argv []string // Argv[0] is looked up in the sandbox's PATH (from Env)
	Env  []string
	// RootFS is an unpacked image's root filesystem (shared, read-only); "" runs on the host's
	// filesystem, read-only, in Dir.
	RootFS string
	// Cwd is the working directory inside an image sandbox; "" means "/".
	Cwd string
	// Dir is the attempt's directory on the host: the working directory of a host sandbox, or
	// where an image sandbox keeps its writable layer.
	Dir         string
	DirReadOnly bool
	Mounts      []bexec.Mount
	// ReadonlyRootFS makes an image's root read-only too.
	ReadonlyRootFS bool
	User           string // see exec.Spec.User
	Ulimits        []bexec.Ulimit
	// InitProcess keeps barge's init as PID 1 (linuxParameters.initProcessEnabled): it forwards
	// signals and reaps orphans. Without it the command is PID 1, as in Docker.
	InitProcess bool
	// Privileged keeps every capability and the host's /dev.
	Privileged bool
	// ShmMiB sizes /dev/shm; 0 is 64 MiB.
	ShmMiB    int64
	Hostname  string
	MilliVCPU int64
	MemoryMiB int64
	// Tenant names the account: each tenant's sandboxes run as a range of host ids of its own.
	Tenant string
	// DiskBytes bounds what the sandbox writes (working directory, /tmp, an image's writable
	// layer, scratch volumes together); 0 is Options.DiskBytes.
	DiskBytes int64
	// Listen are addresses ("127.0.0.1:9001") to listen on inside the sandbox's network; the
	// listeners come back in Proc.Listeners, in this order.
	Listen []string
	// Gate, when set, is called once the sandbox is prepared, just before its command is exec'd:
	// an error aborts the start (the sandbox is killed and released) and is Start's.
	Gate func() error
}
