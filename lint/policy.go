package lint

import (
	"bytes"
	"fmt"
	"slices"
	"strings"

	"github.com/syscage/syscage/arch"
	"github.com/syscage/syscage/internal/space"
	"github.com/syscage/syscage/policy"
)

// Policy lints a policy. The findings are sorted by position; the error
// reports options that make no sense or a policy the evaluator cannot
// decide (one that did not come from Parse or Validate).
func Policy(p *policy.Policy, opts Options) ([]Finding, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	accepted, err := p.AcceptedArches()
	if err != nil {
		return nil, err
	}
	fs := &findings{opts: &opts}
	for _, w := range p.Warnings {
		// Problems the reader let pass (docs/oci-profiles.md): they change
		// what the profile means, or hint at a mistake, so they are
		// findings like the others.
		fs.add(w.Pos, -1, SourceWarning, "correct the policy so that it says what is meant (docs/policy-language.md; for OCI profiles, docs/oci-profiles.md explains how runtimes read them)", "%s", w.Msg)
	}
	pd := &policyDecider{p: p, env: opts.Env, accepted: accepted, src: opts.Source, ix: space.NewIndex(p)}
	headerChecks(pd, fs)
	if err := ruleChecks(pd, fs); err != nil {
		return nil, err
	}
	if err := decisionChecks(pd, fs, &opts); err != nil {
		return nil, err
	}
	return fs.sorted(), nil
}

// policyDecider decides through policy.Evaluate on the representatives of
// the space package, which are exact for every argument class.
type policyDecider struct {
	p        *policy.Policy
	env      policy.Env
	accepted []*arch.Arch
	src      []byte
	ix       *space.Index
}

func (pd *policyDecider) arches() []*arch.Arch { return pd.accepted }

func (pd *policyDecider) slot(a *arch.Arch, nr uint32) space.Slot {
	name, known := a.SyscallName(int(nr))
	kind := space.Known
	if !known {
		kind = space.Named
	}
	return space.Slot{Kind: kind, AuditArch: a.AuditArch, Nr: nr, Arch: a, Name: name}
}

// run decides every argument class of number nr on a and returns the
// vectors with their decisions.
func (pd *policyDecider) run(a *arch.Arch, nr uint32) ([][6]uint64, []policy.Decision, error) {
	s := pd.slot(a, nr)
	vecs, _, err := space.Args(a, s.Name, space.Conditions(pd.ix.Rules(s, pd.env)), 0)
	if err != nil {
		return nil, nil, err
	}
	ds := make([]policy.Decision, len(vecs))
	for i, v := range vecs {
		if ds[i], err = policy.Evaluate(pd.p, s.Input(v), pd.env); err != nil {
			return nil, nil, err
		}
	}
	return vecs, ds, nil
}

func (pd *policyDecider) outcomes(a *arch.Arch, name string) ([]outcome, error) {
	nr, ok := a.Lookup(name)
	if !ok {
		return nil, nil
	}
	vecs, ds, err := pd.run(a, uint32(nr))
	if err != nil {
		return nil, err
	}
	out := make([]outcome, len(vecs))
	for i, d := range ds {
		ret, err := d.Action.Ret(a)
		if err != nil {
			return nil, err
		}
		o := outcome{args: vecs[i], ret: ret, insn: -1}
		if d.Rule != nil {
			o.pos, o.what, o.explicit = d.Rule.Pos, "by this rule"+restrictionText(d.Rule), true
		} else {
			o.pos, o.what = pd.headerPos("default"), "by the default action"
		}
		out[i] = o
	}
	return out, nil
}

// jsonKeys are the OCI profile keys of the native header keywords.
var jsonKeys = map[string]string{"default": `"defaultAction"`, "arch": `"architectures"`}

// headerPos finds the line of a header keyword in the source: a native
// line starting with the keyword, or the OCI profile's key. Without a
// source, or when the line is not there (it came from an include), the
// position names the file only.
func (pd *policyDecider) headerPos(key string) policy.Pos {
	pos := policy.Pos{File: pd.p.Source}
	for i, line := range bytes.Split(pd.src, []byte("\n")) {
		trimmed := bytes.TrimLeft(line, " \t")
		col := len(line) - len(trimmed) + 1
		if f := bytes.Fields(trimmed); len(f) > 0 && string(f[0]) == key {
			pos.Line, pos.Col = i+1, col
			return pos
		}
		if k, ok := jsonKeys[key]; ok {
			if j := bytes.Index(line, []byte(k)); j >= 0 {
				pos.Line, pos.Col = i+1, j+1
				return pos
			}
		}
	}
	return pos
}

