package compile

import (
	"slices"
	"sort"

	"github.com/syscage/syscage/bpf"
	"github.com/syscage/syscage/policy"
)

// Conditions on one argument that are unions of a few ranges of values
// (a set of address families, "fd < 3 || fd == 7", a range with holes)
// are lowered as a search over the ranges rather than a test per term, so
// that a set of thirty values costs five or six comparisons, not thirty.
// Consecutive rules of a chain whose conditions are such sets on the same
// argument are searched together: the search finds the first rule that
// matches, like the chain, in a logarithmic number of tests.

// ival is a range of argument values, inclusive.
type ival struct{ lo, hi uint64 }

// maxIntervals bounds the sets kept as ranges.
const maxIntervals = 64

// intervals returns the argument a condition tests and the values for
// which it holds, as sorted disjoint ranges, when the condition tests a
// single argument and the set is a union of at most maxIntervals ranges.
// It also returns how many comparisons the condition has.
func intervals(c *cond) (arg int, wide bool, set []ival, leaves int, ok bool) {
	if c.kind == condTrue || c.kind == condFalse {
		return 0, false, nil, 0, false // also keeps the shared constants unwritten
	}
	iv := &c.iv
	if !iv.done {
		iv.arg, iv.wide, iv.set, iv.leaves, iv.ok = computeIntervals(c)
		iv.done = true
	}
	return iv.arg, iv.wide, iv.set, iv.leaves, iv.ok
}

// ivCache remembers what intervals found for a condition: the lowering
// asks about each condition several times (for a chain of sets, then for
// the condition itself and its terms).
type ivCache struct {
	done, ok, wide bool
	arg, leaves    int
	set            []ival
	buf            [2]ival // set's storage when it is short
}

func computeIntervals(c *cond) (arg int, wide bool, set []ival, leaves int, ok bool) {
	switch c.kind {
	case condCmp:
		set, ok = cmpIntervals(c, c.iv.buf[:0])
		return c.arg, c.wide, set, 1, ok
	case condNot:
		arg, wide, set, leaves, ok = intervals(c.kids[0])
		if !ok {
			return
		}
		return arg, wide, complement(set, domainMax(wide)), leaves, true
	case condAnd, condOr:
		for i, k := range c.kids {
			a, w, s, n, ok2 := intervals(k)
			if !ok2 || i > 0 && (a != arg || w != wide) {
				return 0, false, nil, 0, false
			}
			leaves += n
			switch {
			case i == 0:
				arg, wide, set = a, w, s
			case c.kind == condOr:
				set = union(set, s)
			default:
				set = intersect(set, s)
			}
			if len(set) > maxIntervals {
				return 0, false, nil, 0, false
			}
		}
		return arg, wide, set, leaves, true
	}
	return 0, false, nil, 0, false
}

func domainMax(wide bool) uint64 {
	if wide {
		return ^uint64(0)
	}
	return 1<<32 - 1
}

// cmpIntervals returns the values a comparison accepts, when they are a
// few ranges, appended to out.
func cmpIntervals(c *cond, out []ival) ([]ival, bool) {
	top := domainMax(c.wide)
	a, b := c.a, c.b
	switch c.op {
	case policy.OpEq:
		return append(out, ival{a, a}), true
	case policy.OpNe:
		// The complement of {a}.
		if a > 0 {
			out = append(out, ival{0, a - 1})
		}
		if a < top {
			out = append(out, ival{a + 1, top})
		}
		return out, true
	case policy.OpLt:
		return append(out, ival{0, a - 1}), a > 0
	case policy.OpLe:
		return append(out, ival{0, a}), true
	case policy.OpGt:
		return append(out, ival{a + 1, top}), a < top
	case policy.OpGe:
		return append(out, ival{a, top}), true
	case policy.OpRange:
		return append(out, ival{a, b}), a <= b
	case policy.OpIn:
		if len(c.set) > 4*maxIntervals {
			return nil, false
		}
		for _, v := range c.set {
			if n := len(out); n > 0 && out[n-1].hi+1 == v {
				out[n-1].hi = v
				continue
			}
			out = append(out, ival{v, v})
		}
		return out, len(out) <= maxIntervals
	case policy.OpBitsOnly:
		// Only the low k bits may be set: arg <= 2^k-1.
		if a&(a+1) == 0 {
			return append(out, ival{0, a}), true
		}
	case policy.OpMaskedEq:
		// A mask of high bits only: the value fixes them, the low bits
		// are free.
		if free := ^b & top; free&(free+1) == 0 && a&free == 0 {
			return append(out, ival{a, a | free}), true
		}
	}
	return nil, false
}

// complement returns the values of 0..top not in set.
func complement(set []ival, top uint64) []ival {
	var out []ival
	next := uint64(0)
	done := false
	for _, r := range set {
		if r.lo > next {
			out = append(out, ival{next, r.lo - 1})
		}
		if r.hi == top {
			done = true
			break
		}
		next = r.hi + 1
	}
	if !done {
		out = append(out, ival{next, top})
	}
	return out
}

func union(a, b []ival) []ival {
	all := append(append(make([]ival, 0, len(a)+len(b)), a...), b...)
	sort.Slice(all, func(i, j int) bool { return all[i].lo < all[j].lo })
	var out []ival
	for _, r := range all {
		if n := len(out); n > 0 && (r.lo <= out[n-1].hi || out[n-1].hi+1 == r.lo) {
			out[n-1].hi = max(out[n-1].hi, r.hi)
			continue
		}
		out = append(out, r)
	}
	return out
}

