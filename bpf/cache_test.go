package bpf

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

const auditArchI386 = 0x40000003

// cachedList returns the numbers set in a bitmap.
func cachedList(bits []bool) []int {
	var out []int
	for nr, ok := range bits {
		if ok {
			out = append(out, nr)
		}
	}
	return out
}

func TestCachedAllow(t *testing.T) {
	x86 := CacheTarget{AuditArch: auditArchX86_64, Syscalls: 16}
	i386 := CacheTarget{AuditArch: auditArchI386, Syscalls: 16}
	allowlist := Program{
		LoadAbs(OffsetArch),
		JumpIf(JmpJEQ, auditArchX86_64, 1, 0),
		Ret(RetKillProcess),
		LoadAbs(OffsetNr),
		JumpIf(JmpJEQ, 1, 3, 0),
		JumpIf(JmpJEQ, 2, 2, 0),
		JumpIf(JmpJEQ, 9, 1, 0),
		Ret(RetErrno | 1),
		Ret(RetAllow),
	}
	tests := []struct {
		name   string
		p      Program
		target CacheTarget
		want   []int
	}{
		{"allow all", allowAll, x86, []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}},
		{"allowlist", allowlist, x86, []int{1, 2, 9}},
		{"allowlist, other arch", allowlist, i386, nil},
		{"arg load first", concat(Program{LoadAbs(ArgLowOffset(0, false)), LoadAbs(OffsetNr)}, allowlist[4:]), x86, nil},
		{"ip load first", concat(Program{LoadAbs(OffsetInstructionPointer)}, allowlist), x86, nil},
		{"arg check after nr", Program{
			LoadAbs(OffsetNr),
			JumpIf(JmpJEQ, 3, 0, 3),
			LoadAbs(ArgLowOffset(0, false)), // only nr 3 reaches this
			JumpIf(JmpJEQ, 0, 0, 1),
			Ret(RetAllow),
			Ret(RetAllow),
		}, x86, []int{0, 1, 2, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}},
		{"allow with data is not ALLOW", Program{Ret(RetAllow | 1)}, x86, nil},
		{"log is not cached", Program{Ret(RetLog)}, x86, nil},
		{"ret a is not followed", Program{LoadImm(RetAllow), RetA()}, x86, nil},
		{"ld imm is not followed", Program{LoadImm(0), Ret(RetAllow)}, x86, nil},
		{"and", Program{LoadAbs(OffsetNr), ALUK(AluAnd, 0xe), JumpIf(JmpJEQ, 4, 0, 1), Ret(RetAllow), Ret(0)}, x86, []int{4, 5}},
		{"jge", Program{LoadAbs(OffsetNr), JumpIf(JmpJGE, 14, 0, 1), Ret(RetAllow), Ret(0)}, x86, []int{14, 15}},
		{"jgt", Program{LoadAbs(OffsetNr), JumpIf(JmpJGT, 14, 0, 1), Ret(RetAllow), Ret(0)}, x86, []int{15}},
		{"jset", Program{LoadAbs(OffsetNr), JumpIf(JmpJSET, 8, 0, 1), Ret(RetAllow), Ret(0)}, x86, []int{8, 9, 10, 11, 12, 13, 14, 15}},
		{"jeq x is not followed", Program{LoadAbs(OffsetNr), JumpIfX(JmpJEQ, 0, 0), Ret(RetAllow)}, x86, nil},
		{"ja", Program{LoadAbs(OffsetNr), JumpIf(JmpJEQ, 7, 0, 1), Jump(1), Ret(0), Ret(RetAllow)}, x86, []int{7}},
		{"register starts at zero", Program{JumpIf(JmpJEQ, 0, 0, 1), Ret(RetAllow), Ret(0)}, x86,
			[]int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}},
		{"exempt numbers", Program{Ret(RetKillProcess)}, CacheTarget{AuditArch: auditArchX86_64, Syscalls: 16, Exempt: []int{3, 99}}, []int{3}},
		{"no table", allowAll, CacheTarget{AuditArch: auditArchX86_64}, nil},
		{"unvalidated jump past end", Program{Jump(10), Ret(RetAllow)}, x86, nil},
		{"unvalidated no ret", Program{LoadAbs(OffsetNr)}, x86, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := cachedList(CachedAllow(tt.p, tt.target))
			if !slices.Equal(got, tt.want) {
				t.Fatalf("cached %v, want %v", got, tt.want)
			}
		})
	}
}

