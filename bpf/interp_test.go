package bpf

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"
)

const auditArchX86_64 = 0xc000003e

func TestRunSemantics(t *testing.T) {
	data := &SeccompData{Nr: 59, Arch: auditArchX86_64, InstructionPointer: 0x1122334455667788,
		Args: [6]uint64{0xaaaaaaaabbbbbbbb, 1, 2, 3, 4, 0xffffffff00000005}}
	le, be := binary.LittleEndian, binary.BigEndian
	tests := []struct {
		name     string
		p        Program
		order    binary.ByteOrder
		action   uint32
		executed int
	}{
		{"nr", Program{LoadAbs(OffsetNr), RetA()}, le, 59, 2},
		{"nr big-endian", Program{LoadAbs(OffsetNr), RetA()}, be, 59, 2},
		{"arch", Program{LoadAbs(OffsetArch), RetA()}, le, auditArchX86_64, 2},
		{"ip low LE", Program{LoadAbs(8), RetA()}, le, 0x55667788, 2},
		{"ip high LE", Program{LoadAbs(12), RetA()}, le, 0x11223344, 2},
		{"ip low BE", Program{LoadAbs(12), RetA()}, be, 0x55667788, 2},
		{"ip high BE", Program{LoadAbs(8), RetA()}, be, 0x11223344, 2},
		{"arg0 low LE", Program{LoadAbs(ArgLowOffset(0, false)), RetA()}, le, 0xbbbbbbbb, 2},
		{"arg0 high LE", Program{LoadAbs(ArgHighOffset(0, false)), RetA()}, le, 0xaaaaaaaa, 2},
		{"arg0 low BE", Program{LoadAbs(ArgLowOffset(0, true)), RetA()}, be, 0xbbbbbbbb, 2},
		{"arg5 high BE", Program{LoadAbs(ArgHighOffset(5, true)), RetA()}, be, 0xffffffff, 2},
		{"arg5 low LE", Program{LoadAbs(56), RetA()}, le, 5, 2},
		{"last word", Program{LoadAbs(60), RetA()}, le, 0xffffffff, 2},
		{"len", Program{LoadLen(), RetA()}, le, 64, 2},
		{"ldx len", Program{LoadXLen(), TXA(), RetA()}, le, 64, 3},
		{"registers start at zero", Program{TXA(), RetA()}, le, 0, 2},
		{"imm", Program{LoadImm(7), LoadXImm(9), ALUX(AluAdd), RetA()}, le, 16, 4},
		{"scratch", Program{LoadImm(5), Store(15), LoadImm(0), LoadMem(15), RetA()}, le, 5, 5},
		{"stx ldx", Program{LoadXImm(3), StoreX(0), LoadXMem(0), TXA(), RetA()}, le, 3, 5},
		{"add wraps", Program{LoadImm(0xffffffff), ALUK(AluAdd, 2), RetA()}, le, 1, 3},
		{"sub wraps", Program{ALUK(AluSub, 1), RetA()}, le, 0xffffffff, 2},
		{"mul wraps", Program{LoadImm(0x10000), ALUK(AluMul, 0x10001), RetA()}, le, 0x10000, 3},
		{"div unsigned", Program{LoadImm(0xfffffffe), ALUK(AluDiv, 2), RetA()}, le, 0x7fffffff, 3},
		{"div x", Program{LoadImm(100), LoadXImm(7), ALUX(AluDiv), RetA()}, le, 14, 4},
		{"div by x zero returns 0", Program{LoadImm(100), ALUX(AluDiv), Ret(RetAllow)}, le, RetKillThread, 2},
		{"and or xor", Program{LoadImm(0xf0f0), ALUK(AluAnd, 0xff00), ALUK(AluOr, 1), ALUK(AluXor, 3), RetA()}, le, 0xf002, 5},
		{"and x", Program{LoadImm(6), LoadXImm(3), ALUX(AluAnd), RetA()}, le, 2, 4},
		{"or x", Program{LoadImm(6), LoadXImm(3), ALUX(AluOr), RetA()}, le, 7, 4},
		{"xor x", Program{LoadImm(6), LoadXImm(3), ALUX(AluXor), RetA()}, le, 5, 4},
		{"sub x", Program{LoadImm(6), LoadXImm(3), ALUX(AluSub), RetA()}, le, 3, 4},
		{"mul x", Program{LoadImm(6), LoadXImm(3), ALUX(AluMul), RetA()}, le, 18, 4},
		{"lsh", Program{LoadImm(0x80000001), ALUK(AluLsh, 1), RetA()}, le, 2, 3},
		{"rsh", Program{LoadImm(0x80000000), ALUK(AluRsh, 31), RetA()}, le, 1, 3},
		{"lsh x masks count", Program{LoadImm(1), LoadXImm(33), ALUX(AluLsh), RetA()}, le, 2, 4},
		{"rsh x masks count", Program{LoadImm(8), LoadXImm(32 + 2), ALUX(AluRsh), RetA()}, le, 2, 4},
		{"neg", Program{LoadImm(1), Neg(), RetA()}, le, 0xffffffff, 3},
		{"tax txa", Program{LoadImm(4), TAX(), LoadImm(0), TXA(), RetA()}, le, 4, 5},
		{"ja", Program{Jump(1), Ret(1), Ret(2)}, le, 2, 2},
		{"jeq true", Program{LoadAbs(0), JumpIf(JmpJEQ, 59, 0, 1), Ret(1), Ret(2)}, le, 1, 3},
		{"jeq false", Program{LoadAbs(0), JumpIf(JmpJEQ, 60, 0, 1), Ret(1), Ret(2)}, le, 2, 3},
		{"jgt unsigned", Program{LoadImm(0x80000000), JumpIf(JmpJGT, 1, 0, 1), Ret(1), Ret(2)}, le, 1, 3},
		{"jgt equal", Program{LoadImm(5), JumpIf(JmpJGT, 5, 0, 1), Ret(1), Ret(2)}, le, 2, 3},
		{"jge equal", Program{LoadImm(5), JumpIf(JmpJGE, 5, 0, 1), Ret(1), Ret(2)}, le, 1, 3},
		{"jset", Program{LoadImm(6), JumpIf(JmpJSET, 1, 0, 1), Ret(1), Ret(2)}, le, 2, 3},
		{"jeq x", Program{LoadImm(6), LoadXImm(6), JumpIfX(JmpJEQ, 1, 0), Ret(1), Ret(2)}, le, 2, 4},
		{"jgt x", Program{LoadImm(7), LoadXImm(6), JumpIfX(JmpJGT, 1, 0), Ret(1), Ret(2)}, le, 2, 4},
		{"jge x", Program{LoadImm(5), LoadXImm(6), JumpIfX(JmpJGE, 1, 0), Ret(1), Ret(2)}, le, 1, 4},
		{"jset x", Program{LoadImm(5), LoadXImm(2), JumpIfX(JmpJSET, 1, 0), Ret(1), Ret(2)}, le, 1, 4},
		{"ret keeps data", Program{Ret(RetErrno | 1)}, le, RetErrno | 1, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := Validate(tt.p); err != nil {
				t.Fatalf("test program is invalid: %v", err)
			}
			r, err := Run(tt.p, data, tt.order)
			if err != nil {
				t.Fatal(err)
			}
			if r.Action != tt.action || r.Executed != tt.executed || len(r.Path) != r.Executed {
				t.Fatalf("Run = action 0x%x executed %d path %v, want 0x%x executed %d",
					r.Action, r.Executed, r.Path, tt.action, tt.executed)
			}
			a, n, err := Evaluate(tt.p, data, tt.order)
			if err != nil || a != r.Action || n != r.Executed {
				t.Fatalf("Evaluate = 0x%x, %d, %v; Run said 0x%x, %d", a, n, err, r.Action, r.Executed)
			}
		})
	}
}

