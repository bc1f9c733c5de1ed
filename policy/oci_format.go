package policy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/syscage/syscage/arch"
)

// This file writes a policy as an OCI / Docker seccomp profile that runc
// with libseccomp enforces exactly as syscage decides. Three differences
// between the two must be bridged:
//
//   - syscage tries a syscall's rules in order and the first match wins;
//     libseccomp merges all rules of a syscall into one decision tree, in
//     which a rule without conditions replaces conditional ones and
//     overlapping conditional rules are ordered by argument, not by
//     position. Each exported entry is therefore restricted to the cases
//     no earlier rule with another action decides, which makes the
//     entries of different actions disjoint and their order irrelevant.
//   - an int argument is compared on its low 32 bits by syscage (the
//     kernel ignores the rest) but on all 64 by libseccomp; such
//     comparisons are written with masks that cover only the low half.
//   - a rule may compare an argument only once in OCI (runc ORs repeated
//     indexes) and only with one operator, so conditions are spread over
//     several entries where needed.

// ociMaxEntries bounds the entries one rule may expand to.
const ociMaxEntries = 4096

// Output types. The key order follows moby's default.json.
type (
	ociOut struct {
		Comment          string       `json:"comment,omitempty"`
		DefaultAction    string       `json:"defaultAction"`
		DefaultErrnoRet  *uint64      `json:"defaultErrnoRet,omitempty"`
		Architectures    []string     `json:"architectures,omitempty"`
		Flags            *[]string    `json:"flags,omitempty"`
		ListenerPath     string       `json:"listenerPath,omitempty"`
		ListenerMetadata string       `json:"listenerMetadata,omitempty"`
		Syscalls         []ociSyscall `json:"syscalls"`
	}
	ociSyscall struct {
		Names    []string      `json:"names"`
		Action   string        `json:"action"`
		ErrnoRet *uint64       `json:"errnoRet,omitempty"`
		Args     []ociArg      `json:"args,omitempty"`
		Comment  string        `json:"comment,omitempty"`
		Includes *ociFilterOut `json:"includes,omitempty"`
		Excludes *ociFilterOut `json:"excludes,omitempty"`
	}
	ociArg struct {
		Index    int     `json:"index"`
		Value    uint64  `json:"value"`
		ValueTwo *uint64 `json:"valueTwo,omitempty"`
		Op       string  `json:"op"`
	}
)

// ociFilterOut is an includes or excludes object to write.
type ociFilterOut struct {
	Arches    []string `json:"arches,omitempty"`
	Caps      []string `json:"caps,omitempty"`
	MinKernel string   `json:"minKernel,omitempty"`
}

// FormatOCI writes p as a seccomp profile for the OCI runtime spec and
// Docker, Podman, containerd and CRI-O: JSON in moby's format, which runc
// with libseccomp enforces with the same decisions as p. What a profile
// cannot carry (the actions for unknown syscalls and foreign
// architectures) is described by ExportOCI's notes. Rules the format
// cannot express are errors: a syscall number without a name, or a
// restriction to some but not all of the policy's architectures.
func FormatOCI(p *Policy) ([]byte, error) {
	data, _, err := ExportOCI(p)
	return data, err
}

// ExportOCI is FormatOCI that also returns notes on what the profile does
// not carry from p, for the user to read.
func ExportOCI(p *Policy) (data []byte, notes []string, err error) {
	x, err := newOCIExporter(p)
	if err != nil {
		return nil, nil, err
	}
	out, err := x.profile()
	if err != nil {
		return nil, nil, err
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "\t")
	if err := enc.Encode(out); err != nil {
		return nil, nil, err
	}
	return buf.Bytes(), x.notes, nil
}

// ociExporter holds the state of writing one profile.
type ociExporter struct {
	p      *Policy
	arches []*arch.Arch
	notes  []string
	names  [][]string  // the syscall names of each rule
	scope  []archScope // where each rule applies among the arches
}

// archScope says on which of the policy's architectures a rule applies.
type archScope uint8

const (
	scopeAll archScope = iota
	scopeNone
)

func newOCIExporter(p *Policy) (*ociExporter, error) {
	arches, err := p.AcceptedArches()
	if err != nil {
		return nil, err
	}
	return &ociExporter{p: p, arches: arches}, nil
}

func (x *ociExporter) notef(format string, args ...any) {
	x.notes = append(x.notes, fmt.Sprintf(format, args...))
}

