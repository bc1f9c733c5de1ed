package seccomp

import (
	"errors"
	"fmt"
	"path/filepath"
	"runtime"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/syscage/syscage/bpf"
)

// Filter is one filter of a thread's chain, as the kernel keeps it.
type Filter struct {
	// Index is the filter's position in the chain: 0 is the oldest, the
	// first one installed (kernel/seccomp.c: get_nth_filter counts from
	// the root of the chain).
	Index   int         `json:"index"`
	Program bpf.Program `json:"program"`
	// Flags holds the install flags the kernel remembers: only LOG
	// (kernel/seccomp.c: seccomp_get_metadata).
	Flags Flags `json:"flags"`
}

// maxFilters bounds the dump loop: every filter costs at least five
// instructions of the 32768 a chain may hold (one plus the four-instruction
// penalty, kernel/seccomp.c: seccomp_attach_filter).
const maxFilters = bpf.MaxStackInstructions / (1 + bpf.StackPenaltyPerFilter)

// DumpFilters returns the seccomp filters of the thread pid (a process id
// names its main thread), oldest first, with the original instructions as
// they were installed.
//
// It attaches to the thread with PTRACE_SEIZE, stops it with
// PTRACE_INTERRUPT, reads each filter with PTRACE_SECCOMP_GET_FILTER and its
// flags with PTRACE_SECCOMP_GET_METADATA, and detaches; the thread
// continues as before. The kernel demands that the caller has
// CAP_SYS_ADMIN, may ptrace the process, and is not under seccomp itself
// (kernel/seccomp.c: seccomp_get_filter), and that the kernel was built
// with CONFIG_CHECKPOINT_RESTORE. Other threads keep running; a filter
// another thread adds with TSYNC meanwhile may or may not be seen.
func DumpFilters(pid int) ([]Filter, error) {
	const op = "read the seccomp filters"
	st, err := ReadStatus(pid)
	if err != nil {
		return nil, err
	}
	if st.Exited() {
		return nil, &Error{Op: op, PID: pid, Err: kinded(ErrNoProcess, "it has exited (a zombie waiting for its parent to reap it); its filters are gone with it")}
	}
	switch st.Mode {
	case ModeDisabled:
		return nil, &Error{Op: op, PID: pid, Err: ErrNoFilters}
	case ModeStrict:
		return nil, &Error{Op: op, PID: pid, Err: kinded(ErrStrictMode, "it is in seccomp strict mode (read, write, _exit and sigreturn only), which has no filters to read")}
	case ModeDead:
		return nil, &Error{Op: op, PID: pid, Err: kinded(ErrNoProcess, "it is being killed by its seccomp filter")}
	}
	if st.TracerPID != 0 {
		return nil, &Error{Op: op, PID: pid, Err: kinded(ErrPermission, "it is already traced by pid %d, and a thread has only one tracer", st.TracerPID),
			Fix: "detach the debugger or tracer and try again"}
	}

	// Every ptrace request must come from the thread that attached, and
	// the kernel checks that thread's credentials.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if err := checkDumper(op, pid); err != nil {
		return nil, err
	}

	if err := unix.PtraceSeize(pid); err != nil {
		if st, serr := ReadStatus(pid); serr != nil || st.Exited() {
			return nil, noProcess(op, pid) // it exited meanwhile
		}
		return nil, ptraceError(op, pid, "PTRACE_SEIZE", err)
	}
	resume := 0
	defer func() { _ = ptraceDetach(pid, resume) }()
	if err := unix.PtraceInterrupt(pid); err != nil {
		return nil, ptraceError(op, pid, "PTRACE_INTERRUPT", err)
	}
	sig, err := waitStop(pid)
	if err != nil {
		return nil, ptraceError(op, pid, "wait for the thread to stop", err)
	}
	resume = sig

	var out []Filter
	for i := 0; i < maxFilters; i++ {
		n, err := ptraceCall(unix.PTRACE_SECCOMP_GET_FILTER, pid, uintptr(i), nil)
		if errors.Is(err, unix.ENOENT) {
			break // past the oldest filter
		}
		if err != nil {
			return nil, getFilterError(op, pid, err)
		}
		if n == 0 || n > bpf.MaxInstructions {
			return nil, &Error{Op: op, PID: pid, Err: fmt.Errorf("filter %d: the kernel reports %d instructions", i, n)}
		}
		buf := make([]unix.SockFilter, n)
		m, err := ptraceCall(unix.PTRACE_SECCOMP_GET_FILTER, pid, uintptr(i), unsafe.Pointer(&buf[0]))
		if err != nil {
			return nil, getFilterError(op, pid, err)
		}
		if m != n {
			return nil, &Error{Op: op, PID: pid, Err: fmt.Errorf("filter %d changed size while being read (%d, then %d instructions)", i, n, m)}
		}
		prog := make(bpf.Program, n)
		for j, ins := range buf {
			prog[j] = bpf.Instruction{Op: ins.Code, Jt: ins.Jt, Jf: ins.Jf, K: ins.K}
		}
		flags, err := filterFlags(pid, i)
		if err != nil {
			return nil, getFilterError(op, pid, err)
		}
		out = append(out, Filter{Index: i, Program: prog, Flags: flags})
	}
	if len(out) == 0 {
		return nil, &Error{Op: op, PID: pid, Err: ErrNoFilters}
	}
	return out, nil
}

// seccompMetadata is struct seccomp_metadata
// (include/uapi/linux/ptrace.h).
type seccompMetadata struct {
	FilterOff uint64
	Flags     uint64
}

