package imagetest

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

func TestApp(t *testing.T) {
	bin := App(t)
	if !bytes.HasPrefix(bin, []byte("\x7fELF")) {
		t.Fatalf("App is not an ELF binary")
	}
	if again := App(t); &again[0] != &bin[0] {
		t.Errorf("App built twice")
	}
	if runtime.GOOS != "linux" {
		t.Skip("app is built for linux")
	}
	dir := t.TempDir()
	app := filepath.Join(dir, "app")
	if err := os.WriteFile(app, bin, 0o755); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		args     []string
		env      []string
		want     string // stdout
		wantFail bool
	}{
		{args: []string{"echo", "a", "b c"}, want: "a b c\n"},
		{args: []string{"env", "FOO", "UNSET"}, env: []string{"FOO=bar"}, want: "FOO=bar\n"},
		{args: []string{"pwd"}, want: dir + "\n"},
		{args: []string{"write", filepath.Join(dir, "out"), "text"}},
		{args: []string{"cat", filepath.Join(dir, "out")}, want: "text"},
		{args: []string{"write", filepath.Join(dir, "missing", "out")}, wantFail: true},
		{args: []string{"cat", filepath.Join(dir, "missing")}, wantFail: true},
		{args: []string{"exit", "3"}, wantFail: true},
		{args: []string{"x", "y"}, env: []string{"A=1"}, want: `argv=["` + app + `","x","y"]` + "\npwd=" + dir + "\nenv A=1\n"},
	}
	for _, tt := range tests {
		cmd := exec.Command(app, tt.args...)
		cmd.Dir = dir
		cmd.Env = tt.env
		var stdout, stderr strings.Builder
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		if (err != nil) != tt.wantFail {
			t.Errorf("app %q: %v, stderr %q", tt.args, err, stderr.String())
		}
		if !tt.wantFail && stdout.String() != tt.want {
			t.Errorf("app %q printed %q, want %q", tt.args, stdout.String(), tt.want)
		}
	}
}