func (x *ociExporter) profile() (*ociOut, error) {
	p := x.p
	out := &ociOut{Comment: p.Comment, Syscalls: []ociSyscall{}}
	if p.Default.Kind == 0 {
		return nil, fmt.Errorf("the policy has no default action")
	}
	name, ret, err := x.action(p.Default, "the default action")
	if err != nil {
		return nil, err
	}
	out.DefaultAction, out.DefaultErrnoRet = name, ret
	for _, n := range p.Arches {
		a, err := arch.ByName(n)
		if err != nil {
			return nil, err
		}
		o := ociArchOf(a.Name)
		if o.oci == "" {
			return nil, fmt.Errorf("architecture %s has no name in the OCI runtime spec", a.Name)
		}
		if !slices.Contains(out.Architectures, o.oci) {
			out.Architectures = append(out.Architectures, o.oci)
		}
	}
	// runc asks for SECCOMP_FILTER_FLAG_SPEC_ALLOW when flags is absent,
	// so the list is always written: an empty one asks for no flags.
	flags := []string{}
	for _, f := range p.Flags {
		found := false
		for _, of := range ociFlags {
			if of.name == f {
				flags = append(flags, of.oci)
				found = true
			}
		}
		if !found {
			return nil, fmt.Errorf("flag %q has no OCI name; valid: log, spec_allow, tsync, wait_killable_recv", f)
		}
	}
	out.Flags = &flags
	if l := p.Listener; l != nil {
		out.ListenerPath, out.ListenerMetadata = l.Path, l.Metadata
		if l.Path == "" && l.Metadata != "" {
			return nil, fmt.Errorf("the listener has metadata but no path; the runtime spec needs listenerPath with listenerMetadata")
		}
	}
	x.checkImplicit()

	for _, r := range p.Rules {
		names, err := x.ruleNames(r)
		if err != nil {
			return nil, ociRuleError(r, len(x.names), err)
		}
		x.names = append(x.names, names)
		sc, err := x.ruleScope(r)
		if err != nil {
			return nil, ociRuleError(r, len(x.scope), err)
		}
		x.scope = append(x.scope, sc)
	}
	for k, r := range p.Rules {
		entries, err := x.rule(k)
		if err != nil {
			return nil, ociRuleError(r, k, err)
		}
		if len(entries) > 0 {
			entries[0].Comment = ociJoinComments(r.Comment, r.Trailing)
		}
		out.Syscalls = append(out.Syscalls, entries...)
	}
	return out, nil
}

// ociRuleError places an error at a rule: its position, or its number
// when it has none.
func ociRuleError(r *Rule, k int, err error) error {
	if r.Pos.IsValid() || r.Pos.File != "" {
		return fmt.Errorf("%s: %v", r.Pos, err)
	}
	return fmt.Errorf("rule %d: %v", k+1, err)
}

// ociJoinComments joins a rule's comment block and end-of-line comment.
func ociJoinComments(above, trailing string) string {
	switch {
	case above == "":
		return trailing
	case trailing == "":
		return above
	}
	return above + "\n" + trailing
}

// checkImplicit notes the parts of the policy a profile cannot state.
func (x *ociExporter) checkImplicit() {
	p := x.p
	im := &ociImport{host: x.arches[0], accepted: x.arches}
	if want := im.unknownAction(p.Default); p.Unknown.Kind != 0 && !x.same(p.Unknown, want) {
		x.notef("an OCI profile cannot state the action for syscalls the tables do not know (%s here); runc returns ENOSYS for syscalls newer than any the profile names, unless the default action allows them", p.Unknown)
	}
	if p.BadArch.Kind != 0 && p.BadArch.Kind != KillProcess {
		x.notef("an OCI profile cannot state the action for other architectures (%s here); runc kills the thread", p.BadArch)
	} else {
		x.notef("runc kills only the thread (SCMP_ACT_KILL) that makes a syscall of an architecture the profile does not accept, where the policy kills the process")
	}
	if p.Files != nil {
		x.notef("an OCI profile cannot carry the files block: the seccomp agent serving the profile's listener reads it from the policy itself (syscage agent --policy NAME=FILE)")
	}
}

// action returns the OCI name of an action and its errnoRet.
func (x *ociExporter) action(a Action, what string) (string, *uint64, error) {
	name, ok := ociActionName[a.Kind]
	if !ok {
		return "", nil, fmt.Errorf("%s: unknown action %s", what, a.Kind)
	}
	switch a.Kind {
	case Errno:
		// Runtimes pass one number to every architecture.
		var n uint64
		for i, ar := range x.arches {
			ret, err := a.Ret(ar)
			if err != nil {
				return "", nil, fmt.Errorf("%s: %v", what, err)
			}
			v := uint64(ret & 0xffff)
			if i > 0 && v != n {
				return "", nil, fmt.Errorf("%s: %s is %d on %s but %d on %s, and an OCI profile returns one number on every architecture",
					what, a, n, x.arches[0].Name, v, ar.Name)
			}
			n = v
		}
		return name, &n, nil
	case Trace:
		n := uint64(a.Data)
		return name, &n, nil
	case Trap:
		if a.Data != 0 {
			x.notef("%s: an OCI profile cannot pass a value with SCMP_ACT_TRAP; trap(%d) becomes trap", what, a.Data)
		}
	}
	return name, nil, nil
}

// same reports whether two actions return the same value on every
// architecture of the policy.
func (x *ociExporter) same(a, b Action) bool {
	for _, ar := range x.arches {
		ra, errA := a.Ret(ar)
		rb, errB := b.Ret(ar)
		if errA != nil || errB != nil || ra != rb {
			return false
		}
	}
	return true
}

