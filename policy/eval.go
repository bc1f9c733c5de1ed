package policy

import (
	"fmt"
	"slices"

	"github.com/syscage/syscage/arch"
)

// Input is what a seccomp filter sees of one syscall (struct
// seccomp_data, without the instruction pointer, which policies do not
// use).
type Input struct {
	AuditArch uint32
	Nr        uint32 // seccomp_data.nr read as unsigned
	Args      [6]uint64
}

// Decision is what a policy does with an input.
type Decision struct {
	Action Action
	// Rule is the rule that decided, or nil when a fallback did.
	Rule *Rule
	// Reason says what decided: "rule", "default" (a known syscall no rule
	// matched), "unknown" (a number not in the architecture's table) or
	// "badarch" (an architecture the policy does not accept).
	Reason string
}

// x32Bit is __X32_SYSCALL_BIT (arch/x86/include/uapi/asm/unistd.h).
const x32Bit = 0x40000000

// Evaluate decides an input the way the policy's semantics say, step by
// step and without any optimisation: it is the reference the compiler's
// output is tested against (docs/policy-language.md, "Semantics").
//
//  1. The architecture: AuditArch must be that of an accepted
//     architecture; under AUDIT_ARCH_X86_64, Nr with bit 30 set is x32
//     and without it x86_64. Anything else gets BadArch.
//  2. The rules, in order: a rule takes part when its only/except
//     restriction holds for the architecture and env, and one of its
//     targets names Nr on that architecture. The first such rule whose
//     condition holds decides.
//  3. Otherwise Default decides if Nr is in the architecture's table, and
//     Unknown if it is not.
//
// Conditions compare the low 32 bits of 32-bit arguments (ArgWidth) with
// the low 32 bits of the constants, and all 64 bits otherwise, unsigned.
func Evaluate(p *Policy, in Input, env Env) (Decision, error) {
	if p.Default.Kind == 0 {
		return Decision{}, fmt.Errorf("the policy has no default action")
	}
	accepted, err := p.AcceptedArches()
	if err != nil {
		return Decision{}, err
	}

	// 1. The architecture.
	var a *arch.Arch
	cands := arch.ByAuditArch(in.AuditArch)
	if len(cands) == 1 {
		a = cands[0]
	}
	if len(cands) > 1 {
		// x86_64 and x32 share AUDIT_ARCH_X86_64; the x32 bit tells
		// them apart (arch/x86/entry/syscall_64.c: do_syscall_64).
		for _, c := range cands {
			if (c.NrBase&x32Bit != 0) == (in.Nr&x32Bit != 0) {
				a = c
				break
			}
		}
	}
	if a == nil || !slices.Contains(accepted, a) {
		return Decision{Action: orDefault(p.BadArch, ActKillProcess), Reason: "badarch"}, nil
	}

	// 2. The rules, first match wins.
	for _, r := range p.Rules {
		if !r.AppliesOn(a, env) {
			continue
		}
		name, ok := matchTarget(r, a, in.Nr)
		if !ok {
			continue
		}
		if r.When != nil {
			hold, err := evalExpr(r.When, a, name, in.Args)
			if err != nil {
				return Decision{}, fmt.Errorf("%s: %v", r.Pos, err)
			}
			if !hold {
				continue
			}
		}
		return Decision{Action: r.Action, Rule: r, Reason: "rule"}, nil
	}

	// 3. The fallbacks.
	if _, known := a.SyscallName(int(in.Nr)); known {
		return Decision{Action: p.Default, Reason: "default"}, nil
	}
	return Decision{Action: orDefault(p.Unknown, Action{Kind: Errno, ErrnoName: "ENOSYS", Data: 38}), Reason: "unknown"}, nil
}

func orDefault(a, def Action) Action {
	if a.Kind == 0 {
		return def
	}
	return a
}

// matchTarget reports whether a target of r names syscall number nr on
// a, and the syscall's name there ("" for a number with no name).
func matchTarget(r *Rule, a *arch.Arch, nr uint32) (string, bool) {
	for _, t := range r.Syscalls {
		for _, sc := range t.Syscalls(a) {
			if uint32(sc.Nr) == nr && sc.Nr >= 0 {
				return sc.Name, true
			}
		}
	}
	return "", false
}

// evalExpr evaluates a condition for syscall name on a.
func evalExpr(e Expr, a *arch.Arch, name string, args [6]uint64) (bool, error) {
	switch e := e.(type) {
	case *And:
		for _, t := range e.Terms {
			ok, err := evalExpr(t, a, name, args)
			if err != nil || !ok {
				return false, err
			}
		}
		return true, nil
	case *Or:
		for _, t := range e.Terms {
			ok, err := evalExpr(t, a, name, args)
			if err != nil || ok {
				return ok, err
			}
		}
		return false, nil
	case *Not:
		ok, err := evalExpr(e.X, a, name, args)
		return !ok, err
	case *Cmp:
		return evalCmp(e, a, name, args)
	}
	return false, fmt.Errorf("unknown condition %T", e)
}

// evalCmp evaluates one comparison.
func evalCmp(c *Cmp, a *arch.Arch, name string, args [6]uint64) (bool, error) {
	idx, err := ArgIndex(a, name, c)
	if err != nil {
		return false, err
	}
	mask := ^uint64(0)
	if ArgWidth(a, name, idx) == 32 {
		mask = 0xffffffff
	}
	x := args[idx] & mask
	val := func(v Value) (uint64, error) {
		n, err := v.Resolve(a)
		return n & mask, err
	}
	if c.Op < OpEq || c.Op > OpRange {
		return false, fmt.Errorf("invalid comparison operator %d", c.Op)
	}
	var v, m, hi uint64
	var set []uint64
	if c.Op == OpIn {
		set = make([]uint64, len(c.Values))
		for i, cv := range c.Values {
			if set[i], err = val(cv); err != nil {
				return false, err
			}
		}
	} else if v, err = val(c.Value); err != nil {
		return false, err
	}
	switch c.Op {
	case OpMaskedEq:
		m, err = val(c.Mask)
	case OpRange:
		hi, err = val(c.High)
	}
	if err != nil {
		return false, err
	}
	return c.Op.Holds(x, v, m, hi, set), nil
}

// Holds reports whether argument value x satisfies the comparison: x op
// v, with mask m for OpMaskedEq, high end hi for OpRange and the members
// set for OpIn. x and the constants must already be cut to the
// argument's width (POLICY semantics §4: int arguments compare their low
// 32 bits). It is the one definition of what each operator means, shared
// by Evaluate and the tools that reason about policies; an operator it
// does not know never holds.
func (o CmpOp) Holds(x, v, m, hi uint64, set []uint64) bool {
	switch o {
	case OpEq:
		return x == v
	case OpNe:
		return x != v
	case OpLt:
		return x < v
	case OpLe:
		return x <= v
	case OpGt:
		return x > v
	case OpGe:
		return x >= v
	case OpMaskedEq:
		return x&m == v
	case OpBitsOnly:
		return x&^v == 0
	case OpBitsNone:
		return x&v == 0
	case OpBitsAll:
		return x&v == v
	case OpIn:
		for _, s := range set {
			if x == s {
				return true
			}
		}
		return false
	case OpRange:
		return v <= x && x <= hi
	}
	return false
}
