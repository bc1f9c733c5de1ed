// Package bpf models seccomp's classic BPF: instructions and their 8-byte
// kernel encoding, an assembler with symbolic labels, a text syntax and
// its disassembler, a validator equal to the kernel's, an interpreter over
// seccomp_data, and the kernel's constant-action cache analysis.
//
// The package knows nothing of policies or syscall names; callers that want
// names in listings pass a Namer.
package bpf

import (
	"encoding/binary"
	"fmt"
)

// Opcode fields, from include/uapi/linux/filter.h and bpf_common.h.
const (
	// Instruction classes (code & 0x07).
	ClassLD   uint16 = 0x00
	ClassLDX  uint16 = 0x01
	ClassST   uint16 = 0x02
	ClassSTX  uint16 = 0x03
	ClassALU  uint16 = 0x04
	ClassJMP  uint16 = 0x05
	ClassRET  uint16 = 0x06
	ClassMISC uint16 = 0x07

	// Load sizes (code & 0x18).
	SizeW uint16 = 0x00
	SizeH uint16 = 0x08
	SizeB uint16 = 0x10

	// Load modes (code & 0xe0).
	ModeIMM uint16 = 0x00
	ModeABS uint16 = 0x20
	ModeIND uint16 = 0x40
	ModeMEM uint16 = 0x60
	ModeLEN uint16 = 0x80
	ModeMSH uint16 = 0xa0

	// ALU operations (code & 0xf0).
	AluAdd uint16 = 0x00
	AluSub uint16 = 0x10
	AluMul uint16 = 0x20
	AluDiv uint16 = 0x30
	AluOr  uint16 = 0x40
	AluAnd uint16 = 0x50
	AluLsh uint16 = 0x60
	AluRsh uint16 = 0x70
	AluNeg uint16 = 0x80
	AluMod uint16 = 0x90
	AluXor uint16 = 0xa0

	// Jump operations (code & 0xf0).
	JmpJA   uint16 = 0x00
	JmpJEQ  uint16 = 0x10
	JmpJGT  uint16 = 0x20
	JmpJGE  uint16 = 0x30
	JmpJSET uint16 = 0x40

	// Operand source (code & 0x08).
	SrcK uint16 = 0x00
	SrcX uint16 = 0x08

	// Return value source (code & 0x18).
	RetSrcK uint16 = 0x00
	RetSrcX uint16 = 0x08
	RetSrcA uint16 = 0x10

	// MISC operations (code & 0xf8).
	MiscTAX uint16 = 0x00
	MiscTXA uint16 = 0x80
)

// Kernel limits, from include/uapi/linux/bpf_common.h (BPF_MAXINSNS),
// include/linux/filter.h (BPF_MEMWORDS) and kernel/seccomp.c
// (MAX_INSNS_PER_PATH and the 4-instruction penalty per filter).
const (
	MaxInstructions         = 4096
	MaxStackInstructions    = (1 << 18) / 8 // MAX_INSNS_PER_PATH: 32768
	StackPenaltyPerFilter   = 4
	ScratchWords            = 16
	SeccompDataSize         = 64
	InstructionSize         = 8
	MaxConditionalJumpRange = 255
)

// Offsets into struct seccomp_data (include/uapi/linux/seccomp.h):
//
//	struct seccomp_data { int nr; __u32 arch; __u64 instruction_pointer; __u64 args[6]; };
const (
	OffsetNr                 = 0
	OffsetArch               = 4
	OffsetInstructionPointer = 8
	OffsetArgs               = 16
)

// Seccomp filter return values (include/uapi/linux/seccomp.h).
const (
	RetKillProcess uint32 = 0x80000000
	RetKillThread  uint32 = 0x00000000
	RetTrap        uint32 = 0x00030000
	RetErrno       uint32 = 0x00050000
	RetUserNotif   uint32 = 0x7fc00000
	RetTrace       uint32 = 0x7ff00000
	RetLog         uint32 = 0x7ffc0000
	RetAllow       uint32 = 0x7fff0000

	RetActionFull uint32 = 0xffff0000
	RetData       uint32 = 0x0000ffff
)

