// Package measure takes the measurements of the benchmark report: what a
// filter costs on paper (size, instructions run per syscall under a real
// syscall mix, with and without the kernel's constant-action cache, its
// longest path, the optimal comparison tree it is held to), how long each
// compiler takes, and what a syscall really costs in the kernel under
// each filter, measured in child processes.
package measure

import (
	"encoding/binary"
	"fmt"
	"math"
	"slices"

	"github.com/syscage/syscage/arch"
	"github.com/syscage/syscage/bpf"
	"github.com/syscage/syscage/compile"
	"github.com/syscage/syscage/policy"
)

// Mix is a syscall mix on one architecture: syscall numbers and their
// shares.
type Mix struct {
	Arch    *arch.Arch
	Nrs     []int
	Weights []float64 // summing to 1
}

// BundledMix returns compile's bundled frequency mix on architecture a,
// keeping the syscalls a has.
func BundledMix(a *arch.Arch) Mix {
	m := Mix{Arch: a}
	freq := compile.DefaultFrequencies()
	names := make([]string, 0, len(freq))
	for n := range freq {
		names = append(names, n)
	}
	slices.Sort(names)
	total := 0.0
	for _, n := range names {
		if nr, ok := a.Lookup(n); ok {
			m.Nrs = append(m.Nrs, nr)
			m.Weights = append(m.Weights, freq[n])
			total += freq[n]
		}
	}
	for i := range m.Weights {
		m.Weights[i] /= total
	}
	return m
}

// Static is what a filter stack costs on paper.
type Static struct {
	// Instructions is the total size of the stack.
	Instructions int
	// Filters counts the programs in the stack.
	Filters int
	// MeanCached is the mean number of instructions a syscall of the mix
	// runs, arguments zero, counting those the kernel's constant-action
	// cache serves as zero.
	MeanCached float64
	// MeanUncached is the same with the cache off (a stacked filter or a
	// kernel before 5.11 turns it off).
	MeanUncached float64
	// CachedShare is the share of the mix the cache serves.
	CachedShare float64
	// WorstPath is the longest path through the stack's control-flow
	// graph: an upper bound on the instructions any input runs, the same
	// measure for every compiler.
	WorstPath int
}

// Measure computes the static costs of a filter stack on the mix.
func Measure(filters []bpf.Program, mix Mix) (Static, error) {
	a := mix.Arch
	s := Static{Filters: len(filters)}
	for _, f := range filters {
		s.Instructions += len(f)
		s.WorstPath += WorstPath(f)
	}
	cached := bpf.CachedAllowStack(filters, bpf.CacheTarget{AuditArch: a.AuditArch, Syscalls: a.MaxNr() + 1})
	for i, nr := range mix.Nrs {
		d := &bpf.SeccompData{Nr: int32(nr), Arch: a.AuditArch}
		n := 0
		for _, f := range filters {
			_, ex, err := bpf.Evaluate(f, d, binary.NativeEndian)
			if err != nil {
				return s, err
			}
			n += ex
		}
		w := mix.Weights[i]
		s.MeanUncached += w * float64(n)
		if nr < len(cached) && cached[nr] {
			s.CachedShare += w
		} else {
			s.MeanCached += w * float64(n)
		}
	}
	return s, nil
}

// WorstPath returns the number of instructions on the longest path from
// the first instruction to a return, following both edges of every
// conditional jump (classic BPF jumps only forward, so the graph is
// acyclic).
func WorstPath(p bpf.Program) int {
	long := make([]int, len(p)+1)
	for i := len(p) - 1; i >= 0; i-- {
		ins := p[i]
		next := func(j int) int {
			if j > len(p) {
				return 0
			}
			return long[j]
		}
		switch ins.Op & 0x07 {
		case bpf.ClassRET:
			long[i] = 1
		case bpf.ClassJMP:
			if ins.Op&0xf0 == bpf.JmpJA {
				long[i] = 1 + next(i+1+int(ins.K))
			} else {
				long[i] = 1 + max(next(i+1+int(ins.Jt)), next(i+1+int(ins.Jf)))
			}
		default:
			long[i] = 1 + next(i+1)
		}
	}
	return long[0]
}

// Bound is the lower bound issue 3 holds syscage to: the mean cost, under
// the mix, of the optimal comparison tree over the runs of syscall
// numbers that share one decision, plus the arch check, the number load
// and the return.
type Bound struct {
	// Runs is the number of runs of numbers with one decision, over the
	// whole 32-bit range of the architecture's AUDIT_ARCH value.
	Runs int
	// Mean is the bound on the mean instructions per syscall of the mix
	// with the cache off: the optimal tree's weighted depth, plus 4 (load
	// and check the arch, load the number, return), plus 2 (load and
	// test) for syscalls whose decision depends on their arguments.
	Mean float64
}

