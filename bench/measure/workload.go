package measure

import (
	"math/rand/v2"
	"slices"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/syscage/syscage/arch"
	"github.com/syscage/syscage/bench/gen"
	"github.com/syscage/syscage/bench/moby"
	"github.com/syscage/syscage/bench/peer"
	"github.com/syscage/syscage/bpf"
	"github.com/syscage/syscage/policy"
)

// Workload is one policy every compiler is given.
type Workload struct {
	Name   string
	Policy *policy.Policy
	// OCI is the runtime-spec form of the policy, when it came from one:
	// libseccomp then takes runc's path from it (moby.Runc).
	OCI *specs.LinuxSeccomp
	Env policy.Env
}

// Compiler is one peer, able to compile a workload.
type Compiler struct {
	Name    string
	Compile func(w *Workload) ([]bpf.Program, error)
}

// Compilers returns syscage and its peers, in report order.
func Compilers() []Compiler {
	wrap := func(c peer.Compiler) Compiler {
		return Compiler{Name: c.Name(), Compile: func(w *Workload) ([]bpf.Program, error) {
			return c.Compile(w.Policy, w.Env)
		}}
	}
	lib := func(tree bool) Compiler {
		c := peer.Libseccomp{Tree: tree}
		return Compiler{Name: c.Name(), Compile: func(w *Workload) ([]bpf.Program, error) {
			if w.OCI != nil {
				p, _, err := moby.Runc(w.OCI, tree)
				return []bpf.Program{p}, err
			}
			return c.Compile(w.Policy, w.Env)
		}}
	}
	return []Compiler{wrap(peer.Syscage{}), lib(false), lib(true), wrap(peer.GVisor{}), wrap(peer.Elastic{})}
}

// Workloads returns the policies of the report: the moby default profile
// for Docker's default capabilities on x86_64 alone (every peer can take
// it) and with the i386 and x32 entry points its archMap adds (syscage
// and libseccomp), and a large generated policy naming every x86_64
// syscall.
func Workloads() ([]*Workload, error) {
	p, ls, err := moby.DefaultPolicy()
	if err != nil {
		return nil, err
	}
	native := arch.Native()
	one := *p
	one.Arches = []string{native.Name}
	oneOCI := *ls
	oneOCI.Architectures = nil
	large := gen.Large(rand.New(rand.NewPCG(1, 2)), native, peer.LibseccompKnows)
	return []*Workload{
		{Name: "moby default, " + native.Name, Policy: &one, OCI: &oneOCI},
		{Name: "moby default, " + archList(p), Policy: p, OCI: ls},
		{Name: "generated, every " + native.Name + " syscall", Policy: large},
	}, nil
}

func archList(p *policy.Policy) string {
	s := slices.Clone(p.Arches)
	out := ""
	for i, a := range s {
		if i > 0 {
			out += "+"
		}
		out += a
	}
	return out
}
