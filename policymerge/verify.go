package policymerge

import (
	"fmt"
	"slices"
	"strings"

	"github.com/syscage/syscage/arch"
	"github.com/syscage/syscage/internal/space"
	"github.com/syscage/syscage/policy"
)

// Envs returns the environments in which the policies' only/except
// restrictions can decide differently (see space.Envs).
func Envs(ps ...*policy.Policy) []policy.Env {
	var rules []*policy.Rule
	for _, p := range ps {
		rules = append(rules, p.Rules...)
	}
	return space.Envs(rules)
}

// verify checks that merged decides every class of inputs as the most
// permissive of the inputs does, and explains the first place where no
// union can, or this one does not.
func verify(ps []*policy.Policy, merged *policy.Policy) error {
	all := append(slices.Clone(ps), merged)
	slots, err := space.Slots(all...)
	if err != nil {
		return err
	}
	idx := make([]*space.Index, len(all))
	for i, p := range all {
		idx[i] = space.NewIndex(p)
	}
	for _, s := range slots {
		// Only the restrictions of the rules that name the slot can
		// make its decisions depend on the environment.
		var naming []*policy.Rule
		for _, ix := range idx {
			naming = append(naming, ix.Naming(s)...)
		}
		ra := s.Arch
		if ra == nil {
			ra = arch.Native()
		}
		for _, env := range space.Envs(naming) {
			var conds []policy.Expr
			for _, ix := range idx {
				conds = append(conds, space.Conditions(ix.Rules(s, env))...)
			}
			vecs := [][6]uint64{{}}
			if len(conds) > 0 {
				if vecs, _, err = space.Args(s.Arch, s.Name, conds, 0); err != nil {
					return err
				}
			}
			for _, v := range vecs {
				if err := verifyInput(ps, merged, s, v, env, ra); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

func verifyInput(ps []*policy.Policy, merged *policy.Policy, s space.Slot, v [6]uint64, env policy.Env, ra *arch.Arch) error {
	in := s.Input(v)
	type got struct {
		d   policy.Decision
		ret uint32
	}
	gots := make([]got, len(ps))
	best := -1
	for i, p := range ps {
		d, err := policy.Evaluate(p, in, env)
		if err != nil {
			return err
		}
		ret, err := d.Action.Ret(ra)
		if err != nil {
			return err
		}
		gots[i] = got{d, ret}
		if best < 0 || d.Action.Kind > gots[best].d.Action.Kind {
			best = i
		}
	}
	for i, g := range gots {
		if g.d.Action.Kind == gots[best].d.Action.Kind && g.ret != gots[best].ret {
			return conflictf("%s: %s decides %s (%s) and %s decides %s (%s): neither is more permissive, so a union cannot choose; make them agree",
				inputText(s, v, env), name(ps[best], best), gots[best].d.Action, what(gots[best].d),
				name(ps[i], i), g.d.Action, what(g.d))
		}
	}
	d, err := policy.Evaluate(merged, in, env)
	if err != nil {
		return err
	}
	ret, err := d.Action.Ret(ra)
	if err != nil {
		return err
	}
	if ret == gots[best].ret {
		return nil
	}
	// The union decided something else. Either an input that does not
	// accept the arch refuses it more permissively than another decides
	// there (the union, accepting the arch, has no rule for "as if not
	// accepted"), or some input has a rule stricter than what another
	// input falls back to, which the union's order of rules cannot express.
	if b := gots[best].d; b.Reason == "badarch" && s.Arch != nil {
		for i, g := range gots {
			if g.d.Reason != "badarch" {
				return conflictf("%s: %s does not accept %s, and its badarch action %s is more permissive than what %s decides there, %s (%s); "+
					"a union accepts the arch and cannot also refuse it: give the inputs the same arches, or a badarch action no rule is stricter than (kill_process)",
					inputText(s, v, env), name(ps[best], best), s.Arch.Name, b.Action, name(ps[i], i), g.d.Action, what(g.d))
			}
		}
	}
	var why []string
	for i, g := range gots {
		why = append(why, fmt.Sprintf("%s decides %s (%s)", name(ps[i], i), g.d.Action, what(g.d)))
	}
	return conflictf("%s: %s; the union must decide %s there, but it would take %s (%s): "+
		"a rule stricter than the default in one input cannot give way to another input's default; "+
		"add that rule to every input, or remove it", inputText(s, v, env), strings.Join(why, ", "),
		gots[best].d.Action, d.Action, what(d))
}

func what(d policy.Decision) string {
	if d.Rule != nil {
		return "the rule at " + d.Rule.Pos.String()
	}
	return "its " + d.Reason + " action"
}

func inputText(s space.Slot, v [6]uint64, env policy.Env) string {
	t := s.String()
	if v != ([6]uint64{}) {
		t += fmt.Sprintf(" with arguments %#x", v)
	}
	if env.Caps != nil {
		t += fmt.Sprintf(" holding capabilities [%s]", strings.Join(env.Caps, " "))
	}
	if env.Kernel != "" {
		t += " on kernel " + env.Kernel
	}
	return t
}

// prune removes the rules of p that decide no input in any environment:
// joining conditions and cutting guards out of rules can leave some that
// later rules never reach, or whose condition cannot hold. Removing a rule
// that never decides changes no decision.
func prune(p *policy.Policy) error {
	slots, err := space.Slots(p)
	if err != nil {
		return err
	}
	ix := space.NewIndex(p)
	decided := map[*policy.Rule]bool{}
	for _, s := range slots {
		naming := ix.Naming(s)
		if len(naming) == 0 {
			continue
		}
		for _, env := range space.Envs(naming) {
			rules := ix.Rules(s, env)
			if len(rules) == 0 {
				continue
			}
			vecs, _, err := space.Args(s.Arch, s.Name, space.Conditions(rules), 0)
			if err != nil {
				return err
			}
			for _, v := range vecs {
				d, err := policy.Evaluate(p, s.Input(v), env)
				if err != nil {
					return err
				}
				if d.Rule != nil {
					decided[d.Rule] = true
				}
			}
		}
	}
	p.Rules = slices.DeleteFunc(p.Rules, func(r *policy.Rule) bool { return !decided[r] })
	if len(p.Rules) > 0 {
		p.Rules[0].BlankBefore = false
	}
	return nil
}
