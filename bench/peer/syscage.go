package peer

import (
	"github.com/syscage/syscage/bpf"
	"github.com/syscage/syscage/compile"
	"github.com/syscage/syscage/policy"
)

// Syscage compiles with syscage's own compiler and the bundled frequency
// mix.
type Syscage struct{}

// Name implements Compiler.
func (Syscage) Name() string { return "syscage" }

// Compile implements Compiler.
func (Syscage) Compile(p *policy.Policy, env policy.Env) ([]bpf.Program, error) {
	r, err := compile.Policy(p, compile.Options{Env: env})
	if err != nil {
		return nil, err
	}
	return r.Filters, nil
}