// OptimalBound computes the bound for policy p on the mix's
// architecture. Two numbers share a decision when the same rules, in the
// same order, can decide them and the same fallback (default, unknown or
// bad-arch) follows; a run is a maximal range of numbers that share one.
// The tree is an optimal alphabetic binary tree over the runs with the
// mix's weights (Knuth's algorithm): each inner node is one "A >= k"
// test. A JEQ test can isolate one number inside a run in a single
// instruction, which no alphabetic tree can, so a compiler may beat the
// bound.
func OptimalBound(p *policy.Policy, env policy.Env, mix Mix) (Bound, error) {
	a := mix.Arch
	// The rules that can decide each number, in order.
	rulesOf := map[uint32][]int{}
	condOf := map[uint32]bool{}
	for i, r := range p.Rules {
		if !r.AppliesOn(a, env) {
			continue
		}
		for _, t := range r.Syscalls {
			for _, sc := range t.Syscalls(a) {
				nr := uint32(sc.Nr)
				if l := rulesOf[nr]; len(l) == 0 || l[len(l)-1] != i {
					rulesOf[nr] = append(l, i)
				}
				condOf[nr] = condOf[nr] || r.When != nil
			}
		}
	}
	keyOf := func(nr uint32) (string, bool, error) {
		dec, err := policy.Evaluate(p, policy.Input{AuditArch: a.AuditArch, Nr: nr}, env)
		if err != nil {
			return "", false, err
		}
		if dec.Reason == "badarch" {
			return "badarch", false, nil
		}
		return fmt.Sprint(dec.Reason, dec.Action, rulesOf[nr]), condOf[nr], nil
	}
	weight := map[uint32]float64{}
	for i, nr := range mix.Nrs {
		weight[uint32(nr)] += mix.Weights[i]
	}
	// Walk the number range: every number up to past the table, then the
	// edges where the decision can change above it (the x32 bit, the
	// sign bit, the ranges other ABIs use).
	edges := []uint64{}
	for nr := uint64(0); nr <= uint64(a.MaxNr())+1; nr++ {
		edges = append(edges, nr)
	}
	for _, e := range []uint64{0x40000000, 0x80000000, 0xc0000000} {
		if e > uint64(a.MaxNr())+1 {
			edges = append(edges, e)
		}
	}
	for _, other := range arch.ByAuditArch(a.AuditArch) {
		if other != a {
			for nr := uint64(other.NrBase); nr <= uint64(other.MaxNr())+1; nr++ {
				edges = append(edges, nr)
			}
		}
	}
	slices.Sort(edges)
	edges = slices.Compact(edges)
	var w []float64
	var conds []bool
	prev := ""
	for i, e := range edges {
		key, cond, err := keyOf(uint32(e))
		if err != nil {
			return Bound{}, err
		}
		// A point between edges decides like the edge below it, except
		// right after the last edge of a listed range; checking the
		// number after each edge catches a change inside a gap.
		if i == 0 || key != prev {
			w = append(w, 0)
			conds = append(conds, cond)
			prev = key
		}
		w[len(w)-1] += weight[uint32(e)]
	}
	cost := alphabeticTree(w)
	mean := cost + 4
	for i, c := range conds {
		if c {
			mean += 2 * w[i]
		}
	}
	return Bound{Runs: len(w), Mean: mean}, nil
}

// alphabeticTree returns the least weighted depth of a binary tree whose
// leaves, in order, have the given weights: cost(i..j) = W(i..j) +
// min over the split k of cost(i..k) + cost(k+1..j), with Knuth's
// monotone split to keep it quadratic.
func alphabeticTree(w []float64) float64 {
	n := len(w)
	if n <= 1 {
		return 0
	}
	prefix := make([]float64, n+1)
	for i, x := range w {
		prefix[i+1] = prefix[i] + x
	}
	cost := make([][]float64, n)
	root := make([][]int, n)
	for i := range cost {
		cost[i] = make([]float64, n)
		root[i] = make([]int, n)
		root[i][i] = i
	}
	for length := 2; length <= n; length++ {
		for i := 0; i+length-1 < n; i++ {
			j := i + length - 1
			best, bk := math.Inf(1), i
			lo, hi := root[i][j-1], root[i+1][j]
			if lo > hi {
				lo, hi = hi, lo
			}
			lo, hi = max(lo, i), min(hi, j-1)
			for k := lo; k <= hi; k++ {
				if c := cost[i][k] + cost[k+1][j]; c < best {
					best, bk = c, k
				}
			}
			cost[i][j] = best + prefix[j+1] - prefix[i]
			root[i][j] = bk
		}
	}
	return cost[0][n-1]
}
