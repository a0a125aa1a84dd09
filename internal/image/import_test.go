package image

import (
	"archive/tar"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// unreachable registries: the names below can only be found by import.
const (
	dockerName = "127.0.0.1:1/team/app:v1"
	ociName    = "127.0.0.1:1/team/oci:v2"
)

func testImage(t *testing.T) v1.Image {
	t.Helper()
	img, err := random.Image(256, 2)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func dockerArchive(t *testing.T, img v1.Image) string {
	t.Helper()
	tag, err := name.NewTag(dockerName)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "app.tar")
	if err := tarball.WriteToFile(path, tag, img); err != nil {
		t.Fatal(err)
	}
	return path
}

func ociLayout(t *testing.T, img v1.Image) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "layout")
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.AppendImage(img, layout.WithAnnotations(map[string]string{"org.opencontainers.image.ref.name": ociName})); err != nil {
		t.Fatal(err)
	}
	return dir
}

// tarDir writes dir as a tar (an OCI archive).
func tarDir(t *testing.T, dir string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "oci.tar")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tw := tar.NewWriter(f)
	if err := tw.AddFS(os.DirFS(dir)); err != nil {
		t.Fatal(err)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestImportPinsPerAccount: a docker save tarball, an OCI layout and an OCI archive import, and
// their names then resolve without a registry — for the importing account only.
func TestImportPinsPerAccount(t *testing.T) {
	ctx := context.Background()
	img := testImage(t)
	want, _ := img.Digest()
	layoutDir := ociLayout(t, img)
	for _, c := range []struct {
		name, path, tag, ref string
	}{
		{"docker save", dockerArchive(t, img), "", dockerName},
		{"docker save renamed", dockerArchive(t, img), "127.0.0.1:1/team/renamed:x", "127.0.0.1:1/team/renamed:x"},
		{"OCI layout", layoutDir, "", ociName},
		{"OCI archive", tarDir(t, layoutDir), "", ociName},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			s, err := New(dir, Options{})
			if err != nil {
				t.Fatal(err)
			}
			got, err := s.Import(ctx, "111111111111", c.path, c.tag)
			if err != nil || len(got) != 1 || got[0].Digest != want.String() {
				t.Fatalf("import: %+v %v", got, err)
			}
			im, err := s.GetFor(ctx, "111111111111", c.ref)
			if err != nil || im.Digest != want.String() {
				t.Fatalf("the importing account's GetFor: %+v %v", im, err)
			}
			if _, err := s.GetFor(ctx, "222222222222", c.ref); err == nil {
				t.Fatal("another account resolved the imported name")
			}
			// The pin survives a restart.
			s2, err := New(dir, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if im, err := s2.GetFor(ctx, "111111111111", c.ref); err != nil || im.Digest != want.String() {
				t.Fatalf("after reopening: %+v %v", im, err)
			}
		})
	}
}

// TestImportRefusesBadArchives: what is not an image archive is refused with a clear error.
func TestImportRefusesBadArchives(t *testing.T) {
	s, err := New(t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	junk := filepath.Join(t.TempDir(), "junk")
	os.WriteFile(junk, []byte("not a tar"), 0o644)
	empty := filepath.Join(t.TempDir(), "empty.tar")
	f, _ := os.Create(empty)
	tar.NewWriter(f).Close()
	f.Close()
	for _, path := range []string{junk, empty, filepath.Join(t.TempDir(), "missing")} {
		if _, err := s.Import(context.Background(), "1", path, ""); err == nil {
			t.Errorf("%s imported", path)
		}
	}
}
