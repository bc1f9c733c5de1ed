package record

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/syscage/syscage/arch"
	"github.com/syscage/syscage/policy"
)

// ExtendOptions tune Extend.
type ExtendOptions struct {
	ProfileOptions
	// Env is what the base policy's only/except blocks are decided for;
	// the zero value means every capability and the newest kernel.
	Env policy.Env
	// Now stamps the marker comment; the zero value means time.Now().
	Now time.Time
}

// Extension is what Extend did.
type Extension struct {
	// Policy is the base policy with the added rules at its end.
	Policy *policy.Policy
	// Added are the new rules, in the order they were appended.
	Added []*policy.Rule
	// AddedArches are architectures added to the policy's arch line
	// because the program entered them; the base's rules now apply to
	// them too, but for those in Excepted.
	AddedArches []string
	// Excepted are rules of the base that cannot apply on an added
	// architecture (a condition names an argument the syscall does not
	// have there, such as mmap's prot on i386, where mmap takes a
	// pointer to its arguments): each now excludes it with `except arch`,
	// and decides as before on the architectures it had.
	Excepted []*policy.Rule
	// Overruled are calls the run made that a rule of the base policy
	// denies: Extend leaves such rules alone (the user wrote them) and
	// reports them here.
	Overruled []Overruled
}

// Overruled is a syscall the base policy denies with a rule of its own.
type Overruled struct {
	Arch, Syscall string
	Count         uint64
	Rule          *policy.Rule
	Action        policy.Action
}

// String says what happened, with the rule's position.
func (o Overruled) String() string {
	return fmt.Sprintf("%s:%s (%s) is denied by the rule at %s: %s %s; the rule is kept: change it if the program needs the call",
		o.Arch, o.Syscall, countText(o.Count), o.Rule.Pos, o.Action, policy.FormatRule(o.Rule))
}

// ExtendMarker starts the comment above the rules Extend appends.
const ExtendMarker = "Added by syscage record --from"

// Extend adds to a policy what a recorded run needed and the policy
// denied, keeping the policy's comments, order and rules as they are.
//
// base is the policy to extend, as written (for a native file, parsed with
// policy.ParseOptions{SyntaxOnly: true}, which keeps its includes); eval
// is the same policy with its includes read, which decides each recorded
// call (nil means base). A call the policy allows or logs needs nothing.
// A call the default (or the unknown or bad-arch action) denies gets a
// rule in one block appended at the end, after every rule of the base, so
// that the base's rules still decide first; the block starts with a
// comment holding ExtendMarker, the date and the command. A call one of
// the base's own rules denies is not added: the rule says the author
// meant it, and Extension.Overruled reports it.
func Extend(base, eval *policy.Policy, r *Recording, o ExtendOptions) (*Extension, error) {
	if eval == nil {
		eval = base
	}
	native := arch.Native()
	if native == nil {
		return nil, fmt.Errorf("syscage does not know this machine's architecture")
	}
	ext := &Extension{Policy: base}
	accepted, err := eval.AcceptedArches()
	if err != nil {
		return nil, err
	}
	// Architectures the program entered that the policy does not accept.
	var arches []string
	for _, a := range accepted {
		arches = append(arches, a.Name)
	}
	for _, an := range r.Arches() {
		if !slices.Contains(arches, an) {
			ext.AddedArches = append(ext.AddedArches, an)
		}
	}
	if len(ext.AddedArches) > 0 {
		all := append(slices.Clone(arches), ext.AddedArches...)
		base.Arches = slices.Clone(all)
		if base.HeaderComments == nil {
			base.HeaderComments = map[string]policy.Comments{}
		}
		c := base.HeaderComments["arch"]
		c.Trailing = strings.TrimPrefix(c.Trailing+"; "+strings.Join(ext.AddedArches, " ")+" added by syscage record --from: the program entered it", "; ")
		base.HeaderComments["arch"] = c
		if eval != base {
			eval.Arches = slices.Clone(all)
		}
		if err := exceptInvalid(ext, base, eval, ext.AddedArches); err != nil {
			return nil, err
		}
	}

	// The calls each arch needs that the policy denies by default.
	needed := map[string][]*Syscall{}
	env := o.Env
	calls := withLauncher(r, native, o.Launcher)
	if !o.NoImplied {
		var all []*Syscall
		for _, an := range sortArches(archNames(calls)) {
			a, err := arch.ByName(an)
			if err != nil {
				return nil, err
			}
			var mine []*Syscall
			for _, s := range calls {
				if s.Arch == an {
					mine = append(mine, s)
				}
			}
			all = append(all, impliedCalls(a, mine)...)
		}
		calls = all
	}
	for _, s := range calls {
		a, err := arch.ByName(s.Arch)
		if err != nil {
			return nil, err
		}
		denied, over, err := deniedPart(eval, a, s, env)
		if err != nil {
			return nil, err
		}
		if over != nil {
			ext.Overruled = append(ext.Overruled, *over)
		}
		if denied != nil {
			needed[s.Arch] = append(needed[s.Arch], denied)
		}
	}
	// clone3 denied with ENOSYS (by a rule or as Extend adds it) makes
	// the C library call clone with the same flags: clone must pass.
	for an, calls := range needed {
		if i := slices.IndexFunc(calls, func(s *Syscall) bool { return s.Name == "clone3" }); i >= 0 && !o.AllowClone3 {
			a, _ := arch.ByName(an)
			if extra := cloneFallback(eval, a, calls[i], env); extra != nil {
				needed[an] = append(needed[an], extra)
			}
		}
	}
	for _, over := range ext.Overruled {
		if over.Syscall == "clone3" && over.Action.Kind == policy.Errno && over.Action.ErrnoName == "ENOSYS" {
			a, _ := arch.ByName(over.Arch)
			if s := r.Lookup(over.Arch, "clone3"); s != nil {
				if extra := cloneFallback(eval, a, s, env); extra != nil {
					needed[over.Arch] = append(needed[over.Arch], extra)
				}
			}
		}
	}

	archList := sortArches(mapKeys(needed))
	multi := len(base.Arches) > 1
	first := true
	for _, an := range archList {
		a, _ := arch.ByName(an)
		var calls []*Syscall
		var launch []string
		for _, c := range needed[an] {
			if c.Count == 0 && a == native {
				launch = append(launch, c.Name) // a launcher syscall the run did not make
				continue
			}
			calls = append(calls, c)
		}
		slices.SortFunc(calls, func(x, y *Syscall) int { return strings.Compare(x.Name, y.Name) })
		rules, err := archRules(a, dedupe(calls), launch, o.ProfileOptions, false, nil)
		if err != nil {
			return nil, err
		}
		for _, rl := range rules {
			if multi {
				rl.Only = &policy.Applies{Arches: []string{an}}
			}
		}
		if len(rules) > 0 && first {
			now := o.Now
			if now.IsZero() {
				now = time.Now()
			}
			marker := fmt.Sprintf("%s on %s: what\n%s\nneeded that the rules above denied.", ExtendMarker, now.Format("2006-01-02"), quoteCommand(r.Command))
			if r.Interrupted {
				marker += "\nINCOMPLETE: that recording was interrupted."
			}
			rules[0].Comment = strings.TrimSpace(marker + "\n" + rules[0].Comment)
			rules[0].BlankBefore = len(base.Rules) > 0
			first = false
		}
		base.Rules = append(base.Rules, rules...)
		ext.Added = append(ext.Added, rules...)
	}
	return ext, nil
}

