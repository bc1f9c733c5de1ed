package gen

import (
	"math/rand/v2"

	"github.com/syscage/syscage/arch"
	"github.com/syscage/syscage/policy"
)

// ProbeSyscalls are x86_64 syscalls a probe may make with any arguments:
// the Go runtime does not make them, and each is harmless even if it ran
// (it reads, fails on a bad pointer, or changes only the probing
// process). Kernel policies end every one of them with an errno rule, so
// the kernel never runs them anyway.
var ProbeSyscalls = []string{
	"personality", "getpriority", "ioprio_get", "socket", "getcpu", "sysinfo",
	"times", "getrusage", "sched_getparam", "sched_getscheduler", "capget",
	"getsid", "getpgid", "uname", "getpgrp", "get_mempolicy", "flock",
	"syncfs", "getxattr", "statfs", "faccessat", "getcwd",
	"sched_get_priority_max", "sched_rr_get_interval",
}

// NoSuchNumbers are x86_64 syscall numbers no kernel has: beyond the
// table, where the kernel answers ENOSYS whatever the filter allows.
var NoSuchNumbers = []int{600, 601, 640, 777, 1000}

// ErrnoFor maps a filter's return value to the errno a probe of a
// syscall the kernel does not run or does not have sees: the errno of
// SECCOMP_RET_ERRNO, and ENOSYS for ALLOW and LOG (no such syscall),
// TRACE without a tracer and USER_NOTIF without a listener
// (kernel/seccomp.c: __seccomp_filter, seccomp_do_user_notification).
func ErrnoFor(ret uint32) (errno uint32, ok bool) {
	const enosys = 38
	switch ret & 0xffff0000 {
	case 0x00050000: // ERRNO
		return ret & 0xffff, true
	case 0x7fff0000, 0x7ffc0000, 0x7ff00000, 0x7fc00000: // ALLOW, LOG, TRACE, USER_NOTIF
		return enosys, true
	}
	return 0, false // kills and traps are not probed
}

// KernelPolicy generates a policy that can be installed in a probing
// process: it accepts x86_64 (and sometimes x32), allows by default so
// the runtime keeps working, gives rules on ProbeSyscalls distinct
// errnos (never 38, ENOSYS) and ends each with a catch-all errno, and
// puts every non-fatal action on NoSuchNumbers.
func KernelPolicy(r *rand.Rand) (*policy.Policy, error) {
	x86, err := arch.ByName("x86_64")
	if err != nil {
		return nil, err
	}
	names := []string{"x86_64"}
	if r.IntN(3) == 0 {
		names = append(names, "x32")
	}
	errnos := r.Perm(3900) // errnos 100..3999: distinct, never 38, below MAX_ERRNO
	next := func() policy.Action {
		e := 100 + errnos[0]
		errnos = errnos[1:]
		return policy.Action{Kind: policy.Errno, Data: uint16(e)}
	}
	g := &generator{r: r, arches: []*arch.Arch{x86}}
	p := &policy.Policy{Arches: names, Default: policy.ActAllow, Unknown: next(), BadArch: next()}
	probes := make([]string, 3+r.IntN(4))
	for i := range probes {
		probes[i] = ProbeSyscalls[r.IntN(len(ProbeSyscalls))]
	}
	for range 4 + r.IntN(16) {
		rule := &policy.Rule{Action: next(), When: g.expr(2)}
		if r.IntN(4) == 0 {
			nr := NoSuchNumbers[r.IntN(len(NoSuchNumbers))]
			rule.Syscalls = []policy.Target{{HasNr: true, Nr: nr}}
			kinds := []policy.Action{policy.ActAllow, policy.ActLog, {Kind: policy.Trace, Data: uint16(r.IntN(100))}, policy.ActNotify, next()}
			rule.Action = kinds[r.IntN(len(kinds))]
		} else {
			rule.Syscalls = []policy.Target{{Name: probes[r.IntN(len(probes))]}}
		}
		p.Rules = append(p.Rules, rule)
		if p.Validate() != nil {
			p.Rules = p.Rules[:len(p.Rules)-1]
		}
	}
	var last []policy.Target
	for _, n := range probes {
		last = append(last, policy.Target{Name: n})
	}
	p.Rules = append(p.Rules, &policy.Rule{Syscalls: last, Action: next()})
	if err := p.Validate(); err != nil {
		return nil, err
	}
	return p, nil
}
