package image

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/barge-run/barge/internal/image/imagetest"
)

// counter counts the requests a test registry serves.
type counter struct {
	all, blobs atomic.Int64
}

func (c *counter) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.all.Add(1)
		if strings.Contains(r.URL.Path, "/blobs/") {
			c.blobs.Add(1)
		}
		h.ServeHTTP(w, r)
	})
}

func (c *counter) reset() { c.all.Store(0); c.blobs.Store(0) }

// clock is a fake Options.Now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)} }

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// countingRegistry starts a registry whose requests are counted.
func countingRegistry(t *testing.T) (string, *counter, func()) {
	t.Helper()
	c := new(counter)
	srv := imagetest.RegistryServer(t, c.wrap)
	return srv.Listener.Addr().String(), c, srv.Close
}

func newStore(t testing.TB, dir string, opts Options) *Store {
	t.Helper()
	s, err := New(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func get(t testing.TB, s *Store, ref string) *Image {
	t.Helper()
	im, err := s.Get(context.Background(), ref)
	if err != nil {
		t.Fatalf("Get(%s): %v", ref, err)
	}
	return im
}

// simple pushes a one-layer image and returns its digest.
func simple(t testing.TB, ref, content string) string {
	t.Helper()
	return imagetest.Push(t, ref, v1.Config{Cmd: []string{"/hello"}},
		map[string]imagetest.File{"hello": {Body: []byte(content), Mode: 0o755}})
}

func TestGetTwoLayers(t *testing.T) {
	t.Parallel()
	host := imagetest.StartRegistry(t)
	ref := host + "/test/app:v1"
	cfg := v1.Config{
		Entrypoint: []string{"/bin/app", "serve"},
		Cmd:        []string{"--port", "8080"},
		Env:        []string{"PATH=/bin", "GREETING=hello world"},
		WorkingDir: "/srv",
		User:       "1000:1000",
	}
	digest := imagetest.Push(t, ref, cfg,
		map[string]imagetest.File{
			"bin/app":         {Body: []byte("binary"), Mode: 0o755},
			"bin/sudo":        {Body: []byte("setuid"), Mode: 0o4755},
			"etc/config":      {Body: []byte("v1")},
			"etc/gone":        {Body: []byte("x")},
			"private/":        {Mode: 0o700},
			"private/key":     {Body: []byte("k"), Mode: 0o600},
			"tmp/":            {Mode: 0o1777},
			"opq/old":         {Body: []byte("old")},
			"opq/sub/deep":    {Body: []byte("deep")},
			"usr/lib/libc.so": {Body: []byte("libc")},
			"lib":             {Link: "usr/lib"},
			"abs":             {Link: "/etc/config"},
		},
		map[string]imagetest.File{
			"etc/config":           {Body: []byte("v2"), Mode: 0o640},
			"etc/.wh.gone":         {},
			"opq/.wh..wh..opq":     {},
			"opq/new":              {Body: []byte("new")},
			"srv/":                 {},
			"bin/.wh.not-existing": {},
		},
	)

	s := newStore(t, t.TempDir(), Options{})
	im := get(t, s, ref)

	want := Image{Ref: ref, Digest: digest, Entrypoint: cfg.Entrypoint, Cmd: cfg.Cmd, Env: cfg.Env, WorkingDir: "/srv", User: "1000:1000"}
	got := *im
	got.RootFS = ""
	if !equalImage(got, want) {
		t.Errorf("Get = %+v, want %+v", got, want)
	}
	if !filepath.IsAbs(im.RootFS) {
		t.Errorf("RootFS %q is not absolute", im.RootFS)
	}

	files := []struct {
		path string
		body string      // "" for non-regular files
		mode fs.FileMode // type and permission bits
		link string
	}{
		{path: ".", mode: fs.ModeDir | 0o755},
		{path: "bin/app", body: "binary", mode: 0o755},
		{path: "bin/sudo", body: "setuid", mode: fs.ModeSetuid | 0o755},
		{path: "etc/config", body: "v2", mode: 0o640},
		{path: "private", mode: fs.ModeDir | 0o700},
		{path: "private/key", body: "k", mode: 0o600},
		{path: "tmp", mode: fs.ModeDir | fs.ModeSticky | 0o777},
		{path: "opq/new", body: "new", mode: 0o644},
		{path: "srv", mode: fs.ModeDir | 0o755},
		{path: "lib", mode: fs.ModeSymlink | 0o777, link: "usr/lib"},
		{path: "abs", mode: fs.ModeSymlink | 0o777, link: "/etc/config"},
		{path: "usr/lib/libc.so", body: "libc", mode: 0o644},
	}
	for _, f := range files {
		p := filepath.Join(im.RootFS, f.path)
		fi, err := os.Lstat(p)
		if err != nil {
			t.Error(err)
			continue
		}
		if fi.Mode() != f.mode {
			t.Errorf("%s: mode %v, want %v", f.path, fi.Mode(), f.mode)
		}
		if f.body != "" {
			if b, err := os.ReadFile(p); err != nil || string(b) != f.body {
				t.Errorf("%s: %q, %v; want %q", f.path, b, err, f.body)
			}
		}
		if f.link != "" {
			if l, err := os.Readlink(p); err != nil || l != f.link {
				t.Errorf("%s: link %q, %v; want %q", f.path, l, err, f.link)
			}
		}
	}
	for _, gone := range []string{"etc/gone", "opq/old", "opq/sub", "bin/not-existing", "etc/.wh.gone", "opq/.wh..wh..opq"} {
		if _, err := os.Lstat(filepath.Join(im.RootFS, gone)); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s: want it gone, Lstat: %v", gone, err)
		}
	}
	// mtimes come from the tar, directories included (set after their contents).
	for _, p := range []string{"etc/config", "etc", "private"} {
		fi, err := os.Lstat(filepath.Join(im.RootFS, p))
		if err != nil {
			t.Fatal(err)
		}
		if want := time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC); !fi.ModTime().Equal(want) {
			t.Errorf("%s: mtime %v, want %v", p, fi.ModTime(), want)
		}
	}
}