func TestCachedAllowStack(t *testing.T) {
	target := CacheTarget{AuditArch: auditArchX86_64, Syscalls: 8}
	below := func(n uint32) Program {
		return Program{LoadAbs(OffsetNr), JumpIf(JmpJGE, n, 0, 1), Ret(RetErrno), Ret(RetAllow)}
	}
	odd := Program{LoadAbs(OffsetNr), JumpIf(JmpJSET, 1, 0, 1), Ret(RetAllow), Ret(RetErrno)}
	tests := []struct {
		name    string
		filters []Program
		want    []int
	}{
		{"none", nil, []int{0, 1, 2, 3, 4, 5, 6, 7}},
		{"one", []Program{below(4)}, []int{0, 1, 2, 3}},
		{"two", []Program{below(4), odd}, []int{1, 3}},
		{"order does not matter", []Program{odd, below(4)}, []int{1, 3}},
		{"with an uncacheable filter", []Program{odd, {LoadAbs(16), Ret(RetAllow)}}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := cachedList(CachedAllowStack(tt.filters, target)); !slices.Equal(got, tt.want) {
				t.Fatalf("cached %v, want %v", got, tt.want)
			}
		})
	}
}

// TestCachedAllowAgreesWithRun checks the cache analysis against the
// interpreter on random programs: a cached number must be allowed by the
// filter whatever the arguments and instruction pointer are, and a
// program that never looks past nr and arch must be cached exactly where
// it returns ALLOW.
func TestCachedAllowAgreesWithRun(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	target := CacheTarget{AuditArch: auditArchX86_64, Syscalls: 24}
	checked := 0
	for i := 0; i < 3000; i++ {
		p := randomCacheProgram(r, 2+r.IntN(14))
		if Validate(p) != nil {
			continue
		}
		checked++
		pure := true
		for _, ins := range p {
			if ins.Op == ClassLD|SizeW|ModeABS && ins.K > OffsetArch {
				pure = false
			}
		}
		bits := CachedAllow(p, target)
		for nr, cached := range bits {
			for j := 0; j < 4; j++ {
				d := &SeccompData{Nr: int32(nr), Arch: target.AuditArch, InstructionPointer: r.Uint64(),
					Args: [6]uint64{r.Uint64(), r.Uint64(), r.Uint64(), r.Uint64(), r.Uint64(), r.Uint64()}}
				res, err := Run(p, d, NativeEndian)
				if err != nil {
					t.Fatalf("%v: %v", p, err)
				}
				if cached && res.Action != RetAllow {
					t.Fatalf("nr %d cached but the filter returns %s\n%v", nr, ActionString(res.Action), p)
				}
				if pure && onlyCacheOps(p) && !cached && res.Action == RetAllow {
					t.Fatalf("nr %d always allowed by a program of cacheable instructions, but not cached\n%v", nr, p)
				}
			}
		}
	}
	if checked < 100 {
		t.Fatalf("only %d valid random programs", checked)
	}
}

func onlyCacheOps(p Program) bool {
	for _, ins := range p {
		switch ins.Op {
		case ClassLD | SizeW | ModeABS, ClassRET | RetSrcK, ClassJMP | JmpJA, ClassALU | AluAnd | SrcK,
			ClassJMP | JmpJEQ | SrcK, ClassJMP | JmpJGE | SrcK, ClassJMP | JmpJGT | SrcK, ClassJMP | JmpJSET | SrcK:
		default:
			return false
		}
	}
	return true
}

