// nsinit: the C side of barge's sandboxes. barge starts /proc/self/exe once with
// _BARGE_NSINIT=zygote; this constructor runs before the Go runtime would start and never returns
// to Go: the process stays small (no Go heap, no threads), so cloning it is cheap. For each request
// on its socket (descriptor 3) it clones a child into fresh PID, mount, UTS and IPC namespaces; the
// child applies the plan barge computed (plan.go: cgroup, mounts, credentials, ...) and execs the
// command as PID 1 — or, with initProcessEnabled, spawns it and stays PID 1 to forward signals and
// reap orphans. All policy is Go; this file only interprets the plan's operations and relays
// process lifecycles.
//
// Protocol (SOCK_SEQPACKET, one message each): barge -> zygote: u64 request id, then the plan,
// with at least three descriptors attached (stdout, stderr, error pipe), then any the plan names
// by index ("fd:3": a volume opened race-free by barge; a socket to send listeners back on). zygote -> barge: 'S' replies
// {'S', pid, id} with a pidfd attached, or {'E', errno, id}; and {'X', pid, wait status} when a
// sandbox's PID 1 has exited. The error pipe is close-on-exec: EOF with nothing written means the
// command was exec'd; otherwise it carries why not.
//
// Some operations need the host's privileges and so run in the zygote before the clone: 'o' and
// 'O' (detached mount trees, idmapped to the sandbox's user namespace when asked, and overlay
// roots built on them), 'U' (a user namespace mapping root to an unprivileged host range) and
// 'N' (a network namespace of the pool; with _BARGE_NAT, each has a pasta for outbound network).
// The child inherits the trees as descriptors and attaches them.

#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/signalfd.h>
#include <poll.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <grp.h>
#include <unistd.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <net/if.h>
#include <net/route.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <sys/ioctl.h>

#ifndef SYS_mount_setattr
#define SYS_mount_setattr 442
#endif
#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_open_tree
#define SYS_open_tree 428
#endif
#ifndef SYS_move_mount
#define SYS_move_mount 429
#endif
#define BARGE_OPEN_TREE_CLONE 1
#define BARGE_MOVE_MOUNT_F_EMPTY_PATH 0x4
#ifndef AT_RECURSIVE
#define AT_RECURSIVE 0x8000
#endif
#ifndef SYS_fsopen
#define SYS_fsopen 430
#endif
#ifndef SYS_fsconfig
#define SYS_fsconfig 431
#endif
#ifndef SYS_fsmount
#define SYS_fsmount 432
#endif
#define BARGE_MOUNT_ATTR_RDONLY 0x00000001
#define BARGE_MOUNT_ATTR_NOSUID 0x00000002
#define BARGE_MOUNT_ATTR_NODEV 0x00000004
#define BARGE_MOUNT_ATTR_IDMAP 0x00100000
#define BARGE_AT_EMPTY_PATH 0x1000
#define BARGE_FSCONFIG_SET_STRING 1
#define BARGE_FSCONFIG_SET_FD 5
#define BARGE_FSCONFIG_CMD_CREATE 6
#define BARGE_FSMOUNT_CLOEXEC 1

struct barge_mount_attr {
	uint64_t attr_set;
	uint64_t attr_clr;
	uint64_t propagation;
	uint64_t userns_fd;
};

static int errfd = -1;
static int gatefd = -1; // a prepared sandbox's gate ('G'): the exec waits for a byte on it


static void die(const char *fmt, ...) {
	char buf[1024];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, sizeof buf - 64, fmt, ap);
	va_end(ap);
	if (n < 0) n = 0;
	if (n > (int)sizeof buf - 64) n = sizeof buf - 64;
	if (errno) n += snprintf(buf + n, sizeof buf - n, ": %s", strerror(errno));
	if (write(errfd, buf, n) < 0) {}
	_exit(127);
}

// next returns the NUL-terminated string at *p and advances past it.
static char *next(char **p, char *end) {
	char *s = *p;
	char *z = memchr(s, 0, end - s);
	if (!z) { errno = 0; die("plan: truncated"); }
	*p = z + 1;
	return s;
}

static char *nullable(char *s) { return *s ? s : NULL; }

static void mkdirp(char *path, mode_t mode) {
	for (char *q = path + 1; *q; q++) {
		if (*q != '/') continue;
		*q = 0;
		if (mkdir(path, mode) < 0 && errno != EEXIST) die("mkdir %s", path);
		*q = '/';
	}
	if (mkdir(path, mode) < 0 && errno != EEXIST) die("mkdir %s", path);
}

static void setattr(const char *path, unsigned flags, uint64_t set, uint64_t clr) {
	struct barge_mount_attr a = {.attr_set = set, .attr_clr = clr};
	if (syscall(SYS_mount_setattr, AT_FDCWD, path, flags, &a, sizeof a) < 0)
		die("mount_setattr %s", path);
}

static void setcaps(uint64_t keep) {
	struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
	struct __user_cap_data_struct d[2];
	memset(d, 0, sizeof d);
	d[0].effective = d[0].permitted = d[0].inheritable = (uint32_t)keep;
	d[1].effective = d[1].permitted = d[1].inheritable = (uint32_t)(keep >> 32);
	if (syscall(SYS_capset, &h, d) < 0) die("capset");
}


// arity is how many arguments each operation has (plan.go's arity in the tests mirrors it), so
// the zygote can walk a plan for the operations that are its own.
static int arity(char op) {
	switch (op) {
	case 'm': return 5;
	case 'n': return 4;
	case 'l': case 'u': case 'O': case 'L': return 3;
	case 'v': case 'k': case 's': case 'c': case 'o': case 'U': return 2;
	case 'r': case 'q': case 'w': case 'W': case 'p': case 'h': case 'd': case 'e': case 'a': case 'g': case 'M': case 'R': case 'F': case 'f': case 'H': case 'P': case 'G': return 1;
	case 'i': case 'N': case 'Y': return 0;
	}
	return -1;
}

