package bpf

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
)

func TestBuilderResolves(t *testing.T) {
	tests := []struct {
		name  string
		build func(b *Builder)
		want  Program
	}{
		{
			name: "true branch to label, false falls through",
			build: func(b *Builder) {
				b.Emit(LoadAbs(OffsetNr))
				b.JumpIf(JmpJEQ, 59, "deny", "")
				b.Ret(RetAllow)
				b.Label("deny")
				b.Ret(RetErrno | 1)
			},
			want: Program{LoadAbs(OffsetNr), JumpIf(JmpJEQ, 59, 1, 0), Ret(RetAllow), Ret(RetErrno | 1)},
		},
		{
			name: "both branches to labels",
			build: func(b *Builder) {
				b.JumpIf(JmpJGE, 10, "big", "small")
				b.Ret(0)
				b.Label("small")
				b.Ret(1)
				b.Label("big")
				b.Ret(2)
			},
			want: Program{JumpIf(JmpJGE, 10, 2, 1), Ret(0), Ret(1), Ret(2)},
		},
		{
			name: "X comparison and two labels on one instruction",
			build: func(b *Builder) {
				b.JumpIfX(JmpJSET, "", "a")
				b.Ret(0)
				b.Label("a")
				b.Label("b")
				b.JumpTo("end")
				b.Ret(1)
				b.Label("end")
				b.Ret(2)
			},
			want: Program{JumpIfX(JmpJSET, 0, 1), Ret(0), Jump(1), Ret(1), Ret(2)},
		},
		{
			name: "emitted raw jumps count builder instructions",
			build: func(b *Builder) {
				b.Emit(JumpIf(JmpJEQ, 1, 2, 0))
				b.Emit(Jump(1))
				b.Ret(0)
				b.Ret(1)
			},
			want: Program{JumpIf(JmpJEQ, 1, 2, 0), Jump(1), Ret(0), Ret(1)},
		},
		{
			name: "empty labels mean the next instruction",
			build: func(b *Builder) {
				b.JumpIf(JmpJGT, 3, "", "")
				b.JumpTo("")
				b.Ret(0)
			},
			want: Program{JumpIf(JmpJGT, 3, 0, 0), Jump(0), Ret(0)},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := NewBuilder()
			tt.build(b)
			got, err := b.Program()
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %v\nwant %v", got, tt.want)
			}
		})
	}
}

