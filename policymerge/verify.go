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
// restrictions can decide differently: every capability set made of the
// capabilities they name (all of them, none, each alone), and every
// kernel version around the minimums they name.
func Envs(ps ...*policy.Policy) []policy.Env {
	var caps, kernels []string
	for _, p := range ps {
		for _, r := range p.Rules {
			for _, ap := range []*policy.Applies{r.Only, r.Except} {
				if ap == nil {
					continue
				}
				for _, c := range ap.Caps {
					if !slices.Contains(caps, c) {
						caps = append(caps, c)
					}
				}
				if ap.MinKernel != "" && !slices.Contains(kernels, ap.MinKernel) {
					kernels = append(kernels, ap.MinKernel)
				}
			}
		}
	}
	capSets := [][]string{nil}
	if len(caps) > 0 {
		capSets = append(capSets, []string{})
		for _, c := range caps {
			capSets = append(capSets, []string{c})
			if len(caps) > 1 {
				capSets = append(capSets, slices.DeleteFunc(slices.Clone(caps), func(x string) bool { return x == c }))
			}
		}
	}
	vers := []string{""}
	if len(kernels) > 0 {
		vers = append(vers, "0")
		vers = append(vers, kernels...)
	}
	var out []policy.Env
	for _, cs := range capSets {
		for _, v := range vers {
			out = append(out, policy.Env{Caps: cs, Kernel: v})
		}
	}
	return out
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
	for _, env := range Envs(all...) {
		for _, s := range slots {
			var conds []policy.Expr
			for _, p := range all {
				conds = append(conds, space.Conditions(space.Rules(p, s, env))...)
			}
			vecs := [][6]uint64{{}}
			if len(conds) > 0 {
				if vecs, _, err = space.Args(s.Arch, s.Name, conds, 0); err != nil {
					return err
				}
			}
			ra := s.Arch
			if ra == nil {
				ra = arch.Native()
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
	// The union decided something else: some input has a rule stricter
	// than what another input falls back to, which the union's order of
	// rules cannot express.
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
