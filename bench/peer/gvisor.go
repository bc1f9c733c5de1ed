package peer

import (
	"encoding/binary"
	"fmt"

	gbpf "gvisor.dev/gvisor/pkg/bpf"
	gseccomp "gvisor.dev/gvisor/pkg/seccomp"

	"github.com/syscage/syscage/arch"
	"github.com/syscage/syscage/bpf"
	"github.com/syscage/syscage/policy"
)

// GVisor compiles with gVisor's pkg/seccomp, the compiler of the filters
// its Sentry installs, with its optimisations on.
//
// gVisor builds filters for the architecture it runs on only. Each policy
// rule becomes one RuleSet (gVisor takes the first RuleSet that matches),
// each condition a SyscallRule of Or, And and PerArg matchers; its
// matchers compare all 64 bits of an argument. It has no LOG action.
type GVisor struct{}

// Name implements Compiler.
func (GVisor) Name() string { return "gVisor" }

// Compile implements Compiler.
func (g GVisor) Compile(p *policy.Policy, env policy.Env) ([]bpf.Program, error) {
	a, err := hostOnly(g.Name(), p)
	if err != nil {
		return nil, err
	}
	def, err := g.action(p.Default, a)
	if err != nil {
		return nil, err
	}
	bad, err := g.action(p.BadArch, a)
	if err != nil {
		return nil, err
	}
	prog := gseccomp.Program{Options: gseccomp.ProgramOptions{DefaultAction: def, BadArchAction: bad}}
	for _, r := range p.Rules {
		if !r.AppliesOn(a, env) {
			continue
		}
		act, err := g.action(r.Action, a)
		if err != nil {
			return nil, err
		}
		rules := gseccomp.NewSyscallRules()
		for _, t := range r.Syscalls {
			for _, sc := range t.Syscalls(a) {
				if rules.Has(uintptr(sc.Nr)) {
					continue
				}
				d, err := ToDNF(r.When, a, sc.Name)
				if err != nil {
					return nil, err
				}
				rules.Set(uintptr(sc.Nr), gvisorRule(d))
			}
		}
		if rules.Size() > 0 {
			prog.RuleSets = append(prog.RuleSets, gseccomp.RuleSet{Rules: rules, Action: act})
		}
	}
	insns, _, err := prog.Build()
	if err != nil {
		return nil, fmt.Errorf("gVisor: %w", err)
	}
	out, err := bpf.Decode(gbpf.ToBytecode(insns), binary.NativeEndian)
	if err != nil {
		return nil, err
	}
	return []bpf.Program{out}, nil
}

func (g GVisor) action(x policy.Action, a *arch.Arch) (gseccomp.Action, error) {
	ret, err := x.Ret(a)
	if err != nil {
		return "", err
	}
	data := uint16(ret & bpf.RetData)
	switch bpf.ActionOf(ret) {
	case bpf.RetKillProcess:
		return gseccomp.KillProcess, nil
	case bpf.RetKillThread:
		return gseccomp.KillThread, nil
	case bpf.RetTrap:
		return gseccomp.Trap.Code(data), nil
	case bpf.RetErrno:
		return gseccomp.ReturnError.Code(data), nil
	case bpf.RetTrace:
		return gseccomp.Trace.Code(data), nil
	case bpf.RetUserNotif:
		return gseccomp.UserNotify, nil
	case bpf.RetAllow:
		return gseccomp.Allow, nil
	}
	return "", unsupported(g.Name(), "no action for %s", x)
}

// gvisorRule builds the SyscallRule of a DNF.
func gvisorRule(d DNF) gseccomp.SyscallRule {
	if isTrue(d) {
		return gseccomp.MatchAll{}
	}
	var or gseccomp.Or
	for _, c := range d {
		var and gseccomp.And
		for _, at := range c {
			var pa gseccomp.PerArg
			for i := range pa {
				pa[i] = gseccomp.AnyValue{}
			}
			pa[at.Arg] = gvisorMatcher(at)
			and = append(and, pa)
		}
		if len(and) == 1 {
			or = append(or, and[0])
		} else {
			or = append(or, and)
		}
	}
	if len(or) == 1 {
		return or[0]
	}
	return or
}

func gvisorMatcher(at Atom) gseccomp.ValueMatcher {
	v := uintptr(at.Value)
	switch at.Op {
	case Eq:
		return gseccomp.EqualTo(v)
	case Ne:
		return gseccomp.NotEqual(v)
	case Lt:
		return gseccomp.LessThan(v)
	case Le:
		return gseccomp.LessThanOrEqual(v)
	case Gt:
		return gseccomp.GreaterThan(v)
	case Ge:
		return gseccomp.GreaterThanOrEqual(v)
	}
	return gseccomp.MaskedEqual(uintptr(at.Mask), v)
}

// hostOnly returns the one architecture of a peer that compiles for this
// machine's architecture alone, or why the policy needs more.
func hostOnly(peer string, p *policy.Policy) (*arch.Arch, error) {
	as, err := p.AcceptedArches()
	if err != nil {
		return nil, err
	}
	native := arch.Native()
	if len(as) != 1 || native == nil || as[0] != native {
		return nil, unsupported(peer, "it builds filters for the host architecture alone, and the policy accepts %v", as)
	}
	return native, nil
}
