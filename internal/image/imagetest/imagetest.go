// Package imagetest gives tests a real OCI registry on loopback and a way to push small images
// to it: go-containerregistry's in-memory registry on an httptest server, images built from maps
// of files, and static Go binaries to put in them (testdata/app is a ready-made one).
package imagetest

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// StartRegistry runs go-containerregistry's registry (pkg/registry) on a loopback httptest
// server for the test's life; returns "127.0.0.1:port".
func StartRegistry(t testing.TB) string {
	t.Helper()
	return RegistryServer(t, nil).Listener.Addr().String()
}

// RegistryServer is StartRegistry for tests that need the server itself: wrap (if not nil)
// wraps the registry handler, e.g. to count or fail requests, and Close takes the registry down
// mid-test. The server is closed when the test ends.
func RegistryServer(t testing.TB, wrap func(http.Handler) http.Handler) *httptest.Server {
	t.Helper()
	var h http.Handler = registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	if wrap != nil {
		h = wrap(h)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

var builds struct {
	sync.Mutex
	m map[string]*build
}

type build struct {
	once sync.Once
	bin  []byte
	err  string
}

// StaticBinary builds the Go main package at pkgDir (absolute, or relative to the test's
// working directory) for linux/GOARCH with CGO_ENABLED=0, so it runs in an image with no libc,
// and returns its bytes. Each directory is built once per process; the build happens in a temp
// dir that is removed once the bytes are read.
func StaticBinary(t testing.TB, pkgDir string) []byte {
	t.Helper()
	dir, err := filepath.Abs(pkgDir)
	if err != nil {
		t.Fatal(err)
	}
	builds.Lock()
	if builds.m == nil {
		builds.m = make(map[string]*build)
	}
	b, ok := builds.m[dir]
	if !ok {
		b = new(build)
		builds.m[dir] = b
	}
	builds.Unlock()

	b.once.Do(func() {
		tmp, err := os.MkdirTemp("", "imagetest-bin-")
		if err != nil {
			b.err = err.Error()
			return
		}
		defer os.RemoveAll(tmp)
		out := filepath.Join(tmp, "bin")
		cmd := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", out, ".")
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+runtime.GOARCH)
		if msg, err := cmd.CombinedOutput(); err != nil {
			b.err = "go build " + dir + ": " + err.Error() + "\n" + string(msg)
			return
		}
		if b.bin, err = os.ReadFile(out); err != nil {
			b.err = err.Error()
		}
	})
	if b.err != "" {
		t.Fatal(b.err)
	}
	return b.bin
}

// App returns StaticBinary of testdata/app, the small program whose modes (echo, env, pwd,
// write, cat, id, exit, sleep) let tests see what a container was given.
func App(t testing.TB) []byte {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	return StaticBinary(t, filepath.Join(filepath.Dir(file), "testdata", "app"))
}

// File is one file of a test layer.
type File struct {
	Body []byte
	// Mode is the permission bits, setuid/setgid/sticky included (0o4755); 0 means 0644 for
	// files and 0755 for directories.
	Mode int64
	// Link is the symlink target; non-empty makes the file a symlink.
	Link string
}

// modTime is every entry's mtime, so that pushing the same layers twice gives the same digest.
var modTime = time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)

// Push builds an image from the layers and config, pushes it to ref (e.g. host+"/test/app:v1")
// and returns the manifest digest. In each layer, a path ending in "/" is a directory, parent
// directories are added as needed, and "dir/.wh.name" and "dir/.wh..wh..opq" are whiteouts as
// in the OCI spec; later layers override earlier ones. The image config says linux/GOARCH.
func Push(t testing.TB, ref string, cfg v1.Config, layers ...map[string]File) string {
	t.Helper()
	tars := make([][]byte, len(layers))
	for i, files := range layers {
		tars[i] = layerTar(t, files)
	}
	return PushTars(t, ref, cfg, tars...)
}

// PushTars is Push with layers given as raw uncompressed tar streams, for layers Push cannot
// express: owners, hard links, devices, hostile names.
func PushTars(t testing.TB, ref string, cfg v1.Config, tars ...[]byte) string {
	t.Helper()
	var layers []v1.Layer
	for _, b := range tars {
		l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
			return io.NopCloser(bytes.NewReader(b)), nil
		}, tarball.WithCompressionLevel(gzip.BestSpeed))
		if err != nil {
			t.Fatal(err)
		}
		layers = append(layers, l)
	}
	img, err := mutate.AppendLayers(empty.Image, layers...)
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture, cf.Config = "linux", runtime.GOARCH, cfg
	if img, err = mutate.ConfigFile(img, cf); err != nil {
		t.Fatal(err)
	}
	r, err := name.ParseReference(ref, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(r, img); err != nil {
		t.Fatalf("push %s: %v", ref, err)
	}
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d.String()
}

// layerTar writes files as a tar, parents before children, in a stable order.
func layerTar(t testing.TB, files map[string]File) []byte {
	t.Helper()
	paths := make([]string, 0, len(files))
	for p := range files {
		paths = append(paths, p)
	}
	sort.Strings(paths)

	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	done := map[string]bool{}
	write := func(hdr *tar.Header, body []byte) {
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(body); err != nil {
			t.Fatal(err)
		}
	}
	var dir func(p string)
	dir = func(p string) {
		if p == "." || p == "/" || done[p] {
			return
		}
		dir(path.Dir(p))
		done[p] = true
		mode := files[p+"/"].Mode
		if mode == 0 {
			mode = 0o755
		}
		write(&tar.Header{Typeflag: tar.TypeDir, Name: p + "/", Mode: mode, ModTime: modTime}, nil)
	}
	for _, p := range paths {
		f := files[p]
		clean := strings.TrimSuffix(p, "/")
		if strings.HasSuffix(p, "/") {
			dir(clean)
			continue
		}
		dir(path.Dir(clean))
		hdr := &tar.Header{Name: clean, Mode: f.Mode, ModTime: modTime}
		switch {
		case f.Link != "":
			hdr.Typeflag, hdr.Linkname = tar.TypeSymlink, f.Link
			if hdr.Mode == 0 {
				hdr.Mode = 0o777
			}
			write(hdr, nil)
		default:
			hdr.Typeflag, hdr.Size = tar.TypeReg, int64(len(f.Body))
			if hdr.Mode == 0 {
				hdr.Mode = 0o644
			}
			write(hdr, f.Body)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
