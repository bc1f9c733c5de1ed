package bpf

import (
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
)

// TestDisassembleStatements checks the text of every instruction form,
// without names, at index 0.
func TestDisassembleStatements(t *testing.T) {
	tests := []struct {
		ins  Instruction
		text string
		note string
	}{
		{LoadImm(5), "A = 5", ""},
		{LoadImm(0x7fff0000), "A = 0x7fff0000", ""},
		{LoadAbs(0), "A = sys_number", ""},
		{LoadAbs(4), "A = arch", ""},
		{LoadAbs(8), "A = instruction_pointer", ""},
		{LoadAbs(12), "A = instruction_pointer >> 32", ""},
		{LoadAbs(16), "A = args[0]", ""},
		{LoadAbs(60), "A = args[5] >> 32", ""},
		{LoadAbs(2), "A = data32[2]", ""},
		{LoadAbs(64), "A = data32[64]", ""},
		{Instruction{Op: 0x28, K: 6}, "A = data16[6]", ""},
		{Instruction{Op: 0x30, K: 7}, "A = data8[7]", ""},
		{Instruction{Op: 0x40}, "A = data32[X]", ""},
		{Instruction{Op: 0x50, K: 3}, "A = data8[X + 3]", ""},
		{LoadMem(3), "A = mem[3]", ""},
		{LoadLen(), "A = len", ""},
		{TXA(), "A = X", ""},
		{Neg(), "A = -A", ""},
		{LoadXImm(9), "X = 9", ""},
		{LoadXMem(1), "X = mem[1]", ""},
		{LoadXLen(), "X = len", ""},
		{TAX(), "X = A", ""},
		{Instruction{Op: 0xb1, K: 14}, "X = 4 * (data8[14] & 0xf)", ""},
		{Store(2), "mem[2] = A", ""},
		{StoreX(15), "mem[15] = X", ""},
		{ALUK(AluAdd, 1), "A += 1", ""},
		{ALUX(AluSub), "A -= X", ""},
		{ALUK(AluMul, 3), "A *= 3", ""},
		{ALUK(AluDiv, 2), "A /= 2", ""},
		{ALUK(AluMod, 2), "A %= 2", ""},
		{ALUK(AluAnd, 255), "A &= 0xff", ""},
		{ALUX(AluOr), "A |= X", ""},
		{ALUK(AluXor, 1), "A ^= 0x1", ""},
		{ALUK(AluLsh, 4), "A <<= 4", ""},
		{ALUK(AluRsh, 32), "A >>= 32", ""},
		{Jump(4), "goto 0005", ""},
		{JumpIf(JmpJEQ, 59, 3, 0), "if (A == 59) goto 0004", ""},
		{JumpIf(JmpJEQ, 59, 0, 3), "if (A != 59) goto 0004", ""},
		{JumpIf(JmpJEQ, 59, 0, 0), "if (A == 59) goto 0001", ""},
		{JumpIf(JmpJGT, 1, 1, 2), "if (A > 1) goto 0002 else goto 0003", ""},
		{JumpIf(JmpJGT, 1, 0, 2), "if (A <= 1) goto 0003", ""},
		{JumpIf(JmpJGE, 0x40000000, 0, 9), "if (A < 0x40000000) goto 0010", ""},
		{JumpIf(JmpJSET, 4, 2, 0), "if (A & 0x4) goto 0003", ""},
		{JumpIf(JmpJSET, 4, 0, 2), "if (!(A & 0x4)) goto 0003", ""},
		{JumpIfX(JmpJEQ, 1, 0), "if (A == X) goto 0002", ""},
		{JumpIfX(JmpJSET, 0, 1), "if (!(A & X)) goto 0002", ""},
		{Ret(RetAllow), "return ALLOW", ""},
		{Ret(RetErrno | 1), "return ERRNO(1)", ""},
		{Ret(RetKillProcess), "return KILL_PROCESS", ""},
		{Ret(0x12345678), "return 0x12345678", ""},
		{RetA(), "return A", ""},
		// No statement encodes these bytes exactly.
		{Instruction{Op: 0x0e}, ".insn 0x0e 0x00 0x00 0x00000000", "opcode 0x0e is not a classic BPF instruction"},
		{Instruction{Op: 0x106}, ".insn 0x106 0x00 0x00 0x00000000", "opcode 0x106 is not a classic BPF instruction"},
		{Instruction{Op: 0x06, Jt: 1, K: RetAllow}, ".insn 0x06 0x01 0x00 0x7fff0000", "return ALLOW, with unused jt=1"},
		{Instruction{Op: 0x07, K: 5}, ".insn 0x07 0x00 0x00 0x00000005", "X = A, with unused k=0x5"},
		{Instruction{Op: 0x1d, Jt: 1, K: 5}, ".insn 0x1d 0x01 0x00 0x00000005", "if (A == X) goto 0002, with unused k=0x5"},
		{Instruction{Op: 0x05, Jf: 2, K: 1}, ".insn 0x05 0x00 0x02 0x00000001", "goto 0002, with unused jt=0 jf=2"},
		{Instruction{Op: 0x8c}, ".insn 0x8c 0x00 0x00 0x00000000", "opcode 0x8c is not a classic BPF instruction"},
		{Instruction{Op: 0x02, Jf: 1}, ".insn 0x02 0x00 0x01 0x00000000", "mem[0] = A, with unused jf=1"},
	}
	for _, tt := range tests {
		l := Listing(Program{tt.ins}, DisasmOptions{})[0]
		if l.Text != tt.text || l.Note != tt.note {
			t.Errorf("%+v: got %q # %q, want %q # %q", tt.ins, l.Text, l.Note, tt.text, tt.note)
		}
		p, err := Assemble(l.Text, nil)
		if err != nil || len(p) != 1 || p[0] != tt.ins {
			t.Errorf("%q assembles to %v, %v; want %+v", l.Text, p, err, tt.ins)
		}
	}
}

