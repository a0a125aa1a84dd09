package image

import (
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/barge-run/barge/internal/image/imagetest"
)

// BenchmarkPull50MB measures a first pull and unpack: ~50 MB of incompressible files in two
// layers from the loopback registry into a fresh Store directory each time.
func BenchmarkPull50MB(b *testing.B) {
	host := imagetest.StartRegistry(b)
	ref := host + "/bench/big:v1"
	var layers []map[string]imagetest.File
	for l := range 2 {
		files := map[string]imagetest.File{}
		for f := range 5 {
			body := make([]byte, 5<<20)
			rand.Read(body)
			files[fmt.Sprintf("data/%d/file%d", l, f)] = imagetest.File{Body: body}
		}
		layers = append(layers, files)
	}
	imagetest.Push(b, ref, v1.Config{}, layers...)
	b.SetBytes(50 << 20)
	base := b.TempDir()

	for b.Loop() {
		b.StopTimer()
		dir, err := os.MkdirTemp(base, "store-")
		if err != nil {
			b.Fatal(err)
		}
		s := newStore(b, dir, Options{})
		b.StartTimer()

		if _, err := s.Get(context.Background(), ref); err != nil {
			b.Fatal(err)
		}

		b.StopTimer()
		if err := os.RemoveAll(dir); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
}

// BenchmarkGetCached measures the common case: a tag already resolved within TagTTL and
// unpacked, so Get touches neither the registry nor the disk.
func BenchmarkGetCached(b *testing.B) {
	host := imagetest.StartRegistry(b)
	ref := host + "/bench/small:v1"
	simple(b, ref, "hello")
	s := newStore(b, b.TempDir(), Options{})
	get(b, s, ref)
	for b.Loop() {
		if _, err := s.Get(context.Background(), ref); err != nil {
			b.Fatal(err)
		}
	}
}
