package record

import (
	"encoding/binary"
	"unsafe"

	"golang.org/x/sys/unix"
)

// ptrace options the tracer sets on every tracee: follow every kind of
// child, stop at execve and at SECCOMP_RET_TRACE, and kill the tracees
// when the tracer dies so that nothing runs on untraced.
const traceOptions = unix.PTRACE_O_TRACECLONE | unix.PTRACE_O_TRACEFORK | unix.PTRACE_O_TRACEVFORK |
	unix.PTRACE_O_TRACEEXEC | unix.PTRACE_O_TRACESECCOMP | unix.PTRACE_O_EXITKILL

// ptrace requests and events that x/sys/unix does not wrap.
const (
	ptraceListen          = 0x4208 // PTRACE_LISTEN
	ptraceGetSyscallInfo  = unix.PTRACE_GET_SYSCALL_INFO
	syscallInfoSeccomp    = 3 // PTRACE_SYSCALL_INFO_SECCOMP
	syscallInfoSize       = 88
	ptraceEventStop       = unix.PTRACE_EVENT_STOP
	ptraceEventSeccomp    = unix.PTRACE_EVENT_SECCOMP
	ptraceEventExec       = unix.PTRACE_EVENT_EXEC
	ptraceEventFork       = unix.PTRACE_EVENT_FORK
	ptraceEventVfork      = unix.PTRACE_EVENT_VFORK
	ptraceEventClone      = unix.PTRACE_EVENT_CLONE
	ptraceEventVforkDone  = unix.PTRACE_EVENT_VFORK_DONE
	ptraceEventExitReport = unix.PTRACE_EVENT_EXIT
)

func ptrace(req int, pid int, addr, data uintptr) error {
	_, _, e := unix.Syscall6(unix.SYS_PTRACE, uintptr(req), uintptr(pid), addr, data, 0, 0)
	if e != 0 {
		return e
	}
	return nil
}

func seize(tid int) error {
	return ptrace(unix.PTRACE_SEIZE, tid, 0, traceOptions)
}

// resume lets a stopped tracee go on, delivering sig (0 for none).
func resume(tid int, sig int) error {
	return ptrace(unix.PTRACE_CONT, tid, 0, uintptr(sig))
}

// listen leaves a tracee in group-stop (SIGSTOP, SIGTSTP...) while
// letting the tracer hear when it is continued (PTRACE_LISTEN, for
// tracees attached with PTRACE_SEIZE).
func listen(tid int) error {
	return ptrace(ptraceListen, tid, 0, 0)
}

func eventMsg(tid int) (uint, error) {
	var msg uint
	err := ptrace(unix.PTRACE_GETEVENTMSG, tid, 0, uintptr(unsafe.Pointer(&msg)))
	return msg, err
}

// syscallInfo is what PTRACE_GET_SYSCALL_INFO reports at a seccomp stop
// (include/uapi/linux/ptrace.h: struct ptrace_syscall_info).
type syscallInfo struct {
	Op        uint8
	AuditArch uint32
	IP        uint64
	Nr        uint64
	Args      [6]uint64
	RetData   uint32
}

func getSyscallInfo(tid int) (syscallInfo, error) {
	var buf [syscallInfoSize]byte
	var si syscallInfo
	if err := ptrace(ptraceGetSyscallInfo, tid, uintptr(len(buf)), uintptr(unsafe.Pointer(&buf[0]))); err != nil {
		return si, err
	}
	le := binary.NativeEndian
	si.Op = buf[0]
	si.AuditArch = le.Uint32(buf[4:])
	si.IP = le.Uint64(buf[8:])
	si.Nr = le.Uint64(buf[24:])
	for i := range 6 {
		si.Args[i] = le.Uint64(buf[32+8*i:])
	}
	si.RetData = le.Uint32(buf[80:])
	return si, nil
}

// readMemory reads len(out) bytes of a tracee's memory at addr.
func readMemory(tid int, addr uint64, out []byte) error {
	local := []unix.Iovec{{Base: &out[0]}}
	local[0].SetLen(len(out))
	remote := []unix.RemoteIovec{{Base: uintptr(addr), Len: len(out)}}
	n, err := unix.ProcessVMReadv(tid, local, remote, 0)
	if err == nil && n == len(out) {
		return nil
	}
	// process_vm_readv may be refused where ptrace is not; peek words.
	for off := 0; off < len(out); off += 8 {
		var w [8]byte
		if _, err := unix.PtracePeekData(tid, uintptr(addr)+uintptr(off), w[:]); err != nil {
			return err
		}
		copy(out[off:], w[:])
	}
	return nil
}

// readString reads a NUL-terminated string of at most max bytes.
func readString(tid int, addr uint64, max int) string {
	var out []byte
	buf := make([]byte, 64)
	for len(out) < max {
		if err := readMemory(tid, addr+uint64(len(out)), buf); err != nil {
			break
		}
		for i, c := range buf {
			if c == 0 {
				return string(append(out, buf[:i]...))
			}
		}
		out = append(out, buf...)
	}
	return string(out)
}
