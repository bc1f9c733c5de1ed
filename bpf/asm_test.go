package bpf

import (
	"errors"
	"reflect"
	"sort"
	"strings"
	"testing"
)

// AUDIT_ARCH values the fake namer knows (include/uapi/linux/audit.h).
const (
	asmArchX86_64 = 0xc000003e
	asmArchI386   = 0x40000003
	asmArchS390X  = 0x80000016 // big-endian
)

// fakeNamer is a small Namer with three arches whose tables disagree, so
// tests can tell which arch a name was resolved under. It implements
// NameLister.
type fakeNamer struct{}

var fakeArches = map[string]uint32{"ARCH_X86_64": asmArchX86_64, "ARCH_I386": asmArchI386, "ARCH_S390X": asmArchS390X}

var fakeSyscalls = map[uint32]map[string]uint32{
	asmArchX86_64: {"read": 0, "write": 1, "open": 2, "close": 3, "execve": 59},
	asmArchI386:   {"exit": 1, "read": 3, "write": 4, "open": 5, "execve": 11},
	asmArchS390X:  {"exit": 1, "read": 3, "write": 4, "execve": 11},
}

func (fakeNamer) AuditArchName(v uint32) (string, bool) {
	for n, a := range fakeArches {
		if a == v {
			return n, true
		}
	}
	return "", false
}

func (fakeNamer) AuditArchValue(name string) (uint32, bool) {
	v, ok := fakeArches[name]
	return v, ok
}

func (fakeNamer) SyscallName(arch, nr uint32) (string, bool) {
	for n, v := range fakeSyscalls[arch] {
		if v == nr {
			return n, true
		}
	}
	return "", false
}

func (fakeNamer) SyscallNumber(arch uint32, name string) (uint32, bool) {
	v, ok := fakeSyscalls[arch][name]
	return v, ok
}

