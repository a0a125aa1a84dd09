//go:build linux

package sandbox

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	bexec "github.com/barge-run/barge/internal/exec"
)

// arity is how many arguments each plan operation has; keep in step with nsinit.c.
var arity = map[byte]int{'m': 5, 'o': 1, 'v': 2, 'r': 1, 'w': 1, 'k': 2, 'n': 4, 's': 2, 'p': 1, 'h': 1, 'l': 3, 'c': 2, 'u': 3, 'd': 1, 'i': 0, 'e': 1, 'a': 1, 'g': 1}

// decode turns a plan into readable operations, e.g. "m tmpfs /tmp tmpfs 6 mode=1777".
func decode(t *testing.T, b []byte) []string {
	t.Helper()
	var ops []string
	for len(b) > 0 {
		code := b[0]
		n, ok := arity[code]
		if !ok {
			t.Fatalf("unknown opcode %q", code)
		}
		b = b[1:]
		op := []string{string(code)}
		for range n {
			i := slices.Index(b, 0)
			if i < 0 {
				t.Fatalf("truncated %q", op)
			}
			op = append(op, string(b[:i]))
			b = b[i+1:]
		}
		ops = append(ops, strings.Join(op, " "))
	}
	return ops
}

// inOrder asserts that each want (a prefix of an operation) appears, in this order.
func inOrder(t *testing.T, ops []string, wants ...string) {
	t.Helper()
	i := 0
	for _, w := range wants {
		for i < len(ops) && !strings.HasPrefix(ops[i], w) {
			i++
		}
		if i == len(ops) {
			t.Fatalf("%q missing or out of order in\n%s", w, strings.Join(ops, "\n"))
		}
		i++
	}
}

func absent(t *testing.T, ops []string, prefix string) {
	t.Helper()
	for _, op := range ops {
		if strings.HasPrefix(op, prefix) {
			t.Fatalf("unexpected %q in\n%s", op, strings.Join(ops, "\n"))
		}
	}
}

func testSandbox(data string) *Sandbox {
	s := &Sandbox{opts: Options{DataDir: data, PidsLimit: 10}, lastCap: 40, have: 1<<41 - 1}
	for _, c := range defaultCaps {
		s.keep |= 1 << uint(c)
	}
	return s
}

func TestPlanHost(t *testing.T) {
	data := "/var/lib/barge"
	s := testSandbox(data)
	dir := data + "/work/a1"
	p, err := s.buildPlan(Config{Argv: []string{"sh", "-c", "x"}, Env: []string{"A=1"}, Dir: dir,
		Mounts:  []bexec.Mount{{Source: "/srv/in", Target: "/in", ReadOnly: true}, {Source: "/srv/out", Target: "/tmp/out"}},
		Ulimits: []bexec.Ulimit{{Name: "nofile", Soft: 10, Hard: 20}}, User: "0:0", InitProcess: true})
	if err != nil {
		t.Fatal(err)
	}
	ops := decode(t, p.b.Bytes())
	inOrder(t, ops,
		"m  / ",               // make every mount private first
		"o "+dir, "o /srv/in", // copies taken before anything is hidden
		"o /srv/out",
		"r /",                          // the host read-only
		"m tmpfs /tmp tmpfs",           // private /tmp
		"m tmpfs "+data+" tmpfs",       // barge's data hidden
		"k "+dir, "v 0 "+dir, "w "+dir, // the working directory back, writable
		"k /in", "v 1 /in", "r /in", // read-only volume
		"k /tmp/out", "v 2 /tmp/out", "w /tmp/out",
		"m proc /proc proc", "m tmpfs /dev tmpfs", "n /dev/null", "m shm /dev/shm tmpfs",
		"h barge", "l 7 10 20", "c ", "u 0 0", "d "+dir, "i", "e A=1", "a sh", "a -c", "a x")
	absent(t, ops, "p ") // no pivot on the host filesystem
}

func TestPlanHostDataUnderTmp(t *testing.T) {
	s := testSandbox("/tmp/barge-data")
	p, err := s.buildPlan(Config{Argv: []string{"true"}, Dir: "/tmp/barge-data/work/a1"})
	if err != nil {
		t.Fatal(err)
	}
	// The private /tmp already hides the data directory; a mount on it would find no mount point.
	absent(t, decode(t, p.b.Bytes()), "m tmpfs /tmp/barge-data")
}

