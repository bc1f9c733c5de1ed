package space

import (
	"fmt"
	"math/bits"
	"strings"

	"github.com/syscage/syscage/arch"
	"github.com/syscage/syscage/policy"
)

// DefaultLimit bounds the argument vectors Args returns for one syscall.
const DefaultLimit = 1 << 16

// pred is one comparison resolved for one syscall on one architecture:
// the constants are numbers, already cut to the argument's width.
type pred struct {
	op         policy.CmpOp
	v, m, high uint64
	vals       []uint64
}

// holds evaluates the comparison on argument value x (cut to width).
func (p *pred) holds(x uint64) bool {
	return p.op.Holds(x, p.v, p.m, p.high, p.vals)
}

// points returns the constants that split the value line for ordered and
// equality comparisons; bitConsts those that split the bits.
func (p *pred) points() []uint64 {
	switch p.op {
	case policy.OpEq, policy.OpNe, policy.OpLt, policy.OpLe, policy.OpGt, policy.OpGe:
		return []uint64{p.v}
	case policy.OpIn:
		return p.vals
	case policy.OpRange:
		return []uint64{p.v, p.high}
	}
	return nil
}

func (p *pred) bitConsts() []uint64 {
	switch p.op {
	case policy.OpMaskedEq:
		return []uint64{p.m, p.v}
	case policy.OpBitsOnly, policy.OpBitsNone, policy.OpBitsAll:
		return []uint64{p.v}
	}
	return nil
}

// argPreds are the comparisons on one argument slot.
type argPreds struct {
	width int
	preds []*pred
}

// Args returns argument vectors for the syscall name, number nr, on a:
// at least one for every class of argument values that the comparisons
// in conds tell apart (two vectors are in one class when every
// comparison has the same truth value on both). Arguments no condition
// reads are 0.
//
// Each comparison reads one argument, so the classes of vectors are the
// products of the classes of each argument's values. Per argument, the
// values are cut at every constant of the ordered and equality
// comparisons (v and v+1), and the bits are split into atoms: the bits
// every mask and bit-set constant treats alike. Each atom is clear, set,
// or (when it has several bits) partly set, and for each interval and
// each choice of atom states the least value with those states is a
// candidate; one candidate per class is kept. This is exact. When there
// are too many atom states to try (a range written as masked
// comparisons, as OCI profiles do, splits the bits finely), the bits of
// each interval are walked instead (walkIntervals), which is exact too;
// only when that walk meets too many states are a few atom states tried,
// and exact is false.
//
// When the product of the per-argument classes exceeds limit (0 means
// DefaultLimit), each argument's classes are still all visited, but not
// every combination: exact is false.
func Args(a *arch.Arch, name string, conds []policy.Expr, limit int) (vecs [][6]uint64, exact bool, err error) {
	if limit <= 0 {
		limit = DefaultLimit
	}
	var perArg [6]*argPreds
	for _, e := range conds {
		if err := collect(e, a, name, &perArg); err != nil {
			return nil, false, err
		}
	}
	exact = true
	var reps [6][]uint64
	total := 1
	for i, ap := range perArg {
		if ap == nil {
			reps[i] = []uint64{0}
			continue
		}
		var ok bool
		reps[i], ok = ap.representatives(limit)
		exact = exact && ok
		if total <= limit {
			total *= len(reps[i])
		}
	}
	if total <= limit {
		return product(reps), exact, nil
	}
	return cover(reps, limit), false, nil
}

// collect resolves the comparisons of e for syscall name on a.
func collect(e policy.Expr, a *arch.Arch, name string, perArg *[6]*argPreds) error {
	switch e := e.(type) {
	case *policy.And:
		for _, t := range e.Terms {
			if err := collect(t, a, name, perArg); err != nil {
				return err
			}
		}
	case *policy.Or:
		for _, t := range e.Terms {
			if err := collect(t, a, name, perArg); err != nil {
				return err
			}
		}
	case *policy.Not:
		return collect(e.X, a, name, perArg)
	case *policy.Cmp:
		idx, err := policy.ArgIndex(a, name, e)
		if err != nil {
			return err
		}
		width := policy.ArgWidth(a, name, idx)
		p, err := resolveCmp(e, a, width)
		if err != nil {
			return err
		}
		if perArg[idx] == nil {
			perArg[idx] = &argPreds{width: width}
		}
		perArg[idx].preds = append(perArg[idx].preds, p)
	case nil:
	default:
		return fmt.Errorf("unknown condition %T", e)
	}
	return nil
}

