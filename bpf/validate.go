package bpf

import (
	"fmt"
	"strings"
)

// The rules Validate enforces, named as ValidationError.Rule reports them.
// They are listed in the order the kernel checks them: first
// bpf_check_classic (net/core/filter.c) walks every instruction, then
// checks the last one is a RET, then runs check_load_and_stores; only a
// program that passes all of that reaches seccomp_check_filter
// (kernel/seccomp.c). Every rule yields EINVAL from seccomp(2).
const (
	// RuleLength: a program has 1 to 4096 (BPF_MAXINSNS) instructions
	// (seccomp_prepare_filter, bpf_check_basics_ok).
	RuleLength = "program length"
	// RuleOpcode: the opcode is not one classic BPF defines at all
	// (chk_code_allowed).
	RuleOpcode = "unknown opcode"
	// RuleDivisionByZero: DIV or MOD by the constant 0.
	RuleDivisionByZero = "division by constant zero"
	// RuleShift: LSH or RSH by a constant of 32 or more.
	RuleShift = "shift by 32 or more"
	// RuleScratchIndex: M[k] with k >= 16 (BPF_MEMWORDS).
	RuleScratchIndex = "scratch memory index"
	// RuleJumpRange: a jump lands at or beyond the end of the program.
	RuleJumpRange = "jump out of range"
	// RuleAncillary: a packet load at SKF_AD_OFF or above that names no
	// ancillary field.
	RuleAncillary = "unknown ancillary load"
	// RuleLastReturn: the last instruction is not RET K or RET A.
	RuleLastReturn = "program does not end with RET"
	// RuleScratchUninitialized: M[k] is read on a path that never wrote
	// it (check_load_and_stores).
	RuleScratchUninitialized = "scratch memory read before write"
	// RuleSeccompLoad: a word load from seccomp_data that is not aligned
	// to 4 or not inside its 64 bytes (seccomp_check_filter).
	RuleSeccompLoad = "load outside seccomp_data"
	// RuleSeccompOpcode: a classic BPF opcode seccomp does not accept:
	// MOD, byte and half-word loads, indexed loads, LDX MSH
	// (seccomp_check_filter).
	RuleSeccompOpcode = "opcode not allowed in seccomp filters"
)

// ValidationError is the first reason the kernel would refuse a program.
type ValidationError struct {
	Index       int         // instruction index, or -1 for the program as a whole
	Instruction Instruction // the instruction at Index
	Rule        string      // one of the Rule constants
	Detail      string      // what exactly is wrong, with the values at fault
	Fix         string      // how to repair it, when there is an obvious way
}

func (e *ValidationError) Error() string {
	var b strings.Builder
	if e.Index >= 0 {
		fmt.Fprintf(&b, "instruction %d (%s): ", e.Index, instructionText(e.Instruction))
	}
	b.WriteString(e.Rule)
	if e.Detail != "" {
		b.WriteString(": ")
		b.WriteString(e.Detail)
	}
	if e.Fix != "" {
		b.WriteString("; ")
		b.WriteString(e.Fix)
	}
	return b.String()
}

// Constants from include/uapi/linux/filter.h for the ancillary loads of
// socket filters. bpf_check_classic runs before seccomp's own check, so a
// load at SKF_AD_OFF+n is judged by these rules first.
const (
	skfAdOff = 0xfffff000 // SKF_AD_OFF, (-0x1000) as u32
	skfAdMax = 64         // SKF_AD_MAX: one past the last ancillary offset
)

// Validate reports whether the kernel would accept p as a seccomp filter,
// and if not, the first rule broken, in the order the kernel checks them
// (net/core/filter.c: bpf_check_classic, check_load_and_stores;
// kernel/seccomp.c: seccomp_check_filter). A nil result means
// seccomp(SECCOMP_SET_MODE_FILTER) would not fail with EINVAL for p.
func Validate(p Program) error {
	n := len(p)
	if n == 0 {
		return &ValidationError{Index: -1, Rule: RuleLength,
			Detail: "the program is empty", Fix: "a filter needs at least one instruction, e.g. ret #ALLOW"}
	}
	if n > MaxInstructions {
		return &ValidationError{Index: -1, Rule: RuleLength,
			Detail: fmt.Sprintf("%d instructions, more than the kernel's limit of %d", n, MaxInstructions),
			Fix:    "split the filter in two stacked filters or simplify it"}
	}
	for pc, ins := range p {
		if err := checkClassic(p, pc, ins); err != nil {
			return err
		}
	}
	if last := p[n-1]; last.Op != ClassRET|RetSrcK && last.Op != ClassRET|RetSrcA {
		return &ValidationError{Index: n - 1, Instruction: last, Rule: RuleLastReturn,
			Detail: "execution could run past the end",
			Fix:    "end the program with ret #ACTION or ret a"}
	}
	if err := checkScratchInit(p); err != nil {
		return err
	}
	for pc, ins := range p {
		if err := checkSeccomp(pc, ins); err != nil {
			return err
		}
	}
	return nil
}

