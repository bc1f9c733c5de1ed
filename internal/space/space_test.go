package space

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/syscage/syscage/arch"
	"github.com/syscage/syscage/policy"
)

// sig is the truth values of preds on x.
func sig(preds []*pred, x uint64) string {
	var b strings.Builder
	for _, p := range preds {
		if p.holds(x) {
			b.WriteByte('1')
		} else {
			b.WriteByte('0')
		}
	}
	return b.String()
}

// checkComplete brute-forces every value of an 8-bit argument and checks
// that each class has a representative.
func checkComplete(t *testing.T, ap *argPreds, wantExact bool) {
	t.Helper()
	reps, exact := ap.representatives(DefaultLimit)
	if wantExact && !exact {
		t.Errorf("%v: not exact", describe(ap))
	}
	have := map[string]bool{}
	for _, x := range reps {
		if x > widthMask(ap.width) {
			t.Errorf("%v: representative %#x exceeds the width", describe(ap), x)
		}
		s := sig(ap.preds, x)
		if have[s] {
			t.Errorf("%v: two representatives of class %s", describe(ap), s)
		}
		have[s] = true
	}
	if !exact {
		return
	}
	for x := uint64(0); x <= widthMask(ap.width); x++ {
		if s := sig(ap.preds, x); !have[s] {
			t.Fatalf("%v: value %#x is in class %s, which has no representative (reps %x)", describe(ap), x, s, reps)
		}
	}
}

func describe(ap *argPreds) string {
	var parts []string
	for _, p := range ap.preds {
		parts = append(parts, fmt.Sprintf("%s v=%#x m=%#x hi=%#x in=%x", p.op, p.v, p.m, p.high, p.vals))
	}
	return strings.Join(parts, "; ")
}

func TestRepresentativesTable(t *testing.T) {
	tests := []struct {
		name  string
		preds []*pred
		exact bool
	}{
		{"eq", []*pred{{op: policy.OpEq, v: 5}}, true},
		{"contradiction", []*pred{{op: policy.OpEq, v: 1}, {op: policy.OpEq, v: 2}}, true},
		{"ordered", []*pred{{op: policy.OpLt, v: 10}, {op: policy.OpGe, v: 200}, {op: policy.OpRange, v: 3, high: 7}}, true},
		{"edges", []*pred{{op: policy.OpGt, v: 0xff}, {op: policy.OpLe, v: 0}}, true},
		{"in", []*pred{{op: policy.OpIn, vals: []uint64{1, 4, 9}}, {op: policy.OpNe, v: 4}}, true},
		{"bits", []*pred{{op: policy.OpBitsAll, v: 0x30}, {op: policy.OpBitsNone, v: 0x21}, {op: policy.OpBitsOnly, v: 0x0f}}, true},
		{"masked", []*pred{{op: policy.OpMaskedEq, m: 0x3, v: 0}, {op: policy.OpMaskedEq, m: 0xc0, v: 0x40}}, true},
		{"partial", []*pred{{op: policy.OpBitsAll, v: 0x0f}, {op: policy.OpBitsNone, v: 0x0f}, {op: policy.OpBitsAll, v: 0xf0}, {op: policy.OpBitsNone, v: 0xf0}}, true},
		{"mixed-single-bits", []*pred{{op: policy.OpGt, v: 5}, {op: policy.OpBitsAll, v: 4}}, true},
		{"mixed", []*pred{{op: policy.OpGt, v: 0x50}, {op: policy.OpMaskedEq, m: 0x7, v: 1}}, true},
		{"mixed-partial", []*pred{{op: policy.OpLt, v: 0x42}, {op: policy.OpBitsAll, v: 0xf0}, {op: policy.OpBitsNone, v: 0xf0}}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkComplete(t, &argPreds{width: 8, preds: tt.preds}, tt.exact)
		})
	}
}