// ruleNames lists the syscall names a rule targets, in order: groups are
// expanded to their members on the policy's architectures, and numbers
// become the name they have on every architecture.
func (x *ociExporter) ruleNames(r *Rule) ([]string, error) {
	var out []string
	add := func(n string) {
		if !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	for _, t := range r.Syscalls {
		if t.Arch != "" {
			switch {
			case len(x.arches) == 1 && x.arches[0].Name == t.Arch:
			case !slices.ContainsFunc(x.arches, func(a *arch.Arch) bool { return a.Name == t.Arch }):
				continue // names nothing on the policy's architectures
			default:
				return nil, fmt.Errorf("%s applies to one of the policy's architectures only, which an OCI profile cannot say (its includes test the runtime's host, not the syscall's architecture); export one policy per architecture", t)
			}
		}
		switch {
		case t.Group != "":
			g, ok := GroupByName(t.Group)
			if !ok {
				return nil, fmt.Errorf("unknown group @%s", t.Group)
			}
			for _, n := range g.Syscalls {
				for _, a := range x.arches {
					if _, ok := a.Lookup(n); ok {
						add(n)
						break
					}
				}
			}
		case t.HasNr:
			name := ""
			for _, a := range x.arches {
				n, ok := a.SyscallName(t.Nr)
				if !ok || (name != "" && n != name) {
					return nil, fmt.Errorf("syscall number %d is not the same named syscall on every architecture of the policy, and an OCI profile names syscalls; write its name", t.Nr)
				}
				name = n
			}
			for _, a := range x.arches {
				if nr, _ := a.Lookup(name); nr != t.Nr {
					return nil, fmt.Errorf("syscall number %d is %s, which has other numbers on other architectures of the policy; write its name", t.Nr, name)
				}
			}
			add(name)
		default:
			add(t.Name)
		}
	}
	return out, nil
}

// ruleScope decides whether a rule's architecture restrictions hold on
// all or none of the policy's architectures: moby tests includes and
// excludes "arches" against the runtime's host, so a rule that holds on
// only some of the filter's architectures cannot be written.
func (x *ociExporter) ruleScope(r *Rule) (archScope, error) {
	var on, off []string
	for _, a := range x.arches {
		in := true
		if r.Only != nil && len(r.Only.Arches) > 0 && !slices.Contains(r.Only.Arches, a.Name) {
			in = false
		}
		if r.Except != nil && slices.Contains(r.Except.Arches, a.Name) {
			in = false
		}
		if in {
			on = append(on, a.Name)
		} else {
			off = append(off, a.Name)
		}
	}
	switch {
	case len(off) == 0:
		return scopeAll, nil
	case len(on) == 0:
		return scopeNone, nil
	}
	return 0, fmt.Errorf("the rule applies on %s but not on %s; an OCI profile cannot say that (its includes test the runtime's host, not the syscall's architecture): export one policy per architecture",
		strings.Join(on, ", "), strings.Join(off, ", "))
}

// ociArchOf returns the ociArches entry of a syscage architecture.
func ociArchOf(name string) (out struct{ oci, moby, name string }) {
	for _, a := range ociArches {
		if a.name == name {
			return a
		}
	}
	return
}

// ociEnv is the environment condition of an entry: includes and excludes.
type ociEnv struct {
	incArches, excArches []string // moby names
	incCaps, excCaps     []string
	incKernel, excKernel string
}

// envOf returns a rule's own environment condition.
func (x *ociExporter) envOf(r *Rule) (ociEnv, error) {
	var e ociEnv
	mobyNames := func(list []string) ([]string, error) {
		var out []string
		for _, n := range list {
			a, err := arch.ByName(n)
			if err != nil {
				return nil, err
			}
			o := ociArchOf(a.Name)
			if o.moby == "" {
				return nil, fmt.Errorf("architecture %s has no OCI name", a.Name)
			}
			out = append(out, o.moby)
		}
		return out, nil
	}
	var err error
	if o := r.Only; o != nil {
		if e.incArches, err = mobyNames(o.Arches); err != nil {
			return e, err
		}
		e.incCaps = slices.Clone(o.Caps)
		if e.incKernel, err = ociKernelOut(o.MinKernel); err != nil {
			return e, err
		}
	}
	if o := r.Except; o != nil {
		if e.excArches, err = mobyNames(o.Arches); err != nil {
			return e, err
		}
		e.excCaps = slices.Clone(o.Caps)
		if e.excKernel, err = ociKernelOut(o.MinKernel); err != nil {
			return e, err
		}
	}
	return e, nil
}

// ociKernelOut checks that a kernel version fits moby's minKernel.
func ociKernelOut(v string) (string, error) {
	if v == "" {
		return "", nil
	}
	out, err := ociKernelVersion(v)
	if err != nil {
		return "", fmt.Errorf("minimum kernel %s: moby's minKernel takes \"<kernel>.<major>\" only", v)
	}
	return out, nil
}

// and returns the conjunction of two environment conditions, or false
// when no environment satisfies it.
func (e ociEnv) and(f ociEnv) (ociEnv, bool) {
	out := ociEnv{
		incArches: ociUnion(e.incArches, f.incArches), // both lists hold every policy arch or none; see ruleScope
		excArches: ociUnion(e.excArches, f.excArches),
		incCaps:   ociUnion(e.incCaps, f.incCaps),
		excCaps:   ociUnion(e.excCaps, f.excCaps),
		incKernel: e.incKernel,
		excKernel: e.excKernel,
	}
	if f.incKernel != "" && (out.incKernel == "" || compareVersions(f.incKernel, out.incKernel) > 0) {
		out.incKernel = f.incKernel
	}
	if f.excKernel != "" && (out.excKernel == "" || compareVersions(f.excKernel, out.excKernel) < 0) {
		out.excKernel = f.excKernel
	}
	if len(ociIntersect(out.incCaps, out.excCaps)) > 0 {
		return out, false
	}
	if out.incKernel != "" && out.excKernel != "" && compareVersions(out.incKernel, out.excKernel) >= 0 {
		return out, false
	}
	return out, true
}

// negation returns environment conditions whose union holds exactly where
// e does not, leaving architectures aside (a blocking rule holds on all
// of the policy's architectures). nil means e always holds.
func (e ociEnv) negation() []ociEnv {
	var out []ociEnv
	for _, c := range e.incCaps {
		out = append(out, ociEnv{excCaps: []string{c}})
	}
	for _, c := range e.excCaps {
		out = append(out, ociEnv{incCaps: []string{c}})
	}
	if e.incKernel != "" {
		out = append(out, ociEnv{excKernel: e.incKernel})
	}
	if e.excKernel != "" {
		out = append(out, ociEnv{incKernel: e.excKernel})
	}
	return out
}

// filters returns the includes and excludes objects of e.
func (e ociEnv) filters() (inc, exc *ociFilterOut) {
	if len(e.incArches) > 0 || len(e.incCaps) > 0 || e.incKernel != "" {
		inc = &ociFilterOut{Arches: e.incArches, Caps: e.incCaps, MinKernel: e.incKernel}
	}
	if len(e.excArches) > 0 || len(e.excCaps) > 0 || e.excKernel != "" {
		exc = &ociFilterOut{Arches: e.excArches, Caps: e.excCaps, MinKernel: e.excKernel}
	}
	return inc, exc
}

// envDisjoint reports whether no environment satisfies both rules'
// restrictions.
func (x *ociExporter) envDisjoint(a, b *Rule) bool {
	ea, err1 := x.envOf(a)
	eb, err2 := x.envOf(b)
	if err1 != nil || err2 != nil {
		return false
	}
	_, ok := ea.and(eb)
	return !ok
}

// argsOverlap reports whether some arguments satisfy the conditions of
// both rules for a syscall. Restricting a rule by one it cannot overlap
// would change nothing but its shape, and keeping the shape makes
// writing a profile read back from FormatOCI give the same bytes.
func (x *ociExporter) argsOverlap(a, b *Rule, syscall string) bool {
	var conds []Expr
	for _, r := range []*Rule{a, b} {
		if r.When != nil {
			conds = append(conds, r.When)
		}
	}
	lists, err := x.argLists(conds, syscall)
	return err != nil || len(lists) > 0 // when in doubt, restrict
}

// ociAlt is one alternative of an entry's condition: arguments and
// environment.
type ociAlt struct {
	cond []Expr // conjunction; nil means true
	env  ociEnv
}

// rule returns the entries of rule k.
func (x *ociExporter) rule(k int) ([]ociSyscall, error) {
	r := x.p.Rules[k]
	if x.scope[k] == scopeNone {
		// The rule never applies on this policy's architectures; keep it
		// for other hosts, written as it is.
		return x.entries(r, x.names[k], nil)
	}
	if x.same(r.Action, x.p.Default) {
		// runc drops rules with the default action; what they decide
		// is kept by restricting the later rules they hide.
		return nil, nil
	}
	// Group the names by the earlier rules that hide part of them.
	type group struct {
		blockers []int
		names    []string
	}
	var groups []*group
	for _, n := range x.names[k] {
		var bl []int
		for j := 0; j < k; j++ {
			rj := x.p.Rules[j]
			if x.scope[j] == scopeNone || !slices.Contains(x.names[j], n) ||
				x.same(rj.Action, r.Action) || x.envDisjoint(rj, r) || !x.argsOverlap(rj, r, n) {
				continue
			}
			bl = append(bl, j)
		}
		found := false
		for _, g := range groups {
			if slices.Equal(g.blockers, bl) {
				g.names = append(g.names, n)
				found = true
				break
			}
		}
		if !found {
			groups = append(groups, &group{blockers: bl, names: []string{n}})
		}
	}
	var out []ociSyscall
	for _, g := range groups {
		e, err := x.entries(r, g.names, g.blockers)
		if err != nil {
			return nil, err
		}
		out = append(out, e...)
		if len(out) > ociMaxEntries {
			return nil, fmt.Errorf("the rule needs more than %d OCI entries to state exactly; simplify its condition", ociMaxEntries)
		}
	}
	return out, nil
}

// entries writes rule r for names, minus what the blocking rules decide.
func (x *ociExporter) entries(r *Rule, names []string, blockers []int) ([]ociSyscall, error) {
	env, err := x.envOf(r)
	if err != nil {
		return nil, err
	}
	alts := []ociAlt{{env: env}}
	if r.When != nil {
		alts[0].cond = []Expr{r.When}
	}
	for _, j := range blockers {
		rj := x.p.Rules[j]
		ej, err := x.envOf(rj)
		if err != nil {
			return nil, err
		}
		neg := ej.negation()
		var next []ociAlt
		for _, a := range alts {
			if rj.When != nil {
				next = append(next, ociAlt{cond: append(slices.Clone(a.cond), &Not{X: rj.When}), env: a.env})
			}
			for _, n := range neg {
				if e, ok := a.env.and(n); ok {
					next = append(next, ociAlt{cond: a.cond, env: e})
				}
			}
		}
		alts = next
		if len(alts) > ociMaxEntries {
			return nil, fmt.Errorf("the rule needs more than %d OCI entries to state exactly; simplify it or the rules before it", ociMaxEntries)
		}
	}
	name, ret, err := x.action(r.Action, "the rule's action")
	if err != nil {
		return nil, err
	}
	var out []ociSyscall
	for _, a := range alts {
		// Arguments resolve per syscall (named arguments, widths,
		// constants), so names that resolve alike share entries.
		type byArgs struct {
			args  [][]ociArg
			names []string
		}
		var groups []*byArgs
		for _, n := range names {
			args, err := x.argLists(a.cond, n)
			if err != nil {
				return nil, fmt.Errorf("%s: %v", n, err)
			}
			found := false
			for _, g := range groups {
				if ociSameArgLists(g.args, args) {
					g.names = append(g.names, n)
					found = true
					break
				}
			}
			if !found {
				groups = append(groups, &byArgs{args: args, names: []string{n}})
			}
		}
		inc, exc := a.env.filters()
		for _, g := range groups {
			for _, args := range g.args {
				out = append(out, ociSyscall{
					Names: g.names, Action: name, ErrnoRet: ret,
					Args: args, Includes: inc, Excludes: exc,
				})
			}
		}
		if len(out) > ociMaxEntries {
			return nil, fmt.Errorf("the rule needs more than %d OCI entries to state exactly; simplify its condition", ociMaxEntries)
		}
	}
	return out, nil
}

func ociSameArgLists(a, b [][]ociArg) bool {
	return slices.EqualFunc(a, b, func(x, y []ociArg) bool {
		return slices.EqualFunc(x, y, func(p, q ociArg) bool {
			return p.Index == q.Index && p.Value == q.Value && p.Op == q.Op &&
				(p.ValueTwo == nil) == (q.ValueTwo == nil) && (p.ValueTwo == nil || *p.ValueTwo == *q.ValueTwo)
		})
	})
}

// ociLit is a comparison, possibly negated, in a condition's disjunctive
// normal form.
type ociLit struct {
	c   *Cmp
	neg bool
}

// ociDNF returns the conjunction of conds as a disjunction of
// conjunctions of literals.
func ociDNF(conds []Expr) ([][]ociLit, error) {
	out := [][]ociLit{{}}
	for _, c := range conds {
		d, err := ociDNFOf(c, false)
		if err != nil {
			return nil, err
		}
		out, err = ociProduct(out, d)
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

func ociDNFOf(e Expr, neg bool) ([][]ociLit, error) {
	switch e := e.(type) {
	case *Cmp:
		return [][]ociLit{{{c: e, neg: neg}}}, nil
	case *Not:
		return ociDNFOf(e.X, !neg)
	case *And, *Or:
		var terms []Expr
		isAnd := false
		if a, ok := e.(*And); ok {
			terms, isAnd = a.Terms, true
		} else {
			terms = e.(*Or).Terms
		}
		if neg {
			isAnd = !isAnd // De Morgan
		}
		if isAnd {
			out := [][]ociLit{{}}
			for _, t := range terms {
				d, err := ociDNFOf(t, neg)
				if err != nil {
					return nil, err
				}
				if out, err = ociProduct(out, d); err != nil {
					return nil, err
				}
			}
			return out, nil
		}
		var out [][]ociLit
		for _, t := range terms {
			d, err := ociDNFOf(t, neg)
			if err != nil {
				return nil, err
			}
			out = append(out, d...)
			if len(out) > ociMaxEntries {
				return nil, fmt.Errorf("the condition needs more than %d OCI entries to state exactly", ociMaxEntries)
			}
		}
		return out, nil
	}
	return nil, fmt.Errorf("unknown condition %T", e)
}

func ociProduct(a, b [][]ociLit) ([][]ociLit, error) {
	if len(a)*len(b) > ociMaxEntries {
		return nil, fmt.Errorf("the condition needs more than %d OCI entries to state exactly", ociMaxEntries)
	}
	out := make([][]ociLit, 0, len(a)*len(b))
	for _, x := range a {
		for _, y := range b {
			out = append(out, append(slices.Clone(x), y...))
		}
	}
	return out, nil
}

// argLists turns a condition into the argument lists of OCI entries for
// one syscall: the entries' conditions, ORed, hold exactly where the
// condition does as syscage compares.
func (x *ociExporter) argLists(conds []Expr, syscall string) ([][]ociArg, error) {
	if len(conds) == 0 {
		return [][]ociArg{nil}, nil
	}
	dnf, err := ociDNF(conds)
	if err != nil {
		return nil, err
	}
	var out [][]ociArg
	for _, conj := range dnf {
		lists, err := x.conjunction(conj, syscall)
		if err != nil {
			return nil, err
		}
		for _, l := range lists {
			if !slices.ContainsFunc(out, func(o []ociArg) bool { return ociSameArgLists([][]ociArg{o}, [][]ociArg{l}) }) {
				out = append(out, l)
			}
		}
		if len(out) > ociMaxEntries {
			return nil, fmt.Errorf("the condition needs more than %d OCI entries to state exactly", ociMaxEntries)
		}
	}
	return out, nil
}

// ociSlot collects the literals of one conjunction on one argument.
type ociSlot struct {
	idx   int
	width int
	lits  []ociResolved
}

// ociResolved is a literal with its constants resolved.
type ociResolved struct {
	op          CmpOp
	neg         bool
	value, mask uint64
	high        uint64
	values      []uint64
}

// conjunction returns the OCI argument lists for one conjunction.
func (x *ociExporter) conjunction(conj []ociLit, syscall string) ([][]ociArg, error) {
	var slots []*ociSlot
	for _, l := range conj {
		idx, width, err := x.argSlot(l.c, syscall)
		if err != nil {
			return nil, err
		}
		res, err := x.resolve(l)
		if err != nil {
			return nil, err
		}
		var s *ociSlot
		for _, o := range slots {
			if o.idx == idx {
				s = o
			}
		}
		if s == nil {
			s = &ociSlot{idx: idx, width: width}
			slots = append(slots, s)
		}
		s.lits = append(s.lits, res)
	}
	sort.Slice(slots, func(i, j int) bool { return slots[i].idx < slots[j].idx })
	// choices[i] are the alternatives for slot i; nil entries mean no
	// comparison is needed.
	lists := [][]ociArg{nil}
	for _, s := range slots {
		choices := s.choices()
		if len(choices) == 0 {
			return nil, nil // never holds
		}
		var next [][]ociArg
		for _, l := range lists {
			for _, c := range choices {
				if c == nil {
					next = append(next, l)
				} else {
					next = append(next, append(slices.Clone(l), *c))
				}
			}
		}
		lists = next
		if len(lists) > ociMaxEntries {
			return nil, fmt.Errorf("the condition needs more than %d OCI entries to state exactly", ociMaxEntries)
		}
	}
	return lists, nil
}

// argSlot returns the argument index a comparison reads for a syscall
// and its width, which must be the same on every architecture where the
// syscall exists. idx is -1 when it exists on none.
func (x *ociExporter) argSlot(c *Cmp, syscall string) (idx, width int, err error) {
	idx, width = -1, 0
	seen := false
	for _, a := range x.arches {
		if _, ok := a.Lookup(syscall); !ok {
			continue
		}
		i, err := ArgIndex(a, syscall, c)
		if err != nil {
			return 0, 0, err
		}
		if seen && i != idx {
			return 0, 0, fmt.Errorf("argument %s is argument %d on %s but %d on %s, and an OCI profile compares one index on every architecture",
				c.ArgName, idx, x.arches[0].Name, i, a.Name)
		}
		idx, seen = i, true
		if a.Bits == 32 {
			// libseccomp compares only the low 32 bits on 32-bit
			// architectures, as syscage does; either form is exact.
			continue
		}
		w := ArgWidth(a, syscall, i)
		if width != 0 && w != width {
			return 0, 0, fmt.Errorf("argument %d is %d bits on one architecture of the policy and %d on another; an OCI profile cannot compare it differently per architecture", i, width, w)
		}
		width = w
	}
	if !seen {
		// The syscall exists on none of the policy's architectures, so
		// the rule decides nothing here; keep its condition for
		// runtimes elsewhere, read from the generic signature.
		return ociGenericSlot(c, syscall)
	}
	if width == 0 {
		width = 64
	}
	return idx, width, nil
}

// ociGenericSlot returns the slot and width of a comparison from the
// architecture-neutral signature of a syscall.
func ociGenericSlot(c *Cmp, syscall string) (int, int, error) {
	sig, ok := arch.SignatureOf(syscall)
	idx := c.Arg
	if idx < 0 {
		if !ok {
			return 0, 0, fmt.Errorf("argument %q: the arguments of %s are not known; use arg0..arg5", c.ArgName, syscall)
		}
		for i, p := range sig.Args {
			if p.Name == c.ArgName {
				idx = i
			}
		}
		if idx < 0 {
			return 0, 0, fmt.Errorf("%s has no argument %q", syscall, c.ArgName)
		}
	}
	if ok && idx < len(sig.Args) && sig.Args[idx].Kind == arch.KindInt {
		return idx, 32, nil
	}
	return idx, 64, nil
}

// resolve reads a literal's constants; they must be equal on every
// architecture of the policy.
func (x *ociExporter) resolve(l ociLit) (ociResolved, error) {
	c := l.c
	one := func(v Value) (uint64, error) {
		var out uint64
		for i, a := range x.arches {
			n, err := v.Resolve(a)
			if err != nil {
				return 0, err
			}
			if i > 0 && n != out {
				return 0, fmt.Errorf("%s is %#x on %s but %#x on %s, and an OCI profile compares one number on every architecture",
					v, out, x.arches[0].Name, n, a.Name)
			}
			out = n
		}
		return out, nil
	}
	r := ociResolved{op: c.Op, neg: l.neg}
	var err error
	switch c.Op {
	case OpIn:
		for _, v := range c.Values {
			n, err := one(v)
			if err != nil {
				return r, err
			}
			r.values = append(r.values, n)
		}
		return r, nil
	case OpRange:
		if r.high, err = one(c.High); err != nil {
			return r, err
		}
	case OpMaskedEq:
		if r.mask, err = one(c.Mask); err != nil {
			return r, err
		}
	}
	r.value, err = one(c.Value)
	return r, err
}

// ociCube is the set of values v with v&mask == val.
type ociCube struct{ mask, val uint64 }

// ociInterval is the set lo..hi, inclusive.
type ociInterval struct{ lo, hi uint64 }

// choices returns the alternatives for one argument: each is one OCI
// comparison, or nil for "no comparison needed". None means the
// literals never hold together.
func (s *ociSlot) choices() []*ociArg {
	wm := ^uint64(0)
	if s.width == 32 {
		wm = 0xffffffff
	}
	if len(s.lits) == 1 {
		if a, ok := s.direct(s.lits[0], wm); ok {
			return []*ociArg{a}
		}
	}
	// The value set: an interval set from the ordering comparisons,
	// intersected with the cube sets of the mask comparisons.
	ivs := []ociInterval{{0, wm}}
	var cubeSets [][]ociCube
	for _, l := range s.lits {
		if iv, ok := l.intervals(wm); ok {
			ivs = ociIntersectIntervals(ivs, iv)
		} else {
			cubeSets = append(cubeSets, l.cubes(wm))
		}
	}
	var cubes []ociCube
	for _, iv := range ivs {
		cubes = append(cubes, ociIntervalCubes(iv, wm)...)
	}
	for _, set := range cubeSets {
		var next []ociCube
		for _, a := range cubes {
			for _, b := range set {
				if c, ok := ociCubeAnd(a, b); ok {
					next = ociAddCube(next, c)
				}
			}
		}
		cubes = next
	}
	if len(cubes) == 0 {
		return nil
	}
	// One interval of the ordering comparisons alone, in 64 bits, is one
	// comparison.
	if len(cubeSets) == 0 && s.width == 64 {
		if a := ociIntervalArg(s.idx, ivs); a != nil {
			return []*ociArg{a}
		}
	}
	out := make([]*ociArg, 0, len(cubes))
	for _, c := range cubes {
		if c.mask == 0 {
			return []*ociArg{nil} // every value
		}
		out = append(out, ociCubeArg(s.idx, c))
	}
	return out
}

// direct writes a single literal as one OCI comparison where one exists.
func (s *ociSlot) direct(l ociResolved, wm uint64) (*ociArg, bool) {
	op := l.op
	v := l.value & wm
	if l.neg {
		switch op {
		case OpEq:
			op = OpNe
		case OpNe:
			op = OpEq
		case OpLt:
			op = OpGe
		case OpLe:
			op = OpGt
		case OpGt:
			op = OpLe
		case OpGe:
			op = OpLt
		default:
			return nil, false
		}
	}
	arg := func(name string, value uint64) *ociArg { return &ociArg{Index: s.idx, Value: value, Op: name} }
	if wm == ^uint64(0) {
		switch op {
		case OpEq:
			return arg("SCMP_CMP_EQ", v), true
		case OpNe:
			return arg("SCMP_CMP_NE", v), true
		case OpLt:
			return arg("SCMP_CMP_LT", v), true
		case OpLe:
			return arg("SCMP_CMP_LE", v), true
		case OpGt:
			return arg("SCMP_CMP_GT", v), true
		case OpGe:
			return arg("SCMP_CMP_GE", v), true
		}
	} else if op == OpEq {
		return ociCubeArg(s.idx, ociCube{wm, v}), true
	}
	switch op {
	case OpMaskedEq, OpBitsOnly, OpBitsNone, OpBitsAll:
		cs := l.cubes(wm)
		if len(cs) == 1 {
			return ociCubeArg(s.idx, cs[0]), true
		}
	}
	return nil, false
}

// intervals returns the value set of an ordering literal as intervals.
func (l ociResolved) intervals(wm uint64) ([]ociInterval, bool) {
	v := l.value & wm
	var set []ociInterval
	switch l.op {
	case OpEq:
		set = []ociInterval{{v, v}}
	case OpNe:
		set = ociComplement([]ociInterval{{v, v}}, wm)
	case OpLt:
		if v > 0 {
			set = []ociInterval{{0, v - 1}}
		}
	case OpLe:
		set = []ociInterval{{0, v}}
	case OpGt:
		if v < wm {
			set = []ociInterval{{v + 1, wm}}
		}
	case OpGe:
		set = []ociInterval{{v, wm}}
	case OpRange:
		if h := l.high & wm; v <= h {
			set = []ociInterval{{v, h}}
		}
	case OpIn:
		vals := make([]uint64, len(l.values))
		for i, x := range l.values {
			vals[i] = x & wm
		}
		slices.Sort(vals)
		vals = slices.Compact(vals)
		for _, x := range vals {
			set = append(set, ociInterval{x, x})
		}
	default:
		return nil, false
	}
	if l.neg {
		set = ociComplement(set, wm)
	}
	return set, true
}

// cubes returns the value set of a mask literal as cubes.
func (l ociResolved) cubes(wm uint64) []ociCube {
	var c ociCube
	v := l.value & wm
	switch l.op {
	case OpMaskedEq:
		m := l.mask & wm
		if v&^m != 0 {
			// Never equal: bits outside the mask are zero after masking.
			if l.neg {
				return []ociCube{{0, 0}}
			}
			return nil
		}
		c = ociCube{m, v}
	case OpBitsOnly:
		c = ociCube{^v & wm, 0}
	case OpBitsNone:
		c = ociCube{v, 0}
	case OpBitsAll:
		c = ociCube{v, v}
	}
	if !l.neg {
		return []ociCube{c}
	}
	// Not (x&m == v): some bit of the mask differs.
	var out []ociCube
	for m := c.mask; m != 0; m &= m - 1 {
		b := m & -m
		out = append(out, ociCube{b, ^c.val & b})
	}
	return out
}

// ociComplement returns the complement of sorted disjoint intervals
// within 0..wm.
func ociComplement(set []ociInterval, wm uint64) []ociInterval {
	var out []ociInterval
	next := uint64(0)
	done := false
	for _, iv := range set {
		if iv.lo > next {
			out = append(out, ociInterval{next, iv.lo - 1})
		}
		if iv.hi == wm {
			done = true
			break
		}
		next = iv.hi + 1
	}
	if !done {
		out = append(out, ociInterval{next, wm})
	}
	return out
}

// ociIntersectIntervals intersects two sorted sets of disjoint intervals.
func ociIntersectIntervals(a, b []ociInterval) []ociInterval {
	var out []ociInterval
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		lo, hi := max(a[i].lo, b[j].lo), min(a[i].hi, b[j].hi)
		if lo <= hi {
			out = append(out, ociInterval{lo, hi})
		}
		if a[i].hi < b[j].hi {
			i++
		} else {
			j++
		}
	}
	return out
}

// ociIntervalCubes splits an interval of 0..wm into aligned power-of-two
// blocks, each a cube.
func ociIntervalCubes(iv ociInterval, wm uint64) []ociCube {
	if iv.lo == 0 && iv.hi == wm {
		return []ociCube{{0, 0}}
	}
	var out []ociCube
	lo := iv.lo
	for {
		// The largest block that starts at lo and ends by hi.
		k := 0
		for k < 63 {
			span := uint64(1)<<(k+1) - 1
			if lo&span != 0 || lo+span > iv.hi || lo+span < lo {
				break
			}
			k++
		}
		span := uint64(1)<<k - 1
		out = append(out, ociCube{wm &^ span, lo})
		if lo+span >= iv.hi {
			return out
		}
		lo += span + 1
	}
}

// ociCubeAnd intersects two cubes.
func ociCubeAnd(a, b ociCube) (ociCube, bool) {
	common := a.mask & b.mask
	if a.val&common != b.val&common {
		return ociCube{}, false
	}
	return ociCube{a.mask | b.mask, a.val | b.val}, true
}

// ociAddCube adds c to a union unless a cube there contains it, and
// drops the cubes c contains.
func ociAddCube(set []ociCube, c ociCube) []ociCube {
	contains := func(a, b ociCube) bool { return a.mask&^b.mask == 0 && b.val&a.mask == a.val }
	for _, o := range set {
		if contains(o, c) {
			return set
		}
	}
	out := set[:0]
	for _, o := range set {
		if !contains(c, o) {
			out = append(out, o)
		}
	}
	return append(out, c)
}

// ociCubeArg writes a cube as one OCI comparison.
func ociCubeArg(idx int, c ociCube) *ociArg {
	if c.mask == ^uint64(0) {
		return &ociArg{Index: idx, Value: c.val, Op: "SCMP_CMP_EQ"}
	}
	two := c.val
	return &ociArg{Index: idx, Value: c.mask, ValueTwo: &two, Op: "SCMP_CMP_MASKED_EQ"}
}

// ociIntervalArg writes a 64-bit interval set as one comparison when one
// suffices.
func ociIntervalArg(idx int, ivs []ociInterval) *ociArg {
	const all = ^uint64(0)
	if len(ivs) == 2 && ivs[0].lo == 0 && ivs[1].hi == all && ivs[1].lo-ivs[0].hi == 2 {
		return &ociArg{Index: idx, Value: ivs[0].hi + 1, Op: "SCMP_CMP_NE"}
	}
	if len(ivs) != 1 {
		return nil
	}
	iv := ivs[0]
	switch {
	case iv.lo == 0 && iv.hi == all:
		return nil
	case iv.lo == iv.hi:
		return &ociArg{Index: idx, Value: iv.lo, Op: "SCMP_CMP_EQ"}
	case iv.lo == 0:
		return &ociArg{Index: idx, Value: iv.hi, Op: "SCMP_CMP_LE"}
	case iv.hi == ^uint64(0):
		return &ociArg{Index: idx, Value: iv.lo, Op: "SCMP_CMP_GE"}
	}
	return nil
}

// String renders an OCI argument comparison for messages and tests.
func (a ociArg) String() string {
	s := "arg" + strconv.Itoa(a.Index) + " " + a.Op + " " + strconv.FormatUint(a.Value, 10)
	if a.ValueTwo != nil {
		s += " " + strconv.FormatUint(*a.ValueTwo, 10)
	}
	return s
}