// checkClassic applies bpf_check_classic's per-instruction rules.
func checkClassic(p Program, pc int, ins Instruction) error {
	fail := func(rule, detail, fix string) error {
		return &ValidationError{Index: pc, Instruction: ins, Rule: rule, Detail: detail, Fix: fix}
	}
	if !classicOpcode(ins.Op) {
		return fail(RuleOpcode, fmt.Sprintf("opcode 0x%02x is not a classic BPF instruction", ins.Op),
			"the program is corrupt or not classic BPF")
	}
	n := len(p)
	switch ins.Op {
	case ClassALU | AluDiv | SrcK, ClassALU | AluMod | SrcK:
		if ins.K == 0 {
			return fail(RuleDivisionByZero, "the divisor is the constant 0", "use a non-zero constant")
		}
	case ClassALU | AluLsh | SrcK, ClassALU | AluRsh | SrcK:
		if ins.K >= 32 {
			return fail(RuleShift, fmt.Sprintf("shift count %d does not fit a 32-bit register", ins.K),
				"shift by 0 to 31, or load the constant 0 instead")
		}
	case ClassLD | ModeMEM, ClassLDX | ModeMEM, ClassST, ClassSTX:
		if ins.K >= ScratchWords {
			return fail(RuleScratchIndex, fmt.Sprintf("M[%d] does not exist", ins.K),
				fmt.Sprintf("scratch memory has %d words, M[0] to M[%d]", ScratchWords, ScratchWords-1))
		}
	case ClassJMP | JmpJA:
		// The kernel compares k with the number of instructions after
		// this one, so a huge k cannot wrap around.
		if ins.K >= uint32(n-pc-1) {
			return fail(RuleJumpRange, fmt.Sprintf("ja +%d from %d targets %d, but the program ends at %d",
				ins.K, pc, uint64(pc)+1+uint64(ins.K), n-1), "jump to an instruction inside the program")
		}
	case ClassJMP | JmpJEQ | SrcK, ClassJMP | JmpJEQ | SrcX,
		ClassJMP | JmpJGE | SrcK, ClassJMP | JmpJGE | SrcX,
		ClassJMP | JmpJGT | SrcK, ClassJMP | JmpJGT | SrcX,
		ClassJMP | JmpJSET | SrcK, ClassJMP | JmpJSET | SrcX:
		for _, b := range []struct {
			name string
			off  uint8
		}{{"true", ins.Jt}, {"false", ins.Jf}} {
			if t := pc + int(b.off) + 1; t >= n {
				return fail(RuleJumpRange, fmt.Sprintf("the %s branch (+%d) targets %d, but the program ends at %d",
					b.name, b.off, t, n-1), "jump to an instruction inside the program")
			}
		}
	case ClassLD | SizeW | ModeABS, ClassLD | SizeH | ModeABS, ClassLD | SizeB | ModeABS:
		if ins.K >= skfAdOff && !(ins.K-skfAdOff < skfAdMax && (ins.K-skfAdOff)%4 == 0) {
			return fail(RuleAncillary, fmt.Sprintf("offset 0x%x is in the socket filter's ancillary range", ins.K),
				fmt.Sprintf("seccomp filters load seccomp_data words at offsets 0 to %d", SeccompDataSize-4))
		}
	}
	return nil
}

