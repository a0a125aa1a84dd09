package bench

import (
	"archive/tar"
	"bytes"
	"context"
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	bexec "github.com/barge-run/barge/internal/exec"
	"github.com/barge-run/barge/internal/exec/local"
	"github.com/barge-run/barge/internal/exec/sandbox"
	"github.com/barge-run/barge/internal/image"
)

// SandboxResult compares starting (and waiting for) /bin/true three ways, interleaved in one
// run so that machine noise hits all alike.
type SandboxResult struct {
	N int
	// Medians of start-to-exit.
	Bare, Host, Image time.Duration
	// 99th percentiles of start-to-exit.
	BareP99, HostP99, ImageP99 time.Duration
	// ImageFirstPull is the median time to pull and unpack an image of ImageBytes from a loopback
	// registry into an empty cache; CachedImageStart the median start-to-exit of `true` from that
	// image once cached (the Image column, measured separately).
	ImageBytes     int64
	ImageFirstPull time.Duration
}

// SandboxStart measures n starts of each kind: a bare fork/exec (the local executor without a
// sandbox), a sandbox on the host filesystem, and a sandbox from a cached OCI image holding the
// host's /bin/true and the libraries it needs. It also pulls an image of imageMiB MiB of
// incompressible data from a registry on loopback `pulls` times into empty caches.
func SandboxStart(ctx context.Context, n, imageMiB, pulls int) (SandboxResult, error) {
	res := SandboxResult{N: n}
	if err := sandbox.Probe(); err != nil {
		return res, fmt.Errorf("no sandbox on this host: %w", err)
	}
	dir, err := os.MkdirTemp("", "barge-bench-sandbox-")
	if err != nil {
		return res, err
	}
	defer os.RemoveAll(dir)
	sb, err := sandbox.New(sandbox.Options{DataDir: dir})
	if err != nil {
		return res, err
	}
	defer sb.Close()
	images, err := image.New(filepath.Join(dir, "images"), image.Options{})
	if err != nil {
		return res, err
	}
	reg, stop, err := serveRegistry()
	if err != nil {
		return res, err
	}
	defer stop()
	trueRef := reg + "/bench/true:v1"
	if err := pushImage(trueRef, trueLayer); err != nil {
		return res, err
	}
	bare, boxed := local.New(), local.New(local.Options{Sandbox: sb, Images: images})
	kinds := []struct {
		e    *local.Executor
		spec bexec.Spec
		out  *[]time.Duration
	}{
		{bare, bexec.Spec{Command: []string{"/bin/true"}}, new([]time.Duration)},
		{boxed, bexec.Spec{Command: []string{"/bin/true"}, MilliVCPU: 1000, MemoryMiB: 64}, new([]time.Duration)},
		{boxed, bexec.Spec{Image: trueRef, Command: []string{"/bin/true"}, MilliVCPU: 1000, MemoryMiB: 64}, new([]time.Duration)},
	}
	work := filepath.Join(dir, "work")
	for i := range n + 1 { // the first round warms caches and is not counted
		for _, k := range kinds {
			spec := k.spec
			spec.ID = fmt.Sprintf("bench-%d", i)
			spec.Dir = work
			if err := os.MkdirAll(work, 0o700); err != nil {
				return res, err
			}
			begin := time.Now()
			p, err := k.e.Start(ctx, spec)
			if err != nil {
				return res, fmt.Errorf("start: %w", err)
			}
			if x := p.Wait(); x.Code != 0 {
				return res, fmt.Errorf("true exited %+v", x)
			}
			if i > 0 {
				*k.out = append(*k.out, time.Since(begin))
			}
			os.RemoveAll(work)
		}
	}
	res.Bare, res.Host, res.Image = median(*kinds[0].out), median(*kinds[1].out), median(*kinds[2].out)
	res.BareP99, res.HostP99, res.ImageP99 = p99(*kinds[0].out), p99(*kinds[1].out), p99(*kinds[2].out)

	bigRef := reg + "/bench/big:v1"
	layer, err := random.Layer(int64(imageMiB)<<20, "application/vnd.docker.image.rootfs.diff.tar.gzip")
	if err != nil {
		return res, err
	}
	if err := pushImage(bigRef, func() (v1.Layer, error) { return layer, nil }); err != nil {
		return res, err
	}
	res.ImageBytes, _ = layer.Size()
	var pullTimes []time.Duration
	for i := range pulls {
		store, err := image.New(filepath.Join(dir, fmt.Sprintf("pull-%d", i)), image.Options{})
		if err != nil {
			return res, err
		}
		begin := time.Now()
		if _, err := store.Get(ctx, bigRef); err != nil {
			return res, err
		}
		pullTimes = append(pullTimes, time.Since(begin))
		os.RemoveAll(filepath.Join(dir, fmt.Sprintf("pull-%d", i)))
	}
	res.ImageFirstPull = median(pullTimes)
	return res, nil
}

