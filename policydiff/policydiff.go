// Package policydiff computes the semantic difference of two policies:
// the inputs on which they decide differently, found by evaluating both
// on one representative of every class of inputs they can tell apart
// (every syscall number of every architecture either accepts, and the
// boundary values of every argument condition), and reported grouped so
// that a person can read it.
package policydiff

import (
	"fmt"
	"strings"

	"github.com/syscage/syscage/arch"
	"github.com/syscage/syscage/internal/space"
	"github.com/syscage/syscage/policy"
)

// Options tune Compare. The zero value compares in every environment.
type Options struct {
	// Env, when set, is the one environment (capabilities, kernel) that
	// rules' only/except restrictions are decided for. nil compares, for
	// each syscall, every environment in which the restrictions of the
	// rules that name it decide differently (every combination of the
	// capabilities they name, the kernels around the versions they name),
	// and reports the first that differs.
	Env *policy.Env
	// Limit bounds the argument vectors tried per syscall (0: 65536).
	// Past it the comparison samples combinations of argument classes
	// and the report is no longer exact.
	Limit int
	// Examples bounds the differing inputs kept per syscall (0: 3).
	Examples int
}

// Report is the difference of two policies.
type Report struct {
	// Diffs are the syscalls (or architectures, or ranges of numbers)
	// decided differently, in the order of the first policy's
	// architectures and of syscall numbers.
	Diffs []Diff `json:"diffs"`
	// Arches are the architectures accepted by exactly one of the two
	// policies, summarised.
	Arches []ArchDiff `json:"arches,omitempty"`
	// Slots and Inputs count what was compared: classes of (arch,
	// number) and inputs evaluated.
	Slots  int `json:"slots"`
	Inputs int `json:"inputs"`
	// Exact is true when every class of arguments was compared (see
	// Options.Limit).
	Exact bool `json:"exact"`
}

// Same reports whether the policies decide every input alike.
func (r *Report) Same() bool { return len(r.Diffs) == 0 }

// Where says what a Diff is about.
type Where string

// The kinds of Diff.
const (
	// Syscall: one syscall of an architecture's table.
	Syscall Where = "syscall"
	// Number: a number outside the table that a rule names.
	Number Where = "number"
	// Unknown: every other number outside the architecture's table.
	Unknown Where = "unknown"
	// Arch: an architecture neither policy accepts (their bad-arch
	// actions differ).
	Arch Where = "arch"
	// Foreign: AUDIT_ARCH values no architecture has.
	Foreign Where = "foreign"
)

// Diff is one syscall, number range or architecture the policies decide
// differently.
type Diff struct {
	Where     Where  `json:"where"`
	Arch      string `json:"arch,omitempty"`
	AuditArch uint32 `json:"audit_arch"`
	// Nr is the syscall number as the filter sees it (the representative
	// one for Unknown and Arch).
	Nr      uint32 `json:"nr"`
	Syscall string `json:"syscall,omitempty"`
	// Env is the environment the difference was found in; EnvText
	// describes it ("" for a process holding every capability on the
	// newest kernel).
	Env     policy.Env `json:"-"`
	EnvText string     `json:"env,omitempty"`
	// Classes is the number of argument classes compared, Differing
	// how many of them the policies decide differently.
	Classes   int `json:"classes"`
	Differing int `json:"differing"`
	// Examples are differing inputs, at most Options.Examples, the
	// first of each distinct pair of decisions first.
	Examples []Example `json:"examples"`

	arch *arch.Arch
}

// Always reports whether the policies differ for every argument value.
func (d *Diff) Always() bool { return d.Differing == d.Classes }

// Example is one input the policies decide differently.
type Example struct {
	Args [6]uint64 `json:"args"`
	A    Side      `json:"a"`
	B    Side      `json:"b"`
}

// Side is how one policy decides an input.
type Side struct {
	Action string `json:"action"`
	// Ret is the seccomp return value on the input's architecture.
	Ret uint32 `json:"ret"`
	// Reason is "rule", "default", "unknown" or "badarch".
	Reason string `json:"reason"`
	// Pos is the deciding rule's position, when a rule decided.
	Pos  string `json:"pos,omitempty"`
	rule *policy.Rule
}

// Rule returns the rule that decided, or nil.
func (s Side) Rule() *policy.Rule { return s.rule }

// ArchDiff summarises an architecture one policy accepts and the other
// does not.
type ArchDiff struct {
	Arch string `json:"arch"`
	// InA is true when A accepts it and B does not.
	InA bool `json:"in_a"`
	// Refused is how the refusing policy decides every syscall of it.
	Refused string `json:"refused"`
	// Decisions counts the syscalls of the arch's table by the
	// accepting policy's action, for those it decides otherwise.
	Decisions map[string]int `json:"decisions"`
}

// Compare evaluates a and b on every class of inputs they can tell apart
// and reports where they differ.
func Compare(a, b *policy.Policy, opts Options) (*Report, error) {
	if opts.Examples <= 0 {
		opts.Examples = 3
	}
	slots, err := space.Slots(a, b)
	if err != nil {
		return nil, err
	}
	aArches, err := a.AcceptedArches()
	if err != nil {
		return nil, err
	}
	bArches, err := b.AcceptedArches()
	if err != nil {
		return nil, err
	}
	rep := &Report{Exact: true, Slots: len(slots), Diffs: []Diff{}}
	ia, ib := space.NewIndex(a), space.NewIndex(b)
	for _, s := range slots {
		envs := []policy.Env{{}}
		if opts.Env != nil {
			envs[0] = *opts.Env
		} else {
			envs = space.Envs(append(ia.Naming(s), ib.Naming(s)...))
		}
		for _, env := range envs {
			d, n, exact, err := compareSlot(a, b, ia, ib, s, env, opts)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", s, err)
			}
			rep.Inputs += n
			rep.Exact = rep.Exact && exact
			if d != nil {
				rep.Diffs = append(rep.Diffs, *d)
				break
			}
		}
	}
	rep.Arches = archDiffs(rep.Diffs, aArches, bArches)
	return rep, nil
}

