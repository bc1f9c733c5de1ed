// Package policymerge computes the union of policies: one policy that
// lets through every input any of them lets through, and nothing more.
// Its use is combining profiles recorded from several runs or replicas
// of one program.
//
// # Semantics
//
// For every input (architecture, syscall, arguments, environment) the
// union decides the most permissive of the inputs' decisions, in the
// kernel's order of strictness (kill_process, kill_thread, trap, errno,
// notify, trace, log, allow). A syscall allowed by any input is allowed,
// under the OR of the conditions that allow it.
//
// Inputs may accept different architectures (recordings of runs on
// different machines, or of mixed 64- and 32-bit programs). The union
// accepts every arch some input accepts. An input decides an arch it
// does not accept with its badarch action, normally kill_process and so
// the strictest, so on an arch only some inputs accept the union decides
// as those inputs do; rules of the others are confined to their own
// arches with `only arch`. Where a badarch action is more permissive than
// what an accepting input decides, the union would have to refuse an
// arch it accepts, and Union refuses to merge.
//
// The inputs must state the same default, unknown and badarch actions: a
// union has one of each. Two inputs that decide one input with actions
// of the same kind but different values (errno(EACCES) and errno(EPERM))
// conflict, since neither is more permissive; and a rule stricter than
// the default in one input cannot survive where another input falls to
// the default. Union refuses both, naming the input, the rules and an
// example syscall. Every union it returns has been checked against the
// inputs on every class of inputs (package space), in every environment
// the rules' restrictions distinguish.
package policymerge

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/syscage/syscage/arch"
	"github.com/syscage/syscage/internal/space"
	"github.com/syscage/syscage/policy"
)

// ConflictError is a union the policy format cannot express, or inputs
// that disagree.
type ConflictError struct {
	Msg string
}

func (e *ConflictError) Error() string { return e.Msg }

func conflictf(format string, args ...any) error {
	return &ConflictError{Msg: fmt.Sprintf(format, args...)}
}

// Union returns the union of ps (see the package documentation). The
// inputs are not changed. The result's rules come from the inputs, with
// their comments: first the most permissive ones, rules already covered
// by an earlier one dropped, conditions of rules for the same syscalls
// and action joined with ||.
func Union(ps ...*policy.Policy) (*policy.Policy, error) {
	if len(ps) == 0 {
		return nil, fmt.Errorf("nothing to merge")
	}
	m := &merger{ps: ps}
	if err := m.header(); err != nil {
		return nil, err
	}
	for i, p := range ps {
		if err := m.input(i, p); err != nil {
			return nil, err
		}
	}
	out := m.result()
	if err := prune(out); err != nil {
		return nil, err
	}
	if err := out.Validate(); err != nil {
		return nil, fmt.Errorf("the union does not validate (a bug in merge): %w", err)
	}
	if err := verify(ps, out); err != nil {
		return nil, err
	}
	return out, nil
}

type merger struct {
	ps     []*policy.Policy
	arches []*arch.Arch
	out    *policy.Policy
	// levels holds the emitted rules per action kind, most permissive
	// (Allow) last.
	levels [policy.Allow + 1][]*policy.Rule
}

func name(p *policy.Policy, i int) string {
	if p.Source != "" {
		return p.Source
	}
	return fmt.Sprintf("input %d", i+1)
}