// trees are detached mounts the zygote made before the clone; the child inherits them.
static int trees[64], ntrees;
// userns is set when the sandbox gets a user namespace ('U'): the child waits on syncfd until
// the zygote has written its maps, then becomes the namespace's root.
static int userns, syncfd = -1;
static int extra[64], nextra;

// holders keep one user namespace per host range alive (as a descriptor), so that mounts can be
// idmapped to a range before a sandbox of it exists.
static struct { unsigned long base; int fd; } holders[256];
static int nholders;

static int writefile(const char *path, const char *s) {
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0) return -1;
	ssize_t n = write(fd, s, strlen(s));
	close(fd);
	return n == (ssize_t)strlen(s) ? 0 : -1;
}

static int writemaps(pid_t pid, unsigned long base, unsigned long count) {
	char path[64], map[64];
	snprintf(map, sizeof map, "0 %lu %lu\n", base, count);
	snprintf(path, sizeof path, "/proc/%d/uid_map", pid);
	if (writefile(path, map) < 0) return -1;
	snprintf(path, sizeof path, "/proc/%d/gid_map", pid);
	return writefile(path, map);
}

// holder returns a descriptor of a user namespace mapping 0.. to base.. (count ids).
static int holder(unsigned long base, unsigned long count) {
	for (int i = 0; i < nholders; i++)
		if (holders[i].base == base) return holders[i].fd;
	if (nholders == 256) { errno = ENOSPC; return -1; }
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0) return -1;
	pid_t pid = syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, 0, 0, 0, 0);
	if (pid == 0) {
		char c;
		close(p[1]);
		if (read(p[0], &c, 1) < 0) {}
		_exit(0);
	}
	close(p[0]);
	int fd = -1, err = 0;
	if (pid > 0) {
		char path[64];
		snprintf(path, sizeof path, "/proc/%d/ns/user", pid);
		if (writemaps(pid, base, count) < 0 || (fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) err = errno;
	} else {
		err = errno;
	}
	close(p[1]);
	if (pid > 0) waitpid(pid, NULL, 0);
	if (fd < 0) { errno = err; return -1; }
	holders[nholders].base = base;
	holders[nholders++].fd = fd;
	return fd;
}

// The network namespaces sandboxes run in come from a pool: creating one and, worse, tearing it
// down (the kernel's cleanup_net) costs more than the rest of a start. A namespace is handed to
// one sandbox at a time and taken back only when barge says so ('Z'), after it closed every
// socket it held there (a Runtime API). The pool's namespaces belong to the host's user
// namespace, so a sandbox, root only in its own, can change nothing in one (addresses, routes,
// sysctls, firewall) that the next sandbox would see.
static int hostnet = -1;
// sysfs is a read-only sysfs made inside the namespace (it lists that namespace's devices):
// each sandbox of the slot gets a copy of it as its /sys.
static struct { int fd, used, sysfs; pid_t pasta; } nets[1024];
static int nnets;

// nat is pasta's path when barge asked for outbound network (--job-network nat: _BARGE_NAT):
// each namespace of the pool then gets a pasta of its own, started when the namespace is made.
static const char *nat;
// netwhy says why the last namespace could not be made, when errno alone would not.
static char netwhy[512];

// loopback brings up lo in the current network namespace.
static int loopback(void) {
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct ifreq ifr;
	memset(&ifr, 0, sizeof ifr);
	strcpy(ifr.ifr_name, "lo");
	int r = -1;
	if (s >= 0 && ioctl(s, SIOCGIFFLAGS, &ifr) == 0) {
		ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
		r = ioctl(s, SIOCSIFFLAGS, &ifr);
	}
	if (s >= 0) close(s);
	return r;
}

// unreachable makes dst/mask unreachable in the current network namespace, for good: the
// namespace belongs to the host's user namespace, so no sandbox can take the route away.
static int unreachable(const char *dst, const char *mask) {
	struct rtentry rt;
	memset(&rt, 0, sizeof rt);
	struct sockaddr_in *d = (struct sockaddr_in *)&rt.rt_dst, *m = (struct sockaddr_in *)&rt.rt_genmask;
	d->sin_family = m->sin_family = AF_INET;
	inet_pton(AF_INET, dst, &d->sin_addr);
	inet_pton(AF_INET, mask, &m->sin_addr);
	rt.rt_flags = RTF_UP | RTF_REJECT;
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	int r = s < 0 ? -1 : ioctl(s, SIOCADDRT, &rt);
	if (s >= 0) close(s);
	return r;
}

// pastawhy puts in netwhy what pasta said last on its standard error (out), skipping its
// complaints that there is no syslog.
static void pastawhy(const char *how, char *out) {
	char *last = "";
	for (char *l = strtok(out, "\n"); l; l = strtok(NULL, "\n"))
		if (strncmp(l, "Failed to send", 14)) last = l;
	snprintf(netwhy, sizeof netwhy, "network namespace: pasta %s%s%s", how, *last ? ": " : "", last);
}

