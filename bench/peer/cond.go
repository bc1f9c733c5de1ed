package peer

import (
	"fmt"
	"math/bits"
	"slices"

	"github.com/syscage/syscage/arch"
	"github.com/syscage/syscage/policy"
)

// Op is a comparison every peer's API offers in some form: libseccomp's
// SCMP_CMP_* set.
type Op uint8

// The comparisons, unsigned over the argument's width.
const (
	Eq       Op = iota + 1 // arg == Value
	Ne                     // arg != Value
	Lt                     // arg < Value
	Le                     // arg <= Value
	Gt                     // arg > Value
	Ge                     // arg >= Value
	MaskedEq               // arg & Mask == Value
)

var opNames = [...]string{Eq: "==", Ne: "!=", Lt: "<", Le: "<=", Gt: ">", Ge: ">=", MaskedEq: "&=="}

func (o Op) String() string { return opNames[o] }

// Atom is one comparison of one argument with constants, resolved for one
// architecture and syscall: the constants are already cut to the
// argument's width (Width 32: the low 32 bits, zero-extended).
type Atom struct {
	Arg   int
	Width int // 32 or 64
	Op    Op
	Value uint64
	Mask  uint64 // MaskedEq only
}

func (a Atom) String() string {
	if a.Op == MaskedEq {
		return fmt.Sprintf("arg%d & %#x == %#x", a.Arg, a.Mask, a.Value)
	}
	return fmt.Sprintf("arg%d %s %#x", a.Arg, a.Op, a.Value)
}

// Holds evaluates the atom on an argument vector, reading the argument
// over its width.
func (a Atom) Holds(args [6]uint64) bool {
	x := args[a.Arg] & widthMask(a.Width)
	return a.holdsOn(x)
}

func (a Atom) holdsOn(x uint64) bool {
	switch a.Op {
	case Eq:
		return x == a.Value
	case Ne:
		return x != a.Value
	case Lt:
		return x < a.Value
	case Le:
		return x <= a.Value
	case Gt:
		return x > a.Value
	case Ge:
		return x >= a.Value
	case MaskedEq:
		return x&a.Mask == a.Value
	}
	return false
}

func widthMask(w int) uint64 {
	if w == 32 {
		return 0xffffffff
	}
	return ^uint64(0)
}

// Conj is a conjunction of atoms; the empty Conj is true.
type Conj []Atom

// DNF is a disjunction of conjunctions; the empty DNF is false.
type DNF []Conj

// True is the DNF that always holds.
var True = DNF{Conj{}}

// Holds evaluates the disjunction.
func (d DNF) Holds(args [6]uint64) bool {
	for _, c := range d {
		if c.Holds(args) {
			return true
		}
	}
	return false
}

// Holds evaluates the conjunction.
func (c Conj) Holds(args [6]uint64) bool {
	for _, a := range c {
		if !a.Holds(args) {
			return false
		}
	}
	return true
}

// maxTerms bounds the size of a DNF, which negation and conjunction can
// blow up; policies beyond it are reported as unsupported.
const maxTerms = 256

// errTooBig reports a condition whose DNF exceeds maxTerms.
var errTooBig = fmt.Errorf("condition has more than %d terms in disjunctive normal form", maxTerms)

// ToDNF lowers a condition of syscall name on architecture a into a DNF
// of atoms, with negations pushed into the comparisons. A nil condition
// is True.
func ToDNF(e policy.Expr, a *arch.Arch, name string) (DNF, error) {
	if e == nil {
		return True, nil
	}
	return toDNF(e, a, name, false)
}