// x86Filter is a typical x86_64 allow-list with the arch check first.
var x86Filter = Program{
	LoadAbs(OffsetArch),                 // 0
	JumpIf(JmpJEQ, asmArchX86_64, 0, 6), // 1
	LoadAbs(OffsetNr),                   // 2
	JumpIf(JmpJGE, 0x40000000, 4, 0),    // 3
	JumpIf(JmpJEQ, 0, 2, 0),             // 4 read
	JumpIf(JmpJEQ, 59, 2, 0),            // 5 execve
	Ret(RetErrno | 1),                   // 6
	Ret(RetAllow),                       // 7
	Ret(RetKillProcess),                 // 8
}

func TestDisassembleListing(t *testing.T) {
	got := Disassemble(x86Filter, DisasmOptions{Namer: fakeNamer{}, Raw: true})
	want := strings.Join([]string{
		"# line  CODE  JT   JF      K",
		"# =================================",
		" 0000: 0x20 0x00 0x00 0x00000004  A = arch",
		" 0001: 0x15 0x00 0x06 0xc000003e  if (A != ARCH_X86_64) goto 0008",
		" 0002: 0x20 0x00 0x00 0x00000000  A = sys_number",
		" 0003: 0x35 0x04 0x00 0x40000000  if (A >= 0x40000000) goto 0008",
		" 0004: 0x15 0x02 0x00 0x00000000  if (A == read) goto 0007",
		" 0005: 0x15 0x02 0x00 0x0000003b  if (A == execve) goto 0008",
		" 0006: 0x06 0x00 0x00 0x00050001  return ERRNO(1)",
		" 0007: 0x06 0x00 0x00 0x7fff0000  return ALLOW",
		" 0008: 0x06 0x00 0x00 0x80000000  return KILL_PROCESS",
		"",
	}, "\n")
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	plain := Disassemble(x86Filter, DisasmOptions{})
	if !strings.Contains(plain, " 0001: if (A != 0xc000003e) goto 0008\n") || !strings.Contains(plain, " 0004: if (A == 0) goto 0007\n") {
		t.Errorf("without a namer, numbers:\n%s", plain)
	}
}