// randomCacheProgram makes programs mostly from the instructions the
// kernel's emulator follows, ending in RET.
func randomCacheProgram(r *rand.Rand, n int) Program {
	p := make(Program, n)
	for i := range p[:n-1] {
		left := n - i - 2 // instructions between this one and the last
		off := func() uint8 { return uint8(r.IntN(left + 1)) }
		switch r.IntN(10) {
		case 0, 1:
			p[i] = LoadAbs([]uint32{OffsetNr, OffsetNr, OffsetArch, 16, 8}[r.IntN(5)])
		case 2:
			p[i] = ALUK(AluAnd, uint32(r.IntN(32)))
		case 3:
			p[i] = Jump(uint32(off()))
		case 4, 5, 6:
			op := []uint16{JmpJEQ, JmpJGE, JmpJGT, JmpJSET}[r.IntN(4)]
			k := uint32(r.IntN(24))
			if r.IntN(4) == 0 {
				k = auditArchX86_64
			}
			p[i] = JumpIf(op, k, off(), off())
		case 7:
			p[i] = Ret([]uint32{RetAllow, RetErrno | 1, RetLog, RetAllow | 2}[r.IntN(4)])
		case 8:
			p[i] = LoadImm(uint32(r.IntN(4)))
		default:
			p[i] = JumpIfX(JmpJEQ, off(), off())
		}
	}
	p[n-1] = Ret([]uint32{RetAllow, RetKillProcess}[r.IntN(2)])
	return p
}

func ExampleCachedAllow() {
	p := Program{
		LoadAbs(OffsetArch),
		JumpIf(JmpJEQ, auditArchX86_64, 1, 0),
		Ret(RetKillProcess),
		LoadAbs(OffsetNr),
		JumpIf(JmpJEQ, 0, 3, 0), // read: always allowed
		JumpIf(JmpJEQ, 1, 0, 3), // write: allowed only to fd 1
		LoadAbs(ArgLowOffset(0, false)),
		JumpIf(JmpJEQ, 1, 0, 1),
		Ret(RetAllow),
		Ret(RetErrno | 1),
	}
	bits := CachedAllow(p, CacheTarget{AuditArch: auditArchX86_64, Syscalls: 4})
	fmt.Println(bits)
	// Output: [true false false false]
}

// FuzzCachedAllow runs the cache analysis on arbitrary programs: it never
// panics, and what it caches a valid program allows.
func FuzzCachedAllow(f *testing.F) {
	f.Add(Program{LoadAbs(OffsetNr), JumpIf(JmpJGE, 3, 0, 1), Ret(RetErrno), Ret(RetAllow)}.Encode(NativeEndian))
	f.Add(Program{Jump(0xffffffff), Ret(RetAllow)}.Encode(NativeEndian))
	f.Fuzz(func(t *testing.T, raw []byte) {
		p, err := Decode(raw, NativeEndian)
		if err != nil {
			return
		}
		target := CacheTarget{AuditArch: auditArchX86_64, Syscalls: 8}
		bits := CachedAllow(p, target)
		if Validate(p) != nil {
			return
		}
		for nr, cached := range bits {
			r, err := Run(p, &SeccompData{Nr: int32(nr), Arch: auditArchX86_64, Args: [6]uint64{^uint64(0)}}, NativeEndian)
			if err != nil {
				t.Fatal(err)
			}
			if cached && r.Action != RetAllow {
				t.Fatalf("nr %d cached, but the program returns %s", nr, ActionString(r.Action))
			}
		}
	})
}

func ExampleCachedAllowStack() {
	archCheck := Program{
		LoadAbs(OffsetArch),
		JumpIf(JmpJEQ, auditArchX86_64, 1, 0),
		Ret(RetKillProcess),
		Ret(RetAllow),
	}
	denyRead := Program{LoadAbs(OffsetNr), JumpIf(JmpJEQ, 0, 0, 1), Ret(RetErrno | 1), Ret(RetAllow)}
	fmt.Println(CachedAllowStack([]Program{archCheck, denyRead}, CacheTarget{AuditArch: auditArchX86_64, Syscalls: 3}))
	fmt.Println(CachedAllowStack([]Program{archCheck, denyRead}, CacheTarget{AuditArch: auditArchI386, Syscalls: 3}))
	// Output:
	// [false true true]
	// [false false false]
}
