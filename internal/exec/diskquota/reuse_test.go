//go:build linux

package diskquota

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// messUp uses a directory as a careless job would: a tree of files, a symlink out, a fifo, a
// hard link, a file with an extended attribute, the directory handed to nobody with another
// mode, and data written as nobody.
func messUp(t *testing.T, dir string) {
	t.Helper()
	deep := filepath.Join(dir, "a", "b", "c")
	err := errors.Join(os.MkdirAll(deep, 0o700),
		os.WriteFile(filepath.Join(deep, "f"), []byte("secret"), 0o600),
		os.Symlink("/etc", filepath.Join(dir, "a", "etc")),
		unix.Mkfifo(filepath.Join(dir, "fifo"), 0o644),
		os.Link(filepath.Join(deep, "f"), filepath.Join(dir, "link")),
		unix.Setxattr(filepath.Join(deep, "f"), "user.mark", []byte("x"), 0))
	if err != nil {
		t.Fatal(err)
	}
	if n, err := asJob(t, "fill", dir, "data", 512<<10); err != nil {
		t.Fatalf("job wrote %d bytes: %v", n, err)
	}
	if err := errors.Join(os.Chown(dir, nobody, nobody), os.Chmod(dir, 0o2770)); err != nil {
		t.Fatal(err)
	}
}

// TestReuse: after a Release, the next Dir hands out the same bound emptied, looking as a new
// directory does, with the new bound in force and nothing of the old one left.
func TestReuse(t *testing.T) {
	forEachKind(t, func(t *testing.T, kind string) {
		for _, tc := range []struct {
			name          string
			first, second int64 // bounds
			use           func(t *testing.T, dir string)
		}{
			{"untouched", mib, 8 * mib, func(*testing.T, string) {}},
			{"filled past its bound", mib, 8 * mib, func(t *testing.T, dir string) {
				if _, err := asJob(t, "fill", dir, "f", 2*mib); !errors.Is(err, unix.EDQUOT) {
					t.Fatalf("filling: %v, want EDQUOT", err)
				}
			}},
			{"used carelessly", mib, 8 * mib, messUp},
			{"smaller bound than before", 8 * mib, mib, func(t *testing.T, dir string) {
				if _, err := asJob(t, "fill", dir, "f", 6*mib); err != nil {
					t.Fatal(err)
				}
			}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				a := newArea(t, kind)
				ref := lookOf(t, mustDir(t, a, "ref", tc.second)) // a new directory, never used
				first := mustDir(t, a, "first", tc.first)
				id := boundOf(t, a, first)
				tc.use(t, first)
				mustRelease(t, a, first)
				if _, err := os.Lstat(first); !errors.Is(err, os.ErrNotExist) {
					t.Errorf("%s after Release: %v", first, err)
				}
				settle(t, a)
				before := time.Now().Add(-time.Second) // file times are coarser than the clock
				second := mustDir(t, a, "second", tc.second)
				if got := a.free.reused.Load(); got != 1 || boundOf(t, a, second) != id {
					t.Fatalf("second Dir: bound %d (first had %d), %d reused; want the first one's", boundOf(t, a, second), id, got)
				}
				checkFresh(t, a, second, ref, before)
				// The new bound, not the old one, stops the next user: nearly all of it can be
				// written, and no more.
				n, err := asJob(t, "fill", second, "f", tc.second+mib)
				if !errors.Is(err, unix.EDQUOT) || n < tc.second*3/4 || n > tc.second {
					t.Errorf("writing past the new %d-byte bound (the old was %d): %d written, then %v; want EDQUOT after most of it",
						tc.second, tc.first, n, err)
				}
				if used, err := a.Used(second); err != nil || used < n || used > tc.second+64<<10 {
					t.Errorf("Used after %d bytes written = %d, %v", n, used, err)
				}
			})
		}
	})
}

// checkFresh checks that path, just handed out again, is what a new directory is: empty, with
// ref's owner, mode, flags and extended attributes, times of now, and nothing charged.
func checkFresh(t *testing.T, a *Area, path string, ref look, since time.Time) {
	t.Helper()
	names, err := os.ReadDir(path)
	if err != nil || len(names) != 0 {
		t.Errorf("reused directory holds %v, %v", names, err)
	}
	if got := lookOf(t, path); got.mode != ref.mode || got.uid != ref.uid || got.gid != ref.gid ||
		got.size != ref.size || got.flags != ref.flags || got.fsx != ref.fsx || string(got.xattrs) != string(ref.xattrs) {
		t.Errorf("reused directory looks like %+v, a new one like %+v", got, ref)
	}
	var st unix.Stat_t
	if err := unix.Lstat(path, &st); err != nil {
		t.Fatal(err)
	}
	for what, ts := range map[string]unix.Timespec{"access": st.Atim, "modification": st.Mtim, "change": st.Ctim} {
		if tm := time.Unix(ts.Unix()); tm.Before(since) {
			t.Errorf("reused directory's %s time %v is older than the Dir", what, tm)
		}
	}
	if used, err := a.Used(path); err != nil || used > 64<<10 {
		t.Errorf("Used of a reused directory = %d, %v; want about 0", used, err)
	}
}

