package seccomp

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The install tests re-execute the test binary: a child told by childEnv which probe to run
// installs the sandbox's filter (unless filterEnv says "false", for a control run), makes one
// syscall and prints the outcome. A filter cannot be removed, so each probe gets its own process.
const (
	childEnv  = "BARGE_SECCOMP_CHILD"
	filterEnv = "BARGE_SECCOMP_FILTER"
	elfEnv    = "BARGE_SECCOMP_ELF" // path of the executable the "int80" probe runs
)

func TestMain(m *testing.M) {
	if _, _, ok := nativeArch(); !ok {
		fmt.Println("seccomp: no filter for", runtime.GOARCH, "to test")
		os.Exit(0)
	}
	if name := os.Getenv(childEnv); name != "" {
		fmt.Println(runChild(name, os.Getenv(filterEnv) != "false"))
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// runChild installs the filter as the sandbox's init does (no_new_privs, then
// SECCOMP_SET_MODE_FILTER), plus TSYNC because the Go runtime has other threads already, and
// runs probe name.
func runChild(name string, filtered bool) string {
	probe, ok := probes[name]
	if !ok {
		return "no such probe " + name
	}
	if filtered {
		prog, err := Program(sandboxCaps)
		if err != nil {
			return err.Error()
		}
		filter := make([]unix.SockFilter, len(prog)/8)
		for i := range filter {
			c := prog[8*i:]
			filter[i] = unix.SockFilter{Code: binary.NativeEndian.Uint16(c), Jt: c[2], Jf: c[3], K: binary.NativeEndian.Uint32(c[4:])}
		}
		fprog := unix.SockFprog{Len: uint16(len(filter)), Filter: &filter[0]}
		runtime.LockOSThread()
		if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
			return "prctl: " + err.Error()
		}
		r, _, e := unix.Syscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, unix.SECCOMP_FILTER_FLAG_TSYNC, uintptr(unsafe.Pointer(&fprog)))
		if e != 0 || r != 0 { // with TSYNC, r is the id of a thread that could not be synchronised
			return fmt.Sprintf("seccomp: %v (thread %d)", e, r)
		}
	}
	return probe()
}

// errnoOf reports a raw syscall's outcome: "ok" or the errno's name.
func errnoOf(_, _ uintptr, e unix.Errno) string {
	if e == 0 {
		return "ok"
	}
	return unix.ErrnoName(e)
}

func errOf(err error) string {
	var e unix.Errno
	if errors.As(err, &e) {
		return errnoOf(0, 0, e)
	}
	if err != nil {
		return err.Error()
	}
	return "ok"
}

// runOf reports how a command ended: "exit=N" or "signal=NAME".
func runOf(cmd *exec.Cmd) string {
	err := cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ws := ee.Sys().(syscall.WaitStatus); ws.Signaled() {
			return "signal=" + unix.SignalName(ws.Signal())
		}
		return fmt.Sprintf("exit=%d", ee.ExitCode())
	}
	if err != nil {
		return err.Error()
	}
	return "exit=0"
}

// noPid is a pid no process has (above the kernel's PID_MAX_LIMIT).
const noPid = 1 << 23