// header checks that the inputs agree on what a union cannot combine,
// and builds the result's header.
func (m *merger) header() error {
	var err error
	if m.arches, err = space.Accepted(m.ps...); err != nil {
		return err
	}
	first := m.ps[0]
	out := &policy.Policy{
		Default: first.Default, Unknown: first.Unknown, BadArch: first.BadArch,
		HeaderComments: first.HeaderComments, EndComment: first.EndComment,
	}
	for _, a := range m.arches {
		out.Arches = append(out.Arches, a.Name)
	}
	var srcs, comments []string
	for i, p := range m.ps {
		srcs = append(srcs, name(p, i))
		if p.Comment != "" && !slices.Contains(comments, p.Comment) {
			comments = append(comments, p.Comment)
		}
		if i > 0 {
			// The first input's header comments stay on the header
			// lines; the others' join the head comment.
			keys := make([]string, 0, len(p.HeaderComments))
			for k := range p.HeaderComments {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				c := p.HeaderComments[k]
				for _, t := range []string{c.Above, c.Trailing} {
					if t != "" && !slices.Contains(comments, t) && t != first.HeaderComments[k].Above && t != first.HeaderComments[k].Trailing {
						comments = append(comments, t)
					}
				}
			}
		}
		for _, h := range []struct {
			key  string
			x, y policy.Action
		}{
			{"default", first.Default, p.Default},
			{"unknown", orUnknown(first.Unknown), orUnknown(p.Unknown)},
			{"badarch", orBadArch(first.BadArch), orBadArch(p.BadArch)},
		} {
			if !policy.SameEffect(m.arches, h.x, h.y) {
				return conflictf("%s says `%s %s` and %s says `%s %s`: a union has one %s action; make them agree first",
					name(first, 0), h.key, h.x, name(p, i), h.key, h.y, h.key)
			}
		}
		for _, f := range p.Flags {
			if !slices.Contains(out.Flags, f) {
				out.Flags = append(out.Flags, f)
			}
		}
		if l := p.Listener; l != nil {
			if out.Listener != nil && *out.Listener != *l {
				return conflictf("%s and an earlier input name different notification listeners (%q, %q): a union has one", name(p, i), out.Listener.Path, l.Path)
			}
			out.Listener = l
		}
	}
	out.Comment = "The union of " + strings.Join(srcs, ", ") + " (syscage merge)."
	for _, c := range comments {
		out.Comment += "\n\n" + c
	}
	m.out = out
	return nil
}

func orUnknown(a policy.Action) policy.Action {
	if a.Kind == 0 {
		return policy.Action{Kind: policy.Errno, ErrnoName: "ENOSYS", Data: 38}
	}
	return a
}

func orBadArch(a policy.Action) policy.Action {
	if a.Kind == 0 {
		return policy.ActKillProcess
	}
	return a
}

// pairs returns the (arch, number) pairs a target names on the arches.
func pairs(t policy.Target, as []*arch.Arch) map[[2]uint32]bool {
	out := map[[2]uint32]bool{}
	for _, a := range as {
		for _, sc := range t.Syscalls(a) {
			if sc.Nr >= 0 {
				out[[2]uint32{a.AuditArch, uint32(sc.Nr)}] = true
			}
		}
	}
	return out
}

func subset(x, y map[[2]uint32]bool) bool {
	for k := range x {
		if !y[k] {
			return false
		}
	}
	return true
}

// ruleArches returns the architectures of as where r can apply.
func ruleArches(r *policy.Rule, as []*arch.Arch) []*arch.Arch {
	var out []*arch.Arch
	for _, a := range as {
		if r.Only != nil && len(r.Only.Arches) > 0 && !listed(r.Only.Arches, a) {
			continue
		}
		if r.Except != nil && listed(r.Except.Arches, a) {
			continue
		}
		out = append(out, a)
	}
	return out
}

func listed(names []string, a *arch.Arch) bool {
	for _, n := range names {
		if b, err := arch.ByName(n); err == nil && b == a {
			return true
		}
	}
	return false
}

// restrictionKey renders a rule's only/except restriction for
// comparisons.
func restrictionKey(r *policy.Rule) string {
	k := func(a *policy.Applies) string {
		if a == nil {
			return "-"
		}
		as, cs := slices.Clone(a.Arches), slices.Clone(a.Caps)
		sort.Strings(as)
		sort.Strings(cs)
		return strings.Join(as, ",") + "/" + strings.Join(cs, ",") + "/" + a.MinKernel
	}
	return k(r.Only) + " " + k(r.Except)
}

func unrestricted(r *policy.Rule) bool {
	return (r.Only == nil || (len(r.Only.Caps) == 0 && r.Only.MinKernel == "")) &&
		(r.Except == nil || (len(r.Except.Caps) == 0 && r.Except.MinKernel == ""))
}

// input adds the rules of input i.
func (m *merger) input(i int, p *policy.Policy) error {
	own, err := p.AcceptedArches()
	if err != nil {
		return err
	}
	for ri, r := range p.Rules {
		arches := ruleArches(r, own)
		if len(arches) == 0 {
			continue
		}
		groups := [][]*arch.Arch{arches}
		if r.Action.Kind < m.out.Default.Kind {
			groups = m.byAcceptors(i, arches)
		}
		for _, g := range groups {
			restrict := len(own) != len(m.arches) || len(groups) > 1
			if err := m.rule(p, i, ri, g, restrict); err != nil {
				return err
			}
		}
	}
	return nil
}