// startpasta attaches a pasta to the network namespace fd: a tap interface "eth0" there with
// 10.0.2.100/24 and a default route via 10.0.2.2 (slirp4netns's addresses, never the host's own,
// so the host's addresses stay reachable from inside), its other end sockets pasta opens on the
// host. Outbound only: no port is forwarded either way (-t/-u/-T/-U none; pasta's default, auto,
// would forward what the sandbox listens on), and --no-map-gw keeps the gateway from standing for
// the host's loopback. pasta runs as root (--runas 0): joining a namespace of the host's user
// namespace takes CAP_SYS_ADMIN there, and pasta itself drops to CAP_SYS_ADMIN and
// CAP_NET_BIND_SERVICE, an empty root and a seccomp filter; keeping its uid also keeps the
// parent-death signal, so it dies with the zygote. It writes its pid (to us, --pid) once it has
// configured the namespace: startpasta returns its pid then, or -1 with why in netwhy.
static pid_t startpasta(int fd) {
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0) return -1;
	pid_t self = getpid(), pid = fork();
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
		if (getppid() != self) _exit(1);
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		// stderr (its errors, and its pid when ready) is the pipe; the namespace is fd 3.
		int nul = open("/dev/null", O_RDWR | O_CLOEXEC);
		if (nul < 0 || dup2(nul, 0) < 0 || dup2(nul, 1) < 0 || dup2(p[1], 2) < 0 || dup2(fd, 3) < 0) _exit(127);
		char *argv[] = {"pasta", "--quiet", "--foreground", "--runas", "0",
			"--netns", "/proc/self/fd/3", "--no-netns-quit", "--config-net", "--ipv4-only",
			"--ns-ifname", "eth0", "--address", "10.0.2.100", "--netmask", "24", "--gateway", "10.0.2.2",
			"--no-map-gw", "-t", "none", "-u", "none", "-T", "none", "-U", "none", "--no-dhcp",
			"--pid", "/proc/self/fd/2", NULL};
		char *envp[] = {NULL};
		execve(nat, argv, envp);
		dprintf(2, "exec %s: %s\n", nat, strerror(errno));
		_exit(127);
	}
	close(p[1]);
	if (pid < 0) {
		close(p[0]);
		return -1;
	}
	// Bounded: the zygote serves nothing else meanwhile (only a new namespace waits for this).
	char out[2048], want[16];
	size_t n = 0;
	int ready = 0, left = 10000, st = 0;
	snprintf(want, sizeof want, "\n%d\n", pid); // a line of its own
	while (!ready && left > 0) {
		struct pollfd pf = {.fd = p[0], .events = POLLIN};
		struct timespec t0, t1;
		clock_gettime(CLOCK_MONOTONIC, &t0);
		int r = poll(&pf, 1, left);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		left -= (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
		if (r < 0 && errno == EINTR) continue;
		if (r <= 0) break;
		if (n == sizeof out - 1) n = 0; // only the last of a long complaint is kept
		ssize_t k = read(p[0], out + n, sizeof out - 1 - n);
		if (k <= 0) break; // pasta exited
		n += k;
		out[n] = 0;
		ready = !strncmp(out, want + 1, strlen(want + 1)) || strstr(out, want);
	}
	close(p[0]);
	if (ready) return pid;
	int late = left <= 0;
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	out[n] = 0;
	char how[64];
	if (late)
		snprintf(how, sizeof how, "did not configure the namespace within 10s");
	else if (WIFEXITED(st))
		snprintf(how, sizeof how, "exited with status %d", WEXITSTATUS(st));
	else
		snprintf(how, sizeof how, "was killed by signal %d", WTERMSIG(st));
	pastawhy(how, out);
	errno = late ? ETIMEDOUT : EIO;
	return -1;
}

// netmake makes the namespace of pool slot i: loopback up, ping open to every group and, with
// nat, a pasta attached. Only here, once per slot, never per start: that is what the pool saves.
// netsysfs makes a detached, read-only sysfs of the current network namespace: the sandbox,
// not owning the namespace, could not mount one itself.
static int netsysfs(void) {
	int fs = syscall(SYS_fsopen, "sysfs", 1);
	if (fs < 0) return -1;
	int m = -1;
	if (syscall(SYS_fsconfig, fs, BARGE_FSCONFIG_CMD_CREATE, NULL, NULL, 0) == 0)
		m = syscall(SYS_fsmount, fs, BARGE_FSMOUNT_CLOEXEC,
			BARGE_MOUNT_ATTR_RDONLY | BARGE_MOUNT_ATTR_NOSUID | BARGE_MOUNT_ATTR_NODEV | 0x8 /* NOEXEC */);
	close(fs);
	return m;
}

static int netmake(int i) {
	if (hostnet < 0 && (hostnet = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC)) < 0) return -1;
	if (unshare(CLONE_NEWNET) < 0) return -1;
	int fd = -1;
	// With a way out, not to the link-local range: the cloud's instance metadata service
	// (169.254.169.254) would hand a sandbox the host's credentials.
	if (loopback() == 0 && (!nat || unreachable("169.254.0.0", "255.255.0.0") == 0)) {
		// ICMP echo sockets for any id, so ping works without CAP_NET_RAW over this namespace.
		writefile("/proc/sys/net/ipv4/ping_group_range", "0 2147483647");
		fd = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
		nets[i].sysfs = netsysfs();
	}
	int e = errno;
	if (setns(hostnet, CLONE_NEWNET) < 0) _exit(1); // never serve the next sandbox from here
	if (fd < 0) { errno = e; return -1; }
	// pasta starts from the host's namespace: its sockets are the namespace's way out.
	pid_t pid = nat ? startpasta(fd) : 0;
	if (pid < 0) {
		e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	nets[i].fd = fd;
	nets[i].pasta = pid;
	return 0;
}

