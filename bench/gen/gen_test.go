package gen

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/syscage/syscage/policy"
)

// TestPolicyCoverage checks that generated policies are valid and, over a
// few hundred draws, use every comparison operator, every action and
// every architecture set, and that Inputs probes every syscall a rule
// names.
func TestPolicyCoverage(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 9))
	ops := map[policy.CmpOp]bool{}
	acts := map[policy.ActionKind]bool{}
	sets := map[string]bool{}
	for i := range 300 {
		p, err := Policy(r, Options{MaxRules: 12})
		if err != nil {
			t.Fatalf("policy %d: %v", i, err)
		}
		if err := p.Validate(); err != nil {
			t.Fatalf("policy %d does not validate: %v", i, err)
		}
		sets[fmt.Sprint(p.Arches)] = true
		acts[p.Default.Kind] = true
		named := map[[2]uint32]bool{}
		as, _ := p.AcceptedArches()
		for _, rule := range p.Rules {
			acts[rule.Action.Kind] = true
			if rule.When != nil {
				walk(rule.When, func(c *policy.Cmp) { ops[c.Op] = true })
			}
			for _, tg := range rule.Syscalls {
				for _, a := range as {
					for _, sc := range tg.Syscalls(a) {
						named[[2]uint32{a.AuditArch, uint32(sc.Nr)}] = true
					}
				}
			}
		}
		inputs, err := Inputs(r, p, policy.Env{}, 8)
		if err != nil {
			t.Fatal(err)
		}
		for _, in := range inputs {
			delete(named, [2]uint32{in.AuditArch, in.Nr})
		}
		if len(named) > 0 {
			t.Errorf("policy %d: Inputs left out %v", i, named)
		}
	}
	if len(ops) != int(policy.OpRange) {
		t.Errorf("operators used: %v, want all %d", ops, policy.OpRange)
	}
	if len(acts) != len(allActions) {
		t.Errorf("actions used: %v, want all %d", acts, len(allActions))
	}
	if len(sets) != len(ArchSets) {
		t.Errorf("%d architecture sets used, want %d", len(sets), len(ArchSets))
	}
}

func walk(e policy.Expr, fn func(*policy.Cmp)) {
	switch e := e.(type) {
	case *policy.Cmp:
		fn(e)
	case *policy.Not:
		walk(e.X, fn)
	case *policy.And:
		for _, x := range e.Terms {
			walk(x, fn)
		}
	case *policy.Or:
		for _, x := range e.Terms {
			walk(x, fn)
		}
	}
}

// TestKernelPolicySafe checks the property the kernel test relies on:
// every probe syscall of a kernel policy ends in an errno whatever its
// arguments.
func TestKernelPolicySafe(t *testing.T) {
	r := rand.New(rand.NewPCG(4, 4))
	for i := range 100 {
		p, err := KernelPolicy(r)
		if err != nil {
			t.Fatal(err)
		}
		as, _ := p.AcceptedArches()
		for _, a := range as {
			for _, name := range ProbeSyscalls {
				nr, ok := a.Lookup(name)
				if !ok {
					continue
				}
				for range 20 {
					in := policy.Input{AuditArch: a.AuditArch, Nr: uint32(nr), Args: RandomArgs(r)}
					dec, err := policy.Evaluate(p, in, policy.Env{})
					if err != nil {
						t.Fatal(err)
					}
					if dec.Action.Kind == policy.Allow && dec.Reason == "default" {
						named := false
						for _, rule := range p.Rules {
							for _, tg := range rule.Syscalls {
								named = named || tg.Name == name
							}
						}
						if named {
							t.Fatalf("policy %d: %s on %s falls through to allow", i, name, a.Name)
						}
					}
				}
			}
		}
	}
}