// compat lists, per architecture, the compatibility ABIs a process on it
// can switch to.
var compat = map[string][]string{
	"x86_64":   {"i386", "x32"},
	"aarch64":  {"arm"},
	"mips64":   {"mips"},
	"mips64el": {"mipsel"},
}

// headerChecks looks at the default, unknown and arch lines.
func headerChecks(pd *policyDecider, fs *findings) {
	p := pd.p
	if k := p.Default.Kind; k == policy.Allow || k == policy.Log {
		fs.add(pd.headerPos("default"), -1, DefaultAllow,
			"start from a deny (`default errno(EPERM)` or `default kill_process`) and allow what the program needs; `syscage record` finds it",
			"the default action is %s: the policy is a deny-list, and every syscall it does not name is allowed, dangerous ones included", p.Default)
	}
	if k := p.Unknown.Kind; k == policy.Allow || k == policy.Log {
		fs.add(pd.headerPos("unknown"), -1, UnknownAction, "`unknown errno(ENOSYS)`",
			"the unknown action is %s: syscalls newer than the tables pass unchecked", p.Unknown)
	} else if k == policy.Errno {
		for _, a := range pd.accepted {
			got, err1 := p.Unknown.Ret(a)
			want, err2 := (policy.Action{Kind: policy.Errno, ErrnoName: "ENOSYS"}).Ret(a)
			if err1 == nil && err2 == nil && got != want {
				fs.add(pd.headerPos("unknown"), -1, UnknownAction, "`unknown errno(ENOSYS)`",
					"the unknown action is %s: libc and runtimes fall back from newer syscalls only on ENOSYS", p.Unknown)
				break
			}
		}
	}
	for _, a := range pd.accepted {
		for _, c := range compat[a.Name] {
			if i := slices.IndexFunc(pd.accepted, func(b *arch.Arch) bool { return b.Name == c }); i >= 0 {
				fs.add(pd.headerPos("arch"), -1, CompatArch,
					fmt.Sprintf("drop %s from the arch line unless the program runs %s code; other architectures then get the badarch action", c, c),
					"the policy accepts %s besides %s: another syscall table, reachable from any %s process", c, a.Name, a.Name)
			}
		}
	}
	zero := func(x policy.Action) bool {
		if x.Kind != policy.Errno {
			return false
		}
		for _, a := range pd.accepted {
			if r, err := x.Ret(a); err == nil && r&0xffff == 0 {
				return true
			}
		}
		return false
	}
	const zeroFix = "deny with a real errno, such as errno(EPERM), or allow the syscall if success is what is meant"
	for _, h := range []struct {
		key string
		act policy.Action
	}{{"default", p.Default}, {"unknown", p.Unknown}, {"badarch", p.BadArch}} {
		if zero(h.act) {
			fs.add(pd.headerPos(h.key), -1, ErrnoZero, zeroFix,
				"%s %s returns 0: callers believe the syscall succeeded, though it did nothing", h.key, h.act)
		}
	}
	for _, r := range p.Rules {
		if zero(r.Action) {
			fs.add(r.Pos, -1, ErrnoZero, zeroFix,
				"%s returns 0: callers believe the syscall succeeded, though it did nothing", r.Action)
		}
	}
}

// ruleStat gathers what the representatives showed about one rule.
type ruleStat struct {
	// pairs counts the (arch, number) pairs each target names where the
	// rule takes part; decided those where the rule decided some input;
	// matched those where its condition held for some input.
	pairs, decided, matched []int
	// shadowers are the rules that decided inputs the rule matched.
	shadowers []*policy.Rule
	// early is set when a fallback, not a rule, decided an input the
	// rule matched: the input never reaches the rules (x32 numbers
	// without bit 30 are x86_64 ones, so an x32-only policy sends them
	// to badarch).
	early *earlyDecision
	// nodes: for each part of the condition, whether it held and failed
	// on some input.
	nodes map[policy.Expr]*nodeStat
}

type nodeStat struct{ held, failed bool }

// earlyDecision is a fallback that decided an input a rule matched.
type earlyDecision struct {
	arch   *arch.Arch
	nr     uint32
	reason string // "badarch", as policy.Decision says
	action policy.Action
}

