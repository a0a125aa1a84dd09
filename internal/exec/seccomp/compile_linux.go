package seccomp

import (
	"encoding/binary"
	"fmt"
	"maps"
	"slices"

	"github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

// Offsets in struct seccomp_data, the record a seccomp filter reads.
const (
	offNr   = 0  // int nr
	offArch = 4  // u32 arch (AUDIT_ARCH_*)
	offArgs = 16 // u64 args[6], after the u64 instruction_pointer
)

// x32Bit is __X32_SYSCALL_BIT: x86_64 kernels take x32-ABI syscalls with the native
// AUDIT_ARCH_X86_64 and this bit set in the number, so the arch check alone does not catch them.
const x32Bit = 0x40000000

var littleEndian = binary.NativeEndian.Uint16([]byte{1, 0}) == 1

// alternative is one way a syscall's arguments can match a profile rule: when all of args hold,
// the filter returns action. With no args it matches whatever the arguments are.
type alternative struct {
	args   []specs.LinuxSeccompArg
	action uint32
}

// program is a compiled filter and the figures Describe reports about it.
type program struct {
	code         []byte
	instructions int
	allowed      int // syscall numbers some rule allows
	onArgs       int // of those, the ones allowed only for some argument values
}

// collect turns a resolved profile into the alternatives for each syscall number of this
// architecture, in the profile's order.
func collect(prof *specs.LinuxSeccomp, numbers map[string]uint32) (map[uint32][]alternative, error) {
	rules := make(map[uint32][]alternative)
	for _, sc := range prof.Syscalls {
		action, err := actionOf(sc.Action, sc.ErrnoRet)
		if err != nil {
			return nil, err
		}
		alts, err := alternatives(sc.Args, action)
		if err != nil {
			return nil, fmt.Errorf("seccomp: rule for %v: %w", sc.Names, err)
		}
		for _, name := range sc.Names {
			nr, ok := numbers[name]
			if !ok {
				// Another architecture's syscall (chown32, socketcall, s390_runtime_instr...):
				// the profile lists them all, and runc with libseccomp skips those too.
				continue
			}
			if err := addAlternatives(rules, nr, alts); err != nil {
				return nil, fmt.Errorf("seccomp: %s: %w", name, err)
			}
		}
	}
	return rules, nil
}

// addAlternatives appends alts to syscall nr's. A rule without argument conditions decides the
// syscall outright, so any other rule for it must agree on the action; libseccomp refuses such
// conflicts too, and failing beats guessing which rule Docker meant to win.
func addAlternatives(rules map[uint32][]alternative, nr uint32, alts []alternative) error {
	all := slices.Concat(rules[nr], alts)
	if slices.ContainsFunc(all, func(a alternative) bool { return len(a.args) == 0 }) {
		for _, a := range all {
			if a.action != all[0].action {
				return fmt.Errorf("rules with actions %#x and %#x conflict", all[0].action, a.action)
			}
		}
		all = []alternative{{action: all[0].action}}
	}
	rules[nr] = all
	return nil
}

// alternatives reads a rule's argument conditions the way runc does: all must hold, except when
// two name the same argument, where runc adds one libseccomp rule per condition, so any may
// hold (opencontainers/runc#2735). Docker's profile is written against that reading.
func alternatives(args []specs.LinuxSeccompArg, action uint32) ([]alternative, error) {
	seen := make(map[uint]bool)
	repeated := false
	for _, a := range args {
		if a.Index > 5 {
			return nil, fmt.Errorf("argument index %d out of range", a.Index)
		}
		switch a.Op {
		case specs.OpEqualTo, specs.OpNotEqual, specs.OpLessThan, specs.OpLessEqual,
			specs.OpGreaterThan, specs.OpGreaterEqual, specs.OpMaskedEqual:
		default:
			return nil, fmt.Errorf("unknown comparison %q", a.Op)
		}
		repeated = repeated || seen[a.Index]
		seen[a.Index] = true
	}
	if !repeated {
		return []alternative{{args: args, action: action}}, nil
	}
	alts := make([]alternative, len(args))
	for i, a := range args {
		alts[i] = alternative{args: []specs.LinuxSeccompArg{a}, action: action}
	}
	return alts, nil
}

// actionOf is the SECCOMP_RET_* value for a profile action.
func actionOf(a specs.LinuxSeccompAction, errnoRet *uint) (uint32, error) {
	errno := func(def unix.Errno) (uint32, error) {
		e := uint(def)
		if errnoRet != nil {
			e = *errnoRet
		}
		// Errno 0 would make the syscall "succeed" without running; above 4095 is not an errno.
		if e == 0 || e > 4095 {
			return 0, fmt.Errorf("seccomp: errno %d out of range", e)
		}
		return unix.SECCOMP_RET_ERRNO | uint32(e), nil
	}
	switch a {
	case specs.ActAllow:
		return unix.SECCOMP_RET_ALLOW, nil
	case specs.ActErrno:
		return errno(unix.EPERM) // runc's default when the profile names none
	case specs.ActTrace:
		// Without a tracer the kernel answers SECCOMP_RET_TRACE with ENOSYS. Nothing traces
		// from outside the sandbox, and a tracer inside it must not be handed the decision.
		return errno(unix.ENOSYS)
	case specs.ActKill, specs.ActKillThread:
		return unix.SECCOMP_RET_KILL_THREAD, nil
	case specs.ActKillProcess:
		return unix.SECCOMP_RET_KILL_PROCESS, nil
	case specs.ActTrap:
		return unix.SECCOMP_RET_TRAP, nil
	case specs.ActLog:
		return unix.SECCOMP_RET_LOG, nil
	}
	return 0, fmt.Errorf("seccomp: action %q is not supported", a) // SCMP_ACT_NOTIFY needs a listener
}

// emit compiles rules into a filter for the architecture audit: foreign architectures kill the
// process, x32 numbers (when x32 is set) get ENOSYS, and the syscall number is then looked up by
// binary search over runs of numbers the profile treats alike, so a syscall costs log2(runs)
// comparisons (7 for Docker's profile on x86_64) instead of a walk along ~300 of them.
func emit(rules map[uint32][]alternative, def, audit uint32, x32 bool) (*program, error) {
	var b builder
	archOK := b.newLabel()
	b.emit(bpf.LoadAbsolute{Off: offArch, Size: 4})
	b.jumpIf(bpf.JumpEqual, audit, archOK, b.next())
	b.ret(unix.SECCOMP_RET_KILL_PROCESS)
	b.mark(archOK)
	b.emit(bpf.LoadAbsolute{Off: offNr, Size: 4})
	if x32 {
		native := b.newLabel()
		b.jumpIf(bpf.JumpGreaterOrEqual, x32Bit, b.next(), native)
		b.ret(unix.SECCOMP_RET_ERRNO | uint32(unix.ENOSYS))
		b.mark(native)
	}
	tree(&b, spansOf(rules, def), def)
	code, n, err := b.assemble()
	if err != nil {
		return nil, err
	}
	p := &program{code: code, instructions: n}
	for _, alts := range rules {
		if slices.ContainsFunc(alts, func(a alternative) bool { return a.action == unix.SECCOMP_RET_ALLOW }) {
			p.allowed++
			if len(alts[0].args) > 0 {
				p.onArgs++
			}
		}
	}
	return p, nil
}

// span is a run of syscall numbers, from first up to the next span's first, that the filter
// treats alike: a single alternative without arguments for a plain action, or a single
// syscall's argument tests.
type span struct {
	first uint32
	alts  []alternative
}

// spansOf cuts the whole number range into spans, numbers without a rule taking def.
func spansOf(rules map[uint32][]alternative, def uint32) []span {
	var out []span
	push := func(first uint32, alts []alternative) {
		if n := len(out); n > 0 && plain(out[n-1].alts) && plain(alts) && out[n-1].alts[0].action == alts[0].action {
			return // the previous span simply extends over first
		}
		out = append(out, span{first: first, alts: alts})
	}
	dflt := []alternative{{action: def}}
	expect := uint32(0)
	for _, nr := range slices.Sorted(maps.Keys(rules)) {
		if nr != expect {
			push(expect, dflt)
		}
		push(nr, rules[nr])
		expect = nr + 1
	}
	if len(out) == 0 || expect != 0 { // expect is 0 after the last number wrapped around
		push(expect, dflt)
	}
	return out
}

func plain(alts []alternative) bool { return len(alts) == 1 && len(alts[0].args) == 0 }

// tree emits a binary search over spans on the syscall number in A.
func tree(b *builder, spans []span, def uint32) {
	if len(spans) == 1 {
		leaf(b, spans[0].alts, def)
		return
	}
	mid := len(spans) / 2
	right := b.newLabel()
	b.jumpIf(bpf.JumpGreaterOrEqual, spans[mid].first, right, b.next())
	tree(b, spans[:mid], def)
	b.mark(right)
	tree(b, spans[mid:], def)
}

// leaf emits one span's decision: its alternatives in order, then def when none matched.
// Argument loads overwrite A, so every path out of a leaf is a return, never back into the tree.
func leaf(b *builder, alts []alternative, def uint32) {
	for _, alt := range alts {
		if len(alt.args) == 0 {
			b.ret(alt.action)
			return
		}
		fail := b.newLabel()
		for _, a := range alt.args {
			argTest(b, a, fail)
		}
		b.ret(alt.action)
		b.mark(fail)
	}
	b.ret(def)
}

// argTest emits a test of one 64-bit argument condition that falls through when it holds and
// jumps to fail when it does not. Classic BPF loads 32 bits at a time, so each test looks at the
// high half first and at the low half only when the high half does not decide.
func argTest(b *builder, a specs.LinuxSeccompArg, fail label) {
	load := func(high bool) {
		off := offArgs + 8*uint32(a.Index)
		if high == littleEndian {
			off += 4
		}
		b.emit(bpf.LoadAbsolute{Off: off, Size: 4})
	}
	hi, lo := uint32(a.Value>>32), uint32(a.Value)
	pass := b.newLabel()
	switch a.Op {
	case specs.OpEqualTo:
		load(true)
		b.jumpIf(bpf.JumpEqual, hi, b.next(), fail)
		load(false)
		b.jumpIf(bpf.JumpEqual, lo, pass, fail)
	case specs.OpNotEqual:
		load(true)
		b.jumpIf(bpf.JumpEqual, hi, b.next(), pass)
		load(false)
		b.jumpIf(bpf.JumpEqual, lo, fail, pass)
	case specs.OpMaskedEqual:
		// Value is the mask and ValueTwo what the masked argument must equal, as runc reads it.
		load(true)
		b.emit(bpf.ALUOpConstant{Op: bpf.ALUOpAnd, Val: hi})
		b.jumpIf(bpf.JumpEqual, uint32(a.ValueTwo>>32), b.next(), fail)
		load(false)
		b.emit(bpf.ALUOpConstant{Op: bpf.ALUOpAnd, Val: lo})
		b.jumpIf(bpf.JumpEqual, uint32(a.ValueTwo), pass, fail)
	default: // ordered: a high half strictly beyond decides; an equal one defers to the low half
		strict, last := orderedTests(a.Op)
		load(true)
		b.jumpIf(strict, hi, pass, b.next())
		b.jumpIf(bpf.JumpEqual, hi, b.next(), fail)
		load(false)
		b.jumpIf(last, lo, pass, fail)
	}
	b.mark(pass)
}

// orderedTests returns the comparison for the high half (strict) and for the low half of an
// ordered operator, which alternatives has already checked.
func orderedTests(op specs.LinuxSeccompOperator) (strict, last bpf.JumpTest) {
	switch op {
	case specs.OpGreaterThan:
		return bpf.JumpGreaterThan, bpf.JumpGreaterThan
	case specs.OpGreaterEqual:
		return bpf.JumpGreaterThan, bpf.JumpGreaterOrEqual
	case specs.OpLessThan:
		return bpf.JumpLessThan, bpf.JumpLessThan
	default: // specs.OpLessEqual
		return bpf.JumpLessThan, bpf.JumpLessOrEqual
	}
}