func equalImage(a, b Image) bool {
	return a.Ref == b.Ref && a.Digest == b.Digest && a.RootFS == b.RootFS &&
		slices.Equal(a.Entrypoint, b.Entrypoint) && slices.Equal(a.Cmd, b.Cmd) && slices.Equal(a.Env, b.Env) &&
		a.WorkingDir == b.WorkingDir && a.User == b.User
}

// TestGetSpecialEntries covers what Push cannot express: owners, hard links, fifos, devices,
// read-only directories.
func TestGetSpecialEntries(t *testing.T) {
	t.Parallel()
	host := imagetest.StartRegistry(t)
	ref := host + "/test/special:v1"
	mtime := time.Date(2021, 6, 7, 8, 9, 10, 0, time.UTC)
	layer := tarOf(t,
		&tar.Header{Typeflag: tar.TypeDir, Name: "ro/", Mode: 0o555, Uid: 7, Gid: 8, ModTime: mtime},
		&tar.Header{Typeflag: tar.TypeReg, Name: "ro/file", Mode: 0o4750, Uid: 1234, Gid: 5678, Size: 4, ModTime: mtime},
		&tar.Header{Typeflag: tar.TypeLink, Name: "ro/hard", Linkname: "ro/file"},
		&tar.Header{Typeflag: tar.TypeSymlink, Name: "sym", Linkname: "ro/file", Uid: 42, Gid: 43},
		&tar.Header{Typeflag: tar.TypeFifo, Name: "pipe", Mode: 0o620, Uid: 9, Gid: 10},
		&tar.Header{Typeflag: tar.TypeChar, Name: "dev/null", Mode: 0o666, Devmajor: 1, Devminor: 3},
		&tar.Header{Typeflag: tar.TypeBlock, Name: "dev/sda", Mode: 0o660, Devmajor: 8},
		&tar.Header{Typeflag: tar.TypeReg, Name: "./dotted/name", Mode: 0o644, Size: 4},
	)
	digest := imagetest.PushTars(t, ref, v1.Config{}, layer)

	im := get(t, newStore(t, t.TempDir(), Options{}), ref+"@"+digest)
	root := im.RootFS

	fi, err := os.Lstat(filepath.Join(root, "ro/file"))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode() != fs.ModeSetuid|0o750 {
		t.Errorf("ro/file mode %v", fi.Mode())
	}
	if b, _ := os.ReadFile(filepath.Join(root, "ro/hard")); string(b) != "body" {
		t.Errorf("ro/hard = %q", b)
	}
	hard, err := os.Lstat(filepath.Join(root, "ro/hard"))
	if err != nil || !os.SameFile(fi, hard) {
		t.Errorf("ro/hard is not a hard link of ro/file: %v", err)
	}
	if fi, err := os.Lstat(filepath.Join(root, "ro")); err != nil || fi.Mode() != fs.ModeDir|0o555 || !fi.ModTime().Equal(mtime) {
		t.Errorf("ro: %v %v %v", fi.Mode(), fi.ModTime(), err)
	}
	if fi, err := os.Lstat(filepath.Join(root, "pipe")); err != nil || fi.Mode() != fs.ModeNamedPipe|0o620 {
		t.Errorf("pipe: %v, %v", fi.Mode(), err)
	}
	for _, dev := range []string{"dev/null", "dev/sda"} {
		if _, err := os.Lstat(filepath.Join(root, dev)); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s: device entries must be skipped, Lstat: %v", dev, err)
		}
	}
	if b, _ := os.ReadFile(filepath.Join(root, "dotted/name")); string(b) != "body" {
		t.Errorf("dotted/name = %q", b)
	}
	if os.Geteuid() != 0 {
		t.Log("not root: owners not checked")
		return
	}
	for _, o := range []struct {
		path     string
		uid, gid uint32
	}{{"ro", 7, 8}, {"ro/file", 1234, 5678}, {"sym", 42, 43}, {"pipe", 9, 10}} {
		fi, err := os.Lstat(filepath.Join(root, o.path))
		if err != nil {
			t.Fatal(err)
		}
		st := fi.Sys().(*syscall.Stat_t)
		if st.Uid != o.uid || st.Gid != o.gid {
			t.Errorf("%s: owner %d:%d, want %d:%d", o.path, st.Uid, st.Gid, o.uid, o.gid)
		}
	}
}

