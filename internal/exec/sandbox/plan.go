//go:build linux

package sandbox

import (
	"bytes"
	"strconv"

	"golang.org/x/sys/unix"
)

// plan is the program nsinit.c runs inside the new namespaces: a sequence of operations, each
// an opcode byte followed by NUL-terminated arguments. Keep the opcodes in step with nsinit.c.
type plan struct {
	b     bytes.Buffer
	trees int
}

func (p *plan) op(code byte, args ...string) {
	p.b.WriteByte(code)
	for _, a := range args {
		p.b.WriteString(a)
		p.b.WriteByte(0)
	}
}

// mount is mount(2); empty source, fstype or data pass NULL.
func (p *plan) mount(source, target, fstype string, flags uintptr, data string) {
	p.op('m', source, target, fstype, strconv.FormatUint(uint64(flags), 10), data)
}

// tree has the zygote take a detached copy of the mount tree at src — a path, or "fd:N" for a
// descriptor sent with the plan — before the sandbox exists (open_tree), idmapped to the
// sandbox's user namespace if asked; it returns the copy's index for attach.
func (p *plan) tree(src string, idmap bool) int {
	flag := "0"
	if idmap {
		flag = "1"
	}
	p.op('o', src, flag)
	p.trees++
	return p.trees - 1
}

// overlay has the zygote build an overlay filesystem on tree lower with the given upper and
// work directories (nodev); it returns its index for attach.
func (p *plan) overlay(lower int, upper, work string) int {
	p.op('O', strconv.Itoa(lower), upper, work)
	p.trees++
	return p.trees - 1
}

// attach mounts tree i on target: read-only (and nosuid, nodev), or writable — nosuid and
// nodev unless plain, which keeps the tree's own flags.
func (p *plan) attach(i int, target string, readOnly, plain bool) {
	p.op('v', strconv.Itoa(i), target)
	switch {
	case readOnly:
		p.readOnly(target)
	case plain:
		p.op('W', target)
	default:
		p.op('w', target)
	}
}

// attachAs mounts tree i on target as it is (a device node keeps its mount's flags).
func (p *plan) attachAs(i int, target string) { p.op('v', strconv.Itoa(i), target) }

// readOnly makes the mount at path and every mount under it read-only, nosuid and nodev
// (mount_setattr).
func (p *plan) readOnly(path string) { p.op('r', path) }

// userns gives the sandbox a user namespace mapping root and count ids above it to the host
// ids from base; the sandbox becomes its root.
func (p *plan) userns(base uint32, count int) {
	p.op('U', strconv.FormatUint(uint64(base), 10), strconv.Itoa(count))
}

// netns gives the sandbox a network namespace of its own, with only a loopback interface.
func (p *plan) netns() { p.op('N') }

// sysfs has the zygote copy the read-only sysfs of the sandbox's network namespace (made when
// the namespace was, after netns in the plan); it returns its index for attachAs.
func (p *plan) sysfs() int {
	p.op('Y')
	p.trees++
	return p.trees - 1
}

// listen makes a listening socket at host:port in the sandbox's network and sends it to barge
// over the descriptor with index fd.
func (p *plan) listen(host, port, fd string) { p.op('L', host, port, fd) }

// seccomp installs a filter (hex of struct sock_filter[]) just before the command, with
// no_new_privs.
func (p *plan) seccomp(hexProgram string) { p.op('F', hexProgram) }

// mask hides a path: an empty read-only directory or /dev/null in its place.
func (p *plan) mask(path string) { p.op('M', path) }

// readOnlyBind binds path on itself read-only, if it exists.
func (p *plan) readOnlyBind(path string) { p.op('R', path) }

// file creates an empty file (a mount point for a device node).
func (p *plan) file(path string) { p.op('f', path) }

// mkdirAll creates path and its parents with mode.
func (p *plan) mkdirAll(path string, mode uint32) {
	p.op('k', path, strconv.FormatUint(uint64(mode), 8))
}

func (p *plan) mknod(path string, mode uint32, major, minor uint32) {
	p.op('n', path, strconv.FormatUint(uint64(mode), 8), strconv.FormatUint(uint64(major), 10), strconv.FormatUint(uint64(minor), 10))
}

func (p *plan) symlink(target, link string) { p.op('s', target, link) }

// pivot makes root the root filesystem and detaches the old one entirely.
func (p *plan) pivot(root string) { p.op('p', root) }

func (p *plan) hostname(h string) { p.op('h', h) }

// rlimit sets resource to soft/hard; -1 is unlimited.
func (p *plan) rlimit(resource int, soft, hard int64) {
	p.op('l', strconv.Itoa(resource), strconv.FormatInt(soft, 10), strconv.FormatInt(hard, 10))
}

