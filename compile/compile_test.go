package compile

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/syscage/syscage/arch"
	"github.com/syscage/syscage/bpf"
	"github.com/syscage/syscage/policy"
)

// compileRandom draws policies until one compiles (a few draws fail on
// purpose: an argument name a target lacks on some arch, an errno an
// arch does not define) and checks that Evaluate refuses the same policy.
func compileRandom(t *testing.T, pg *policyGen, opts Options) (*policy.Policy, *Result) {
	t.Helper()
	for {
		p := pg.policy()
		res, err := Policy(p, opts)
		if err == nil {
			return p, res
		}
		var perr *policy.Error
		if !errors.As(err, &perr) && !strings.Contains(err.Error(), "errno") && !strings.Contains(err.Error(), "not defined") {
			t.Fatalf("unexpected compile error: %v\npolicy: %s", err, dump(p))
		}
	}
}

// checkAgainstEvaluate runs every input through the filters and through
// policy.Evaluate and fails on any difference.
func checkAgainstEvaluate(t *testing.T, p *policy.Policy, res *Result, env policy.Env, inputs []bpf.SeccompData) {
	t.Helper()
	order := byteOrder(res.BigEndian)
	for i := range inputs {
		d := &inputs[i]
		wantRet, dec, err := want(p, d, env)
		if err != nil {
			t.Fatalf("Evaluate: %v\npolicy: %s", err, dump(p))
		}
		sr, err := bpf.RunStack(res.Filters, d, order)
		if err != nil {
			t.Fatalf("run: %v", err)
		}
		if sr.Action != wantRet {
			t.Fatalf("input arch=%#x nr=%#x args=%#x: filter returns %s, policy says %s (%s %v)\npolicy: %s\nprogram:\n%s",
				d.Arch, uint32(d.Nr), d.Args, bpf.ActionString(sr.Action), bpf.ActionString(wantRet), dec.Reason, rulePos(dec.Rule),
				dump(p), listing(res))
		}
		tr, err := res.Explain(d)
		if err != nil {
			t.Fatalf("Explain: %v", err)
		}
		if tr.Origin.Kind.String() != dec.Reason || tr.Origin.Rule != dec.Rule {
			t.Fatalf("input arch=%#x nr=%#x args=%#x: Explain names %v, Evaluate %s %v", d.Arch, uint32(d.Nr), d.Args, tr.Origin, dec.Reason, rulePos(dec.Rule))
		}
		// The RET that decided lists the origin among its own.
		f := max(tr.Filter, 0)
		path := tr.Paths[f]
		ret := path[len(path)-1]
		if !slices.Contains(res.Origins[f][ret], tr.Origin) {
			t.Fatalf("input arch=%#x nr=%#x: RET %d of filter %d lists %v, not %v", d.Arch, uint32(d.Nr), ret, f, res.Origins[f][ret], tr.Origin)
		}
	}
}

func rulePos(r *policy.Rule) string {
	if r == nil {
		return "-"
	}
	return r.Pos.String()
}

func listing(res *Result) string {
	var b strings.Builder
	for i, f := range res.Filters {
		fmt.Fprintf(&b, "filter %d:\n", i)
		for pc, ins := range f {
			fmt.Fprintf(&b, "%04d: op=%#04x jt=%d jf=%d k=%#x\n", pc, ins.Op, ins.Jt, ins.Jf, ins.K)
		}
	}
	return b.String()
}

// dump renders a policy for failure messages, in the native format when
// the formatter takes it.
func dump(p *policy.Policy) string {
	var b strings.Builder
	fmt.Fprintf(&b, "arches=%v default=%v unknown=%v badarch=%v\n", p.Arches, p.Default, p.Unknown, p.BadArch)
	for _, r := range p.Rules {
		fmt.Fprintf(&b, "  %s: %v %v when %s only %+v except %+v\n", r.Pos, r.Action, r.Syscalls, exprString(r.When), r.Only, r.Except)
	}
	return b.String()
}