// tarOf writes the headers as a tar; regular files get the body "body".
func tarOf(t testing.TB, hdrs ...*tar.Header) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, h := range hdrs {
		if h.Typeflag == tar.TypeReg {
			h.Size = 4
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			if _, err := tw.Write([]byte("body")); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestGetCachedMakesNoRequests(t *testing.T) {
	t.Parallel()
	host, c, _ := countingRegistry(t)
	ref := host + "/test/app:v1"
	digest := simple(t, ref, "hello")
	dir := t.TempDir()

	s := newStore(t, dir, Options{})
	c.reset()
	first := get(t, s, ref)
	if c.blobs.Load() != 2 { // one layer and the config
		t.Errorf("first Get fetched %d blobs, want 2", c.blobs.Load())
	}

	c.reset()
	second := get(t, s, ref)
	if n := c.all.Load(); n != 0 {
		t.Errorf("second Get by tag within TTL made %d requests, want 0", n)
	}
	if second.RootFS != first.RootFS || second.Digest != digest {
		t.Errorf("second Get = %+v, want RootFS %s digest %s", second, first.RootFS, digest)
	}

	// A restarted store needs no network for a digest, and for a tag only the manifest.
	s2 := newStore(t, dir, Options{})
	c.reset()
	byDigest := get(t, s2, host+"/test/app@"+digest)
	if n := c.all.Load(); n != 0 {
		t.Errorf("Get by digest of an unpacked image made %d requests, want 0", n)
	}
	if byDigest.RootFS != first.RootFS || byDigest.Ref != host+"/test/app@"+digest {
		t.Errorf("Get by digest = %+v", byDigest)
	}
	c.reset()
	get(t, s2, ref)
	if c.all.Load() == 0 || c.blobs.Load() != 0 {
		t.Errorf("Get by tag after restart: %d requests, %d blobs; want some, 0", c.all.Load(), c.blobs.Load())
	}

	// Callers own what Get returns.
	second.Cmd[0] = "changed"
	if third := get(t, s, ref); third.Cmd[0] != "/hello" {
		t.Errorf("a caller's change leaked into the cache: Cmd %q", third.Cmd)
	}
}

func TestConcurrentGetsUnpackOnce(t *testing.T) {
	t.Parallel()
	host, c, _ := countingRegistry(t)
	ref := host + "/test/app:v1"
	imagetest.Push(t, ref, v1.Config{},
		map[string]imagetest.File{"a": {Body: bytes.Repeat([]byte("a"), 1<<20)}},
		map[string]imagetest.File{"b": {Body: bytes.Repeat([]byte("b"), 1<<20)}},
	)
	dir := t.TempDir()
	s := newStore(t, dir, Options{})
	c.reset()

	const n = 8
	var wg sync.WaitGroup
	images := make([]*Image, n)
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() { images[i], errs[i] = s.Get(context.Background(), ref) })
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		if images[i].RootFS != images[0].RootFS {
			t.Errorf("Get %d: RootFS %s, want %s", i, images[i].RootFS, images[0].RootFS)
		}
	}
	if got := c.blobs.Load(); got != 3 { // two layers and the config, once
		t.Errorf("%d concurrent Gets fetched %d blobs, want 3", n, got)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if len(names) != 2 { // sha256-<hex> and refs.json, no temp dirs
		t.Errorf("store dir holds %q", names)
	}
}

func TestTagTTL(t *testing.T) {
	t.Parallel()
	host, c, _ := countingRegistry(t)
	ref := host + "/test/app:latest"
	clk := newClock()
	s := newStore(t, t.TempDir(), Options{TagTTL: time.Minute, Now: clk.now})

	d1 := simple(t, ref, "one")
	if im := get(t, s, ref); im.Digest != d1 {
		t.Fatalf("digest %s, want %s", im.Digest, d1)
	}
	d2 := simple(t, ref, "two")

	steps := []struct {
		advance time.Duration
		want    string
		network bool
	}{
		{advance: 30 * time.Second, want: d1, network: false},
		{advance: 29 * time.Second, want: d1, network: false},
		{advance: 2 * time.Second, want: d2, network: true}, // 61s after the first resolution
		{advance: 59 * time.Second, want: d2, network: false},
	}
	for i, st := range steps {
		clk.advance(st.advance)
		c.reset()
		im := get(t, s, ref)
		if im.Digest != st.want {
			t.Errorf("step %d: digest %s, want %s", i, im.Digest, st.want)
		}
		if got := c.all.Load() > 0; got != st.network {
			t.Errorf("step %d: asked the registry = %v, want %v", i, got, st.network)
		}
	}
	b, err := os.ReadFile(filepath.Join(im2dir(t, s, ref), "rootfs", "hello"))
	if err != nil || string(b) != "two" {
		t.Errorf("re-resolved rootfs has %q, %v", b, err)
	}
}

func im2dir(t *testing.T, s *Store, ref string) string {
	t.Helper()
	return filepath.Dir(get(t, s, ref).RootFS)
}

func TestRegistryDownUsesLastDigest(t *testing.T) {
	t.Parallel()
	host, _, stop := countingRegistry(t)
	ref := host + "/test/app:v1"
	digest := simple(t, ref, "hello")
	simple(t, host+"/test/other:v1", "evil") // same length as "good", so only the digest differs
	dir := t.TempDir()
	clk := newClock()
	s := newStore(t, dir, Options{Now: clk.now})
	first := get(t, s, ref)
	stop()

	clk.advance(time.Hour) // the in-memory resolution has expired
	if im := get(t, s, ref); im.Digest != digest || im.RootFS != first.RootFS {
		t.Errorf("same store, registry down: %+v", im)
	}

	restarted := newStore(t, dir, Options{Now: clk.now})
	for _, r := range []string{ref, host + "/test/app@" + digest} {
		if im := get(t, restarted, r); im.Digest != digest || im.RootFS != first.RootFS {
			t.Errorf("restarted store, registry down, Get(%s) = %+v", r, im)
		}
	}
	_, err := restarted.Get(context.Background(), host+"/test/other:v1")
	var pe *PullError
	if !errors.As(err, &pe) || !strings.Contains(err.Error(), "connection refused") {
		t.Errorf("never-pulled tag with the registry down: %v, want a PullError saying connection refused", err)
	}
}

func TestPullErrors(t *testing.T) {
	t.Parallel()
	host := imagetest.StartRegistry(t)
	simple(t, host+"/test/app:v1", "hello")
	closed := closedPort(t)

	tests := []struct {
		name, ref, want string
	}{
		{"unknown repo", host + "/test/nope:v1", "pull " + host + "/test/nope:v1: repository unknown"},
		{"unknown tag", host + "/test/app:v2", "pull " + host + "/test/app:v2: manifest unknown"},
		{"unknown digest", host + "/test/app@sha256:" + strings.Repeat("0", 64), "pull " + host + "/test/app@sha256:" + strings.Repeat("0", 64) + ": manifest unknown"},
		{"unreachable", closed + "/test/app:v1", "pull " + closed + "/test/app:v1: dial tcp " + closed + ": connect: connection refused"},
		{"invalid reference", "Not A Ref::", "pull Not A Ref::: could not parse reference: Not A Ref::"},
		{"uppercase repository", "UPPER/case", "pull UPPER/case: could not parse reference"},
		// A cancelled context fails before any network, showing how short names are reported.
		{"docker hub short name", "busybox", "pull docker.io/library/busybox:latest: context canceled"},
	}
	s := newStore(t, t.TempDir(), Options{})
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			if tt.ref == "busybox" {
				ctx = cancelled
			}
			_, err := s.Get(ctx, tt.ref)
			var pe *PullError
			if !errors.As(err, &pe) {
				t.Fatalf("Get(%q) = %v (%T), want *PullError", tt.ref, err, err)
			}
			t.Log(err)
			if !strings.HasPrefix(err.Error(), tt.want) {
				t.Errorf("Get(%q):\n got %s\nwant %s", tt.ref, err, tt.want)
			}
			if pe.Unwrap() == nil {
				t.Errorf("PullError has no cause")
			}
		})
	}
}

