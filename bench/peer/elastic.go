package peer

import (
	"fmt"
	"math/bits"

	seccompbpf "github.com/elastic/go-seccomp-bpf"
	xbpf "golang.org/x/net/bpf"

	"github.com/syscage/syscage/bpf"
	"github.com/syscage/syscage/policy"
)

// Elastic compiles with elastic/go-seccomp-bpf, the library Beats and
// other Elastic agents install their filters with.
//
// It builds filters for the host architecture alone; syscalls of other
// architectures get the default action and x32 numbers ENOSYS, so it
// cannot state a bad-arch action of its own. Each policy rule becomes one
// SyscallGroup (groups are tried in order), each conjunction of a
// condition one names_with_args entry. Its comparisons cover all 64 bits;
// a masked equality becomes "bits not set" of the mask's zeros and "bits
// set" for each one.
type Elastic struct{}

// Name implements Compiler.
func (Elastic) Name() string { return "elastic" }

// Compile implements Compiler.
func (e Elastic) Compile(p *policy.Policy, env policy.Env) ([]bpf.Program, error) {
	a, err := hostOnly(e.Name(), p)
	if err != nil {
		return nil, err
	}
	def, err := p.Default.Ret(a)
	if err != nil {
		return nil, err
	}
	// elastic accepts only a bare action as the default, and turns a
	// bare ERRNO into EPERM.
	switch {
	case def == bpf.RetErrno|1:
		def = bpf.RetErrno
	case def&bpf.RetData != 0:
		return nil, unsupported(e.Name(), "its default action carries no data, and the policy's is %s", p.Default)
	}
	pol := seccompbpf.Policy{DefaultAction: seccompbpf.Action(def)}
	for _, r := range p.Rules {
		if !r.AppliesOn(a, env) {
			continue
		}
		ret, err := r.Action.Ret(a)
		if err != nil {
			return nil, err
		}
		if ret == bpf.RetErrno {
			return nil, unsupported(e.Name(), "it cannot return errno 0")
		}
		g := seccompbpf.SyscallGroup{Action: seccompbpf.Action(ret)}
		for _, t := range r.Syscalls {
			for _, sc := range t.Syscalls(a) {
				d, err := ToDNF(r.When, a, sc.Name)
				if err != nil {
					return nil, err
				}
				if isTrue(d) {
					g.Names = append(g.Names, sc.Name)
					continue
				}
				for _, c := range d {
					g.NamesWithCondtions = append(g.NamesWithCondtions, seccompbpf.NameWithConditions{Name: sc.Name, Conditions: elasticConds(c)})
				}
			}
		}
		if len(g.Names)+len(g.NamesWithCondtions) > 0 {
			pol.Syscalls = append(pol.Syscalls, g)
		}
	}
	if len(pol.Syscalls) == 0 {
		return nil, unsupported(e.Name(), "it needs at least one rule")
	}
	insns, err := pol.Assemble()
	if err != nil {
		return nil, fmt.Errorf("elastic: %w", err)
	}
	raw, err := xbpf.Assemble(insns)
	if err != nil {
		return nil, fmt.Errorf("elastic: %w", err)
	}
	out := make(bpf.Program, len(raw))
	for i, r := range raw {
		out[i] = bpf.Instruction{Op: r.Op, Jt: r.Jt, Jf: r.Jf, K: r.K}
	}
	return []bpf.Program{out}, nil
}

// elasticConds translates a conjunction into elastic's conditions.
func elasticConds(c Conj) seccompbpf.ArgumentConditions {
	var out seccompbpf.ArgumentConditions
	add := func(at Atom, op seccompbpf.Operation, v uint64) {
		out = append(out, seccompbpf.Condition{Argument: uint32(at.Arg), Operation: op, Value: v})
	}
	for _, at := range c {
		switch at.Op {
		case Eq:
			add(at, seccompbpf.Equal, at.Value)
		case Ne:
			add(at, seccompbpf.NotEqual, at.Value)
		case Lt:
			add(at, seccompbpf.LessThan, at.Value)
		case Le:
			add(at, seccompbpf.LessOrEqual, at.Value)
		case Gt:
			add(at, seccompbpf.GreaterThan, at.Value)
		case Ge:
			add(at, seccompbpf.GreaterOrEqual, at.Value)
		case MaskedEq:
			if at.Value&^at.Mask != 0 {
				// Never holds: a bit no value has.
				add(at, seccompbpf.Equal, at.Value)
				add(at, seccompbpf.NotEqual, at.Value)
				continue
			}
			if zeros := at.Mask &^ at.Value; zeros != 0 {
				add(at, seccompbpf.BitsNotSet, zeros)
			}
			for v := at.Value; v != 0; v &= v - 1 {
				add(at, seccompbpf.BitsSet, uint64(1)<<bits.TrailingZeros64(v))
			}
			if at.Mask == 0 {
				// Always holds; elastic wants a condition, so state one
				// that is always true.
				add(at, seccompbpf.BitsNotSet, 0)
			}
		}
	}
	return out
}
