package compile

import (
	"fmt"
	"math/bits"
	"sort"

	"github.com/syscage/syscage/arch"
	"github.com/syscage/syscage/policy"
)

// condKind is the shape of a resolved condition.
type condKind uint8

const (
	condTrue condKind = iota
	condFalse
	condAnd
	condOr
	condNot
	condCmp
)

// cond is an argument condition resolved for one syscall on one arch:
// argument names are indexes, symbolic constants are numbers, and the
// width of each comparison is decided. Constants of a 32-bit comparison
// are already cut to their low 32 bits, so evaluation and lowering need
// not care.
type cond struct {
	kind condKind
	kids []*cond // condAnd, condOr: the terms; condNot: the one operand

	// condCmp:
	arg  int  // argument index 0..5
	wide bool // compare all 64 bits; otherwise the low 32
	op   policy.CmpOp
	a, b uint64   // Value, and Mask (OpMaskedEq) or High (OpRange)
	set  []uint64 // OpIn members, sorted, without duplicates

	iv ivCache // what intervals found, once asked
}

var (
	condAlways = &cond{kind: condTrue}
	condNever  = &cond{kind: condFalse}
)

// eval decides the condition for argument values, with the semantics of
// policy.Evaluate. Explain uses it to name the rule that decided.
func (c *cond) eval(args *[6]uint64) bool {
	switch c.kind {
	case condTrue:
		return true
	case condFalse:
		return false
	case condAnd:
		for _, k := range c.kids {
			if !k.eval(args) {
				return false
			}
		}
		return true
	case condOr:
		for _, k := range c.kids {
			if k.eval(args) {
				return true
			}
		}
		return false
	case condNot:
		return !c.kids[0].eval(args)
	}
	v := args[c.arg]
	if !c.wide {
		v = uint64(uint32(v))
	}
	if c.op == policy.OpIn {
		i := sort.Search(len(c.set), func(i int) bool { return c.set[i] >= v })
		return i < len(c.set) && c.set[i] == v
	}
	// a is the value, b the mask of OpMaskedEq or the high end of OpRange.
	return c.op.Holds(v, c.a, c.b, c.b, nil)
}

// resolver turns policy conditions into conds for one arch.
type resolver struct {
	arch *arch.Arch
	// mem allocates the conditions; nil means the heap.
	mem *condArena
	// The signature of the syscall last asked about: consecutive rules
	// often test the same syscall.
	sigName      string
	sig          arch.Signature
	sigOK, known bool
}

// resolve resolves e for syscall name (may be "" for a number the table
// does not name). It folds comparisons whose outcome the width already
// decides, so that a condition that always holds compiles to nothing.
func (r *resolver) resolve(e policy.Expr, syscall string) (*cond, error) {
	switch e := e.(type) {
	case nil:
		return condAlways, nil
	case *policy.And:
		return r.resolveList(condAnd, e.Terms, syscall)
	case *policy.Or:
		return r.resolveList(condOr, e.Terms, syscall)
	case *policy.Not:
		x, err := r.resolve(e.X, syscall)
		if err != nil {
			return nil, err
		}
		return r.mem.not(x), nil
	case *policy.Cmp:
		return r.resolveCmp(e, syscall)
	}
	return nil, fmt.Errorf("%s: condition of unexpected type %T", e.Position(), e)
}

func not(x *cond) *cond { return (*condArena)(nil).not(x) }

// not returns the negation of x.
func (a *condArena) not(x *cond) *cond {
	switch x.kind {
	case condTrue:
		return condNever
	case condFalse:
		return condAlways
	case condNot:
		return x.kids[0]
	}
	return a.cond(cond{kind: condNot, kids: a.kids([]*cond{x})})
}