func TestRunPath(t *testing.T) {
	p := Program{
		LoadAbs(OffsetArch),                   // 0
		JumpIf(JmpJEQ, auditArchX86_64, 1, 0), // 1
		Ret(RetKillProcess),                   // 2
		LoadAbs(OffsetNr),                     // 3
		JumpIf(JmpJEQ, 59, 0, 1),              // 4
		Ret(RetErrno | 1),                     // 5
		Ret(RetAllow),                         // 6
	}
	r, err := Run(p, &SeccompData{Nr: 1, Arch: auditArchX86_64}, NativeEndian)
	if err != nil {
		t.Fatal(err)
	}
	if want := []int{0, 1, 3, 4, 6}; !reflect.DeepEqual(r.Path, want) || r.Action != RetAllow {
		t.Fatalf("path %v action %s, want %v ALLOW", r.Path, ActionString(r.Action), want)
	}
	if r.DividedByZero(p) {
		t.Error("DividedByZero on a run that ended in RET")
	}
	q := Program{LoadImm(1), ALUX(AluDiv), Ret(RetAllow)}
	r, _ = Run(q, &SeccompData{}, NativeEndian)
	if !r.DividedByZero(q) || r.Action != 0 || !reflect.DeepEqual(r.Path, []int{0, 1}) {
		t.Fatalf("div by X=0: %+v", r)
	}
}