// netslot takes a free namespace from the pool, making one when none is free. A free one whose
// pasta died (reap_all) has no way out any more: it is made again.
static int netslot(void) {
	netwhy[0] = 0;
	int i = 0;
	for (; i < nnets; i++) {
		if (nets[i].used) continue;
		if (nets[i].fd >= 0 && (!nat || nets[i].pasta > 0)) {
			nets[i].used = 1;
			return i;
		}
		break;
	}
	if (i == 1024) { errno = ENOSPC; return -1; }
	if (i < nnets && nets[i].fd >= 0) close(nets[i].fd);
	if (i < nnets && nets[i].sysfs >= 0) close(nets[i].sysfs);
	nets[i].fd = -1;
	nets[i].sysfs = -1;
	nets[i].pasta = 0;
	if (i == nnets) nnets++;
	if (netmake(i) < 0) return -1;
	nets[i].used = 1;
	return i;
}

// netfree gives a namespace back to the pool (which keeps as many as ran at once).
static void netfree(int i) {
	if (i < 0 || i >= nnets || !nets[i].used) return;
	nets[i].used = 0;
}

// source resolves a tree's source: a path, or "fd:N", a descriptor barge sent with the request.
static int source(const char *src, const char **path, int *flags) {
	if (strncmp(src, "fd:", 3)) {
		*path = src;
		return AT_FDCWD;
	}
	int i = atoi(src + 3);
	if (i < 0 || i >= nextra) return -1;
	*path = "";
	*flags |= BARGE_AT_EMPTY_PATH;
	return extra[i];
}

// prepare runs the zygote's part of a plan: the operations that need the host's privileges. It
// returns the clone flags the plan asks for, or -1 with errno set and why in *what.
static long prepare(char *plan, size_t len, unsigned long *ubase, unsigned long *ucount, int *slot, const char **what) {
	char *p = plan, *end = plan + len;
	long flags = 0;
	int usfd = -1;
	while (p < end) {
		char op = *p++;
		int n = arity(op);
		char *a[5];
		if (n < 0) { *what = "plan: unknown operation"; errno = EINVAL; return -1; }
		for (int i = 0; i < n; i++) {
			char *z = memchr(p, 0, end - p);
			if (!z) { *what = "plan: truncated"; errno = EINVAL; return -1; }
			a[i] = p;
			p = z + 1;
		}
		switch (op) {
		case 'U':
			*ubase = strtoul(a[0], NULL, 10);
			*ucount = strtoul(a[1], NULL, 10);
			if ((usfd = holder(*ubase, *ucount)) < 0) { *what = "user namespace"; return -1; }
			flags |= CLONE_NEWUSER;
			break;
		case 'Y': {
			// A copy of the slot's sysfs ('N' came first and took the slot).
			int fd = *slot >= 0 && nets[*slot].sysfs >= 0 && ntrees < 64
				? syscall(SYS_open_tree, nets[*slot].sysfs, "", BARGE_OPEN_TREE_CLONE | O_CLOEXEC | BARGE_AT_EMPTY_PATH | AT_RECURSIVE)
				: -1;
			if (fd < 0) { *what = "sysfs"; if (!errno) errno = ENOENT; return -1; }
			trees[ntrees++] = fd;
			break;
		}
		case 'N':
			if ((*slot = netslot()) < 0) { *what = netwhy[0] ? netwhy : "network namespace"; return -1; }
			break;
		case 'o': {
			const char *path;
			int fl = BARGE_OPEN_TREE_CLONE | O_CLOEXEC | AT_RECURSIVE;
			int dfd = source(a[0], &path, &fl);
			if (ntrees == 64) { *what = "too many mounts"; errno = E2BIG; return -1; }
			int fd = dfd == -1 ? -1 : syscall(SYS_open_tree, dfd, path, fl);
			if (fd < 0) { *what = a[0]; return -1; }
			trees[ntrees++] = fd;
			if (a[1][0] == '1') {
				struct barge_mount_attr at = {.attr_set = BARGE_MOUNT_ATTR_IDMAP, .userns_fd = usfd};
				if (usfd < 0 || syscall(SYS_mount_setattr, fd, "", BARGE_AT_EMPTY_PATH | AT_RECURSIVE, &at, sizeof at) < 0) {
					*what = "idmap";
					return -1;
				}
			}
			break;
		}
		case 'O': {
			// An overlay on tree a[0] (the image, idmapped) with the attempt's layer dirs.
			int i = atoi(a[0]);
			if (i < 0 || i >= ntrees || ntrees == 64) { *what = "plan: bad tree"; errno = EINVAL; return -1; }
			int fs = syscall(SYS_fsopen, "overlay", 1);
			if (fs < 0 ||
			    syscall(SYS_fsconfig, fs, BARGE_FSCONFIG_SET_FD, "lowerdir+", NULL, trees[i]) < 0 ||
			    syscall(SYS_fsconfig, fs, BARGE_FSCONFIG_SET_STRING, "upperdir", a[1], 0) < 0 ||
			    syscall(SYS_fsconfig, fs, BARGE_FSCONFIG_SET_STRING, "workdir", a[2], 0) < 0 ||
			    syscall(SYS_fsconfig, fs, BARGE_FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0) {
				int e = errno;
				if (fs >= 0) close(fs);
				errno = e;
				*what = "overlay";
				return -1;
			}
			int m = syscall(SYS_fsmount, fs, BARGE_FSMOUNT_CLOEXEC, BARGE_MOUNT_ATTR_NODEV);
			int e = errno;
			close(fs);
			if (m < 0) { errno = e; *what = "overlay"; return -1; }
			trees[ntrees++] = m;
			break;
		}
		}
	}
	return flags;
}

static void closetrees(void) {
	for (int i = 0; i < ntrees; i++) close(trees[i]);
	ntrees = 0;
}

// listen_on makes a listening TCP socket at host:port inside the sandbox's network and sends it
// to barge over the socket barge passed as extra descriptor i.
static void listen_on(char *host, char *port, int i) {
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(atoi(port))};
	if (inet_pton(AF_INET, host, &sa.sin_addr) != 1) { errno = 0; die("listen: bad address %s", host); }
	if (i < 0 || i >= nextra) { errno = 0; die("listen: no socket to send on"); }
	int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
	if (s < 0) die("listen socket");
	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (bind(s, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(s, 128) < 0) die("listen %s:%s", host, port);
	char b = 'L', cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = {.iov_base = &b, .iov_len = 1};
	struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof cbuf};
	memset(cbuf, 0, sizeof cbuf);
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &s, sizeof s);
	if (sendmsg(extra[i], &msg, MSG_NOSIGNAL) < 0) die("listen: send");
	close(s);
}

