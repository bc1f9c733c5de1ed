package sandbox

import (
	"fmt"
	"slices"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/syscage/syscage/arch"
	"github.com/syscage/syscage/bpf"
	"github.com/syscage/syscage/compile"
	"github.com/syscage/syscage/policy"
	"github.com/syscage/syscage/seccomp"
)

// UsePolicy compiles p for the program Command will start (its
// capabilities and the running kernel decide the policy's only/except
// blocks) and sets Filters, Flags and, when the policy denies the
// launcher's own execve, Gate. Set the capability fields first.
func (c *Command) UsePolicy(p *policy.Policy) error {
	env := policy.Env{Caps: c.programCaps(), Kernel: kernelVersion()}
	cp, err := compileForRun(p, env)
	if err != nil {
		return err
	}
	c.use(cp)
	return nil
}

// compiled is a policy compiled for syscage run.
type compiled struct {
	// filters are installed in the init stage.
	filters []bpf.Program
	// decide, when the policy denies execve, is the policy compiled as
	// written, which the exec gate runs on every execve after the
	// program's own; filters then allow the native execve.
	decide []bpf.Program
	// flags are the policy's own filter flags.
	flags seccomp.Flags
	// runtimeOK records that filters allow every call of directCalls,
	// chdir included (directBlocker finds nothing): computed when the
	// embedded profiles are precompiled, so that their direct start
	// does not run the check, the interpreter's first use in the
	// process, at every start. False means not known.
	runtimeOK bool
}

// use sets the Command's filters, flags and gate from cp.
func (c *Command) use(cp *compiled) {
	c.Filters, c.Gate = cp.filters, nil
	c.Flags |= cp.flags
	c.runtimeOK = nil
	if cp.runtimeOK {
		c.runtimeOK = cp.filters
	}
	if cp.decide != nil {
		c.Gate = GateFor(cp.decide)
	}
}

// compileForRun compiles p in env for syscage run.
func compileForRun(p *policy.Policy, env policy.Env) (*compiled, error) {
	res, err := compile.Policy(p, compile.Options{Env: env})
	if err != nil {
		return nil, &StartError{Code: ExitInternal, Msg: err.Error()}
	}
	cp := &compiled{filters: res.Filters}
	for _, f := range p.Flags {
		switch f {
		case "log":
			cp.flags |= seccomp.FlagLog
		case "spec_allow":
			cp.flags |= seccomp.FlagSpecAllow
		}
		// tsync concerns processes that sandbox themselves (the stage
		// is one thread when it installs); wait_killable_recv concerns
		// listeners, and the policy's notify rules get none here.
	}
	if allowsLaunch(res.Filters) {
		return cp, nil
	}
	// The policy denies execve: compile it again with the native execve
	// allowed, and let the gate decide every execve after the first.
	native := arch.Native()
	relaxed := *p
	relaxed.Rules = append([]*policy.Rule{{
		Syscalls: []policy.Target{{Name: "execve", Arch: native.Name}},
		Action:   policy.ActAllow,
		Comment:  "syscage run: the program's own start, see ExecGate",
	}}, p.Rules...)
	if len(relaxed.Arches) == 0 {
		relaxed.Arches = []string{native.Name}
	}
	res2, err := compile.Policy(&relaxed, compile.Options{Env: env})
	if err != nil {
		return nil, &StartError{Code: ExitInternal, Msg: err.Error()}
	}
	if !allowsLaunch(res2.Filters) {
		return nil, &StartError{Code: ExitInternal, Msg: "the policy denies execve and cannot be relaxed for the program's start"}
	}
	cp.filters, cp.decide = res2.Filters, res.Filters
	return cp, nil
}

// allowsLaunch reports whether filters let the init stage's execve run.
func allowsLaunch(filters []bpf.Program) bool {
	a := arch.Native()
	nr, ok := a.Lookup("execve")
	if !ok {
		return false
	}
	r, err := bpf.RunStack(filters, &bpf.SeccompData{Nr: int32(nr), Arch: a.AuditArch}, bpf.NativeEndian)
	if err != nil {
		return false
	}
	act := bpf.ActionOf(r.Action)
	return act == bpf.RetAllow || act == bpf.RetLog
}

// programCaps names the capabilities the program will hold, as the
// policy's only/except caps blocks test them.
func (c *Command) programCaps() []string {
	if c.KeepCaps {
		return nil // as syscage: root has them all
	}
	set := c.Caps
	switch {
	case c.NoCaps:
		set = 0
	case set == 0:
		set = DefaultCaps
	}
	out := []string{}
	for _, cp := range set.Caps() {
		out = append(out, cp.String())
	}
	return out
}

// kernelVersion returns the running kernel's "major.minor.patch".
func kernelVersion() string {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return ""
	}
	rel := unix.ByteSliceToString(u.Release[:])
	end := strings.IndexFunc(rel, func(r rune) bool { return r != '.' && (r < '0' || r > '9') })
	if end >= 0 {
		rel = rel[:end]
	}
	return strings.TrimRight(rel, ".")
}

// Complain returns a copy of p in which every action that denies a
// syscall (errno, kill, trap, trace, notify) becomes log: the program
// runs as if unfiltered and the kernel logs what the policy would have
// refused. The bad-arch action stays: complain mode relaxes decisions on
// syscalls, not the architecture check that makes them meaningful.
func Complain(p *policy.Policy) *policy.Policy {
	q := *p
	relax := func(a policy.Action) policy.Action {
		if a.Kind == policy.Allow || a.Kind == policy.Log {
			return a
		}
		return policy.ActLog
	}
	q.Default, q.Unknown = relax(p.Default), relax(p.Unknown)
	q.Rules = make([]*policy.Rule, len(p.Rules))
	for i, r := range p.Rules {
		cp := *r
		cp.Action = relax(r.Action)
		q.Rules[i] = &cp
	}
	return &q
}

// WithArches returns a copy of p that also accepts the named
// architectures (i386 and x32 entry on x86_64, for example); rules by
// name then apply to them through their own syscall tables.
func WithArches(p *policy.Policy, names []string) (*policy.Policy, error) {
	accepted, err := p.AcceptedArches()
	if err != nil {
		return nil, err
	}
	q := *p
	q.Arches = nil
	for _, a := range accepted {
		q.Arches = append(q.Arches, a.Name)
	}
	for _, n := range names {
		a, err := arch.ByName(n)
		if err != nil {
			return nil, err
		}
		if !slices.Contains(q.Arches, a.Name) {
			q.Arches = append(q.Arches, a.Name)
		}
	}
	return &q, nil
}

// Explain says why the policy answered the violation's syscall as it did,
// to follow Describe: "denied by the default profile (kill_process at
// default.policy:12:1)", or ", an architecture the default profile does
// not accept". what
// names the policy for a person ("the default profile").
func (v *Violation) Explain(p *policy.Policy, what string) string {
	if p == nil {
		return "denied by " + what
	}
	d, err := policy.Evaluate(p, policy.Input{AuditArch: v.AuditArch, Nr: uint32(v.Nr)}, policy.Env{Kernel: kernelVersion()})
	if err != nil {
		return "denied by " + what
	}
	switch d.Reason {
	case "badarch":
		return fmt.Sprintf(", an architecture %s does not accept", what)
	case "unknown":
		return fmt.Sprintf("a number %s does not know (%s)", what, d.Action)
	case "rule":
		if d.Rule != nil && d.Rule.Pos.IsValid() {
			return fmt.Sprintf("denied by %s (%s at %s)", what, d.Action, d.Rule.Pos)
		}
	}
	return fmt.Sprintf("denied by %s (%s)", what, d.Action)
}
