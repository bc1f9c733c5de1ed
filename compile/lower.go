package compile

import (
	"github.com/syscage/syscage/bpf"
	"github.com/syscage/syscage/policy"
)

// lowerer turns resolved conditions into graph nodes. Conditions become
// branching code directly: And and Or short-circuit, Not swaps the
// targets, and each comparison becomes tests on 32-bit halves. Every test
// loads its word first; the optimiser removes the loads whose word is
// already in A.
type lowerer struct {
	g   *graph
	big bool // big-endian argument words
	// Scratch for piecewise, kept between compilations with the model.
	cuts    []uint64
	targets []nodeID
	segs    []ival
	codes   []nodeID
	runs    []run
	pieces  []piece
}

func split(v uint64) (lo, hi uint32) { return uint32(v), uint32(v >> 32) }

// cond returns the entry of code that goes to t when c holds and to f
// otherwise.
func (l *lowerer) cond(c *cond, t, f nodeID) nodeID {
	if c.kind != condTrue && c.kind != condFalse {
		if arg, wide, set, leaves, ok := intervals(c); ok && worthSearching(c, leaves) {
			l.pieces = append(l.pieces[:0], piece{set, t})
			return l.piecewise(arg, wide, l.pieces, f)
		}
	}
	switch c.kind {
	case condTrue:
		return t
	case condFalse:
		return f
	case condNot:
		return l.cond(c.kids[0], f, t)
	case condAnd:
		next := t
		for i := len(c.kids) - 1; i >= 0; i-- {
			next = l.cond(c.kids[i], next, f)
		}
		return next
	case condOr:
		next := f
		for i := len(c.kids) - 1; i >= 0; i-- {
			next = l.cond(c.kids[i], t, next)
		}
		return next
	}
	lo := bpf.ArgLowOffset(c.arg, l.big)
	if !c.wide {
		return l.cmp32(lo, c, t, f)
	}
	return l.cmp64(lo, bpf.ArgHighOffset(c.arg, l.big), c, t, f)
}

// cmp32 lowers a comparison of one 32-bit word.
func (l *lowerer) cmp32(off uint32, c *cond, t, f nodeID) nodeID {
	g := l.g
	a, b := uint32(c.a), uint32(c.b)
	switch c.op {
	case policy.OpEq:
		return g.test(off, bpf.JmpJEQ, a, t, f)
	case policy.OpNe:
		return g.test(off, bpf.JmpJEQ, a, f, t)
	case policy.OpLt:
		return g.test(off, bpf.JmpJGE, a, f, t)
	case policy.OpLe:
		return g.test(off, bpf.JmpJGT, a, f, t)
	case policy.OpGt:
		return g.test(off, bpf.JmpJGT, a, t, f)
	case policy.OpGe:
		return g.test(off, bpf.JmpJGE, a, t, f)
	case policy.OpMaskedEq:
		return l.maskedEq(off, b, a, t, f)
	case policy.OpBitsOnly:
		return g.test(off, bpf.JmpJSET, ^a, f, t)
	case policy.OpBitsNone:
		return g.test(off, bpf.JmpJSET, a, f, t)
	case policy.OpBitsAll:
		return l.maskedEq(off, a, a, t, f)
	case policy.OpIn:
		vals := make([]uint32, len(c.set))
		for i, v := range c.set {
			vals[i] = uint32(v)
		}
		return g.load(off, l.in32(vals, t, f))
	case policy.OpRange:
		return g.test(off, bpf.JmpJGE, a, g.test(off, bpf.JmpJGT, b, f, t), f)
	}
	return f
}

// maskedEq lowers (word & m) == v for one word, v within m. A single bit
// or a zero value needs only JSET and leaves A intact; otherwise A is
// masked and compared.
func (l *lowerer) maskedEq(off, m, v uint32, t, f nodeID) nodeID {
	g := l.g
	switch {
	case m == 0:
		if v == 0 {
			return t
		}
		return f
	case v&^m != 0:
		return f
	case m == ^uint32(0):
		return g.test(off, bpf.JmpJEQ, v, t, f)
	case v == 0:
		return g.test(off, bpf.JmpJSET, m, f, t)
	case v == m && singleBit(m):
		return g.test(off, bpf.JmpJSET, m, t, f)
	}
	return g.load(off, g.and(m, g.jump(bpf.JmpJEQ, v, t, f)))
}

// in32 tests A against sorted distinct values: a run of JEQ for a few,
// a binary search for many.
func (l *lowerer) in32(vals []uint32, t, f nodeID) nodeID {
	g := l.g
	if len(vals) <= 6 {
		next := f
		for i := len(vals) - 1; i >= 0; i-- {
			next = g.jump(bpf.JmpJEQ, vals[i], t, next)
		}
		return next
	}
	mid := len(vals) / 2
	return g.jump(bpf.JmpJGE, vals[mid], l.in32(vals[mid:], t, f), l.in32(vals[:mid], t, f))
}

