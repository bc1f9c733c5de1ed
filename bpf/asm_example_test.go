package bpf_test

import (
	"fmt"

	"github.com/syscage/syscage/arch"
	"github.com/syscage/syscage/bpf"
)

// A filter with labels: deny execve with EPERM on x86_64, kill any other
// arch.
func ExampleBuilder() {
	b := bpf.NewBuilder()
	b.Emit(bpf.LoadAbs(bpf.OffsetArch))
	b.JumpIf(bpf.JmpJEQ, 0xc000003e, "", "kill") // AUDIT_ARCH_X86_64
	b.Emit(bpf.LoadAbs(bpf.OffsetNr))
	b.JumpIf(bpf.JmpJEQ, 59, "deny", "") // execve
	b.Ret(bpf.RetAllow)
	b.Label("deny")
	b.Ret(bpf.RetErrno | 1)
	b.Label("kill")
	b.Ret(bpf.RetKillProcess)
	p, err := b.Program()
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, ins := range p {
		fmt.Printf("%+v\n", ins)
	}
	// Output:
	// {Op:32 Jt:0 Jf:0 K:4}
	// {Op:21 Jt:0 Jf:4 K:3221225534}
	// {Op:32 Jt:0 Jf:0 K:0}
	// {Op:21 Jt:1 Jf:0 K:59}
	// {Op:6 Jt:0 Jf:0 K:2147418112}
	// {Op:6 Jt:0 Jf:0 K:327681}
	// {Op:6 Jt:0 Jf:0 K:2147483648}
}

func ExampleAssemble() {
	p, err := bpf.Assemble(`
		A = arch
		if (A != ARCH_X86_64) goto kill
		A = sys_number
		if (A == execve) goto deny   # names resolve under the arch checked above
		return ALLOW
	deny:
		return ERRNO(1)
	kill:
		return KILL_PROCESS
	`, arch.Names())
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(len(p), "instructions; execve is", p[3].K)

	_, err = bpf.Assemble("A = arch\nif (A == ARCH_X68_64) goto 0002\nreturn ALOW", arch.Names())
	fmt.Println(err)
	// Output:
	// 7 instructions; execve is 59
	// 2:10: unknown arch "ARCH_X68_64"
	// 3:8: unknown action "ALOW": want KILL_PROCESS, KILL_THREAD, TRAP(n), ERRNO(n), USER_NOTIF, TRACE(n), LOG, ALLOW or a number; did you mean "ALLOW", "LOG"?
}

func ExampleDisassemble() {
	p := bpf.Program{
		bpf.LoadAbs(bpf.OffsetArch),
		bpf.JumpIf(bpf.JmpJEQ, 0xc000003e, 0, 3),
		bpf.LoadAbs(bpf.OffsetNr),
		bpf.JumpIf(bpf.JmpJEQ, 59, 1, 0),
		bpf.Ret(bpf.RetAllow),
		bpf.Ret(bpf.RetKillProcess),
	}
	fmt.Print(bpf.Disassemble(p, bpf.DisasmOptions{Namer: arch.Names(), Raw: true}))
	// Output:
	// # line  CODE  JT   JF      K
	// # =================================
	//  0000: 0x20 0x00 0x00 0x00000004  A = arch
	//  0001: 0x15 0x00 0x03 0xc000003e  if (A != ARCH_X86_64) goto 0005
	//  0002: 0x20 0x00 0x00 0x00000000  A = sys_number
	//  0003: 0x15 0x01 0x00 0x0000003b  if (A == execve) goto 0005
	//  0004: 0x06 0x00 0x00 0x7fff0000  return ALLOW
	//  0005: 0x06 0x00 0x00 0x80000000  return KILL_PROCESS
}