// caps drops every capability up to last that keep does not have, from the bounding set and
// (for root) the process's own sets.
func (p *plan) caps(keep uint64, last int) {
	p.op('c', strconv.FormatUint(keep, 10), strconv.Itoa(last))
}

func (p *plan) user(uid, gid int, groups []int) {
	gs := make([]byte, 0, 16)
	for i, g := range groups {
		if i > 0 {
			gs = append(gs, ',')
		}
		gs = strconv.AppendInt(gs, int64(g), 10)
	}
	p.op('u', strconv.Itoa(uid), strconv.Itoa(gid), string(gs))
}

func (p *plan) chdir(dir string) { p.op('d', dir) }

// joinCgroup writes the sandbox itself into a cgroup.procs file.
func (p *plan) joinCgroup(procs string) { p.op('g', procs) }

// initProcess keeps nsinit as PID 1, reaping orphans and forwarding signals to the command.
func (p *plan) initProcess() { p.op('i') }

func (p *plan) env(kv string) { p.op('e', kv) }

func (p *plan) arg(a string) { p.op('a', a) }

// devices are the nodes every sandbox's /dev gets, as in Docker's default.
var devices = []struct {
	name         string
	major, minor uint32
}{
	{"null", 1, 3}, {"zero", 1, 5}, {"full", 1, 7}, {"random", 1, 8}, {"urandom", 1, 9}, {"tty", 5, 0},
}

// dev builds a private /dev: a small tmpfs with the standard nodes, links, shm and pts. The
// nodes are the host's (trees, by name), bound on empty files, so the tmpfs itself is nodev; with
// no trees (the "mknod" unsafe mode) they are made with mknod as before.
func (p *plan) dev(shmMiB int64, trees map[string]int) {
	const nosuid = unix.MS_NOSUID
	if len(trees) > 0 {
		p.mount("tmpfs", "/dev", "tmpfs", nosuid|unix.MS_NODEV|unix.MS_NOEXEC|unix.MS_STRICTATIME, "mode=755,size=65536k")
		for _, d := range devices {
			p.file("/dev/" + d.name)
			p.attachAs(trees[d.name], "/dev/"+d.name)
		}
	} else {
		p.mount("tmpfs", "/dev", "tmpfs", nosuid|unix.MS_STRICTATIME, "mode=755,size=65536k")
		for _, d := range devices {
			p.mknod("/dev/"+d.name, unix.S_IFCHR|0o666, d.major, d.minor)
		}
	}
	p.symlink("/proc/self/fd", "/dev/fd")
	p.symlink("/proc/self/fd/0", "/dev/stdin")
	p.symlink("/proc/self/fd/1", "/dev/stdout")
	p.symlink("/proc/self/fd/2", "/dev/stderr")
	p.mkdirAll("/dev/shm", 0o1777)
	p.mount("shm", "/dev/shm", "tmpfs", nosuid|unix.MS_NODEV|unix.MS_NOEXEC, "mode=1777,size="+strconv.FormatInt(shmMiB, 10)+"m")
	p.mkdirAll("/dev/pts", 0o755)
	p.mount("devpts", "/dev/pts", "devpts", nosuid|unix.MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620")
	p.symlink("pts/ptmx", "/dev/ptmx")
}

// devFrom makes /dev the prepared directory tree (prepareDev: the standard nodes and links),
// read-only, with a private /dev/shm and /dev/pts on it: two mounts of barge's and two
// filesystems instead of a node-by-node build.
func (p *plan) devFrom(tree int, shmMiB int64) {
	p.attachAs(tree, "/dev")
	p.op('q', "/dev")
	p.mount("shm", "/dev/shm", "tmpfs", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, "mode=1777,size="+strconv.FormatInt(shmMiB, 10)+"m")
	p.mount("devpts", "/dev/pts", "devpts", unix.MS_NOSUID|unix.MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620")
}

// proc mounts a /proc that shows only the sandbox's own processes.
func (p *plan) proc() {
	p.mount("proc", "/proc", "proc", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, "")
}

// masks hides from /proc and /sys what runc hides: kernel memory, keys, timers, firmware; and makes
// read-only what would let a sandbox change the host's kernel (sysctls, sysrq, irq affinity).
func (p *plan) masks() {
	for _, path := range []string{"/proc/sys", "/proc/sysrq-trigger", "/proc/irq", "/proc/bus", "/proc/fs"} {
		p.readOnlyBind(path)
	}
	for _, path := range []string{"/proc/kcore", "/proc/keys", "/proc/timer_list", "/proc/sched_debug",
		"/proc/scsi", "/proc/acpi", "/proc/latency_stats", "/proc/timer_stats", "/proc/interrupts",
		"/sys/firmware", "/sys/devices/virtual/powercap", "/sys/kernel/debug", "/sys/kernel/security"} {
		p.mask(path)
	}
}