func (r *resolver) resolveList(kind condKind, terms []policy.Expr, syscall string) (*cond, error) {
	// absorbing is the term value that decides the whole list: false for
	// And, true for Or; neutral terms drop out.
	absorbing, neutral := condFalse, condTrue
	if kind == condOr {
		absorbing, neutral = condTrue, condFalse
	}
	// The terms are collected on a stack shared by the nested lists,
	// each taking its terms off before it returns.
	var local []*cond
	st := &local
	if r.mem != nil {
		st = &r.mem.stack
	}
	start := len(*st)
	defer func() { *st = (*st)[:start] }()
	for _, t := range terms {
		c, err := r.resolve(t, syscall)
		if err != nil {
			return nil, err
		}
		switch c.kind {
		case absorbing:
			return c, nil
		case neutral:
			continue
		case kind:
			*st = append(*st, c.kids...)
		default:
			*st = append(*st, c)
		}
	}
	kids := (*st)[start:]
	switch len(kids) {
	case 0:
		if neutral == condTrue {
			return condAlways, nil
		}
		return condNever, nil
	case 1:
		return kids[0], nil
	}
	return r.mem.cond(cond{kind: kind, kids: r.mem.kids(kids)}), nil
}

// condArena allocates the conditions of a model, from chunks the model
// keeps between compilations: a profile has a few dozen conditions, and
// allocating each on its own costs more than resolving it. A nil arena
// allocates on the heap.
type condArena struct {
	conds  [][]cond
	ci, cu int // chunk and element next handed out
	ptrs   [][]*cond
	pi, pu int
	stack  []*cond // resolveList's terms
}

// reset makes every chunk free again; the conditions handed out before
// must not be used after.
func (a *condArena) reset() { a.ci, a.cu, a.pi, a.pu = 0, 0, 0, 0 }

// cond returns a new condition equal to c.
func (a *condArena) cond(c cond) *cond {
	if a == nil {
		p := new(cond) // not &c, which would put every c on the heap
		*p = c
		return p
	}
	if a.ci == len(a.conds) {
		a.conds = append(a.conds, make([]cond, 64))
	}
	ch := a.conds[a.ci]
	p := &ch[a.cu]
	*p = c
	if a.cu++; a.cu == len(ch) {
		a.ci, a.cu = a.ci+1, 0
	}
	return p
}

// kids returns a copy of ks, which the caller may not append to.
func (a *condArena) kids(ks []*cond) []*cond {
	const chunk = 256
	n := len(ks)
	if a == nil || n > chunk/4 {
		return append([]*cond(nil), ks...)
	}
	if a.pi < len(a.ptrs) && a.pu+n > len(a.ptrs[a.pi]) {
		a.pi, a.pu = a.pi+1, 0
	}
	if a.pi == len(a.ptrs) {
		a.ptrs = append(a.ptrs, make([]*cond, chunk))
	}
	out := a.ptrs[a.pi][a.pu : a.pu+n : a.pu+n]
	copy(out, ks)
	a.pu += n
	return out
}

// argSlot finds the argument a comparison reads and its width on r.arch,
// with the helpers policy.Evaluate uses: on 32-bit ABIs every argument
// is 32 bits wide; on 64-bit ones an argument of C type int is 32 bits
// and everything else, unknown signatures included, 64.
func (r *resolver) argSlot(c *policy.Cmp, syscall string) (idx int, wide bool, err error) {
	if c.Arg < 0 || c.Arg > 5 {
		// Named arguments, and errors, as policy.ArgIndex reads them.
		idx, err = policy.ArgIndex(r.arch, syscall, c)
		if err != nil {
			return 0, false, &policy.Error{Pos: c.Pos, Msg: err.Error()}
		}
	} else {
		idx = c.Arg
	}
	return idx, r.wide(syscall, idx), nil
}

// wide reports whether a filter compares all 64 bits of argument idx of
// syscall on r.arch: policy.ArgWidth, with the signature remembered.
func (r *resolver) wide(syscall string, idx int) bool {
	if r.arch.Bits == 32 {
		return false
	}
	if !r.known || syscall != r.sigName {
		r.sigName, r.known = syscall, true
		r.sig, r.sigOK = r.arch.Signature(syscall)
	}
	return !(r.sigOK && idx < len(r.sig.Args) && r.sig.Args[idx].Kind == arch.KindInt)
}