func intersect(a, b []ival) []ival {
	var out []ival
	for i, j := 0, 0; i < len(a) && j < len(b); {
		lo, hi := max(a[i].lo, b[j].lo), min(a[i].hi, b[j].hi)
		if lo <= hi {
			out = append(out, ival{lo, hi})
		}
		if a[i].hi < b[j].hi {
			i++
		} else {
			j++
		}
	}
	return out
}

// piece is one rule of a chain searched as ranges.
type piece struct {
	set    []ival
	target nodeID
}

// piecewise lowers a first-match chain of range sets on one argument:
// the value goes to the target of the first piece whose set holds it,
// or to fallback.
func (l *lowerer) piecewise(arg int, wide bool, pieces []piece, fallback nodeID) nodeID {
	// Cut the domain at every range boundary and give each cut the
	// target of the first piece that holds it.
	top := domainMax(wide)
	cuts := append(l.cuts[:0], 0)
	for _, p := range pieces {
		for _, r := range p.set {
			cuts = append(cuts, r.lo)
			if r.hi != top {
				cuts = append(cuts, r.hi+1)
			}
		}
	}
	slices.Sort(cuts)
	cuts = slices.Compact(cuts)
	// cut k starts a segment that ends before cut k+1; every range
	// starts at a cut and ends before one, so it covers whole segments.
	// Pieces are taken in order and a segment keeps the first target it
	// gets.
	targets := grow(&l.targets, len(cuts))
	for k := range targets {
		targets[k] = noNode
	}
	for _, p := range pieces {
		for _, r := range p.set {
			k, _ := slices.BinarySearch(cuts, r.lo)
			for ; k < len(cuts) && cuts[k] <= r.hi; k++ {
				if targets[k] == noNode {
					targets[k] = p.target
				}
			}
		}
	}
	segs, codes := l.segs[:0], l.codes[:0]
	for k, lo := range cuts {
		hi := top
		if k+1 < len(cuts) {
			hi = cuts[k+1] - 1
		}
		code := targets[k]
		if code == noNode {
			code = fallback
		}
		if n := len(codes); n > 0 && codes[n-1] == code {
			segs[n-1].hi = hi
			continue
		}
		segs = append(segs, ival{lo, hi})
		codes = append(codes, code)
	}
	l.cuts, l.segs, l.codes = cuts, segs, codes
	lo := bpf.ArgLowOffset(arg, l.big)
	if !wide {
		runs := segmentRuns(segs, codes, l.runs[:0])
		l.runs = runs
		return l.g.load(lo, balanced(l.g, runs, 0, len(runs)-1))
	}
	return l.wideSearch(lo, bpf.ArgHighOffset(arg, l.big), segs, codes)
}

// segmentRuns turns 32-bit segments into runs for a balanced search: all
// values are taken as equally likely.
func segmentRuns(segs []ival, codes []nodeID, buf []run) []run {
	for i, s := range segs {
		buf = append(buf, run{lo: uint32(s.lo), hi: uint32(s.hi), code: codes[i], weight: 1})
	}
	return buf
}

// wideSearch decides 64-bit segments: a search over the high half finds
// the high values where the decision is uniform, and a search over the
// low half decides the others.
func (l *lowerer) wideSearch(loOff, hiOff uint32, segs []ival, codes []nodeID) nodeID {
	g := l.g
	var hiRuns []run
	addHi := func(lo, hi uint32, code nodeID) {
		if n := len(hiRuns); n > 0 && hiRuns[n-1].code == code && hiRuns[n-1].hi+1 == lo {
			hiRuns[n-1].hi = hi
			return
		}
		hiRuns = append(hiRuns, run{lo: lo, hi: hi, code: code, weight: 1})
	}
	// The low-half segments of the high value being collected.
	var bucket []ival
	var bucketCodes []nodeID
	bucketHi := uint32(0)
	flush := func() {
		if len(bucket) == 0 {
			return
		}
		code := bucketCodes[0]
		if len(bucket) > 1 {
			runs := segmentRuns(bucket, bucketCodes, nil)
			code = g.load(loOff, balanced(g, runs, 0, len(runs)-1))
		}
		addHi(bucketHi, bucketHi, code)
		bucket, bucketCodes = bucket[:0], bucketCodes[:0]
	}
	add := func(h uint32, lo, hi uint32, code nodeID) {
		if len(bucket) > 0 && h != bucketHi {
			flush()
		}
		bucketHi = h
		bucket = append(bucket, ival{uint64(lo), uint64(hi)})
		bucketCodes = append(bucketCodes, code)
	}
	for i, s := range segs {
		hl, hh := uint32(s.lo>>32), uint32(s.hi>>32)
		if hl == hh {
			add(hl, uint32(s.lo), uint32(s.hi), codes[i])
			continue
		}
		add(hl, uint32(s.lo), ^uint32(0), codes[i])
		flush()
		if hh-hl > 1 {
			addHi(hl+1, hh-1, codes[i])
		}
		add(hh, 0, uint32(s.hi), codes[i])
	}
	flush()
	return g.load(hiOff, balanced(g, hiRuns, 0, len(hiRuns)-1))
}

// worthSearching reports whether a condition on one argument is better
// lowered as a search over its ranges than term by term: when it has at
// least three comparisons, or is a set of more than a few values.
func worthSearching(c *cond, leaves int) bool {
	if c.kind == condCmp {
		return c.op == policy.OpIn && len(c.set) > 6
	}
	return leaves >= 3
}
