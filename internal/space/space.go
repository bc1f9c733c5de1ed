// Package space enumerates the inputs that matter to a set of policies:
// one representative of every class of seccomp inputs that the policies
// cannot tell apart. Comparing policies (diff), finding dead rules (lint)
// and checking a merge all reduce to evaluating the policies on these
// representatives instead of on all 2^416 inputs.
//
// The syscall dimension is exact: every number of every table, every
// number a rule names, one number standing for all the other numbers an
// architecture does not know, and one input per architecture no policy
// accepts. The argument dimension is built per syscall from the
// comparisons of the rules that can decide it (see Args).
package space

import (
	"fmt"
	"slices"
	"sort"

	"github.com/syscage/syscage/arch"
	"github.com/syscage/syscage/policy"
)

// x32Bit is __X32_SYSCALL_BIT (arch/x86/include/uapi/asm/unistd.h): under
// AUDIT_ARCH_X86_64 it tells x32 numbers from x86_64 ones.
const x32Bit = 0x40000000

// SlotKind says what a Slot stands for.
type SlotKind uint8

const (
	// Known is one syscall of an architecture's table.
	Known SlotKind = iota + 1
	// Named is a number outside the table that some rule names.
	Named
	// OtherUnknown stands for every number of the architecture that is
	// neither in its table nor named by a rule: policies decide them all
	// alike (their unknown action).
	OtherUnknown
	// Unaccepted stands for a whole architecture that none of the
	// policies accepts: they all give it their bad-arch action.
	Unaccepted
	// Foreign stands for AUDIT_ARCH values no architecture has.
	Foreign
)

var slotKindNames = [...]string{
	Known: "known", Named: "named", OtherUnknown: "other-unknown",
	Unaccepted: "unaccepted", Foreign: "foreign",
}

func (k SlotKind) String() string {
	if int(k) < len(slotKindNames) && slotKindNames[k] != "" {
		return slotKindNames[k]
	}
	return fmt.Sprintf("SlotKind(%d)", uint8(k))
}

// Slot is a class of (AUDIT_ARCH, number) pairs that the policies decide
// alike for equal arguments, with the pair that represents it.
type Slot struct {
	Kind      SlotKind
	AuditArch uint32
	Nr        uint32
	// Arch is the architecture of the pair; nil for Foreign.
	Arch *arch.Arch
	// Name is the syscall's name on Arch, "" outside the table.
	Name string
}

// Input returns the slot's pair with the given arguments.
func (s Slot) Input(args [6]uint64) policy.Input {
	return policy.Input{AuditArch: s.AuditArch, Nr: s.Nr, Args: args}
}

// String names the slot for reports: "x86_64 openat", "x86_64 999",
// "x86_64 other unknown numbers", "arch i386", "foreign arches".
func (s Slot) String() string {
	switch s.Kind {
	case Known:
		return s.Arch.Name + " " + s.Name
	case Named:
		return fmt.Sprintf("%s %d", s.Arch.Name, s.Nr)
	case OtherUnknown:
		return s.Arch.Name + " numbers outside its table"
	case Unaccepted:
		return "arch " + s.Arch.Name
	}
	return "other AUDIT_ARCH values"
}

// Accepted returns the union of the architectures the policies accept,
// in order of first appearance.
func Accepted(ps ...*policy.Policy) ([]*arch.Arch, error) {
	var out []*arch.Arch
	for _, p := range ps {
		as, err := p.AcceptedArches()
		if err != nil {
			return nil, err
		}
		for _, a := range as {
			if !slices.Contains(out, a) {
				out = append(out, a)
			}
		}
	}
	return out, nil
}

// Slots returns every slot of the policies: for each architecture some
// policy accepts, its syscalls in number order, then the numbers outside
// its table that rules name, then one number for the rest; then one slot
// per known architecture no policy accepts, and one for AUDIT_ARCH values
// no architecture has.
func Slots(ps ...*policy.Policy) ([]Slot, error) {
	accepted, err := Accepted(ps...)
	if err != nil {
		return nil, err
	}
	var out []Slot
	for _, a := range accepted {
		for _, sc := range a.Syscalls() {
			out = append(out, Slot{Kind: Known, AuditArch: a.AuditArch, Nr: uint32(sc.Nr), Arch: a, Name: sc.Name})
		}
		named := namedNumbers(a, ps)
		for _, nr := range named {
			out = append(out, Slot{Kind: Named, AuditArch: a.AuditArch, Nr: nr, Arch: a})
		}
		out = append(out, Slot{Kind: OtherUnknown, AuditArch: a.AuditArch, Nr: otherNumber(a, named), Arch: a})
	}
	for _, a := range arch.All() {
		if slices.Contains(accepted, a) {
			continue
		}
		nr := uint32(0)
		if sc := a.Syscalls(); len(sc) > 0 {
			nr = uint32(sc[0].Nr)
		}
		out = append(out, Slot{Kind: Unaccepted, AuditArch: a.AuditArch, Nr: nr, Arch: a})
	}
	out = append(out, Slot{Kind: Foreign, AuditArch: foreignAuditArch()})
	return out, nil
}

// foreignAuditArch returns an AUDIT_ARCH value no architecture has.
func foreignAuditArch() uint32 {
	for v := uint32(0); ; v++ {
		if len(arch.ByAuditArch(v)) == 0 {
			return v
		}
	}
}

