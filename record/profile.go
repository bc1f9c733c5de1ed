package record

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/syscage/syscage/arch"
	"github.com/syscage/syscage/policy"
)

// LauncherSyscalls are the syscalls `syscage run` makes under the
// program's own filter before the program runs: the init stage installs
// the filters as its last step and then calls execve, and nothing else
// (sandbox/initstage/stage.go: the filtered thread makes no syscall but
// seccomp and execve; a second seccomp call happens only when a profile
// is split into stacked filters, and the filters before the last must
// then allow it).
// Profile adds them so that a recorded profile starts its program under
// `syscage run` on the first try.
var LauncherSyscalls = []string{"execve"}

// ProfileOptions shape the policy Profile writes.
type ProfileOptions struct {
	// Default is the action for the syscalls the program did not make;
	// the zero value means errno(EPERM).
	Default policy.Action
	// NoArgs writes rules without argument conditions.
	NoArgs bool
	// AllowClone3 allows clone3 when the program used it. By default
	// clone3, whose flags a filter cannot read, fails with ENOSYS, and
	// clone (which the C library falls back to) is allowed with the flags
	// clone3 was asked for.
	AllowClone3 bool
	// Launcher are the syscalls added for syscage run on the native
	// arch; nil means LauncherSyscalls, an empty slice none.
	Launcher []string
	// FreqFile, when set, is named in the head comment as the run's
	// frequency profile.
	FreqFile string
	// Flat writes the rules of every architecture without restricting
	// them to it, as the OCI and SeccompProfile formats need (they cannot
	// restrict a rule to some of the policy's architectures): a syscall
	// one architecture made is then allowed on all of them.
	Flat bool
	// ExactFlags compares flag arguments (clone's flags, mmap's flags)
	// with the exact values seen (`in {...}`) rather than allowing any
	// combination of the bits seen (`only A|B`): the SeccompProfile format
	// cannot hold the 64-bit mask `only` becomes.
	ExactFlags bool
	// NoImplied writes only what the run did. By default a program that
	// started threads also gets the futex operations thread
	// synchronisation may need, since whether a run makes them depends on
	// timing (see impliedCalls).
	NoImplied bool
}

var errnoEPERM = policy.Action{Kind: policy.Errno, Data: 1, ErrnoName: "EPERM"}

// Profile writes the allow-list policy of a recording: the architectures
// the program entered, one rule per syscall it made (with conditions on
// the scalar arguments that matter), the launcher's syscalls, and
// comments saying how often each was made. The policy parses back as it
// is (the result of policy.Format is valid input to policy.Parse).
func Profile(r *Recording, o ProfileOptions) (*policy.Policy, error) {
	native := arch.Native()
	if native == nil {
		return nil, fmt.Errorf("syscage does not know this machine's architecture")
	}
	p := &policy.Policy{
		Default: o.Default,
		Unknown: policy.Action{Kind: policy.Errno, Data: 38, ErrnoName: "ENOSYS"},
		BadArch: policy.ActKillProcess,
		HeaderComments: map[string]policy.Comments{
			"default": {Trailing: "what the program never did"},
			"unknown": {Trailing: "syscalls newer than syscage's tables: the C library falls back"},
		},
	}
	if p.Default.Kind == 0 {
		p.Default = errnoEPERM
	}
	if e, ok := native.Errno("ENOSYS"); ok {
		p.Unknown.Data = uint16(e)
	}
	arches := r.Arches()
	if !slices.Contains(arches, native.Name) {
		arches = append([]string{native.Name}, arches...)
	}
	p.Arches = arches
	if len(arches) > 1 {
		p.HeaderComments["arch"] = policy.Comments{Trailing: "every architecture the program entered"}
	}
	p.Comment = headComment(r, o)

	launcher := o.Launcher
	if launcher == nil {
		launcher = LauncherSyscalls
	}
	for _, an := range arches {
		a, err := arch.ByName(an)
		if err != nil {
			return nil, err
		}
		var calls []*Syscall
		for _, s := range r.Syscalls {
			if s.Arch == an {
				calls = append(calls, s)
			}
		}
		slices.SortFunc(calls, func(x, y *Syscall) int {
			if x.Name != y.Name {
				if x.Name == "" || y.Name == "" {
					return strings.Compare(y.Name, x.Name) // numbers last
				}
				return strings.Compare(x.Name, y.Name)
			}
			return x.Nr - y.Nr
		})
		if !o.NoImplied {
			calls = impliedCalls(a, calls)
		}
		var extra []string
		if a == native {
			extra = launcher
		}
		var flat []*arch.Arch
		if o.Flat {
			for _, n := range arches {
				fa, _ := arch.ByName(n)
				flat = append(flat, fa)
			}
		}
		rules, err := archRules(a, calls, extra, o, true, flat)
		if err != nil {
			return nil, err
		}
		if len(arches) > 1 && o.Flat {
			var keep []*policy.Rule
			for _, rl := range rules {
				if !slices.ContainsFunc(p.Rules, func(q *policy.Rule) bool {
					return policy.FormatRule(q) == policy.FormatRule(rl) && q.Action == rl.Action
				}) {
					keep = append(keep, rl)
				}
			}
			rules = keep
		}
		if len(arches) > 1 && !o.Flat {
			for _, rl := range rules {
				rl.Only = &policy.Applies{Arches: []string{an}}
			}
			if len(rules) > 0 {
				// The heading comes first: the first rule's comment is
				// written above the block's opening line.
				rules[0].Comment = strings.TrimSuffix(fmt.Sprintf("Syscalls made through the %s entry point.", an)+"\n"+rules[0].Comment, "\n")
				rules[0].BlankBefore = len(p.Rules) > 0
			}
		}
		p.Rules = append(p.Rules, rules...)
	}
	return p, nil
}

