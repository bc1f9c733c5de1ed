// Package gen generates random policies and the inputs that probe them,
// for the differential checks of syscage against libseccomp and the
// kernel: every comparison operator, masked comparisons, 64-bit and
// 32-bit arguments, several architectures and every action, with
// constants drawn towards the boundaries where compilers go wrong.
package gen

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strconv"

	"github.com/syscage/syscage/arch"
	"github.com/syscage/syscage/internal/space"
	"github.com/syscage/syscage/policy"
)

// ArchSets are the architecture lists generated policies accept: 64-bit
// and 32-bit ABIs, the x86 trio that shares one AUDIT_ARCH value, and
// two little-endian machines in one filter.
var ArchSets = [][]string{
	{"x86_64"},
	{"x86_64", "i386"},
	{"x86_64", "x32"},
	{"x86_64", "i386", "x32"},
	{"x32"},
	{"i386"},
	{"aarch64"},
	{"aarch64", "arm"},
	{"x86_64", "aarch64"},
}

// Options shape the generated policies.
type Options struct {
	// Arches are the architecture lists to choose from; nil means
	// ArchSets.
	Arches [][]string
	// Syscalls decides which syscalls rules may name on an architecture
	// (nil: any that every chosen architecture has).
	Syscalls func(name string, a *arch.Arch) bool
	// Actions are the action kinds to draw from; nil means all of them.
	Actions []policy.ActionKind
	// MaxRules bounds the number of rules (at least 1).
	MaxRules int
	// TrapData allows trap actions with a value (libseccomp has none).
	TrapData bool
	// ActionPerSyscall gives each syscall one action of its own, which
	// all its rules take, or else the default action: libseccomp gives
	// no meaning to rules of one syscall with different actions.
	ActionPerSyscall bool
}

// Policy generates one valid policy. Its Unknown action is its Default,
// as libseccomp has no separate action for numbers outside its tables.
func Policy(r *rand.Rand, o Options) (*policy.Policy, error) {
	sets := o.Arches
	if sets == nil {
		sets = ArchSets
	}
	names := sets[r.IntN(len(sets))]
	var arches []*arch.Arch
	for _, n := range names {
		a, err := arch.ByName(n)
		if err != nil {
			return nil, err
		}
		arches = append(arches, a)
	}
	pool := syscallPool(arches, o.Syscalls)
	if len(pool) == 0 {
		return nil, fmt.Errorf("no syscall every one of %v has", names)
	}
	g := &generator{r: r, o: o, arches: arches, own: map[string]policy.Action{}}
	p := &policy.Policy{
		Arches:  slices.Clone(names),
		Default: g.action(),
		BadArch: g.action(),
	}
	g.def = p.Default
	p.Unknown = p.Default
	// A few syscalls get several rules, so that first-match chains with
	// different actions and overlapping conditions are common.
	hot := make([]string, 1+r.IntN(min(6, len(pool))))
	for i := range hot {
		hot[i] = pool[r.IntN(len(pool))]
	}
	n := 1 + r.IntN(max(1, o.MaxRules))
	for len(p.Rules) < n {
		var rule *policy.Rule
		for try := 0; try < 20 && rule == nil; try++ {
			rule = g.rule(hot, pool)
			p.Rules = append(p.Rules, rule)
			if err := p.Validate(); err != nil {
				// A comparison the argument's type makes meaningless
				// (a value too wide for an int): draw again.
				p.Rules = p.Rules[:len(p.Rules)-1]
				rule = nil
			}
		}
		if rule == nil {
			break
		}
	}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	return p, nil
}

// syscallPool lists the syscalls every architecture has, sorted.
func syscallPool(arches []*arch.Arch, keep func(string, *arch.Arch) bool) []string {
	var pool []string
	for _, name := range arches[0].SyscallNames() {
		ok := true
		for _, a := range arches {
			if _, has := a.Lookup(name); !has || (keep != nil && !keep(name, a)) {
				ok = false
				break
			}
		}
		if ok {
			pool = append(pool, name)
		}
	}
	return pool
}

type generator struct {
	r      *rand.Rand
	o      Options
	arches []*arch.Arch
	def    policy.Action
	own    map[string]policy.Action // ActionPerSyscall: each syscall's action
}

// ownAction returns the action of a syscall under ActionPerSyscall.
func (g *generator) ownAction(name string) policy.Action {
	x, ok := g.own[name]
	if !ok {
		x = g.action()
		g.own[name] = x
	}
	return x
}

var allActions = []policy.ActionKind{
	policy.KillProcess, policy.KillThread, policy.Trap, policy.Errno,
	policy.Notify, policy.Trace, policy.Log, policy.Allow,
}

func (g *generator) action() policy.Action {
	kinds := g.o.Actions
	if kinds == nil {
		kinds = allActions
	}
	x := policy.Action{Kind: kinds[g.r.IntN(len(kinds))]}
	switch x.Kind {
	case policy.Errno:
		x.Data = uint16(g.r.IntN(4096))
	case policy.Trace:
		x.Data = uint16(g.r.IntN(1 << 16))
	case policy.Trap:
		if g.o.TrapData {
			x.Data = uint16(g.r.IntN(1 << 16))
		}
	}
	return x
}