// value resolves a constant on r.arch: '|'-joined numbers and symbols.
func (r *resolver) value(v policy.Value, pos policy.Pos) (uint64, error) {
	n, err := v.Resolve(r.arch)
	if err != nil {
		return 0, &policy.Error{Pos: pos, Msg: err.Error()}
	}
	return n, nil
}

func (r *resolver) resolveCmp(e *policy.Cmp, syscall string) (*cond, error) {
	idx, wide, err := r.argSlot(e, syscall)
	if err != nil {
		return nil, err
	}
	c := r.mem.cond(cond{kind: condCmp, arg: idx, wide: wide, op: e.Op})
	cut := func(v uint64) uint64 {
		if wide {
			return v
		}
		return uint64(uint32(v))
	}
	switch e.Op {
	case policy.OpIn:
		for _, v := range e.Values {
			n, err := r.value(v, e.Pos)
			if err != nil {
				return nil, err
			}
			c.set = append(c.set, cut(n))
		}
		sort.Slice(c.set, func(i, j int) bool { return c.set[i] < c.set[j] })
		c.set = dedup(c.set)
	case policy.OpMaskedEq, policy.OpRange:
		if c.a, err = r.value(e.Value, e.Pos); err != nil {
			return nil, err
		}
		other := e.Mask
		if e.Op == policy.OpRange {
			other = e.High
		}
		if c.b, err = r.value(other, e.Pos); err != nil {
			return nil, err
		}
		c.a, c.b = cut(c.a), cut(c.b)
	case policy.OpEq, policy.OpNe, policy.OpLt, policy.OpLe, policy.OpGt, policy.OpGe,
		policy.OpBitsOnly, policy.OpBitsNone, policy.OpBitsAll:
		if c.a, err = r.value(e.Value, e.Pos); err != nil {
			return nil, err
		}
		c.a = cut(c.a)
	default:
		return nil, &policy.Error{Pos: e.Pos, Msg: fmt.Sprintf("unknown comparison %v", e.Op)}
	}
	return c.foldIn(r.mem), nil
}

func dedup(s []uint64) []uint64 {
	out := s[:0]
	for i, v := range s {
		if i == 0 || v != s[i-1] {
			out = append(out, v)
		}
	}
	return out
}

// fold replaces comparisons whose outcome does not depend on the argument
// by a constant, and rewrites a few into simpler equivalents.
func (c *cond) fold() *cond { return c.foldIn(nil) }

// foldIn is fold with the new conditions from mem.
func (c *cond) foldIn(mem *condArena) *cond {
	max := uint64(1)<<63 - 1 + 1<<63
	if !c.wide {
		max = 1<<32 - 1
	}
	switch c.op {
	case policy.OpLt:
		if c.a == 0 {
			return condNever
		}
	case policy.OpLe:
		if c.a == max {
			return condAlways
		}
	case policy.OpGt:
		if c.a == max {
			return condNever
		}
	case policy.OpGe:
		if c.a == 0 {
			return condAlways
		}
	case policy.OpMaskedEq:
		if c.a&^c.b != 0 {
			return condNever // the value has bits the mask clears
		}
		if c.b == 0 {
			return condAlways
		}
		if c.b == max {
			return mem.cond(cond{kind: condCmp, arg: c.arg, wide: c.wide, op: policy.OpEq, a: c.a})
		}
	case policy.OpBitsOnly:
		if c.a == max {
			return condAlways
		}
	case policy.OpBitsNone, policy.OpBitsAll:
		if c.a == 0 {
			return condAlways
		}
	case policy.OpIn:
		switch len(c.set) {
		case 0:
			return condNever
		case 1:
			return mem.cond(cond{kind: condCmp, arg: c.arg, wide: c.wide, op: policy.OpEq, a: c.set[0]})
		}
	case policy.OpRange:
		switch {
		case c.a > c.b:
			return condNever
		case c.a == 0 && c.b == max:
			return condAlways
		case c.a == c.b:
			return mem.cond(cond{kind: condCmp, arg: c.arg, wide: c.wide, op: policy.OpEq, a: c.a})
		case c.a == 0:
			return mem.cond(cond{kind: condCmp, arg: c.arg, wide: c.wide, op: policy.OpLe, a: c.b})
		case c.b == max:
			return mem.cond(cond{kind: condCmp, arg: c.arg, wide: c.wide, op: policy.OpGe, a: c.a})
		}
	}
	return c
}

