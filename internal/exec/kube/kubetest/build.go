package kubetest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"time"
)

// The versions build.sh builds; keep the two in step.
const (
	KubeVersion = "v1.33.13"
	EtcdVersion = "v3.5.21"
	KwokVersion = "v0.7.0"
)

// Binaries are the paths of the three programs a cluster runs.
type Binaries struct {
	APIServer, Etcd, Kwok string
}

// CacheDir is where build.sh puts the binaries: $BARGE_KUBE_CACHE, else $HOME/.cache/barge-kube.
func CacheDir() (string, error) {
	if dir := os.Getenv("BARGE_KUBE_CACHE"); dir != "" {
		return dir, nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("kubetest: no cache directory: %w", err)
	}
	return filepath.Join(home, ".cache", "barge-kube"), nil
}

// Cached returns the binaries build.sh left in CacheDir, or an error naming the first missing.
func Cached() (Binaries, error) {
	dir, err := CacheDir()
	if err != nil {
		return Binaries{}, err
	}
	b := Binaries{
		APIServer: filepath.Join(dir, "kube-apiserver-"+KubeVersion, "kube-apiserver"),
		Etcd:      filepath.Join(dir, "etcd-"+EtcdVersion, "etcd"),
		Kwok:      filepath.Join(dir, "kwok-"+KwokVersion, "kwok"),
	}
	for _, p := range []string{b.APIServer, b.Etcd, b.Kwok} {
		if _, err := os.Stat(p); err != nil {
			return Binaries{}, fmt.Errorf("kubetest: %s is not built: %w", filepath.Base(p), err)
		}
	}
	return b, nil
}

// BuildScript is the path of build.sh, next to this file in the source tree.
func BuildScript() (string, error) {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		return "", errors.New("kubetest: cannot locate build.sh")
	}
	return filepath.Join(filepath.Dir(file), "build.sh"), nil
}

// Build runs build.sh (it returns at once for what is built already), its output on stderr.
func Build(ctx context.Context) (Binaries, error) {
	script, err := BuildScript()
	if err != nil {
		return Binaries{}, err
	}
	start := time.Now()
	cmd := exec.CommandContext(ctx, "bash", script)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return Binaries{}, fmt.Errorf("kubetest: %s failed after %s: %w", script, time.Since(start).Round(time.Second), err)
	}
	return Cached()
}

// binaries finds the binaries, building them when BARGE_KUBE_BUILD=1 asks for it. The error
// says why there are none and how to build them.
func binaries() (Binaries, error) {
	b, err := Cached()
	if err == nil {
		return b, nil
	}
	if os.Getenv("BARGE_KUBE_BUILD") != "1" {
		return Binaries{}, fmt.Errorf("%w; build them once with `bash internal/exec/kube/kubetest/build.sh` "+
			"(15-30 minutes) or set BARGE_KUBE_BUILD=1 (and go test -timeout 45m)", err)
	}
	return Build(context.Background())
}
