package seccomp

import (
	"errors"
	"fmt"
	"runtime"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/syscage/syscage/bpf"
)

// Seccomp state belongs to a thread, not to a process: no_new_privs, the
// mode and the filter chain are all per thread, and a new thread inherits
// them from the thread that creates it. The Go runtime moves goroutines
// between threads and starts threads of its own, so a Go caller must
// either
//
//   - call runtime.LockOSThread before SetNoNewPrivs and Install and
//     keep the goroutine locked (the rest of the process stays
//     unfiltered), or
//   - install with FlagTSync, which puts the filter (and no_new_privs)
//     on every thread of the process at once; threads created later
//     inherit it.
//
// The functions below act on the calling thread only.

// SetNoNewPrivs sets no_new_privs on the calling thread
// (prctl(PR_SET_NO_NEW_PRIVS, 1)): execve will grant no privileges
// (setuid, file capabilities), and the thread may install filters without
// CAP_SYS_ADMIN. It cannot be unset.
func SetNoNewPrivs() error {
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return &Error{Op: "set no_new_privs", Err: err}
	}
	return nil
}

// NoNewPrivs reports the calling thread's no_new_privs flag.
func NoNewPrivs() (bool, error) {
	r, _, errno := unix.Syscall6(unix.SYS_PRCTL, unix.PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0, 0)
	if errno != 0 {
		return false, &Error{Op: "read no_new_privs", Err: errno}
	}
	return r == 1, nil
}

// CurrentMode returns the calling thread's seccomp mode
// (prctl(PR_GET_SECCOMP)), or ErrUnsupported when the kernel has no
// seccomp at all.
func CurrentMode() (Mode, error) {
	r, _, errno := unix.Syscall6(unix.SYS_PRCTL, unix.PR_GET_SECCOMP, 0, 0, 0, 0, 0)
	if errno == unix.EINVAL {
		return ModeUnknown, &Error{Op: "read the seccomp mode", Err: kinded(ErrUnsupported, "the kernel was built without CONFIG_SECCOMP")}
	}
	if errno != 0 {
		return ModeUnknown, &Error{Op: "read the seccomp mode", Err: errno}
	}
	return Mode(r), nil
}

// Install attaches p to the calling thread's filter chain with the given
// flags (seccomp(SECCOMP_SET_MODE_FILTER)). With FlagNewListener it
// returns the user-notification listener fd (close-on-exec); otherwise
// listener is -1. The thread needs no_new_privs (SetNoNewPrivs) or
// CAP_SYS_ADMIN. A filter can never be removed: test programs in a child
// process, never in the process that runs the tests.
//
// See the note above SetNoNewPrivs on threads: Go callers must lock the OS
// thread or use FlagTSync.
func Install(p bpf.Program, flags Flags) (listener int, err error) {
	const op = "install the seccomp filter"
	if len(p) == 0 || len(p) > bpf.MaxInstructions {
		return -1, &Error{Op: op, Err: kinded(ErrInvalid, "the program has %d instructions; the kernel accepts 1 to %d", len(p), bpf.MaxInstructions)}
	}
	if err := CheckFlags(flags); err != nil {
		return -1, &Error{Op: op, Err: err}
	}
	raw := make([]unix.SockFilter, len(p))
	for i, ins := range p {
		raw[i] = unix.SockFilter{Code: ins.Op, Jt: ins.Jt, Jf: ins.Jf, K: ins.K}
	}
	prog := unix.SockFprog{Len: uint16(len(raw)), Filter: &raw[0]}
	r, err := seccompCall(opSetModeFilter, uintptr(flags), unsafe.Pointer(&prog))
	if err != nil {
		return -1, installError(op, flags, err)
	}
	switch {
	case flags&FlagNewListener != 0:
		return int(r), nil
	case flags&FlagTSync != 0 && r != 0:
		// Without TSYNC_ESRCH a failed synchronisation returns the id of
		// the thread that could not follow (seccomp_can_sync_threads).
		return -1, &Error{Op: op, Err: kinded(ErrInvalid, "TSYNC: thread %d has diverged (its own filters, or strict mode) and cannot be synchronised; nothing was installed", r)}
	}
	return -1, nil
}

// installError explains why the kernel refused a filter
// (kernel/seccomp.c: seccomp_set_mode_filter and what it calls).
func installError(op string, flags Flags, err error) error {
	switch {
	case errors.Is(err, unix.EACCES):
		return &Error{Op: op, Err: kindedErrno(ErrPermission, err, "the thread has neither no_new_privs nor CAP_SYS_ADMIN"),
			Fix: "call SetNoNewPrivs first, on the same (locked) OS thread"}
	case errors.Is(err, unix.ENOMEM):
		return &Error{Op: op, Err: fmt.Errorf("%w: the thread's filters would exceed %d instructions (each filter counts %d extra), or the kernel is out of memory", err, bpf.MaxStackInstructions, bpf.StackPenaltyPerFilter)}
	case errors.Is(err, unix.EBUSY):
		return &Error{Op: op, Err: kindedErrno(ErrInvalid, err, "a filter with a notification listener is already installed, and the kernel allows one listener per chain")}
	case errors.Is(err, unix.ESRCH):
		return &Error{Op: op, Err: kindedErrno(ErrInvalid, err, "TSYNC: another thread has diverged (its own filters, or strict mode) and cannot be synchronised; nothing was installed")}
	case errors.Is(err, unix.EINVAL):
		if perr := ProbeFlags(flags); perr != nil && errors.Is(perr, ErrUnsupported) {
			return perr
		}
		if m, merr := CurrentMode(); merr == nil && m == ModeStrict {
			return &Error{Op: op, Err: kindedErrno(ErrStrictMode, err, "the thread is in strict mode, which admits no filters")}
		}
		return &Error{Op: op, Err: kindedErrno(ErrInvalid, err, "the kernel rejected the program: an opcode seccomp does not allow, a misaligned or out-of-range load, a jump out of range, or no final return (validate it with bpf.Validate)")}
	case errors.Is(err, unix.ENOSYS):
		return &Error{Op: op, Err: kindedErrno(ErrUnsupported, err, "the seccomp system call (Linux 3.17+), or a filter already installed denies it")}
	}
	return &Error{Op: op, Err: err}
}