// probes make one syscall each (or a few, for threads and exec), with arguments chosen so that
// without the filter the kernel answers something other than what the filter answers.
var probes = map[string]func() string{
	"seccomp-mode": func() string { return statusField("Seccomp") },
	"getpid":       func() string { return errnoOf(unix.RawSyscall(unix.SYS_GETPID, 0, 0, 0)) },
	"openat": func() string {
		fd, err := unix.Openat(unix.AT_FDCWD, "/proc/self/stat", unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err == nil {
			unix.Close(fd)
		}
		return errOf(err)
	},
	"socket-inet":  func() string { return socket(unix.AF_INET, unix.SOCK_STREAM) },
	"socket-vsock": func() string { return socket(unix.AF_VSOCK, unix.SOCK_STREAM) },
	"socket-alg":   func() string { return socket(unix.AF_ALG, unix.SOCK_SEQPACKET) },
	"threads":      newThreads,
	"exec-true":    func() string { return runOf(exec.Command("/bin/true")) },
	"int80":        func() string { return runOf(exec.Command(os.Getenv(elfEnv))) },
	// Go processes have several threads, where the kernel answers unshare(CLONE_NEWUSER) EINVAL.
	"unshare-userns": func() string { return errOf(unix.Unshare(unix.CLONE_NEWUSER)) },
	"mount":          func() string { return errOf(unix.Mount("none", "/nonexistent-barge-seccomp", "tmpfs", 0, "")) },
	"keyctl":         func() string { return errnoOf(unix.RawSyscall(unix.SYS_KEYCTL, 0xffff, 0, 0)) },
	"add-key":        func() string { return errnoOf(unix.RawSyscall6(unix.SYS_ADD_KEY, 0, 0, 0, 0, 0, 0)) },
	"bpf":            func() string { return errnoOf(unix.RawSyscall(unix.SYS_BPF, 0xffff, 0, 0)) },
	"perf-event-open": func() string {
		return errnoOf(unix.RawSyscall6(unix.SYS_PERF_EVENT_OPEN, 0, 0, ^uintptr(0), ^uintptr(0), 0, 0))
	},
	"open-by-handle-at": func() string {
		return errnoOf(unix.RawSyscall(unix.SYS_OPEN_BY_HANDLE_AT, ^uintptr(0), 0, 0))
	},
	"ptrace-attach": func() string { return errnoOf(unix.RawSyscall(unix.SYS_PTRACE, unix.PTRACE_ATTACH, noPid, 0)) },
	// The kernel refuses CLONE_NEWNS or CLONE_NEWUSER together with CLONE_FS (EINVAL) before
	// creating anything, so even the control run forks nothing.
	"clone-newns":   func() string { return errnoOf(unix.RawSyscall(unix.SYS_CLONE, unix.CLONE_NEWNS|unix.CLONE_FS, 0, 0)) },
	"clone-newuser": func() string { return errnoOf(unix.RawSyscall(unix.SYS_CLONE, unix.CLONE_NEWUSER|unix.CLONE_FS, 0, 0)) },
	"clone3":        func() string { return errnoOf(unix.RawSyscall(unix.SYS_CLONE3, 0, 0, 0)) },
	"personality-query": func() string {
		return errnoOf(unix.RawSyscall(unix.SYS_PERSONALITY, 0xffffffff, 0, 0))
	},
	"personality-no-randomize": func() string {
		return errnoOf(unix.RawSyscall(unix.SYS_PERSONALITY, 0x0040000, 0, 0)) // ADDR_NO_RANDOMIZE
	},
	"x32-getpid": func() string { return errnoOf(unix.RawSyscall(unix.SYS_GETPID|x32Bit, 0, 0, 0)) },
}

func socket(domain, typ int) string {
	fd, err := unix.Socket(domain, typ|unix.SOCK_CLOEXEC, 0)
	if err == nil {
		unix.Close(fd)
	}
	return errOf(err)
}

// newThreads makes the Go runtime clone threads after the filter is in: goroutines locked to
// their threads each need one, more than the runtime has started. A refused clone would crash
// the runtime ("newosproc"), which the parent sees as a failed child.
func newThreads() string {
	before, err := os.ReadDir("/proc/self/task")
	if err != nil {
		return err.Error()
	}
	const n = 16
	tids, release := make(chan int), make(chan struct{})
	for range n {
		go func() {
			runtime.LockOSThread()
			tids <- unix.Gettid()
			<-release
		}()
	}
	fresh := map[int]bool{}
	for range n {
		fresh[<-tids] = true
	}
	close(release)
	for _, e := range before {
		tid, _ := strconv.Atoi(e.Name())
		delete(fresh, tid)
	}
	if len(fresh) == 0 {
		return "no thread was created"
	}
	return "ok"
}

// statusField is a field of /proc/self/status.
func statusField(name string) string {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return err.Error()
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, name+":"); ok {
			return strings.TrimSpace(v)
		}
	}
	return "no " + name
}

