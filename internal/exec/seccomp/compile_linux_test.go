package seccomp

import (
	"encoding/binary"
	"slices"
	"strings"
	"testing"

	profiles "github.com/moby/profiles/seccomp"
	"github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

const (
	retAllow  = unix.SECCOMP_RET_ALLOW
	retEPERM  = unix.SECCOMP_RET_ERRNO | uint32(unix.EPERM)
	retENOSYS = unix.SECCOMP_RET_ERRNO | uint32(unix.ENOSYS)
	retKill   = unix.SECCOMP_RET_KILL_PROCESS
)

// filterVM loads a compiled program into x/net/bpf's interpreter, so that decisions can be
// checked for any architecture, syscall number and argument without installing anything.
func filterVM(t testing.TB, code []byte) *bpf.VM {
	t.Helper()
	raw := make([]bpf.RawInstruction, len(code)/8)
	for i := range raw {
		c := code[8*i:]
		raw[i] = bpf.RawInstruction{Op: binary.NativeEndian.Uint16(c), Jt: c[2], Jf: c[3], K: binary.NativeEndian.Uint32(c[4:])}
	}
	prog, ok := bpf.Disassemble(raw)
	if !ok {
		t.Fatal("program has instructions x/net/bpf cannot decode")
	}
	vm, err := bpf.NewVM(prog)
	if err != nil {
		t.Fatal(err)
	}
	return vm
}

// decide runs the filter on a struct seccomp_data. The interpreter loads words big-endian where
// the kernel loads them in native order, so each 32-bit word is stored big-endian at the offset
// where the kernel would find it.
func decide(t testing.TB, vm *bpf.VM, arch, nr uint32, args ...uint64) uint32 {
	t.Helper()
	data := make([]byte, 64)
	binary.BigEndian.PutUint32(data[offNr:], nr)
	binary.BigEndian.PutUint32(data[offArch:], arch)
	for i, a := range args {
		lo, hi := offArgs+8*i, offArgs+8*i+4
		if !littleEndian {
			lo, hi = hi, lo
		}
		binary.BigEndian.PutUint32(data[lo:], uint32(a))
		binary.BigEndian.PutUint32(data[hi:], uint32(a>>32))
	}
	v, err := vm.Run(data)
	if err != nil {
		t.Fatal(err)
	}
	return uint32(v)
}

func nr(t testing.TB, name string) uint32 {
	t.Helper()
	n, ok := syscallNumbers[name]
	if !ok {
		t.Fatalf("no syscall %q on this architecture", name)
	}
	return n
}

// TestDecisions checks the profile's notable rules, for the sandbox's capabilities and for a
// set with CAP_SYS_ADMIN, whose rules differ.
func TestDecisions(t *testing.T) {
	audit, x32, _ := nativeArch()
	nsFlags := uint64(unix.CLONE_NEWNS | unix.CLONE_NEWUTS | unix.CLONE_NEWIPC | unix.CLONE_NEWUSER | unix.CLONE_NEWPID | unix.CLONE_NEWNET | unix.CLONE_NEWCGROUP)
	threadFlags := uint64(unix.CLONE_VM | unix.CLONE_FS | unix.CLONE_FILES | unix.CLONE_SIGHAND | unix.CLONE_THREAD | unix.CLONE_SYSVSEM)
	admin := append(slices.Clone(sandboxCaps), "CAP_SYS_ADMIN")
	tests := []struct {
		name    string
		caps    []string
		arch    uint32 // 0 for the native one
		sys     string
		nr      uint32 // when sys is ""
		args    []uint64
		want    uint32
		x32Only bool // only meaningful where x32 exists
	}{
		{name: "getpid", sys: "getpid", want: retAllow},
		{name: "read", sys: "read", want: retAllow},
		{name: "mount denied", sys: "mount", want: retEPERM},
		{name: "mount with SYS_ADMIN", caps: admin, sys: "mount", want: retAllow},
		{name: "keyctl denied", sys: "keyctl", want: retEPERM},
		{name: "unknown number", nr: 4000, want: retEPERM},
		{name: "fork-like clone", sys: "clone", args: []uint64{uint64(unix.SIGCHLD)}, want: retAllow},
		{name: "thread clone", sys: "clone", args: []uint64{threadFlags}, want: retAllow},
		{name: "clone NEWUSER", sys: "clone", args: []uint64{unix.CLONE_NEWUSER}, want: retEPERM},
		{name: "clone NEWNS", sys: "clone", args: []uint64{unix.CLONE_NEWNS | uint64(unix.SIGCHLD)}, want: retEPERM},
		{name: "clone all ns", sys: "clone", args: []uint64{nsFlags}, want: retEPERM},
		{name: "clone high bits only", sys: "clone", args: []uint64{1 << 40}, want: retAllow},
		{name: "clone NEWUSER with SYS_ADMIN", caps: admin, sys: "clone", args: []uint64{unix.CLONE_NEWUSER}, want: retAllow},
		{name: "clone3 ENOSYS", sys: "clone3", want: retENOSYS},
		{name: "clone3 with SYS_ADMIN", caps: admin, sys: "clone3", want: retAllow},
		{name: "personality query", sys: "personality", args: []uint64{0xffffffff}, want: retAllow},
		{name: "personality linux32", sys: "personality", args: []uint64{8}, want: retAllow},
		{name: "personality no-randomize", sys: "personality", args: []uint64{0x0040000} /* ADDR_NO_RANDOMIZE */, want: retEPERM},
		{name: "personality high bits", sys: "personality", args: []uint64{1 << 32}, want: retEPERM},
		{name: "socket AF_INET", sys: "socket", args: []uint64{unix.AF_INET}, want: retAllow},
		{name: "socket AF_UNIX", sys: "socket", args: []uint64{unix.AF_UNIX}, want: retAllow},
		{name: "socket AF_NETLINK", sys: "socket", args: []uint64{unix.AF_NETLINK}, want: retAllow},
		{name: "socket AF_VSOCK", sys: "socket", args: []uint64{unix.AF_VSOCK}, want: retEPERM},
		{name: "socket AF_ALG", sys: "socket", args: []uint64{unix.AF_ALG}, want: retEPERM},
		{name: "socket AF_INET high bits", sys: "socket", args: []uint64{1<<32 | unix.AF_INET}, want: retEPERM},
		{name: "open_by_handle_at", sys: "open_by_handle_at", want: retEPERM},
		{name: "open_by_handle_at with DAC_READ_SEARCH", caps: append(slices.Clone(sandboxCaps), "CAP_DAC_READ_SEARCH"), sys: "open_by_handle_at", want: retAllow},
		{name: "i386 getpid", arch: unix.AUDIT_ARCH_I386, nr: 20, want: retKill},
		{name: "arm getpid", arch: unix.AUDIT_ARCH_ARM, nr: 20, want: retKill},
		{name: "x32 getpid", sys: "getpid", nr: x32Bit, want: retENOSYS, x32Only: true},
		{name: "number -1", nr: 0xffffffff, want: retENOSYS, x32Only: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.x32Only && !x32 {
				t.Skip("no x32 ABI on this architecture")
			}
			caps := tt.caps
			if caps == nil {
				caps = sandboxCaps
			}
			p, err := cached(caps)
			if err != nil {
				t.Fatal(err)
			}
			arch, n := tt.arch, tt.nr
			if arch == 0 {
				arch = audit
			}
			if tt.sys != "" {
				n |= nr(t, tt.sys)
			}
			if got := decide(t, filterVM(t, p.code), arch, n, tt.args...); got != tt.want {
				t.Errorf("got %#x, want %#x", got, tt.want)
			}
		})
	}
}

