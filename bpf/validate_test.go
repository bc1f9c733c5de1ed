package bpf

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

// allowAll is the smallest valid filter.
var allowAll = Program{Ret(RetAllow)}

// repeat returns n copies of ins.
func repeat(ins Instruction, n int) Program {
	p := make(Program, n)
	for i := range p {
		p[i] = ins
	}
	return p
}

// concat joins program pieces.
func concat(parts ...Program) Program {
	var p Program
	for _, x := range parts {
		p = append(p, x...)
	}
	return p
}

// validationCase is one program with the first rule the kernel finds
// broken in it.
type validationCase struct {
	name  string
	p     Program
	rule  string // "" when the program is valid
	index int
}

// validationCases has one case per rule, and the cases that pin the
// order in which the kernel applies them. The kernel test installs them
// too.
func validationCases() []validationCase {
	return []validationCase{
		{"single ret", allowAll, "", 0},
		{"ret a", Program{LoadAbs(OffsetNr), RetA()}, "", 0},
		{"every seccomp opcode", concat(Program{
			LoadAbs(OffsetArch), LoadLen(), LoadXLen(), LoadImm(1), LoadXImm(2),
			Store(0), StoreX(1), LoadMem(0), LoadXMem(1),
			ALUK(AluAdd, 1), ALUX(AluAdd), ALUK(AluSub, 1), ALUX(AluSub),
			ALUK(AluMul, 3), ALUX(AluMul), ALUK(AluDiv, 3), ALUX(AluDiv),
			ALUK(AluAnd, 3), ALUX(AluAnd), ALUK(AluOr, 3), ALUX(AluOr),
			ALUK(AluXor, 3), ALUX(AluXor), ALUK(AluLsh, 31), ALUX(AluLsh),
			ALUK(AluRsh, 31), ALUX(AluRsh), Neg(), TAX(), TXA(), Jump(0),
			JumpIf(JmpJEQ, 1, 0, 0), JumpIfX(JmpJEQ, 0, 0), JumpIf(JmpJGT, 1, 0, 0), JumpIfX(JmpJGT, 0, 0),
			JumpIf(JmpJGE, 1, 0, 0), JumpIfX(JmpJGE, 0, 0), JumpIf(JmpJSET, 1, 0, 0), JumpIfX(JmpJSET, 0, 0),
			Ret(RetAllow), RetA()}), "", 0},
		{"4096 instructions", concat(repeat(LoadImm(0), MaxInstructions-1), allowAll), "", 0},
		{"last load offset 60", Program{LoadAbs(60), RetA()}, "", 0},
		{"jump to last", Program{JumpIf(JmpJEQ, 0, 1, 0), Ret(1), Ret(2)}, "", 0},
		{"ja to last", Program{Jump(1), Ret(1), Ret(2)}, "", 0},
		{"store on both paths", Program{
			JumpIf(JmpJEQ, 0, 0, 2), Store(3), Jump(1), StoreX(3), LoadMem(3), RetA()}, "", 0},
		{"read after ret is dead code", Program{Store(0), Ret(0), LoadMem(0), RetA()}, "", 0},

		{"empty", Program{}, RuleLength, -1},
		{"4097 instructions", concat(repeat(LoadImm(0), MaxInstructions), allowAll), RuleLength, -1},
		{"unknown opcode", Program{{Op: 0xff}, Ret(0)}, RuleOpcode, 0},
		{"ret x is not classic", Program{{Op: ClassRET | RetSrcX}}, RuleOpcode, 0},
		{"ld half imm", Program{{Op: ClassLD | SizeH | ModeIMM}, Ret(0)}, RuleOpcode, 0},
		{"neg with x", Program{{Op: ClassALU | AluNeg | SrcX}, Ret(0)}, RuleOpcode, 0},
		{"ja with x", Program{{Op: ClassJMP | JmpJA | SrcX}, Ret(0)}, RuleOpcode, 0},
		{"high opcode bits", Program{{Op: 0x0106}}, RuleOpcode, 0},
		{"div by constant zero", Program{ALUK(AluDiv, 0), RetA()}, RuleDivisionByZero, 0},
		{"mod by constant zero", Program{ALUK(AluMod, 0), RetA()}, RuleDivisionByZero, 0},
		{"lsh 32", Program{ALUK(AluLsh, 32), RetA()}, RuleShift, 0},
		{"rsh huge", Program{LoadImm(1), ALUK(AluRsh, 1<<31), RetA()}, RuleShift, 1},
		{"st M[16]", Program{Store(16), RetA()}, RuleScratchIndex, 0},
		{"stx M[16]", Program{StoreX(16), RetA()}, RuleScratchIndex, 0},
		{"ld M[99]", Program{LoadMem(99), RetA()}, RuleScratchIndex, 0},
		{"ldx M[16]", Program{LoadXMem(16), RetA()}, RuleScratchIndex, 0},
		{"ja past end", Program{Jump(1), Ret(0)}, RuleJumpRange, 0},
		{"ja wraps", Program{Jump(0xffffffff), Ret(0)}, RuleJumpRange, 0},
		{"ja as last", Program{Ret(0), Jump(0)}, RuleJumpRange, 1},
		{"jt past end", Program{JumpIf(JmpJEQ, 0, 1, 0), Ret(0)}, RuleJumpRange, 0},
		{"jf past end", Program{JumpIfX(JmpJSET, 0, 5), Ret(0)}, RuleJumpRange, 0},
		{"unknown ancillary", Program{LoadAbs(skfAdOff + 2), RetA()}, RuleAncillary, 0},
		{"ancillary past max", Program{{Op: ClassLD | SizeB | ModeABS, K: skfAdOff + skfAdMax}, RetA()}, RuleAncillary, 0},
		{"no final ret", Program{LoadImm(0)}, RuleLastReturn, 0},
		{"ret not last", Program{Ret(0), LoadImm(0)}, RuleLastReturn, 1},
		{"read before any write", Program{LoadMem(0), RetA()}, RuleScratchUninitialized, 0},
		{"ldx before write", Program{Store(1), LoadXMem(2), RetA()}, RuleScratchUninitialized, 1},
		{"written on one path only", Program{
			JumpIf(JmpJEQ, 0, 0, 1), Store(3), LoadMem(3), RetA()}, RuleScratchUninitialized, 2},
		{"written after ja target", Program{Jump(1), Store(0), LoadMem(0), RetA()}, RuleScratchUninitialized, 2},
		{"unaligned seccomp load", Program{LoadAbs(2), RetA()}, RuleSeccompLoad, 0},
		{"seccomp load past end", Program{LoadAbs(64), RetA()}, RuleSeccompLoad, 0},
		{"known ancillary is not seccomp", Program{LoadAbs(skfAdOff + 4), RetA()}, RuleSeccompLoad, 0},
		{"half-word load", Program{{Op: ClassLD | SizeH | ModeABS, K: 0}, RetA()}, RuleSeccompOpcode, 0},
		{"byte load", Program{{Op: ClassLD | SizeB | ModeABS, K: 0}, RetA()}, RuleSeccompOpcode, 0},
		{"indexed load", Program{{Op: ClassLD | SizeW | ModeIND, K: 0}, RetA()}, RuleSeccompOpcode, 0},
		{"msh", Program{{Op: ClassLDX | SizeB | ModeMSH, K: 0}, RetA()}, RuleSeccompOpcode, 0},
		{"mod k", Program{ALUK(AluMod, 3), RetA()}, RuleSeccompOpcode, 0},
		{"mod x", Program{ALUX(AluMod), RetA()}, RuleSeccompOpcode, 0},

		// The kernel's order: all of bpf_check_classic's per-instruction
		// rules first, then the final RET, then scratch initialisation,
		// and only then seccomp's own rules.
		{"classic rule beats earlier seccomp rule", Program{LoadAbs(3), ALUK(AluDiv, 0), RetA()}, RuleDivisionByZero, 1},
		{"missing ret beats seccomp rule", Program{LoadAbs(3), LoadImm(0)}, RuleLastReturn, 1},
		{"scratch rule beats seccomp rule", Program{ALUK(AluMod, 2), LoadMem(0), RetA()}, RuleScratchUninitialized, 1},
		{"first bad instruction wins", Program{ALUK(AluLsh, 40), Store(20), RetA()}, RuleShift, 0},
	}
}