// SetStrict puts the calling thread in strict mode (seccomp v1,
// seccomp(SECCOMP_SET_MODE_STRICT)): from then on it may only read,
// write, _exit and sigreturn, and any other system call kills it. A Go
// program can hardly survive this outside a locked thread that does
// nothing else; it exists for tests and special helpers. Call it early
// in a time slice (runtime.Gosched first), with asynchronous preemption
// off (GODEBUG=asyncpreemptoff=1): the runtime's preemption request and
// its signal handler make calls strict mode refuses.
func SetStrict() error {
	// A raw call: the scheduler's usual return from a system call may
	// take a futex to get the thread's processor back, which strict mode
	// would answer by killing the thread.
	if _, _, e := unix.RawSyscall(unix.SYS_SECCOMP, opSetModeStrict, 0, 0); e != 0 {
		if e == unix.EINVAL {
			return &Error{Op: "enter strict mode", Err: kinded(ErrInvalid, "the thread already has seccomp filters, or the kernel lacks strict mode")}
		}
		return &Error{Op: "enter strict mode", Err: e}
	}
	return nil
}

// InstallStack installs several filters on the calling thread, in order
// (the last one runs first), with the same flags, all or none as far as
// can be known beforehand: everything the kernel would refuse for the
// stack itself is checked before the first filter goes on: sizes, flags,
// NEW_LISTENER (which could name only one filter), each program as the
// kernel validates it (bpf.Validate) and the 32768-instruction path limit
// of the new filters counted the kernel's way (bpf.ValidateStack). What
// cannot be seen from here can still make the kernel refuse a later
// filter: the filters already on the thread, whose lengths count towards
// the same path limit but cannot be read back without CAP_SYS_ADMIN
// (/proc/PID/status gives only their number), a filter already on that
// denies seccomp(2), or memory. The error then says how many went on, and
// the thread should be treated as unusable.
func InstallStack(progs []bpf.Program, flags Flags) error {
	const op = "install the seccomp filter stack"
	if err := checkStack(op, progs, flags); err != nil {
		return err
	}
	for i, p := range progs {
		if _, err := Install(p, flags); err != nil {
			if i == 0 {
				return err
			}
			return &Error{Op: op, Err: fmt.Errorf("filter %d of %d: %w (filters 0 to %d are installed)", i, len(progs), err, i-1)}
		}
	}
	return nil
}

// InstallProcess sandboxes the whole calling process: it sets
// no_new_privs and installs the filters with FlagTSync, so every thread
// of the process (and every thread created later) runs them. It fails,
// installing nothing, if a thread has filters of its own that the new
// ones do not extend. NEW_LISTENER is refused: there would be no fd to
// return (use Install with FlagTSync|FlagTSyncESRCH|FlagNewListener).
func InstallProcess(progs []bpf.Program, flags Flags) error {
	const op = "install the seccomp filters on every thread"
	if flags&FlagNewListener != 0 {
		return &Error{Op: op, Err: kinded(ErrInvalid, "NEW_LISTENER needs Install, which returns the listener fd")}
	}
	if err := checkStack(op, progs, flags|FlagTSync); err != nil {
		return err
	}
	// no_new_privs is per thread; TSYNC copies the caller's to the
	// others (kernel/seccomp.c: seccomp_sync_threads), so set and install
	// on one thread.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if err := SetNoNewPrivs(); err != nil {
		return err
	}
	return InstallStack(progs, flags|FlagTSync)
}

// checkStack refuses a stack the kernel would refuse part-way.
func checkStack(op string, progs []bpf.Program, flags Flags) error {
	if len(progs) == 0 {
		return &Error{Op: op, Err: kinded(ErrInvalid, "no filters given")}
	}
	if err := CheckFlags(flags); err != nil {
		return &Error{Op: op, Err: err}
	}
	if flags&FlagNewListener != 0 && len(progs) > 1 {
		return &Error{Op: op, Err: kinded(ErrInvalid, "NEW_LISTENER with %d filters: the kernel allows one listener per chain; install the filter that notifies with Install", len(progs))}
	}
	total := 0
	for i, p := range progs {
		if len(p) == 0 || len(p) > bpf.MaxInstructions {
			return &Error{Op: op, Err: kinded(ErrInvalid, "filter %d has %d instructions; the kernel accepts 1 to %d", i, len(p), bpf.MaxInstructions)}
		}
		total += len(p)
		if i > 0 {
			total += bpf.StackPenaltyPerFilter
		}
	}
	if total > bpf.MaxStackInstructions {
		return &Error{Op: op, Err: kinded(ErrInvalid, "the filters count %d instructions with the %d-instruction penalty per filter; the kernel allows %d along a chain", total, bpf.StackPenaltyPerFilter, bpf.MaxStackInstructions)}
	}
	// What the kernel checks at each attach (kernel/seccomp.c:
	// seccomp_prepare_filter, seccomp_attach_filter), for all of them
	// before the first: a later refusal would leave the earlier filters on.
	if err := bpf.ValidateStack(progs); err != nil {
		return &Error{Op: op, Err: &kindError{kind: ErrInvalid, msg: err.Error() + "; nothing was installed", cause: err}}
	}
	return nil
}