// TestDisassembleNamesByPath checks that syscall names follow the arch
// known on each path, and fall back to numbers where paths disagree.
func TestDisassembleNamesByPath(t *testing.T) {
	p := Program{
		LoadAbs(OffsetArch),                 // 0
		JumpIf(JmpJEQ, asmArchX86_64, 0, 3), // 1
		LoadAbs(OffsetNr),                   // 2: x86_64
		JumpIf(JmpJEQ, 59, 7, 0),            // 3: execve on x86_64
		Jump(3),                             // 4 -> 8
		JumpIf(JmpJEQ, asmArchI386, 0, 5),   // 5: not x86_64
		LoadAbs(OffsetNr),                   // 6: i386
		JumpIf(JmpJEQ, 11, 3, 0),            // 7: execve on i386
		LoadAbs(OffsetNr),                   // 8: x86_64 or i386
		JumpIf(JmpJEQ, 3, 1, 0),             // 9: close on x86_64, read on i386
		Ret(RetAllow),                       // 10
		Ret(RetKillProcess),                 // 11
	}
	tests := []struct {
		opts DisasmOptions
		line int
		want string
	}{
		{DisasmOptions{Namer: fakeNamer{}}, 3, "if (A == execve) goto 0011"},
		{DisasmOptions{Namer: fakeNamer{}}, 5, "if (A != ARCH_I386) goto 0011"},
		{DisasmOptions{Namer: fakeNamer{}}, 7, "if (A == execve) goto 0011"},
		{DisasmOptions{Namer: fakeNamer{}}, 9, "if (A == 3) goto 0011"},
		// An assumed arch does not survive a check that rules it out.
		{DisasmOptions{Namer: fakeNamer{}, Arch: asmArchX86_64}, 9, "if (A == 3) goto 0011"},
	}
	for _, tt := range tests {
		if got := Listing(p, tt.opts)[tt.line].Text; got != tt.want {
			t.Errorf("line %d with %+v: %q, want %q", tt.line, tt.opts, got, tt.want)
		}
	}

	unchecked := Program{LoadAbs(OffsetNr), JumpIf(JmpJEQ, 3, 1, 0), LoadAbs(ArgLowOffset(1, true)), Ret(RetAllow)}
	for _, tt := range []struct {
		arch       uint32
		cmp, arg   string
		archHeader string
	}{
		{0, "if (A == 3) goto 0003", "A = args[1] >> 32", ""},
		{asmArchX86_64, "if (A == close) goto 0003", "A = args[1] >> 32", ".arch ARCH_X86_64"},
		{asmArchS390X, "if (A == read) goto 0003", "A = args[1]", ".arch ARCH_S390X"},
		{0x12345678, "if (A == 3) goto 0003", "A = args[1]", ".arch 0x12345678"}, // unknown, big-endian
	} {
		opts := DisasmOptions{Namer: fakeNamer{}, Arch: tt.arch}
		l := Listing(unchecked, opts)
		if l[1].Text != tt.cmp || l[2].Text != tt.arg {
			t.Errorf("arch 0x%x: %q, %q; want %q, %q", tt.arch, l[1].Text, l[2].Text, tt.cmp, tt.arg)
		}
		text := Disassemble(unchecked, opts)
		if first := strings.SplitN(text, "  #", 2)[0]; tt.archHeader != "" && first != tt.archHeader {
			t.Errorf("arch 0x%x: listing starts %q, want %q", tt.arch, first, tt.archHeader)
		}
		back, err := AssembleWith(text, AsmOptions{Namer: fakeNamer{}})
		if err != nil || !reflect.DeepEqual(back, unchecked) {
			t.Errorf("arch 0x%x: round trip gave %v, %v", tt.arch, back, err)
		}
	}
}

// asmRoundTrip disassembles p with opts and checks it assembles back.
func asmRoundTrip(t testing.TB, p Program, opts DisasmOptions) {
	t.Helper()
	text := Disassemble(p, opts)
	back, err := AssembleWith(text, AsmOptions{Namer: opts.Namer})
	if err != nil {
		t.Fatalf("listing does not assemble: %v\n%s", err, text)
	}
	if !reflect.DeepEqual(back, p) {
		for i := range p {
			if i >= len(back) || back[i] != p[i] {
				t.Fatalf("round trip differs first at %d: %+v, want %+v\n%s", i, back, p, text)
			}
		}
		t.Fatalf("round trip has %d instructions, want %d", len(back), len(p))
	}
}

// disasmOptionSets are the option combinations round trips are tried with.
var disasmOptionSets = []DisasmOptions{
	{},
	{Raw: true},
	{Namer: fakeNamer{}},
	{Namer: fakeNamer{}, Raw: true, Arch: asmArchX86_64},
	{Namer: fakeNamer{}, Arch: asmArchS390X},
	{Namer: fakeNamer{}, Arch: asmArchI386, Raw: true},
	{Arch: 0x12345678},
}