// closedPort returns a loopback "host:port" nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

func TestLeftoverTempDirIsIgnored(t *testing.T) {
	t.Parallel()
	host := imagetest.StartRegistry(t)
	ref := host + "/test/app:v1"
	simple(t, ref, "hello")
	dir := t.TempDir()
	// What a crash mid-unpack leaves: a temp dir with a partial rootfs, including a read-only
	// directory, and a half-written refs file.
	crash := filepath.Join(dir, ".tmp-123456")
	if err := os.MkdirAll(filepath.Join(crash, "rootfs", "ro", "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(crash, "rootfs", "ro", "sub", "f"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, ".tmp-789"), []byte(`{"half`), 0o644); err != nil {
		t.Fatal(err)
	}

	s := newStore(t, dir, Options{})
	im := get(t, s, ref)
	if b, err := os.ReadFile(filepath.Join(im.RootFS, "hello")); err != nil || string(b) != "hello" {
		t.Errorf("hello = %q, %v", b, err)
	}
	matches, _ := filepath.Glob(filepath.Join(dir, ".tmp-*"))
	if len(matches) != 0 {
		t.Errorf("leftovers still there: %q", matches)
	}
}

func TestHostileLayers(t *testing.T) {
	t.Parallel()
	host := imagetest.StartRegistry(t)
	outside := t.TempDir() // where an escape would land; must stay empty
	passwd, err := os.Stat("/etc/passwd")
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name string
		hdrs []*tar.Header
		want string // in the error
	}{
		{"dot-dot name", []*tar.Header{
			{Typeflag: tar.TypeReg, Name: "../../escape", Mode: 0o644},
		}, "unsafe tar path"},
		{"through symlink to /", []*tar.Header{
			{Typeflag: tar.TypeSymlink, Name: "evil", Linkname: "/"},
			{Typeflag: tar.TypeReg, Name: "evil" + outside + "/x", Mode: 0o644},
		}, ""}, // mutate.Extract drops entries under a non-directory: the pull succeeds harmlessly
		{"hard link to /etc/passwd", []*tar.Header{
			{Typeflag: tar.TypeLink, Name: "pw", Linkname: "/etc/passwd"},
		}, "escapes"},
		{"hard link out via symlink", []*tar.Header{
			{Typeflag: tar.TypeSymlink, Name: "up", Linkname: outside},
			{Typeflag: tar.TypeLink, Name: "pw", Linkname: "up/secret"},
		}, "escapes"},
	}
	if err := os.WriteFile(filepath.Join(outside, "secret"), []byte("s"), 0o600); err != nil {
		t.Fatal(err)
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ref := host + "/test/hostile:" + string(rune('a'+i))
			imagetest.PushTars(t, ref, v1.Config{}, tarOf(t, tt.hdrs...))
			dir := t.TempDir()
			im, err := newStore(t, dir, Options{}).Get(context.Background(), ref)
			if tt.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				if _, err := os.Lstat(filepath.Join(im.RootFS, "evil")); err != nil {
					t.Error(err)
				}
			} else {
				var pe *PullError
				if !errors.As(err, &pe) || !strings.Contains(err.Error(), tt.want) {
					t.Fatalf("Get = %v, want a PullError containing %q", err, tt.want)
				}
				t.Log(err)
				assertOnly(t, dir) // no temp dir, no escape, no refs
			}
			assertOnly(t, outside, "secret")
			assertOnly(t, filepath.Dir(dir), filepath.Base(dir)) // nothing beside the store dir
			if fi, err := os.Stat("/etc/passwd"); err != nil || fi.Sys().(*syscall.Stat_t).Nlink != passwd.Sys().(*syscall.Stat_t).Nlink {
				t.Errorf("/etc/passwd link count changed")
			}
		})
	}
}

// assertOnly fails unless dir holds exactly the names.
func assertOnly(t *testing.T, dir string, names ...string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		got = append(got, e.Name())
	}
	if !slices.Equal(got, names) {
		t.Errorf("%s holds %q, want %q", dir, got, names)
	}
}

// TestCorruptLayerFails: a registry serving other bytes for a layer must fail the pull, even
// though the substitute is a well-formed layer that would unpack cleanly.
func TestCorruptLayerFails(t *testing.T) {
	t.Parallel()
	var from, to atomic.Value // blob paths to swap, set once both images are pushed
	from.Store("")
	to.Store("")
	srv := imagetest.RegistryServer(t, func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if f := from.Load().(string); f != "" && strings.HasSuffix(r.URL.Path, f) {
				r.URL.Path = strings.TrimSuffix(r.URL.Path, f) + to.Load().(string)
			}
			h.ServeHTTP(w, r)
		})
	})
	host := srv.Listener.Addr().String()
	simple(t, host+"/test/good:v1", "good")
	simple(t, host+"/test/other:v1", "evil") // same length as "good", so only the digest differs
	from.Store("/blobs/" + layerDigest(t, host+"/test/good:v1"))
	to.Store("/blobs/" + layerDigest(t, host+"/test/other:v1"))

	dir := t.TempDir()
	_, err := newStore(t, dir, Options{}).Get(context.Background(), host+"/test/good:v1")
	var pe *PullError
	if !errors.As(err, &pe) || !strings.Contains(err.Error(), "verifying sha256 checksum") {
		t.Fatalf("Get = %v, want a PullError about the checksum", err)
	}
	assertOnly(t, dir)
}

func layerDigest(t *testing.T, ref string) string {
	t.Helper()
	layers, err := remoteImage(t, ref).Layers()
	if err != nil {
		t.Fatal(err)
	}
	d, err := layers[0].Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d.String()
}

func TestParseInsecure(t *testing.T) {
	t.Parallel()
	s := newStore(t, t.TempDir(), Options{Insecure: []string{"registry.internal:5000"}})
	tests := []struct {
		ref, scheme string
	}{
		{"registry.internal:5000/app:v1", "http"},
		{"registry.internal/app:v1", "https"}, // matched exactly, port included
		{"localhost/app", "http"},
		{"localhost:5000/app", "http"},
		{"127.0.0.1:5000/app", "http"},
		{"127.1.2.3:5000/app", "http"},
		{"[::1]:5000/app", "http"},
		{"example.com/app", "https"},
		{"busybox", "https"},
	}
	for _, tt := range tests {
		r, err := s.parse(tt.ref)
		if err != nil {
			t.Errorf("parse(%q): %v", tt.ref, err)
			continue
		}
		if got := r.Context().Scheme(); got != tt.scheme {
			t.Errorf("parse(%q) scheme %s, want %s", tt.ref, got, tt.scheme)
		}
	}
}

// TestIndexPicksPlatform: a multi-platform index yields the linux/GOARCH image, and its digest
// keeps working offline after a restart.
func TestIndexPicksPlatform(t *testing.T) {
	t.Parallel()
	host, _, stop := countingRegistry(t)
	mine := host + "/test/multi:mine"
	other := host + "/test/multi:other"
	mineDigest := simple(t, mine, "mine")
	simple(t, other, "other")

	otherArch := "arm64"
	if runtime.GOARCH == "arm64" {
		otherArch = "amd64"
	}
	idx := mutate.AppendManifests(empty.Index,
		mutate.IndexAddendum{Add: remoteImage(t, other), Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: otherArch}}},
		mutate.IndexAddendum{Add: remoteImage(t, mine), Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: runtime.GOARCH}}},
	)
	tag, err := name.ParseReference(host + "/test/multi:v1")
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.WriteIndex(tag, idx); err != nil {
		t.Fatal(err)
	}
	idxDigest, err := idx.Digest()
	if err != nil {
		t.Fatal(err)
	}

	dir := t.TempDir()
	byIndexDigest := host + "/test/multi@" + idxDigest.String()
	im := get(t, newStore(t, dir, Options{}), byIndexDigest)
	if im.Digest != mineDigest {
		t.Errorf("digest %s, want the %s image's %s", im.Digest, runtime.GOARCH, mineDigest)
	}
	if b, err := os.ReadFile(filepath.Join(im.RootFS, "hello")); err != nil || string(b) != "mine" {
		t.Errorf("hello = %q, %v", b, err)
	}

	stop()
	if im := get(t, newStore(t, dir, Options{}), byIndexDigest); im.Digest != mineDigest {
		t.Errorf("offline by index digest: %s, want %s", im.Digest, mineDigest)
	}
}

func remoteImage(t *testing.T, ref string) v1.Image {
	t.Helper()
	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	img, err := remote.Image(r)
	if err != nil {
		t.Fatal(err)
	}
	return img
}
