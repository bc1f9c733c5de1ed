package notify

import (
	"context"
	"fmt"

	"golang.org/x/sys/unix"
)

// Handler decides one notified syscall. It runs on a worker of the
// supervisor while the target waits; other requests are received and
// handled meanwhile by the other workers. ctx is cancelled when the
// supervisor stops. The Request is valid only until the handler
// returns: the worker reuses it for its next request.
type Handler func(ctx context.Context, r *Request) Response

// Handlers maps syscall names to their handlers. A name applies on every
// architecture that has the syscall: "open" serves x86_64's open and
// i386's alike.
type Handlers map[string]Handler

// ResponseKind says how a Response answers the target.
type ResponseKind uint8

// The kinds of answers.
const (
	// KindErrno fails the syscall with Errno.
	KindErrno ResponseKind = iota + 1
	// KindValue makes the syscall return Val without running it.
	KindValue
	// KindFD installs FD in the target and makes the syscall return its
	// number there, atomically (SECCOMP_ADDFD_FLAG_SEND).
	KindFD
	// KindContinue lets the kernel run the syscall as the target made
	// it (SECCOMP_USER_NOTIF_FLAG_CONTINUE).
	KindContinue
)

// Response is a handler's answer. Build it with Fail, Deny, Return,
// InjectFD or ContinueUnchecked.
type Response struct {
	Kind ResponseKind
	// Errno for KindErrno.
	Errno unix.Errno
	// Val for KindValue.
	Val int64
	// FD for KindFD: a descriptor of the supervisor, closed once sent.
	FD int
	// CloseOnExec sets O_CLOEXEC on the descriptor the target gets.
	CloseOnExec bool

	// Violation marks an answer that refuses what the policy forbids:
	// it is written as an alert and may end the sandbox (see
	// Options.KillOnViolation). Reason, Rule and Path describe it.
	Violation bool
	Reason    string
	Rule      string
	Path      string
	// Notice asks for an alert that is not a violation: the target did
	// something the supervisor could not serve (an unreadable pointer,
	// a path it could not place) and got the kernel's errno for it.
	Notice bool
	// Kill ends the target's process (SIGKILL) before the answer, for
	// a policy whose action is kill_process or kill_thread.
	Kill bool
}

// Fail fails the syscall with errno e, as a result the kernel itself
// could have given (a missing file, a bad address): no alert.
func Fail(e unix.Errno) Response { return Response{Kind: KindErrno, Errno: e} }

// Deny refuses the syscall with errno e because the policy forbids it;
// the supervisor reports it as a violation.
func Deny(e unix.Errno, reason string) Response {
	return Response{Kind: KindErrno, Errno: e, Violation: true, Reason: reason}
}

// Return makes the syscall return v without running it.
func Return(v int64) Response { return Response{Kind: KindValue, Val: v} }

// InjectFD answers with a descriptor: fd (the supervisor's) is installed
// in the target and the syscall returns its number there. The supervisor
// closes fd after sending.
func InjectFD(fd int, closeOnExec bool) Response {
	return Response{Kind: KindFD, FD: fd, CloseOnExec: closeOnExec}
}

// ContinueUnchecked lets the kernel run the syscall as the target made
// it.
//
// Use it only when the decision does not depend on the target's memory.
// Between the supervisor's reads and the kernel's own, another thread of
// the target can rewrite every buffer a pointer argument names (a path,
// a sockaddr, a struct), so "the path it asked for is harmless, let it
// run" decides about a path the kernel will never open. Decisions on the
// syscall number and the register arguments in Request.Data are safe:
// the kernel runs the syscall with exactly those
// (include/uapi/linux/seccomp.h explains the same about
// SECCOMP_USER_NOTIF_FLAG_CONTINUE). For anything else, do the work in
// the supervisor and answer with Return or InjectFD.
func ContinueUnchecked() Response { return Response{Kind: KindContinue} }

func (r Response) String() string {
	switch r.Kind {
	case KindErrno:
		return fmt.Sprintf("errno(%d)", int(r.Errno))
	case KindValue:
		return fmt.Sprintf("return(%d)", r.Val)
	case KindFD:
		return "fd"
	case KindContinue:
		return "continue"
	}
	return "invalid"
}

// action renders the response as the action column of an alert.
func (r Response) action() string {
	if r.Kill {
		return "kill_process"
	}
	if r.Kind == KindErrno {
		if name := unix.ErrnoName(r.Errno); name != "" {
			return "errno(" + name + ")"
		}
	}
	return r.String()
}