func TestValidate(t *testing.T) {
	for _, tt := range validationCases() {
		t.Run(tt.name, func(t *testing.T) {
			err := Validate(tt.p)
			if tt.rule == "" {
				if err != nil {
					t.Fatalf("Validate: %v, want nil", err)
				}
				return
			}
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("Validate = %v, want a *ValidationError for %q", err, tt.rule)
			}
			if ve.Rule != tt.rule || ve.Index != tt.index {
				t.Fatalf("Validate: rule %q at %d (%v), want %q at %d", ve.Rule, ve.Index, err, tt.rule, tt.index)
			}
			if ve.Index >= 0 && ve.Instruction != tt.p[ve.Index] {
				t.Errorf("error carries %+v, program has %+v at %d", ve.Instruction, tt.p[ve.Index], ve.Index)
			}
			msg := err.Error()
			if ve.Index >= 0 && !strings.Contains(msg, fmt.Sprintf("instruction %d ", ve.Index)) {
				t.Errorf("message %q does not name instruction %d", msg, ve.Index)
			}
			if !strings.Contains(msg, tt.rule) {
				t.Errorf("message %q does not name the rule %q", msg, tt.rule)
			}
		})
	}
}

func TestKernelLength(t *testing.T) {
	tests := []struct {
		name string
		p    Program
		want int
	}{
		{"ret k", Program{Ret(RetAllow)}, 3 + 2},
		{"ret a", Program{RetA()}, 3 + 1},
		{"loads and alu", Program{LoadAbs(0), LoadLen(), LoadXLen(), LoadImm(1), Store(0), LoadMem(0), ALUK(AluAdd, 1), ALUK(AluDiv, 2), Neg(), TAX(), RetA()}, 3 + 11},
		{"div x", Program{ALUX(AluDiv), RetA()}, 3 + 5 + 1},
		{"jump falls through on false", Program{JumpIf(JmpJEQ, 1, 1, 0), RetA(), RetA()}, 3 + 1 + 2},
		{"jump falls through on true", Program{JumpIf(JmpJGT, 1, 0, 1), RetA(), RetA()}, 3 + 1 + 2},
		{"jset falls through on true", Program{JumpIf(JmpJSET, 1, 0, 1), RetA(), RetA()}, 3 + 2 + 2},
		{"both branches jump", Program{JumpIfX(JmpJGE, 1, 2), RetA(), RetA(), RetA()}, 3 + 2 + 3},
		{"high constant", Program{JumpIf(JmpJEQ, 0x80000000, 1, 0), RetA(), RetA()}, 3 + 2 + 2},
		{"high constant, both branches", Program{JumpIf(JmpJEQ, 0xffffffff, 1, 2), RetA(), RetA(), RetA()}, 3 + 3 + 3},
		{"high constant with x", Program{{Op: ClassJMP | JmpJEQ | SrcX, K: 0xffffffff}, RetA()}, 3 + 1 + 1},
		{"ja", Program{Jump(0), RetA()}, 3 + 1 + 1},
	}
	for _, tt := range tests {
		if got := KernelLength(tt.p); got != tt.want {
			t.Errorf("%s: KernelLength = %d, want %d", tt.name, got, tt.want)
		}
	}
}