// mask hides path as runc does: a directory behind an empty read-only tmpfs, a file behind
// /dev/null. A path this kernel does not have needs no hiding.
static void mask(const char *path) {
	struct stat st;
	if (stat(path, &st) < 0) {
		if (errno == ENOENT) return;
		die("mask %s", path);
	}
	if (S_ISDIR(st.st_mode)) {
		if (mount("tmpfs", path, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=0,mode=555") < 0) die("mask %s", path);
	} else if (mount("/dev/null", path, NULL, MS_BIND, NULL) < 0) {
		die("mask %s", path);
	}
}

// rdonly binds path on itself read-only (with nothing under it writable either).
static void rdonly(const char *path) {
	if (mount(path, path, NULL, MS_BIND | MS_REC, NULL) < 0) {
		if (errno == ENOENT) return;
		die("bind %s", path);
	}
	setattr(path, AT_RECURSIVE, BARGE_MOUNT_ATTR_RDONLY | BARGE_MOUNT_ATTR_NOSUID | BARGE_MOUNT_ATTR_NODEV, 0);
}

static int hexval(char c) {
	if (c >= '0' && c <= '9') return c - '0';
	if (c >= 'a' && c <= 'f') return c - 'a' + 10;
	return -1;
}

// filter decodes a seccomp program (hex of struct sock_filter[]) to install before the exec.
static struct sock_fprog filter(char *hex) {
	size_t n = strlen(hex) / 2;
	unsigned char *b = malloc(n + 1);
	if (!b || n % sizeof(struct sock_filter)) { errno = 0; die("seccomp: bad program"); }
	for (size_t i = 0; i < n; i++) {
		int hi = hexval(hex[2 * i]), lo = hexval(hex[2 * i + 1]);
		if (hi < 0 || lo < 0) { errno = 0; die("seccomp: bad program"); }
		b[i] = hi << 4 | lo;
	}
	return (struct sock_fprog){.len = n / sizeof(struct sock_filter), .filter = (struct sock_filter *)b};
}

static pid_t child;

static void forward(int sig) {
	if (child > 0) kill(child, sig);
}

// reap runs as PID 1 when linuxParameters.initProcessEnabled is set: it forwards signals to the
// command, reaps orphans and exits as the command did.
static void reap(char **argv) {
	// posix_spawn (a vfork underneath) rather than fork: no copy of this process's page tables.
	int err = posix_spawnp(&child, argv[0], NULL, NULL, argv, environ);
	if (err) {
		errno = err;
		die("exec %s", argv[0]);
	}
	close(errfd);
	int sigs[] = {SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH};
	for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++) signal(sigs[i], forward);
	for (;;) {
		int st;
		pid_t p = waitpid(-1, &st, 0);
		if (p < 0 && errno == EINTR) continue;
		if (p < 0) _exit(127);
		if (p != child) continue;
		if (WIFEXITED(st)) _exit(WEXITSTATUS(st));
		_exit(128 + WTERMSIG(st));
	}
}

static void run(char *plan, size_t len) {
	char *p = plan, *end = plan + len;
	// Every argument ends in a NUL, so their count bounds the number of argv and env entries.
	size_t nstr = 0;
	for (char *q = plan; q < end; q++) nstr += *q == 0;
	char **argv = calloc(nstr + 1, sizeof *argv);
	char **envp = calloc(nstr + 1, sizeof *envp);
	if (!argv || !envp) die("plan: out of memory");
	int ia = 0, ie = 0, init = 0;
	uid_t uid = 0;
	gid_t gid = 0;
	int setuser = 0;
	int64_t keepcaps = -1;
	int ntree = 0; // trees the zygote made, in the order the plan named them
	struct sock_fprog prog = {0};
	while (p < end) {
		char op = *p++;
		errno = 0;
		switch (op) {
		case 'm': {
			char *src = next(&p, end), *dst = next(&p, end), *fs = next(&p, end);
			unsigned long flags = strtoul(next(&p, end), NULL, 10);
			char *data = next(&p, end);
			if (mount(nullable(src), dst, nullable(fs), flags, nullable(data)) < 0)
				die("mount %s on %s", *src ? src : fs, dst);
			break;
		}
		case 'o':
			next(&p, end);
			next(&p, end);
			ntree++;
			break;
		case 'O':
			next(&p, end);
			next(&p, end);
			next(&p, end);
			ntree++;
			break;
		case 'v': {
			int i = atoi(next(&p, end));
			char *dst = next(&p, end);
			if (i < 0 || i >= ntree || i >= ntrees) { errno = 0; die("plan: bad tree %d", i); }
			if (syscall(SYS_move_mount, trees[i], "", AT_FDCWD, dst, BARGE_MOVE_MOUNT_F_EMPTY_PATH) < 0)
				die("attach mount on %s", dst);
			close(trees[i]);
			trees[i] = -1;
			break;
		}
		case 'r':
			// Read-only, and never a way to a device or a set-id program.
			setattr(next(&p, end), AT_RECURSIVE, BARGE_MOUNT_ATTR_RDONLY | BARGE_MOUNT_ATTR_NOSUID | BARGE_MOUNT_ATTR_NODEV, 0);
			break;
		case 'w':
			setattr(next(&p, end), 0, BARGE_MOUNT_ATTR_NOSUID | BARGE_MOUNT_ATTR_NODEV, BARGE_MOUNT_ATTR_RDONLY);
			break;
		case 'q':
			// Read-only and nosuid, devices kept: /dev.
			setattr(next(&p, end), AT_RECURSIVE, BARGE_MOUNT_ATTR_RDONLY | BARGE_MOUNT_ATTR_NOSUID, 0);
			break;
		case 'W':
			// Writable, flags otherwise as they were (the unsafe mode the attack tests compare with).
			setattr(next(&p, end), 0, 0, BARGE_MOUNT_ATTR_RDONLY);
			break;
		case 'f': {
			// An empty file to attach a device node on.
			char *path = next(&p, end);
			int fd = open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0666);
			if (fd < 0) die("create %s", path);
			close(fd);
			break;
		}
		case 'M':
			mask(next(&p, end));
			break;
		case 'R':
			rdonly(next(&p, end));
			break;
		case 'F':
			prog = filter(next(&p, end));
			break;
		case 'U': {
			next(&p, end);
			next(&p, end);
			// Wait for the zygote to map this namespace, then become its root: until now this
			// process is still the host's root, which the namespace does not map.
			char c;
			if (read(syncfd, &c, 1) != 1) { errno = 0; die("user namespace: the zygote did not map it"); }
			close(syncfd);
			if (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0) die("user namespace: become root");
			if (setgroups(0, NULL) < 0) die("user namespace: setgroups");
			break;
		}
		case 'N':
			break; // the zygote put the sandbox in a namespace of the pool, loopback up
		case 'Y':
			ntree++; // the zygote's copy of the namespace's sysfs
			break;
		case 'L': {
			char *host = next(&p, end), *port = next(&p, end);
			listen_on(host, port, atoi(next(&p, end)));
			break;
		}
		case 'k': {
			char *path = next(&p, end);
			mkdirp(path, strtoul(next(&p, end), NULL, 8));
			break;
		}
		case 'n': {
			char *path = next(&p, end);
			mode_t mode = strtoul(next(&p, end), NULL, 8);
			unsigned maj = strtoul(next(&p, end), NULL, 10), min = strtoul(next(&p, end), NULL, 10);
			if (mknod(path, mode, makedev(maj, min)) < 0 && errno != EEXIST) die("mknod %s", path);
			break;
		}
		case 's': {
			char *target = next(&p, end), *link = next(&p, end);
			if (symlink(target, link) < 0 && errno != EEXIST) die("symlink %s", link);
			break;
		}
		case 'p': {
			char *root = next(&p, end);
			// pivot_root(".", ".") stacks the old root on the new one; detaching it leaves the
			// new root alone, with nothing of the host reachable.
			if (chdir(root) < 0) die("chdir %s", root);
			if (syscall(SYS_pivot_root, ".", ".") < 0) die("pivot_root %s", root);
			if (umount2(".", MNT_DETACH) < 0) die("detach the old root");
			if (chdir("/") < 0) die("chdir /");
			break;
		}
		case 'h': {
			char *h = next(&p, end);
			if (sethostname(h, strlen(h)) < 0) die("sethostname");
			break;
		}
		case 'l': {
			int res = atoi(next(&p, end));
			char *soft = next(&p, end), *hard = next(&p, end);
			struct rlimit rl = {
				.rlim_cur = strcmp(soft, "-1") ? strtoull(soft, NULL, 10) : RLIM_INFINITY,
				.rlim_max = strcmp(hard, "-1") ? strtoull(hard, NULL, 10) : RLIM_INFINITY,
			};
			// In a user namespace the zygote set them (raising a hard limit needs the host's
			// CAP_SYS_RESOURCE).
			if (!userns && setrlimit(res, &rl) < 0) die("setrlimit %d", res);
			break;
		}
		case 'c': {
			keepcaps = strtoll(next(&p, end), NULL, 10);
			int last = atoi(next(&p, end));
			for (int c = 0; c <= last; c++)
				if (!(keepcaps >> c & 1) && prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0 && errno != EINVAL)
					die("drop capability %d", c);
			break;
		}
		case 'u': {
			uid = strtoul(next(&p, end), NULL, 10);
			gid = strtoul(next(&p, end), NULL, 10);
			char *groups = next(&p, end);
			gid_t gs[64];
			int ng = 0;
			for (char *t = strtok(groups, ","); t && ng < 64; t = strtok(NULL, ","))
				gs[ng++] = strtoul(t, NULL, 10);
			if (setgroups(ng, gs) < 0) die("setgroups");
			setuser = 1;
			break;
		}
		case 'd': {
			char *dir = next(&p, end);
			if (chdir(dir) < 0) die("chdir %s", dir);
			break;
		}
		case 'i':
			init = 1;
			break;
		case 'g': {
			// Join a cgroup: "0" is the writing process. First in the plan, so everything the
			// sandbox does counts against its limits.
			char *procs = next(&p, end);
			int fd = open(procs, O_WRONLY | O_CLOEXEC);
			if (fd < 0 || write(fd, "0", 1) != 1) die("join cgroup %s", procs);
			close(fd);
			break;
		}
		case 'P':
			// A prepared sandbox makes itself at a low priority, so as not to slow the jobs
			// running meanwhile; barge restores the job's before it sends the rest.
			if (setpriority(PRIO_PROCESS, 0, atoi(next(&p, end))) < 0) die("setpriority");
			break;
		case 'H': {
			// A sandbox prepared before its job was known (pool.go): everything above is done;
			// the rest of the plan (the job's directory, credentials, command) arrives on extra
			// descriptor i, to its EOF. Nothing at all means the sandbox is discarded unused.
			int i = atoi(next(&p, end));
			if (i < 0 || i >= nextra) { errno = 0; die("plan: no descriptor to hold on"); }
			size_t cap = 4096, n = 0;
			char *b = malloc(cap);
			for (;;) {
				if (!b) { errno = 0; die("plan: out of memory"); }
				if (n == cap) {
					cap *= 2;
					b = realloc(b, cap);
					continue;
				}
				ssize_t k = read(extra[i], b + n, cap - n);
				if (k < 0 && errno == EINTR) continue;
				if (k < 0) die("hold: read");
				if (k == 0) break;
				n += k;
			}
			close(extra[i]);
			if (n == 0) _exit(0);
			size_t more = 0;
			for (size_t q = 0; q < n; q++) more += b[q] == 0;
			argv = realloc(argv, (nstr + more + 1) * sizeof *argv);
			envp = realloc(envp, (nstr + more + 1) * sizeof *envp);
			if (!argv || !envp) { errno = 0; die("plan: out of memory"); }
			memset(argv + nstr + 1, 0, more * sizeof *argv);
			memset(envp + nstr + 1, 0, more * sizeof *envp);
			nstr += more;
			p = b;
			end = b + n;
			break;
		}
		case 'G': {
			// A prepared sandbox's last wait (pool.go): the exec waits for one byte on extra
			// descriptor i (see below).
			int i = atoi(next(&p, end));
			if (i < 0 || i >= nextra) { errno = 0; die("plan: no descriptor to wait on"); }
			gatefd = extra[i];
			break;
		}
		case 'a':
			argv[ia++] = next(&p, end);
			break;
		case 'e':
			envp[ie++] = next(&p, end);
			break;
		default:
			errno = 0;
			die("plan: unknown operation %d", op);
		}
	}
	if (setuser) {
		if (setgid(gid) < 0) die("setgid %u", gid);
		if (setuid(uid) < 0) die("setuid %u", uid);
	}
	// A change of user clears the parent-death signal; barge relies on it to take the sandbox
	// down if barge itself dies.
	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0) die("prctl");
	if (keepcaps >= 0 && uid == 0) setcaps(keepcaps);
	if (ia == 0) { errno = 0; die("no command"); }
	environ = envp;
	if (fcntl(errfd, F_SETFD, FD_CLOEXEC) < 0) die("fcntl");
	if (prog.filter) {
		// Last, so nothing above is filtered; no_new_privs comes with it (a filter needs it
		// without CAP_SYS_ADMIN, and set-id programs must not raise what the filter confines).
		if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) die("no_new_privs");
		if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) < 0) die("seccomp");
	}
	if (gatefd >= 0) {
		// Everything is done but the exec, which waits for barge's one byte (the attempt's
		// STARTING is durable); nothing at all means barge gave the attempt up: it never runs.
		char c;
		ssize_t k;
		do k = read(gatefd, &c, 1);
		while (k < 0 && errno == EINTR);
		if (k != 1) _exit(0);
		close(gatefd);
	}
	if (init) reap(argv);
	execvp(argv[0], argv);
	die("exec %s", argv[0]);
}

