package lambda

import (
	"bytes"
	_ "embed"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"

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

// runtimePath is where barge looks for interpreters: the directories a function instance's
// PATH holds (a sandboxed instance runs as an unprivileged user, so an interpreter under a home
// directory such as pyenv's would not run there).
var runtimePath = []string{"/usr/local/bin", "/usr/bin", "/bin"}

// hostRuntimes are the Lambda runtimes this host can run as named, found once.
var hostRuntimes = sync.OnceValue(findRuntimes)

// findRuntimes lists the runtimes barge can run here: the custom ones always; python3.X for
// each python3.X interpreter on runtimePath; nodejsN.x for the major version of node there.
func findRuntimes() []lw.Runtime {
	rts := []lw.Runtime{lw.RuntimeProvidedAl2023, lw.RuntimeProvidedAl2, lw.RuntimeProvided}
	minor := regexp.MustCompile(`^python3\.([0-9]+)$`)
	for _, dir := range runtimePath {
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			if minor.MatchString(e.Name()) && executable(filepath.Join(dir, e.Name())) && !slices.Contains(rts, lw.Runtime(e.Name())) {
				rts = append(rts, lw.Runtime(e.Name()))
			}
		}
	}
	if node := findExecutable("node"); node != "" {
		if out, err := exec.Command(node, "--version").Output(); err == nil {
			major, _, _ := strings.Cut(strings.TrimPrefix(string(bytes.TrimSpace(out)), "v"), ".")
			rts = append(rts, lw.Runtime("nodejs"+major+".x"))
		}
	}
	return rts
}

// findExecutable is name's path in runtimePath, or "".
func findExecutable(name string) string {
	for _, dir := range runtimePath {
		if p := filepath.Join(dir, name); executable(p) {
			return p
		}
	}
	return ""
}

func executable(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0
}

// runtimeSupported reports whether barge can run rt as named on this host: never another
// version under its name.
func runtimeSupported(rt lw.Runtime) bool { return slices.Contains(hostRuntimes(), rt) }

// unsupportedRuntime is the error for a runtime this host cannot run, listing those it can.
func unsupportedRuntime(rt lw.Runtime) error {
	names := make([]string, 0, len(hostRuntimes()))
	for _, r := range hostRuntimes() {
		names = append(names, string(r))
	}
	return invalid("Runtime: %q cannot run on this host (barge never runs another version under its name); it can run %s, "+
		"or any runtime as a container image (PackageType Image)", rt, strings.Join(names, ", "))
}

// prepareRuntime installs the runtime's bootstrap into an unpacked package where barge supplies
// it (interpreted runtimes); custom runtimes bring their own. A Python bootstrap names its
// interpreter's exact version.
func prepareRuntime(rt lw.Runtime, dir string) error {
	switch {
	case strings.HasPrefix(string(rt), "python3"):
		script := bytes.Replace(pythonBootstrap, []byte("#!/usr/bin/env python3\n"), []byte("#!/usr/bin/env "+string(rt)+"\n"), 1)
		return os.WriteFile(filepath.Join(dir, "bootstrap"), script, 0o755)
	case strings.HasPrefix(string(rt), "nodejs"):
		return os.WriteFile(filepath.Join(dir, "bootstrap"), nodeBootstrap, 0o755)
	}
	return nil
}