// TestRepresentativesRandom checks completeness on random sets of
// comparisons of an 8-bit argument, against every value.
func TestRepresentativesRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	ops := []policy.CmpOp{policy.OpEq, policy.OpNe, policy.OpLt, policy.OpLe, policy.OpGt, policy.OpGe,
		policy.OpMaskedEq, policy.OpBitsOnly, policy.OpBitsNone, policy.OpBitsAll, policy.OpIn, policy.OpRange}
	for i := 0; i < 2000; i++ {
		n := 1 + r.IntN(4)
		ap := &argPreds{width: 8}
		for j := 0; j < n; j++ {
			p := &pred{op: ops[r.IntN(len(ops))], v: r.Uint64N(256), m: r.Uint64N(256), high: r.Uint64N(256)}
			if p.op == policy.OpMaskedEq {
				p.v &= p.m
			}
			if p.op == policy.OpIn {
				p.vals = []uint64{r.Uint64N(256), r.Uint64N(256)}
			}
			ap.preds = append(ap.preds, p)
		}
		checkComplete(t, ap, true)
	}
}

func TestLeastInState(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for i := 0; i < 3000; i++ {
		atoms := splitAtoms(8, []uint64{r.Uint64N(256), r.Uint64N(256)})
		want := make([]uint8, len(atoms))
		for j, at := range atoms {
			want[j] = uint8(r.IntN(2))
			if at&(at-1) != 0 {
				want[j] = uint8(r.IntN(3))
			}
		}
		lo, hi := r.Uint64N(256), r.Uint64N(256)
		got, ok := leastInState(lo, hi, atoms, want)
		wantX, wantOK := uint64(0), false
		for x := lo; x <= hi; x++ {
			if inState(x, atoms, want) {
				wantX, wantOK = x, true
				break
			}
		}
		if ok != wantOK || got != wantX {
			t.Fatalf("leastInState(%#x, %#x, atoms %x, states %v) = %#x, %v; want %#x, %v", lo, hi, atoms, want, got, ok, wantX, wantOK)
		}
	}
}