func exprString(e policy.Expr) string {
	switch e := e.(type) {
	case nil:
		return "always"
	case *policy.And:
		var parts []string
		for _, t := range e.Terms {
			parts = append(parts, exprString(t))
		}
		return "(" + strings.Join(parts, " && ") + ")"
	case *policy.Or:
		var parts []string
		for _, t := range e.Terms {
			parts = append(parts, exprString(t))
		}
		return "(" + strings.Join(parts, " || ") + ")"
	case *policy.Not:
		return "!" + exprString(e.X)
	case *policy.Cmp:
		arg := fmt.Sprintf("arg%d", e.Arg)
		if e.Arg < 0 {
			arg = e.ArgName
		}
		switch e.Op {
		case policy.OpIn:
			return fmt.Sprintf("%s in %v", arg, e.Values)
		case policy.OpMaskedEq:
			return fmt.Sprintf("%s & %v == %v", arg, e.Mask, e.Value)
		case policy.OpRange:
			return fmt.Sprintf("%s in %v..%v", arg, e.Value, e.High)
		}
		return fmt.Sprintf("%s %v %v", arg, e.Op, e.Value)
	}
	return "?"
}

// TestDifferential is the compiler's main test: random policies, compiled,
// decide boundary-directed and random inputs exactly as policy.Evaluate.
func TestDifferential(t *testing.T) {
	n := 300
	if testing.Short() {
		n = 60
	}
	for seed := 0; seed < n; seed++ {
		pg := &policyGen{r: rand.New(rand.NewPCG(uint64(seed), 1))}
		env := pg.env()
		p, res := compileRandom(t, pg, Options{Env: env})
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			checkAgainstEvaluate(t, p, res, env, pg.inputs(p, 1500))
		})
	}
}

// TestSplitDifferential forces splitting with a small instruction limit:
// the stack must decide exactly as the policy, each filter within the
// limit.
func TestSplitDifferential(t *testing.T) {
	n := 120
	if testing.Short() {
		n = 30
	}
	split := 0
	for seed := 0; seed < n; seed++ {
		pg := &policyGen{r: rand.New(rand.NewPCG(uint64(seed), 2))}
		env := pg.env()
		limit := 24 + pg.pick(64)
		p := pg.policy()
		res, err := Policy(p, Options{Env: env, MaxInstructions: limit})
		if err != nil {
			continue // too big even when split, or an invalid draw
		}
		for i, f := range res.Filters {
			if len(f) > limit {
				t.Fatalf("seed %d: filter %d has %d instructions, limit %d", seed, i, len(f), limit)
			}
		}
		if len(res.Filters) > 1 {
			split++
		}
		checkAgainstEvaluate(t, p, res, env, pg.inputs(p, 800))
	}
	if split < n/4 {
		t.Errorf("only %d of %d policies were split; the test does not exercise splitting", split, n)
	}
}

// unconditionalAllows lists, per accepted arch, the known syscalls the
// policy allows whatever the arguments, read off the rules directly: every
// applicable rule up to the first without condition allows, and so does
// the default if no rule is without condition.
func unconditionalAllows(p *policy.Policy, env policy.Env) map[*arch.Arch][]int {
	accepted, _ := p.AcceptedArches()
	out := map[*arch.Arch][]int{}
	for _, a := range accepted {
		for _, sc := range a.Syscalls() {
			allowed, decided := true, false
			for _, r := range p.Rules {
				if !r.AppliesOn(a, env) || !names(r, a, sc.Nr) {
					continue
				}
				if r.Action.Kind != policy.Allow {
					allowed = false
					break
				}
				if r.When == nil {
					decided = true
					break
				}
			}
			if allowed && (decided || p.Default.Kind == policy.Allow) {
				out[a] = append(out[a], sc.Nr)
			}
		}
	}
	return out
}

func names(r *policy.Rule, a *arch.Arch, nr int) bool {
	for _, t := range r.Syscalls {
		for _, sc := range t.Syscalls(a) {
			if sc.Nr == nr {
				return true
			}
		}
	}
	return false
}

