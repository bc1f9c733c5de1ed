package differential

import (
	"math/rand/v2"
	"testing"

	"github.com/syscage/syscage/bench/gen"
	"github.com/syscage/syscage/bench/moby"
	"github.com/syscage/syscage/bench/peer"
	"github.com/syscage/syscage/bpf"
	"github.com/syscage/syscage/policy"
)

// TestMobyAgainstRunc compares the moby default profile as syscage reads
// and compiles it with the filter runc builds from it with libseccomp
// (both layouts), for Docker's default capabilities and for all of them.
func TestMobyAgainstRunc(t *testing.T) {
	for _, tc := range []struct {
		name string
		caps []string
	}{
		{"default caps", moby.DefaultCaps},
		{"all caps", policy.Capabilities()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ls, err := moby.Profile(tc.caps)
			if err != nil {
				t.Fatal(err)
			}
			p, err := moby.Policy(ls)
			if err != nil {
				t.Fatal(err)
			}
			env := policy.Env{}
			mine, err := peer.Syscage{}.Compile(p, env)
			if err != nil {
				t.Fatal(err)
			}
			r := rand.New(rand.NewPCG(*seed, 11))
			inputs, err := gen.Inputs(r, p, env, 64)
			if err != nil {
				t.Fatal(err)
			}
			// Every syscall of every accepted table, with zero and random
			// arguments.
			as, _ := p.AcceptedArches()
			for _, a := range as {
				for _, sc := range a.Syscalls() {
					inputs = append(inputs,
						policy.Input{AuditArch: a.AuditArch, Nr: uint32(sc.Nr)},
						policy.Input{AuditArch: a.AuditArch, Nr: uint32(sc.Nr), Args: gen.RandomArgs(r)})
				}
			}
			f, err := NewFacts(p, env, nil)
			if err != nil {
				t.Fatal(err)
			}
			for _, tree := range []bool{false, true} {
				theirs, skipped, err := moby.Runc(ls, tree)
				if err != nil {
					t.Fatal(err)
				}
				rep, err := Compare(f, mine, []bpf.Program{theirs}, inputs, Runc)
				if err != nil {
					t.Fatal(err)
				}
				for i, d := range rep.Disagreements {
					if i == 20 {
						t.Errorf("... %d more", len(rep.Disagreements)-i)
						break
					}
					t.Errorf("tree %v: %s (%s)", tree, d, f.Name(d.Input))
				}
				t.Logf("tree %v: runc skipped %v; %s", tree, skipped, rep.Summary())
			}
		})
	}
}
