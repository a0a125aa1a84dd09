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
// with three descriptors attached (stdout, stderr, error pipe). zygote -> barge: 'S' replies
// {'S', pid, id} with a pidfd attached, or {'E', errno, id}; and {'X', pid, wait status} when a
// sandbox's PID 1 has exited. The error pipe is close-on-exec: EOF with nothing written means the
// command was exec'd; otherwise it carries why not.

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
#include <grp.h>
#include <unistd.h>
#include <linux/capability.h>

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
#define BARGE_MOUNT_ATTR_RDONLY 0x00000001

struct barge_mount_attr {
	uint64_t attr_set;
	uint64_t attr_clr;
	uint64_t propagation;
	uint64_t userns_fd;
};

static int errfd = -1;


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
	int trees[64], ntrees = 0;
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
		case 'o': {
			// A detached copy of a mount tree, taken before the paths it lives under are hidden
			// or made read-only, attached later with 'v'.
			char *path = next(&p, end);
			if (ntrees == 64) { errno = 0; die("too many mounts"); }
			int fd = syscall(SYS_open_tree, AT_FDCWD, path, BARGE_OPEN_TREE_CLONE | O_CLOEXEC | AT_RECURSIVE);
			if (fd < 0) die("open_tree %s", path);
			trees[ntrees++] = fd;
			break;
		}
		case 'v': {
			int i = atoi(next(&p, end));
			char *dst = next(&p, end);
			if (i < 0 || i >= ntrees) { errno = 0; die("plan: bad tree %d", i); }
			if (syscall(SYS_move_mount, trees[i], "", AT_FDCWD, dst, BARGE_MOVE_MOUNT_F_EMPTY_PATH) < 0)
				die("attach mount on %s", dst);
			close(trees[i]);
			break;
		}
		case 'r':
			setattr(next(&p, end), AT_RECURSIVE, BARGE_MOUNT_ATTR_RDONLY, 0);
			break;
		case 'w':
			setattr(next(&p, end), 0, 0, BARGE_MOUNT_ATTR_RDONLY);
			break;
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
			if (setrlimit(res, &rl) < 0) die("setrlimit %d", res);
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
	while ((pid = waitpid(-1, &st, WNOHANG)) > 0)
		reply(sock, (struct reply){.type = 'X', .val = st, .pid = pid}, -1);
}

// spawn starts one sandbox for the request in buf (id, then plan) with fds {stdout, stderr, errw}.
static void spawn(int sock, int sfd, sigset_t *mask, char *buf, size_t n, int fds[3]) {
	uint64_t id;
	memcpy(&id, buf, sizeof id);
	pid_t pid = syscall(SYS_clone, CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | SIGCHLD, 0, 0, 0, 0);
	if (pid == 0) {
		close(sock);
		close(sfd);
		sigprocmask(SIG_UNBLOCK, mask, NULL);
		prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
		errfd = fds[2]; // close-on-exec already (MSG_CMSG_CLOEXEC)
		int nul = open("/dev/null", O_RDONLY);
		if (nul < 0 || dup2(nul, 0) < 0 || dup2(fds[0], 1) < 0 || dup2(fds[1], 2) < 0) die("stdio");
		close(nul);
		close(fds[0]);
		close(fds[1]);
		run(buf + sizeof id, n - sizeof id);
	}
	int err = errno;
	for (int i = 0; i < 3; i++) close(fds[i]);
	if (pid < 0) {
		reply(sock, (struct reply){.type = 'E', .val = err, .id = id}, -1);
		return;
	}
	int pidfd = syscall(SYS_pidfd_open, pid, 0);
	reply(sock, (struct reply){.type = 'S', .val = pid, .id = id}, pidfd);
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
		char cbuf[CMSG_SPACE(3 * sizeof(int))];
		struct iovec iov = {.iov_base = buf, .iov_len = n};
		struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof cbuf};
		if (!buf || recvmsg(sock, &msg, MSG_CMSG_CLOEXEC) != n) _exit(1);
		int fds[3] = {-1, -1, -1};
		struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
		if (c && c->cmsg_type == SCM_RIGHTS && c->cmsg_len == CMSG_LEN(3 * sizeof(int)))
			memcpy(fds, CMSG_DATA(c), sizeof fds);
		if (fds[2] < 0 || n < (ssize_t)sizeof(uint64_t)) {
			for (int i = 0; i < 3; i++) if (fds[i] >= 0) close(fds[i]);
			uint64_t id = 0;
			if (n >= (ssize_t)sizeof id) memcpy(&id, buf, sizeof id);
			reply(sock, (struct reply){.type = 'E', .val = EINVAL, .id = id}, -1);
		} else {
			spawn(sock, sfd, &mask, buf, n, fds);
		}
		free(buf);
	}
}

__attribute__((constructor)) static void barge_nsinit(void) {
	const char *mode = getenv("_BARGE_NSINIT");
	if (mode && !strcmp(mode, "zygote")) zygote();
}