// probe runs probe name in a child, with or without the filter.
func probe(t *testing.T, name string, filtered bool, env ...string) string {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+name, filterEnv+"="+strconv.FormatBool(filtered))
	// The race detector's runtime sleeps a second at exit (atexit_sleep_ms) unless told not to.
	cmd.Env = append(cmd.Env, "GORACE="+strings.TrimSpace(os.Getenv("GORACE")+" atexit_sleep_ms=0"))
	cmd.Env = append(cmd.Env, env...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("child for %s (filtered %v): %v\n%s", name, filtered, err, stderr.String())
	}
	return strings.TrimSpace(string(out))
}

// kernelAtLeast reports whether the running kernel is major.minor or newer.
func kernelAtLeast(t *testing.T, major, minor int) bool {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		t.Fatal(err)
	}
	var ma, mi int
	if _, err := fmt.Sscanf(unix.ByteSliceToString(u.Release[:]), "%d.%d", &ma, &mi); err != nil {
		t.Fatal(err)
	}
	return ma > major || ma == major && mi >= minor
}

// TestFilterInstalled installs the sandbox's filter in a child per probe and checks the kernel's
// answers. For refusals it also runs the probe without the filter, to show that the answer
// comes from the filter and not from the kernel's own checks.
func TestFilterInstalled(t *testing.T) {
	// The profile allows ptrace from Linux 4.8, which stopped a tracer from bypassing seccomp.
	ptrace := "EPERM"
	if kernelAtLeast(t, 4, 8) {
		ptrace = "ESRCH"
	}
	type probeCase struct {
		name    string
		want    string // the answer under the filter
		deny    bool   // the filter refuses: without it the answer must differ
		control bool   // run without the filter too and log the answer (implied by deny)
	}
	tests := []probeCase{
		{name: "seccomp-mode", want: "2"},
		{name: "getpid", want: "ok"},
		{name: "openat", want: "ok"},
		{name: "socket-inet", want: "ok"},
		{name: "threads", want: "ok"},
		{name: "exec-true", want: "exit=0"},
		{name: "personality-query", want: "ok"},
		{name: "ptrace-attach", want: ptrace, deny: ptrace == "EPERM"},
		{name: "unshare-userns", want: "EPERM", deny: true},
		{name: "mount", want: "EPERM", deny: true},
		{name: "keyctl", want: "EPERM", deny: true},
		{name: "add-key", want: "EPERM", deny: true},
		{name: "bpf", want: "EPERM", deny: true},
		{name: "perf-event-open", want: "EPERM", deny: true},
		{name: "open-by-handle-at", want: "EPERM", deny: true},
		{name: "clone-newns", want: "EPERM", deny: true},
		{name: "clone-newuser", want: "EPERM", deny: true},
		{name: "personality-no-randomize", want: "EPERM", deny: true},
		{name: "socket-vsock", want: "EPERM", deny: true},
		{name: "socket-alg", want: "EPERM", deny: true},
		{name: "clone3", want: "ENOSYS", deny: true},
	}
	if runtime.GOARCH == "amd64" {
		// A kernel built without x32 answers ENOSYS without the filter too; one with x32 runs it.
		tests = append(tests, probeCase{name: "x32-getpid", want: "ENOSYS", control: true})
	}
	// Not root, or already confined by a seccomp filter: the kernel may refuse on its own.
	weak := os.Geteuid() != 0 || statusField("Seccomp") != "0"
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := probe(t, tt.name, true); got != tt.want {
				t.Errorf("under the filter: %s, want %s", got, tt.want)
			}
			if !tt.deny && !tt.control {
				return
			}
			control := probe(t, tt.name, false)
			t.Logf("without the filter: %s", control)
			if tt.deny && control == tt.want && !weak {
				t.Errorf("without the filter the kernel answers %s as well, so the probe shows nothing", control)
			}
		})
	}
}