// Instruction is one classic BPF instruction, struct sock_filter.
type Instruction struct {
	Op uint16 // opcode: class | size/op | mode/src
	Jt uint8  // conditional jump offset when true
	Jf uint8  // conditional jump offset when false
	K  uint32 // generic field: constant, offset, or jump offset for JA
}

// Class returns the instruction class (ClassLD ... ClassMISC).
func (i Instruction) Class() uint16 { return i.Op & 0x07 }

// IsReturn reports whether the instruction is a RET.
func (i Instruction) IsReturn() bool { return i.Class() == ClassRET }

// IsJump reports whether the instruction is any jump, conditional or not.
func (i Instruction) IsJump() bool { return i.Class() == ClassJMP }

// IsConditionalJump reports whether the instruction is a JEQ, JGT, JGE or
// JSET (with either operand source).
func (i Instruction) IsConditionalJump() bool {
	return i.Class() == ClassJMP && i.Op&0xf0 != JmpJA
}

// Program is a classic BPF program as the kernel receives it.
type Program []Instruction

// Constructors for the common instruction forms. They build the
// instruction; they do not check it (Validate does).

// LoadAbs returns "ld [off]": A = 32-bit word of seccomp_data at off.
func LoadAbs(off uint32) Instruction { return Instruction{Op: ClassLD | SizeW | ModeABS, K: off} }

// LoadLen returns "ld #len": A = sizeof(struct seccomp_data).
func LoadLen() Instruction { return Instruction{Op: ClassLD | SizeW | ModeLEN} }

// LoadImm returns "ld #k".
func LoadImm(k uint32) Instruction { return Instruction{Op: ClassLD | SizeW | ModeIMM, K: k} }

// LoadMem returns "ld M[k]".
func LoadMem(k uint32) Instruction { return Instruction{Op: ClassLD | SizeW | ModeMEM, K: k} }

// LoadXImm returns "ldx #k".
func LoadXImm(k uint32) Instruction { return Instruction{Op: ClassLDX | SizeW | ModeIMM, K: k} }

// LoadXMem returns "ldx M[k]".
func LoadXMem(k uint32) Instruction { return Instruction{Op: ClassLDX | SizeW | ModeMEM, K: k} }

// LoadXLen returns "ldx #len".
func LoadXLen() Instruction { return Instruction{Op: ClassLDX | SizeW | ModeLEN} }

// Store returns "st M[k]": M[k] = A.
func Store(k uint32) Instruction { return Instruction{Op: ClassST, K: k} }

// StoreX returns "stx M[k]": M[k] = X.
func StoreX(k uint32) Instruction { return Instruction{Op: ClassSTX, K: k} }

// ALUK returns an ALU instruction with a constant operand: A = A op k.
func ALUK(op uint16, k uint32) Instruction { return Instruction{Op: ClassALU | op | SrcK, K: k} }

// ALUX returns an ALU instruction with X as operand: A = A op X.
func ALUX(op uint16) Instruction { return Instruction{Op: ClassALU | op | SrcX} }

// Neg returns "neg": A = -A.
func Neg() Instruction { return Instruction{Op: ClassALU | AluNeg} }

// TAX returns "tax": X = A.
func TAX() Instruction { return Instruction{Op: ClassMISC | MiscTAX} }

// TXA returns "txa": A = X.
func TXA() Instruction { return Instruction{Op: ClassMISC | MiscTXA} }

// Jump returns "ja +off".
func Jump(off uint32) Instruction { return Instruction{Op: ClassJMP | JmpJA, K: off} }

// JumpIf returns a conditional jump comparing A with the constant k.
func JumpIf(op uint16, k uint32, jt, jf uint8) Instruction {
	return Instruction{Op: ClassJMP | op | SrcK, Jt: jt, Jf: jf, K: k}
}

// JumpIfX returns a conditional jump comparing A with X.
func JumpIfX(op uint16, jt, jf uint8) Instruction {
	return Instruction{Op: ClassJMP | op | SrcX, Jt: jt, Jf: jf}
}

