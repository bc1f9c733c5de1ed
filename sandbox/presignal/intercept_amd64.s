// The handlers Intercept installs (intercept_amd64.go). The kernel calls
// handler as a C function, handler(signo), on the thread's alternate
// signal stack (SA_ONSTACK; the Go runtime gives every thread one), and
// restores every register from the signal frame once it returns through
// restorer: handler may use any register, but nothing of the Go
// runtime, whose state it cannot know.

#include "textflag.h"

// func handlerPC() uintptr
TEXT ·handlerPC(SB),NOSPLIT,$0-8
	LEAQ	·handler(SB), AX
	MOVQ	AX, ret+0(FP)
	RET

// func restorerPC() uintptr
TEXT ·restorerPC(SB),NOSPLIT,$0-8
	LEAQ	·restorer(SB), AX
	MOVQ	AX, ret+0(FP)
	RET

// handler writes the signal's number (DI), one byte, to pipeFD:
// write(2) is async-signal-safe, and the pipe does not block.
TEXT ·handler(SB),NOSPLIT|NOFRAME,$0
	SUBQ	$16, SP
	MOVQ	DI, 0(SP)
	MOVLQSX	·pipeFD(SB), DI
	MOVQ	SP, SI
	MOVQ	$1, DX
	MOVQ	$1, AX	// SYS_write (arch/x86/entry/syscalls/syscall_64.tbl)
	SYSCALL
	ADDQ	$16, SP
	RET

// restorer returns from the handler: rt_sigreturn(2), which SA_RESTORER
// names on x86_64 and which does not return.
TEXT ·restorer(SB),NOSPLIT|NOFRAME,$0
	MOVQ	$15, AX	// SYS_rt_sigreturn
	SYSCALL
	INT	$3