func TestRunErrors(t *testing.T) {
	tests := []struct {
		name  string
		p     Program
		index int
	}{
		{"empty", Program{}, -1},
		{"falls off the end", Program{LoadImm(0)}, 1},
		{"ja out", Program{Jump(5), Ret(0)}, 0},
		{"ja wraps", Program{Jump(0xffffffff), Ret(0)}, 0},
		{"jt out", Program{JumpIf(JmpJEQ, 0, 9, 0), Ret(0)}, 0},
		{"jf out", Program{JumpIf(JmpJEQ, 1, 0, 9), Ret(0)}, 0},
		{"load out", Program{LoadAbs(64), RetA()}, 0},
		{"load unaligned", Program{LoadAbs(1), RetA()}, 0},
		{"load ancillary", Program{LoadAbs(skfAdOff), RetA()}, 0},
		{"mem out", Program{LoadMem(16), RetA()}, 0},
		{"ldx mem out", Program{LoadXMem(16), RetA()}, 0},
		{"st out", Program{Store(16), RetA()}, 0},
		{"stx out", Program{StoreX(16), RetA()}, 0},
		{"div zero", Program{ALUK(AluDiv, 0), RetA()}, 0},
		{"lsh 32", Program{ALUK(AluLsh, 32), RetA()}, 0},
		{"rsh 32", Program{ALUK(AluRsh, 32), RetA()}, 0},
		{"mod", Program{ALUK(AluMod, 3), RetA()}, 0},
		{"unknown", Program{{Op: 0xffff}, RetA()}, 0},
		{"ret x", Program{{Op: ClassRET | RetSrcX}}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Run(tt.p, &SeccompData{}, NativeEndian)
			var re *RunError
			if !errors.As(err, &re) || re.Index != tt.index {
				t.Fatalf("Run = %v, want a RunError at %d", err, tt.index)
			}
			if Validate(tt.p) == nil {
				t.Errorf("Validate accepts a program Run cannot run")
			}
		})
	}
	if _, err := Run(allowAll, nil, nil); err != nil {
		t.Errorf("nil data and order: %v", err)
	}
}

func TestRunStack(t *testing.T) {
	data := &SeccompData{Nr: 3}
	errno := func(n uint32) Program { return Program{Ret(RetErrno | n)} }
	tests := []struct {
		name    string
		filters []Program
		action  uint32
		filter  int
	}{
		{"all allow", []Program{allowAll, allowAll}, RetAllow, -1},
		{"allow data is dropped", []Program{{Ret(RetAllow | 7)}}, RetAllow, -1},
		{"errno beats allow", []Program{allowAll, errno(1)}, RetErrno | 1, 1},
		{"newest of equals wins", []Program{errno(1), errno(2)}, RetErrno | 2, 1},
		{"strictest wins", []Program{{Ret(RetTrap)}, errno(2), {Ret(RetLog)}}, RetTrap, 0},
		{"kill process beats all", []Program{{Ret(RetKillThread)}, {Ret(RetKillProcess)}}, RetKillProcess, 1},
		{"log beats allow", []Program{{Ret(RetLog)}, allowAll}, RetLog, 0},
		{"unknown action is strict", []Program{{Ret(0x00010000)}, {Ret(RetTrap)}}, 0x00010000, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sr, err := RunStack(tt.filters, data, NativeEndian)
			if err != nil {
				t.Fatal(err)
			}
			if sr.Action != tt.action || sr.Filter != tt.filter || len(sr.Results) != len(tt.filters) {
				t.Fatalf("RunStack = %s from filter %d, want %s from %d",
					ActionString(sr.Action), sr.Filter, ActionString(tt.action), tt.filter)
			}
		})
	}
	if _, err := RunStack(nil, data, NativeEndian); err == nil {
		t.Error("RunStack with no filters succeeded")
	}
	if _, err := RunStack([]Program{allowAll, {LoadImm(0)}}, data, NativeEndian); err == nil {
		t.Error("RunStack with a broken filter succeeded")
	}
}