// classicOpcode reports whether op is in the table of chk_code_allowed
// (net/core/filter.c): every classic BPF instruction, seccomp or not.
func classicOpcode(op uint16) bool {
	switch op {
	case ClassALU | AluAdd | SrcK, ClassALU | AluAdd | SrcX,
		ClassALU | AluSub | SrcK, ClassALU | AluSub | SrcX,
		ClassALU | AluMul | SrcK, ClassALU | AluMul | SrcX,
		ClassALU | AluDiv | SrcK, ClassALU | AluDiv | SrcX,
		ClassALU | AluMod | SrcK, ClassALU | AluMod | SrcX,
		ClassALU | AluAnd | SrcK, ClassALU | AluAnd | SrcX,
		ClassALU | AluOr | SrcK, ClassALU | AluOr | SrcX,
		ClassALU | AluXor | SrcK, ClassALU | AluXor | SrcX,
		ClassALU | AluLsh | SrcK, ClassALU | AluLsh | SrcX,
		ClassALU | AluRsh | SrcK, ClassALU | AluRsh | SrcX,
		ClassALU | AluNeg,
		ClassLD | SizeW | ModeABS, ClassLD | SizeH | ModeABS, ClassLD | SizeB | ModeABS,
		ClassLD | SizeW | ModeLEN,
		ClassLD | SizeW | ModeIND, ClassLD | SizeH | ModeIND, ClassLD | SizeB | ModeIND,
		ClassLD | ModeIMM, ClassLD | ModeMEM,
		ClassLDX | SizeW | ModeLEN, ClassLDX | SizeB | ModeMSH,
		ClassLDX | ModeIMM, ClassLDX | ModeMEM,
		ClassST, ClassSTX,
		ClassMISC | MiscTAX, ClassMISC | MiscTXA,
		ClassRET | RetSrcK, ClassRET | RetSrcA,
		ClassJMP | JmpJA,
		ClassJMP | JmpJEQ | SrcK, ClassJMP | JmpJEQ | SrcX,
		ClassJMP | JmpJGE | SrcK, ClassJMP | JmpJGE | SrcX,
		ClassJMP | JmpJGT | SrcK, ClassJMP | JmpJGT | SrcX,
		ClassJMP | JmpJSET | SrcK, ClassJMP | JmpJSET | SrcX:
		return true
	}
	return false
}

// seccompOpcode reports whether op is one seccomp_check_filter
// (kernel/seccomp.c) lets through. The comparison is on the whole 16-bit
// code, so unused bits must be zero.
func seccompOpcode(op uint16) bool {
	switch op {
	case ClassLD | SizeW | ModeABS, ClassLD | SizeW | ModeLEN, ClassLDX | SizeW | ModeLEN,
		ClassRET | RetSrcK, ClassRET | RetSrcA,
		ClassALU | AluAdd | SrcK, ClassALU | AluAdd | SrcX,
		ClassALU | AluSub | SrcK, ClassALU | AluSub | SrcX,
		ClassALU | AluMul | SrcK, ClassALU | AluMul | SrcX,
		ClassALU | AluDiv | SrcK, ClassALU | AluDiv | SrcX,
		ClassALU | AluAnd | SrcK, ClassALU | AluAnd | SrcX,
		ClassALU | AluOr | SrcK, ClassALU | AluOr | SrcX,
		ClassALU | AluXor | SrcK, ClassALU | AluXor | SrcX,
		ClassALU | AluLsh | SrcK, ClassALU | AluLsh | SrcX,
		ClassALU | AluRsh | SrcK, ClassALU | AluRsh | SrcX,
		ClassALU | AluNeg,
		ClassLD | ModeIMM, ClassLDX | ModeIMM,
		ClassMISC | MiscTAX, ClassMISC | MiscTXA,
		ClassLD | ModeMEM, ClassLDX | ModeMEM,
		ClassST, ClassSTX,
		ClassJMP | JmpJA,
		ClassJMP | JmpJEQ | SrcK, ClassJMP | JmpJEQ | SrcX,
		ClassJMP | JmpJGE | SrcK, ClassJMP | JmpJGE | SrcX,
		ClassJMP | JmpJGT | SrcK, ClassJMP | JmpJGT | SrcX,
		ClassJMP | JmpJSET | SrcK, ClassJMP | JmpJSET | SrcX:
		return true
	}
	return false
}