func TestPlanImage(t *testing.T) {
	rootfs, dir := t.TempDir(), t.TempDir()
	os.MkdirAll(filepath.Join(rootfs, "etc"), 0o755)
	os.WriteFile(filepath.Join(rootfs, "etc", "passwd"), []byte("app:x:1000:1001::/home/app:/bin/sh\n"), 0o644)
	os.WriteFile(filepath.Join(rootfs, "etc", "group"), []byte("app:x:1001:\n"), 0o644)
	// A symlink in the image must not redirect a mount point onto the host.
	os.Symlink("/etc", filepath.Join(rootfs, "data"))
	s := testSandbox("/var/lib/barge")
	p, err := s.buildPlan(Config{Argv: []string{"/app"}, RootFS: rootfs, Dir: dir, Cwd: "/w", User: "app", ReadonlyRootFS: true, InitProcess: true,
		Mounts: []bexec.Mount{{Source: "/srv/data", Target: "/data"}}})
	if err != nil {
		t.Fatal(err)
	}
	ops := decode(t, p.b.Bytes())
	root := filepath.Join(dir, "root")
	inOrder(t, ops,
		"m  / ",
		"m overlay "+root+" overlay 0 lowerdir="+rootfs+",upperdir="+dir+"/upper,workdir="+dir+"/work",
		"m /srv/data "+root+"/data", "w "+root+"/data",
		"p "+root,
		"m sysfs /sys sysfs",
		"m  / ", // remount read-only
		"m proc /proc proc", "m tmpfs /dev tmpfs",
		"u 1000 1001", "d /w", "i", "a /app")
	if fi, err := os.Lstat(filepath.Join(dir, "upper", "data")); err != nil || !fi.IsDir() {
		t.Errorf("the mount point is not a real directory in the upper layer: %v", err)
	}
	if slices.Contains(ops, "r /") {
		t.Error("an image sandbox makes the host's root read-only: it should not be reachable at all")
	}
}

func TestPlanPrivileged(t *testing.T) {
	s := testSandbox("/var/lib/barge")
	p, err := s.buildPlan(Config{Argv: []string{"true"}, Dir: "/var/lib/barge/work/a", Privileged: true})
	if err != nil {
		t.Fatal(err)
	}
	ops := decode(t, p.b.Bytes())
	inOrder(t, ops, "c 2199023255551 40") // every capability up to the last
	absent(t, ops, "m tmpfs /dev ")       // the host's /dev
}

func TestPlanErrors(t *testing.T) {
	s := testSandbox("/var/lib/barge")
	for _, c := range []struct {
		name string
		cfg  Config
		want string
	}{
		{"unknown ulimit", Config{Argv: []string{"x"}, Dir: "/d", Ulimits: []bexec.Ulimit{{Name: "bogus"}}}, "bogus"},
		{"unknown user", Config{Argv: []string{"x"}, Dir: "/d", User: "no-such-user-xyz"}, "no-such-user-xyz"},
		{"no working directory", Config{Argv: []string{"x"}}, "working directory"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if _, err := s.buildPlan(c.cfg); err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want %q", err, c.want)
			}
		})
	}
}

func TestCheckMount(t *testing.T) {
	data := t.TempDir()
	s := testSandbox(data)
	for _, c := range []struct {
		src, dst string
		ok       bool
	}{
		{"/usr", "/mnt", true},
		{data, "/mnt", false},
		{filepath.Join(data, "x"), "/mnt", false},
		{"/", "/mnt", false}, // contains the data directory
		{"relative", "/mnt", false},
		{"/usr", "relative", false},
	} {
		os.MkdirAll(filepath.Join(data, "x"), 0o755)
		if err := s.checkMount(bexec.Mount{Source: c.src, Target: c.dst}); (err == nil) != c.ok {
			t.Errorf("%s on %s: err = %v, want ok=%v", c.src, c.dst, err, c.ok)
		}
	}
}

func TestCgroupName(t *testing.T) {
	if got := cgroupName("fn:123:echo:$LATEST:2026/11/24/[$LATEST]ab", 35); got != "fn_123_echo_LATEST_2026_11_24_LATEST_ab-z" {
		t.Errorf("cgroupName = %q", got)
	}
	if got := cgroupName(strings.Repeat("a", 300), 1); len(got) > 110 {
		t.Errorf("cgroupName is %d bytes", len(got))
	}
}

// TestEveryUlimitHasAResource: each name the API accepts can be set.
func TestEveryUlimitHasAResource(t *testing.T) {
	for _, n := range bexec.UlimitNames {
		if _, ok := rlimits[n]; !ok {
			t.Errorf("ulimit %q has no rlimit", n)
		}
	}
}
