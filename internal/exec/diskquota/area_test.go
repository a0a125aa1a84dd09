//go:build linux

package diskquota

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

const (
	mib      = 1 << 20
	areaSize = 1 << 30 // sparse: costs a few MiB of the test machine's disk
)

func TestOpenMakesAndMountsImage(t *testing.T) {
	forEachKind(t, func(t *testing.T, kind string) {
		start := time.Now()
		a := newArea(t, kind)
		t.Logf("Open on a new %d GiB image took %v: %s", areaSize>>30, time.Since(start), a.Describe())
		m, ok, err := mountAt(a.Root())
		if err != nil || !ok || m.fstype != kind {
			t.Fatalf("mount at %s = %+v, %v, %v; want %s", a.Root(), m, ok, err, kind)
		}
		if !sameFile(loopBackingFile(m.source), a.img) {
			t.Errorf("%s is backed by %q, want %s", m.source, loopBackingFile(m.source), a.img)
		}
		if !strings.Contains(m.options, "nodev") && !strings.Contains(mountOptions(t, a.Root()), "nodev") {
			t.Errorf("mount options %q lack nodev", m.options)
		}
		var st unix.Stat_t
		if err := unix.Stat(a.img, &st); err != nil {
			t.Fatal(err)
		}
		if st.Size != areaSize || st.Blocks*512 > 64*mib {
			t.Errorf("image: size %d, allocated %d; want %d, sparse", st.Size, st.Blocks*512, areaSize)
		}
		for _, want := range []string{a.img, m.source, "1 GiB"} {
			if !strings.Contains(a.Describe(), want) {
				t.Errorf("Describe() = %q, want it to name %q", a.Describe(), want)
			}
		}
	})
}

func TestReopenAfterCloseReusesImage(t *testing.T) {
	forEachKind(t, func(t *testing.T, kind string) {
		dir := filepath.Join(t.TempDir(), "area")
		a := openKind(t, dir, kind)
		if err := os.WriteFile(filepath.Join(dir, "marker"), []byte("kept"), 0o644); err != nil {
			t.Fatal(err)
		}
		before, _ := os.Stat(a.img)
		dev := a.dev
		if err := a.Close(); err != nil {
			t.Fatal(err)
		}
		if _, ok, _ := mountAt(dir); ok {
			t.Fatalf("%s still mounted after Close", dir)
		}
		if f := loopBackingFile(dev); f != "" {
			t.Errorf("%s still bound to %s after Close", dev, f)
		}
		start := time.Now()
		b := openKind(t, dir, kind)
		t.Logf("reopening took %v", time.Since(start))
		after, _ := os.Stat(b.img)
		if !os.SameFile(before, after) {
			t.Errorf("image %s was made anew", b.img)
		}
		if got, err := os.ReadFile(filepath.Join(dir, "marker")); err != nil || string(got) != "kept" {
			t.Errorf("marker after reopening = %q, %v", got, err)
		}
	})
}

func TestOpenTakesOverMountOfKilledProcess(t *testing.T) {
	forEachKind(t, func(t *testing.T, kind string) {
		dir := filepath.Join(t.TempDir(), "area")
		dev := killedOpener(t, dir, kind)
		a := openKind(t, dir, kind)
		if a.dev != dev || !a.owned {
			t.Errorf("reopened on %s (owned %v), want the left mount on %s", a.dev, a.owned, dev)
		}
		if n := countMounts(t, dir); n != 1 {
			t.Errorf("%d mounts on %s, want 1", n, dir)
		}
		if n, err := a.Used(filepath.Join(dir, "left")); err != nil || n < 100<<10 {
			t.Errorf("Used of the dead process's dir = %d, %v", n, err)
		}
		if err := a.Sweep(); err != nil {
			t.Fatal(err)
		}
		if names := areaNames(t, a); len(names) != 0 {
			t.Errorf("after Sweep the area holds %v", names)
		}
	})
}