// ruleChecks finds rules that never decide and conditions that never (or
// always) hold, by evaluating the policy on every argument class of every
// syscall a rule names.
func ruleChecks(pd *policyDecider, fs *findings) error {
	p := pd.p
	stats := map[*policy.Rule]*ruleStat{}
	for _, r := range p.Rules {
		stats[r] = &ruleStat{pairs: make([]int, len(r.Syscalls)), decided: make([]int, len(r.Syscalls)),
			matched: make([]int, len(r.Syscalls)), nodes: map[policy.Expr]*nodeStat{}}
	}
	for _, a := range pd.accepted {
		// The numbers some rule names on a, each with its rules.
		var nrs []uint32
		seen := map[uint32]bool{}
		for _, r := range p.Rules {
			if !r.AppliesOn(a, pd.env) {
				continue
			}
			for _, t := range r.Syscalls {
				for _, sc := range t.Syscalls(a) {
					if nr := uint32(sc.Nr); sc.Nr >= 0 && !seen[nr] {
						seen[nr] = true
						nrs = append(nrs, nr)
					}
				}
			}
		}
		for _, nr := range nrs {
			s := pd.slot(a, nr)
			rules := pd.ix.Rules(s, pd.env)
			vecs, ds, err := pd.run(a, nr)
			if err != nil {
				return err
			}
			for _, r := range rules {
				st := stats[r]
				decided, matched := false, false
				for i, v := range vecs {
					if ds[i].Rule == r {
						decided = true
					}
					held, err := walkNodes(r.When, a, s.Name, v, st.nodes)
					if err != nil {
						return err
					}
					if held {
						matched = true
						if ds[i].Rule != r && ds[i].Rule != nil && !slices.Contains(st.shadowers, ds[i].Rule) {
							st.shadowers = append(st.shadowers, ds[i].Rule)
						}
						if ds[i].Rule == nil && st.early == nil {
							st.early = &earlyDecision{arch: a, nr: nr, reason: ds[i].Reason, action: ds[i].Action}
						}
					}
				}
				for ti, t := range r.Syscalls {
					if !names(t, a, nr) {
						continue
					}
					st.pairs[ti]++
					if decided {
						st.decided[ti]++
					}
					if matched {
						st.matched[ti]++
					}
				}
			}
		}
	}
	for _, r := range p.Rules {
		reportRule(pd, r, stats[r], fs)
	}
	return nil
}

func names(t policy.Target, a *arch.Arch, nr uint32) bool {
	for _, sc := range t.Syscalls(a) {
		if sc.Nr >= 0 && uint32(sc.Nr) == nr {
			return true
		}
	}
	return false
}

// walkNodes evaluates every part of condition e, records which held and
// failed, and returns whether e holds (true for a nil e).
func walkNodes(e policy.Expr, a *arch.Arch, name string, args [6]uint64, nodes map[policy.Expr]*nodeStat) (bool, error) {
	if e == nil {
		return true, nil
	}
	switch x := e.(type) {
	case *policy.And:
		for _, t := range x.Terms {
			if _, err := walkNodes(t, a, name, args, nodes); err != nil {
				return false, err
			}
		}
	case *policy.Or:
		for _, t := range x.Terms {
			if _, err := walkNodes(t, a, name, args, nodes); err != nil {
				return false, err
			}
		}
	case *policy.Not:
		if _, err := walkNodes(x.X, a, name, args, nodes); err != nil {
			return false, err
		}
	}
	held, err := space.Holds(e, a, name, args)
	if err != nil {
		return false, err
	}
	st := nodes[e]
	if st == nil {
		st = &nodeStat{}
		nodes[e] = st
	}
	if held {
		st.held = true
	} else {
		st.failed = true
	}
	return held, nil
}