func (g *generator) rule(hot, pool []string) *policy.Rule {
	r := &policy.Rule{Action: g.action()}
	toDefault := g.r.IntN(4) == 0
	if toDefault {
		r.Action = g.def
	}
	k := 1 + g.r.IntN(2)
	for i := range k {
		name := pool[g.r.IntN(len(pool))]
		if g.r.IntN(3) > 0 {
			name = hot[g.r.IntN(len(hot))]
		}
		if g.o.ActionPerSyscall && !toDefault {
			if i == 0 {
				r.Action = g.ownAction(name)
			} else if g.ownAction(name) != r.Action {
				continue
			}
		}
		if !slices.ContainsFunc(r.Syscalls, func(t policy.Target) bool { return t.Name == name }) {
			r.Syscalls = append(r.Syscalls, policy.Target{Name: name})
		}
	}
	if g.r.IntN(5) > 0 {
		r.When = g.expr(2)
	}
	return r
}

func (g *generator) expr(depth int) policy.Expr {
	if depth == 0 || g.r.IntN(3) > 0 {
		return g.cmp()
	}
	switch g.r.IntN(3) {
	case 0:
		return &policy.Not{X: g.expr(depth - 1)}
	case 1:
		return &policy.And{Terms: []policy.Expr{g.expr(depth - 1), g.expr(depth - 1)}}
	}
	return &policy.Or{Terms: []policy.Expr{g.expr(depth - 1), g.expr(depth - 1)}}
}

func (g *generator) cmp() *policy.Cmp {
	c := &policy.Cmp{Arg: g.r.IntN(6), Op: policy.CmpOp(1 + g.r.IntN(int(policy.OpRange)))}
	// Most comparisons read the first three arguments, so that several
	// comparisons meet on one argument.
	if g.r.IntN(4) > 0 {
		c.Arg = g.r.IntN(3)
	}
	switch c.Op {
	case policy.OpIn:
		for range 1 + g.r.IntN(4) {
			c.Values = append(c.Values, num(g.value()))
		}
	case policy.OpRange:
		lo, hi := g.value(), g.value()
		if lo > hi {
			lo, hi = hi, lo
		}
		c.Value, c.High = num(lo), num(hi)
	case policy.OpMaskedEq:
		c.Mask = num(g.mask())
		v := g.value() & c.Mask.Num
		if g.r.IntN(8) == 0 {
			v = g.value() // bits outside the mask: never holds
		}
		c.Value = num(v)
	case policy.OpBitsOnly, policy.OpBitsNone, policy.OpBitsAll:
		c.Value = num(g.mask())
	default:
		c.Value = num(g.value())
	}
	return c
}

func num(v uint64) policy.Value {
	return policy.Value{Terms: []string{"0x" + strconv.FormatUint(v, 16)}, Num: v}
}

// value draws a constant: small numbers, the edges of 32-bit and 64-bit
// ranges, sign-extended negatives, or anything. Values that do not fit a
// 32-bit argument are refused by Validate and drawn again.
func (g *generator) value() uint64 {
	edges := []uint64{0, 1, 2, 0x7f, 0x80, 0xff, 0x7fffffff, 0x80000000, 0xffffffff,
		1 << 32, 0xffffffff00000000, 0x7fffffffffffffff, 0x8000000000000000, ^uint64(0)}
	switch g.r.IntN(5) {
	case 0:
		return edges[g.r.IntN(len(edges))]
	case 1:
		return uint64(g.r.IntN(64))
	case 2:
		return uint64(g.r.Uint32())
	case 3:
		return uint64(int64(int32(g.r.Uint32() | 0x80000000))) // negative int
	}
	return g.r.Uint64()
}

// mask draws a bit mask: one bit, a few bits, a run, or anything.
func (g *generator) mask() uint64 {
	switch g.r.IntN(4) {
	case 0:
		return 1 << g.r.IntN(64) & g.widthHint()
	case 1:
		return (g.r.Uint64() & g.r.Uint64() & g.r.Uint64()) & g.widthHint()
	case 2:
		lo := g.r.IntN(32)
		return ((uint64(1)<<(1+g.r.IntN(16)) - 1) << lo) & g.widthHint()
	}
	return g.r.Uint64() & g.widthHint()
}

// widthHint keeps most masks within 32 bits, which every argument
// accepts.
func (g *generator) widthHint() uint64 {
	if g.r.IntN(3) == 0 {
		return ^uint64(0)
	}
	return 0xffffffff
}

// Input is one probe: the seccomp_data a filter sees, less the
// instruction pointer.
type Input = policy.Input