// p99 is the 99th percentile of ds (nearest rank).
func p99(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[(len(s)*99+99)/100-1]
}

func median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

// serveRegistry runs go-containerregistry's in-memory registry on loopback.
func serveRegistry() (string, func(), error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{Handler: registry.New(registry.Logger(log.New(io.Discard, "", 0))), ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	return ln.Addr().String(), func() { srv.Close() }, nil
}

func pushImage(ref string, layer func() (v1.Layer, error)) error {
	l, err := layer()
	if err != nil {
		return err
	}
	img, err := mutate.AppendLayers(empty.Image, l)
	if err != nil {
		return err
	}
	r, err := name.ParseReference(ref, name.Insecure)
	if err != nil {
		return err
	}
	return remote.Write(r, img)
}

// trueLayer packs the host's /bin/true with its ELF interpreter and libraries, so an image can
// run it without a toolchain at hand.
func trueLayer() (v1.Layer, error) {
	files, err := withLibraries("/bin/true")
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := writeTar(&buf, files); err != nil {
		return nil, err
	}
	b := buf.Bytes()
	return tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil })
}

// writeTar writes each host file (symlinks followed) at the same path, with its directories.
func writeTar(w io.Writer, files []string) error {
	tw := tar.NewWriter(w)
	dirs := map[string]bool{}
	for _, f := range files {
		var parents []string
		for d := filepath.Dir(f); d != "/" && !dirs[d]; d = filepath.Dir(d) {
			dirs[d] = true
			parents = append(parents, d)
		}
		for i := len(parents) - 1; i >= 0; i-- {
			if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: parents[i][1:] + "/", Mode: 0o755}); err != nil {
				return err
			}
		}
		b, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: f[1:], Mode: 0o755, Size: int64(len(b))}); err != nil {
			return err
		}
		if _, err := tw.Write(b); err != nil {
			return err
		}
	}
	return tw.Close()
}

// withLibraries lists bin, its interpreter and the shared libraries it needs, as host paths.
func withLibraries(bin string) ([]string, error) {
	f, err := elf.Open(bin)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	files := []string{bin}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			b := make([]byte, p.Filesz)
			if _, err := p.ReadAt(b, 0); err != nil {
				return nil, err
			}
			files = append(files, string(bytes.TrimRight(b, "\x00")))
		}
	}
	libs, err := f.ImportedLibraries()
	if err != nil {
		return nil, err
	}
	for _, lib := range libs {
		found := false
		for _, d := range []string{"/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib/aarch64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/lib64", "/usr/lib64", "/lib", "/usr/lib"} {
			if _, err := os.Stat(filepath.Join(d, lib)); err == nil {
				files = append(files, filepath.Join(d, lib))
				found = true
				break
			}
		}
		if !found {
			return nil, errors.New("cannot find " + lib + " for " + bin)
		}
	}
	return files, nil
}
