package lambda

import (
	"archive/zip"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// BenchmarkUnzip measures CreateFunction's unpacking of a Go function's package: the echo
// function of internal/fn/testdata/echofn built as AWS documents for provided.al2023 (-tags
// lambda.norpc), stripped, zipped as bench-lambda does. It bounds the cold start: this much of
// create-to-first-response is inflating the binary.
func BenchmarkUnzip(b *testing.B) {
	dir := b.TempDir()
	bin := filepath.Join(dir, "bootstrap")
	build := exec.Command("go", "build", "-tags", "lambda.norpc", "-ldflags", "-s -w", "-o", bin, "../fn/testdata/echofn")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		b.Skipf("building the echo function: %v: %s", err, out)
	}
	code, err := os.ReadFile(bin)
	if err != nil {
		b.Fatal(err)
	}
	var pkg bytes.Buffer
	zw := zip.NewWriter(&pkg)
	w, err := zw.CreateHeader(&zip.FileHeader{Name: "bootstrap", Method: zip.Deflate})
	if err != nil {
		b.Fatal(err)
	}
	w.Write(code)
	if err := zw.Close(); err != nil {
		b.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	for b.Loop() {
		os.RemoveAll(out)
		if err := unzip(pkg.Bytes(), out); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(code))/1e6, "MB-unzipped")
	b.ReportMetric(float64(pkg.Len())/1e6, "MB-zip")
}