// nobodyACL is a default ACL, which whatever the next user creates would inherit: user nobody
// rwx (system.posix_acl_default, version 2).
var nobodyACL = []byte{2, 0, 0, 0,
	1, 0, 7, 0, 0xff, 0xff, 0xff, 0xff, // ACL_USER_OBJ rwx
	2, 0, 7, 0, 0xfe, 0xff, 0, 0, // ACL_USER 65534 rwx
	4, 0, 5, 0, 0xff, 0xff, 0xff, 0xff, // ACL_GROUP_OBJ r-x
	0x10, 0, 7, 0, 0xff, 0xff, 0xff, 0xff, // ACL_MASK rwx
	0x20, 0, 5, 0, 0xff, 0xff, 0xff, 0xff, // ACL_OTHER r-x
}

// TestReuseRefused: a directory its user changed in a way a new one would not be is deleted
// by Release, as before reuse, with its bound.
func TestReuseRefused(t *testing.T) {
	forEachKind(t, func(t *testing.T, kind string) {
		for _, tc := range []struct {
			name  string
			btrfs bool // only there
			do    func(t *testing.T, a *Area, dir string)
		}{
			{"extended attribute", false, func(t *testing.T, _ *Area, dir string) {
				if err := unix.Setxattr(dir, "user.mark", []byte("left"), 0); err != nil {
					t.Fatal(err)
				}
			}},
			{"default ACL", false, func(t *testing.T, _ *Area, dir string) {
				if err := unix.Setxattr(dir, "system.posix_acl_default", nobodyACL, 0); err != nil {
					t.Fatal(err)
				}
			}},
			{"chattr +d", false, func(t *testing.T, _ *Area, dir string) { setFlags(t, dir, fsNodumpFl, 0) }},
			{"a bound inside", false, func(t *testing.T, a *Area, dir string) {
				inner := filepath.Join(dir, "inner")
				if err := os.Mkdir(inner, 0o755); err != nil {
					t.Fatal(err)
				}
				if err := a.Limit(inner, mib); err != nil {
					t.Fatal(err)
				}
			}},
			{"read-only subvolume", true, func(t *testing.T, _ *Area, dir string) {
				f, err := os.Open(dir)
				if err != nil {
					t.Fatal(err)
				}
				defer f.Close()
				flags := uint64(2) // BTRFS_SUBVOL_RDONLY
				if err := fileIoctl(f, iow(26, 8), unsafe.Pointer(&flags)); err != nil {
					t.Fatal(err)
				}
			}},
			{"subvolume inside", true, func(t *testing.T, _ *Area, dir string) {
				f, err := os.Open(dir)
				if err != nil {
					t.Fatal(err)
				}
				defer f.Close()
				var args btrfsVolArgs
				copy(args.Name[:], "nested")
				if err := fileIoctl(f, btrfsIocSubvolCreate, unsafe.Pointer(&args)); err != nil {
					t.Fatal(err)
				}
			}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				if tc.btrfs && kind != kindBtrfs {
					t.Skip("btrfs only")
				}
				a := newArea(t, kind)
				dir := mustDir(t, a, "job", mib)
				id := boundOf(t, a, dir)
				tc.do(t, a, dir)
				mustRelease(t, a, dir)
				if n := len(parkedNames(t, a)); n != 0 || a.free.len() != 0 {
					t.Errorf("kept %d directories (%d listed), want none", n, a.free.len())
				}
				if _, err := os.Lstat(dir); !errors.Is(err, os.ErrNotExist) {
					t.Errorf("%s after Release: %v", dir, err)
				}
				if !boundGone(a, id) {
					t.Errorf("bound %d outlived its directory", id)
				}
			})
		}
	})
}

// TestReuseNotOfUnremovable: a directory whose contents Release cannot remove is not kept.
func TestReuseNotOfUnremovable(t *testing.T) {
	forEachKind(t, func(t *testing.T, kind string) {
		a := newArea(t, kind)
		dir := mustDir(t, a, "job", mib)
		stuck := filepath.Join(dir, "stuck")
		if err := os.WriteFile(stuck, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
		setFlags(t, stuck, fsImmutableFl, 0)
		err := a.Release(dir)
		t.Logf("Release of a directory holding an immutable file: %v", err)
		if n := a.free.len(); n != 0 {
			t.Errorf("kept %d directories, want none", n)
		}
		if _, serr := os.Lstat(dir); err == nil && !errors.Is(serr, os.ErrNotExist) || err != nil && serr != nil {
			t.Errorf("Release: %v, yet %s: %v", err, dir, serr)
		}
		if err != nil { // as before reuse: the directory stays until its contents can go
			setFlags(t, stuck, 0, fsImmutableFl)
			mustRelease(t, a, dir)
		}
		settle(t, a)
		mustDir(t, a, "next", mib)
		if got := a.free.reused.Load(); got != 0 {
			t.Errorf("%d Dirs reused a directory", got)
		}
	})
}
