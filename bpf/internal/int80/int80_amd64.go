package int80

// Available reports whether this build can make i386 system calls. The
// kernel must also have IA32 emulation enabled; without it the
// instruction faults with SIGSEGV.
const Available = true

// Syscall issues i386 system call nr with up to six arguments in EBX,
// ECX, EDX, ESI, EDI and EBP and returns EAX, telling the scheduler it is
// in a system call as syscall.Syscall6 does. Callers pass 32-bit values:
// an i386 process cannot set the upper halves.
func Syscall(nr, a1, a2, a3, a4, a5, a6 uintptr) int32 {
	return int32(uint32(int80(nr, a1, a2, a3, a4, a5, a6)))
}

func int80(nr, a1, a2, a3, a4, a5, a6 uintptr) uintptr
