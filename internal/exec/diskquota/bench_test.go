//go:build linux

package diskquota

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// BenchmarkDir measures what each job start and end costs: Dir, then Release, of an empty
// directory or of one holding the subdirectories a sandbox makes (work, tmp). "new" keeps
// nothing for reuse, as before reuse: each Dir makes a subvolume or project, each Release
// deletes it; "reused" is the default. The bound is barge's default, 20 GiB, but in the last
// case 64 MiB, for which what a previous use left reserved (btrfs) is too much until the next
// commit. reused/op is the share of Dirs served by a kept directory.
func BenchmarkDir(b *testing.B) {
	needLoop(b)
	for _, kind := range imageKinds {
		for _, bc := range []struct {
			name    string
			keep    int
			subdirs bool
			bound   int64
		}{
			{"new", 0, false, 20 << 30},
			{"reused", freeCap, false, 20 << 30},
			{"new+subdirs", 0, true, 20 << 30},
			{"reused+subdirs", freeCap, true, 20 << 30},
			{"reused+subdirs,64MiB", freeCap, true, 64 * mib},
		} {
			b.Run(kind+"/"+bc.name, func(b *testing.B) {
				needKind(b, kind)
				a := newArea(b, kind)
				a.free.cap = bc.keep
				i := 0
				for b.Loop() {
					p, err := a.Dir(fmt.Sprintf("job%d", i), bc.bound)
					if err != nil {
						b.Fatal(err)
					}
					if bc.subdirs {
						err = errors.Join(os.Mkdir(filepath.Join(p, "work"), 0o755), os.Mkdir(filepath.Join(p, "tmp"), 0o1777))
					}
					if err == nil {
						err = a.Release(p)
					}
					if err != nil {
						b.Fatal(err)
					}
					i++
				}
				b.ReportMetric(float64(a.free.reused.Load())/float64(max(i, 1)), "reused/op")
			})
		}
	}
}
