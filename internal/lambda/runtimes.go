package lambda

import (
	_ "embed"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	lw "github.com/barge-run/barge/internal/awstypes/lambda"
)

// pythonBootstrap is barge's runtime interface client for Python handlers.
//
//go:embed runtimes/python_bootstrap.py
var pythonBootstrap []byte

// nodeBootstrap is barge's runtime interface client for Node.js handlers.
//
//go:embed runtimes/node_bootstrap.js
var nodeBootstrap []byte

// runtimeSupported reports whether barge can run a runtime on this host: the custom runtimes
// (the package's own bootstrap) always, the Python runtimes when the host has python3 and the
// Node.js ones when it has node (each runs them whatever its version).
func runtimeSupported(rt lw.Runtime) bool {
	switch {
	case rt == lw.RuntimeProvidedAl2023 || rt == lw.RuntimeProvidedAl2 || rt == lw.RuntimeProvided:
		return true
	case strings.HasPrefix(string(rt), "python3"):
		_, err := exec.LookPath("python3")
		return err == nil
	case strings.HasPrefix(string(rt), "nodejs"):
		_, err := exec.LookPath("node")
		return err == nil
	}
	return false
}

// prepareRuntime installs the runtime's bootstrap into an unpacked package where barge supplies
// it (interpreted runtimes); custom runtimes bring their own.
func prepareRuntime(rt lw.Runtime, dir string) error {
	switch {
	case strings.HasPrefix(string(rt), "python3"):
		return os.WriteFile(filepath.Join(dir, "bootstrap"), pythonBootstrap, 0o755)
	case strings.HasPrefix(string(rt), "nodejs"):
		return os.WriteFile(filepath.Join(dir, "bootstrap"), nodeBootstrap, 0o755)
	}
	return nil
}