// byAcceptors partitions arches by the set of other inputs that accept
// each: a rule stricter than the default is constrained by every other
// input that accepts the arch (the others refuse it with the badarch
// action), so it is written once per such set.
func (m *merger) byAcceptors(i int, arches []*arch.Arch) [][]*arch.Arch {
	var keys []string
	groups := map[string][]*arch.Arch{}
	for _, a := range arches {
		var key strings.Builder
		for j, q := range m.ps {
			qa, _ := q.AcceptedArches()
			if j != i && slices.Contains(qa, a) {
				fmt.Fprintf(&key, "%d,", j)
			}
		}
		k := key.String()
		if _, ok := groups[k]; !ok {
			keys = append(keys, k)
		}
		groups[k] = append(groups[k], a)
	}
	out := make([][]*arch.Arch, len(keys))
	for n, k := range keys {
		out[n] = groups[k]
	}
	return out
}

// rule adds rule ri of input i, on the given architectures; restrict
// writes them into the rule's only restriction.
func (m *merger) rule(p *policy.Policy, i, ri int, arches []*arch.Arch, restrict bool) error {
	r := p.Rules[ri]
	// Each target with the earlier rules of this input that would
	// decide some of its inputs first with a stricter (or equally
	// strict but different) action: those must be cut out of it,
	// since in the union it moves ahead of them. Targets that share
	// their guards stay in one rule.
	type part struct {
		targets []policy.Target
		guards  []*policy.Rule
		covers  []policy.Expr
	}
	var parts []*part
	byKey := map[string]*part{}
	add := func(t policy.Target, c constraint) {
		key := c.key()
		pt := byKey[key]
		if pt == nil {
			pt = &part{guards: c.guards, covers: c.covers}
			byKey[key] = pt
			parts = append(parts, pt)
		}
		pt.targets = append(pt.targets, t)
	}
	for _, t := range r.Syscalls {
		c, err := m.constraint(p, i, ri, t, arches)
		if err != nil {
			return err
		}
		if c.dead || t.Group == "" {
			if !c.dead {
				add(t, c)
			}
			continue
		}
		// A group: whole when all its members share the
		// constraints, split into members otherwise.
		members := groupMembers(t, arches)
		each := make([]constraint, len(members))
		same := true
		for j, mt := range members {
			if each[j], err = m.constraint(p, i, ri, mt, arches); err != nil {
				return err
			}
			same = same && !each[j].dead && each[j].key() == c.key()
		}
		if same {
			add(t, c)
			continue
		}
		for j, mt := range members {
			if !each[j].dead {
				add(mt, each[j])
			}
		}
	}
	for _, pt := range parts {
		nr := *r
		nr.Syscalls = pt.targets
		if len(pt.targets) == len(r.Syscalls) && len(parts) == 1 {
			nr.Syscalls = r.Syscalls
		}
		nr.When = guarded(r.When, pt.guards, pt.covers)
		if restrict {
			nr.Only = restrictArches(r.Only, arches)
		}
		m.emit(&nr)
	}
	return nil
}

// groupMembers returns a group target's members present on some of the
// arches, as targets by name.
func groupMembers(t policy.Target, as []*arch.Arch) []policy.Target {
	g, ok := policy.GroupByName(t.Group)
	if !ok {
		return nil
	}
	var out []policy.Target
	for _, n := range g.Syscalls {
		for _, a := range as {
			if _, ok := a.Lookup(n); ok {
				out = append(out, policy.Target{Pos: t.Pos, Name: n})
				break
			}
		}
	}
	return out
}

// constraint is what a rule of one input needs, for one target, to
// decide in the union exactly where it should.
type constraint struct {
	// guards are earlier rules of the same input that decide some of the
	// target's inputs first with a stricter, or equally strict but
	// different, action: in the union the rule moves ahead of them, so
	// their conditions are cut out of it.
	guards []*policy.Rule
	// covers, for a rule stricter than the default, are one condition
	// per other input: where it holds, that input has a rule for the
	// target instead of falling to the more permissive default.
	covers []policy.Expr
	// dead: the rule never decides the target in the union.
	dead bool
	// split: a group target whose members need different constraints.
	split bool
}