func toDNF(e policy.Expr, a *arch.Arch, name string, neg bool) (DNF, error) {
	switch e := e.(type) {
	case *policy.Not:
		return toDNF(e.X, a, name, !neg)
	case *policy.And, *policy.Or:
		var terms []policy.Expr
		isAnd := false
		if x, ok := e.(*policy.And); ok {
			terms, isAnd = x.Terms, true
		} else {
			terms = e.(*policy.Or).Terms
		}
		// De Morgan: a negated And is an Or of negations and vice versa.
		if isAnd != neg {
			out := True
			for _, t := range terms {
				d, err := toDNF(t, a, name, neg)
				if err != nil {
					return nil, err
				}
				if out, err = and(out, d); err != nil {
					return nil, err
				}
			}
			return out, nil
		}
		var out DNF
		for _, t := range terms {
			d, err := toDNF(t, a, name, neg)
			if err != nil {
				return nil, err
			}
			out = append(out, d...)
			if len(out) > maxTerms {
				return nil, errTooBig
			}
		}
		return out, nil
	case *policy.Cmp:
		return cmpDNF(e, a, name, neg)
	}
	return nil, fmt.Errorf("unknown condition %T", e)
}

// and is the conjunction of two DNFs.
func and(x, y DNF) (DNF, error) {
	if len(x)*len(y) > maxTerms {
		return nil, errTooBig
	}
	var out DNF
	for _, cx := range x {
		for _, cy := range y {
			c := make(Conj, 0, len(cx)+len(cy))
			c = append(append(c, cx...), cy...)
			out = append(out, c)
		}
	}
	return out, nil
}

