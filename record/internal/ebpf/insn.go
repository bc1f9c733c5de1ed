// Package ebpf loads the small eBPF programs that syscage record attaches
// to kernel tracepoints: an instruction encoder, maps and programs through
// bpf(2), and attachment through perf_event_open(2). It uses raw system
// calls only and knows nothing of what the programs count.
package ebpf

import (
	"encoding/binary"
	"fmt"
)

// Reg is an eBPF register: R0 holds return values, R1-R5 helper
// arguments (R1 the program's context on entry), R6-R9 survive helper
// calls, R10 is the read-only frame pointer.
type Reg uint8

// The registers.
const (
	R0 Reg = iota
	R1
	R2
	R3
	R4
	R5
	R6
	R7
	R8
	R9
	R10
)

// Instruction is one eBPF instruction (include/uapi/linux/bpf.h: struct
// bpf_insn). A 64-bit immediate load takes two; LoadImm64 and LoadMapFD
// return both halves.
type Instruction struct {
	Op  uint8
	Dst Reg
	Src Reg
	Off int16
	Imm int32
}

// Opcode parts (include/uapi/linux/bpf_common.h and bpf.h).
const (
	classLD    = 0x00
	classLDX   = 0x01
	classST    = 0x02
	classSTX   = 0x03
	classJMP   = 0x05
	classALU64 = 0x07

	sizeW  = 0x00
	sizeDW = 0x18

	modeIMM    = 0x00
	modeMEM    = 0x60
	modeATOMIC = 0xc0

	srcK = 0x00
	srcX = 0x08

	aluADD = 0x00
	aluAND = 0x50
	aluMOV = 0xb0

	jmpJA   = 0x00
	jmpJEQ  = 0x10
	jmpJGE  = 0x30
	jmpJNE  = 0x50
	jmpCALL = 0x80
	jmpEXIT = 0x90

	pseudoMapFD = 1 // BPF_PSEUDO_MAP_FD
)

// Size of a memory access.
type Size uint8

// Access sizes.
const (
	Word   Size = sizeW  // 32 bits
	Double Size = sizeDW // 64 bits
)

// Helper functions a program may call (enum bpf_func_id).
const (
	FuncMapLookupElem     = 1
	FuncMapUpdateElem     = 2
	FuncGetCurrentPidTgid = 14
)

// Mov64 sets dst = src.
func Mov64(dst, src Reg) Instruction {
	return Instruction{Op: classALU64 | aluMOV | srcX, Dst: dst, Src: src}
}

// Mov64Imm sets dst = imm (sign-extended).
func Mov64Imm(dst Reg, imm int32) Instruction {
	return Instruction{Op: classALU64 | aluMOV | srcK, Dst: dst, Imm: imm}
}

// Add64Imm sets dst += imm.
func Add64Imm(dst Reg, imm int32) Instruction {
	return Instruction{Op: classALU64 | aluADD | srcK, Dst: dst, Imm: imm}
}

// And64Imm sets dst &= imm.
func And64Imm(dst Reg, imm int32) Instruction {
	return Instruction{Op: classALU64 | aluAND | srcK, Dst: dst, Imm: imm}
}

// Load sets dst = *(size *)(src + off).
func Load(sz Size, dst, src Reg, off int16) Instruction {
	return Instruction{Op: classLDX | modeMEM | uint8(sz), Dst: dst, Src: src, Off: off}
}

// Store sets *(size *)(dst + off) = src.
func Store(sz Size, dst Reg, off int16, src Reg) Instruction {
	return Instruction{Op: classSTX | modeMEM | uint8(sz), Dst: dst, Src: src, Off: off}
}

// StoreImm sets *(size *)(dst + off) = imm.
func StoreImm(sz Size, dst Reg, off int16, imm int32) Instruction {
	return Instruction{Op: classST | modeMEM | uint8(sz), Dst: dst, Off: off, Imm: imm}
}

// AtomicAdd64 adds src to the 64-bit word at dst + off atomically.
func AtomicAdd64(dst Reg, off int16, src Reg) Instruction {
	return Instruction{Op: classSTX | modeATOMIC | sizeDW, Dst: dst, Src: src, Off: off, Imm: aluADD}
}

// LoadImm64 sets dst to a 64-bit constant (two instructions).
func LoadImm64(dst Reg, v uint64) [2]Instruction {
	return [2]Instruction{
		{Op: classLD | modeIMM | sizeDW, Dst: dst, Imm: int32(uint32(v))},
		{Imm: int32(uint32(v >> 32))},
	}
}

// LoadMapFD sets dst to the map behind fd (two instructions); the kernel
// replaces the descriptor with the map's address when it loads the program.
func LoadMapFD(dst Reg, fd int) [2]Instruction {
	return [2]Instruction{
		{Op: classLD | modeIMM | sizeDW, Dst: dst, Src: pseudoMapFD, Imm: int32(fd)},
		{},
	}
}

// JumpImm jumps off instructions ahead when dst OP imm; op is one of
// JEQ, JNE, JGE (unsigned).
func JumpImm(op JumpOp, dst Reg, imm int32, off int16) Instruction {
	return Instruction{Op: classJMP | uint8(op) | srcK, Dst: dst, Imm: imm, Off: off}
}

// Ja jumps off instructions ahead unconditionally.
func Ja(off int16) Instruction { return Instruction{Op: classJMP | jmpJA, Off: off} }

// Call calls helper fn; arguments in R1-R5, result in R0.
func Call(fn int32) Instruction { return Instruction{Op: classJMP | jmpCALL, Imm: fn} }

// Exit returns R0.
func Exit() Instruction { return Instruction{Op: classJMP | jmpEXIT} }

// JumpOp is a conditional jump's comparison.
type JumpOp uint8

// Conditional jumps.
const (
	JEQ JumpOp = jmpJEQ
	JNE JumpOp = jmpJNE
	JGE JumpOp = jmpJGE // unsigned
)

// Encode returns the program in the kernel's layout, native byte order.
func Encode(prog []Instruction) []byte {
	out := make([]byte, 8*len(prog))
	for i, ins := range prog {
		b := out[8*i:]
		b[0] = ins.Op
		b[1] = uint8(ins.Dst&0xf) | uint8(ins.Src&0xf)<<4
		binary.NativeEndian.PutUint16(b[2:], uint16(ins.Off))
		binary.NativeEndian.PutUint32(b[4:], uint32(ins.Imm))
	}
	return out
}

func (i Instruction) String() string {
	return fmt.Sprintf("op=%#02x dst=r%d src=r%d off=%d imm=%d", i.Op, i.Dst, i.Src, i.Off, i.Imm)
}
