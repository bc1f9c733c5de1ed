package notify

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/syscage/syscage/arch"
	"github.com/syscage/syscage/audit"
	"github.com/syscage/syscage/bpf"
)

// PathMax is the longest path the kernel accepts, terminating NUL
// included (include/uapi/linux/limits.h: PATH_MAX); longer ones fail
// with ENAMETOOLONG (fs/namei.c: getname_flags).
const PathMax = 4096

// Request is one notified syscall, as a handler sees it. The target
// thread is stopped in the syscall until the handler's Response is sent.
//
// The target's memory can change under the supervisor's feet: another
// thread of the target may rewrite a buffer at any time. Read what a
// decision needs once, with the Read methods, and decide on the copy;
// never read the same buffer twice expecting the same bytes.
type Request struct {
	// ID is the kernel's cookie for the notification.
	ID uint64
	// PID is the thread id of the target (the thread that made the
	// syscall), in the supervisor's pid namespace.
	PID int
	// Data is the seccomp_data the filter saw: number, AUDIT_ARCH,
	// instruction pointer and the six raw arguments.
	Data bpf.SeccompData
	// Arch is the syscall ABI (x86_64, i386, x32...), nil if this
	// program does not know it.
	Arch *arch.Arch
	// Syscall is the name of the syscall on Arch, or "syscall N".
	Syscall string

	s *Supervisor
	w *worker
}

// fd is the listener descriptor to use for r: its worker's own.
func (r *Request) fd() int {
	if r.w != nil {
		return r.w.fd
	}
	return r.s.fd
}

// Arg returns argument i as the syscall sees it: on a 32-bit ABI (i386,
// arm) only the low 32 bits exist, and the kernel does not promise what
// the high bits of seccomp_data hold for it.
func (r *Request) Arg(i int) uint64 {
	v := r.Data.Args[i]
	if r.Arch != nil && r.Arch.Bits == 32 {
		v &= 0xffffffff
	}
	return v
}

// IntArg returns argument i as a C int (the low 32 bits, sign-extended),
// as the kernel reads an int parameter such as a dirfd or flags.
func (r *Request) IntArg(i int) int32 { return int32(uint32(r.Data.Args[i])) }

// Valid reports whether the notification is still pending: the target
// neither died nor was interrupted since it was received. It returns nil
// or an error matching ErrGone.
func (r *Request) Valid() error {
	if e := idValid(r.fd(), r.ID); e != 0 {
		if e == unix.ENOENT {
			return ErrGone
		}
		return fmt.Errorf("check notification %d: %w", r.ID, e)
	}
	return nil
}

// Errors of the memory readers. A *MemoryError carries the address and
// unwraps to one of these.
var (
	// ErrGone: the target died or its syscall was interrupted; nothing
	// read for it may be used, and its response will not arrive.
	ErrGone = errors.New("the target is gone or its syscall was interrupted")
	// ErrFault: the address is not mapped readable in the target; the
	// kernel answers EFAULT in that case and so should the handler.
	ErrFault = errors.New("unreadable memory")
	// ErrTooLong: no NUL within the limit; the kernel answers
	// ENAMETOOLONG for paths.
	ErrTooLong = errors.New("string longer than the limit")
	// ErrDenied: the supervisor may not read the target's memory (it
	// lacks CAP_SYS_PTRACE, or Yama forbids it).
	ErrDenied = errors.New("not permitted to read the target's memory")
)

// MemoryError describes a failed read of target memory.
type MemoryError struct {
	PID  int
	Addr uint64
	Len  int
	Err  error
}

func (e *MemoryError) Error() string {
	return fmt.Sprintf("read %d bytes at %#x of pid %d: %v", e.Len, e.Addr, e.PID, e.Err)
}

func (e *MemoryError) Unwrap() error { return e.Err }

// ErrnoOf is the errno a handler should give the target for a failed read:
// EFAULT, ENAMETOOLONG, EPERM (the supervisor cannot read), or 0 when the
// target is gone and no answer matters.
func ErrnoOf(err error) unix.Errno {
	switch {
	case err == nil:
		return 0
	case errors.Is(err, ErrGone):
		return 0
	case errors.Is(err, ErrFault):
		return unix.EFAULT
	case errors.Is(err, ErrTooLong):
		return unix.ENAMETOOLONG
	case errors.Is(err, ErrDenied):
		return unix.EPERM
	}
	var e unix.Errno
	if errors.As(err, &e) {
		return e
	}
	return unix.EIO
}

// Read copies len(buf) bytes of the target's memory at addr into buf and
// then checks that the notification is still valid, so the bytes are the
// target's (a pid is reused only once its process has gone). It returns
// ErrFault if any byte is unreadable.
func (r *Request) Read(addr uint64, buf []byte) error {
	if len(buf) == 0 {
		return nil
	}
	n, err := r.readPartial(addr, buf)
	if err == nil && n < len(buf) {
		err = ErrFault
	}
	if err != nil {
		return r.memErr(addr, len(buf), err)
	}
	return r.Valid()
}