struct reply {
	char type;
	char pad[3];
	int32_t val; // pid, errno or wait status
	int32_t pid; // for 'X'
	int32_t pad2;
	uint64_t id;
};

static void reply(int sock, struct reply r, int fd) {
	struct iovec iov = {.iov_base = &r, .iov_len = sizeof r};
	char cbuf[CMSG_SPACE(sizeof(int))];
	struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
	if (fd >= 0) {
		memset(cbuf, 0, sizeof cbuf);
		msg.msg_control = cbuf;
		msg.msg_controllen = sizeof cbuf;
		struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &fd, sizeof fd);
	}
	while (sendmsg(sock, &msg, MSG_NOSIGNAL) < 0) {
		if (errno != EINTR) _exit(0); // barge is gone
	}
}

static void reap_all(int sock) {
	int st;
	pid_t pid;
	while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
		int ours = 0; // a pasta, which barge knows nothing of
		for (int i = 0; i < nnets; i++)
			if (nets[i].pasta == pid) {
				nets[i].pasta = 0;
				ours = 1;
			}
		if (!ours) reply(sock, (struct reply){.type = 'X', .val = st, .pid = pid}, -1);
	}
}

// limits applies the plan's rlimits to a sandbox in a user namespace from outside it: raising a
// hard limit needs CAP_SYS_RESOURCE of the host's namespace, which the sandbox never has.
static int limits(pid_t pid, char *plan, size_t len) {
	char *p = plan, *end = plan + len;
	while (p < end) {
		char op = *p++;
		char *a[5];
		int n = arity(op);
		for (int i = 0; i < n; i++) {
			a[i] = p;
			p = memchr(p, 0, end - p) + 1;
		}
		if (op != 'l') continue;
		struct rlimit rl = {
			.rlim_cur = strcmp(a[1], "-1") ? strtoull(a[1], NULL, 10) : RLIM_INFINITY,
			.rlim_max = strcmp(a[2], "-1") ? strtoull(a[2], NULL, 10) : RLIM_INFINITY,
		};
		if (prlimit(pid, atoi(a[0]), &rl, NULL) < 0) return -1;
	}
	return 0;
}

