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

// runtimeSupported reports whether barge can run a runtime on this host: the custom runtimes
// (the package's own bootstrap) always, the Python runtimes when the host has python3 (which
// runs them whatever its minor version).
func runtimeSupported(rt lw.Runtime) bool {
	switch {
	case rt == lw.RuntimeProvidedAl2023 || rt == lw.RuntimeProvidedAl2 || rt == lw.RuntimeProvided:
		return true
	case strings.HasPrefix(string(rt), "python3"):
		_, err := exec.LookPath("python3")
		return err == nil
	}
	return false
}

// prepareRuntime installs the runtime's bootstrap into an unpacked package where barge supplies
// it (interpreted runtimes); custom runtimes bring their own.
func prepareRuntime(rt lw.Runtime, dir string) error {
	if !strings.HasPrefix(string(rt), "python3") {
		return nil
	}
	return os.WriteFile(filepath.Join(dir, "bootstrap"), pythonBootstrap, 0o755)
}