func TestBuilderErrors(t *testing.T) {
	tests := []struct {
		name  string
		build func(b *Builder)
		want  []string // substrings the error must contain
	}{
		{"undefined label suggests", func(b *Builder) {
			b.JumpIf(JmpJEQ, 1, "allow", "")
			b.Label("alow")
			b.Ret(0)
		}, []string{"instruction 0", `undefined label "allow"`, `did you mean "alow"`}},
		{"duplicate label", func(b *Builder) {
			b.Label("x")
			b.Ret(0)
			b.Label("x")
			b.Ret(1)
		}, []string{`label "x" defined twice`, "instruction 0", "instruction 1"}},
		{"backward jump", func(b *Builder) {
			b.Label("top")
			b.Emit(LoadImm(0))
			b.JumpTo("top")
		}, []string{"instruction 1", "backward to instruction 0", "only forward"}},
		{"jump to itself", func(b *Builder) {
			b.Label("self")
			b.JumpIf(JmpJEQ, 0, "self", "")
			b.Ret(0)
		}, []string{"backward"}},
		{"label at end", func(b *Builder) {
			b.Ret(0)
			b.Label("end")
		}, []string{`label "end" is at the end`}},
		{"bad operation", func(b *Builder) {
			b.JumpIf(JmpJA, 1, "", "")
			b.Ret(0)
		}, []string{"operation 0x00 is not JmpJEQ"}},
		{"next past the end", func(b *Builder) {
			b.Ret(0)
			b.JumpIf(JmpJEQ, 1, "", "")
		}, []string{"instruction 1", "past the end"}},
		{"raw jump past the end", func(b *Builder) {
			b.Emit(Jump(5))
			b.Ret(0)
		}, []string{"instruction 0", "past the end"}},
		{"empty", func(b *Builder) {}, []string{"empty program"}},
		{"all errors at once", func(b *Builder) {
			b.JumpTo("a")
			b.JumpTo("b")
			b.Ret(0)
		}, []string{`undefined label "a"`, `undefined label "b"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := NewBuilder()
			tt.build(b)
			p, err := b.Program()
			if err == nil {
				t.Fatalf("no error; program %v", p)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

// TestBuilderTrampolineShape checks the exact layout of the simplest far
// jump: the trampoline goes after the last closed instruction in reach.
func TestBuilderTrampolineShape(t *testing.T) {
	b := NewBuilder()
	b.JumpIf(JmpJEQ, 7, "far", "")
	for range 300 {
		b.Emit(ALUK(AluAdd, 1))
	}
	b.Label("far")
	b.Ret(RetAllow)
	p, err := b.Program()
	if err != nil {
		t.Fatal(err)
	}
	// The additions fall through, so the only place for the trampoline
	// is right after the jump itself.
	want := Program{JumpIf(JmpJEQ, 7, 0, 1), Jump(300)}
	for range 300 {
		want = append(want, ALUK(AluAdd, 1))
	}
	want = append(want, Ret(RetAllow))
	if !reflect.DeepEqual(p, want) {
		t.Fatalf("got %v...", p[:3])
	}
}

// TestBuilderSharesTrampolines: a long run of checks jumping to one far
// label needs about one trampoline per 255 instructions, not one each.
func TestBuilderSharesTrampolines(t *testing.T) {
	b := NewBuilder()
	const checks = 1000
	b.Emit(LoadAbs(OffsetNr))
	for i := range checks {
		b.JumpIf(JmpJEQ, uint32(i), "allow", "")
	}
	b.Ret(RetKillProcess)
	b.Label("allow")
	b.Ret(RetAllow)
	p, err := b.Program()
	if err != nil {
		t.Fatal(err)
	}
	extra := len(p) - (checks + 3)
	if extra < 1 || extra > checks/200 {
		t.Errorf("%d trampolines for %d far jumps; want a handful", extra, checks)
	}
	allow := len(p) - 1
	for i, ins := range p {
		if ins.IsConditionalJump() {
			if got := land(p, i, ins.Jt); got != allow {
				t.Fatalf("jump %d lands on %d, want %d", i, got, allow)
			}
			// Every unconditional jump here is a trampoline, so the
			// false branch must reach the next instruction that is not.
			next := i + 1
			for p[next].Op == ClassJMP|JmpJA {
				next++
			}
			if got := i + 1 + int(ins.Jf); got != next {
				t.Fatalf("jump %d: false branch lands on %d, want %d", i, got, next)
			}
		}
	}
}

// land follows a branch of instruction i with offset off through any
// trampolines (unconditional jumps) to where execution continues.
func land(p Program, i int, off uint8) int {
	at := i + 1 + int(off)
	for at < len(p) && p[at].Op == ClassJMP|JmpJA {
		at += 1 + int(p[at].K)
	}
	return at
}

// Marker constants identify instructions of the random programs below.
const (
	graphMarkLabel = 0x100000 // LoadImm(graphMarkLabel+l) follows Label(l)
	graphMarkCond  = 0x200000 // JumpIf(JEQ, graphMarkCond+id, ...)
	graphMarkGoto  = 0x300000 // LoadImm(graphMarkGoto+id) precedes JumpTo
)

// graphItem is one instruction of a random Builder program.
type graphItem struct {
	ins    Instruction
	tl, fl string // jump targets, "" = next
}

// randomLabelGraph builds a random Builder program with labels, far and
// near jumps, and returns it with its instructions as given.
func randomLabelGraph(r *rand.Rand) (*Builder, []graphItem, map[string]int) {
	b := NewBuilder()
	var src []graphItem
	labelAt := map[string]int{}
	n := 5 + r.IntN(60)
	// kinds[i]: 0 filler run, 1 cond, 2 goto, 3 ret; labels before some.
	type slot struct {
		kind, run int
		label     string
	}
	slots := make([]slot, n)
	var labels []int // slot indexes with a label
	for i := range slots {
		slots[i].kind = r.IntN(4)
		if slots[i].kind == 0 {
			slots[i].run = 1 + r.IntN(3)
			if r.IntN(4) == 0 {
				slots[i].run = 100 + r.IntN(500) // a big gap
			}
		}
		if i > 0 && r.IntN(3) == 0 {
			slots[i].label = fmt.Sprintf("L%d", i)
			labels = append(labels, i)
		}
	}
	slots[n-1] = slot{kind: 3, label: "end"}
	labels = append(labels, n-1)
	pick := func(i int) string {
		if r.IntN(5) == 0 {
			return ""
		}
		var later []int
		for _, l := range labels {
			if l > i {
				later = append(later, l)
			}
		}
		return slots[later[r.IntN(len(later))]].label
	}
	for i, s := range slots {
		if s.label != "" {
			b.Label(s.label)
			labelAt[s.label] = len(src)
			src = append(src, graphItem{ins: LoadImm(graphMarkLabel + uint32(i))})
			b.Emit(src[len(src)-1].ins)
		}
		switch s.kind {
		case 0:
			for range s.run {
				src = append(src, graphItem{ins: ALUK(AluAdd, 1)})
				b.Emit(ALUK(AluAdd, 1))
			}
		case 1:
			it := graphItem{ins: JumpIf(JmpJEQ, graphMarkCond+uint32(i), 0, 0), tl: pick(i), fl: pick(i)}
			src = append(src, it)
			b.JumpIf(JmpJEQ, it.ins.K, it.tl, it.fl)
		case 2:
			src = append(src, graphItem{ins: LoadImm(graphMarkGoto + uint32(i))})
			b.Emit(src[len(src)-1].ins)
			to := pick(i)
			if to == "" {
				to = "end"
			}
			src = append(src, graphItem{ins: Jump(0), tl: to})
			b.JumpTo(to)
		case 3:
			src = append(src, graphItem{ins: Ret(uint32(i))})
			b.Ret(uint32(i))
		}
	}
	return b, src, labelAt
}

// TestBuilderRandomGraphs assembles random label graphs with big gaps and
// checks every jump lands, through any trampolines, on the instruction its
// label marks, that trampolines sit only where execution cannot fall into
// them, and that the instructions keep their order.
func TestBuilderRandomGraphs(t *testing.T) {
	runs := 400
	if testing.Short() {
		runs = 50
	}
	for seed := range runs {
		r := rand.New(rand.NewPCG(uint64(seed), 1))
		b, src, labelAt := randomLabelGraph(r)
		p, err := b.Program()
		if err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
		if again, _ := b.Program(); !reflect.DeepEqual(p, again) {
			t.Fatalf("seed %d: two calls gave different programs", seed)
		}
		checkGraphLayout(t, seed, p, src, labelAt)
	}
}

func checkGraphLayout(t *testing.T, seed int, p Program, src []graphItem, labelAt map[string]int) {
	t.Helper()
	// Map final instructions to source items; trampolines are the
	// unconditional jumps not preceded by a goto marker.
	srcOf := make([]int, len(p)) // -1 for trampolines
	finalOf := make([]int, 0, len(src))
	j := 0
	for i, ins := range p {
		isGoto := i > 0 && p[i-1].Op == ClassLD|ModeIMM && p[i-1].K&0xf00000 == graphMarkGoto
		if ins.Op == ClassJMP|JmpJA && !isGoto {
			srcOf[i] = -1
			prev := p[i-1]
			if prev.Class() != ClassRET && prev.Class() != ClassJMP {
				t.Fatalf("seed %d: trampoline at %d follows %v, which falls through into it", seed, i, prev)
			}
			continue
		}
		if j >= len(src) {
			t.Fatalf("seed %d: more instructions than given", seed)
		}
		want := src[j].ins
		got := ins
		if got.IsJump() {
			got.Jt, got.Jf, got.K = want.Jt, want.Jf, want.K
			if ins.IsConditionalJump() {
				got.K = ins.K
			}
		}
		if got != want {
			t.Fatalf("seed %d: instruction %d is %v, want source item %d %v", seed, i, ins, j, want)
		}
		srcOf[i] = j
		finalOf = append(finalOf, i)
		j++
	}
	if j != len(src) {
		t.Fatalf("seed %d: %d of %d source instructions present", seed, j, len(src))
	}
	far := false
	expect := func(i int, off uint8, lbl string, what string) {
		at := i + 1 + int(off)
		hops := 0
		for at < len(p) && srcOf[at] == -1 {
			at += 1 + int(p[at].K)
			hops++
		}
		if hops > 1 {
			t.Fatalf("seed %d: %s of %d goes through %d trampolines", seed, what, i, hops)
		}
		want := srcOf[i] + 1
		if lbl != "" {
			want = labelAt[lbl]
		}
		if at >= len(p) || srcOf[at] != want {
			t.Fatalf("seed %d: %s of instruction %d lands on %d, want source item %d (final %d)", seed, what, i, at, want, finalOf[want])
		}
		if want-srcOf[i]-1 > MaxConditionalJumpRange {
			far = true
		}
	}
	for i, ins := range p {
		if srcOf[i] < 0 {
			continue
		}
		s := src[srcOf[i]]
		switch {
		case ins.IsConditionalJump():
			expect(i, ins.Jt, s.tl, "true branch")
			expect(i, ins.Jf, s.fl, "false branch")
		case ins.IsJump():
			if at := i + 1 + int(ins.K); at >= len(p) || srcOf[at] != labelAt[s.tl] {
				t.Fatalf("seed %d: goto at %d lands on %d, want label %s", seed, i, at, s.tl)
			}
		}
	}
	if !far && len(p) != len(src) {
		t.Fatalf("seed %d: %d trampolines without any far jump", seed, len(p)-len(src))
	}
}