// Ret returns "ret #k".
func Ret(k uint32) Instruction { return Instruction{Op: ClassRET | RetSrcK, K: k} }

// RetA returns "ret a".
func RetA() Instruction { return Instruction{Op: ClassRET | RetSrcA} }

// Encode returns the program as the kernel's array of struct sock_filter
// in the given byte order. Filters are installed in the byte order of the
// machine that installs them; use NativeEndian for that.
func (p Program) Encode(order binary.ByteOrder) []byte {
	out := make([]byte, len(p)*InstructionSize)
	for i, ins := range p {
		b := out[i*InstructionSize:]
		order.PutUint16(b[0:2], ins.Op)
		b[2] = ins.Jt
		b[3] = ins.Jf
		order.PutUint32(b[4:8], ins.K)
	}
	return out
}

// DecodeError reports raw BPF that is not a whole number of instructions.
type DecodeError struct {
	Size int // bytes given
}

func (e *DecodeError) Error() string {
	if e.Size == 0 {
		return "empty BPF program: a filter needs at least one instruction"
	}
	return fmt.Sprintf("raw BPF is %d bytes, not a multiple of %d (struct sock_filter): truncated or not a BPF program; the last %d bytes do not form an instruction",
		e.Size, InstructionSize, e.Size%InstructionSize)
}

// Decode parses raw struct sock_filter bytes in the given byte order. It
// checks only the size; Validate checks the instructions.
func Decode(raw []byte, order binary.ByteOrder) (Program, error) {
	if len(raw) == 0 || len(raw)%InstructionSize != 0 {
		return nil, &DecodeError{Size: len(raw)}
	}
	p := make(Program, len(raw)/InstructionSize)
	for i := range p {
		b := raw[i*InstructionSize:]
		p[i] = Instruction{
			Op: order.Uint16(b[0:2]),
			Jt: b[2],
			Jf: b[3],
			K:  order.Uint32(b[4:8]),
		}
	}
	return p, nil
}

// NativeEndian is the byte order of the running machine, in which the
// kernel reads sock_filter and seccomp_data.
var NativeEndian = binary.NativeEndian

// SeccompData is struct seccomp_data, the input of every seccomp filter.
type SeccompData struct {
	Nr                 int32
	Arch               uint32
	InstructionPointer uint64
	Args               [6]uint64
}

// Bytes returns the 64-byte image of d in the given byte order, as the
// filter of a process of that byte order sees it.
func (d *SeccompData) Bytes(order binary.ByteOrder) [SeccompDataSize]byte {
	var b [SeccompDataSize]byte
	order.PutUint32(b[OffsetNr:], uint32(d.Nr))
	order.PutUint32(b[OffsetArch:], d.Arch)
	order.PutUint64(b[OffsetInstructionPointer:], d.InstructionPointer)
	for i, a := range d.Args {
		order.PutUint64(b[OffsetArgs+8*i:], a)
	}
	return b
}

// ArgLowOffset returns the offset of the low 32 bits of argument i in
// seccomp_data for a machine of the given byte order.
func ArgLowOffset(i int, bigEndian bool) uint32 {
	off := uint32(OffsetArgs + 8*i)
	if bigEndian {
		return off + 4
	}
	return off
}

// ArgHighOffset returns the offset of the high 32 bits of argument i.
func ArgHighOffset(i int, bigEndian bool) uint32 {
	off := uint32(OffsetArgs + 8*i)
	if bigEndian {
		return off
	}
	return off + 4
}

// InstructionPointerLowOffset and InstructionPointerHighOffset give the
// halves of seccomp_data.instruction_pointer.
func InstructionPointerLowOffset(bigEndian bool) uint32 {
	if bigEndian {
		return OffsetInstructionPointer + 4
	}
	return OffsetInstructionPointer
}

// InstructionPointerHighOffset is the high half of instruction_pointer.
func InstructionPointerHighOffset(bigEndian bool) uint32 {
	if bigEndian {
		return OffsetInstructionPointer
	}
	return OffsetInstructionPointer + 4
}
