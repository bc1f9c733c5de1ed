// Package differential compares the filters syscage compiles with those
// of a peer compiler (libseccomp) and with the policy's reference
// semantics (policy.Evaluate), input by input, through syscage's BPF
// interpreter.
//
// Two compilers of one policy may differ on purpose: libseccomp, for
// instance, compares all 64 bits of an int argument, where the kernel and
// syscage read only the low 32. Each such intended difference is a
// Difference: a name, the reason, and a rule that says which inputs it
// covers. Inputs a rule covers are left out of the comparison by that
// rule, never one by one after the fact; the report counts them and how
// many of them really disagreed, so a rule that no longer matches
// anything real shows up.
package differential

import (
	"encoding/binary"
	"fmt"
	"slices"
	"strings"

	"github.com/syscage/syscage/arch"
	"github.com/syscage/syscage/bpf"
	"github.com/syscage/syscage/policy"
)

// Difference is one intended semantic difference between syscage and a
// peer.
type Difference struct {
	// Name is a short identifier used in reports.
	Name string
	// Why says what the peer does and why syscage does otherwise.
	Why string
	// Covers reports whether the rule covers an input of the policy f
	// describes.
	Covers func(f *Facts, in policy.Input) bool
}

// Facts are what difference rules need to know about a policy.
type Facts struct {
	Policy *policy.Policy
	Env    policy.Env
	// Known reports whether the peer's tables know a syscall name on an
	// architecture (nil: all names).
	Known func(name string, a *arch.Arch) bool
	// compared[arch][nr] lists, per argument slot, the widths at which
	// some rule that can decide the syscall compares it (bit 0: 32,
	// bit 1: 64).
	compared map[*arch.Arch]map[uint32]*[6]uint8
}

// NewFacts computes the facts of a policy.
func NewFacts(p *policy.Policy, env policy.Env, known func(string, *arch.Arch) bool) (*Facts, error) {
	f := &Facts{Policy: p, Env: env, Known: known, compared: map[*arch.Arch]map[uint32]*[6]uint8{}}
	arches, err := p.AcceptedArches()
	if err != nil {
		return nil, err
	}
	for _, a := range arches {
		m := map[uint32]*[6]uint8{}
		f.compared[a] = m
		for _, r := range p.Rules {
			if !r.AppliesOn(a, env) || r.When == nil {
				continue
			}
			for _, t := range r.Syscalls {
				for _, sc := range t.Syscalls(a) {
					w := m[uint32(sc.Nr)]
					if w == nil {
						w = new([6]uint8)
						m[uint32(sc.Nr)] = w
					}
					if err := walkCmps(r.When, func(c *policy.Cmp) error {
						idx, err := policy.ArgIndex(a, sc.Name, c)
						if err != nil {
							return err
						}
						if policy.ArgWidth(a, sc.Name, idx) == 32 {
							w[idx] |= 1
						} else {
							w[idx] |= 2
						}
						return nil
					}); err != nil {
						return nil, err
					}
				}
			}
		}
	}
	return f, nil
}

func walkCmps(e policy.Expr, fn func(*policy.Cmp) error) error {
	switch e := e.(type) {
	case *policy.Cmp:
		return fn(e)
	case *policy.Not:
		return walkCmps(e.X, fn)
	case *policy.And:
		for _, t := range e.Terms {
			if err := walkCmps(t, fn); err != nil {
				return err
			}
		}
	case *policy.Or:
		for _, t := range e.Terms {
			if err := walkCmps(t, fn); err != nil {
				return err
			}
		}
	}
	return nil
}

// Arch returns the architecture of an input as the policy semantics
// decide it, or nil when the policy does not accept it.
func (f *Facts) Arch(in policy.Input) *arch.Arch {
	for a := range f.compared {
		if a.AuditArch != in.AuditArch {
			continue
		}
		if a.AuditArch == arch.All()[0].AuditArch { // x86_64 and x32 share it
			if (in.Nr&0x40000000 != 0) != (a.Name == "x32") {
				continue
			}
		}
		return a
	}
	return nil
}

// ComparedAt reports whether some rule of the input's syscall compares
// argument i at the given width (32 or 64).
func (f *Facts) ComparedAt(in policy.Input, i, width int) bool {
	a := f.Arch(in)
	if a == nil {
		return false
	}
	w := f.compared[a][in.Nr]
	if w == nil {
		return false
	}
	bit := uint8(1)
	if width == 64 {
		bit = 2
	}
	return w[i]&bit != 0
}