// ReadString reads a NUL-terminated string at addr of at most max bytes,
// NUL included, the way the kernel's strncpy_from_user does: page by
// page, so that an unmapped page after the terminator does not matter.
// It fails with ErrFault when a byte before the NUL is unreadable and
// with ErrTooLong when max bytes hold no NUL; then it checks that the
// notification is still valid. The result is a private copy.
func (r *Request) ReadString(addr uint64, max int) (string, error) {
	b, err := r.readCString(addr, max)
	if err != nil {
		return "", err
	}
	return string(b), nil
}

// readCString is ReadString into the request's scratch buffer.
func (r *Request) readCString(addr uint64, limit int) ([]byte, error) {
	if limit <= 0 {
		return nil, r.memErr(addr, 0, ErrTooLong)
	}
	page := uint64(pageSize)
	var out []byte
	if limit <= len(r.scratch()) {
		out = r.scratch()[:0]
	}
	start := addr
	for len(out) < limit {
		// Never cross a page in one read: the next page may be
		// unmapped while the string ends before it.
		chunk := int(min(page-addr%page, uint64(limit-len(out))))
		if len(out) == 0 {
			// Most paths are short: a first small read spares copying
			// the rest of the page.
			chunk = min(chunk, firstRead)
		}
		if addr+uint64(chunk) < addr { // wraps around the address space
			return nil, r.memErr(start, len(out)+chunk, ErrFault)
		}
		if cap(out)-len(out) < chunk {
			grown := make([]byte, len(out), len(out)+max(chunk, 2*cap(out)))
			copy(grown, out)
			out = grown
		}
		dst := out[len(out) : len(out)+chunk]
		n, err := r.readPartial(addr, dst)
		if i := indexNUL(dst[:n]); i >= 0 {
			out = out[:len(out)+i]
			if err := r.Valid(); err != nil {
				return nil, err
			}
			return out, nil
		}
		if err == nil && n < chunk {
			err = ErrFault
		}
		if err != nil {
			return nil, r.memErr(start, len(out)+chunk, err)
		}
		out = out[:len(out)+chunk]
		addr += uint64(chunk)
	}
	return nil, r.memErr(start, limit, ErrTooLong)
}

// firstRead is the size of the first read of a string.
const firstRead = 256

func indexNUL(b []byte) int {
	for i, c := range b {
		if c == 0 {
			return i
		}
	}
	return -1
}

func (r *Request) memErr(addr uint64, n int, err error) error {
	if errors.Is(err, ErrGone) {
		return err
	}
	// A failed read of a process that has gone reports ESRCH or EFAULT
	// alike; only ID_VALID tells which.
	if r.Valid() == ErrGone {
		return ErrGone
	}
	return &MemoryError{PID: r.PID, Addr: addr, Len: n, Err: err}
}

// scratch is a per-worker buffer of PathMax bytes for path reads.
func (r *Request) scratch() []byte {
	if r.w == nil {
		return nil
	}
	return r.w.path[:]
}

var pageSize = os.Getpagesize()

// readPartial reads up to len(buf) bytes at addr with process_vm_readv,
// which reads the target's memory under the ptrace access check
// (mm/process_vm_access.c) without stopping it, and stops at the first
// unreadable byte. Kernels without CONFIG_CROSS_MEMORY_ATTACH get the
// same through /proc/PID/mem.
func (r *Request) readPartial(addr uint64, buf []byte) (int, error) {
	local := unix.Iovec{Base: &buf[0]}
	local.SetLen(len(buf))
	remote := unix.RemoteIovec{Base: uintptr(addr), Len: len(buf)}
	for {
		n, _, e := unix.RawSyscall6(unix.SYS_PROCESS_VM_READV, uintptr(r.PID),
			uintptr(unsafe.Pointer(&local)), 1, uintptr(unsafe.Pointer(&remote)), 1, 0)
		switch e {
		case 0:
			return int(n), nil
		case unix.EINTR:
			continue
		case unix.EFAULT:
			return 0, ErrFault
		case unix.ESRCH:
			return 0, ErrGone
		case unix.EPERM:
			return 0, ErrDenied
		case unix.ENOSYS:
			return r.readProcMem(addr, buf)
		}
		return 0, e
	}
}

func (r *Request) readProcMem(addr uint64, buf []byte) (int, error) {
	fd, err := unix.Open("/proc/"+strconv.Itoa(r.PID)+"/mem", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	switch err {
	case nil:
	case unix.ENOENT, unix.ESRCH:
		return 0, ErrGone
	case unix.EACCES, unix.EPERM:
		return 0, ErrDenied
	default:
		return 0, err
	}
	defer unix.Close(fd)
	total := 0
	for total < len(buf) {
		n, err := unix.Pread(fd, buf[total:], int64(addr)+int64(total))
		if err == unix.EINTR {
			continue
		}
		if err != nil || n == 0 {
			if total == 0 {
				return 0, ErrFault
			}
			break
		}
		total += n
	}
	return total, nil
}

// Event returns an alert event describing the request, with the process
// named from /proc: time, pids, comm, exe, uid, arch, syscall and
// arguments. The caller fills in Action, Rule and Reason.
func (r *Request) Event() audit.Event {
	return r.s.eventFor(r)
}

// Tgid returns the process id of the target thread's process, 0 if it
// has gone.
func (r *Request) Tgid() int { return tgidOf(r.PID) }
