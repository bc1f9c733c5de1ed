package seccomp

import (
	"errors"
	"fmt"
	"strings"
)

// Conditions callers may test for with errors.Is. Errors returned by this
// package wrap one of these when it applies, inside an *Error that says
// which process and operation were concerned and how to fix it.
var (
	// ErrNoProcess: the pid names no process (or it exited meanwhile).
	ErrNoProcess = errors.New("no such process")
	// ErrPermission: the caller lacks the privilege the kernel demands.
	ErrPermission = errors.New("not permitted")
	// ErrNoFilters: the process has no seccomp filter installed.
	ErrNoFilters = errors.New("no seccomp filters")
	// ErrStrictMode: the process is in strict mode (seccomp v1), which
	// has a fixed syscall list and no filters to read.
	ErrStrictMode = errors.New("in seccomp strict mode")
	// ErrUnsupported: the running kernel lacks the feature.
	ErrUnsupported = errors.New("not supported by the running kernel")
	// ErrInvalid: the kernel rejected the request as invalid.
	ErrInvalid = errors.New("invalid argument")
)

// Error describes a failed operation on the kernel or a process.
type Error struct {
	Op  string // what was attempted, e.g. "read the filters"
	PID int    // the process concerned, 0 when none
	Err error  // the cause: one of the Err* values above or an errno
	Fix string // how to get it to work, "" when there is nothing to do
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Op)
	if e.PID != 0 && e.Err == ErrNoProcess {
		// The pid is the whole story: say it once, plainly.
		fmt.Fprintf(&b, ": no process with pid %d", e.PID)
		return b.String()
	}
	if e.PID != 0 {
		fmt.Fprintf(&b, " of pid %d", e.PID)
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	if e.Fix != "" {
		b.WriteString(": ")
		b.WriteString(e.Fix)
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// noProcess is the error for a pid that does not exist.
func noProcess(op string, pid int) error {
	return &Error{Op: op, PID: pid, Err: ErrNoProcess}
}

// kindError carries a complete message and still matches one of the Err*
// values with errors.Is, for messages that would read badly with the
// condition's own text in front.
type kindError struct {
	kind  error
	msg   string
	cause error // the errno behind it, if any, for errors.Is
}

func (e *kindError) Error() string        { return e.msg }
func (e *kindError) Is(target error) bool { return target == e.kind }
func (e *kindError) Unwrap() error        { return e.cause }

// kinded formats a message that matches kind under errors.Is.
func kinded(kind error, format string, args ...any) error {
	return &kindError{kind: kind, msg: fmt.Sprintf(format, args...)}
}

// kindedErrno is kinded with the kernel's errno kept reachable through
// errors.Is, e.g. errors.Is(err, unix.EBUSY).
func kindedErrno(kind, errno error, format string, args ...any) error {
	return &kindError{kind: kind, msg: fmt.Sprintf(format, args...), cause: errno}
}