// fail answers a request the zygote could not start: why goes down the error pipe, errno to barge.
static void fail(int sock, uint64_t id, int err, const char *what) {
	char msg[512];
	int n = what == netwhy ? snprintf(msg, sizeof msg, "%s", what) // says it all already
	                       : snprintf(msg, sizeof msg, "%s: %s", what, strerror(err));
	if (n > 0 && write(extra[2], msg, n < (int)sizeof msg ? n : (int)sizeof msg - 1) < 0) {}
	reply(sock, (struct reply){.type = 'E', .val = err, .id = id}, -1);
}

// spawn starts one sandbox for the request in buf (id, then plan) with the descriptors in extra
// ({stdout, stderr, errw, ...}).
static void spawn(int sock, int sfd, sigset_t *mask, char *buf, size_t n) {
	uint64_t id;
	memcpy(&id, buf, sizeof id);
	char *plan = buf + sizeof id;
	size_t len = n - sizeof id;
	unsigned long ubase = 0, ucount = 0;
	int slot = -1;
	const char *what = "";
	long flags = prepare(plan, len, &ubase, &ucount, &slot, &what);
	if (flags >= 0 && slot >= 0 && setns(nets[slot].fd, CLONE_NEWNET) < 0) {
		flags = -1;
		what = "network namespace";
	}
	int sync[2] = {-1, -1};
	if (flags >= 0 && (flags & CLONE_NEWUSER) && pipe2(sync, O_CLOEXEC) < 0) {
		flags = -1;
		what = "pipe";
	}
	pid_t pid = -1;
	if (flags >= 0) {
		userns = (flags & CLONE_NEWUSER) != 0;
		syncfd = sync[0];
		pid = syscall(SYS_clone, CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | flags | SIGCHLD, 0, 0, 0, 0);
	}
	if (pid != 0 && slot >= 0 && setns(hostnet, CLONE_NEWNET) < 0) _exit(1);
	if (pid == 0) {
		close(sock);
		close(sfd);
		if (sync[1] >= 0) close(sync[1]);
		sigprocmask(SIG_UNBLOCK, mask, NULL);
		prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
		errfd = extra[2]; // close-on-exec already (MSG_CMSG_CLOEXEC)
		int nul = open("/dev/null", O_RDONLY);
		if (nul < 0 || dup2(nul, 0) < 0 || dup2(extra[0], 1) < 0 || dup2(extra[1], 2) < 0) die("stdio");
		close(nul);
		run(plan, len);
	}
	int err = errno;
	if (flags < 0 || pid < 0) {
		if (flags >= 0) what = "clone";
		fail(sock, id, err, what);
		netfree(slot);
	} else if (userns && (writemaps(pid, ubase, ucount) < 0 || limits(pid, plan, len) < 0 || write(sync[1], "u", 1) != 1)) {
		err = errno;
		kill(pid, SIGKILL);
		fail(sock, id, err, "user namespace: map");
		pid = -1; // reaped and reported as any exit; barge never learnt its pid
		// Its namespace is not taken back: processes of the killed child may still hold it.
	}
	if (sync[0] >= 0) close(sync[0]);
	if (sync[1] >= 0) close(sync[1]);
	closetrees();
	for (int i = 0; i < nextra; i++) close(extra[i]);
	nextra = 0;
	userns = 0;
	syncfd = -1;
	if (pid < 0) return;
	int pidfd = syscall(SYS_pidfd_open, pid, 0);
	reply(sock, (struct reply){.type = 'S', .val = pid, .pad2 = slot, .id = id}, pidfd);
	if (pidfd >= 0) close(pidfd);
}

