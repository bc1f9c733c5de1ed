package policy

import (
	"fmt"
	"slices"
	"strings"

	"github.com/syscage/syscage/arch"
	"github.com/syscage/syscage/internal/suggest"
)

// Validate checks a policy built in memory as Parse checks a parsed one:
// a default action exists, every name (architecture, syscall, group,
// argument, constant, errno, capability) exists, and every comparison is
// meaningful for the type of its argument on every architecture where its
// rule applies. It sets Value.Num and Action.Data of symbolic values to
// their values on the native architecture (or the first accepted one
// that defines them). The error, if any, is an ErrorList.
func (p *Policy) Validate() error {
	return p.check(nil, false).sorted().Err()
}

// check does Validate's work. hdr gives the positions of header lines,
// when known.
func (p *Policy) check(hdr map[string]Pos, quiet bool) ErrorList {
	c := &checker{p: p, hdr: hdr, quiet: quiet}
	c.run()
	return c.errs
}

type checker struct {
	p        *Policy
	hdr      map[string]Pos
	quiet    bool // a syntax error may have hidden the default line
	errs     ErrorList
	accepted []*arch.Arch
	// order lists the architectures in the order symbolic values are
	// resolved for Num and Data: the native one first.
	order []*arch.Arch
}

func (c *checker) headerPos(key string) Pos {
	if pos, ok := c.hdr[key]; ok {
		return pos
	}
	return Pos{File: c.p.Source}
}

func (c *checker) run() {
	p := c.p
	for _, n := range p.Arches {
		if _, err := arch.ByName(n); err != nil {
			c.errs.add(c.headerPos("arch"), "%v", err)
			return
		}
	}
	var err error
	c.accepted, err = p.AcceptedArches()
	if err != nil {
		c.errs.add(c.headerPos("arch"), "%v", err)
		return
	}
	if n := arch.Native(); n != nil {
		c.order = append(c.order, n)
	}
	for _, a := range c.accepted {
		if !slices.Contains(c.order, a) {
			c.order = append(c.order, a)
		}
	}

	switch {
	case p.Default.Kind == 0 && c.quiet:
		// A syntax error may have hidden the default line: it is
		// reported, and there is no default to check.
	case p.Default.Kind == 0:
		pos := c.headerPos("default")
		if pos.File != "" && !pos.IsValid() {
			pos = Pos{File: pos.File, Line: 1, Col: 1}
		}
		c.errs.add(pos, "the policy states no default action: add a line such as `default errno(EPERM)` or `default kill_process`")
	default:
		c.action(c.headerPos("default"), "default", &p.Default)
	}
	if p.Unknown.Kind != 0 {
		c.action(c.headerPos("unknown"), "unknown", &p.Unknown)
	}
	if p.BadArch.Kind != 0 {
		c.action(c.headerPos("badarch"), "badarch", &p.BadArch)
	}
	for _, f := range p.Flags {
		if !slices.Contains(knownFlags, f) {
			c.errs.add(c.headerPos("flags"), "unknown filter flag %q%s; known: %s", f,
				suggest.Phrase(suggest.Nearest(f, knownFlags, 2)), strings.Join(knownFlags, " "))
		}
	}
	if p.Listener != nil && p.Listener.Path == "" {
		c.errs.add(c.headerPos("listener"), "the listener path is empty")
	}
	for _, r := range p.Rules {
		if len(c.errs) >= maxErrors {
			break // enough to act on; suggestions for more cost time
		}
		c.rule(r)
	}
	if p.Files != nil {
		c.files()
	}
}

// action checks an action and resolves its errno name.
func (c *checker) action(pos Pos, where string, a *Action) {
	if a.Kind < KillProcess || a.Kind > Allow {
		c.errs.add(pos, "%s: invalid action kind %d", where, a.Kind)
		return
	}
	if a.Kind != Errno {
		return
	}
	if a.ErrnoName == "" {
		if a.Data > maxErrno {
			c.errs.add(pos, "%s: errno %d is out of range: the kernel returns errors from 0 to %d", where, a.Data, maxErrno)
		}
		return
	}
	resolved := false
	for _, ar := range c.order {
		n, ok := ar.Errno(a.ErrnoName)
		if !ok {
			if slices.Contains(c.accepted, ar) {
				c.errs.add(pos, "errno %s is not defined on %s%s", a.ErrnoName, ar.Name, suggestErrno(ar, a.ErrnoName))
				return
			}
			continue
		}
		if !resolved {
			a.Data, resolved = uint16(n), true
		}
	}
}

func posOr(p, q Pos) Pos {
	if p.IsValid() {
		return p
	}
	return q
}

