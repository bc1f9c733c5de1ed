package notify

import (
	"context"
	"fmt"
	"slices"

	"golang.org/x/sys/unix"

	"github.com/syscage/syscage/arch"
	"github.com/syscage/syscage/policy"
)

// A filter refuses a syscall in the kernel, where no program sees it
// (only kills, and actions the kernel is told to log, reach the audit
// log). For every refusal to become an alert, Escalate rewrites a policy
// so that its refusals are notified instead, and PolicyHandler answers
// those notifications exactly as the original policy decides, with an
// alert. Compile the escalated policy, install it with a listener, and
// serve it with the handlers of the notified syscalls (a Broker's) and
// PolicyHandler of the original policy as Options.Unhandled.
//
// The cost is one round trip to the supervisor per refused syscall;
// allowed syscalls never leave the kernel.

// Escalate returns a copy of p in which every action that refuses a
// syscall (errno, trap, trace, kill_thread, kill_process; the default,
// unknown and badarch actions included) becomes notify. errno(ENOSYS) is
// kept: it is how policies tell a program a syscall does not exist so
// that its libc falls back to an older one (clone3, new syscalls), which
// programs probe for all the time and is no sign of anything.
func Escalate(p *policy.Policy) *policy.Policy {
	q := *p
	q.Rules = make([]*policy.Rule, len(p.Rules))
	for i, r := range p.Rules {
		rc := *r
		rc.Action = escalated(r.Action)
		q.Rules[i] = &rc
	}
	q.Default = escalated(p.Default)
	q.Unknown = escalated(p.Unknown)
	q.BadArch = escalated(p.BadArch)
	q.Flags = slices.Clone(p.Flags)
	return &q
}

func escalated(a policy.Action) policy.Action {
	switch a.Kind {
	case policy.Errno:
		if isENOSYS(a) {
			return a
		}
		return policy.ActNotify
	case policy.Trap, policy.Trace, policy.KillThread, policy.KillProcess:
		return policy.ActNotify
	}
	return a
}

func isENOSYS(a policy.Action) bool {
	if a.ErrnoName != "" {
		return a.ErrnoName == "ENOSYS"
	}
	return unix.Errno(a.Data) == unix.ENOSYS
}

// PolicyHandler answers a notification as p decides it, for the syscalls
// an escalated policy notifies and no other handler serves:
//
//   - allow, log: the syscall runs as made (ContinueUnchecked: the
//     decision rests on the number and register arguments only, which the
//     kernel runs it with);
//   - errno(E): it fails with E, resolved for the syscall's architecture;
//   - kill_process, kill_thread: the process is killed with SIGKILL (a
//     signal kills every thread, so kill_thread ends the whole process
//     too) before the syscall returns, and it never runs;
//   - trap: the thread gets SIGSYS and the syscall fails with ENOSYS,
//     without the seccomp fields the kernel's SIGSYS carries;
//   - trace, notify: ENOSYS, as the kernel answers without a tracer or
//     a supervisor for them.
//
// Every answer but allow and log is a violation, with the deciding rule
// (file:line:col and text) in the alert. env is what only/except
// restrictions are decided for.
func PolicyHandler(p *policy.Policy, env policy.Env) Handler {
	return func(_ context.Context, r *Request) Response {
		d, err := policy.Evaluate(p, policy.Input{AuditArch: r.Data.Arch, Nr: uint32(r.Data.Nr), Args: r.Data.Args}, env)
		if err != nil {
			return Deny(unix.ENOSYS, "the policy cannot decide: "+err.Error())
		}
		var resp Response
		switch d.Action.Kind {
		case policy.Allow, policy.Log:
			return ContinueUnchecked()
		case policy.Errno:
			if e := errnoOn(d.Action, r.Arch); e != 0 {
				resp = Deny(e, "")
			} else {
				// errno(0): the syscall "succeeds" without running.
				resp = Return(0)
				resp.Violation = true
			}
		case policy.KillProcess, policy.KillThread:
			resp = Deny(unix.ENOSYS, "")
			resp.Kill = true
		case policy.Trap:
			resp = Deny(unix.ENOSYS, "")
			if tgid := r.Tgid(); tgid > 0 && r.Valid() == nil {
				unix.Tgkill(tgid, r.PID, unix.SIGSYS)
			}
		default:
			resp = Deny(unix.ENOSYS, "")
		}
		resp.Reason = fmt.Sprintf("the policy says %s (%s)", d.Action, d.Reason)
		if d.Rule != nil {
			resp.Rule = d.Rule.Pos.String() + ": " + policy.FormatRule(d.Rule)
		}
		return resp
	}
}

// errnoOn resolves an errno action for an architecture (errno numbers
// differ on mips and alpha).
func errnoOn(a policy.Action, ab *arch.Arch) unix.Errno {
	if a.ErrnoName != "" && ab != nil {
		if n, ok := ab.Errno(a.ErrnoName); ok {
			return unix.Errno(n)
		}
	}
	return unix.Errno(a.Data)
}
