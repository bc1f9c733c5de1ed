package compile

import (
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/syscage/syscage/arch"
	"github.com/syscage/syscage/bpf"
	"github.com/syscage/syscage/policy"
)

// Options tune a compilation. The zero value compiles for every
// architecture the policy accepts, with the bundled frequency mix, for a
// process holding every capability on the newest kernel.
type Options struct {
	// Frequencies weighs syscalls by name (any positive scale): the
	// search tree reaches heavier ones in fewer instructions. The weights
	// apply to the policy's first architecture; the others are assumed
	// rare. nil means the bundled mix (DefaultFrequencies).
	Frequencies map[string]float64
	// Env is the environment Only/Except restrictions of rules are
	// decided for: the capabilities the process will hold and the kernel
	// it will run on.
	Env policy.Env
	// Arches restricts the filter to these of the policy's architectures
	// (canonical names or aliases), for the machine it will be installed
	// on: a filter is loaded in one byte order, so a policy that accepts
	// little- and big-endian architectures must be compiled once per
	// byte order. Architectures the policy accepts but Arches leaves out
	// get the bad-arch action. nil means all of the policy's.
	Arches []string
	// MaxInstructions is the most instructions one filter may have;
	// 0 means the kernel's limit, bpf.MaxInstructions (4096). A policy
	// that needs more is split into stacked filters.
	MaxInstructions int
	// NoSplit makes a policy too big for one filter an error instead of
	// a stack of filters.
	NoSplit bool
}

// OriginKind says what part of a policy decided a syscall.
type OriginKind uint8

const (
	// FromRule: a rule of the policy matched.
	FromRule OriginKind = iota + 1
	// FromDefault: no rule matched a syscall the tables know.
	FromDefault
	// FromUnknown: the number is not in the architecture's table and no
	// rule named it.
	FromUnknown
	// FromBadArch: the architecture is not accepted.
	FromBadArch
	// FromElsewhere: this filter of a split stack lets the syscall
	// through because another filter of the stack decides it.
	FromElsewhere
)

var originNames = [...]string{
	FromRule: "rule", FromDefault: "default", FromUnknown: "unknown",
	FromBadArch: "badarch", FromElsewhere: "elsewhere",
}

// String returns "rule", "default", "unknown", "badarch" or "elsewhere";
// the first four match policy.Decision's Reason.
func (k OriginKind) String() string {
	if int(k) < len(originNames) && originNames[k] != "" {
		return originNames[k]
	}
	return fmt.Sprintf("OriginKind(%d)", uint8(k))
}

// Origin names what in the policy produced a return value.
type Origin struct {
	Kind OriginKind
	// Rule is the rule that matched, when Kind is FromRule.
	Rule *policy.Rule
}

// Pos is the position of the deciding rule, or the zero Pos.
func (o Origin) Pos() policy.Pos {
	if o.Rule != nil {
		return o.Rule.Pos
	}
	return policy.Pos{}
}

func (o Origin) String() string {
	if o.Kind == FromRule && o.Rule != nil {
		return "rule at " + o.Rule.Pos.String()
	}
	return o.Kind.String()
}

// Result is a compiled policy.
type Result struct {
	// Filters are the programs to install, in installation order. There
	// is one unless the policy needed more than Options.MaxInstructions
	// and was split; stacked, they decide every syscall as the policy
	// does, since each filter allows what another filter decides and the
	// kernel takes the strictest return value of the stack.
	Filters []bpf.Program
	// Origins lists, for each filter and each of its RET instructions (by
	// index), what in the policy may end there, in policy order. Return
	// blocks are shared, so one RET often serves several rules; Explain
	// names the one that decided a given input.
	Origins []map[int][]Origin
	// Stats describes the programs.
	Stats Stats
	// BigEndian is the byte order of the machine the filters are for.
	BigEndian bool
	// Arches are the architectures the filters accept, first the one the
	// frequencies were applied to.
	Arches []*arch.Arch

	// The policy and options, for Explain and CacheCoverage, which
	// resolve the policy again on first use (the model compiling used
	// went back to the pool). The policy must not change after Policy.
	policy  *policy.Policy
	opts    Options
	explain struct {
		once sync.Once
		m    *model
		err  error
	}
}

// Stats describes a compiled policy.
type Stats struct {
	// Instructions is the size of each filter.
	Instructions []int
	// MaxPath is the most instructions any input runs, over the whole
	// stack.
	MaxPath int
	// MeanPath is the mean number of instructions a syscall runs under the
	// frequency mix on the first architecture, arguments all zero, as if
	// the kernel's constant-action cache were off.
	MeanPath float64
	// Runs counts the ranges of syscall numbers with one decision, over
	// all architectures: the leaves of the search trees.
	Runs int
	// UnconditionalAllows counts the (arch, syscall) pairs the policy
	// allows whatever the arguments; the compiler serves each from the
	// kernel's cache (its path loads only the number and the arch).
	UnconditionalAllows int
}

// Policy compiles p into validated seccomp filters.
func Policy(p *policy.Policy, opts Options) (*Result, error) {
	if p == nil {
		return nil, fmt.Errorf("compile: nil policy")
	}
	m, err := newModel(p, opts)
	if err != nil {
		return nil, err
	}
	limit := opts.MaxInstructions
	if limit <= 0 || limit > bpf.MaxInstructions {
		limit = bpf.MaxInstructions
	}
	defer m.release()
	res := &Result{BigEndian: m.big, Arches: m.archList(), policy: p, opts: opts}

	prog, origins := m.program(nil)
	if len(prog) <= limit {
		res.Filters = []bpf.Program{prog}
		res.Origins = []map[int][]Origin{origins}
	} else {
		if opts.NoSplit {
			return nil, fmt.Errorf("compile: the policy needs %d instructions, more than the limit of %d for one filter; allow splitting it into stacked filters, or simplify the policy", len(prog), limit)
		}
		if err := m.split(res, limit); err != nil {
			return nil, err
		}
	}
	for i, f := range res.Filters {
		if err := bpf.Validate(f); err != nil {
			return nil, fmt.Errorf("compile: internal error: filter %d of %d does not validate: %w", i+1, len(res.Filters), err)
		}
	}
	if len(res.Filters) > 1 {
		if err := bpf.ValidateStack(res.Filters); err != nil {
			return nil, fmt.Errorf("compile: the policy is too big even for a stack of filters: %w", err)
		}
	}
	res.Stats = m.stats(res)
	return res, nil
}

// archNames lists names for error messages.
func archNames(as []*arch.Arch) string {
	names := make([]string, len(as))
	for i, a := range as {
		endian := "little-endian"
		if a.BigEndian {
			endian = "big-endian"
		}
		names[i] = a.Name + " (" + endian + ")"
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}