func TestBound(t *testing.T) {
	forEachKind(t, func(t *testing.T, kind string) {
		a := newArea(t, kind)
		job, err := a.Dir("job", mib)
		if err != nil {
			t.Fatal(err)
		}
		if n, err := asJob(t, "fill", job, "a", 900<<10); err != nil {
			t.Fatalf("writing 900 KiB under a 1 MiB bound: %d written, %v", n, err)
		}
		n, err := asJob(t, "fill", job, "b", mib)
		t.Logf("%s: writing past the bound failed after %d more bytes with %v (%d)", kind, n, err, errnoOf(err))
		if !errors.Is(err, unix.EDQUOT) {
			t.Errorf("writing past the bound: %v, want EDQUOT", err)
		}
		created, err := asJob(t, "create", job, "", mib/bytesPerInodeBudget+inodeSlack+16)
		t.Logf("%s: creating empty files past the bound: %d created, then %v", kind, created, err)
		if !errors.Is(err, unix.EDQUOT) {
			t.Errorf("creating files past the bound: %v, want EDQUOT", err)
		}
		used, err := a.Used(job)
		if err != nil || used < 900<<10 || used > mib+64<<10 {
			t.Errorf("Used = %d, %v; want about 1 MiB", used, err)
		}
		sibling, err := a.Dir("sibling", mib)
		if err != nil {
			t.Fatal(err)
		}
		if n, err := asJob(t, "fill", sibling, "a", 900<<10); err != nil {
			t.Errorf("sibling with its own bound: %d written, %v", n, err)
		}
		if n, err := fill(filepath.Join(a.Root(), "free"), 8*mib); err != nil { // as root: the root is root's
			t.Errorf("area root, outside any bound: %d written, %v", n, err)
		}
		if err := os.Mkdir(filepath.Join(a.Root(), "plain"), 0o755); err != nil {
			t.Fatal(err)
		}
		if _, err := a.Used(filepath.Join(a.Root(), "plain")); !errors.Is(err, ErrNotLimited) {
			t.Errorf("Used of an unbounded dir: %v, want ErrNotLimited", err)
		}
	})
}

// TestReleaseFreesBoundAndSpace: a directory Release does not keep for reuse (here none is
// kept) goes with its bound.
func TestReleaseFreesBoundAndSpace(t *testing.T) {
	forEachKind(t, func(t *testing.T, kind string) {
		a := newArea(t, kind)
		a.free.cap = 0
		first, err := a.Dir("first", mib)
		if err != nil {
			t.Fatal(err)
		}
		firstProject := projectID(t, first)
		if _, err := asJob(t, "fill", first, "f", 2*mib); !errors.Is(err, unix.EDQUOT) {
			t.Fatalf("filling: %v, want EDQUOT", err)
		}
		if err := a.Release(first); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(first); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s after Release: %v", first, err)
		}
		second, err := a.Dir("second", mib)
		if err != nil {
			t.Fatal(err)
		}
		if kind == kindExt4 && projectID(t, second) != firstProject {
			t.Errorf("project %d was not reused (got %d)", firstProject, projectID(t, second))
		}
		if n, err := asJob(t, "fill", second, "f", 900<<10); err != nil {
			t.Errorf("after Release a new bound is free: %d written, %v", n, err)
		}
		if b, ok := a.enf.(*btrfsQgroups); ok {
			// The level-1 group goes at once; the subvolume's own one when the kernel drops it.
			groups, _ := filepath.Glob(filepath.Join(b.sysfs, "1_*"))
			if len(groups) != 1 || len(b.stale) != 0 {
				t.Errorf("level-1 quota groups after Release: %v (still to remove %v), want only the new dir's", groups, b.stale)
			}
		}
		if err := a.Release(a.Root()); err == nil {
			t.Error("Release of the area root succeeded")
		}
	})
}

// TestOpenUsesQuotaFilesystemAsIs opens an area inside another one: the filesystem there
// already enforces quotas, so no image is made and Close leaves the mount alone.
func TestOpenUsesQuotaFilesystemAsIs(t *testing.T) {
	forEachKind(t, func(t *testing.T, kind string) {
		outer := newArea(t, kind)
		if _, err := outer.Dir("busy", mib); err != nil {
			t.Fatal(err)
		}
		inner, err := Open(filepath.Join(outer.Root(), "inner"), areaSize)
		if err != nil {
			t.Fatal(err)
		}
		t.Log(inner.Describe())
		if inner.img != "" || inner.owned || !strings.HasSuffix(inner.Describe(), " on "+kind+" at "+inner.Root()) {
			t.Errorf("inner area: image %q, owned %v, %q; want the outer filesystem as is", inner.img, inner.owned, inner.Describe())
		}
		if _, err := os.Stat(inner.Root() + ".img"); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("an image was made for the inner area: %v", err)
		}
		job, err := inner.Dir("job", mib)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := asJob(t, "fill", job, "f", 2*mib); !errors.Is(err, unix.EDQUOT) {
			t.Errorf("writing past the bound: %v, want EDQUOT", err)
		}
		if _, ok := inner.enf.(*projectQuota); ok && projectID(t, job) == projectID(t, filepath.Join(outer.Root(), "busy")) {
			t.Errorf("the inner area reused project %d, which the outer one holds", projectID(t, job))
		}
		if err := inner.Close(); err != nil {
			t.Fatal(err)
		}
		if _, ok, _ := mountAt(outer.Root()); !ok {
			t.Error("closing the inner area unmounted the outer one")
		}
	})
}