// cacheTarget describes the kernel bitmap an arch's syscalls would be
// cached in (any arch: the analysis only needs its AUDIT_ARCH value).
func cacheTarget(a *arch.Arch) bpf.CacheTarget {
	return bpf.CacheTarget{AuditArch: a.AuditArch, Syscalls: a.MaxNr() + 1}
}

// TestCacheCoverage checks that every syscall allowed without conditions
// is served by the kernel's constant-action cache, for random policies
// and stacks.
func TestCacheCoverage(t *testing.T) {
	total := 0
	for seed := 0; seed < 200; seed++ {
		pg := &policyGen{r: rand.New(rand.NewPCG(uint64(seed), 3))}
		env := pg.env()
		opts := Options{Env: env}
		if seed%4 == 0 {
			opts.MaxInstructions = 40
		}
		p := pg.policy()
		res, err := Policy(p, opts)
		if err != nil {
			continue
		}
		for a, nrs := range unconditionalAllows(p, env) {
			if a.Name == "x32" {
				// The kernel caches no x32 numbers (bit 30 is past every
				// bitmap); the filter still never loads an argument for
				// them, which TestUnconditionalPathsLoadNoArgument checks.
				continue
			}
			cached := bpf.CachedAllowStack(res.Filters, cacheTarget(a))
			for _, nr := range nrs {
				total++
				if !cached[nr] {
					t.Fatalf("seed %d: %s syscall %d is allowed unconditionally but not cached\npolicy: %s\n%s", seed, a.Name, nr, dump(p), listing(res))
				}
			}
		}
	}
	if total < 1000 {
		t.Errorf("only %d unconditional allows checked", total)
	}
}

// TestUnconditionalPathsLoadNoArgument follows the path of every
// unconditional allow, x32 included, and checks it loads nothing but
// the number and the arch.
func TestUnconditionalPathsLoadNoArgument(t *testing.T) {
	for seed := 0; seed < 100; seed++ {
		pg := &policyGen{r: rand.New(rand.NewPCG(uint64(seed), 4))}
		env := pg.env()
		p := pg.policy()
		res, err := Policy(p, Options{Env: env})
		if err != nil {
			continue
		}
		order := byteOrder(res.BigEndian)
		for a, nrs := range unconditionalAllows(p, env) {
			for _, nr := range nrs {
				d := bpf.SeccompData{Arch: a.AuditArch, Nr: int32(nr)}
				r, err := bpf.Run(res.Filters[0], &d, order)
				if err != nil {
					t.Fatal(err)
				}
				for _, pc := range r.Path {
					ins := res.Filters[0][pc]
					if ins.Class() == bpf.ClassLD && ins.K != bpf.OffsetNr && ins.K != bpf.OffsetArch {
						t.Fatalf("seed %d: %s syscall %d allowed unconditionally loads offset %d at %d", seed, a.Name, nr, ins.K, pc)
					}
				}
			}
		}
	}
}

// TestDeterministic compiles the same policies twice, and once with the
// rules' frequencies in a fresh map, and wants identical programs.
func TestDeterministic(t *testing.T) {
	for seed := 0; seed < 50; seed++ {
		pg := &policyGen{r: rand.New(rand.NewPCG(uint64(seed), 5))}
		env := pg.env()
		p := pg.policy()
		a, errA := Policy(p, Options{Env: env})
		b, errB := Policy(p, Options{Env: env, Frequencies: DefaultFrequencies()})
		if (errA == nil) != (errB == nil) {
			t.Fatalf("seed %d: errors differ: %v / %v", seed, errA, errB)
		}
		if errA != nil {
			continue
		}
		if len(a.Filters) != len(b.Filters) {
			t.Fatalf("seed %d: %d filters, then %d", seed, len(a.Filters), len(b.Filters))
		}
		for i := range a.Filters {
			if !slices.Equal(a.Filters[i], b.Filters[i]) {
				t.Fatalf("seed %d: filter %d differs between two compilations", seed, i)
			}
		}
		if a.Stats.MeanPath != b.Stats.MeanPath {
			t.Fatalf("seed %d: mean path %v, then %v", seed, a.Stats.MeanPath, b.Stats.MeanPath)
		}
	}
}