// belongs reports whether number nr under a's AUDIT_ARCH is read as a's:
// x86_64 and x32 share AUDIT_ARCH_X86_64 and split the numbers by bit 30.
func belongs(a *arch.Arch, nr uint32) bool {
	if len(arch.ByAuditArch(a.AuditArch)) < 2 {
		return true
	}
	return (a.NrBase&x32Bit != 0) == (nr&x32Bit != 0)
}

// namedNumbers returns, sorted, the numbers outside a's table that a rule
// of the policies names on a.
func namedNumbers(a *arch.Arch, ps []*policy.Policy) []uint32 {
	seen := map[uint32]bool{}
	for _, p := range ps {
		for _, r := range p.Rules {
			for _, t := range r.Syscalls {
				if !t.HasNr || (t.Arch != "" && !sameArch(t.Arch, a)) || t.Nr < 0 || t.Nr > 0xffffffff {
					continue
				}
				nr := uint32(t.Nr)
				if _, known := a.SyscallName(t.Nr); known || !belongs(a, nr) {
					continue
				}
				seen[nr] = true
			}
		}
	}
	out := make([]uint32, 0, len(seen))
	for nr := range seen {
		out = append(out, nr)
	}
	slices.Sort(out)
	return out
}

func sameArch(name string, a *arch.Arch) bool {
	b, err := arch.ByName(name)
	return err == nil && b == a
}

// otherNumber picks a number of a that is neither in its table nor in
// named: the first one past the table.
func otherNumber(a *arch.Arch, named []uint32) uint32 {
	nr := uint32(a.MaxNr() + 1)
	for {
		_, known := a.SyscallName(int(nr))
		if !known && belongs(a, nr) && !slices.Contains(named, nr) {
			return nr
		}
		nr++
	}
}

// Rules returns the rules of p that take part in deciding slot s in
// environment env, in order: those whose restrictions hold and one of
// whose targets names the slot's number on its architecture. A policy
// that does not accept the slot's architecture decides it with its
// bad-arch action, so none of its rules take part there, whatever their
// restrictions say: a slot comes from the union of the policies' arches.
func Rules(p *policy.Policy, s Slot, env policy.Env) []*policy.Rule {
	if s.Arch == nil || s.Kind == Unaccepted || !accepts(p, s.Arch) {
		return nil
	}
	var out []*policy.Rule
	for _, r := range p.Rules {
		if !r.AppliesOn(s.Arch, env) {
			continue
		}
		if Names(r, s.Arch, s.Nr) {
			out = append(out, r)
		}
	}
	return out
}

// accepts reports whether p accepts architecture a. A policy whose
// arches do not resolve accepts none: Slots reports its error, and no
// rule of it is taken to decide anything.
func accepts(p *policy.Policy, a *arch.Arch) bool {
	as, err := p.AcceptedArches()
	return err == nil && slices.Contains(as, a)
}

// Names reports whether a target of r names number nr on a.
func Names(r *policy.Rule, a *arch.Arch, nr uint32) bool {
	for _, t := range r.Syscalls {
		for _, sc := range t.Syscalls(a) {
			if sc.Nr >= 0 && uint32(sc.Nr) == nr {
				return true
			}
		}
	}
	return false
}

// Conditions returns the conditions of rules, nil ones left out.
func Conditions(rules []*policy.Rule) []policy.Expr {
	var out []policy.Expr
	for _, r := range rules {
		if r.When != nil {
			out = append(out, r.When)
		}
	}
	return out
}

// sortedUnique sorts and deduplicates.
func sortedUnique(v []uint64) []uint64 {
	sort.Slice(v, func(i, j int) bool { return v[i] < v[j] })
	return slices.Compact(v)
}

// Index finds the rules of a policy that name a syscall number, without
// walking every target of every rule for each slot.
type Index struct {
	p *policy.Policy
	// accepted is p's architectures: on any other, p decides with its
	// bad-arch action and no rule of it takes part.
	accepted []*arch.Arch
	byArch   map[*arch.Arch]map[uint32][]*policy.Rule
}

// NewIndex returns an index of p's rules; it is built lazily, one
// architecture at a time. A policy whose arches do not resolve has no
// rules in the index (Slots reports the error).
func NewIndex(p *policy.Policy) *Index {
	accepted, _ := p.AcceptedArches()
	return &Index{p: p, accepted: accepted, byArch: map[*arch.Arch]map[uint32][]*policy.Rule{}}
}

// Naming returns, in order, the rules that name the slot's number on its
// architecture, whatever their only/except restrictions; none when the
// policy does not accept that architecture (see Rules).
func (ix *Index) Naming(s Slot) []*policy.Rule {
	if s.Arch == nil || s.Kind == Unaccepted || !slices.Contains(ix.accepted, s.Arch) {
		return nil
	}
	m, ok := ix.byArch[s.Arch]
	if !ok {
		m = map[uint32][]*policy.Rule{}
		for _, r := range ix.p.Rules {
			for _, t := range r.Syscalls {
				for _, sc := range t.Syscalls(s.Arch) {
					if sc.Nr < 0 {
						continue
					}
					nr := uint32(sc.Nr)
					if l := m[nr]; len(l) == 0 || l[len(l)-1] != r {
						m[nr] = append(l, r)
					}
				}
			}
		}
		ix.byArch[s.Arch] = m
	}
	return m[s.Nr]
}

// Rules is Rules(p, s, env) through the index.
func (ix *Index) Rules(s Slot, env policy.Env) []*policy.Rule {
	var out []*policy.Rule
	for _, r := range ix.Naming(s) {
		if r.AppliesOn(s.Arch, env) {
			out = append(out, r)
		}
	}
	return out
}