// compareSlot compares the policies on one slot.
func compareSlot(a, b *policy.Policy, ia, ib *space.Index, s space.Slot, env policy.Env, opts Options) (*Diff, int, bool, error) {
	conds := append(space.Conditions(ia.Rules(s, env)), space.Conditions(ib.Rules(s, env))...)
	vecs := [][6]uint64{{}}
	exact := true
	if len(conds) > 0 {
		var err error
		if vecs, exact, err = space.Args(s.Arch, s.Name, conds, opts.Limit); err != nil {
			return nil, 0, false, err
		}
	}
	retArch := s.Arch
	if retArch == nil {
		if retArch = arch.Native(); retArch == nil {
			retArch = arch.All()[0]
		}
	}
	d := &Diff{Where: where(s.Kind), AuditArch: s.AuditArch, Nr: s.Nr, Syscall: s.Name, Classes: len(vecs), arch: s.Arch,
		Env: env, EnvText: EnvText(env)}
	if s.Arch != nil {
		d.Arch = s.Arch.Name
	}
	pairs := map[[2]uint32]bool{}
	var later []Example
	for _, v := range vecs {
		in := s.Input(v)
		sa, err := side(a, in, retArch, env)
		if err != nil {
			return nil, 0, false, err
		}
		sb, err := side(b, in, retArch, env)
		if err != nil {
			return nil, 0, false, err
		}
		if sa.Ret == sb.Ret {
			continue
		}
		d.Differing++
		ex := Example{Args: v, A: sa, B: sb}
		key := [2]uint32{sa.Ret, sb.Ret}
		if !pairs[key] {
			pairs[key] = true
			if len(d.Examples) < opts.Examples {
				d.Examples = append(d.Examples, ex)
				continue
			}
		}
		if len(later) < opts.Examples {
			later = append(later, ex)
		}
	}
	if d.Differing == 0 {
		return nil, len(vecs), exact, nil
	}
	for _, ex := range later {
		if len(d.Examples) >= opts.Examples {
			break
		}
		d.Examples = append(d.Examples, ex)
	}
	return d, len(vecs), exact, nil
}

func where(k space.SlotKind) Where {
	switch k {
	case space.Known:
		return Syscall
	case space.Named:
		return Number
	case space.OtherUnknown:
		return Unknown
	case space.Unaccepted:
		return Arch
	}
	return Foreign
}

// side evaluates p on in.
func side(p *policy.Policy, in policy.Input, a *arch.Arch, env policy.Env) (Side, error) {
	d, err := policy.Evaluate(p, in, env)
	if err != nil {
		return Side{}, err
	}
	ret, err := d.Action.Ret(a)
	if err != nil {
		return Side{}, err
	}
	s := Side{Action: d.Action.String(), Ret: ret, Reason: d.Reason, rule: d.Rule}
	if d.Rule != nil {
		s.Pos = d.Rule.Pos.String()
	}
	return s, nil
}

// archDiffs summarises the architectures only one policy accepts.
func archDiffs(diffs []Diff, aArches, bArches []*arch.Arch) []ArchDiff {
	var out []ArchDiff
	index := map[string]int{}
	for _, d := range diffs {
		if d.arch == nil || d.Where == Arch {
			continue
		}
		inA, inB := contains(aArches, d.arch), contains(bArches, d.arch)
		if inA == inB {
			continue
		}
		i, ok := index[d.Arch]
		if !ok {
			i = len(out)
			index[d.Arch] = i
			refused := d.Examples[0].B
			if !inA {
				refused = d.Examples[0].A
			}
			out = append(out, ArchDiff{Arch: d.Arch, InA: inA, Refused: refused.Action + " (" + refused.Reason + ")", Decisions: map[string]int{}})
		}
		if d.Where != Syscall {
			continue
		}
		for _, ex := range d.Examples[:1] {
			acc := ex.A
			if !inA {
				acc = ex.B
			}
			action := acc.Action
			if !d.Always() {
				action += " (or otherwise, by arguments)"
			}
			out[i].Decisions[action]++
		}
	}
	return out
}

func contains(as []*arch.Arch, a *arch.Arch) bool {
	for _, x := range as {
		if x == a {
			return true
		}
	}
	return false
}

// EnvText describes an environment for reports: "holding CAP_SYS_ADMIN,
// on kernel 4.8", "holding no capabilities"; "" for every capability on
// the newest kernel.
func EnvText(env policy.Env) string {
	var parts []string
	switch {
	case env.Caps == nil:
	case len(env.Caps) == 0:
		parts = append(parts, "holding no capabilities")
	default:
		parts = append(parts, "holding only "+strings.Join(env.Caps, ", "))
	}
	switch env.Kernel {
	case "":
	case "0":
		parts = append(parts, "on a kernel older than every version the policies name")
	default:
		parts = append(parts, "on kernel "+env.Kernel)
	}
	return strings.Join(parts, ", ")
}
