#include "textflag.h"

// func int80(nr, a1, a2, a3, a4, a5, a6 uintptr) uintptr
//
// The call is bracketed by runtime·entersyscall and runtime·exitsyscall,
// as golang.org/x/sys/unix does for its system calls, so that the
// scheduler can take the P back if the thread never returns (a seccomp
// filter may kill it).
TEXT ·int80(SB), NOSPLIT, $0-64
	CALL runtime·entersyscall(SB)
	MOVQ nr+0(FP), AX
	MOVQ a1+8(FP), BX
	MOVQ a2+16(FP), CX
	MOVQ a3+24(FP), DX
	MOVQ a4+32(FP), SI
	MOVQ a5+40(FP), DI
	MOVQ a6+48(FP), R8
	// EBP carries the sixth argument; keep the frame pointer intact.
	PUSHQ BP
	MOVQ R8, BP
	INT $0x80
	POPQ BP
	MOVQ AX, ret+56(FP)
	CALL runtime·exitsyscall(SB)
	RET
