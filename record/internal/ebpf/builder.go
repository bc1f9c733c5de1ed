package ebpf

import "fmt"

// Builder assembles a program with named jump targets, so that jumps need
// no hand-counted offsets.
type Builder struct {
	insns  []Instruction
	labels map[string]int
	fixups []fixup
}

type fixup struct {
	at    int
	label string
}

// Emit appends instructions.
func (b *Builder) Emit(ins ...Instruction) *Builder {
	b.insns = append(b.insns, ins...)
	return b
}

// Emit2 appends a two-instruction load (LoadImm64, LoadMapFD).
func (b *Builder) Emit2(ins [2]Instruction) *Builder {
	return b.Emit(ins[0], ins[1])
}

// JumpImm appends a conditional jump to label.
func (b *Builder) JumpImm(op JumpOp, dst Reg, imm int32, label string) *Builder {
	b.fixups = append(b.fixups, fixup{len(b.insns), label})
	return b.Emit(JumpImm(op, dst, imm, 0))
}

// Ja appends an unconditional jump to label.
func (b *Builder) Ja(label string) *Builder {
	b.fixups = append(b.fixups, fixup{len(b.insns), label})
	return b.Emit(Ja(0))
}

// Label names the next instruction.
func (b *Builder) Label(name string) *Builder {
	if b.labels == nil {
		b.labels = map[string]int{}
	}
	b.labels[name] = len(b.insns)
	return b
}

// Program resolves the jumps and returns the instructions.
func (b *Builder) Program() ([]Instruction, error) {
	out := append([]Instruction(nil), b.insns...)
	for _, f := range b.fixups {
		to, ok := b.labels[f.label]
		if !ok {
			return nil, fmt.Errorf("instruction %d jumps to undefined label %q", f.at, f.label)
		}
		off := to - f.at - 1
		if off < -32768 || off > 32767 {
			return nil, fmt.Errorf("instruction %d: jump to %q out of range (%d)", f.at, f.label, off)
		}
		out[f.at].Off = int16(off)
	}
	return out, nil
}