// TestEvaluateNoAlloc holds Evaluate to its promise of no allocation.
func TestEvaluateNoAlloc(t *testing.T) {
	p := Program{LoadAbs(OffsetNr), JumpIf(JmpJEQ, 1, 0, 1), Ret(RetAllow), Store(0), LoadMem(0), RetA()}
	d := &SeccompData{Nr: 2}
	if n := testing.AllocsPerRun(100, func() { _, _, _ = Evaluate(p, d, NativeEndian) }); n != 0 {
		t.Fatalf("Evaluate allocates %v times per run", n)
	}
}

// randomProgram builds a program from raw random instructions, most of
// them seccomp opcodes with small jumps, so fuzzing and tests reach deep.
func randomProgram(r *rand.Rand, n int) Program {
	ops := []uint16{
		ClassLD | SizeW | ModeABS, ClassLD | SizeW | ModeLEN, ClassLDX | SizeW | ModeLEN,
		ClassLD | ModeIMM, ClassLDX | ModeIMM, ClassLD | ModeMEM, ClassLDX | ModeMEM, ClassST, ClassSTX,
		ClassALU | AluAdd, ClassALU | AluSub | SrcX, ClassALU | AluMul, ClassALU | AluDiv | SrcX,
		ClassALU | AluDiv, ClassALU | AluLsh, ClassALU | AluRsh | SrcX, ClassALU | AluNeg,
		ClassMISC | MiscTAX, ClassMISC | MiscTXA, ClassJMP | JmpJA, ClassJMP | JmpJEQ, ClassJMP | JmpJSET | SrcX,
		ClassJMP | JmpJGT, ClassRET | RetSrcK, ClassRET | RetSrcA, ClassALU | AluMod, 0xffff,
	}
	p := make(Program, n)
	for i := range p {
		p[i] = Instruction{Op: ops[r.IntN(len(ops))], Jt: uint8(r.IntN(4)), Jf: uint8(r.IntN(4)), K: uint32(r.IntN(70))}
	}
	return p
}

func TestRunRandomNeverPanics(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	valid := 0
	for i := 0; i < 20000; i++ {
		p := randomProgram(r, 1+r.IntN(12))
		d := &SeccompData{Nr: int32(r.Uint32()), Args: [6]uint64{r.Uint64(), r.Uint64()}}
		res, err := Run(p, d, NativeEndian)
		a, n, err2 := Evaluate(p, d, NativeEndian)
		if (err == nil) != (err2 == nil) || a != res.Action || n != res.Executed {
			t.Fatalf("Run and Evaluate disagree on %v", p)
		}
		if Validate(p) == nil {
			valid++
			if err != nil {
				t.Fatalf("valid program %v: %v", p, err)
			}
		}
	}
	if valid == 0 {
		t.Fatal("no random program was valid; the generator is too weak")
	}
	t.Logf("%d of 20000 random programs valid", valid)
}