// singleBit reports whether v has exactly one bit set.
func singleBit(v uint32) bool { return bits.OnesCount32(v) == 1 }

// condShape is what the resolution of a rule's condition depends on.
type condShape struct {
	done bool
	// args are the argument slots written arg0..arg5.
	args uint8
	// perSyscall: some argument is named, so the slot comes from each
	// syscall's signature. perArch: some constant is symbolic, so its
	// value comes from the architecture.
	perSyscall, perArch bool
	// known lists the conditions resolved so far for the widths of the
	// slots, when the resolution depends on nothing else: a rule meets
	// few combinations of widths, so a short list beats a map.
	known  [4]widthsCond
	nknown uint8
}

// widthsCond is a condition index resolved for the widths of the slots.
type widthsCond struct {
	widths uint8
	ci     int32
}

// condKey identifies a resolved condition: the rule, the widths of the
// slots it reads and, where they matter, the architecture and syscall.
type condKey struct {
	rule   int32
	widths uint8
	arch   *arch.Arch
	name   string
}

func shapeOf(e policy.Expr, s *condShape) {
	policy.WalkCmps(e, func(c *policy.Cmp) {
		if c.Arg < 0 || c.Arg > 5 {
			s.perSyscall = true
		} else {
			s.args |= 1 << c.Arg
		}
		symbolic := func(v policy.Value) {
			for _, t := range v.Terms {
				if t != "" && (t[0] < '0' || t[0] > '9') && t[0] != '-' {
					s.perArch = true
				}
			}
		}
		symbolic(c.Value)
		symbolic(c.Mask)
		symbolic(c.High)
		for _, v := range c.Values {
			symbolic(v)
		}
	})
}

// condition returns the index in m.conds of rule ri's condition resolved
// for syscall name on res's arch, or -1 when it never holds. A condition
// that reads slots by number and compares them with numbers resolves the
// same wherever the slots have the same widths, so it is resolved once
// for all those syscalls and architectures; equal indexes then let
// chains share their code.
func (m *model) condition(res *resolver, ri int32, name string) (int32, error) {
	if len(m.shapes) != len(m.p.Rules) {
		m.shapes = grow(&m.shapes, len(m.p.Rules))
		clear(m.shapes)
	}
	r := m.p.Rules[ri]
	sh := &m.shapes[ri]
	if !sh.done {
		shapeOf(r.When, sh)
		sh.done = true
	}
	key := condKey{rule: ri}
	if sh.perArch || sh.perSyscall {
		key.arch = res.arch
	}
	if sh.perSyscall {
		key.name = name
	} else {
		for i := 0; i < 6; i++ {
			if sh.args&(1<<i) != 0 && res.wide(name, i) {
				key.widths |= 1 << i
			}
		}
	}
	// Most conditions depend on the widths only: the rule's short list
	// is key enough.
	simple := key.arch == nil && key.name == ""
	if simple {
		for _, k := range sh.known[:sh.nknown] {
			if k.widths == key.widths {
				return k.ci, nil
			}
		}
		if int(sh.nknown) == len(sh.known) {
			if ci, ok := m.condIndexSimple[uint64(key.widths)|uint64(uint32(ri))<<8]; ok {
				return ci, nil
			}
		}
	} else if ci, ok := m.condIndex[key]; ok {
		return ci, nil
	}
	c, err := res.resolve(r.When, name)
	if err != nil {
		return 0, err
	}
	ci := int32(len(m.conds))
	switch c.kind {
	case condFalse:
		ci = -1
	case condTrue:
		ci = 0
	default:
		m.conds = append(m.conds, c)
	}
	switch {
	case simple && int(sh.nknown) < len(sh.known):
		sh.known[sh.nknown] = widthsCond{key.widths, ci}
		sh.nknown++
	case simple:
		m.condIndexSimple[uint64(key.widths)|uint64(uint32(ri))<<8] = ci
	default:
		m.condIndex[key] = ci
	}
	return ci, nil
}