// exceptInvalid keeps the policy valid when architectures are added to
// it: a rule of base that applies on an added architecture but cannot be
// written there gets it in its Except list, in base (what is written)
// and in eval (what decides). A rule that comes from an included file
// cannot be changed here: Extend then fails, naming it, rather than write
// a profile that does not parse.
func exceptInvalid(ext *Extension, base, eval *policy.Policy, added []string) error {
	own := map[policy.Pos]*policy.Rule{}
	for _, r := range base.Rules {
		own[r.Pos] = r
	}
	for _, an := range added {
		a, err := arch.ByName(an)
		if err != nil {
			return err
		}
		for _, r := range eval.Rules {
			if !appliesOnArch(r, a) || validOn(r, eval.Arches, an) == nil {
				continue
			}
			mine := own[r.Pos]
			if r.Pos.IsValid() && mine == nil && eval != base {
				return fmt.Errorf("the program entered %s, which the profile does not accept, and the rule at %s, from an included file, cannot apply there (%v): add %s to the arch line by hand, with that rule restricted (only arch ...)",
					an, r.Pos, validOn(r, eval.Arches, an), an)
			}
			for _, x := range []*policy.Rule{r, mine} {
				if x == nil {
					continue
				}
				if x.Except == nil {
					x.Except = &policy.Applies{}
				}
				if !slices.Contains(x.Except.Arches, an) {
					x.Except.Arches = append(x.Except.Arches, an)
				}
			}
			if mine == nil {
				mine = r
			}
			if !slices.Contains(ext.Excepted, mine) {
				ext.Excepted = append(ext.Excepted, mine)
			}
		}
	}
	return nil
}

// appliesOnArch reports whether a rule's arch restrictions let it apply
// on a.
func appliesOnArch(r *policy.Rule, a *arch.Arch) bool {
	listed := func(names []string) bool {
		for _, n := range names {
			if b, err := arch.ByName(n); err == nil && b == a {
				return true
			}
		}
		return false
	}
	if r.Only != nil && len(r.Only.Arches) > 0 && !listed(r.Only.Arches) {
		return false
	}
	return r.Except == nil || !listed(r.Except.Arches)
}