// FuzzRun runs decoded random programs: the interpreter never panics, and
// for programs Validate accepts it ends at a RET (or a DIV by X = 0).
func FuzzRun(f *testing.F) {
	f.Add(Program{LoadAbs(0), JumpIf(JmpJEQ, 1, 0, 1), Ret(RetAllow), RetA()}.Encode(NativeEndian), int32(1), uint64(0))
	f.Add(Program{LoadAbs(16), TAX(), LoadImm(9), ALUX(AluDiv), RetA()}.Encode(NativeEndian), int32(0), uint64(0))
	f.Fuzz(func(t *testing.T, raw []byte, nr int32, arg uint64) {
		p, err := Decode(raw, NativeEndian)
		if err != nil {
			return
		}
		d := &SeccompData{Nr: nr, Args: [6]uint64{arg, ^arg}}
		for _, order := range []binary.ByteOrder{binary.LittleEndian, binary.BigEndian} {
			r, err := Run(p, d, order)
			if Validate(p) != nil {
				continue
			}
			if err != nil {
				t.Fatalf("valid program: %v", err)
			}
			if r.Executed > len(p) {
				t.Fatalf("executed %d instructions of %d: jumps only go forward", r.Executed, len(p))
			}
			last := p[r.Path[len(r.Path)-1]]
			if !last.IsReturn() && !r.DividedByZero(p) {
				t.Fatalf("run ended at %+v", last)
			}
		}
	})
}

func ExampleRun() {
	p := Program{
		LoadAbs(OffsetNr),
		JumpIf(JmpJEQ, 59, 0, 1), // execve
		Ret(RetErrno | 1),        // EPERM
		Ret(RetAllow),
	}
	r, err := Run(p, &SeccompData{Nr: 59, Arch: auditArchX86_64}, binary.LittleEndian)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(ActionString(r.Action), r.Executed, r.Path)
	// Output: ERRNO(1) 3 [0 1 2]
}

func ExampleRunStack() {
	older := Program{Ret(RetErrno | 13)}
	newer := Program{Ret(RetLog)}
	sr, _ := RunStack([]Program{older, newer}, &SeccompData{}, NativeEndian)
	fmt.Println(ActionString(sr.Action), "from filter", sr.Filter)
	// Output: ERRNO(13) from filter 0
}

func TestTrace(t *testing.T) {
	p := Program{
		LoadAbs(OffsetNr),       // A = 2
		TAX(),                   // X = 2
		ALUK(AluMul, 10),        // A = 20
		JumpIf(JmpJGT, 5, 1, 0), // taken
		Ret(RetErrno | 1),       // skipped
		ALUX(AluAdd),            // A = 22
		RetA(),
	}
	steps, r, err := Trace(p, &SeccompData{Nr: 2}, NativeEndian)
	if err != nil {
		t.Fatal(err)
	}
	want := []Step{{0, 2, 0}, {1, 2, 2}, {2, 20, 2}, {3, 20, 2}, {5, 22, 2}, {6, 22, 2}}
	if !reflect.DeepEqual(steps, want) || r.Action != 22 {
		t.Fatalf("Trace = %v, action %d; want %v, 22", steps, r.Action, want)
	}
	steps, _, err = Trace(Program{LoadImm(7), ALUK(AluDiv, 0), RetA()}, &SeccompData{}, NativeEndian)
	if err == nil || len(steps) != 2 || steps[1].A != 7 {
		t.Fatalf("Trace of a failing run = %v, %v", steps, err)
	}
}

func ExampleEvaluate() {
	p := Program{LoadAbs(ArgLowOffset(0, false)), JumpIf(JmpJGT, 2, 0, 1), Ret(RetErrno | 9), Ret(RetAllow)}
	for _, fd := range []uint64{1, 5} {
		action, executed, _ := Evaluate(p, &SeccompData{Args: [6]uint64{fd}}, binary.LittleEndian)
		fmt.Println(fd, ActionString(action), executed)
	}
	// Output:
	// 1 ALLOW 3
	// 5 ERRNO(9) 3
}

func ExampleTrace() {
	p := Program{LoadAbs(OffsetNr), ALUK(AluAnd, 0xf0), RetA()}
	steps, _, _ := Trace(p, &SeccompData{Nr: 0x1234}, NativeEndian)
	for _, s := range steps {
		fmt.Printf("%d A=%#x\n", s.Index, s.A)
	}
	// Output:
	// 0 A=0x1234
	// 1 A=0x30
	// 2 A=0x30
}