func (fakeNamer) AuditArchNames() []string {
	var out []string
	for n := range fakeArches {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

func (fakeNamer) SyscallNames(arch uint32) []string {
	var out []string
	for n := range fakeSyscalls[arch] {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// TestAssembleStatements checks the encoding of every statement form
// against the instruction constructors.
func TestAssembleStatements(t *testing.T) {
	tests := []struct {
		src  string
		want Instruction
	}{
		{"A = 5", LoadImm(5)},
		{"A = 0x7fff0000", LoadImm(0x7fff0000)},
		{"A = -1", LoadImm(0xffffffff)},
		{"A = 0010", LoadImm(10)}, // leading zeros are decimal
		{"A = X", TXA()},
		{"A = -A", Neg()},
		{"A = len", LoadLen()},
		{"A = sys_number", LoadAbs(0)},
		{"A = nr", LoadAbs(0)},
		{"A = arch", LoadAbs(4)},
		{"A = instruction_pointer", LoadAbs(8)},
		{"A = instruction_pointer >> 32", LoadAbs(12)},
		{"A = args[0]", LoadAbs(16)},
		{"A = args[1] >> 32", LoadAbs(28)},
		{"A = args[5]", LoadAbs(56)},
		{"A = mem[3]", LoadMem(3)},
		{"A = data32[6]", LoadAbs(6)},
		{"A = data16[2]", Instruction{Op: 0x28, K: 2}},
		{"A = data8[1]", Instruction{Op: 0x30, K: 1}},
		{"A = data32[X + 4]", Instruction{Op: 0x40, K: 4}},
		{"A = data16[X]", Instruction{Op: 0x48}},
		{"A = data8[X + 0x10]", Instruction{Op: 0x50, K: 16}},
		{"X = 7", LoadXImm(7)},
		{"X = -2", LoadXImm(0xfffffffe)},
		{"X = A", TAX()},
		{"X = len", LoadXLen()},
		{"X = mem[15]", LoadXMem(15)},
		{"X = 4 * (data8[14] & 0xf)", Instruction{Op: 0xb1, K: 14}},
		{"mem[2] = A", Store(2)},
		{"mem[0] = X", StoreX(0)},
		{"A += 1", ALUK(AluAdd, 1)},
		{"A -= X", ALUX(AluSub)},
		{"A *= 3", ALUK(AluMul, 3)},
		{"A /= X", ALUX(AluDiv)},
		{"A %= 7", ALUK(AluMod, 7)},
		{"A &= 0xff", ALUK(AluAnd, 0xff)},
		{"A |= X", ALUX(AluOr)},
		{"A ^= 1", ALUK(AluXor, 1)},
		{"A <<= 2", ALUK(AluLsh, 2)},
		{"A >>= 32", ALUK(AluRsh, 32)},
		{"return ALLOW", Ret(RetAllow)},
		{"return ERRNO(1)", Ret(RetErrno | 1)},
		{"return errno(0x26)", Ret(RetErrno | 38)},
		{"return KILL", Ret(RetKillThread)},
		{"return KILL_PROCESS", Ret(RetKillProcess)},
		{"return TRAP(5)", Ret(RetTrap | 5)},
		{"return USER_NOTIF", Ret(RetUserNotif)},
		{"return 0x12345678", Ret(0x12345678)},
		{"return A", RetA()},
		{".insn 0x0e 1 2 3", Instruction{Op: 0x0e, Jt: 1, Jf: 2, K: 3}},
		{".insn 0x1ff, 0, 0, 0xffffffff", Instruction{Op: 0x1ff, K: 0xffffffff}},
		{"0x06 0x00 0x00 0x7fff0000", Ret(RetAllow)},
		{" 0000: 0x06 0x00 0x00 0x7fff0000  return ALLOW", Ret(RetAllow)},
		{"A = 1 # comment", LoadImm(1)},
		{"A = 1 // comment", LoadImm(1)},
		{"start: A=1", LoadImm(1)},
	}
	for _, tt := range tests {
		p, err := Assemble(tt.src, nil)
		if err != nil {
			t.Errorf("%q: %v", tt.src, err)
			continue
		}
		if len(p) != 1 || p[0] != tt.want {
			t.Errorf("%q = %v, want %v", tt.src, p, tt.want)
		}
	}
}

// TestAssembleJumps checks how conditions and targets map to jt and jf.
func TestAssembleJumps(t *testing.T) {
	// Instruction 0 is the jump; 1..3 are returns to land on.
	tail := "\nreturn 1\nL2: return 2\nL3: return 3\n"
	tests := []struct {
		cond string
		want Instruction
	}{
		{"if (A == 5) goto L2", JumpIf(JmpJEQ, 5, 1, 0)},
		{"if (A != 5) goto L2", JumpIf(JmpJEQ, 5, 0, 1)},
		{"if (A > 5) goto 0003", JumpIf(JmpJGT, 5, 2, 0)},
		{"if (A <= 5) goto 0003", JumpIf(JmpJGT, 5, 0, 2)},
		{"if (A >= 5) goto L2 else L3", JumpIf(JmpJGE, 5, 1, 2)},
		{"if (A < 5) goto L2 else goto L3", JumpIf(JmpJGE, 5, 2, 1)},
		{"if (A & 0x4) goto L3", JumpIf(JmpJSET, 4, 2, 0)},
		{"if (!(A & 0x4)) goto L3", JumpIf(JmpJSET, 4, 0, 2)},
		{"if (!(A & X)) goto L2 else L3", JumpIfX(JmpJSET, 2, 1)},
		{"if (A == X) goto 0001", JumpIfX(JmpJEQ, 0, 0)},
		{"if (A == -1) goto L2", JumpIf(JmpJEQ, 0xffffffff, 1, 0)},
		{"goto L3", Jump(2)},
		{"goto 0001", Jump(0)},
	}
	for _, tt := range tests {
		p, err := Assemble(tt.cond+tail, nil)
		if err != nil {
			t.Errorf("%q: %v", tt.cond, err)
			continue
		}
		if p[0] != tt.want {
			t.Errorf("%q = %+v, want %+v", tt.cond, p[0], tt.want)
		}
	}
}

// TestAssembleNames checks that names resolve under the arch known on the
// path to each comparison.
func TestAssembleNames(t *testing.T) {
	tests := []struct {
		name string
		src  string
		opts AsmOptions
		want Program
	}{
		{
			name: "arch checked, syscall of that arch",
			src: `A = arch
				if (A != ARCH_I386) goto kill
				A = sys_number
				if (A == read) goto kill
				return ALLOW
				kill: return KILL_PROCESS`,
			want: Program{LoadAbs(4), JumpIf(JmpJEQ, asmArchI386, 0, 3), LoadAbs(0), JumpIf(JmpJEQ, 3, 1, 0), Ret(RetAllow), Ret(RetKillProcess)},
		},
		{
			name: "two arches, each path its own table",
			src: `A = arch
				if (A == ARCH_X86_64) goto x86
				if (A == ARCH_I386) goto i386 else kill
				x86: A = sys_number
				if (A == execve) goto kill else allow
				i386: A = sys_number
				if (A == execve) goto kill
				allow: return ALLOW
				kill: return KILL_PROCESS`,
			want: Program{LoadAbs(4), JumpIf(JmpJEQ, asmArchX86_64, 1, 0), JumpIf(JmpJEQ, asmArchI386, 2, 5),
				LoadAbs(0), JumpIf(JmpJEQ, 59, 3, 2), LoadAbs(0), JumpIf(JmpJEQ, 11, 1, 0), Ret(RetAllow), Ret(RetKillProcess)},
		},
		{
			name: "arch through scratch memory",
			src: `A = arch
				mem[1] = A
				A = sys_number
				X = A
				A = mem[1]
				if (A != ARCH_S390X) goto kill
				A = X
				if (A == exit) goto kill
				return ALLOW
				kill: return KILL_PROCESS`,
			want: Program{LoadAbs(4), Store(1), LoadAbs(0), TAX(), LoadMem(1), JumpIf(JmpJEQ, asmArchS390X, 0, 3), TXA(), JumpIf(JmpJEQ, 1, 1, 0), Ret(RetAllow), Ret(RetKillProcess)},
		},
		{
			name: ".arch assumes an arch and sets the byte order",
			src: `.arch ARCH_S390X
				A = sys_number
				if (A == write) goto 0004
				A = args[0]
				A = args[0] >> 32
				return ALLOW`,
			want: Program{LoadAbs(0), JumpIf(JmpJEQ, 4, 2, 0), LoadAbs(20), LoadAbs(16), Ret(RetAllow)},
		},
		{
			name: "AsmOptions.Arch assumes an arch",
			src: `A = sys_number
				if (A == write) goto 0003
				A = instruction_pointer
				return ALLOW`,
			opts: AsmOptions{Arch: asmArchX86_64},
			want: Program{LoadAbs(0), JumpIf(JmpJEQ, 1, 1, 0), LoadAbs(8), Ret(RetAllow)},
		},
		{
			name: ".arch overrides AsmOptions.Arch",
			src: `.arch 0x40000003
				A = sys_number
				if (A == write) goto 0002
				return ALLOW`,
			opts: AsmOptions{Arch: asmArchX86_64},
			want: Program{LoadAbs(0), JumpIf(JmpJEQ, 4, 0, 0), Ret(RetAllow)},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.opts.Namer = fakeNamer{}
			p, err := AssembleWith(tt.src, tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(p, tt.want) {
				t.Errorf("got  %v\nwant %v", p, tt.want)
			}
		})
	}
}

func TestAssembleErrors(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want []string // substrings, positions included
		errs int      // how many errors
	}{
		{"unknown statement", "B = 1", []string{"1:1: expected a statement"}, 1},
		{"typo in a keyword", "  retrun ALLOW", []string{`1:3: expected a statement`, `did you mean "return"`}, 1},
		{"bad value", "A = sysnumber", []string{`1:5: expected a value for A`, `"sys_number"`}, 1},
		{"bad character", "A = 1 $", []string{`1:7: unexpected character '$'`}, 1},
		{"non-ASCII character", "A = 1 → 2", []string{`1:7: unexpected character '→'`}, 1},
		{"malformed number", "A = 0x", []string{`1:5: malformed number "0x"`}, 1},
		{"too big", "A = 0x100000000", []string{`1:5: 0x100000000 does not fit in 32 bits`}, 1},
		{"trailing tokens", "A = 1 2", []string{`1:7: unexpected "2" after the statement`}, 1},
		{"bad comparison", "if (A = 1) goto 0001\nreturn 0", []string{`1:7: expected a comparison`}, 1},
		{"missing goto", "if (A == 1) 0001\nreturn 0", []string{`1:13: expected goto after the condition`}, 1},
		{"args range", "A = args[6]", []string{`1:5: args[6]`, "0 to 5"}, 1},
		{"bad shift", "A = args[1] >> 16", []string{`1:16: only ">> 32"`}, 1},
		{"bad action", "return ALOW", []string{`1:8: unknown action "ALOW"`, `"ALLOW"`}, 1},
		{"action data too big", "return ERRNO(70000)", []string{`1:8: `, "0 to 65535"}, 1},
		{"undefined label", "if (A == 1) goto alow\nallow: return 0", []string{`1:18: undefined label "alow"`, `did you mean "allow"`}, 1},
		{"duplicate label", "x: A = 1\nx: return 0", []string{`2:1: label "x" already defined at line 1`}, 1},
		{"backward label", "top: A = 1\ngoto top", []string{`2:6: label "top" (line 1) is not after this jump`}, 1},
		{"backward number", "A = 1\ngoto 0001", []string{`2:6: jump from instruction 0001 to 0001 goes backward`}, 1},
		{"label at end", "return 0\nend:", []string{`2:1: label "end" is at the end`}, 1},
		{"line number mismatch", "0000: A = 1\n0002: return 0", []string{`2:1: instruction number 0002 does not match: this is instruction 0001`}, 1},
		{"columns mismatch", " 0000: 0x06 0x00 0x00 0x7fff0000  return ERRNO(1)", []string{`1:8: columns say 0x06 0x00 0x00 0x7fff0000 but the statement assembles to 0x06 0x00 0x00 0x00050001`}, 1},
		{"columns too few", "0000: 0x06 0x00 return 0", []string{`1:17: expected 4 numbers`}, 1},
		{"column overflow", "0x100 0x100 0 0", []string{`1:1: JT 0x100 does not fit`}, 1},
		{"name without namer", "A = sys_number\nif (A == read) goto 0002\nreturn 0", []string{`2:10: "read" is a name, but no arch tables`}, 1},
		{"empty", "# nothing\n", []string{`2:1: empty program`}, 1},
		{"far past the end", "if (A == 1) goto 0300\nreturn 0", []string{`1:1: true branch lands past the end`, "beyond the 255"}, 1},
		{"several errors at once", "A = \nB\nreturn ALLOW\ngoto nowhere",
			[]string{"1:5: expected a value for A", "2:1: expected a statement", `4:6: undefined label "nowhere"`}, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Assemble(tt.src, nil)
			if err == nil {
				t.Fatalf("no error; program %v", p)
			}
			var list AsmErrors
			if !errors.As(err, &list) {
				t.Fatalf("error %T is not AsmErrors", err)
			}
			var one *AsmError
			if !errors.As(err, &one) {
				t.Fatalf("errors.As found no *AsmError in %v", err)
			}
			msgs := strings.Split(err.Error(), "\n")
			if len(msgs) != tt.errs {
				t.Errorf("%d errors, want %d:\n%v", len(msgs), tt.errs, err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

// TestAssembleNameErrors checks the errors for names that cannot be
// resolved where they are used.
func TestAssembleNameErrors(t *testing.T) {
	tests := []struct {
		name, src, want string
	}{
		{"arch unknown on a path", `A = arch
			if (A == ARCH_X86_64) goto nr
			if (A == ARCH_I386) goto nr else kill
			nr: A = sys_number
			if (A == read) goto kill
			return ALLOW
			kill: return KILL_PROCESS`, `5:13: syscall name "read" needs a known arch`},
		{"unknown syscall suggests", `.arch ARCH_X86_64
			A = sys_number
			if (A == exceve) goto 0002
			return 0`, `3:13: unknown syscall "exceve" for ARCH_X86_64; did you mean "execve"?`},
		{"unknown arch suggests", `A = arch
			if (A == ARCH_I368) goto 0002
			return 0`, `2:13: unknown arch "ARCH_I368"; did you mean "ARCH_I386"`},
		{"A holds something else", `A = args[0]
			if (A == read) goto 0002
			return 0`, `2:13: "read": names are read only where A holds arch or sys_number`},
		{"unknown .arch", `.arch ARCH_X68_64
			return 0`, `1:7: unknown arch "ARCH_X68_64" (write an AUDIT_ARCH name such as ARCH_X86_64, or its number); did you mean "ARCH_X86_64"`},
		{".arch late", `return 0
			.arch ARCH_X86_64`, `2:4: .arch must come before the first instruction`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Assemble(tt.src, fakeNamer{})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want %q", err, tt.want)
			}
		})
	}
}

// TestAssembleFarLabel: a text conditional jump to a label beyond 255
// instructions gets a trampoline, like Builder.
func TestAssembleFarLabel(t *testing.T) {
	src := "A = sys_number\nif (A == 1) goto far\n" + strings.Repeat("A += 1\n", 300) + "return KILL\nfar: return ALLOW\n"
	p, err := Assemble(src, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(p) != 305 {
		t.Fatalf("%d instructions, want 304 and a trampoline", len(p))
	}
	if at := land(p, 1, p[1].Jt); p[at] != Ret(RetAllow) {
		t.Errorf("true branch lands on %d: %v", at, p[at])
	}
	if at := 1 + 1 + int(p[1].Jf); p[at] != ALUK(AluAdd, 1) || at != 3 {
		t.Errorf("false branch lands on %d: %v", at, p[at])
	}
}

// TestAssemblePastEnd: targets past the end, which only invalid programs
// have, are kept so that such programs survive a round trip.
func TestAssemblePastEnd(t *testing.T) {
	p, err := Assemble("if (A == 1) goto 0009 else 0002\nreturn 0\ngoto 4294967298", nil)
	if err != nil {
		t.Fatal(err)
	}
	want := Program{JumpIf(JmpJEQ, 1, 8, 1), Ret(0), Jump(0xffffffff)}
	if !reflect.DeepEqual(p, want) {
		t.Errorf("got %v, want %v", p, want)
	}
}
