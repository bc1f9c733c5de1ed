package compile

import (
	"math"
	"math/bits"
	"strings"
	"testing"

	"github.com/syscage/syscage/arch"
	"github.com/syscage/syscage/bpf"
	"github.com/syscage/syscage/policy"
)

// This file measures the compiler on the moby default profile for x86_64
// against the targets of the project: compile and validate time, program
// size, the mean number of instructions a syscall of the bundled mix runs
// next to the optimal comparison tree for that mix, and the longest path
// next to libseccomp's binary tree. The bound and the estimate are
// computed here from the policy, independently of the compiler's own
// model.

var mobyEnv = policy.Env{Caps: dockerCaps, Kernel: "6.18"}

// BenchmarkMobyCompile compiles and validates (Policy validates before it
// returns) the moby profile, as Docker applies it on x86_64 (x86_64, i386
// and x32), and for x86_64 alone, and reports the figures of the result.
func BenchmarkMobyCompile(b *testing.B) {
	p := mobyProfile(b)
	for _, bc := range []struct {
		name   string
		arches []string
	}{{"docker", nil}, {"x86_64-only", []string{"x86_64"}}} {
		b.Run(bc.name, func(b *testing.B) {
			opts := Options{Env: mobyEnv, Arches: bc.arches}
			var res *Result
			for b.Loop() {
				var err error
				if res, err = Policy(p, opts); err != nil {
					b.Fatal(err)
				}
			}
			f := mobyFigures(b, p, res)
			b.ReportMetric(float64(res.Stats.Instructions[0]), "insns")
			b.ReportMetric(res.Stats.MeanPath, "mean-path")
			b.ReportMetric(f.bound, "bound-path")
			b.ReportMetric(res.Stats.MeanPath/f.bound, "ratio")
			b.ReportMetric(float64(res.Stats.MaxPath), "max-path")
			b.ReportMetric(float64(f.libseccompMax), "libseccomp-max-path")
		})
	}
}

// TestMobyTargets checks the targets the benchmark reports: mean path
// within 1.2 times the optimal tree's and a longest path no longer than
// libseccomp's.
func TestMobyTargets(t *testing.T) {
	p := mobyProfile(t)
	res, err := Policy(p, Options{Env: mobyEnv})
	if err != nil {
		t.Fatal(err)
	}
	f := mobyFigures(t, p, res)
	ratio := res.Stats.MeanPath / f.bound
	t.Logf("moby x86_64: %d instructions, mean path %.3f, optimal bound %.3f (ratio %.3f), max path %d, libseccomp's about %d",
		res.Stats.Instructions[0], res.Stats.MeanPath, f.bound, ratio, res.Stats.MaxPath, f.libseccompMax)
	if ratio > 1.2 {
		t.Errorf("mean path %.3f is %.2f times the optimal comparison tree's %.3f; the target is 1.2", res.Stats.MeanPath, ratio, f.bound)
	}
	if res.Stats.MaxPath > f.libseccompMax {
		t.Errorf("longest path %d is longer than libseccomp's binary tree (about %d)", res.Stats.MaxPath, f.libseccompMax)
	}
}

type figures struct {
	bound         float64 // mean instructions of the optimal comparison tree under the mix
	libseccompMax int     // estimated longest path of libseccomp's binary tree
}