// headComment says where the policy comes from.
func headComment(r *Recording, o ProfileOptions) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Recorded by syscage record from: %s\n", quoteCommand(r.Command))
	if !r.Start.IsZero() {
		fmt.Fprintf(&b, "Run of %s, %s (%s backend): ", r.Start.Format(time.RFC3339), r.End.Sub(r.Start).Round(time.Millisecond), r.Backend)
	}
	fmt.Fprintf(&b, "%d syscalls, %d distinct, in %s (%s); %s.\n",
		r.Total(), len(r.Syscalls), counted(r.Processes, "process", "processes"), counted(r.Threads, "thread", "threads"), r.Exit)
	if len(r.Execs) > 0 {
		fmt.Fprintf(&b, "Programs executed: %s.\n", strings.Join(r.Execs, ", "))
	}
	b.WriteString("A rule's comment says how many times the run made the syscall.\n")
	if o.Flat && len(r.Arches()) > 1 {
		b.WriteString("The rules apply to every architecture the program entered.\n")
	}
	if o.FreqFile != "" {
		fmt.Fprintf(&b, "Frequency profile of the run: %s.\n", o.FreqFile)
	}
	if r.Interrupted {
		b.WriteString("\nINCOMPLETE: the recording was interrupted before the program's last\nprocess exited; the program may need syscalls that are missing here.\n")
	}
	for _, n := range r.Notes {
		fmt.Fprintf(&b, "Note: %s.\n", strings.TrimSuffix(n, "."))
	}
	return strings.TrimRight(b.String(), "\n")
}

