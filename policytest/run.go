package policytest

import (
	"encoding/binary"
	"fmt"
	"slices"

	"github.com/syscage/syscage/arch"
	"github.com/syscage/syscage/bpf"
	"github.com/syscage/syscage/compile"
	"github.com/syscage/syscage/policy"
)

// Options tune Run. The zero value runs the cases for a process holding
// every capability on the newest kernel, through the evaluator and the
// compiled filter.
type Options struct {
	// Env is the environment rules' only/except restrictions are decided
	// for; the filter is compiled for it too.
	Env policy.Env
	// NoCompile checks the cases with the evaluator only.
	NoCompile bool
}

// Result is the outcome of one case.
type Result struct {
	Case *Case
	// Decision is the evaluator's.
	Decision policy.Decision
	// Ret is the evaluator's decision as a seccomp return value on the
	// case's architecture.
	Ret uint32
	// Filter is the compiled filter's return value; FilterRan says
	// whether a filter was run (not with NoCompile, nor for a case whose
	// byte order the policy has no architecture for).
	Filter    uint32
	FilterRan bool
	// Pass: the evaluator, and the filter when it ran, gave the expected
	// action.
	Pass bool
	// CompilerBug: the filter and the evaluator disagree.
	CompilerBug bool
}

// compiled holds a policy's filters for one byte order.
type compiled struct {
	filters []bpf.Program
	order   binary.ByteOrder
}

// Run decides every case with the evaluator and, unless opts.NoCompile,
// with the policy compiled to BPF. The error reports what stopped the
// run: the policy does not evaluate or does not compile.
func Run(p *policy.Policy, cases []Case, opts Options) ([]Result, error) {
	accepted, err := p.AcceptedArches()
	if err != nil {
		return nil, err
	}
	// One compilation per byte order, for the accepted architectures of
	// that order (a filter runs on one machine).
	filters := map[bool]*compiled{}
	if !opts.NoCompile {
		for _, big := range []bool{false, true} {
			var names []string
			for _, a := range accepted {
				if a.BigEndian == big {
					names = append(names, a.Name)
				}
			}
			if len(names) == 0 {
				continue
			}
			res, err := compile.Policy(p, compile.Options{Env: opts.Env, Arches: names})
			if err != nil {
				return nil, err
			}
			var order binary.ByteOrder = binary.LittleEndian
			if big {
				order = binary.BigEndian
			}
			filters[big] = &compiled{filters: res.Filters, order: order}
		}
	}
	out := make([]Result, len(cases))
	for i := range cases {
		c := &cases[i]
		r := Result{Case: c}
		if r.Decision, err = policy.Evaluate(p, c.Input(), opts.Env); err != nil {
			return nil, fmt.Errorf("%s: %w", c.Pos, err)
		}
		if r.Ret, err = r.Decision.Action.Ret(c.Arch); err != nil {
			return nil, fmt.Errorf("%s: %w", c.Pos, err)
		}
		r.Pass = c.Want.Matches(r.Ret, c.Arch)
		if f := filters[c.Arch.BigEndian]; f != nil {
			data := &bpf.SeccompData{Nr: int32(c.Nr), Arch: c.Arch.AuditArch, Args: c.Args}
			if len(f.filters) == 1 {
				res, err := bpf.Run(f.filters[0], data, f.order)
				if err != nil {
					return nil, fmt.Errorf("%s: the compiled filter does not run: %w", c.Pos, err)
				}
				r.Filter = res.Action
			} else {
				res, err := bpf.RunStack(f.filters, data, f.order)
				if err != nil {
					return nil, fmt.Errorf("%s: the compiled filters do not run: %w", c.Pos, err)
				}
				r.Filter = res.Action
			}
			r.FilterRan = true
			r.CompilerBug = r.Filter != r.Ret
			r.Pass = r.Pass && c.Want.Matches(r.Filter, c.Arch)
		}
		out[i] = r
	}
	return out, nil
}

// Matches reports whether return value ret, on architecture a, is the
// expected action.
func (e Expect) Matches(ret uint32, a *arch.Arch) bool {
	if e.AnyErrno {
		return bpf.ActionOf(ret) == bpf.RetErrno
	}
	want, err := e.Action.Ret(a)
	return err == nil && want == ret
}

// Failed returns the results that did not pass.
func Failed(rs []Result) []Result {
	return slices.DeleteFunc(slices.Clone(rs), func(r Result) bool { return r.Pass })
}