// checkScratchInit is check_load_and_stores (net/core/filter.c): one
// forward pass, possible because every jump goes forward. memvalid holds
// the scratch words written on every path reaching pc; a jump narrows its
// targets' masks and makes the instruction after it (reachable only by
// other jumps) start from "all written", narrowed by its mask. The kernel
// does not reset the state after a RET, and neither does this.
func checkScratchInit(p Program) error {
	masks := make([]uint16, len(p))
	for i := range masks {
		masks[i] = 0xffff
	}
	var memvalid uint16
	for pc, ins := range p {
		memvalid &= masks[pc]
		switch ins.Op {
		case ClassST, ClassSTX:
			memvalid |= 1 << ins.K
		case ClassLD | ModeMEM, ClassLDX | ModeMEM:
			if memvalid&(1<<ins.K) == 0 {
				reg := "A"
				if ins.Class() == ClassLDX {
					reg = "X"
				}
				return &ValidationError{Index: pc, Instruction: ins, Rule: RuleScratchUninitialized,
					Detail: fmt.Sprintf("some path reaches this load of M[%d] without storing to it", ins.K),
					Fix:    fmt.Sprintf("store to M[%d] on every path before loading it into %s", ins.K, reg)}
			}
		case ClassJMP | JmpJA:
			masks[pc+1+int(ins.K)] &= memvalid
			memvalid = 0xffff
		case ClassJMP | JmpJEQ | SrcK, ClassJMP | JmpJEQ | SrcX,
			ClassJMP | JmpJGE | SrcK, ClassJMP | JmpJGE | SrcX,
			ClassJMP | JmpJGT | SrcK, ClassJMP | JmpJGT | SrcX,
			ClassJMP | JmpJSET | SrcK, ClassJMP | JmpJSET | SrcX:
			masks[pc+1+int(ins.Jt)] &= memvalid
			masks[pc+1+int(ins.Jf)] &= memvalid
			memvalid = 0xffff
		}
	}
	return nil
}

// checkSeccomp applies seccomp_check_filter's rules to one instruction.
func checkSeccomp(pc int, ins Instruction) error {
	fail := func(rule, detail, fix string) error {
		return &ValidationError{Index: pc, Instruction: ins, Rule: rule, Detail: detail, Fix: fix}
	}
	if ins.Op == ClassLD|SizeW|ModeABS {
		if ins.K >= SeccompDataSize || ins.K%4 != 0 {
			return fail(RuleSeccompLoad,
				fmt.Sprintf("offset %d is not a 4-aligned offset below %d", ins.K, SeccompDataSize),
				"load nr at 0, arch at 4, the instruction pointer at 8/12, argument i at 16+8*i (low and high words)")
		}
		return nil
	}
	if seccompOpcode(ins.Op) {
		return nil
	}
	fix := "use only 32-bit ld [k] loads, ALU ops other than MOD, jumps, ld/st on M[], tax/txa and ret"
	switch {
	case ins.Op&0x07 == ClassLD && ins.Op&0xe0 == ModeABS:
		fix = "seccomp only loads 32-bit words: use ld [k] with k a multiple of 4 and mask or shift the word"
	case ins.Op&0x07 == ClassALU && ins.Op&0xf0 == AluMod:
		fix = "compute A % n as A - (A / n) * n, or test bits with jset"
	case ins.Op&0xe0 == ModeIND || ins.Op&0xe0 == ModeMSH:
		fix = "seccomp_data has no packet to index: use ld [k] with a constant offset"
	}
	return fail(RuleSeccompOpcode, fmt.Sprintf("opcode 0x%02x is a socket-filter instruction", ins.Op), fix)
}

// StackError reports stacked filters whose combined length exceeds the
// kernel's per-path limit.
type StackError struct {
	Filters int // number of filters in the stack
	Total   int // instructions counted the kernel's way (see ValidateStack)
}

func (e *StackError) Error() string {
	return fmt.Sprintf("%d stacked filters count %d kernel instructions, over the limit of %d (MAX_INSNS_PER_PATH): the last seccomp(2) fails with ENOMEM; merge or shorten filters",
		e.Filters, e.Total, MaxStackInstructions)
}

// ValidateStack checks filters installed one after the other (filters[0]
// first) as the kernel does: each must pass Validate, and together they
// must fit MAX_INSNS_PER_PATH. seccomp_attach_filter (kernel/seccomp.c)
// adds the new filter's length to the length plus 4 of every filter
// already installed, and the lengths it adds are those of the programs
// after their conversion to eBPF (KernelLength), not the classic
// instruction counts. The check runs at each attach; since the total only
// grows, checking the whole stack once is equivalent. A *ValidationError
// from a single filter is wrapped with the filter's index.
//
// The count assumes constant blinding is off (net.core.bpf_jit_harden 0,
// or 1 for a privileged caller); blinding lengthens programs and lowers
// the limit.
func ValidateStack(filters []Program) error {
	total := 0
	for i, p := range filters {
		if err := Validate(p); err != nil {
			return fmt.Errorf("filter %d: %w", i, err)
		}
		total += KernelLength(p)
		if i > 0 {
			total += StackPenaltyPerFilter
		}
	}
	if total > MaxStackInstructions {
		return &StackError{Filters: len(filters), Total: total}
	}
	return nil
}