// TestMatchesProfile compares the compiled filter with a direct reading of the resolved profile
// for every syscall number up to 1024 and, for the argument-conditioned ones, for values around
// every constant the profile compares with.
func TestMatchesProfile(t *testing.T) {
	for _, caps := range [][]string{sandboxCaps, nil, append(slices.Clone(sandboxCaps), "CAP_SYS_ADMIN", "CAP_SYS_PTRACE")} {
		t.Run(strings.Join(caps, ","), func(t *testing.T) {
			p, err := compile(caps, nil)
			if err != nil {
				t.Fatal(err)
			}
			prof, err := profiles.GetDefaultProfile(&specs.Spec{Process: &specs.Process{Capabilities: &specs.LinuxCapabilities{Bounding: caps}}})
			if err != nil {
				t.Fatal(err)
			}
			vm := filterVM(t, p.code)
			audit, _, _ := nativeArch()
			values, onArgs := interestingValues(prof), map[uint32]bool{}
			for _, sc := range prof.Syscalls {
				for _, name := range sc.Names {
					if n, ok := syscallNumbers[name]; ok && len(sc.Args) > 0 {
						onArgs[n] = true
					}
				}
			}
			for n := uint32(0); n < 1024; n++ {
				vals := []uint64{0, ^uint64(0)}
				if onArgs[n] {
					vals = values
				}
				for _, a := range vals {
					if got, want := decide(t, vm, audit, n, a, a), reference(t, prof, n, a); got != want {
						t.Fatalf("syscall %d, args %#x: filter says %#x, profile says %#x", n, a, got, want)
					}
				}
			}
		})
	}
}

