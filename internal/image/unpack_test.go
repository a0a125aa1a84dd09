package image

import (
	"archive/tar"
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// unpackTar unpacks the headers' tar straight into a fresh rootfs, bypassing mutate.Extract's
// own checks, so that os.Root alone stands between a hostile tar and the host. It returns the
// rootfs path; the rootfs sits two levels below its test dir so "../../x" lands where the test
// looks.
func unpackTar(t *testing.T, hdrs ...*tar.Header) (string, error) {
	t.Helper()
	rootfs := filepath.Join(t.TempDir(), "store", "rootfs")
	if err := os.MkdirAll(rootfs, 0o755); err != nil {
		t.Fatal(err)
	}
	root, err := os.OpenRoot(rootfs)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	return rootfs, unpack(root, bytes.NewReader(tarOf(t, hdrs...)))
}

func TestUnpackRefusesEscapes(t *testing.T) {
	t.Parallel()
	outside := t.TempDir()
	tests := []struct {
		name string
		hdrs []*tar.Header
	}{
		{"dot-dot name", []*tar.Header{{Typeflag: tar.TypeReg, Name: "../../escape"}}},
		{"absolute name", []*tar.Header{{Typeflag: tar.TypeReg, Name: outside + "/escape"}}},
		{"dot-dot directory", []*tar.Header{{Typeflag: tar.TypeDir, Name: "../../escape/"}}},
		{"file through absolute symlink", []*tar.Header{
			{Typeflag: tar.TypeSymlink, Name: "evil", Linkname: "/"},
			{Typeflag: tar.TypeReg, Name: "evil" + outside + "/x"},
		}},
		{"file through relative symlink", []*tar.Header{
			{Typeflag: tar.TypeSymlink, Name: "evil", Linkname: "../../.."},
			{Typeflag: tar.TypeReg, Name: "evil" + outside + "/x"},
		}},
		{"directory through symlink", []*tar.Header{
			{Typeflag: tar.TypeSymlink, Name: "evil", Linkname: outside},
			{Typeflag: tar.TypeDir, Name: "evil/sub/"},
		}},
		{"symlink through symlink", []*tar.Header{
			{Typeflag: tar.TypeSymlink, Name: "evil", Linkname: outside},
			{Typeflag: tar.TypeSymlink, Name: "evil/l", Linkname: "/"},
		}},
		{"fifo through symlink", []*tar.Header{
			{Typeflag: tar.TypeSymlink, Name: "evil", Linkname: outside},
			{Typeflag: tar.TypeFifo, Name: "evil/p"},
		}},
		{"hard link to /etc/passwd", []*tar.Header{{Typeflag: tar.TypeLink, Name: "pw", Linkname: "/etc/passwd"}}},
		{"hard link up", []*tar.Header{{Typeflag: tar.TypeLink, Name: "pw", Linkname: "../../../etc/passwd"}}},
		{"hard link placed through symlink", []*tar.Header{
			{Typeflag: tar.TypeReg, Name: "f"},
			{Typeflag: tar.TypeSymlink, Name: "evil", Linkname: outside},
			{Typeflag: tar.TypeLink, Name: "evil/f", Linkname: "f"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rootfs, err := unpackTar(t, tt.hdrs...)
			if err == nil || !strings.Contains(err.Error(), "escapes") && !strings.Contains(err.Error(), "not allowed") {
				t.Errorf("unpack = %v, want an error about escaping the root", err)
			}
			assertOnly(t, outside)
			assertOnly(t, filepath.Dir(rootfs), "rootfs")
			assertOnly(t, filepath.Dir(filepath.Dir(rootfs)), "store")
		})
	}
}

// TestUnpackExistingEntries: mutate.Extract emits upper layers first, so an entry for a path
// that exists was shadowed by a higher layer and must not replace it or write through it.
func TestUnpackExistingEntries(t *testing.T) {
	t.Parallel()
	outside := t.TempDir()
	rootfs, err := unpackTar(t,
		&tar.Header{Typeflag: tar.TypeReg, Name: "a/b", Mode: 0o644}, // upper layer, parent implied
		&tar.Header{Typeflag: tar.TypeDir, Name: "a/", Mode: 0o700},  // lower layer's directory: metadata only
		&tar.Header{Typeflag: tar.TypeReg, Name: "x/y", Mode: 0o644}, // upper layer
		&tar.Header{Typeflag: tar.TypeReg, Name: "x", Mode: 0o644},   // lower layer's file where a directory is now
		&tar.Header{Typeflag: tar.TypeSymlink, Name: "s", Linkname: outside + "/t"},
		&tar.Header{Typeflag: tar.TypeReg, Name: "s", Mode: 0o644}, // must not write through the symlink
		&tar.Header{Typeflag: tar.TypeFifo, Name: "s", Mode: 0o644},
		&tar.Header{Typeflag: tar.TypeSymlink, Name: "x", Linkname: "/"},
		&tar.Header{Typeflag: tar.TypeLink, Name: "early", Linkname: "late"}, // upper layer links to a lower layer's file
		&tar.Header{Typeflag: tar.TypeReg, Name: "late", Mode: 0o600},
	)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		path string
		mode fs.FileMode
	}{{"a", fs.ModeDir | 0o700}, {"a/b", 0o644}, {"x", fs.ModeDir | 0o755}, {"x/y", 0o644}, {"s", fs.ModeSymlink | 0o777}} {
		fi, err := os.Lstat(filepath.Join(rootfs, c.path))
		if err != nil || fi.Mode() != c.mode {
			t.Errorf("%s: %v, %v; want mode %v", c.path, fi.Mode(), err, c.mode)
		}
	}
	early, err1 := os.Lstat(filepath.Join(rootfs, "early"))
	late, err2 := os.Lstat(filepath.Join(rootfs, "late"))
	if err1 != nil || err2 != nil || !os.SameFile(early, late) {
		t.Errorf("early is not a hard link to late: %v, %v", err1, err2)
	}
	assertOnly(t, outside)
	if _, err := os.Lstat(filepath.Join(outside, "t")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("wrote through a symlink: %v", err)
	}
}
