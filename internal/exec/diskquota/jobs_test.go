//go:build linux

package diskquota

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The test binary doubles as a helper process, chosen by helperEnv: "open" opens an area and
// waits to be killed; "fill" and "create" write as an unprivileged job; "nested" and
// "setproject" play an unprivileged job trying to escape its bound.
const (
	helperEnv  = "DISKQUOTA_TEST_HELPER"
	nobody     = 65534
	escapeSize = 4 * mib
)

func runHelper(mode string) int {
	var err error
	switch mode {
	case "open":
		err = helperOpen(os.Getenv("DQ_DIR"), os.Getenv("DQ_KIND"))
	case "nested":
		err = helperNested(os.Getenv("DQ_DIR"))
	case "setproject":
		err = helperSetProject(os.Getenv("DQ_DIR"))
	case "fill", "create":
		err = helperWrite(mode, os.Getenv("DQ_DIR"), os.Getenv("DQ_NAME"), os.Getenv("DQ_N"))
	default:
		err = fmt.Errorf("unknown helper mode %q", mode)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// helperOpen opens an area, leaves a bounded directory with data in it, says "ready" and
// waits to be killed with its mount in place.
func helperOpen(dir, kind string) error {
	a, err := open(dir, areaSize, []string{kind})
	if err != nil {
		return err
	}
	p, err := a.Dir("left", mib)
	if err != nil {
		return err
	}
	if _, err := fill(filepath.Join(p, "f"), 200<<10); err != nil {
		return err
	}
	fmt.Printf("ready %s\n", a.dev)
	time.Sleep(time.Hour)
	return nil
}

// killedOpener runs helperOpen in a child, kills it with SIGKILL once it is ready and returns
// the loop device it left mounted on dir.
func killedOpener(t *testing.T, dir, kind string) string {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), helperEnv+"=open", "DQ_DIR="+dir, "DQ_KIND="+kind)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	_ = cmd.Process.Signal(syscall.SIGKILL)
	_ = cmd.Wait()
	dev, ok := strings.CutPrefix(strings.TrimSpace(line), "ready ")
	if err != nil || !ok {
		t.Fatalf("helper did not get ready: %q, %v", line, err)
	}
	if _, mounted, _ := mountAt(dir); !mounted {
		t.Fatalf("the killed process left nothing mounted on %s", dir)
	}
	return dev
}

// helperWrite writes as a job would, as nobody: with project quotas on ext4, root's
// CAP_SYS_RESOURCE lets it past hard limits. "fill" writes n bytes to the new file name in
// dir, "create" creates up to n empty files; it prints how many bytes or files, and the errno.
func helperWrite(mode, dir, name, count string) error {
	n, err := strconv.ParseInt(count, 10, 64)
	if err != nil {
		return err
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	if err := syscall.Fchdir(int(d.Fd())); err != nil {
		return err
	}
	if err := dropToNobody(); err != nil {
		return err
	}
	var done int64
	if mode == "fill" {
		done, err = fill(name, n)
	} else {
		var k int
		k, err = createUntilError(".", int(n))
		done = int64(k)
	}
	fmt.Printf("%d %d\n", done, errnoOf(err))
	if err != nil && errnoOf(err) == 0 {
		return err
	}
	return nil
}

// asJob runs helperWrite in a child process: mode "fill" or "create" in dir, which it first
// hands to nobody. It returns the count and the errno the job saw (nil for none).
func asJob(t testing.TB, mode, dir, name string, n int64) (int64, error) {
	t.Helper()
	if err := os.Chown(dir, nobody, nobody); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), helperEnv+"="+mode, "DQ_DIR="+dir, "DQ_NAME="+name, fmt.Sprintf("DQ_N=%d", n))
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("job writer: %v: %s", err, out)
	}
	var done int64
	var errno int
	if _, err := fmt.Sscanf(string(out), "%d %d", &done, &errno); err != nil {
		t.Fatalf("job writer said %q: %v", out, err)
	}
	if errno != 0 {
		return done, unix.Errno(errno)
	}
	return done, nil
}

