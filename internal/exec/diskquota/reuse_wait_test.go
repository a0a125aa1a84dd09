//go:build linux

package diskquota

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestReuseWaits: a kept directory is not handed out while its previous use still counts
// against its bound.
func TestReuseWaits(t *testing.T) {
	forEachKind(t, func(t *testing.T, kind string) {
		// A file unlinked while open stays, charged, until closed; an empty one is charged
		// nothing on btrfs, but whoever holds it could write to the next user's bound.
		for _, size := range []int{0, 256 << 10} {
			t.Run(fmt.Sprintf("file of %d bytes still open", size), func(t *testing.T) {
				a := newArea(t, kind)
				dir := mustDir(t, a, "job", mib)
				f, err := os.Create(filepath.Join(dir, "held"))
				if err == nil {
					_, err = f.Write(make([]byte, size))
				}
				if err != nil {
					t.Fatal(err)
				}
				defer f.Close()
				mustRelease(t, a, dir)
				settle(t, a)
				mustDir(t, a, "next", mib)
				if got := a.free.reused.Load(); got != 0 {
					t.Fatalf("a directory with a file still open was handed out")
				}
				f.Close()
				settle(t, a)
				again := mustDir(t, a, "again", mib)
				if got := a.free.reused.Load(); got != 1 {
					t.Errorf("once the file was closed: %d reused, want 1", got)
				}
				if used, err := a.Used(again); err != nil || used > 64<<10 {
					t.Errorf("Used = %d, %v; want about 0", used, err)
				}
			})
		}
		t.Run("freed data not yet accounted", func(t *testing.T) {
			if kind != kindBtrfs {
				t.Skip("project quotas uncharge at once")
			}
			// Under barge's default bound what the job left reserved is tolerated: only the
			// data keeps the directory back.
			a := newArea(t, kind)
			dir := mustDir(t, a, "job", bigBound)
			if _, err := fill(filepath.Join(dir, "f"), 2*mib); err != nil {
				t.Fatal(err)
			}
			mustRelease(t, a, dir)
			mustDir(t, a, "next", bigBound) // before any commit: a new one
			if got := a.free.reused.Load(); got != 0 {
				t.Fatalf("a directory whose data was still charged was handed out")
			}
			// That Dir asked btrfs to commit: the kept one is soon free, well before the
			// 30 s commit interval.
			// A deadline, not a duration to wait: on a loaded machine btrfs commits late.
			deadline := time.Now().Add(60 * time.Second)
			for i := 0; a.free.reused.Load() == 0 && time.Now().Before(deadline); i++ {
				time.Sleep(20 * time.Millisecond)
				p := mustDir(t, a, fmt.Sprintf("try%d", i), bigBound)
				if a.free.reused.Load() == 0 {
					if err := os.Remove(p); err != nil { // not Release: it would be kept too
						mustRelease(t, a, p)
					}
				}
			}
			if a.free.reused.Load() == 0 {
				t.Errorf("the kept directory was not handed out within 60 s")
			}
		})
	})
}

// TestReuseCap: Release keeps at most the cap, and deletes the rest with their bounds.
func TestReuseCap(t *testing.T) {
	forEachKind(t, func(t *testing.T, kind string) {
		a := newArea(t, kind)
		a.free.cap = 2
		var ids []uint64
		var dirs []string
		for i := range 4 {
			p := mustDir(t, a, fmt.Sprintf("job%d", i), mib)
			ids, dirs = append(ids, boundOf(t, a, p)), append(dirs, p)
		}
		for _, p := range dirs {
			mustRelease(t, a, p)
		}
		if n := len(parkedNames(t, a)); n != 2 || a.free.len() != 2 {
			t.Errorf("kept %d directories (%d listed), want 2", n, a.free.len())
		}
		for i, id := range ids {
			if gone := boundGone(a, id); gone != (i >= 2) {
				t.Errorf("bound of the directory released %d.: gone %v", i+1, gone)
			}
		}
		settle(t, a)
		for i := range 3 {
			mustDir(t, a, fmt.Sprintf("next%d", i), mib)
		}
		if got := a.free.reused.Load(); got != 2 {
			t.Errorf("%d reused, want 2", got)
		}
		if err := a.Sweep(); err != nil {
			t.Fatal(err)
		}
		if names, err := readNames(a.rootF); err != nil || len(areaNames(t, a)) != 0 || len(parkedNames(t, a)) != 0 {
			t.Errorf("after Sweep the area holds %v, %v", names, err)
		}
	})
}

