package cli

import (
	"errors"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestCheckEntryPoint checks that packages without what their runtime starts are refused with
// a message naming it, and complete ones pass.
func TestCheckEntryPoint(t *testing.T) {
	for _, tc := range []struct {
		runtime, handler string
		files            map[string]os.FileMode
		want             string // "" when accepted
	}{
		{"provided.al2023", "bootstrap", map[string]os.FileMode{"bootstrap": 0o755}, ""},
		{"provided.al2023", "bootstrap", map[string]os.FileMode{"main.go": 0o644}, "lacks an executable bootstrap at its top"},
		{"provided.al2", "bootstrap", map[string]os.FileMode{"fn/bootstrap": 0o755}, "it has fn/bootstrap"},
		{"provided", "bootstrap", map[string]os.FileMode{"bootstrap": 0o644}, "not executable"},
		{"python3.12", "app.handler", map[string]os.FileMode{"app.py": 0o644}, ""},
		{"python3.12", "pkg.mod.handler", map[string]os.FileMode{"pkg/mod.py": 0o644}, ""},
		{"python3.12", "pkg.handler", map[string]os.FileMode{"pkg/__init__.py": 0o644}, ""},
		{"python3.12", "app.handler", map[string]os.FileMode{"main.py": 0o644}, "app.py or app/__init__.py"},
		{"python3.12", "bootstrap", map[string]os.FileMode{"app.py": 0o644}, "wants module.function"},
		{"nodejs20.x", "index.handler", map[string]os.FileMode{"index.mjs": 0o644}, ""},
		{"nodejs20.x", "src/app.handler", map[string]os.FileMode{"src/app.js": 0o644}, ""},
		{"nodejs20.x", "index.handler", map[string]os.FileMode{"app.js": 0o644}, "index.js or index.mjs or index.cjs"},
		{"java21", "x.Y::handle", map[string]os.FileMode{"lib/x.jar": 0o644}, ""},
	} {
		dir := t.TempDir()
		for name, mode := range tc.files {
			p := filepath.Join(dir, name)
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, []byte("x"), mode); err != nil {
				t.Fatal(err)
			}
		}
		pkg, err := packagePath(dir)
		if err != nil {
			t.Fatal(err)
		}
		err = checkEntryPoint(pkg, tc.runtime, tc.handler)
		if (tc.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("%s %s %v: %v, want %q", tc.runtime, tc.handler, tc.files, err, tc.want)
		}
	}
}

// TestUnreachable checks the one-line message for a request that reached no server.
func TestUnreachable(t *testing.T) {
	refused := &url.Error{Op: "Post", URL: "http://127.0.0.1:7700/v1/listjobs", Err: &net.OpError{Op: "dial", Net: "tcp",
		Addr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 7700}, Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}}
	msg, ok := unreachable(errors.Join(errors.New("operation error Batch: ListJobs"), refused))
	want := "barge: cannot reach the barge server at http://127.0.0.1:7700 (connection refused): start it with `barge server`"
	if !ok || !strings.HasPrefix(msg, want) || strings.Contains(msg, "\n") {
		t.Errorf("unreachable = %q, %v; want one line starting %q", msg, ok, want)
	}
	if _, ok := unreachable(errors.New("AccessDeniedException: no")); ok {
		t.Error("an API error taken for an unreachable server")
	}
}
