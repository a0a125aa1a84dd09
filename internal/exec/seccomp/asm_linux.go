package seccomp

import (
	"encoding/binary"
	"fmt"

	"golang.org/x/net/bpf"
)

// maxInstructions is BPF_MAXINSNS: the kernel refuses longer classic-BPF programs.
const maxInstructions = 4096

// label names a position in a program under construction. Jumps name labels rather than offsets
// because a classic-BPF conditional jump reaches at most 255 instructions ahead, and where a jump
// is too long is known only once the whole program is laid out (see assemble).
type label int

// op is one instruction under construction: a finished instruction, or a jump to labels.
type op struct {
	ins    bpf.Instruction // a non-jump instruction; nil for jumps
	cond   bpf.JumpTest    // for a conditional jump
	val    uint32          // the constant a conditional jump compares A with
	jt, jf label           // targets of a conditional jump; jt alone for an unconditional one
	always bool            // an unconditional jump (ja), whose 32-bit offset always reaches
}

// builder collects a forward-only program with symbolic jump targets.
type builder struct {
	ops    []op
	labels []int // label → index of the op it marks; -1 while unmarked
}

// newLabel returns a label to be placed later with mark.
func (b *builder) newLabel() label {
	b.labels = append(b.labels, -1)
	return label(len(b.labels) - 1)
}

// mark places l at the next instruction to be emitted.
func (b *builder) mark(l label) { b.labels[l] = len(b.ops) }

// next returns a label marking the instruction after the one about to be emitted: the
// fall-through of a jump. It is a real label, not "offset 0", so that it still points at the
// same instruction after assemble has inserted a trampoline behind the jump.
func (b *builder) next() label {
	l := b.newLabel()
	b.labels[l] = len(b.ops) + 1
	return l
}

func (b *builder) emit(ins bpf.Instruction) { b.ops = append(b.ops, op{ins: ins}) }

// ret emits a return of the seccomp action v.
func (b *builder) ret(v uint32) { b.emit(bpf.RetConstant{Val: v}) }

// jumpIf emits: if A <cond> val goto jt else goto jf.
func (b *builder) jumpIf(cond bpf.JumpTest, val uint32, jt, jf label) {
	b.ops = append(b.ops, op{cond: cond, val: val, jt: jt, jf: jf})
}

// assemble resolves the labels and returns the program as raw struct sock_filter bytes in
// native byte order, the form seccomp(2) takes.
func (b *builder) assemble() ([]byte, int, error) {
	if err := b.fixFarJumps(); err != nil {
		return nil, 0, err
	}
	if len(b.ops) > maxInstructions {
		return nil, 0, fmt.Errorf("seccomp: program of %d instructions exceeds the kernel's limit of %d", len(b.ops), maxInstructions)
	}
	prog := make([]bpf.Instruction, len(b.ops))
	for i, o := range b.ops {
		switch {
		case o.ins != nil:
			prog[i] = o.ins
		case o.always:
			prog[i] = bpf.Jump{Skip: uint32(b.distance(i, o.jt))}
		default:
			prog[i] = bpf.JumpIf{Cond: o.cond, Val: o.val, SkipTrue: uint8(b.distance(i, o.jt)), SkipFalse: uint8(b.distance(i, o.jf))}
		}
	}
	raw, err := bpf.Assemble(prog)
	if err != nil {
		return nil, 0, fmt.Errorf("seccomp: assembling: %w", err)
	}
	out := make([]byte, 0, 8*len(raw))
	for _, r := range raw {
		out = binary.NativeEndian.AppendUint16(out, r.Op)
		out = append(out, r.Jt, r.Jf)
		out = binary.NativeEndian.AppendUint32(out, r.K)
	}
	return out, len(raw), nil
}

// distance is how many instructions a jump at index i skips to reach l.
func (b *builder) distance(i int, l label) int { return b.labels[l] - i - 1 }

// fixFarJumps gives every conditional jump whose target lies more than 255 instructions ahead a
// trampoline placed right behind it: a copy of the target when that is a return (it costs no
// extra step at run time), else an unconditional jump, which reaches any distance. An insertion
// moves later code further from earlier jumps, so passes repeat until none is too long.
func (b *builder) fixFarJumps() error {
	for changed := true; changed; {
		changed = false
		for i := 0; i < len(b.ops); i++ {
			o := b.ops[i]
			if o.ins != nil {
				continue
			}
			targets := []label{o.jt, o.jf}
			if o.always {
				targets = targets[:1]
			}
			for _, l := range targets {
				if b.labels[l] < 0 || b.labels[l] >= len(b.ops) || b.distance(i, l) < 0 {
					return fmt.Errorf("seccomp: internal error: jump at %d to label %d, which is unplaced, behind or past the end", i, l)
				}
			}
			if o.always {
				continue
			}
			// One target per visit, assigned through a temporary: insertTrampoline may
			// reallocate b.ops. The other target is looked at in the next pass.
			if b.distance(i, o.jt) > 255 {
				t := b.insertTrampoline(i+1, o.jt)
				b.ops[i].jt = t
				changed = true
			} else if b.distance(i, o.jf) > 255 {
				t := b.insertTrampoline(i+1, o.jf)
				b.ops[i].jf = t
				changed = true
			}
		}
	}
	return nil
}

// insertTrampoline inserts at index at an instruction that continues to l and returns a label
// for it. Labels at or past at shift along with the code they mark.
func (b *builder) insertTrampoline(at int, l label) label {
	t := op{always: true, jt: l}
	if r, ok := b.ops[b.labels[l]].ins.(bpf.RetConstant); ok {
		t = op{ins: r}
	}
	b.ops = append(b.ops[:at], append([]op{t}, b.ops[at:]...)...)
	for j, pos := range b.labels {
		if pos >= at {
			b.labels[j] = pos + 1
		}
	}
	tl := b.newLabel()
	b.labels[tl] = at
	return tl
}