func (c constraint) key() string {
	var b strings.Builder
	for _, g := range c.guards {
		fmt.Fprintf(&b, "%p;", g)
	}
	b.WriteByte('|')
	for _, e := range c.covers {
		b.WriteString(policy.FormatExpr(e) + ";")
	}
	if c.split {
		b.WriteString("|split")
	}
	return b.String()
}

// constraint computes what rule ri of input i needs for target t.
func (m *merger) constraint(p *policy.Policy, i, ri int, t policy.Target, arches []*arch.Arch) (constraint, error) {
	var c constraint
	r := p.Rules[ri]
	tp := pairs(t, arches)
	if len(tp) == 0 {
		return constraint{dead: true}, nil
	}
	for _, e := range p.Rules[:ri] {
		if e.Action.Kind > r.Action.Kind || policy.SameEffect(m.arches, e.Action, r.Action) {
			continue // more permissive: ahead of r in the union anyway
		}
		w, dead, err := touching(e, tp, arches)
		if err != nil || !w {
			continue
		}
		if err := sameRestriction(p, i, e, r, t); err != nil {
			return c, err
		}
		if dead {
			return constraint{dead: true}, nil
		}
		if e.When == nil && t.Group != "" {
			c.split = true // some members only: they are judged one by one
			continue
		}
		if e.When == nil {
			return c, conflictf("%s: the rule at %s covers %s on some architectures only, ahead of the rule at %s; merge cannot split a syscall by architecture",
				name(p, i), e.Pos, t, r.Pos)
		}
		c.guards = append(c.guards, e)
	}
	if r.Action.Kind >= m.out.Default.Kind {
		return c, nil
	}
	// Stricter than the default: the rule may decide only where every
	// other input that accepts the rule's architectures has a rule of
	// its own for the syscall, rather than its default.
	for j, q := range m.ps {
		if j == i {
			continue
		}
		qa, err := q.AcceptedArches()
		if err != nil {
			return c, err
		}
		in := 0
		for _, a := range arches {
			if slices.Contains(qa, a) {
				in++
			}
		}
		if in == 0 {
			continue // q refuses these architectures with the badarch action
		}
		if in != len(arches) {
			return c, conflictf("the rule at %s (%s) is stricter than the default, and %s accepts some of its architectures only: merge cannot split it by architecture",
				r.Pos, r.Action, name(q, j))
		}
		var terms []policy.Expr
		always := false
		for _, e := range q.Rules {
			w, all, err := touching(e, tp, arches)
			if err != nil || !w {
				continue
			}
			if err := sameRestriction(q, j, e, r, t); err != nil {
				return c, err
			}
			if all || (e.When != nil && r.When != nil && policy.FormatExpr(e.When) == policy.FormatExpr(r.When)) {
				// r's own condition implies this one: no constraint.
				always = true
				break
			}
			if e.When == nil && t.Group != "" {
				c.split = true
				continue
			}
			if e.When == nil {
				return c, conflictf("the rule at %s covers %s on some architectures only; merge cannot split a syscall by architecture", e.Pos, t)
			}
			terms = append(terms, e.When)
		}
		switch {
		case always:
		case len(terms) == 0:
			return constraint{dead: true}, nil
		case len(terms) == 1:
			c.covers = append(c.covers, terms[0])
		default:
			c.covers = append(c.covers, &policy.Or{Terms: terms})
		}
	}
	return c, nil
}

// touching reports whether rule e names some of the pairs tp on the
// arches, and whether it decides all of them unconditionally.
func touching(e *policy.Rule, tp map[[2]uint32]bool, arches []*arch.Arch) (touched, all bool, err error) {
	ea := ruleArches(e, arches)
	covered := map[[2]uint32]bool{}
	for _, et := range e.Syscalls {
		for k := range pairs(et, ea) {
			if tp[k] {
				covered[k], touched = true, true
			}
		}
	}
	return touched, touched && e.When == nil && subset(tp, covered), nil
}

// sameRestriction refuses a rule e whose condition would have to be
// carried into rule r under another capability or kernel restriction.
func sameRestriction(p *policy.Policy, i int, e, r *policy.Rule, t policy.Target) error {
	if restrictionKey(e) == restrictionKey(r) || unrestricted(e) {
		return nil
	}
	return conflictf("%s: the rule at %s (%s) bears on the rule at %s (%s) for %s, and their only/except restrictions differ: "+
		"merge cannot carry one's condition into the other under another restriction; give the two rules the same restriction",
		name(p, i), e.Pos, e.Action, r.Pos, r.Action, t)
}