// interestingValues are argument values at and around each constant the profile compares with.
func interestingValues(prof *specs.LinuxSeccomp) []uint64 {
	vals := []uint64{0, 1, 0xffffffff, 1 << 32, 1 << 63, ^uint64(0)}
	for _, sc := range prof.Syscalls {
		for _, a := range sc.Args {
			for _, v := range []uint64{a.Value, a.ValueTwo} {
				vals = append(vals, v-1, v, v+1, v|1<<32)
			}
			for bit := range 64 {
				if a.Op == specs.OpMaskedEqual && a.Value&(1<<bit) != 0 {
					vals = append(vals, 1<<bit)
				}
			}
		}
	}
	slices.Sort(vals)
	return slices.Compact(vals)
}

// reference decides syscall n with both first arguments set to a by reading the profile
// directly: a rule without conditions decides outright, otherwise the first rule whose
// conditions hold (all of them, or any when two test the same argument, as runc reads them).
func reference(t testing.TB, prof *specs.LinuxSeccomp, n uint32, a uint64) uint32 {
	t.Helper()
	def, _ := actionOf(prof.DefaultAction, prof.DefaultErrnoRet)
	var conditional []specs.LinuxSyscall
	for _, sc := range prof.Syscalls {
		if !slices.ContainsFunc(sc.Names, func(name string) bool { v, ok := syscallNumbers[name]; return ok && v == n }) {
			continue
		}
		if len(sc.Args) == 0 {
			act, _ := actionOf(sc.Action, sc.ErrnoRet)
			return act
		}
		conditional = append(conditional, sc)
	}
	for _, sc := range conditional {
		indexes := map[uint]bool{}
		all, anyHolds := true, false
		for _, c := range sc.Args {
			indexes[c.Index] = true
			holds := holds(c, a)
			all = all && holds
			anyHolds = anyHolds || holds
		}
		if (len(indexes) == len(sc.Args) && all) || (len(indexes) < len(sc.Args) && anyHolds) {
			act, _ := actionOf(sc.Action, sc.ErrnoRet)
			return act
		}
	}
	return def
}

func holds(c specs.LinuxSeccompArg, a uint64) bool {
	switch c.Op {
	case specs.OpEqualTo:
		return a == c.Value
	case specs.OpNotEqual:
		return a != c.Value
	case specs.OpLessThan:
		return a < c.Value
	case specs.OpLessEqual:
		return a <= c.Value
	case specs.OpGreaterThan:
		return a > c.Value
	case specs.OpGreaterEqual:
		return a >= c.Value
	case specs.OpMaskedEqual:
		return a&c.Value == c.ValueTwo
	}
	panic(c.Op)
}