// filterFlags reads the flags of filter index with
// PTRACE_SECCOMP_GET_METADATA (Linux 4.16+); older kernels report none.
func filterFlags(pid, index int) (Flags, error) {
	md := seccompMetadata{FilterOff: uint64(index)}
	_, err := ptraceCall(unix.PTRACE_SECCOMP_GET_METADATA, pid, unsafe.Sizeof(md), unsafe.Pointer(&md))
	if errors.Is(err, unix.EIO) {
		return 0, nil // request unknown to this kernel
	}
	if err != nil {
		return 0, err
	}
	return Flags(md.Flags), nil
}

// checkDumper refuses early, with the reason, when the kernel would
// refuse the caller anyway.
func checkDumper(op string, pid int) error {
	self, err := readStatusFile(filepath.Join(procRoot, "thread-self", "status"), op, unix.Gettid())
	if err != nil {
		return nil // let the kernel decide
	}
	if self.Mode != ModeDisabled && self.Mode != ModeUnknown {
		return &Error{Op: op, PID: pid, Err: kinded(ErrPermission, "this process itself runs under seccomp (%s mode), and the kernel reads filters only for callers without seccomp", self.Mode),
			Fix: "run it from outside the sandbox"}
	}
	if !self.HasCapSysAdmin() {
		return &Error{Op: op, PID: pid, Err: kinded(ErrPermission, "reading filters (PTRACE_SECCOMP_GET_FILTER) needs CAP_SYS_ADMIN"),
			Fix: "run as root (e.g. with sudo)"}
	}
	return nil
}

// ptraceCall issues a ptrace request and returns the kernel's result,
// which for PTRACE_SECCOMP_GET_FILTER is the instruction count.
func ptraceCall(req, pid int, addr uintptr, data unsafe.Pointer) (int, error) {
	r, _, errno := unix.Syscall6(unix.SYS_PTRACE, uintptr(req), uintptr(pid), addr, uintptr(data), 0, 0)
	if errno != 0 {
		return 0, errno
	}
	return int(r), nil
}

// ptraceDetach detaches, delivering sig if the thread had stopped for a
// signal so that it is not lost.
func ptraceDetach(pid, sig int) error {
	_, _, errno := unix.Syscall6(unix.SYS_PTRACE, unix.PTRACE_DETACH, uintptr(pid), 0, uintptr(sig), 0, 0)
	if errno != 0 {
		return errno
	}
	return nil
}

// waitStop waits until the seized thread reports a ptrace stop. It
// returns the signal to deliver on detach: non-zero only when the thread
// stopped to receive a signal rather than for our interrupt.
func waitStop(pid int) (int, error) {
	for {
		var ws unix.WaitStatus
		_, err := unix.Wait4(pid, &ws, unix.WALL, nil)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return 0, err
		}
		switch {
		case ws.Exited() || ws.Signaled():
			return 0, unix.ESRCH
		case ws.Stopped():
			// PTRACE_INTERRUPT and group stops report as
			// PTRACE_EVENT_STOP (status>>16); anything else is a
			// signal-delivery stop whose signal must be passed on.
			if int(ws)>>16 == unix.PTRACE_EVENT_STOP {
				return 0, nil
			}
			return int(ws.StopSignal()), nil
		}
	}
}

// ptraceError explains a failed attach.
func ptraceError(op string, pid int, what string, err error) error {
	switch {
	case errors.Is(err, unix.ESRCH):
		return noProcess(op, pid)
	case errors.Is(err, unix.EPERM), errors.Is(err, unix.EACCES):
		return &Error{Op: op, PID: pid, Err: kinded(ErrPermission, "%s: %v: the kernel does not let this process trace it", what, err),
			Fix: "run as root or with CAP_SYS_PTRACE; check kernel.yama.ptrace_scope and whether a security module forbids ptrace"}
	}
	return &Error{Op: op, PID: pid, Err: fmt.Errorf("%s: %w", what, err)}
}

// getFilterError explains a failed PTRACE_SECCOMP_GET_FILTER or
// GET_METADATA (kernel/seccomp.c: seccomp_get_filter, get_nth_filter).
func getFilterError(op string, pid int, err error) error {
	switch {
	case errors.Is(err, unix.ESRCH):
		return noProcess(op, pid)
	case errors.Is(err, unix.EACCES):
		return &Error{Op: op, PID: pid, Err: kinded(ErrPermission, "the kernel requires CAP_SYS_ADMIN in the initial user namespace and a caller without seccomp"),
			Fix: "run as root on the host, outside any sandbox"}
	case errors.Is(err, unix.EINVAL):
		// get_nth_filter: the thread is not in filter mode.
		if st, serr := ReadStatus(pid); serr == nil && st.Mode == ModeStrict {
			return &Error{Op: op, PID: pid, Err: kinded(ErrStrictMode, "it is in seccomp strict mode, which has no filters to read")}
		}
		return &Error{Op: op, PID: pid, Err: ErrNoFilters}
	case errors.Is(err, unix.EIO):
		return &Error{Op: op, PID: pid, Err: kinded(ErrUnsupported, "PTRACE_SECCOMP_GET_FILTER is unknown to this kernel (Linux 4.4+ built with CONFIG_CHECKPOINT_RESTORE)")}
	case errors.Is(err, unix.EMEDIUMTYPE):
		return &Error{Op: op, PID: pid, Err: kinded(ErrUnsupported, "a filter is not classic BPF and has no original instructions to read")}
	}
	return &Error{Op: op, PID: pid, Err: err}
}