// validOn reports why a rule, valid on the policy's other architectures,
// cannot be written with an added to them (nil when it can). Only the
// added architecture is held against the rule: a syscall it lacks there
// is not an error in a policy of several architectures, an argument name
// it lacks is.
func validOn(r *policy.Rule, arches []string, an string) error {
	c := *r
	c.Only, c.Except = nil, nil
	var others []string
	for _, n := range arches {
		if n != an {
			others = append(others, n)
		}
	}
	before := &policy.Policy{Arches: others, Default: errnoEPERM, Rules: []*policy.Rule{&c}}
	if before.Validate() != nil {
		return nil // not this architecture's doing
	}
	after := &policy.Policy{Arches: append(others, an), Default: errnoEPERM, Rules: []*policy.Rule{&c}}
	return after.Validate()
}

// withLauncher returns the recorded syscalls plus the launcher's, so that
// the extended policy starts under syscage run.
func withLauncher(r *Recording, native *arch.Arch, launcher []string) []*Syscall {
	if launcher == nil {
		launcher = LauncherSyscalls
	}
	out := slices.Clone(r.Syscalls)
	for _, name := range launcher {
		if r.Lookup(native.Name, name) != nil {
			continue
		}
		if nr, ok := native.Lookup(name); ok {
			out = append(out, &Syscall{Arch: native.Name, Name: name, Nr: nr})
		}
	}
	return out
}

// deniedPart evaluates a recorded syscall against the policy and returns
// the part of it (the argument samples) the fallback actions deny, and
// what the policy's own rules deny.
func deniedPart(p *policy.Policy, a *arch.Arch, s *Syscall, env policy.Env) (*Syscall, *Overruled, error) {
	out := &Syscall{Arch: s.Arch, Name: s.Name, Nr: s.Nr}
	denied := false
	var over *Overruled
	judge := func(args [6]uint64, n uint64, smp *ArgSample) error {
		d, err := policy.Evaluate(p, policy.Input{AuditArch: a.AuditArch, Nr: uint32(s.Nr), Args: args}, env)
		if err != nil {
			return err
		}
		switch {
		case d.Action.Kind == policy.Allow || d.Action.Kind == policy.Log:
		case d.Rule != nil:
			if over == nil {
				name := s.Name
				if name == "" {
					name = fmt.Sprint(s.Nr)
				}
				over = &Overruled{Arch: s.Arch, Syscall: name, Rule: d.Rule, Action: d.Action}
			}
			over.Count += n
		default:
			denied = true
			out.Count += n
			if smp != nil {
				out.Args = append(out.Args, *smp)
			}
		}
		return nil
	}
	var sampled uint64
	for _, smp := range s.Args {
		sampled += smp.Count
		args := smp.Values
		if smp.FromMemory {
			args = [6]uint64{} // clone3's flags: a filter sees only the pointer
		}
		if err := judge(args, smp.Count, &smp); err != nil {
			return nil, nil, err
		}
	}
	// Calls counted without their arguments, and launcher syscalls the
	// run did not make (Count 0), are decided with zero arguments.
	if rest := s.Count - min(s.Count, sampled); rest > 0 || s.Count == 0 {
		if err := judge([6]uint64{}, rest, nil); err != nil {
			return nil, nil, err
		}
	}
	if !denied {
		return nil, over, nil
	}
	return out, over, nil
}

// cloneFallback returns the clone calls a program makes when clone3 fails
// with ENOSYS, if the policy denies them by default.
func cloneFallback(p *policy.Policy, a *arch.Arch, clone3 *Syscall, env policy.Env) *Syscall {
	nr, ok := a.Lookup("clone")
	if !ok {
		return nil
	}
	slots := argSlots(a, "clone")
	if len(slots) != 1 {
		return nil
	}
	as := &Syscall{Arch: a.Name, Name: "clone", Nr: nr}
	for _, smp := range clone3.Args {
		if smp.Mask&1 == 0 {
			continue
		}
		as.Args = append(as.Args, ArgSample{Mask: 1 << slots[0], Values: oneArg(slots[0], smp.Values[0]), Count: smp.Count})
		as.Count += smp.Count
	}
	if as.Count == 0 {
		return nil
	}
	denied, _, err := deniedPart(p, a, as, env)
	if err != nil || denied == nil {
		return nil
	}
	return denied
}

// dedupe merges entries for the same syscall (a clone fallback next to
// recorded clone calls).
func dedupe(calls []*Syscall) []*Syscall {
	var out []*Syscall
	for _, s := range calls {
		i := slices.IndexFunc(out, func(o *Syscall) bool { return o.Nr == s.Nr })
		if i < 0 {
			out = append(out, &Syscall{Arch: s.Arch, Name: s.Name, Nr: s.Nr, Count: s.Count, Args: slices.Clone(s.Args)})
			continue
		}
		out[i].Count += s.Count
		out[i].Args = append(out[i].Args, s.Args...)
	}
	return out
}

func mapKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}
