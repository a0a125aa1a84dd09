//go:build linux

package diskquota

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

func TestNoEscapeByRenameOrLink(t *testing.T) {
	forEachKind(t, func(t *testing.T, kind string) {
		a := newArea(t, kind)
		job, err := a.Dir("job", mib)
		if err != nil {
			t.Fatal(err)
		}
		outside := filepath.Join(a.Root(), "big")
		if _, err := fill(outside, 4*mib); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(outside, filepath.Join(job, "big")); !errors.Is(err, unix.EXDEV) {
			t.Errorf("rename into the bounded dir: %v, want EXDEV", err)
		}
		if err := os.Link(outside, filepath.Join(job, "big")); !errors.Is(err, unix.EXDEV) {
			t.Errorf("hard link into the bounded dir: %v, want EXDEV", err)
		}
		sibling, err := a.Dir("sibling", mib)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := fill(filepath.Join(sibling, "f"), 512<<10); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(filepath.Join(sibling, "f"), filepath.Join(job, "f")); !errors.Is(err, unix.EXDEV) {
			t.Errorf("rename between bounded dirs: %v, want EXDEV", err)
		}
	})
}

// TestNoEscapeByNestedSubvolume: on btrfs any user may create a subvolume, which has a quota
// group of its own. A plain one joins the job's quota group; one created asking to inherit
// no quota group escapes, unless the sandbox refuses the ioctls EscapeIoctls names.
func TestNoEscapeByNestedSubvolume(t *testing.T) {
	needLoop(t)
	needKind(t, kindBtrfs)
	a := newArea(t, kindBtrfs)
	if !a.enf.(*btrfsQgroups).simple {
		t.Skip("full qgroup accounting (kernel before 6.7): nested subvolumes escape, as documented")
	}
	var deny []string
	for _, r := range a.EscapeIoctls() {
		deny = append(deny, fmt.Sprintf("%#x", r))
	}
	for _, tc := range []struct {
		name    string
		deny    string
		bounded bool
	}{
		{"without seccomp", "", false},
		{"EscapeIoctls refused", strings.Join(deny, ","), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			job, err := a.Dir(strings.ReplaceAll(tc.name, " ", "-"), escapeSize)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.Chown(job, nobody, nobody); err != nil {
				t.Fatal(err)
			}
			total := runNested(t, job, tc.deny)
			if tc.bounded && total > escapeSize {
				t.Errorf("the job wrote %d bytes in nested subvolumes under a %d-byte bound", total, escapeSize)
			}
			if !tc.bounded {
				t.Logf("without a seccomp filter the job wrote %d bytes under a %d-byte bound", total, escapeSize)
			}
			if err := a.Release(job); err != nil {
				t.Errorf("Release of a dir holding subvolumes: %v", err)
			}
		})
	}
}

// runNested runs helperNested as nobody in job and returns the bytes it wrote.
func runNested(t *testing.T, job, deny string) int64 {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), helperEnv+"=nested", "DQ_DIR="+job, "DQ_DENY="+deny)
	out, err := cmd.CombinedOutput()
	t.Logf("unprivileged job creating subvolumes inside its bound:\n%s", out)
	if err != nil {
		t.Fatal(err)
	}
	var total int64
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		var name string
		var n int64
		if _, err := fmt.Sscanf(line, "%s %d", &name, &n); err == nil {
			total += n
		}
	}
	return total
}

// TestNoEscapeBySetProject: with project quotas the owner of a directory may move it to
// another project unless it runs in a user namespace of its own; refusing EscapeIoctls stops
// a job that does not.
func TestNoEscapeBySetProject(t *testing.T) {
	forEachKind(t, func(t *testing.T, kind string) {
		if kind != kindExt4 {
			t.Skip("only project quotas have project ids")
		}
		a := newArea(t, kind)
		var deny []string
		for _, r := range a.EscapeIoctls() {
			deny = append(deny, fmt.Sprintf("%#x", r))
		}
		for _, tc := range []struct {
			name, deny string
		}{{"without-seccomp", ""}, {"EscapeIoctls-refused", strings.Join(deny, ",")}} {
			job, err := a.Dir(tc.name, escapeSize)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.Chown(job, nobody, nobody); err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command(os.Args[0], "-test.run=^$")
			cmd.Env = append(os.Environ(), helperEnv+"=setproject", "DQ_DIR="+job, "DQ_DENY="+tc.deny)
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("%s: %v: %s", tc.name, err, out)
			}
			var n int64
			var errno int
			fmt.Sscanf(string(out), "%d %d", &n, &errno)
			t.Logf("%s: a job moving its dir out of its project wrote %d bytes under a %d-byte bound, then errno %d", tc.name, n, escapeSize, errno)
			if tc.deny != "" && (n > escapeSize || unix.Errno(errno) != unix.EPERM) {
				t.Errorf("%s: wrote %d bytes, errno %d; want the move refused (EPERM)", tc.name, n, errno)
			}
		}
	})
}
