package lint

import (
	"fmt"
	"slices"
	"strings"

	"github.com/syscage/syscage/arch"
	"github.com/syscage/syscage/bpf"
	"github.com/syscage/syscage/policy"
)

// outcome is how a policy or filter decides one input.
type outcome struct {
	args [6]uint64
	ret  uint32
	// pos and insn say what decided: a rule or header line of a policy,
	// or the RET instruction of a filter (insn -1 for policies).
	pos  policy.Pos
	insn int
	// what names the decider for messages: "the default", "the rule at
	// f:3:1", "instruction 12".
	what string
	// explicit: a rule of a policy decided (not a header action).
	explicit bool
}

// decider decides syscalls: a policy through policy.Evaluate, a raw
// filter through the interpreter.
type decider interface {
	// arches returns the architectures the decider accepts, the one
	// programs are launched as first.
	arches() []*arch.Arch
	// outcomes decides syscall name on a for argument values that stand
	// for every class the decider tells apart (or a sample of them).
	outcomes(a *arch.Arch, name string) ([]outcome, error)
}

// permits reports whether a return value lets the syscall run: ALLOW and
// LOG do; USER_NOTIF and TRACE may, depending on the supervisor or
// tracer.
func permits(ret uint32) bool {
	switch bpf.ActionOf(ret) {
	case bpf.RetAllow, bpf.RetLog, bpf.RetUserNotif, bpf.RetTrace:
		return true
	}
	return false
}

// allows reports whether a return value runs the syscall for sure.
func allows(ret uint32) bool {
	a := bpf.ActionOf(ret)
	return a == bpf.RetAllow || a == bpf.RetLog
}

// retText renders a return value in the native policy syntax, with the
// errno named on a.
func retText(ret uint32, a *arch.Arch) string {
	return policy.ActionOfRet(ret, a).String()
}

// site is a place findings about several syscalls and architectures
// are gathered at: one finding per check and deciding rule or
// instruction.
type site struct {
	id     string
	pos    policy.Pos
	insn   int
	what   string
	detail string
}

// sites gathers the syscall names and architectures per site, in order
// of first sight.
type sites struct {
	order  []site
	names  map[site][]string
	arches map[site][]string
}

func (s *sites) add(k site, name string, a *arch.Arch) {
	if s.arches == nil {
		s.arches, s.names = map[site][]string{}, map[site][]string{}
	}
	if _, ok := s.arches[k]; !ok {
		s.order = append(s.order, k)
	}
	if !slices.Contains(s.names[k], name) {
		s.names[k] = append(s.names[k], name)
	}
	if !slices.Contains(s.arches[k], a.Name) {
		s.arches[k] = append(s.arches[k], a.Name)
	}
}

// dangerous are the syscalls whose being allowed is a finding.
var dangerous = []struct {
	id    string
	names []string
	fix   string
}{
	{IOURingAllowed, []string{"io_uring_setup", "io_uring_enter", "io_uring_register"},
		"deny io_uring (`errno(ENOSYS) @io-uring`) unless the program needs it, and then confine it by other means (io_uring restrictions, an LSM)"},
	{PtraceAllowed, []string{"ptrace"},
		"deny ptrace (`errno(EPERM) ptrace`); debuggers and tracers should run outside the sandbox"},
	{BPFAllowed, []string{"bpf"},
		"deny bpf (`errno(EPERM) bpf`); load the programs the service needs before the filter goes on"},
	{ProcessVMAllowed, []string{"process_vm_readv", "process_vm_writev"},
		"deny them (`errno(EPERM) process_vm_readv process_vm_writev`)"},
}

// decisionChecks runs the checks that only need decisions: they apply to
// policies and raw filters alike.
func decisionChecks(d decider, fs *findings, opts *Options) error {
	arches := d.arches()
	if len(arches) == 0 {
		return nil
	}
	var gathered sites
	var fbs fallbackSites
	for _, a := range arches {
		get := func(name string) ([]outcome, error) {
			if _, ok := a.Lookup(name); !ok {
				return nil, nil
			}
			return d.outcomes(a, name)
		}
		for _, dg := range dangerous {
			for _, name := range dg.names {
				outs, err := get(name)
				if err != nil {
					return err
				}
				for _, o := range outs {
					if allows(o.ret) {
						gathered.add(site{id: dg.id, pos: o.pos, insn: o.insn, what: o.what, detail: dg.fix}, name, a)
						break
					}
				}
			}
		}
		if err := fallbackCheck(a, get, &fbs); err != nil {
			return err
		}
		for _, name := range []string{"personality", "clone"} {
			outs, err := get(name)
			if err != nil {
				return err
			}
			if len(outs) == 0 {
				continue
			}
			all := true
			for _, o := range outs {
				all = all && allows(o.ret)
			}
			if all {
				id := PersonalityUnrestricted
				if name == "clone" {
					id = CloneUnrestricted
				}
				gathered.add(site{id: id, pos: outs[0].pos, insn: outs[0].insn, what: outs[0].what}, name, a)
			}
		}
		outs, err := get("clone3")
		if err != nil {
			return err
		}
		for _, o := range outs {
			if allows(o.ret) {
				gathered.add(site{id: CloneUnrestricted, pos: o.pos, insn: o.insn, what: o.what, detail: "clone3"}, "clone3", a)
				break
			}
		}
	}
	for _, s := range gathered.order {
		on := strings.Join(gathered.arches[s], ", ")
		names := gathered.names[s]
		verb := "is"
		if len(names) > 1 {
			verb = "are"
		}
		list := strings.Join(names, ", ")
		switch {
		case s.id == PersonalityUnrestricted:
			fs.add(s.pos, s.insn, s.id,
				"allow only the personalities the program uses, e.g. `allow personality if personality in {0, 8, 0x20000, 0x20008, 0xffffffff}` (the query is 0xffffffff)",
				"personality is allowed with any argument on %s (%s)", on, s.what)
		case s.id == CloneUnrestricted && s.detail == "clone3":
			fs.add(s.pos, s.insn, s.id,
				"deny clone3 with ENOSYS (`errno(ENOSYS) clone3`): libc then uses clone, whose flags the filter can check",
				"clone3 is allowed on %s (%s), and a filter cannot see its flags, which are in memory: namespaces and all", on, s.what)
		case s.id == CloneUnrestricted:
			fs.add(s.pos, s.insn, s.id,
				"restrict the flags: `allow clone if clone_flags none CLONE_NEWUSER|CLONE_NEWNS|CLONE_NEWPID|CLONE_NEWNET|CLONE_NEWIPC|CLONE_NEWUTS|CLONE_NEWCGROUP`",
				"clone is allowed with any flags on %s (%s): it can create namespaces", on, s.what)
		default:
			fs.add(s.pos, s.insn, s.id, s.detail, "%s %s allowed on %s (%s)", list, verb, on, s.what)
		}
	}
	fbs.report(fs)
	if !opts.SelfInstalled {
		if err := execCheck(d, arches[0], fs); err != nil {
			return err
		}
	}
	return nil
}