func TestSweepEmptiesArea(t *testing.T) {
	forEachKind(t, func(t *testing.T, kind string) {
		a := newArea(t, kind)
		for _, name := range []string{"a", "b"} {
			p, err := a.Dir(name, 4*mib)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := fill(filepath.Join(p, "f"), mib); err != nil {
				t.Fatal(err)
			}
		}
		nested := filepath.Join(a.Root(), "a", "tmp")
		if err := os.Mkdir(nested, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := a.Limit(nested, mib); err != nil {
			t.Fatal(err)
		}
		mnt := filepath.Join(a.Root(), "b", "mnt")
		if err := os.Mkdir(mnt, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := unix.Mount("tmpfs", mnt, "tmpfs", 0, "size=1m"); err != nil {
			t.Fatal(err)
		}
		if err := a.Release(filepath.Join(a.Root(), "b")); err == nil {
			t.Error("Release went ahead with a mount below")
		}
		if err := os.WriteFile(filepath.Join(a.Root(), "loose"), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := a.Sweep(); err != nil {
			t.Fatal(err)
		}
		if names := areaNames(t, a); len(names) != 0 {
			t.Errorf("after Sweep the area holds %v", names)
		}
		if p, ok := a.enf.(*projectQuota); ok {
			if id, _ := p.ids.get(); id != firstProjectID {
				t.Errorf("after Sweep the first id handed out is %d, want %d", id, firstProjectID)
			}
		}
		again, err := a.Dir("a", mib)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := asJob(t, "fill", again, "f", 2*mib); !errors.Is(err, unix.EDQUOT) {
			t.Errorf("bound after Sweep: %v, want EDQUOT", err)
		}
	})
}

func TestLimit(t *testing.T) {
	forEachKind(t, func(t *testing.T, kind string) {
		a := newArea(t, kind)
		job := filepath.Join(a.Root(), "job")
		tmp := filepath.Join(job, "tmp")
		for _, d := range []string{job, tmp, filepath.Join(job, "full")} {
			if err := os.Mkdir(d, 0o755); err != nil {
				t.Fatal(err)
			}
		}
		if err := errors.Join(os.Chmod(tmp, 0o777|os.ModeSticky), os.Chown(tmp, nobody, nobody)); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(job, "full", "f"), nil, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(job, filepath.Join(a.Root(), "link")); err != nil {
			t.Fatal(err)
		}
		if err := a.Limit(tmp, mib); err != nil {
			t.Fatal(err)
		}
		var st unix.Stat_t
		if err := unix.Stat(tmp, &st); err != nil || st.Mode&0o7777 != 0o1777 || st.Uid != nobody || st.Gid != nobody {
			t.Errorf("after Limit: mode %o, owner %d:%d, %v; want 1777 owned by %d", st.Mode&0o7777, st.Uid, st.Gid, err, nobody)
		}
		if _, err := asJob(t, "fill", tmp, "f", 2*mib); !errors.Is(err, unix.EDQUOT) {
			t.Errorf("writing past a Limit bound: %v, want EDQUOT", err)
		}
		for _, bad := range []struct{ name, path string }{
			{"not empty", filepath.Join(job, "full")},
			{"outside the area", t.TempDir()},
			{"the root", a.Root()},
			{"relative", "job/tmp"},
			{"through a symlink", filepath.Join(a.Root(), "link", "x")},
			{"missing", filepath.Join(job, "missing")},
		} {
			if err := a.Limit(bad.path, mib); err == nil {
				t.Errorf("Limit of a dir %s (%s) succeeded", bad.name, bad.path)
			}
		}
		if err := a.Release(tmp); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(job); err != nil {
			t.Errorf("Release of %s took its parent: %v", tmp, err)
		}
	})
}

func TestDirRejectsBadNames(t *testing.T) {
	needLoop(t)
	a := newArea(t, imageKindHere(t))
	for _, name := range []string{"", ".", "..", "a/b", "/abs", lostFound, strings.Repeat("x", 256), parkPrefix + "1"} {
		if _, err := a.Dir(name, mib); err == nil {
			t.Errorf("Dir(%q) succeeded", name)
		}
	}
	if _, err := a.Dir("zero", 0); err == nil {
		t.Error("Dir with a zero bound succeeded")
	}
	if _, err := a.Dir("twice", mib); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Dir("twice", mib); err == nil {
		t.Error("Dir of an existing name succeeded")
	}
}

func TestConcurrentDirAndRelease(t *testing.T) {
	forEachKind(t, func(t *testing.T, kind string) {
		a := newArea(t, kind)
		var wg sync.WaitGroup
		errs := make(chan error, 64)
		for w := range 8 {
			wg.Go(func() {
				for i := range 10 {
					p, err := a.Dir(fmt.Sprintf("w%d-%d", w, i), mib)
					if err == nil {
						_, err = fill(filepath.Join(p, "f"), 64<<10)
					}
					if err == nil {
						err = a.Release(p)
					}
					if err != nil {
						errs <- err
						return
					}
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
		if names := areaNames(t, a); len(names) != 0 {
			t.Errorf("left behind: %v", names)
		}
	})
}
