package e2e_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestQuickstart runs the README's "Quickstart with the AWS CLI" block as a new user pastes it:
// with bash (-e, so that no step fails unnoticed), top to bottom, in a directory that looks like
// a fresh checkout (go.mod, go.sum, cmd and internal linked to this one, so its `go build` makes a
// fresh barge), with the AWS CLI on PATH and a port of its own (BARGE_ADDR). It must exit 0 and
// print the job's and the function's greetings.
func TestQuickstart(t *testing.T) {
	t.Parallel()
	awsPath := tool(t, "aws")
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("no bash on PATH")
	}
	goPath, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command on PATH")
	}
	dir := t.TempDir()
	root := repoRoot(t)
	for _, name := range []string{"go.mod", "go.sum", "cmd", "internal"} {
		if err := os.Symlink(filepath.Join(root, name), filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "quickstart.sh"), []byte(quickstartScript(t, filepath.Join(root, "README.md"))), 0o644); err != nil {
		t.Fatal(err)
	}
	path := filepath.Dir(awsPath) + ":" + filepath.Dir(goPath) + ":" + os.Getenv("PATH")
	env := withEnv(cleanEnv(), "BARGE_ADDR="+closedPort(t), "PATH="+path)
	stdout, stderr := filepath.Join(dir, "quickstart.stdout"), filepath.Join(dir, "quickstart.stderr")
	code := runScript(t, dir, env, stdout, stderr, bash, "-e", "-o", "pipefail", "quickstart.sh")
	outB, _ := os.ReadFile(stdout)
	errB, _ := os.ReadFile(stderr)
	out := string(outB)
	if code != 0 {
		t.Fatalf("the quickstart exited %d\n--- stdout:\n%s\n--- stderr:\n%s", code, out, errB)
	}
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`(?m)^hello from [0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`),
		regexp.MustCompile(`(?m)^hi SUCCEEDED$`),
		regexp.MustCompile(`(?m)^SUCCEEDED\s+0$`),
		regexp.MustCompile(`(?m)^"hello, barge"$`),
	} {
		if !want.MatchString(out) {
			t.Errorf("the quickstart's output has no line matching %s\n--- stdout:\n%s\n--- stderr:\n%s", want, out, errB)
		}
	}
}

// quickstartScript is the shell block of the README's quickstart section.
func quickstartScript(t *testing.T, readme string) string {
	t.Helper()
	b, err := os.ReadFile(readme)
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(b), "\n## Quickstart with the AWS CLI\n")
	if !ok {
		t.Fatal("README.md has no \"Quickstart with the AWS CLI\" section")
	}
	section, _, _ = strings.Cut(section, "\n## ")
	_, block, ok := strings.Cut(section, "\n```sh\n")
	if !ok {
		t.Fatal("the quickstart section has no ```sh block")
	}
	block, _, ok = strings.Cut(block, "\n```\n")
	if !ok {
		t.Fatal("the quickstart's ```sh block does not end")
	}
	return block + "\n"
}

// runScript runs a command in a process group of its own, its output in files (a server it
// leaves in the background keeps no pipe of the test's open), stops what it left running, and
// returns its exit code.
func runScript(t *testing.T, dir string, env []string, stdout, stderr string, name string, args ...string) int {
	t.Helper()
	outF, err := os.Create(stdout)
	if err != nil {
		t.Fatal(err)
	}
	defer outF.Close()
	errF, err := os.Create(stderr)
	if err != nil {
		t.Fatal(err)
	}
	defer errF.Close()
	cmd := exec.Command(name, args...)
	cmd.Dir, cmd.Env, cmd.Stdout, cmd.Stderr = dir, env, outF, errF
	cmd.SysProcAttr = &unix.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pgid := cmd.Process.Pid
	// The server the script started in the background: stopped (SIGTERM) before the temporary
	// directory holding its data is removed.
	defer stopGroup(pgid)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil && cmd.ProcessState == nil {
			t.Fatal(err)
		}
		return cmd.ProcessState.ExitCode()
	case <-time.After(8 * time.Minute):
		stopGroup(pgid)
		<-done
		t.Fatalf("%s did not finish within 8 minutes", name)
		return -1
	}
}