// execCheck reports a launch arch on which neither execve nor execveat
// can run.
func execCheck(d decider, a *arch.Arch, fs *findings) error {
	var first *outcome
	for _, name := range []string{"execve", "execveat"} {
		if _, ok := a.Lookup(name); !ok {
			continue
		}
		outs, err := d.outcomes(a, name)
		if err != nil {
			return err
		}
		for i, o := range outs {
			if permits(o.ret) {
				return nil
			}
			if first == nil {
				first = &outs[i]
			}
		}
	}
	if first == nil {
		return nil
	}
	fs.add(first.pos, first.insn, ExecDenied,
		"allow execve (`allow execve`), or, for a program that installs the filter on itself, say so (syscage check --self)",
		"execve and execveat are denied on %s (%s, with %s): a container runtime, or any launcher that installs the filter before execve, cannot start a program under it (syscage run can, through its exec gate, while it keeps running)",
		a.Name, first.what, retText(first.ret, a))
	return nil
}

// fallbackSite gathers the fallback syscalls one decider site denies
// with the same wrong errno.
type fallbackSite struct {
	pos    policy.Pos
	insn   int
	what   string
	ret    string
	names  []string
	whys   []string
	arches []string
}

type fallbackSites struct {
	order []*fallbackSite
}

// fallbackCheck finds, on a, the fallback syscalls denied with an errno
// other than ENOSYS: by an explicit rule, or by anything while a syscall
// they fall back to is permitted.
func fallbackCheck(a *arch.Arch, get func(string) ([]outcome, error), fbs *fallbackSites) error {
	enosys, _ := a.Errno("ENOSYS")
	for _, fb := range fallbacks() {
		outs, err := get(fb.name)
		if err != nil {
			return err
		}
		var bad *outcome
		for i, o := range outs {
			if bpf.ActionOf(o.ret) == bpf.RetErrno && int(o.ret&bpf.RetData) != enosys {
				bad = &outs[i]
				break
			}
		}
		if bad == nil {
			continue
		}
		relevant := bad.explicit
		for _, to := range fb.to {
			if relevant {
				break
			}
			touts, err := get(to)
			if err != nil {
				return err
			}
			for _, o := range touts {
				if permits(o.ret) {
					relevant = true
					break
				}
			}
		}
		if !relevant {
			continue
		}
		ret := retText(bad.ret, a)
		var s *fallbackSite
		for _, x := range fbs.order {
			if x.pos == bad.pos && x.insn == bad.insn && x.ret == ret {
				s = x
			}
		}
		if s == nil {
			s = &fallbackSite{pos: bad.pos, insn: bad.insn, what: bad.what, ret: ret}
			fbs.order = append(fbs.order, s)
		}
		if !slices.Contains(s.names, fb.name) {
			s.names = append(s.names, fb.name)
			s.whys = append(s.whys, fb.why)
		}
		if !slices.Contains(s.arches, a.Name) {
			s.arches = append(s.arches, a.Name)
		}
	}
	return nil
}

func (fbs *fallbackSites) report(fs *findings) {
	for _, s := range fbs.order {
		names := strings.Join(s.names, " ")
		verb := "gets"
		if len(s.names) > 1 {
			verb = "get"
		}
		fs.add(s.pos, s.insn, FallbackErrno,
			fmt.Sprintf("deny with ENOSYS instead: `errno(ENOSYS) %s`, before any rule that denies them otherwise", names),
			"%s %s %s on %s (%s), but callers fall back to older syscalls only on ENOSYS: %s",
			strings.Join(s.names, ", "), verb, s.ret, strings.Join(s.arches, ", "), s.what, strings.Join(s.whys, "; "))
	}
}