// randomSeccompProgram makes programs that look like filters: arch loads
// and checks, syscall comparisons with numbers the fake tables name,
// scratch memory, and a sprinkling of any other instruction.
func randomSeccompProgram(r *rand.Rand) Program {
	n := 1 + r.IntN(40)
	p := make(Program, n)
	archs := []uint32{asmArchX86_64, asmArchI386, asmArchS390X, 0x1234}
	for i := range p {
		off := func() uint8 {
			if r.IntN(8) == 0 {
				return uint8(r.IntN(256)) // often past the end
			}
			return uint8(r.IntN(max(1, n-i)))
		}
		switch r.IntN(12) {
		case 0:
			p[i] = LoadAbs(OffsetArch)
		case 1:
			p[i] = LoadAbs(OffsetNr)
		case 2:
			p[i] = JumpIf(JmpJEQ, archs[r.IntN(len(archs))], off(), off())
		case 3, 4:
			p[i] = JumpIf([]uint16{JmpJEQ, JmpJGT, JmpJGE, JmpJSET}[r.IntN(4)], uint32(r.IntN(64)), off(), off())
		case 5:
			p[i] = []Instruction{Store(uint32(r.IntN(17))), LoadMem(uint32(r.IntN(17))), TAX(), TXA(), StoreX(1), LoadXMem(1)}[r.IntN(6)]
		case 6:
			p[i] = LoadAbs(uint32(r.IntN(70)))
		case 7:
			p[i] = Ret([]uint32{RetAllow, RetKillProcess, RetErrno | uint32(r.IntN(4096)), r.Uint32()}[r.IntN(4)])
		case 8:
			p[i] = Jump(uint32(r.IntN(n - i)))
		case 9:
			p[i] = JumpIfX(JmpJEQ, off(), off())
		case 10:
			p[i] = ALUK([]uint16{AluAdd, AluAnd, AluRsh, AluMod, AluXor}[r.IntN(5)], r.Uint32())
		default:
			p[i] = Instruction{Op: uint16(r.IntN(0x200)), Jt: uint8(r.IntN(256)), Jf: uint8(r.IntN(3)), K: r.Uint32() >> uint(r.IntN(32))}
		}
	}
	return p
}

// randomFilterShape makes programs shaped like compiled filters: blocks
// that check an arch and then compare syscall numbers, jumping either to
// the next instruction or to a return, so that arch knowledge survives
// along many paths and names get printed.
func randomFilterShape(r *rand.Rand) Program {
	archs := []uint32{asmArchX86_64, asmArchI386, asmArchS390X}
	nrs := []uint32{0, 1, 2, 3, 4, 5, 11, 59, 1000}
	var p Program
	for range 1 + r.IntN(4) {
		p = append(p, LoadAbs(OffsetArch), JumpIf(JmpJEQ, archs[r.IntN(len(archs))], 0, 0))
		if r.IntN(3) == 0 {
			p = append(p, Store(0), LoadAbs(OffsetNr), TAX(), LoadMem(0), TXA())
		} else {
			p = append(p, LoadAbs(OffsetNr))
		}
		for range r.IntN(8) {
			p = append(p, JumpIf([]uint16{JmpJEQ, JmpJEQ, JmpJEQ, JmpJGE, JmpJSET}[r.IntN(5)], nrs[r.IntN(len(nrs))], 0, 0))
		}
		p = append(p, Ret(RetAllow), Ret(RetErrno|1))
	}
	p = append(p, Ret(RetKillProcess))
	for i, ins := range p {
		if !ins.IsConditionalJump() {
			continue
		}
		var rets []int
		for j := i + 1; j < len(p) && j-i-1 <= MaxConditionalJumpRange; j++ {
			if p[j].IsReturn() || p[j] == LoadAbs(OffsetArch) {
				rets = append(rets, j)
			}
		}
		for _, f := range []*uint8{&p[i].Jt, &p[i].Jf} {
			if r.IntN(2) == 0 {
				*f = uint8(rets[r.IntN(len(rets))] - i - 1)
			}
		}
	}
	return p
}

// TestDisassembleRoundTrip: Assemble(Disassemble(p)) == p for random
// filter-like programs and random bytes, with every option set.
func TestDisassembleRoundTrip(t *testing.T) {
	runs := 500
	if testing.Short() {
		runs = 50
	}
	for seed := range runs {
		r := rand.New(rand.NewPCG(uint64(seed), 2))
		progs := []Program{randomSeccompProgram(r), randomFilterShape(r)}
		raw := make([]byte, 8*(1+r.IntN(20)))
		for i := range raw {
			raw[i] = byte(r.Uint32())
		}
		if p, err := Decode(raw, NativeEndian); err == nil {
			progs = append(progs, p)
		}
		for _, p := range progs {
			for _, opts := range disasmOptionSets {
				asmRoundTrip(t, p, opts)
			}
		}
	}
	asmRoundTrip(t, x86Filter, DisasmOptions{Namer: fakeNamer{}, Raw: true})
}