// FuzzCompile compiles the random policy a seed draws and checks it
// against policy.Evaluate, as TestDifferential does for fixed seeds.
func FuzzCompile(f *testing.F) {
	for _, seed := range []uint64{0, 1, 2, 3, 42} {
		f.Add(seed, uint8(0))
	}
	f.Fuzz(func(t *testing.T, seed uint64, limit uint8) {
		pg := &policyGen{r: rand.New(rand.NewPCG(seed, 9))}
		env := pg.env()
		p := pg.policy()
		opts := Options{Env: env}
		if limit > 0 {
			opts.MaxInstructions = 20 + int(limit)
		}
		res, err := Policy(p, opts)
		if err != nil {
			return // an invalid draw, or too big to split
		}
		checkAgainstEvaluate(t, p, res, env, pg.inputs(p, 300))
	})
}

// TestConcurrent compiles policies from several goroutines at once: the
// recycled buffers must never be shared, and the programs must be those
// a lone compilation gives.
func TestConcurrent(t *testing.T) {
	var policies []*policy.Policy
	var want []*Result
	for seed := 0; len(policies) < 16; seed++ {
		pg := &policyGen{r: rand.New(rand.NewPCG(uint64(seed), 6))}
		p := pg.policy()
		res, err := Policy(p, Options{})
		if err != nil {
			continue
		}
		policies = append(policies, p)
		want = append(want, res)
	}
	done := make(chan error)
	for w := 0; w < 4; w++ {
		go func(w int) {
			for round := 0; round < 5; round++ {
				for i := range policies {
					i := (i + w) % len(policies)
					res, err := Policy(policies[i], Options{})
					if err != nil {
						done <- err
						return
					}
					for k := range res.Filters {
						if !slices.Equal(res.Filters[k], want[i].Filters[k]) {
							done <- fmt.Errorf("policy %d: filter %d differs when compiled concurrently", i, k)
							return
						}
					}
				}
			}
			done <- nil
		}(w)
	}
	for w := 0; w < 4; w++ {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
}

// TestLargePolicySplits compiles a policy with a distinct argument check
// on every syscall of three architectures, more than one filter holds,
// and checks the stack.
func TestLargePolicySplits(t *testing.T) {
	p := &policy.Policy{Default: policy.Action{Kind: policy.Errno, Data: 1}, Arches: []string{"x86_64", "i386", "x32"}}
	x86, _ := arch.ByName("x86_64")
	for i, sc := range x86.Syscalls() {
		p.Rules = append(p.Rules, &policy.Rule{
			Pos:      policy.Pos{File: "big", Line: i + 1, Col: 1},
			Syscalls: []policy.Target{{Name: sc.Name}},
			When: &policy.Or{Terms: []policy.Expr{
				&policy.Cmp{Arg: i % 6, Op: policy.OpEq, Value: policy.Num(uint64(i) * 0x10001)},
				&policy.Cmp{Arg: (i + 1) % 6, Op: policy.OpMaskedEq, Mask: policy.Num(0xff00ff), Value: policy.Num(uint64(i) & 0xff00ff)},
			}},
			Action: policy.Action{Kind: policy.Trace, Data: uint16(i)},
		})
	}
	res, err := Policy(p, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Filters) < 2 {
		t.Fatalf("%d filter(s) of %v instructions; the policy was meant to need a split", len(res.Filters), res.Stats.Instructions)
	}
	pg := &policyGen{r: rand.New(rand.NewPCG(8, 8))}
	checkAgainstEvaluate(t, p, res, policy.Env{}, pg.inputs(p, 5000))
	t.Logf("%d filters of %v instructions, longest path %d", len(res.Filters), res.Stats.Instructions, res.Stats.MaxPath)
}