// cmp64 lowers a comparison of a whole 64-bit argument from its halves,
// reading a half only where the outcome depends on it.
func (l *lowerer) cmp64(lo, hi uint32, c *cond, t, f nodeID) nodeID {
	g := l.g
	switch c.op {
	case policy.OpEq:
		vl, vh := split(c.a)
		return g.test(lo, bpf.JmpJEQ, vl, g.test(hi, bpf.JmpJEQ, vh, t, f), f)
	case policy.OpNe:
		vl, vh := split(c.a)
		return g.test(lo, bpf.JmpJEQ, vl, g.test(hi, bpf.JmpJEQ, vh, f, t), t)
	case policy.OpGt:
		return l.gt64(lo, hi, c.a, t, f)
	case policy.OpLe:
		return l.gt64(lo, hi, c.a, f, t)
	case policy.OpGe:
		return l.ge64(lo, hi, c.a, t, f)
	case policy.OpLt:
		return l.ge64(lo, hi, c.a, f, t)
	case policy.OpMaskedEq:
		ml, mh := split(c.b)
		vl, vh := split(c.a)
		return l.maskedEq(lo, ml, vl, l.maskedEq(hi, mh, vh, t, f), f)
	case policy.OpBitsOnly:
		il, ih := split(^c.a)
		return l.noneOf(lo, il, l.noneOf(hi, ih, t, f), f)
	case policy.OpBitsNone:
		vl, vh := split(c.a)
		return l.noneOf(lo, vl, l.noneOf(hi, vh, t, f), f)
	case policy.OpBitsAll:
		vl, vh := split(c.a)
		return l.maskedEq(lo, vl, vl, l.maskedEq(hi, vh, vh, t, f), f)
	case policy.OpIn:
		return l.in64(lo, hi, c.set, t, f)
	case policy.OpRange:
		return l.ge64(lo, hi, c.a, l.gt64(lo, hi, c.b, f, t), f)
	}
	return f
}

// noneOf tests that the word has none of the bits of m.
func (l *lowerer) noneOf(off, m uint32, t, f nodeID) nodeID {
	if m == 0 {
		return t
	}
	return l.g.test(off, bpf.JmpJSET, m, f, t)
}

// gt64 lowers arg > v: the high halves decide unless they are equal.
func (l *lowerer) gt64(lo, hi uint32, v uint64, t, f nodeID) nodeID {
	g := l.g
	vl, vh := split(v)
	if vl == ^uint32(0) {
		// No low half exceeds vl: arg > v exactly when hi > vh.
		return g.test(hi, bpf.JmpJGT, vh, t, f)
	}
	eq := g.test(hi, bpf.JmpJEQ, vh, g.test(lo, bpf.JmpJGT, vl, t, f), f)
	return g.test(hi, bpf.JmpJGT, vh, t, eq)
}

// ge64 lowers arg >= v.
func (l *lowerer) ge64(lo, hi uint32, v uint64, t, f nodeID) nodeID {
	g := l.g
	vl, vh := split(v)
	if vl == 0 {
		// Every low half is >= 0: arg >= v exactly when hi >= vh.
		return g.test(hi, bpf.JmpJGE, vh, t, f)
	}
	eq := g.test(hi, bpf.JmpJEQ, vh, g.test(lo, bpf.JmpJGE, vl, t, f), f)
	return g.test(hi, bpf.JmpJGT, vh, t, eq)
}

// in64 tests membership of sorted 64-bit values. Values sharing a high
// half share its test: with one high half (the usual case) the low half
// is tested first and the high half once after; otherwise the high half
// selects a group whose low halves are tested next.
func (l *lowerer) in64(lo, hi uint32, set []uint64, t, f nodeID) nodeID {
	g := l.g
	type group struct {
		hi  uint32
		los []uint32
	}
	var groups []group
	for _, v := range set {
		vl, vh := split(v)
		if n := len(groups); n > 0 && groups[n-1].hi == vh {
			groups[n-1].los = append(groups[n-1].los, vl)
			continue
		}
		groups = append(groups, group{hi: vh, los: []uint32{vl}})
	}
	if len(groups) == 1 {
		hiOK := g.test(hi, bpf.JmpJEQ, groups[0].hi, t, f)
		return g.load(lo, l.in32(groups[0].los, hiOK, f))
	}
	next := f
	for i := len(groups) - 1; i >= 0; i-- {
		gr := groups[i]
		next = g.jump(bpf.JmpJEQ, gr.hi, g.load(lo, l.in32(gr.los, t, f)), next)
	}
	return g.load(hi, next)
}
