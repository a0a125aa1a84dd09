// nsinit: the first code a sandbox runs. barge starts /proc/self/exe inside fresh PID, mount, UTS
// and IPC namespaces with _BARGE_NSINIT set; this constructor runs before the Go runtime starts
// (so a sandbox costs one extra exec of a few hundred microseconds, not a Go program's start),
// reads the plan barge computed (plan.go), applies it and execs the job's command. It never
// returns to Go. All policy lives in Go; this file only interprets the plan's operations.
//
// Descriptors: 3 = the plan (barge writes it only after placing us in our cgroup, so reading it
// to EOF is also the signal to go on), 4 = error channel (close-on-exec: EOF with nothing
// written means the command was exec'd).

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

static int errfd = 4;


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

static char *readall(int fd, size_t *len) {
	size_t cap = 4096, n = 0;
	char *buf = malloc(cap);
	if (!buf) die("plan: out of memory");
	for (;;) {
		if (n == cap) {
			cap *= 2;
			buf = realloc(buf, cap);
			if (!buf) die("plan: out of memory");
		}
		ssize_t r = read(fd, buf + n, cap - n);
		if (r < 0 && errno == EINTR) continue;
		if (r < 0) die("plan: read");
		if (r == 0) break;
		n += r;
	}
	*len = n;
	return buf;
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

static void run(void) {
	size_t len;
	char *plan = readall(3, &len);
	close(3);
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

__attribute__((constructor)) static void barge_nsinit(void) {
	if (!getenv("_BARGE_NSINIT")) return;
	run();
}