// Name returns the syscall name of an input on its architecture, or "".
func (f *Facts) Name(in policy.Input) string {
	a := f.Arch(in)
	if a == nil {
		return ""
	}
	n, _ := a.SyscallName(int(in.Nr))
	return n
}

// Disagreement is an input on which two deciders differ.
type Disagreement struct {
	Input     policy.Input
	Want, Got uint32
	Who       string
}

func (d Disagreement) String() string {
	return fmt.Sprintf("%s: arch %#x nr %#x args %#x: got %s, policy says %s",
		d.Who, d.Input.AuditArch, d.Input.Nr, d.Input.Args, bpf.ActionString(d.Got), bpf.ActionString(d.Want))
}

// Report is the outcome of comparing deciders on a set of inputs.
type Report struct {
	Inputs int
	// Compared counts the inputs no difference rule covers.
	Compared int
	// Covered counts, per difference, the inputs it left out of the
	// comparison, and Real how many of those the peer did decide
	// differently.
	Covered, Real map[string]int
	// Disagreements lists the disagreements among compared inputs
	// (syscage's with the policy on any input).
	Disagreements []Disagreement
}

// Add merges another report into r.
func (r *Report) Add(o Report) {
	r.Inputs += o.Inputs
	r.Compared += o.Compared
	for k, v := range o.Covered {
		r.count(&r.Covered, k, v)
	}
	for k, v := range o.Real {
		r.count(&r.Real, k, v)
	}
	r.Disagreements = append(r.Disagreements, o.Disagreements...)
}

func (r *Report) count(m *map[string]int, k string, n int) {
	if *m == nil {
		*m = map[string]int{}
	}
	(*m)[k] += n
}

// Summary renders the per-difference counts.
func (r *Report) Summary() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d inputs, %d compared, %d disagreements", r.Inputs, r.Compared, len(r.Disagreements))
	for _, k := range slices.Sorted(keys(r.Covered)) {
		fmt.Fprintf(&b, "; %s covers %d (%d really differ)", k, r.Covered[k], r.Real[k])
	}
	return b.String()
}

func keys(m map[string]int) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// Compare decides every input with the policy (policy.Evaluate), with
// syscage's filters (nil: none) and with the peer's filters (nil: none). syscage must
// agree with the policy on every input; the peer on every input no
// difference covers. Programs run in this machine's byte order.
func Compare(f *Facts, syscage, peer []bpf.Program, inputs []policy.Input, diffs []Difference) (Report, error) {
	rep := Report{Inputs: len(inputs)}
	for _, in := range inputs {
		want, err := Want(f.Policy, f.Env, in)
		if err != nil {
			return rep, err
		}
		d := &bpf.SeccompData{Nr: int32(in.Nr), Arch: in.AuditArch, Args: in.Args}
		if syscage != nil {
			got, err := run(syscage, d)
			if err != nil {
				return rep, fmt.Errorf("syscage's filter: %w", err)
			}
			if got != want {
				rep.Disagreements = append(rep.Disagreements, Disagreement{Input: in, Want: want, Got: got, Who: "syscage"})
			}
		}
		if peer == nil {
			rep.Compared++
			continue
		}
		pg, err := run(peer, d)
		if err != nil {
			return rep, fmt.Errorf("peer's filter: %w", err)
		}
		covered := false
		for _, df := range diffs {
			if df.Covers(f, in) {
				covered = true
				rep.count(&rep.Covered, df.Name, 1)
				if pg != want {
					rep.count(&rep.Real, df.Name, 1)
				}
				break
			}
		}
		if covered {
			continue
		}
		rep.Compared++
		if pg != want {
			rep.Disagreements = append(rep.Disagreements, Disagreement{Input: in, Want: want, Got: pg, Who: "peer"})
		}
	}
	return rep, nil
}

// Want returns the seccomp return value the policy gives an input.
func Want(p *policy.Policy, env policy.Env, in policy.Input) (uint32, error) {
	dec, err := policy.Evaluate(p, in, env)
	if err != nil {
		return 0, err
	}
	as, err := p.AcceptedArches()
	if err != nil {
		return 0, err
	}
	a := as[0]
	for _, x := range as {
		if x.AuditArch == in.AuditArch && (x.Name == "x32") == (in.Nr&0x40000000 != 0) {
			a = x
		}
	}
	return dec.Action.Ret(a)
}

func run(filters []bpf.Program, d *bpf.SeccompData) (uint32, error) {
	if len(filters) == 1 {
		ret, _, err := bpf.Evaluate(filters[0], d, binary.NativeEndian)
		return ret, err
	}
	r, err := bpf.RunStack(filters, d, binary.NativeEndian)
	return r.Action, err
}