// Negate returns the DNF of the negation of d.
func Negate(d DNF) (DNF, error) {
	out := True
	for _, c := range d {
		// not (a1 and a2 ...) = (not a1) or (not a2) ...
		var nc DNF
		for _, at := range c {
			nc = append(nc, negateAtom(at)...)
		}
		var err error
		if out, err = and(out, nc); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// negateAtom returns the atom's negation as a DNF: a masked equality
// fails when any one of its mask bits differs.
func negateAtom(at Atom) DNF {
	n := at
	switch at.Op {
	case Eq:
		n.Op = Ne
	case Ne:
		n.Op = Eq
	case Lt:
		n.Op = Ge
	case Le:
		n.Op = Gt
	case Gt:
		n.Op = Le
	case Ge:
		n.Op = Lt
	case MaskedEq:
		if at.Value&^at.Mask != 0 {
			return True // never held
		}
		var out DNF
		for m := at.Mask; m != 0; m &= m - 1 {
			b := m & -m
			out = append(out, Conj{{Arg: at.Arg, Width: at.Width, Op: MaskedEq, Mask: b, Value: (at.Value & b) ^ b}})
		}
		return out
	}
	return DNF{Conj{n}}
}

// cmpDNF lowers one comparison, negated when neg is set.
func cmpDNF(c *policy.Cmp, a *arch.Arch, name string, neg bool) (DNF, error) {
	idx, err := policy.ArgIndex(a, name, c)
	if err != nil {
		return nil, err
	}
	w := policy.ArgWidth(a, name, idx)
	wm := widthMask(w)
	val := func(v policy.Value) (uint64, error) {
		n, err := v.Resolve(a)
		return n & wm, err
	}
	atom := func(op Op, v, m uint64) Atom { return Atom{Arg: idx, Width: w, Op: op, Value: v, Mask: m} }
	var d DNF
	switch c.Op {
	case policy.OpIn:
		for _, v := range c.Values {
			n, err := val(v)
			if err != nil {
				return nil, err
			}
			d = append(d, Conj{atom(Eq, n, 0)})
		}
	case policy.OpRange:
		lo, err := val(c.Value)
		if err != nil {
			return nil, err
		}
		hi, err := val(c.High)
		if err != nil {
			return nil, err
		}
		d = DNF{Conj{atom(Ge, lo, 0), atom(Le, hi, 0)}}
	default:
		v, err := val(c.Value)
		if err != nil {
			return nil, err
		}
		switch c.Op {
		case policy.OpEq:
			d = DNF{Conj{atom(Eq, v, 0)}}
		case policy.OpNe:
			d = DNF{Conj{atom(Ne, v, 0)}}
		case policy.OpLt:
			d = DNF{Conj{atom(Lt, v, 0)}}
		case policy.OpLe:
			d = DNF{Conj{atom(Le, v, 0)}}
		case policy.OpGt:
			d = DNF{Conj{atom(Gt, v, 0)}}
		case policy.OpGe:
			d = DNF{Conj{atom(Ge, v, 0)}}
		case policy.OpMaskedEq:
			m, err := val(c.Mask)
			if err != nil {
				return nil, err
			}
			d = DNF{Conj{atom(MaskedEq, v, m)}}
		case policy.OpBitsOnly:
			d = DNF{Conj{atom(MaskedEq, 0, ^v&wm)}}
		case policy.OpBitsNone:
			d = DNF{Conj{atom(MaskedEq, 0, v)}}
		case policy.OpBitsAll:
			d = DNF{Conj{atom(MaskedEq, v, v)}}
		default:
			return nil, fmt.Errorf("comparison %s has no translation", c.Op)
		}
	}
	if neg {
		return Negate(d)
	}
	return d, nil
}

// OnePerArg rewrites a DNF so that no conjunction compares one argument
// twice, as libseccomp requires of a rule. Atoms on one argument are
// merged where one atom can say the same (an equality decides the others,
// bounds narrow to one interval, masked equalities combine); what is
// left is split into masked equalities (aligned blocks of the interval,
// points removed bit by bit), each of which becomes its own conjunction.
// Conjunctions that cannot hold are dropped. The result is equivalent.
func OnePerArg(d DNF) (DNF, error) {
	var out DNF
	for _, c := range d {
		alts, ok, err := onePerArg(c)
		if err != nil {
			return nil, err
		}
		if !ok {
			continue
		}
		out = append(out, alts...)
		if len(out) > maxTerms {
			return nil, errTooBig
		}
	}
	return out, nil
}

// onePerArg rewrites one conjunction; ok is false when it cannot hold.
func onePerArg(c Conj) (DNF, bool, error) {
	byArg := map[int][]Atom{}
	var order []int
	for _, at := range c {
		if _, seen := byArg[at.Arg]; !seen {
			order = append(order, at.Arg)
		}
		byArg[at.Arg] = append(byArg[at.Arg], at)
	}
	slices.Sort(order)
	out := DNF{Conj{}}
	for _, arg := range order {
		alts, ok, err := argAlternatives(byArg[arg])
		if err != nil || !ok {
			return nil, false, err
		}
		if len(out)*len(alts) > maxTerms {
			return nil, false, errTooBig
		}
		var next DNF
		for _, o := range out {
			for _, at := range alts {
				next = append(next, append(slices.Clone(o), at))
			}
		}
		out = next
	}
	return out, true, nil
}

// argAlternatives turns the atoms of one argument into atoms any one of
// which holds exactly when all of them hold.
func argAlternatives(atoms []Atom) ([]Atom, bool, error) {
	if len(atoms) == 1 {
		return atoms, true, nil
	}
	w := atoms[0].Width
	for _, at := range atoms {
		if at.Width != w {
			// Widths of one argument agree within one syscall.
			w = 64
		}
	}
	wm := widthMask(w)
	base := Atom{Arg: atoms[0].Arg, Width: w}
	for _, at := range atoms {
		if at.Op == Eq {
			for _, o := range atoms {
				if !o.holdsOn(at.Value) {
					return nil, false, nil
				}
			}
			return []Atom{at}, true, nil
		}
	}
	lo, hi := uint64(0), wm
	mask, mval := uint64(0), uint64(0)
	var nes []uint64
	for _, at := range atoms {
		switch at.Op {
		case Ne:
			nes = append(nes, at.Value)
		case Lt:
			if at.Value == 0 {
				return nil, false, nil
			}
			hi = min(hi, at.Value-1)
		case Le:
			hi = min(hi, at.Value)
		case Gt:
			if at.Value >= wm {
				return nil, false, nil
			}
			lo = max(lo, at.Value+1)
		case Ge:
			lo = max(lo, at.Value)
		case MaskedEq:
			if at.Value&^at.Mask != 0 || (mval^at.Value)&mask&at.Mask != 0 {
				return nil, false, nil
			}
			mask |= at.Mask
			mval |= at.Value
		}
	}
	if lo > hi {
		return nil, false, nil
	}
	// Points outside the interval or the mask pattern remove nothing.
	nes = slices.DeleteFunc(nes, func(x uint64) bool { return x < lo || x > hi || x&mask != mval })
	slices.Sort(nes)
	nes = slices.Compact(nes)
	full := lo == 0 && hi == wm
	// One atom can say it all.
	switch {
	case lo == hi:
		if lo&mask != mval || slices.Contains(nes, lo) {
			return nil, false, nil
		}
		return []Atom{withOp(base, Eq, lo, 0)}, true, nil
	case full && len(nes) == 0:
		return []Atom{withOp(base, MaskedEq, mval, mask)}, true, nil
	case mask == 0 && len(nes) == 0 && lo == 0:
		return []Atom{withOp(base, Le, hi, 0)}, true, nil
	case mask == 0 && len(nes) == 0 && hi == wm:
		return []Atom{withOp(base, Ge, lo, 0)}, true, nil
	case mask == 0 && full && len(nes) == 1:
		return []Atom{withOp(base, Ne, nes[0], 0)}, true, nil
	}
	// Split into blocks: the interval's aligned blocks, each narrowed by
	// the mask pattern, less the points.
	var cubes []Atom
	for _, b := range blocks(lo, hi, w) {
		// b is the set x & b.Mask == b.Value; intersect with the pattern.
		if (b.Value^mval)&b.Mask&mask != 0 {
			continue
		}
		cube := withOp(base, MaskedEq, b.Value|mval, b.Mask|mask)
		cubes = append(cubes, subtractPoints(cube, nes, wm)...)
		if len(cubes) > maxTerms {
			return nil, false, errTooBig
		}
	}
	if len(cubes) == 0 {
		return nil, false, nil
	}
	return cubes, true, nil
}

func withOp(a Atom, op Op, v, m uint64) Atom {
	a.Op, a.Value, a.Mask = op, v, m
	return a
}

// blocks covers [lo, hi] with aligned power-of-two blocks, each given as
// the masked equality that selects it.
func blocks(lo, hi uint64, w int) []Atom {
	wm := widthMask(w)
	var out []Atom
	for {
		// The largest aligned block starting at lo that stays within hi.
		size := uint(bits.TrailingZeros64(lo))
		if lo == 0 {
			size = uint(w)
		}
		for size > 0 && (size >= 64 || lo+(uint64(1)<<size)-1 > hi || lo+(uint64(1)<<size)-1 < lo) {
			size--
		}
		var m uint64
		if size < 64 {
			m = wm &^ (uint64(1)<<size - 1)
		}
		out = append(out, Atom{Op: MaskedEq, Mask: m, Value: lo & m})
		end := lo | ^m&wm
		if end >= hi {
			return out
		}
		lo = end + 1
	}
}

// subtractPoints removes the points from a masked-equality cube: for each
// point inside, the cube splits on the first free bit where they differ.
func subtractPoints(cube Atom, points []uint64, wm uint64) []Atom {
	cubes := []Atom{cube}
	for _, p := range points {
		var next []Atom
		for _, c := range cubes {
			if p&c.Mask != c.Value {
				next = append(next, c)
				continue
			}
			// c minus {p}: for each free bit, the sub-cube that agrees
			// with p on the bits fixed so far and differs on this one.
			m, v := c.Mask, c.Value
			for free := wm &^ c.Mask; free != 0; free &= free - 1 {
				b := free & -free
				next = append(next, Atom{Arg: c.Arg, Width: c.Width, Op: MaskedEq, Mask: m | b, Value: v | (^p & b)})
				m |= b
				v |= p & b
			}
		}
		cubes = next
	}
	return cubes
}