// TestConcurrentReuse: many goroutines taking and releasing directories never share one, and
// each gets it empty.
func TestConcurrentReuse(t *testing.T) {
	forEachKind(t, func(t *testing.T, kind string) {
		a := newArea(t, kind)
		var (
			wg    sync.WaitGroup
			mu    sync.Mutex
			inUse = map[uint64]string{}
		)
		errs := make(chan error, 64)
		for w := range 8 {
			wg.Go(func() {
				for i := range 25 {
					name := fmt.Sprintf("w%d-%d", w, i)
					err := useOnce(a, name, &mu, inUse)
					if err != nil {
						errs <- fmt.Errorf("%s: %w", name, err)
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
		t.Logf("%d of 200 Dirs reused a directory; %d kept at the end", a.free.reused.Load(), a.free.len())
		if a.free.reused.Load() == 0 {
			t.Error("no directory was reused")
		}
		if names := areaNames(t, a); len(names) != 0 {
			t.Errorf("left behind: %v", names)
		}
		if n := len(parkedNames(t, a)); n != a.free.len() || a.free.pending != 0 {
			t.Errorf("%d kept directories in the root, %d listed, %d pending", n, a.free.len(), a.free.pending)
		}
	})
}

func useOnce(a *Area, name string, mu *sync.Mutex, inUse map[uint64]string) error {
	p, err := a.Dir(name, bigBound)
	if err != nil {
		return err
	}
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	id, err := subvolID(f)
	if err != nil {
		var fa fsxattr
		fa, err = getFsxattr(f)
		id = uint64(fa.Projid)
	}
	names, rerr := f.Readdirnames(-1)
	f.Close()
	if err = errors.Join(err, rerr); err != nil {
		return err
	}
	if len(names) != 0 {
		return fmt.Errorf("handed out holding %v", names)
	}
	mu.Lock()
	other, busy := inUse[id]
	inUse[id] = name
	mu.Unlock()
	if busy {
		return fmt.Errorf("bound %d handed out while %s holds it", id, other)
	}
	err = errors.Join(os.Mkdir(filepath.Join(p, "work"), 0o755), os.WriteFile(filepath.Join(p, "work", name), []byte(name), 0o644))
	mu.Lock()
	delete(inUse, id)
	mu.Unlock()
	return errors.Join(err, a.Release(p))
}

// TestReleaseRefusesMountOnIt: nothing mounted on a directory or below it is emptied; the
// check sees mounts made after the area last read the mount table.
func TestReleaseRefusesMountOnIt(t *testing.T) {
	forEachKind(t, func(t *testing.T, kind string) {
		a := newArea(t, kind)
		mustRelease(t, a, mustDir(t, a, "warm", mib)) // the mount table is read and kept
		for _, below := range []string{"", "sub"} {
			dir := mustDir(t, a, "job"+below, mib)
			mnt := filepath.Join(dir, below)
			if err := os.MkdirAll(mnt, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := unix.Mount("tmpfs", mnt, "tmpfs", 0, "size=1m"); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(mnt, "kept"), []byte("x"), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := a.Release(dir); err == nil {
				t.Errorf("Release went ahead with a mount at %s", mnt)
			}
			if _, err := os.Stat(filepath.Join(mnt, "kept")); err != nil {
				t.Errorf("the mounted filesystem lost its file: %v", err)
			}
			if err := unix.Unmount(mnt, 0); err != nil {
				t.Fatal(err)
			}
			mustRelease(t, a, dir)
		}
	})
}
