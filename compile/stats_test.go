package compile

import (
	"math/rand/v2"
	"testing"

	"github.com/syscage/syscage/bpf"
)

// TestPathLength checks meanPath's interpreter against bpf.Evaluate: on
// compiled random policies, for every number of the first architecture's
// table and numbers around it, and on programs with instructions it does
// not model, which it must refuse rather than count.
func TestPathLength(t *testing.T) {
	check := func(t *testing.T, f bpf.Program, audit, nr uint32) {
		t.Helper()
		d := bpf.SeccompData{Arch: audit, Nr: int32(nr)}
		_, want, err := bpf.Evaluate(f, &d, nil)
		got, ok := pathLength(f, audit, nr)
		if err != nil {
			if ok {
				t.Fatalf("nr %d: pathLength counts %d where Evaluate fails: %v", nr, got, err)
			}
			return
		}
		if ok && got != want {
			t.Fatalf("nr %d: pathLength %d, Evaluate %d\n%s", nr, got, want, bpf.Disassemble(f, bpf.DisasmOptions{}))
		}
	}
	for seed := 0; seed < 60; seed++ {
		pg := &policyGen{r: rand.New(rand.NewPCG(uint64(seed), 9))}
		_, res := compileRandom(t, pg, Options{Env: pg.env()})
		a := res.Arches[0]
		for _, f := range res.Filters {
			for _, nr := range a.Syscalls() {
				for _, n := range []uint32{uint32(nr.Nr) - 1, uint32(nr.Nr), uint32(nr.Nr) + 1, uint32(nr.Nr) | x32Bit} {
					check(t, f, a.AuditArch, n)
					check(t, f, a.AuditArch^1, n)
				}
			}
		}
	}
	for _, tc := range []struct {
		name string
		p    bpf.Program
		ok   bool
	}{
		{"ret", bpf.Program{bpf.Ret(bpf.RetAllow)}, true},
		{"arg test", bpf.Program{bpf.LoadAbs(bpf.ArgLowOffset(0, false)), bpf.JumpIf(bpf.JmpJEQ, 0, 0, 1), bpf.Ret(1), bpf.Ret(2)}, true},
		{"and", bpf.Program{bpf.LoadAbs(bpf.OffsetNr), bpf.ALUK(bpf.AluAnd, 1), bpf.JumpIf(bpf.JmpJSET, 1, 1, 0), bpf.Ret(1), bpf.Ret(2)}, true},
		{"jump past the end", bpf.Program{bpf.Jump(3), bpf.Ret(1)}, false},
		{"falls off the end", bpf.Program{bpf.LoadAbs(bpf.OffsetNr)}, false},
		{"unaligned load", bpf.Program{bpf.LoadAbs(2), bpf.Ret(1)}, false},
		{"load past seccomp_data", bpf.Program{bpf.LoadAbs(bpf.SeccompDataSize), bpf.Ret(1)}, false},
		{"other instruction", bpf.Program{bpf.ALUK(bpf.AluAdd, 1), bpf.Ret(1)}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for nr := uint32(0); nr < 4; nr++ {
				check(t, tc.p, 0xc000003e, nr)
				if _, ok := pathLength(tc.p, 0xc000003e, nr); ok != tc.ok {
					t.Fatalf("pathLength ok = %v, want %v", ok, tc.ok)
				}
			}
		})
	}
}