// resolveCmp returns the comparison with its constants resolved on a and
// cut to width bits.
func resolveCmp(c *policy.Cmp, a *arch.Arch, width int) (*pred, error) {
	mask := widthMask(width)
	val := func(v policy.Value) (uint64, error) {
		n, err := v.Resolve(a)
		return n & mask, err
	}
	p := &pred{op: c.Op}
	var err error
	if c.Op == policy.OpIn {
		for _, v := range c.Values {
			n, err := val(v)
			if err != nil {
				return nil, err
			}
			p.vals = append(p.vals, n)
		}
		return p, nil
	}
	if p.v, err = val(c.Value); err != nil {
		return nil, err
	}
	switch c.Op {
	case policy.OpMaskedEq:
		p.m, err = val(c.Mask)
	case policy.OpRange:
		p.high, err = val(c.High)
	}
	return p, err
}

func widthMask(width int) uint64 {
	if width >= 64 {
		return ^uint64(0)
	}
	return 1<<uint(width) - 1
}

// maxCandidates bounds the candidate values tried for one argument.
const maxCandidates = 1 << 15

// representatives returns one value of every class of the argument's
// values, and whether that is proven complete.
//
// A value's class is fixed by the interval between cut points it lies
// in (which decides every ordered and equality comparison) and by the
// state of each atom (clear, full or, for atoms of several bits, partly
// set), which decides every bit test. So the least value of each
// interval in each combination of atom states, where one exists, is a
// complete set of representatives.
func (ap *argPreds) representatives(limit int) ([]uint64, bool) {
	top := widthMask(ap.width)
	var starts, bitc []uint64
	starts = append(starts, 0)
	for _, p := range ap.preds {
		for _, v := range p.points() {
			starts = append(starts, v)
			if v < top {
				starts = append(starts, v+1)
			}
		}
		bitc = append(bitc, p.bitConsts()...)
	}
	starts = sortedUnique(starts)
	exact := true
	var cands []uint64
	if len(bitc) == 0 {
		// Only orderings and equalities: the start of each interval
		// stands for it.
		cands = starts
	} else {
		atoms := splitAtoms(ap.width, bitc)
		combos := atomCombos(atoms, maxCandidates/len(starts))
		if combos == nil {
			// Too many atom states to try them all: walk the bits of
			// each interval instead, which finds every reachable class.
			if c, ok := ap.walkIntervals(starts, top); ok {
				cands = c
			} else {
				exact = false
				combos = fewCombos(len(atoms))
			}
		}
		for i, lo := range starts {
			hi := top
			if i+1 < len(starts) {
				hi = starts[i+1] - 1
			}
			for _, c := range combos {
				if x, ok := leastInState(lo, hi, atoms, c); ok {
					cands = append(cands, x)
				}
			}
		}
	}
	// Keep the first candidate of each class.
	seen := map[string]bool{}
	var out []uint64
	var key strings.Builder
	for _, x := range cands {
		key.Reset()
		for _, p := range ap.preds {
			if p.holds(x) {
				key.WriteByte('1')
			} else {
				key.WriteByte('0')
			}
		}
		if k := key.String(); !seen[k] {
			seen[k] = true
			out = append(out, x)
		}
	}
	return out, exact
}

// bitTest is a bit comparison as "x & m == v".
type bitTest struct{ m, v uint64 }

// bitTest returns p as x & m == v, or false for comparisons of order and
// equality.
func (p *pred) bitTest(top uint64) (bitTest, bool) {
	switch p.op {
	case policy.OpMaskedEq:
		return bitTest{p.m & top, p.v}, true
	case policy.OpBitsOnly:
		return bitTest{^p.v & top, 0}, true
	case policy.OpBitsNone:
		return bitTest{p.v & top, 0}, true
	case policy.OpBitsAll:
		return bitTest{p.v & top, p.v}, true
	}
	return bitTest{}, false
}

// maxWalkStates bounds the states walkIntervals keeps per bit.
const maxWalkStates = 1 << 12