// TestOperators checks every comparison, including those Docker's profile does not use, at
// 64-bit values whose halves disagree, and conditions on a second argument.
func TestOperators(t *testing.T) {
	audit, _, _ := nativeArch()
	const v = 0x1_0000_0005
	tests := []uint64{0, 4, 5, 6, v - 1, v, v + 1, 1 << 32, 2 << 32, 0x2_0000_0000 | 5, 0xffffffff, ^uint64(0)}
	ops := []specs.LinuxSeccompOperator{specs.OpEqualTo, specs.OpNotEqual, specs.OpLessThan, specs.OpLessEqual,
		specs.OpGreaterThan, specs.OpGreaterEqual, specs.OpMaskedEqual}
	for _, op := range ops {
		t.Run(string(op), func(t *testing.T) {
			cond := specs.LinuxSeccompArg{Index: 2, Value: v, ValueTwo: 0x1_0000_0004, Op: op}
			prof := &specs.LinuxSeccomp{Syscalls: []specs.LinuxSyscall{{Names: []string{"read"}, Action: specs.ActAllow, Args: []specs.LinuxSeccompArg{cond}}}}
			rules, err := collect(prof, syscallNumbers)
			if err != nil {
				t.Fatal(err)
			}
			p, err := emit(rules, retEPERM, audit, false)
			if err != nil {
				t.Fatal(err)
			}
			vm := filterVM(t, p.code)
			for _, a := range tests {
				want := retEPERM
				if holds(cond, a) {
					want = retAllow
				}
				if got := decide(t, vm, audit, nr(t, "read"), 0, 0, a); got != want {
					t.Errorf("%s %#x with argument %#x: got %#x, want %#x", op, cond.Value, a, got, want)
				}
			}
		})
	}
}

// TestFarJumps checks that jumps beyond a conditional jump's 255-instruction reach are
// rerouted, both to a return (copied) and to other code (through an unconditional jump).
func TestFarJumps(t *testing.T) {
	var b builder
	toRet, toCode, end := b.newLabel(), b.newLabel(), b.newLabel()
	b.emit(bpf.LoadAbsolute{Off: offNr, Size: 4})
	b.jumpIf(bpf.JumpEqual, 1, toRet, b.next())
	b.jumpIf(bpf.JumpEqual, 2, toCode, end)
	for range 300 {
		b.emit(bpf.LoadAbsolute{Off: offNr, Size: 4})
	}
	b.mark(toRet)
	b.ret(11)
	for range 300 {
		b.emit(bpf.LoadAbsolute{Off: offNr, Size: 4})
	}
	b.mark(toCode)
	b.emit(bpf.LoadConstant{Dst: bpf.RegA, Val: 22})
	b.emit(bpf.RetA{})
	b.mark(end)
	b.ret(33)
	code, n, err := b.assemble()
	if err != nil {
		t.Fatal(err)
	}
	vm := filterVM(t, code)
	for nr, want := range map[uint32]uint32{1: 11, 2: 22, 3: 33} {
		if got := decide(t, vm, 0, nr); got != want {
			t.Errorf("nr %d: got %d, want %d (program of %d instructions)", nr, got, want, n)
		}
	}
}

// TestDenyIoctls: requests named to ProgramDenying are refused whatever the high half of the
// register holds (the kernel reads 32 bits); every other ioctl stays as the profile has it.
func TestDenyIoctls(t *testing.T) {
	const req = 0x40086602 // FS_IOC_SETFLAGS-like; any request
	p, err := cached(sandboxCaps, req)
	if err != nil {
		t.Fatal(err)
	}
	audit, _, _ := nativeArch()
	vm, n := filterVM(t, p.code), nr(t, "ioctl")
	for _, c := range []struct {
		name string
		arg  uint64
		want uint32
	}{
		{"denied request", req, retEPERM},
		{"denied request, high bits set", 0xffffffff00000000 | req, retEPERM},
		{"other request", unix.TCGETS, retAllow},
		{"neighbouring request", req + 1, retAllow},
	} {
		if got := decide(t, vm, audit, n, 3, c.arg); got != c.want {
			t.Errorf("%s: got %#x, want %#x", c.name, got, c.want)
		}
	}
	if plain, _ := cached(sandboxCaps); plain == p {
		t.Error("the program with denied ioctls is cached as the plain one")
	}
}