// KernelLength returns the length the kernel gives a valid seccomp
// program once it has converted it to eBPF (net/core/filter.c:
// bpf_convert_filter, after seccomp_check_filter's rewrites), the unit of
// the stacked-filter limit: a 3-instruction prologue, then one
// instruction for each classic one except RET K (2), DIV by X (5: a
// return-0 guard for X == 0), conditional jumps that need a second jump
// because neither branch falls through (2) and jumps comparing with a
// constant above 0x7fffffff (one more, to load it).
func KernelLength(p Program) int {
	n := 3
	for _, ins := range p {
		switch {
		case ins.Op == ClassRET|RetSrcK:
			n += 2
		case ins.Op == ClassALU|AluDiv|SrcX || ins.Op == ClassALU|AluMod|SrcX:
			n += 5
		case ins.IsConditionalJump():
			if ins.Op&SrcX == 0 && int32(ins.K) < 0 {
				n++ // eBPF immediates are signed: the constant goes through a register
			}
			switch {
			case ins.Jf == 0:
				n++
			case ins.Jt == 0 && ins.Op&0xf0 != JmpJSET:
				n++ // inverted: JNE, JLE or JLT to the false branch
			default:
				n += 2 // a conditional jump and a JA
			}
		default:
			n++
		}
	}
	return n
}

// instructionText renders an instruction for messages. It prefers the
// package's canonical text form when Instruction has one, so messages
// read like listings.
func instructionText(ins Instruction) string {
	if s, ok := any(ins).(fmt.Stringer); ok {
		return s.String()
	}
	return mnemonic(ins)
}

// mnemonic is a compact rendering of one instruction, used when the
// listing syntax is not available.
func mnemonic(ins Instruction) string {
	k := ins.K
	switch ins.Op {
	case ClassLD | SizeW | ModeABS:
		return fmt.Sprintf("ld [%d]", k)
	case ClassLD | SizeW | ModeLEN:
		return "ld #len"
	case ClassLDX | SizeW | ModeLEN:
		return "ldx #len"
	case ClassLD | ModeIMM:
		return fmt.Sprintf("ld #0x%x", k)
	case ClassLDX | ModeIMM:
		return fmt.Sprintf("ldx #0x%x", k)
	case ClassLD | ModeMEM:
		return fmt.Sprintf("ld M[%d]", k)
	case ClassLDX | ModeMEM:
		return fmt.Sprintf("ldx M[%d]", k)
	case ClassST:
		return fmt.Sprintf("st M[%d]", k)
	case ClassSTX:
		return fmt.Sprintf("stx M[%d]", k)
	case ClassMISC | MiscTAX:
		return "tax"
	case ClassMISC | MiscTXA:
		return "txa"
	case ClassALU | AluNeg:
		return "neg"
	case ClassRET | RetSrcK:
		return "ret #" + ActionString(k)
	case ClassRET | RetSrcA:
		return "ret a"
	case ClassJMP | JmpJA:
		return fmt.Sprintf("ja +%d", k)
	}
	aluNames := map[uint16]string{AluAdd: "add", AluSub: "sub", AluMul: "mul", AluDiv: "div", AluMod: "mod",
		AluAnd: "and", AluOr: "or", AluXor: "xor", AluLsh: "lsh", AluRsh: "rsh"}
	jmpNames := map[uint16]string{JmpJEQ: "jeq", JmpJGT: "jgt", JmpJGE: "jge", JmpJSET: "jset"}
	operand := fmt.Sprintf("#0x%x", k)
	if ins.Op&SrcX != 0 {
		operand = "x"
	}
	switch {
	case ins.Op&^0xf8 == ClassALU && aluNames[ins.Op&0xf0] != "":
		return aluNames[ins.Op&0xf0] + " " + operand
	case ins.Op&^0xf8 == ClassJMP && jmpNames[ins.Op&0xf0] != "":
		return fmt.Sprintf("%s %s, +%d, +%d", jmpNames[ins.Op&0xf0], operand, ins.Jt, ins.Jf)
	}
	return fmt.Sprintf("code 0x%04x jt %d jf %d k 0x%x", ins.Op, ins.Jt, ins.Jf, k)
}