// walkIntervals returns, for each interval between consecutive starts
// (the last ends at top), a value of every class the bit comparisons can
// tell apart in it: the orderings and equalities hold alike across an
// interval, so these are the argument's classes. It walks the bits from
// the top, keeping one prefix per state: whether the prefix still equals
// the interval's low and high bounds, and which bit comparisons it has
// already broken. Two prefixes in one state can be completed the same
// ways, so this misses no class. It gives up (false) past maxWalkStates
// states or 64 bit comparisons.
func (ap *argPreds) walkIntervals(starts []uint64, top uint64) ([]uint64, bool) {
	var tests []bitTest
	for _, p := range ap.preds {
		if bt, ok := p.bitTest(top); ok {
			tests = append(tests, bt)
		}
	}
	if len(tests) > 64 {
		return nil, false
	}
	var never uint64 // comparisons no value satisfies: v has bits outside m
	for j, bt := range tests {
		if bt.v&^bt.m != 0 {
			never |= 1 << uint(j)
		}
	}
	type state struct {
		tightLo, tightHi bool
		broken           uint64
	}
	var out []uint64
	for i, lo := range starts {
		hi := top
		if i+1 < len(starts) {
			hi = starts[i+1] - 1
		}
		if lo > hi {
			continue
		}
		cur := map[state]uint64{{true, true, never}: 0}
		order := []state{{true, true, never}}
		for b := ap.width - 1; b >= 0; b-- {
			bit := uint64(1) << uint(b)
			next := make(map[state]uint64, len(cur)*2)
			var nextOrder []state
			for _, s := range order {
				prefix := cur[s]
				for _, c := range []uint64{0, bit} {
					if s.tightLo && c < lo&bit || s.tightHi && c > hi&bit {
						continue
					}
					ns := state{s.tightLo && c == lo&bit, s.tightHi && c == hi&bit, s.broken}
					for j, bt := range tests {
						if bt.m&bit != 0 && c != bt.v&bit {
							ns.broken |= 1 << uint(j)
						}
					}
					if _, ok := next[ns]; !ok {
						next[ns] = prefix | c
						nextOrder = append(nextOrder, ns)
					}
				}
			}
			if len(next) > maxWalkStates {
				return nil, false
			}
			cur, order = next, nextOrder
		}
		seen := map[uint64]bool{}
		for _, s := range order {
			if !seen[s.broken] {
				seen[s.broken] = true
				out = append(out, cur[s])
			}
		}
	}
	return out, true
}

// splitAtoms groups the bits of a width-bit value into atoms: bits that
// every constant in consts either contains or lacks together.
func splitAtoms(width int, consts []uint64) []uint64 {
	byKey := map[string]uint64{}
	var order []string
	var key strings.Builder
	for b := 0; b < width; b++ {
		key.Reset()
		for _, c := range consts {
			if c>>uint(b)&1 == 1 {
				key.WriteByte('1')
			} else {
				key.WriteByte('0')
			}
		}
		k := key.String()
		if _, ok := byKey[k]; !ok {
			order = append(order, k)
		}
		byKey[k] |= 1 << uint(b)
	}
	out := make([]uint64, len(order))
	for i, k := range order {
		out[i] = byKey[k]
	}
	return out
}

// Atom states.
const (
	atomClear   = 0
	atomFull    = 1
	atomPartial = 2
)

// atomCombos returns every combination of atom states (partial only for
// atoms of several bits), or nil when there are more than max.
func atomCombos(atoms []uint64, max int) [][]uint8 {
	n := 1
	for _, at := range atoms {
		if bits.OnesCount64(at) > 1 {
			n *= 3
		} else {
			n *= 2
		}
		if n > max {
			return nil
		}
	}
	out := [][]uint8{nil}
	for _, at := range atoms {
		forms := []uint8{atomClear, atomFull}
		if bits.OnesCount64(at) > 1 {
			forms = append(forms, atomPartial)
		}
		next := make([][]uint8, 0, len(out)*len(forms))
		for _, c := range out {
			for _, f := range forms {
				next = append(next, append(c[:len(c):len(c)], f))
			}
		}
		out = next
	}
	return out
}

// fewCombos is the fallback when there are too many atoms to combine:
// all clear, all full, and each atom alone full or alone clear.
func fewCombos(n int) [][]uint8 {
	fill := func(v uint8) []uint8 {
		c := make([]uint8, n)
		for i := range c {
			c[i] = v
		}
		return c
	}
	out := [][]uint8{fill(atomClear), fill(atomFull)}
	for i := 0; i < n; i++ {
		on, off := fill(atomClear), fill(atomFull)
		on[i], off[i] = atomFull, atomClear
		out = append(out, on, off)
	}
	return out
}