// guarded returns when && !g1 && !g2 ... && c1 && c2 ... (nil when is nil
// and there are no guards and covers).
func guarded(when policy.Expr, guards []*policy.Rule, covers []policy.Expr) policy.Expr {
	if len(guards) == 0 && len(covers) == 0 {
		return when
	}
	var terms []policy.Expr
	if when != nil {
		terms = append(terms, when)
	}
	for _, g := range guards {
		terms = append(terms, &policy.Not{X: g.When})
	}
	terms = append(terms, covers...)
	if len(terms) == 1 {
		return terms[0]
	}
	return &policy.And{Terms: terms}
}

// restrictArches returns only with its arches limited to own.
func restrictArches(only *policy.Applies, own []*arch.Arch) *policy.Applies {
	out := &policy.Applies{}
	if only != nil {
		*out = *only
	}
	var names []string
	for _, a := range own {
		if len(out.Arches) == 0 || listed(out.Arches, a) {
			names = append(names, a.Name)
		}
	}
	out.Arches = names
	return out
}

// emit adds a rule to its level, dropping what earlier rules of the same
// action and restriction already cover and joining conditions of rules
// for the same syscalls.
func (m *merger) emit(r *policy.Rule) {
	level := m.levels[r.Action.Kind]
	key := restrictionKey(r)
	arches := ruleArches(r, m.arches)
	// Targets every one of whose pairs an unconditional rule of the same
	// action and restriction already covers are dropped.
	covered := map[[2]uint32]bool{}
	for _, e := range level {
		if e.When == nil && restrictionKey(e) == key && policy.SameEffect(m.arches, e.Action, r.Action) {
			for _, t := range e.Syscalls {
				for k := range pairs(t, ruleArches(e, m.arches)) {
					covered[k] = true
				}
			}
		}
	}
	var keep []policy.Target
	for _, t := range r.Syscalls {
		if !subset(pairs(t, arches), covered) {
			keep = append(keep, t)
		}
	}
	if len(keep) == 0 {
		return
	}
	if len(keep) != len(r.Syscalls) {
		nr := *r
		nr.Syscalls = keep
		r = &nr
	}
	targets := targetsKey(r.Syscalls)
	for i, e := range level {
		if restrictionKey(e) != key || !policy.SameEffect(m.arches, e.Action, r.Action) || targetsKey(e.Syscalls) != targets {
			continue
		}
		// The same syscalls, action and restriction: one rule, the
		// conditions joined.
		ne := *e
		switch {
		case e.When == nil:
			return
		case r.When == nil:
			ne.When = nil
		case policy.FormatExpr(e.When) == policy.FormatExpr(r.When):
			return
		default:
			ne.When = joinOr(e.When, r.When)
		}
		if r.Comment != "" && !strings.Contains(ne.Comment, r.Comment) {
			ne.Comment = strings.TrimSpace(ne.Comment + "\n" + r.Comment)
		}
		level[i] = &ne
		return
	}
	m.levels[r.Action.Kind] = append(level, r)
}

func targetsKey(ts []policy.Target) string {
	parts := make([]string, len(ts))
	for i, t := range ts {
		parts[i] = t.String()
	}
	sort.Strings(parts)
	return strings.Join(parts, " ")
}

// joinOr returns x || y, flattening nested ors.
func joinOr(x, y policy.Expr) policy.Expr {
	var terms []policy.Expr
	for _, e := range []policy.Expr{x, y} {
		if o, ok := e.(*policy.Or); ok {
			terms = append(terms, o.Terms...)
		} else {
			terms = append(terms, e)
		}
	}
	return &policy.Or{Terms: terms}
}

// result assembles the rules, most permissive first.
func (m *merger) result() *policy.Policy {
	out := m.out
	for k := policy.Allow; k >= policy.KillProcess; k-- {
		for _, r := range m.levels[k] {
			nr := *r
			nr.Pos = policy.Pos{}
			out.Rules = append(out.Rules, &nr)
		}
	}
	if len(out.Rules) > 0 {
		out.Rules[0].BlankBefore = false
	}
	return out
}