// fillerOf returns a valid program of kernel length n (n >= 5).
func fillerOf(n int) Program {
	return concat(repeat(LoadImm(0), n-5), allowAll)
}

func TestValidateStack(t *testing.T) {
	full := fillerOf(4000)
	eight := []Program{full, full, full, full, full, full, full, full} // 8*4000 + 7*4 = 32028
	fits := MaxStackInstructions - 32028 - StackPenaltyPerFilter       // 736 more kernel instructions fit exactly
	tests := []struct {
		name    string
		filters []Program
		total   int // 0 when the stack fits
	}{
		{"one filter", []Program{allowAll}, 0},
		{"exactly at the limit", append(eight[:8:8], fillerOf(fits)), 0},
		{"one over the limit", append(eight[:8:8], fillerOf(fits+1)), MaxStackInstructions + 1},
		{"nine full filters", append(eight[:8:8], full), 9*4000 + 8*4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ValidateStack(tt.filters)
			if tt.total == 0 {
				if err != nil {
					t.Fatalf("ValidateStack: %v", err)
				}
				return
			}
			var se *StackError
			if !errors.As(err, &se) || se.Total != tt.total || se.Filters != len(tt.filters) {
				t.Fatalf("ValidateStack = %v, want a StackError with total %d", err, tt.total)
			}
		})
	}
	err := ValidateStack([]Program{allowAll, {LoadImm(0)}})
	var ve *ValidationError
	if !errors.As(err, &ve) || ve.Rule != RuleLastReturn || !strings.Contains(err.Error(), "filter 1") {
		t.Errorf("ValidateStack with a bad second filter = %v, want filter 1's ValidationError", err)
	}
}