// reportRule turns a rule's statistics into findings.
func reportRule(pd *policyDecider, r *policy.Rule, st *ruleStat, fs *findings) {
	total := 0
	for _, n := range st.pairs {
		total += n
	}
	if total == 0 {
		// The rule takes part nowhere (its restrictions exclude the
		// environment, or its syscalls are absent): nothing to judge.
		return
	}
	if r.When != nil {
		if root := st.nodes[r.When]; root != nil && !root.held {
			fs.add(posOr(r.When.Position(), r.Pos), -1, NeverMatches,
				"correct the condition; as written the rule does nothing",
				"the condition `%s` can never hold for %s, so the rule never applies", policy.FormatExpr(r.When), targetsText(r.Syscalls))
			return
		}
		neverParts(r, r.When, st.nodes, fs)
		if root := st.nodes[r.When]; root != nil && !root.failed {
			fs.add(posOr(r.When.Position(), r.Pos), -1, AlwaysMatches,
				"drop the condition, or correct it if it was meant to restrict",
				"the condition `%s` holds for every argument value of %s", policy.FormatExpr(r.When), targetsText(r.Syscalls))
		}
	}
	// A rule from an included file that the including file overrides
	// (the shadowing rule is elsewhere) is the usual way to adapt a
	// shared base: not a finding.
	if r.Pos.File != pd.p.Source {
		for _, s := range st.shadowers {
			if s.Pos.File != r.Pos.File {
				return
			}
		}
	}
	var dead []int
	for i := range r.Syscalls {
		if st.pairs[i] > 0 && st.decided[i] == 0 && st.matched[i] > 0 {
			dead = append(dead, i)
		}
	}
	if len(dead) == 0 {
		return
	}
	if len(st.shadowers) == 0 {
		// No rule decided first: a fallback did, before the rules were
		// tried. Only the number targets of a policy accepting x32 but
		// not x86_64 get here.
		if e := st.early; e != nil {
			fix := "name the syscall, or write the number as the filter sees it"
			if e.arch.NrBase != 0 {
				fix = fmt.Sprintf("%s numbers as the filter sees them start at 0x%x: write 0x%x, or the syscall's name", e.arch.Name, e.arch.NrBase, uint64(e.arch.NrBase)+uint64(e.nr))
			}
			fs.add(r.Pos, -1, NeverMatches, fix,
				"this rule (%s) never decides anything: on %s, number %d reaches the filter as another architecture's, which the policy decides with its %s action (%s) before any rule",
				r.Action, e.arch.Name, e.nr, e.reason, e.action)
		}
		return
	}
	id := RedundantRule
	for _, s := range st.shadowers {
		if !policy.SameEffect(pd.accepted, s.Action, r.Action) {
			id = ShadowedRule
		}
	}
	var by []string
	for _, s := range st.shadowers {
		by = append(by, relPos(s.Pos, r.Pos))
	}
	who := "the rule at " + strings.Join(by, ", ")
	if len(by) > 1 {
		who = "the rules at " + strings.Join(by, ", ")
	}
	fix := "remove the rule, or move it above " + strings.Join(by, ", ") + " if it is meant to win"
	if id == RedundantRule {
		fix = "remove the rule: it changes nothing"
	}
	verb := "decides every input it matches first"
	if len(by) > 1 {
		verb = "decide every input it matches first"
	}
	if len(dead) == len(r.Syscalls) {
		fs.add(r.Pos, -1, id, fix, "this rule (%s) never decides anything: %s %s, with %s",
			r.Action, who, verb, actionsText(st.shadowers))
		return
	}
	for _, i := range dead {
		t := r.Syscalls[i]
		fs.add(posOr(t.Pos, r.Pos), -1, id, fix, "%s never reaches this rule (%s): %s %s, with %s",
			t, r.Action, who, verb, actionsText(st.shadowers))
	}
}

// neverParts reports the outermost parts of a condition that can never
// hold, inside a condition that can.
func neverParts(r *policy.Rule, e policy.Expr, nodes map[policy.Expr]*nodeStat, fs *findings) {
	var terms []policy.Expr
	switch x := e.(type) {
	case *policy.And:
		terms = x.Terms
	case *policy.Or:
		terms = x.Terms
	case *policy.Not:
		terms = []policy.Expr{x.X}
	}
	for _, t := range terms {
		st := nodes[t]
		if st == nil {
			continue
		}
		if !st.held {
			fs.add(posOr(t.Position(), r.Pos), -1, NeverMatches, "correct or remove this part of the condition",
				"`%s` can never hold for %s", policy.FormatExpr(t), targetsText(r.Syscalls))
			continue
		}
		neverParts(r, t, nodes, fs)
	}
}

func posOr(p, q policy.Pos) policy.Pos {
	if p.IsValid() {
		return p
	}
	return q
}

func targetsText(ts []policy.Target) string {
	parts := make([]string, len(ts))
	for i, t := range ts {
		parts[i] = t.String()
	}
	return strings.Join(parts, " ")
}

func actionsText(rs []*policy.Rule) string {
	var parts []string
	for _, r := range rs {
		if s := r.Action.String(); !slices.Contains(parts, s) {
			parts = append(parts, s)
		}
	}
	return strings.Join(parts, " or ")
}

// relPos names position p for a message about position at: "line 12"
// within the same file, the full position otherwise.
func relPos(p, at policy.Pos) string {
	if p.File == at.File && p.IsValid() {
		return fmt.Sprintf("line %d", p.Line)
	}
	return p.String()
}

// restrictionText describes the capability and kernel restrictions of a
// rule, which make it apply in some environments only: " when holding
// CAP_SYS_PTRACE", "" for none.
func restrictionText(r *policy.Rule) string {
	var parts []string
	if o := r.Only; o != nil {
		if len(o.Caps) > 0 {
			parts = append(parts, "holding "+strings.Join(o.Caps, " and "))
		}
		if o.MinKernel != "" {
			parts = append(parts, "on kernel "+o.MinKernel+" or newer")
		}
	}
	if x := r.Except; x != nil {
		if len(x.Caps) > 0 {
			parts = append(parts, "not holding "+strings.Join(x.Caps, " or "))
		}
		if x.MinKernel != "" {
			parts = append(parts, "on kernels older than "+x.MinKernel)
		}
	}
	if len(parts) == 0 {
		return ""
	}
	return ", when " + strings.Join(parts, ", ")
}