// helperSetProject plays a job that owns its bounded directory and, running as nobody in the
// initial user namespace, moves it to project 0, then writes twice the bound. It prints the
// bytes written and the errno of the move (or of the write).
func helperSetProject(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	if deny := os.Getenv("DQ_DENY"); deny != "" {
		if err := denyIoctls(deny); err != nil {
			return err
		}
	}
	if err := syscall.Fchdir(int(d.Fd())); err != nil {
		return err
	}
	if err := dropToNobody(); err != nil {
		return err
	}
	fa, err := getFsxattr(d)
	if err == nil {
		fa.Projid, fa.Xflags = 0, fa.Xflags&^fsXflagProjinherit
		err = setFsxattr(d, fa)
	}
	var n int64
	if err == nil {
		n, err = fill("f", 2*escapeSize)
	}
	fmt.Printf("%d %d\n", n, errnoOf(err))
	return nil
}

// btrfsQgroupInherit is struct btrfs_qgroup_inherit with no qgroups listed.
type btrfsQgroupInherit struct {
	Flags, NumQgroups, NumRefCopies, NumExclCopies uint64
	Lim                                            [5]uint64
}

// helperNested drops to uid nobody, as a job would run, and tries to escape the bound of the
// subvolume dir by creating subvolumes inside it: one asking to inherit no quota group, then a
// plain one. Each line it prints is "<name> <bytes written> <error>".
func helperNested(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	if deny := os.Getenv("DQ_DENY"); deny != "" {
		if err := denyIoctls(deny); err != nil {
			return err
		}
	}
	// The test's temporary directories are closed to nobody: work relative to dir instead.
	if err := syscall.Fchdir(int(d.Fd())); err != nil {
		return err
	}
	if err := dropToNobody(); err != nil {
		return err
	}
	inherit := btrfsQgroupInherit{}
	v2 := btrfsVolArgsV2{Flags: btrfsSubvolQgroupInherit, Size: uint64(unsafe.Sizeof(inherit)),
		QgroupInherit: uintptr(unsafe.Pointer(&inherit))}
	copy(v2.Name[:], "noinherit")
	err = fileIoctl(d, btrfsIocSubvolCreate2, unsafe.Pointer(&v2))
	report("noinherit", err)
	var plain btrfsVolArgs
	copy(plain.Name[:], "plain")
	err = fileIoctl(d, btrfsIocSubvolCreate, unsafe.Pointer(&plain))
	report("plain", err)
	return nil
}

func report(name string, createErr error) {
	if createErr != nil {
		fmt.Printf("%s 0 create:%v\n", name, createErr)
		return
	}
	n, err := fill(filepath.Join(name, "f"), 2*escapeSize)
	fmt.Printf("%s %d write:%v\n", name, n, err)
}

// denyIoctls installs, on every thread, a seccomp filter failing the comma-separated ioctl
// requests with EPERM, as a sandbox's filter would.
func denyIoctls(list string) error {
	var reqs []uint32
	for _, f := range strings.Split(list, ",") {
		n, err := strconv.ParseUint(f, 0, 32)
		if err != nil {
			return err
		}
		reqs = append(reqs, uint32(n))
	}
	const ld, jeq, ret = unix.BPF_LD | unix.BPF_W | unix.BPF_ABS, unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K, unix.BPF_RET | unix.BPF_K
	n := uint8(len(reqs))
	prog := []unix.SockFilter{
		{Code: ld, K: 0}, // seccomp_data.nr
		{Code: jeq, K: unix.SYS_IOCTL, Jf: n + 1},
		{Code: ld, K: 24}, // low half of seccomp_data.args[1]
	}
	for i, r := range reqs {
		prog = append(prog, unix.SockFilter{Code: jeq, K: r, Jt: n - uint8(i)})
	}
	prog = append(prog, unix.SockFilter{Code: ret, K: unix.SECCOMP_RET_ALLOW},
		unix.SockFilter{Code: ret, K: unix.SECCOMP_RET_ERRNO | uint32(unix.EPERM)})
	fprog := unix.SockFprog{Len: uint16(len(prog)), Filter: &prog[0]}
	_, _, e := unix.Syscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, unix.SECCOMP_FILTER_FLAG_TSYNC, uintptr(unsafe.Pointer(&fprog)))
	if e != 0 {
		return fmt.Errorf("seccomp: %w", e)
	}
	return nil
}

func dropToNobody() error {
	if err := syscall.Setgroups(nil); err != nil {
		return err
	}
	if err := syscall.Setgid(nobody); err != nil {
		return err
	}
	return syscall.Setuid(nobody)
}