func quoteCommand(argv []string) string {
	parts := make([]string, len(argv))
	for i, a := range argv {
		if a == "" || strings.ContainsAny(a, " \t\n\"'\\$`|&;<>()*?[]{}#~") {
			a = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
		parts[i] = a
	}
	s := strings.Join(parts, " ")
	return strings.ReplaceAll(s, "\n", " ")
}

// archRules writes the rules for the calls on one arch, plus the extra
// (launcher) syscalls.
// whole is set when the rules make a whole profile (Profile), not an
// addition to one (Extend).
// flat lists the policy's architectures when its rules apply to all of
// them (ProfileOptions.Flat); a condition is then written only where
// every one of them reads the arguments from the same slots.
func archRules(a *arch.Arch, calls []*Syscall, extra []string, o ProfileOptions, whole bool, flat []*arch.Arch) ([]*policy.Rule, error) {
	byName := map[string]*Syscall{}
	for _, s := range calls {
		if s.Name != "" {
			byName[s.Name] = s
		}
	}
	var rules []*policy.Rule
	for _, name := range extra {
		if _, ok := a.Lookup(name); !ok {
			continue
		}
		r := &policy.Rule{Syscalls: []policy.Target{{Name: name}}, Action: policy.ActAllow, Trailing: "syscage run starts the program with it"}
		if s := byName[name]; s != nil {
			r.Trailing = countText(s.Count) + "; syscage run starts the program with it"
		}
		rules = append(rules, r)
	}

	clone3 := byName["clone3"]
	// clone3 fails with ENOSYS in every recorded profile, used or not, so
	// that profiles of several runs agree on it and merge.
	if _, ok := a.Lookup("clone3"); ok && whole && !o.AllowClone3 && clone3 == nil && len(calls) > 0 {
		rules = append(rules, &policy.Rule{
			Syscalls: []policy.Target{{Name: "clone3"}},
			Action:   policy.Action{Kind: policy.Errno, Data: errnoOf(a, "ENOSYS"), ErrnoName: "ENOSYS"},
			Comment:  clone3Comment,
			Trailing: "not made by this run",
		})
	}
	for _, s := range calls {
		if slices.Contains(extra, s.Name) {
			continue
		}
		switch {
		case s.Name == "clone3" && !o.AllowClone3:
			rules = append(rules, &policy.Rule{
				Syscalls: []policy.Target{{Name: "clone3"}},
				Action:   policy.Action{Kind: policy.Errno, Data: errnoOf(a, "ENOSYS"), ErrnoName: "ENOSYS"},
				Comment:  clone3Comment,
				Trailing: countText(s.Count),
			})
			if byName["clone"] == nil {
				if _, ok := a.Lookup("clone"); ok {
					rules = append(rules, cloneRule(a, nil, s, o, flat))
				}
			}
		case s.Name == "clone" && clone3 != nil && !o.AllowClone3:
			rules = append(rules, cloneRule(a, s, clone3, o, flat))
		case s.Name == "":
			rules = append(rules, &policy.Rule{
				Syscalls: []policy.Target{{Nr: s.Nr, HasNr: true}},
				Action:   policy.ActAllow,
				Trailing: countText(s.Count) + "; a number syscage's tables do not name",
			})
		default:
			r := &policy.Rule{Syscalls: []policy.Target{{Name: s.Name}}, Action: policy.ActAllow, Trailing: countText(s.Count)}
			if slices.ContainsFunc(s.Args, func(smp ArgSample) bool { return smp.Implied }) {
				r.Trailing += "; and the operations threads may need"
			}
			if !o.NoArgs && sameSlots(s.Name, a, flat) {
				r.When = condition(a, s.Name, specFor(s.Name, o), s.Count, s.Args, flat)
			}
			rules = append(rules, r)
		}
	}
	return rules, nil
}

// threadFutexOps are the futex operations the C library's thread support
// makes (pthread_join waits on the thread's id word, mutexes and
// condition variables wait and wake, with or without
// FUTEX_PRIVATE_FLAG; absolute timeouts use FUTEX_WAIT_BITSET with
// FUTEX_CLOCK_REALTIME). Priority-inheritance operations are left out:
// a program that uses them makes them on every run.
var threadFutexOps = [][]string{
	{"FUTEX_WAIT"}, {"FUTEX_WAKE"}, {"FUTEX_CMP_REQUEUE"}, {"FUTEX_WAKE_OP"}, {"FUTEX_WAIT_BITSET"}, {"FUTEX_WAKE_BITSET"},
	{"FUTEX_WAIT_BITSET", "FUTEX_CLOCK_REALTIME"},
}

// impliedCalls adds to the calls of one arch what a program needs on
// some runs but not others: a program that starts threads (clone or
// clone3 with CLONE_THREAD) synchronises them with futex only when one
// thread waits for another, which depends on timing. The additions are
// argument samples with a count of zero, so comments still count only
// what the run did.
func impliedCalls(a *arch.Arch, calls []*Syscall) []*Syscall {
	threadBit, ok := a.Constant("CLONE_THREAD")
	if !ok {
		return calls
	}
	threads := false
	for _, s := range calls {
		slot := -1
		switch s.Name {
		case "clone":
			if slots := argSlots(a, "clone"); len(slots) == 1 {
				slot = slots[0]
			}
		case "clone3":
			slot = 0
		}
		for _, smp := range s.Args {
			if slot >= 0 && smp.Mask&(1<<slot) != 0 && smp.Values[slot]&threadBit != 0 {
				threads = true
			}
		}
	}
	nr, hasFutex := a.Lookup("futex")
	slots := argSlots(a, "futex")
	if !threads || !hasFutex || len(slots) != 1 {
		return calls
	}
	private, _ := a.Constant("FUTEX_PRIVATE_FLAG")
	var ops []uint64
	for _, names := range threadFutexOps {
		var v uint64
		for _, n := range names {
			c, ok := a.Constant(n)
			if !ok {
				return calls
			}
			v |= c
		}
		ops = append(ops, v, v|private)
	}
	out := slices.Clone(calls)
	i := slices.IndexFunc(out, func(s *Syscall) bool { return s.Name == "futex" })
	var f *Syscall
	if i < 0 {
		f = &Syscall{Arch: a.Name, Name: "futex", Nr: nr}
		out = append(out, f)
		slices.SortFunc(out, func(x, y *Syscall) int { return strings.Compare(x.Name, y.Name) })
	} else {
		f = &Syscall{Arch: a.Name, Name: "futex", Nr: nr, Count: out[i].Count, Args: slices.Clone(out[i].Args)}
		out[i] = f
	}
	for _, op := range ops {
		if !slices.ContainsFunc(f.Args, func(smp ArgSample) bool { return smp.Mask&(1<<slots[0]) != 0 && smp.Values[slots[0]] == op }) {
			f.Args = append(f.Args, ArgSample{Mask: 1 << slots[0], Values: oneArg(slots[0], op), Implied: true})
		}
	}
	return out
}

// specFor returns the argument spec of a syscall, with flag arguments
// made exact for ProfileOptions.ExactFlags.
func specFor(name string, o ProfileOptions) syscallSpec {
	spec := specs()[name]
	if !o.ExactFlags {
		return spec
	}
	out := syscallSpec{grouped: spec.grouped, args: slices.Clone(spec.args)}
	for i := range out.args {
		out.args[i].shape = shapeIn
	}
	return out
}

// sameSlots reports whether every architecture in flat that has the
// syscall reads its captured arguments from the slots a does.
func sameSlots(name string, a *arch.Arch, flat []*arch.Arch) bool {
	want := argSlots(a, name)
	for _, o := range flat {
		if _, ok := o.Lookup(name); ok && !slices.Equal(argSlots(o, name), want) {
			return false
		}
	}
	return true
}

// cloneRule allows clone with the flags clone and clone3 were called
// with (clone3's read from memory, as the fallback will pass them).
func cloneRule(a *arch.Arch, clone, clone3 *Syscall, o ProfileOptions, flat []*arch.Arch) *policy.Rule {
	var count uint64
	var samples []ArgSample
	complete := true
	for _, s := range []*Syscall{clone, clone3} {
		if s == nil {
			continue
		}
		count += s.Count
		var n uint64
		for _, smp := range s.Args {
			n += smp.Count
			// clone3's flags sit in slot 0 of its sample; clone's are
			// in the slot of clone_flags on this arch.
			slot := 0
			if s == clone {
				if slots := argSlots(a, "clone"); len(slots) == 1 {
					slot = slots[0]
				}
			}
			if smp.Mask&(1<<slot) == 0 {
				complete = false
				continue
			}
			samples = append(samples, ArgSample{Mask: 1 << slot, Values: oneArg(slot, smp.Values[slot]), Count: smp.Count})
		}
		if n != s.Count {
			complete = false
		}
	}
	r := &policy.Rule{Syscalls: []policy.Target{{Name: "clone"}}, Action: policy.ActAllow}
	if clone != nil {
		r.Trailing = countText(clone.Count) + "; and the flags of " + countText(clone3.Count) + " of clone3"
	} else {
		r.Trailing = "the flags of " + countText(clone3.Count) + " of clone3"
	}
	if !o.NoArgs && complete {
		// Rebase clone3's slot-0 samples onto clone's flags slot.
		if slots := argSlots(a, "clone"); len(slots) == 1 && slots[0] != 0 {
			for i := range samples {
				if samples[i].Mask == 1 {
					samples[i] = ArgSample{Mask: 1 << slots[0], Values: oneArg(slots[0], samples[i].Values[0]), Count: samples[i].Count}
				}
			}
		}
		r.When = condition(a, "clone", specFor("clone", o), count, samples, flat)
	}
	return r
}

// oneArg returns an argument vector with v in slot i.
func oneArg(i int, v uint64) [6]uint64 {
	var out [6]uint64
	out[i] = v
	return out
}

const clone3Comment = "clone3 passes its flags in memory, which a filter cannot read: it fails\n" +
	"with ENOSYS, and the C library falls back to clone, whose flags a rule checks."

func errnoOf(a *arch.Arch, name string) uint16 {
	n, _ := a.Errno(name)
	return uint16(n)
}

// counted writes n with the singular or plural noun: "1 process", "2 processes".
func counted(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

func countText(n uint64) string {
	if n == 1 {
		return "1 call"
	}
	return fmt.Sprintf("%d calls", n)
}

// condition builds the argument condition of a syscall from its samples,
// or nil when the syscall has no captured arguments or when some calls
// were counted without them (a condition would then deny calls that
// the program made).
//
// Values are cut to the width the filter compares on a (clone3's flags,
// read from memory, are 64 bits where clone's are 32). With flat (the
// policy's architectures when a rule applies to all of them), a value
// wider than an argument on one of them leaves the syscall without a
// condition rather than a rule that cannot be written.
func condition(a *arch.Arch, name string, spec syscallSpec, count uint64, samples []ArgSample, flat []*arch.Arch) policy.Expr {
	slots := argSlots(a, name)
	if len(slots) == 0 || len(samples) == 0 || len(slots) != len(spec.args) {
		return nil
	}
	samples = slices.Clone(samples)
	for _, slot := range slots {
		cut := widthMask(policy.ArgWidth(a, name, slot))
		narrow := cut
		for _, o := range flat {
			if _, ok := o.Lookup(name); ok {
				narrow &= widthMask(policy.ArgWidth(o, name, slot))
			}
		}
		for i := range samples {
			samples[i].Values[slot] &= cut
			if samples[i].Values[slot]&^narrow != 0 {
				return nil
			}
		}
	}
	var want uint8
	for _, s := range slots {
		want |= 1 << s
	}
	var n uint64
	for _, smp := range samples {
		if smp.Mask&want != want {
			return nil
		}
		n += smp.Count
	}
	if n != count {
		return nil
	}
	sig, _ := a.Signature(name)
	cmpFor := func(k int, values []uint64, tuple [6]uint64) policy.Expr {
		as := spec.args[k]
		slot := slots[k]
		c := &policy.Cmp{Arg: -1, ArgName: sig.Args[slot].Name}
		switch as.shape {
		case shapeOnly:
			var union uint64
			for _, v := range values {
				union |= v
			}
			c.Op = policy.OpBitsOnly
			c.Value = symValue(a, as, union, tuple)
		default:
			if len(values) == 1 {
				c.Op = policy.OpEq
				c.Value = symValue(a, as, values[0], tuple)
			} else {
				c.Op = policy.OpIn
				for _, v := range values {
					c.Values = append(c.Values, symValue(a, as, v, tuple))
				}
			}
		}
		return c
	}
	// valuesOf returns the distinct values of argument k in the samples.
	valuesOf := func(k int, ss []ArgSample) []uint64 {
		var vs []uint64
		for _, smp := range ss {
			if v := smp.Values[slots[k]]; !slices.Contains(vs, v) {
				vs = append(vs, v)
			}
		}
		slices.Sort(vs)
		return vs
	}
	tupleOf := func(ss []ArgSample) [6]uint64 { return ss[0].Values }
	conj := func(ss []ArgSample, from int) []policy.Expr {
		var terms []policy.Expr
		for k := from; k < len(slots); k++ {
			terms = append(terms, cmpFor(k, valuesOf(k, ss), tupleOf(ss)))
		}
		return terms
	}
	and := func(terms []policy.Expr) policy.Expr {
		if len(terms) == 1 {
			return terms[0]
		}
		return &policy.And{Terms: terms}
	}
	if !spec.grouped || len(slots) == 1 {
		return and(conj(samples, 0))
	}
	// One disjunct per value of the first argument.
	var or []policy.Expr
	for _, v := range valuesOf(0, samples) {
		var group []ArgSample
		for _, smp := range samples {
			if smp.Values[slots[0]] == v {
				group = append(group, smp)
			}
		}
		terms := append([]policy.Expr{cmpFor(0, []uint64{v}, tupleOf(group))}, conj(group, 1)...)
		or = append(or, and(terms))
	}
	if len(or) == 1 {
		return or[0]
	}
	return &policy.Or{Terms: or}
}

func widthMask(bits int) uint64 {
	if bits >= 64 {
		return ^uint64(0)
	}
	return 1<<bits - 1
}

// symValue renders v symbolically; a plain number stays a number.
func symValue(a *arch.Arch, as argSpec, v uint64, tuple [6]uint64) policy.Value {
	terms := as.sym(a, v, tuple)
	if len(terms) == 1 && terms[0] == num(v) {
		return policy.Num(v)
	}
	return policy.Value{Terms: terms, Num: v}
}
