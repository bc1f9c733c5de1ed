package record

import (
	"fmt"

	"github.com/syscage/syscage/arch"
	"github.com/syscage/syscage/bpf"
)

// traceAllFilter stops every syscall in the tracer.
func traceAllFilter() bpf.Program {
	return bpf.Program{bpf.Ret(bpf.RetTrace)}
}

// stoppedNative are the native syscalls that stop in the tracer even
// when the eBPF program counts the rest: execve and execveat, to learn
// what runs (and, for the first one, to start counting), and clone3,
// whose flags live in memory the eBPF program does not read.
var stoppedNative = []string{"execve", "execveat", "clone3"}

// hybridFilter allows the native syscalls below n, which the eBPF program
// counts, except stoppedNative; every other architecture (i386 through int
// 0x80, x32 numbers with bit 30 set) and every number from n up stops in
// the tracer. Its result depends only on the arch and number, so the
// kernel's seccomp cache serves the allowed ones without running it
// (kernel/seccomp.c: seccomp_cache_prepare_bitmap).
func hybridFilter(native *arch.Arch, n int) (bpf.Program, error) {
	b := bpf.NewBuilder()
	b.Emit(bpf.LoadAbs(bpf.OffsetArch))
	b.JumpIf(bpf.JmpJEQ, native.AuditArch, "native", "trace")
	b.Label("native")
	b.Emit(bpf.LoadAbs(bpf.OffsetNr))
	b.JumpIf(bpf.JmpJGE, uint32(n), "trace", "")
	for i, name := range stoppedNative {
		nr, ok := native.Lookup(name)
		if !ok {
			continue
		}
		next := fmt.Sprintf("n%d", i)
		b.JumpIf(bpf.JmpJEQ, uint32(nr), "trace", next)
		b.Label(next)
	}
	b.Ret(bpf.RetAllow)
	b.Label("trace")
	b.Ret(bpf.RetTrace)
	return b.Program()
}
