package peer

import (
	"fmt"

	"github.com/syscage/syscage/bpf"
	"github.com/syscage/syscage/policy"
)

// Compiler is one seccomp filter compiler.
type Compiler interface {
	// Name identifies the compiler in tables, e.g. "libseccomp (tree)".
	Name() string
	// Compile turns p into the filters to install, oldest first. env
	// decides the rules' only/except restrictions.
	Compile(p *policy.Policy, env policy.Env) ([]bpf.Program, error)
}

// Unsupported reports a policy a peer's API cannot express.
type Unsupported struct {
	Peer   string
	Reason string
}

func (e *Unsupported) Error() string {
	return fmt.Sprintf("%s cannot express this policy: %s", e.Peer, e.Reason)
}

func unsupported(peer, format string, args ...any) error {
	return &Unsupported{Peer: peer, Reason: fmt.Sprintf(format, args...)}
}