// mobyFigures computes the bound and the libseccomp estimate for the
// first architecture of p.
func mobyFigures(tb testing.TB, p *policy.Policy, res *Result) figures {
	tb.Helper()
	accepted, err := p.AcceptedArches()
	if err != nil {
		tb.Fatal(err)
	}
	first := accepted[0]

	// The runs of the first arch's AUDIT_ARCH value: numbers whose
	// decision (the applicable rules' actions and conditions, and the
	// fallback) is the same, in order, from the policy itself.
	type point struct {
		nr  uint32
		key string
	}
	var pts []point
	seen := map[uint32]bool{}
	addNr := func(nr uint32) {
		if !seen[nr] {
			seen[nr] = true
			pts = append(pts, point{nr: nr})
		}
	}
	for _, a := range arch.ByAuditArch(first.AuditArch) {
		for _, s := range a.Syscalls() {
			addNr(uint32(s.Nr))
		}
	}
	for _, r := range p.Rules {
		for _, t := range r.Syscalls {
			for _, a := range arch.ByAuditArch(first.AuditArch) {
				for _, s := range t.Syscalls(a) {
					if s.Nr >= 0 {
						addNr(uint32(s.Nr))
					}
				}
			}
		}
	}
	// Every gap between points is a run of its own too; its key is that
	// of any number in it.
	slicesSortPoints := func() {
		for i := 1; i < len(pts); i++ {
			for j := i; j > 0 && pts[j].nr < pts[j-1].nr; j-- {
				pts[j], pts[j-1] = pts[j-1], pts[j]
			}
		}
	}
	slicesSortPoints()
	var all []point
	prev := int64(-1)
	for _, pt := range pts {
		if int64(pt.nr) > prev+1 {
			all = append(all, point{nr: uint32(prev + 1)})
		}
		all = append(all, pt)
		prev = int64(pt.nr)
	}
	if prev < math.MaxUint32 {
		all = append(all, point{nr: uint32(prev + 1)})
	}
	// Split gaps at the x32 bit boundaries, where the arch changes.
	for _, b := range []uint32{x32Bit, 2 * x32Bit, 3 * x32Bit} {
		if !seen[b] {
			all = append(all, point{nr: b})
		}
	}
	pts = all
	slicesSortPoints()
	for i := range pts {
		pts[i].key = decisionKey(tb, p, first.AuditArch, pts[i].nr)
	}

	// Weights of the mix on the first arch; the run of each point.
	mix := DefaultFrequencies()
	type runInfo struct {
		w float64
	}
	var runs []runInfo
	runOf := map[uint32]int{}
	for i, pt := range pts {
		if i == 0 || pt.key != pts[i-1].key {
			runs = append(runs, runInfo{})
		}
		runOf[pt.nr] = len(runs) - 1
	}
	var total float64
	for name, w := range mix {
		nr, ok := first.Lookup(name)
		if !ok {
			continue
		}
		// The run holding nr: the last point at or below it.
		r := -1
		for _, pt := range pts {
			if pt.nr > uint32(nr) {
				break
			}
			r = runOf[pt.nr]
		}
		runs[r].w += w
		total += w
	}

	// Optimal alphabetic tree over the runs, by the plain O(n^3)
	// recurrence: cost(i,j) = W(i,j) + min over k of cost(i,k) + cost(k+1,j).
	n := len(runs)
	pre := make([]float64, n+1)
	for i, r := range runs {
		pre[i+1] = pre[i] + r.w
	}
	cost := make([][]float64, n)
	for i := range cost {
		cost[i] = make([]float64, n)
	}
	for length := 2; length <= n; length++ {
		for i := 0; i+length-1 < n; i++ {
			j := i + length - 1
			best := math.Inf(1)
			for k := i; k < j; k++ {
				best = min(best, cost[i][k]+cost[k+1][j])
			}
			cost[i][j] = best + pre[j+1] - pre[i]
		}
	}

	// Both sides pay the same for argument checks: add, per syscall,
	// what the compiled filter spends after the search (its rule code
	// and return), and the arch check, number load and return.
	var leaf float64
	order := byteOrder(res.BigEndian)
	for name, w := range mix {
		nr, ok := first.Lookup(name)
		if !ok {
			continue
		}
		d := bpf.SeccompData{Arch: first.AuditArch, Nr: int32(nr)}
		run, err := bpf.Run(res.Filters[0], &d, order)
		if err != nil {
			tb.Fatal(err)
		}
		after := 1 // the return
		for i, pc := range run.Path {
			ins := res.Filters[0][pc]
			if ins.Class() == bpf.ClassLD && ins.K != bpf.OffsetNr && ins.K != bpf.OffsetArch {
				after = len(run.Path) - i
				break
			}
		}
		leaf += w * float64(after)
	}
	bound := 3 + (cost[0][n-1]+leaf)/total // ld arch, jeq arch, ld nr

	// libseccomp's binary tree: arch load and check, number load, the x32
	// check, ceil(log2 N) levels over the N syscalls with rules, the JEQ of
	// the leaf, the argument checks of the syscall with the most (rules
	// checked one after the other, one jump per comparison of a 32-bit
	// argument and two for a 64-bit one, counting a single load: a
	// generous estimate) and the return.
	withRules := map[int]bool{}
	maxChecks := 0
	for _, s := range first.Syscalls() {
		checks := 0
		for _, r := range p.Rules {
			if !r.AppliesOn(first, mobyEnv) || !names(r, first, s.Nr) {
				continue
			}
			withRules[s.Nr] = true
			checks += comparisons(r.When, first, s.Name)
		}
		if checks > 0 {
			checks++ // the load
		}
		maxChecks = max(maxChecks, checks)
	}
	levels := bits.Len(uint(len(withRules) - 1))
	return figures{bound: bound, libseccompMax: 4 + levels + 1 + maxChecks + 1}
}

// decisionKey describes what the policy does with a number under an
// AUDIT_ARCH value: the arch, then the action and condition of every
// applicable rule up to the first without condition, then the fallback.
func decisionKey(tb testing.TB, p *policy.Policy, audit, nr uint32) string {
	accepted, _ := p.AcceptedArches()
	a := archOf(audit, nr)
	ok := false
	for _, x := range accepted {
		ok = ok || x == a
	}
	if !ok {
		return "badarch"
	}
	var b strings.Builder
	for _, r := range p.Rules {
		if !r.AppliesOn(a, mobyEnv) || !names(r, a, int(nr)) {
			continue
		}
		ret, err := r.Action.Ret(a)
		if err != nil {
			tb.Fatal(err)
		}
		b.WriteString(bpf.ActionString(ret))
		if r.When == nil {
			return b.String()
		}
		b.WriteString(" if " + policy.FormatExpr(r.When) + "; ")
	}
	if _, known := a.SyscallName(int(nr)); known {
		return b.String() + "default"
	}
	return b.String() + "unknown"
}

// comparisons counts the jumps libseccomp spends on a condition: one per
// comparison of a 32-bit argument, two per 64-bit one.
func comparisons(e policy.Expr, a *arch.Arch, syscall string) int {
	switch e := e.(type) {
	case *policy.And:
		n := 0
		for _, t := range e.Terms {
			n += comparisons(t, a, syscall)
		}
		return n
	case *policy.Or:
		n := 0
		for _, t := range e.Terms {
			n += comparisons(t, a, syscall)
		}
		return n
	case *policy.Not:
		return comparisons(e.X, a, syscall)
	case *policy.Cmp:
		idx, err := policy.ArgIndex(a, syscall, e)
		if err == nil && policy.ArgWidth(a, syscall, idx) == 32 {
			return 1
		}
		return 2
	}
	return 0
}