// zygote serves barge until its socket closes (barge stopped; the sandboxes die with us through
// their parent-death signal).
static void zygote(void) {
	int sock = 3;
	sigset_t mask;
	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	int sfd = signalfd(-1, &mask, SFD_CLOEXEC);
	if (sfd < 0) _exit(1);
	struct pollfd pfd[2] = {{.fd = sock, .events = POLLIN}, {.fd = sfd, .events = POLLIN}};
	for (;;) {
		if (poll(pfd, 2, -1) < 0) {
			if (errno == EINTR) continue;
			_exit(1);
		}
		if (pfd[1].revents) {
			struct signalfd_siginfo si;
			if (read(sfd, &si, sizeof si) < 0) {}
			reap_all(sock);
		}
		if (!pfd[0].revents) continue;
		ssize_t n = recv(sock, NULL, 0, MSG_PEEK | MSG_TRUNC);
		if (n <= 0) _exit(0);
		char *buf = malloc(n);
		char cbuf[CMSG_SPACE(64 * sizeof(int))];
		struct iovec iov = {.iov_base = buf, .iov_len = n};
		struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof cbuf};
		if (!buf || recvmsg(sock, &msg, MSG_CMSG_CLOEXEC) != n) _exit(1);
		nextra = 0;
		struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
		if (c && c->cmsg_type == SCM_RIGHTS) {
			nextra = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
			memcpy(extra, CMSG_DATA(c), nextra * sizeof(int));
		}
		if (nextra == 0 && n > (ssize_t)sizeof(uint64_t) && buf[sizeof(uint64_t)] == 'Z') {
			// barge is done with a sandbox's network namespace: {id, 'Z', slot as text}.
			buf[n - 1] = 0;
			netfree(atoi(buf + sizeof(uint64_t) + 1));
		} else if (nextra < 3 || n < (ssize_t)sizeof(uint64_t)) {
			for (int i = 0; i < nextra; i++) close(extra[i]);
			nextra = 0;
			uint64_t id = 0;
			if (n >= (ssize_t)sizeof id) memcpy(&id, buf, sizeof id);
			reply(sock, (struct reply){.type = 'E', .val = EINVAL, .id = id}, -1);
		} else {
			spawn(sock, sfd, &mask, buf, n);
		}
		free(buf);
	}
}

__attribute__((constructor)) static void barge_nsinit(void) {
	const char *mode = getenv("_BARGE_NSINIT");
	if (mode && !strcmp(mode, "zygote")) {
		nat = getenv("_BARGE_NAT");
		zygote();
	}
}