// leastInState returns the least x in [lo, hi] whose atoms are in the
// states of want.
func leastInState(lo, hi uint64, atoms []uint64, want []uint8) (uint64, bool) {
	if lo > hi {
		return 0, false
	}
	if inState(lo, atoms, want) {
		return lo, true
	}
	// x agrees with lo above some bit i, has 1 at bit i where lo has 0,
	// and is as small as the states allow below; the lowest workable i
	// gives the least x.
	for i := 0; i < 64; i++ {
		bit := uint64(1) << uint(i)
		if lo&bit != 0 {
			continue
		}
		below := bit - 1
		prefix := lo&^(bit|below) | bit
		x, ok := complete(prefix, below, atoms, want)
		if !ok {
			continue
		}
		if x <= hi {
			return x, true
		}
		return 0, false
	}
	return 0, false
}

// complete fills the bits in free (all below the bits of prefix) as
// small as possible so that every atom ends in its wanted state.
func complete(prefix, free uint64, atoms []uint64, want []uint8) (uint64, bool) {
	x := prefix
	for j, at := range atoms {
		fixed, open := at&^free, at&free
		hasSet, hasClear := prefix&fixed != 0, fixed&^prefix != 0
		switch want[j] {
		case atomClear:
			if hasSet {
				return 0, false
			}
		case atomFull:
			if hasClear {
				return 0, false
			}
			x |= open
		case atomPartial:
			switch {
			case hasSet && hasClear:
			case hasSet:
				if open == 0 {
					return 0, false
				}
			default:
				// Needs a 1 among the open bits; the atom has
				// another bit, fixed clear or open and left 0.
				if open == 0 {
					return 0, false
				}
				x |= open & -open
			}
		}
	}
	return x, true
}

// inState reports whether x's atoms are in the wanted states.
func inState(x uint64, atoms []uint64, want []uint8) bool {
	for j, at := range atoms {
		var s uint8
		switch x & at {
		case 0:
			s = atomClear
		case at:
			s = atomFull
		default:
			s = atomPartial
		}
		if s != want[j] {
			return false
		}
	}
	return true
}

// product returns every combination of the per-argument values.
func product(reps [6][]uint64) [][6]uint64 {
	out := [][6]uint64{{}}
	for i, vs := range reps {
		if len(vs) == 1 {
			for j := range out {
				out[j][i] = vs[0]
			}
			continue
		}
		next := make([][6]uint64, 0, len(out)*len(vs))
		for _, v := range out {
			for _, x := range vs {
				v[i] = x
				next = append(next, v)
			}
		}
		out = next
	}
	return out
}

// cover returns up to limit vectors that use every value of every
// argument at least once: each argument's values against the first
// values of the others, then a deterministic walk through further
// combinations.
func cover(reps [6][]uint64, limit int) [][6]uint64 {
	var base [6]uint64
	for i, vs := range reps {
		base[i] = vs[0]
	}
	out := [][6]uint64{base}
	for i, vs := range reps {
		for _, x := range vs[1:] {
			v := base
			v[i] = x
			out = append(out, v)
		}
	}
	// A linear congruential walk over the index space picks further
	// combinations without repeating the pattern of any one argument.
	var state uint64 = 0x9e3779b97f4a7c15
	for len(out) < limit {
		var v [6]uint64
		for i, vs := range reps {
			state = state*6364136223846793005 + 1442695040888963407
			v[i] = vs[(state>>33)%uint64(len(vs))]
		}
		out = append(out, v)
	}
	return out
}

// Holds evaluates condition e for syscall name on a with the given
// arguments, as policy.Evaluate does: int-typed arguments (and all of
// them on 32-bit architectures) compare their low 32 bits.
func Holds(e policy.Expr, a *arch.Arch, name string, args [6]uint64) (bool, error) {
	switch e := e.(type) {
	case nil:
		return true, nil
	case *policy.And:
		for _, t := range e.Terms {
			ok, err := Holds(t, a, name, args)
			if err != nil || !ok {
				return false, err
			}
		}
		return true, nil
	case *policy.Or:
		for _, t := range e.Terms {
			ok, err := Holds(t, a, name, args)
			if err != nil || ok {
				return ok, err
			}
		}
		return false, nil
	case *policy.Not:
		ok, err := Holds(e.X, a, name, args)
		return !ok, err
	case *policy.Cmp:
		idx, err := policy.ArgIndex(a, name, e)
		if err != nil {
			return false, err
		}
		width := policy.ArgWidth(a, name, idx)
		p, err := resolveCmp(e, a, width)
		if err != nil {
			return false, err
		}
		return p.holds(args[idx] & widthMask(width)), nil
	}
	return false, fmt.Errorf("unknown condition %T", e)
}