// FuzzValidate checks that Validate never panics and that whatever it
// accepts the interpreter runs to a RET without error.
func FuzzValidate(f *testing.F) {
	f.Add(Program{LoadAbs(0), JumpIf(JmpJEQ, 1, 0, 1), Ret(RetAllow), Ret(0)}.Encode(NativeEndian))
	f.Add(Program{Store(0), LoadMem(0), ALUK(AluDiv, 0), RetA()}.Encode(NativeEndian))
	f.Add([]byte{0x15, 0, 1, 2, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, raw []byte) {
		p, err := Decode(raw, NativeEndian)
		if err != nil {
			return
		}
		if Validate(p) != nil {
			return
		}
		var d SeccompData
		if len(raw) >= 8 {
			d.Nr = int32(NativeEndian.Uint32(raw[4:]))
			d.Args[0] = uint64(NativeEndian.Uint32(raw[:4]))
		}
		r, err := Run(p, &d, NativeEndian)
		if err != nil {
			t.Fatalf("valid program failed to run: %v", err)
		}
		last := p[r.Path[len(r.Path)-1]]
		if !last.IsReturn() && last.Op != ClassALU|AluDiv|SrcX {
			t.Fatalf("run ended at %+v, not a RET or a DIV by X", last)
		}
	})
}

func ExampleValidate() {
	p := Program{
		LoadAbs(OffsetNr),
		JumpIf(JmpJEQ, 59, 0, 2), // the false branch jumps past the end
		Ret(RetErrno | 1),
	}
	fmt.Println(Validate(p))
	// Output: instruction 1 (jeq #0x3b, +0, +2): jump out of range: the false branch (+2) targets 4, but the program ends at 2; jump to an instruction inside the program
}

func ExampleValidateStack() {
	big := concat(repeat(LoadImm(0), 4000), Program{Ret(RetAllow)})
	stack := []Program{big, big, big, big, big, big, big, big, big}
	fmt.Println(ValidateStack(stack[:8]) == nil)
	fmt.Println(ValidateStack(stack))
	// Output:
	// true
	// 9 stacked filters count 36077 kernel instructions, over the limit of 32768 (MAX_INSNS_PER_PATH): the last seccomp(2) fails with ENOMEM; merge or shorten filters
}

func ExampleKernelLength() {
	p := Program{
		LoadAbs(OffsetNr),
		JumpIf(JmpJEQ, 59, 0, 1), // neither branch falls through: JEQ becomes JNE, 1 instruction
		Ret(RetErrno | 1),        // RET K: a move and an exit
		Ret(RetAllow),
	}
	fmt.Println(len(p), KernelLength(p))
	// Output: 4 9
}