// Inputs returns probes for p: on every accepted architecture, each
// syscall a rule names with the argument vectors that tell its
// conditions apart (internal/space) and random ones, a sample of other
// numbers (known, gaps, beyond the table, the x32 bit, -1), and foreign
// AUDIT_ARCH values.
func Inputs(r *rand.Rand, p *policy.Policy, env policy.Env, perSyscall int) ([]Input, error) {
	arches, err := p.AcceptedArches()
	if err != nil {
		return nil, err
	}
	var out []Input
	for _, a := range arches {
		named := map[int]string{}
		conds := map[int][]policy.Expr{}
		for _, rule := range p.Rules {
			if !rule.AppliesOn(a, env) {
				continue
			}
			for _, t := range rule.Syscalls {
				for _, sc := range t.Syscalls(a) {
					named[sc.Nr] = sc.Name
					if rule.When != nil {
						conds[sc.Nr] = append(conds[sc.Nr], rule.When)
					}
				}
			}
		}
		nrs := slices.Sorted(maps.Keys(named))
		for _, nr := range nrs {
			vecs, _, err := space.Args(a, named[nr], conds[nr], perSyscall)
			if err != nil {
				return nil, fmt.Errorf("%s on %s: %w", named[nr], a.Name, err)
			}
			if len(vecs) > perSyscall {
				r.Shuffle(len(vecs), func(i, j int) { vecs[i], vecs[j] = vecs[j], vecs[i] })
				vecs = vecs[:perSyscall]
			}
			for range max(4, perSyscall/8) {
				vecs = append(vecs, RandomArgs(r))
			}
			for _, v := range vecs {
				out = append(out, Input{AuditArch: a.AuditArch, Nr: uint32(nr), Args: v})
			}
		}
		for _, nr := range Numbers(r, a) {
			out = append(out, Input{AuditArch: a.AuditArch, Nr: nr, Args: RandomArgs(r)})
		}
	}
	for _, v := range []uint32{0, 0x40000003, 0xc00000b7, 0xc000003e, 0x40000028, 0x80000016, r.Uint32()} {
		if slices.ContainsFunc(arches, func(a *arch.Arch) bool { return a.AuditArch == v }) {
			continue
		}
		out = append(out, Input{AuditArch: v, Nr: uint32(r.IntN(500))})
	}
	return out, nil
}

// Numbers returns syscall numbers to probe on a besides those rules name:
// a sample of the table, its gaps, the numbers just past it, the edges of
// the x32 bit and of the sign bit, and random ones.
func Numbers(r *rand.Rand, a *arch.Arch) []uint32 {
	maxNr := uint32(a.MaxNr())
	base := a.NrBase
	out := []uint32{base, maxNr, maxNr + 1, maxNr + 2, base + 1000,
		0x3fffffff, 0x40000000, 0x40000001, 0x400001ff, 0x40000200,
		0x7fffffff, 0x80000000, 0xbfffffff, 0xc0000000, 0xfffffffe, 0xffffffff, r.Uint32()}
	if base > 0 {
		out = append(out, base-1)
	}
	table := a.Syscalls()
	for range 12 {
		out = append(out, uint32(table[r.IntN(len(table))].Nr))
	}
	for range 6 {
		out = append(out, base+uint32(r.IntN(int(maxNr-base+1))))
	}
	return out
}

// RandomArgs draws an argument vector: random words, some with a zero
// upper half and some sign-extended, as real callers pass them.
func RandomArgs(r *rand.Rand) [6]uint64 {
	var v [6]uint64
	for i := range v {
		switch r.IntN(4) {
		case 0:
			v[i] = r.Uint64()
		case 1:
			v[i] = uint64(r.Uint32())
		case 2:
			v[i] = uint64(int64(int32(r.Uint32())))
		default:
			v[i] = uint64(r.IntN(16))
		}
	}
	return v
}

// Large generates a policy naming every syscall of the architecture that
// keep accepts: about half allowed outright, a fifth allowed for a set of
// values of their first argument, a tenth refused with EACCES, the rest
// left to the default (EPERM). Every peer can express it.
func Large(r *rand.Rand, a *arch.Arch, keep func(string, *arch.Arch) bool) *policy.Policy {
	eperm := policy.Action{Kind: policy.Errno, Data: 1, ErrnoName: "EPERM"}
	p := &policy.Policy{Arches: []string{a.Name}, Default: eperm, Unknown: eperm, BadArch: policy.ActKillProcess}
	var allow, eacces []policy.Target
	for _, name := range a.SyscallNames() {
		if keep != nil && !keep(name, a) {
			continue
		}
		switch x := r.IntN(10); {
		case x < 5:
			allow = append(allow, policy.Target{Name: name})
		case x < 7:
			c := &policy.Cmp{Arg: 0, Op: policy.OpIn}
			for range 1 + r.IntN(4) {
				c.Values = append(c.Values, num(uint64(r.IntN(64))))
			}
			p.Rules = append(p.Rules, &policy.Rule{Syscalls: []policy.Target{{Name: name}}, When: c, Action: policy.ActAllow})
		case x < 8:
			eacces = append(eacces, policy.Target{Name: name})
		}
	}
	p.Rules = append(p.Rules,
		&policy.Rule{Syscalls: allow, Action: policy.ActAllow},
		&policy.Rule{Syscalls: eacces, Action: policy.Action{Kind: policy.Errno, Data: 13, ErrnoName: "EACCES"}})
	return p
}