// rule checks one rule.
func (c *checker) rule(r *Rule) {
	if r.Action.Kind != 0 {
		c.action(r.Pos, "rule", &r.Action)
	} else {
		c.errs.add(r.Pos, "rule without an action")
	}
	if len(r.Syscalls) == 0 {
		c.errs.add(r.Pos, "rule without syscalls")
	}
	for _, t := range r.Syscalls {
		c.target(posOr(t.Pos, r.Pos), t)
	}
	for _, ap := range []*Applies{r.Only, r.Except} {
		if ap == nil {
			continue
		}
		for _, n := range ap.Arches {
			if _, err := arch.ByName(n); err != nil {
				c.errs.add(r.Pos, "%v", err)
			}
		}
		for _, cp := range ap.Caps {
			if !slices.Contains(capabilities, cp) {
				c.errs.add(r.Pos, "unknown capability %q%s", cp, suggest.Phrase(suggest.Nearest(cp, capabilities, 3)))
			}
		}
		if ap.MinKernel != "" && !validVersion(ap.MinKernel) {
			c.errs.add(r.Pos, "malformed kernel version %q: want numbers separated by dots, like 5.8", ap.MinKernel)
		}
	}
	if r.When != nil {
		c.expr(r, r.When)
	}
}

func validVersion(v string) bool {
	for _, f := range strings.Split(v, ".") {
		if !isAllDigits([]byte(f)) {
			return false
		}
	}
	return true
}

// target checks that a target names something on an accepted
// architecture.
func (c *checker) target(pos Pos, t Target) {
	n := 0
	for _, set := range []bool{t.Name != "", t.Group != "", t.HasNr} {
		if set {
			n++
		}
	}
	if n != 1 {
		c.errs.add(pos, "a target names exactly one of a syscall, a group or a number (got %+v)", t)
		return
	}
	within := c.accepted
	if t.Arch != "" {
		a, err := arch.ByName(t.Arch)
		if err != nil {
			c.errs.add(pos, "%v", err)
			return
		}
		if !slices.Contains(c.accepted, a) {
			c.errs.add(pos, "%s: architecture %s is not accepted by this policy (it accepts %s): add it to the arch line",
				t, a.Name, archNames(c.accepted))
			return
		}
		if t.Group != "" {
			c.errs.add(pos, "%s: groups cannot be qualified with an architecture", t)
			return
		}
		within = []*arch.Arch{a}
	}
	switch {
	case t.Group != "":
		if _, ok := groupMembers(t.Group); !ok {
			c.errs.add(pos, "unknown group @%s%s", t.Group, suggest.Phrase(atNames(suggest.Nearest(t.Group, groupNames(), 3))))
		}
	case t.HasNr:
		if t.Nr < 0 || t.Nr > 0xffffffff {
			c.errs.add(pos, "syscall number %d is out of range 0..0xffffffff", t.Nr)
		}
	default:
		for _, a := range within {
			if _, ok := a.Lookup(t.Name); ok {
				return
			}
		}
		var cands []string
		for _, a := range within {
			cands = append(cands, a.SyscallNames()...)
		}
		slices.Sort(cands)
		cands = slices.Compact(cands)
		var elsewhere []string
		for _, a := range arch.All() {
			if _, ok := a.Lookup(t.Name); ok {
				elsewhere = append(elsewhere, a.Name)
			}
		}
		hint := ""
		if len(elsewhere) > 0 {
			if len(elsewhere) > 4 {
				elsewhere = append(elsewhere[:4], "...")
			}
			hint = fmt.Sprintf(" (%s has it)", strings.Join(elsewhere, ", "))
		}
		c.errs.add(pos, "unknown syscall %q on %s%s%s", t.Name, archNames(within), hint,
			suggest.Phrase(suggest.Nearest(t.Name, cands, 3)))
	}
}

func archNames(as []*arch.Arch) string {
	names := make([]string, len(as))
	for i, a := range as {
		names[i] = a.Name
	}
	return strings.Join(names, ", ")
}

// ruleArches returns the accepted architectures on which the rule can
// apply at all, whatever the capabilities and kernel.
func (c *checker) ruleArches(r *Rule) []*arch.Arch {
	var out []*arch.Arch
	for _, a := range c.accepted {
		if r.Only != nil && len(r.Only.Arches) > 0 && !archListed(r.Only.Arches, a) {
			continue
		}
		if r.Except != nil && archListed(r.Except.Arches, a) {
			continue
		}
		out = append(out, a)
	}
	return out
}

// expr checks a condition.
func (c *checker) expr(r *Rule, e Expr) {
	switch e := e.(type) {
	case *And:
		if len(e.Terms) == 0 {
			c.errs.add(posOr(e.Pos, r.Pos), "empty && condition")
		}
		for _, t := range e.Terms {
			c.expr(r, t)
		}
	case *Or:
		if len(e.Terms) == 0 {
			c.errs.add(posOr(e.Pos, r.Pos), "empty || condition")
		}
		for _, t := range e.Terms {
			c.expr(r, t)
		}
	case *Not:
		if e.X == nil {
			c.errs.add(posOr(e.Pos, r.Pos), "'!' without a condition")
			return
		}
		c.expr(r, e.X)
	case *Cmp:
		c.cmp(r, e)
	default:
		c.errs.add(r.Pos, "missing or unknown condition %T", e)
	}
}