func parse(t *testing.T, src string) *policy.Policy {
	t.Helper()
	p, err := policy.Parse("t.policy", []byte(src), policy.ParseOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestSlots(t *testing.T) {
	p := parse(t, "arch x86_64 x32\ndefault errno(EPERM)\nallow 999\nallow x32:0x40001000\n")
	slots, err := Slots(p)
	if err != nil {
		t.Fatal(err)
	}
	x86, _ := arch.ByName("x86_64")
	x32, _ := arch.ByName("x32")
	count := map[SlotKind]int{}
	var named []string
	for _, s := range slots {
		count[s.Kind]++
		if s.Kind == Named {
			named = append(named, s.String())
		}
		if s.Arch != nil && s.Kind != Unaccepted && !belongs(s.Arch, s.Nr) {
			t.Errorf("slot %s: number %#x does not belong to %s", s, s.Nr, s.Arch.Name)
		}
		// Every slot's input must be read as the slot's architecture.
		if s.Kind == Known || s.Kind == OtherUnknown {
			if _, ok := s.Arch.SyscallName(int(s.Nr)); ok != (s.Kind == Known) {
				t.Errorf("slot %s: number %d known=%v", s, s.Nr, ok)
			}
		}
	}
	if want := len(x86.Syscalls()) + len(x32.Syscalls()); count[Known] != want {
		t.Errorf("known slots %d, want %d", count[Known], want)
	}
	slices.Sort(named)
	if want := []string{"x32 1073745920", "x86_64 999"}; !slices.Equal(named, want) {
		t.Errorf("named slots %v, want %v", named, want)
	}
	if count[OtherUnknown] != 2 || count[Foreign] != 1 || count[Unaccepted] != len(arch.All())-2 {
		t.Errorf("slot counts %v", count)
	}
}

// TestArgsAgainstEvaluate checks, for a policy with conditions, that the
// vectors Args returns reach every rule that can decide (here every rule
// can) and that random inputs decide as some representative does.
func TestArgsAgainstEvaluate(t *testing.T) {
	p := parse(t, `arch x86_64
default errno(EPERM)
errno(EACCES) openat if flags & O_ACCMODE == O_WRONLY
allow openat if flags only O_RDONLY|O_CLOEXEC|O_NOFOLLOW
log openat if dfd == AT_FDCWD
kill_process socket if family > 16 && family != 38
allow socket if family in {AF_INET, AF_INET6} && type & 0xf == SOCK_STREAM
trap socket
`)
	a, _ := arch.ByName("x86_64")
	for _, name := range []string{"openat", "socket"} {
		nr, _ := a.Lookup(name)
		s := Slot{Kind: Known, AuditArch: a.AuditArch, Nr: uint32(nr), Arch: a, Name: name}
		rules := Rules(p, s, policy.Env{})
		vecs, exact, err := Args(a, name, Conditions(rules), 0)
		if err != nil {
			t.Fatal(err)
		}
		if !exact {
			t.Errorf("%s: not exact", name)
		}
		decided := map[*policy.Rule]bool{}
		seen := map[string]bool{}
		for _, v := range vecs {
			d, err := policy.Evaluate(p, s.Input(v), policy.Env{})
			if err != nil {
				t.Fatal(err)
			}
			decided[d.Rule] = true
			seen[d.Action.String()] = true
		}
		for _, r := range rules {
			if !decided[r] {
				t.Errorf("%s: no vector is decided by the rule at %s", name, r.Pos)
			}
		}
		rnd := rand.New(rand.NewPCG(5, 6))
		for i := 0; i < 2000; i++ {
			var v [6]uint64
			for j := range v {
				v[j] = rnd.Uint64() >> rnd.UintN(64)
			}
			d, _ := policy.Evaluate(p, s.Input(v), policy.Env{})
			if !seen[d.Action.String()] {
				t.Errorf("%s %x: decision %s not seen on any representative", name, v, d.Action)
			}
		}
	}
}

// TestHoldsMatchesEvaluate checks Holds against the reference evaluator:
// a rule decides exactly when its condition holds (it is the only rule).
func TestHoldsMatchesEvaluate(t *testing.T) {
	p := parse(t, `arch x86_64
default errno(EPERM)
allow socket if (family == AF_INET || family in 10..16) && !(type & 0xf == 3) && protocol none 0x80
`)
	a, _ := arch.ByName("x86_64")
	nr, _ := a.Lookup("socket")
	r := rand.New(rand.NewPCG(9, 10))
	for i := 0; i < 5000; i++ {
		var args [6]uint64
		for j := range args {
			args[j] = r.Uint64() >> r.UintN(64)
		}
		args[0] = []uint64{2, 10, 16, 17, 0xffffffff00000002, args[0]}[r.IntN(6)]
		ok, err := Holds(p.Rules[0].When, a, "socket", args)
		if err != nil {
			t.Fatal(err)
		}
		d, _ := policy.Evaluate(p, policy.Input{AuditArch: a.AuditArch, Nr: uint32(nr), Args: args}, policy.Env{})
		if ok != (d.Reason == "rule") {
			t.Fatalf("%x: Holds %v, Evaluate %s", args, ok, d.Reason)
		}
	}
}

func TestIndex(t *testing.T) {
	p := parse(t, "arch x86_64 i386\ndefault errno(EPERM)\nallow @network-io\nonly caps CAP_NET_RAW {\nallow socket if family == 17\n}\nallow 1000\nerrno(EACCES) i386:read read\n")
	slots, err := Slots(p)
	if err != nil {
		t.Fatal(err)
	}
	ix := NewIndex(p)
	for _, env := range []policy.Env{{}, {Caps: []string{}}} {
		for _, s := range slots {
			got, want := ix.Rules(s, env), Rules(p, s, env)
			if !slices.Equal(got, want) {
				t.Errorf("%s: index gives %d rules, Rules %d", s, len(got), len(want))
			}
		}
	}
}

// TestEnvs: every environment the restrictions tell apart is listed, so
// each rule is seen both applying and not.
func TestEnvs(t *testing.T) {
	p := parse(t, `arch x86_64
default errno(EPERM)
only caps CAP_SYS_ADMIN CAP_NET_ADMIN {
allow mount
}
except caps CAP_SYS_PTRACE kernel >= 5.8 {
allow ptrace
}
allow getpid
`)
	envs := Envs(p.Rules)
	if want := (1 + 8) * 3; len(envs) != want {
		t.Errorf("%d environments, want %d", len(envs), want)
	}
	a, _ := arch.ByName("x86_64")
	for _, r := range p.Rules {
		applies, not := false, false
		for _, e := range envs {
			if r.AppliesOn(a, e) {
				applies = true
			} else {
				not = true
			}
		}
		if !applies || (r.Only != nil || r.Except != nil) && !not {
			t.Errorf("rule at %s: applies in some environment %v, fails in some %v", r.Pos, applies, not)
		}
	}
	if got := Envs(p.Rules[2:]); len(got) != 1 || got[0].Caps != nil || got[0].Kernel != "" {
		t.Errorf("unrestricted rules: %v", got)
	}
}

// TestWalkIntervals: the bit walk finds every class of random 8-bit
// comparisons, against every value.
func TestWalkIntervals(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	ops := []policy.CmpOp{policy.OpLt, policy.OpGe, policy.OpEq, policy.OpRange,
		policy.OpMaskedEq, policy.OpBitsOnly, policy.OpBitsNone, policy.OpBitsAll}
	for i := 0; i < 2000; i++ {
		ap := &argPreds{width: 8}
		for j := 0; j < 1+r.IntN(6); j++ {
			p := &pred{op: ops[r.IntN(len(ops))], v: r.Uint64N(256), m: r.Uint64N(256), high: r.Uint64N(256)}
			if p.op == policy.OpMaskedEq && r.IntN(4) > 0 {
				p.v &= p.m // sometimes leave bits outside the mask: never true
			}
			ap.preds = append(ap.preds, p)
		}
		starts := []uint64{0}
		for _, p := range ap.preds {
			for _, v := range p.points() {
				starts = append(starts, v)
				if v < 0xff {
					starts = append(starts, v+1)
				}
			}
		}
		got, ok := ap.walkIntervals(sortedUnique(starts), 0xff)
		if !ok {
			t.Fatalf("%s: walk gave up", describe(ap))
		}
		have := map[string]bool{}
		for _, x := range got {
			if x > 0xff {
				t.Fatalf("%s: %#x exceeds the width", describe(ap), x)
			}
			have[sig(ap.preds, x)] = true
		}
		for x := uint64(0); x <= 0xff; x++ {
			if s := sig(ap.preds, x); !have[s] {
				t.Fatalf("%s: value %#x is in class %s, which the walk missed", describe(ap), x, s)
			}
		}
	}
}

// TestRepresentativesMaskedRanges: a range written as masked comparisons
// (the way OCI profiles express it) next to an ordering has more atom
// states than are tried one by one; the classes are still exact, and a
// sample of values finds none missing.
func TestRepresentativesMaskedRanges(t *testing.T) {
	ap := &argPreds{width: 32}
	// cmd != 0x5412 as the 32 masked comparisons that cover the other
	// values, as FormatOCI writes it, next to cmd < 0x1000.
	const not = 0x5412
	for b := 0; b < 32; b++ {
		bit := uint64(1) << uint(b)
		m := ^(bit - 1) & 0xffffffff
		ap.preds = append(ap.preds, &pred{op: policy.OpMaskedEq, m: m, v: (not ^ bit) & m})
	}
	ap.preds = append(ap.preds, &pred{op: policy.OpLt, v: 0x1000})
	reps, exact := ap.representatives(DefaultLimit)
	if !exact {
		t.Fatalf("not exact (%d representatives)", len(reps))
	}
	have := map[string]bool{}
	for _, x := range reps {
		have[sig(ap.preds, x)] = true
	}
	r := rand.New(rand.NewPCG(7, 8))
	for i := 0; i < 200000; i++ {
		x := r.Uint64N(1 << 32)
		if i%4 == 0 {
			x = not ^ uint64(1)<<uint(r.IntN(32)) // near the excluded value
		}
		if s := sig(ap.preds, x); !have[s] {
			t.Fatalf("value %#x is in class %s, which has no representative", x, s)
		}
	}
}

// TestRulesOnlyOnAcceptedArches: slots come from the union of the
// policies' arches, and a policy decides an arch it does not accept with
// its bad-arch action, so none of its rules take part there; rules that
// do take part are exactly those Evaluate can pick. Conditions that name
// arguments of one arch only (mmap's prot has no i386 counterpart) must
// not reach Args on another.
func TestRulesOnlyOnAcceptedArches(t *testing.T) {
	tests := []struct {
		name string
		srcs []string
	}{
		{"argument of one arch only", []string{
			"arch x86_64\ndefault errno(EPERM)\nallow mmap if prot == PROT_READ\n",
			"arch x86_64 i386\ndefault errno(EPERM)\nonly arch i386 {\n    allow getppid\n}\n",
		}},
		{"disjoint arches", []string{
			"arch i386\ndefault errno(EPERM)\nallow mmap if arg0 == 0\nallow getpid\n",
			"arch x86_64\ndefault errno(EPERM)\nallow mmap if flags == 1\nerrno(EACCES) 1000\n",
		}},
		{"x32 beside x86_64", []string{
			"arch x86_64\ndefault errno(EPERM)\nallow read write\nallow socket if family == AF_INET\n",
			"arch x32\ndefault errno(EPERM)\nallow read\n",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var ps []*policy.Policy
			for _, src := range tt.srcs {
				ps = append(ps, parse(t, src))
			}
			slots, err := Slots(ps...)
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range ps {
				accepted, err := p.AcceptedArches()
				if err != nil {
					t.Fatal(err)
				}
				ix := NewIndex(p)
				for _, s := range slots {
					rules, naming := Rules(p, s, policy.Env{}), ix.Naming(s)
					if got := ix.Rules(s, policy.Env{}); !slices.Equal(got, rules) {
						t.Fatalf("%s: index gives %d rules, Rules %d", s, len(got), len(rules))
					}
					if s.Arch != nil && !slices.Contains(accepted, s.Arch) && (len(rules) > 0 || len(naming) > 0) {
						t.Fatalf("%s: %d rules (%d naming) of a policy that does not accept %s", s, len(rules), len(naming), s.Arch.Name)
					}
					var vecs [][6]uint64
					if conds := Conditions(rules); len(conds) > 0 {
						if vecs, _, err = Args(s.Arch, s.Name, conds, 0); err != nil {
							t.Fatalf("%s: %v", s, err)
						}
					}
					vecs = append(vecs, [6]uint64{})
					for _, v := range vecs {
						d, err := policy.Evaluate(p, s.Input(v), policy.Env{})
						if err != nil {
							t.Fatal(err)
						}
						if d.Rule != nil && !slices.Contains(rules, d.Rule) {
							t.Errorf("%s %x: Evaluate picks the rule at %s, which Rules leaves out", s, v, d.Rule.Pos)
						}
						if (d.Reason == "badarch") != (s.Arch == nil || !slices.Contains(accepted, s.Arch)) {
							t.Errorf("%s: Evaluate says %s", s, d.Reason)
						}
					}
				}
			}
		})
	}
}
