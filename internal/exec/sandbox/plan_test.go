//go:build linux

package sandbox

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	bexec "github.com/barge-run/barge/internal/exec"
)

// arity is how many arguments each plan operation has; keep in step with nsinit.c.
var arity = map[byte]int{'m': 5, 'o': 2, 'O': 3, 'v': 2, 'r': 1, 'w': 1, 'W': 1, 'k': 2, 'n': 4, 's': 2, 'p': 1, 'h': 1, 'H': 1, 'P': 1,
	'l': 3, 'c': 2, 'u': 3, 'd': 1, 'i': 0, 'e': 1, 'a': 1, 'g': 1, 'U': 2, 'N': 0, 'Y': 0, 'L': 3, 'M': 1, 'R': 1, 'F': 1, 'f': 1}

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

func testSandbox(data string, roots ...string) *Sandbox {
	s := &Sandbox{opts: Options{DataDir: data, PidsLimit: 10, VolumeRoots: roots}, lastCap: 40, have: 1<<41 - 1, unsafe: map[string]bool{}, filter: "00"}
	for _, c := range defaultCaps {
		s.keep |= 1 << uint(c)
	}
	return s
}

// build is buildPlan for a tenant's sandbox (base: its id range; 0 without a user namespace).
func build(t *testing.T, s *Sandbox, cfg Config, base uint32) ([]string, *prepared) {
	t.Helper()
	pr := &prepared{base: base, scratch: make([]bool, len(cfg.Mounts))}
	p, err := s.buildPlan(cfg, pr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for _, f := range pr.extra {
			f.Close()
		}
	})
	return decode(t, p.b.Bytes()), pr
}

func TestPlanHost(t *testing.T) {
	data, vols := "/var/lib/barge", t.TempDir()
	os.Mkdir(filepath.Join(vols, "in"), 0o755)
	os.Mkdir(filepath.Join(vols, "out"), 0o755)
	s := testSandbox(data, vols)
	dir := data + "/work/a1"
	ops, pr := build(t, s, Config{Argv: []string{"sh", "-c", "x"}, Env: []string{"A=1"}, Dir: dir,
		Mounts:  []bexec.Mount{{Source: vols + "/in", Target: "/in", ReadOnly: true}, {Source: vols + "/out", Target: "/tmp/out"}},
		Ulimits: []bexec.Ulimit{{Name: "nofile", Soft: 10, Hard: 20}}, User: "0:0", InitProcess: true, Listen: []string{"127.0.0.1:9001"}}, idBase)
	if len(pr.extra) != 3 || pr.listen == nil {
		t.Fatalf("want the listener socket and two volume descriptors sent, got %d", len(pr.extra))
	}
	inOrder(t, ops,
		"U 1073741824 65536",      // a user namespace first: the tenant's ids
		"N", "L 127.0.0.1 9001 3", // its own network, the listener sent on descriptor 3
		"m  / ",                // make every mount private
		"o /dev/null 0",        // the host's device nodes, to bind in
		"o "+dir+" 0",          // copies taken before anything is hidden
		"o fd:4 1", "o fd:5 1", // volumes: opened beneath their root by barge, idmapped
		"r /",                          // the host read-only (nosuid, nodev)
		"m tmpfs /tmp tmpfs",           // private /tmp
		"m tmpfs "+data+" tmpfs",       // barge's data hidden
		"k "+dir, "v 6 "+dir, "w "+dir, // the working directory back, writable, nodev
		"k /in", "v 7 /in", "r /in", // read-only volume
		"k /tmp/out", "v 8 /tmp/out", "w /tmp/out",
		"m tmpfs /dev tmpfs", "f /dev/null", "v 0 /dev/null", "m shm /dev/shm tmpfs",
		"m proc /proc proc", "R /proc/sys", "M /proc/kcore", "M /sys/firmware",
		"h barge", "l 7 10 20", "c ", "F 00", "u 0 0", "d "+dir, "i", "e A=1", "a sh", "a -c", "a x")
	absent(t, ops, "p ") // no pivot on the host filesystem
	absent(t, ops, "n ") // no mknod
}

func TestPlanHostDataUnderTmp(t *testing.T) {
	s := testSandbox("/tmp/barge-data")
	ops, _ := build(t, s, Config{Argv: []string{"true"}, Dir: "/tmp/barge-data/work/a1"}, 0)
	// The private /tmp already hides the data directory; a mount on it would find no mount point.
	absent(t, ops, "m tmpfs /tmp/barge-data")
	absent(t, ops, "U ") // no tenant range: no user namespace
}

func TestPlanImage(t *testing.T) {
	rootfs, dir, vols := t.TempDir(), t.TempDir(), t.TempDir()
	os.MkdirAll(filepath.Join(rootfs, "etc"), 0o755)
	os.WriteFile(filepath.Join(rootfs, "etc", "passwd"), []byte("app:x:1000:1001::/home/app:/bin/sh\n"), 0o644)
	os.WriteFile(filepath.Join(rootfs, "etc", "group"), []byte("app:x:1001:\n"), 0o644)
	// A symlink in the image must not redirect a mount point onto the host.
	os.Symlink("/etc", filepath.Join(rootfs, "data"))
	s := testSandbox("/var/lib/barge", vols)
	ops, _ := build(t, s, Config{Argv: []string{"/app"}, RootFS: rootfs, Dir: dir, Cwd: "/w", User: "app", ReadonlyRootFS: true, InitProcess: true,
		Mounts: []bexec.Mount{{Source: vols, Target: "/data"}}}, idBase)
	inOrder(t, ops,
		"U ", "N", "m  / ",
		"o "+rootfs+" 1",                 // the image, idmapped to the tenant
		"O 6 "+dir+"/upper "+dir+"/work", // its overlay
		"o fd:3 1",                       // the volume
		"v 7 /tmp", "r /tmp",             // root assembled on the sandbox's own /tmp; read-only
		"v 8 /tmp/data", "w /tmp/data", // the volume stays writable
		"m proc /tmp/proc proc", "Y", "v 11 /tmp/sys", // before the pivot
		"p /tmp",
		"m tmpfs /dev tmpfs", "R /proc/sys",
		"u 1000 1001", "d /w", "i", "a /app")
	if fi, err := os.Lstat(filepath.Join(dir, "upper", "data")); err != nil || !fi.IsDir() {
		t.Errorf("the mount point is not a real directory in the upper layer: %v", err)
	}
	if st, err := os.Stat(filepath.Join(dir, "upper")); err != nil || st.Sys().(*syscall.Stat_t).Uid != idBase {
		t.Errorf("the writable layer is not the tenant root's: %v", err)
	}
	if slices.Contains(ops, "r /") {
		t.Error("an image sandbox makes the host's root read-only: it should not be reachable at all")
	}
}

func TestPlanPrivileged(t *testing.T) {
	s := testSandbox("/var/lib/barge")
	ops, _ := build(t, s, Config{Argv: []string{"true"}, Dir: "/var/lib/barge/work/a", Privileged: true}, 0)
	inOrder(t, ops, "c 2199023255551 40") // every capability up to the last
	absent(t, ops, "m tmpfs /dev ")       // the host's /dev
	absent(t, ops, "F ")                  // no seccomp filter
	absent(t, ops, "M ")                  // nothing masked
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
			if _, err := s.buildPlan(c.cfg, &prepared{}); err == nil || !strings.Contains(err.Error(), c.want) {
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