// values returns pointers to the constants of a comparison.
func (cm *Cmp) values() []*Value {
	switch cm.Op {
	case OpMaskedEq:
		return []*Value{&cm.Mask, &cm.Value}
	case OpRange:
		return []*Value{&cm.Value, &cm.High}
	case OpIn:
		out := make([]*Value, len(cm.Values))
		for i := range cm.Values {
			out[i] = &cm.Values[i]
		}
		return out
	}
	return []*Value{&cm.Value}
}

// cmp checks a comparison for every syscall of its rule on every
// architecture where the rule applies, and reports the first problem.
func (c *checker) cmp(r *Rule, cm *Cmp) {
	pos := posOr(cm.Pos, r.Pos)
	if cm.Op < OpEq || cm.Op > OpRange {
		c.errs.add(pos, "invalid comparison operator %d", cm.Op)
		return
	}
	if cm.Arg > 5 || (cm.Arg < 0 && cm.ArgName == "") {
		c.errs.add(pos, "argument index %d is out of range: syscalls have arguments arg0 to arg5", cm.Arg)
		return
	}
	if cm.Op == OpIn && len(cm.Values) == 0 {
		c.errs.add(pos, "empty set: `in {}` never matches")
		return
	}
	// Num: the value on the native architecture, or the first that
	// defines all its constants.
	for _, v := range cm.values() {
		var first error
		ok := false
		for _, a := range c.order {
			n, err := v.Resolve(a)
			if err == nil {
				v.Num, ok = n, true
				break
			}
			if first == nil {
				first = err
			}
		}
		if !ok {
			c.errs.add(pos, "%v", first)
			return
		}
	}
	for _, a := range c.ruleArches(r) {
		seen := map[string]bool{}
		for _, t := range r.Syscalls {
			for _, sc := range t.Syscalls(a) {
				if seen[sc.Name] {
					continue
				}
				seen[sc.Name] = true
				if err := checkCmpOn(a, sc, cm); err != nil {
					c.errs.add(pos, "%v", err)
					return
				}
			}
		}
	}
}

// checkCmpOn checks a comparison for one syscall on one architecture.
func checkCmpOn(a *arch.Arch, sc arch.Syscall, cm *Cmp) error {
	who := sc.Name
	if who == "" {
		who = fmt.Sprintf("syscall %d", sc.Nr)
	}
	idx, err := ArgIndex(a, sc.Name, cm)
	if err != nil {
		return err
	}
	argName := fmt.Sprintf("arg%d", idx)
	if sig, ok := a.Signature(sc.Name); ok {
		if idx >= len(sig.Args) {
			return fmt.Errorf("%s is not an argument of %s on %s, which takes %d: %s", argName, who, a.Name, len(sig.Args), describeArgs(sig))
		}
		argName = fmt.Sprintf("%s (arg%d of %s)", sig.Args[idx].Name, idx, who)
	} else {
		argName = fmt.Sprintf("arg%d of %s", idx, who)
	}
	width := ArgWidth(a, sc.Name, idx)
	kind := argKind(a, sc.Name, idx)
	vals := cm.values()
	nums := make([]uint64, len(vals))
	for i, v := range vals {
		n, err := v.Resolve(a)
		if err != nil {
			return err
		}
		if width == 32 && n > 0xffffffff && n < 0xffffffff80000000 {
			why := "it is an int"
			if a.Bits == 32 {
				why = a.Name + " passes 32-bit arguments"
			}
			return fmt.Errorf("%s does not fit in %s, which is 32 bits wide on %s (%s: the kernel reads only the low half)",
				v, argName, a.Name, why)
		}
		if width == 32 {
			n &= 0xffffffff
		}
		nums[i] = n
	}
	if kind == arch.KindPointer && !((cm.Op == OpEq || cm.Op == OpNe) && nums[0] == 0) {
		return fmt.Errorf("%s is a pointer: a filter cannot read what it points to, and its address means nothing; only NULL checks (== 0, != 0) are allowed", argName)
	}
	switch cm.Op {
	case OpMaskedEq:
		if nums[1]&^nums[0] != 0 {
			return fmt.Errorf("%s & %s == %s never holds on %s: the value has bits outside the mask", argName, vals[0], vals[1], a.Name)
		}
	case OpRange:
		if nums[0] > nums[1] {
			return fmt.Errorf("the range %s..%s of %s is empty on %s: comparisons are unsigned (%#x > %#x)", vals[0], vals[1], argName, a.Name, nums[0], nums[1])
		}
	}
	return nil
}

// atNames spells group names as a policy writes them: @network-io.
func atNames(names []string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = "@" + n
	}
	return out
}
