package arch

import (
	"strings"

	"github.com/syscage/syscage/bpf"
)

// x32Bit is __X32_SYSCALL_BIT (arch/x86/include/uapi/asm/unistd.h).
const x32Bit = 0x40000000

// Names returns a bpf.Namer over every known architecture, for listings
// and assembly. AUDIT_ARCH values are named as audit.h names them without
// the AUDIT_ prefix ("ARCH_X86_64"). Under AUDIT_ARCH_X86_64, numbers with
// __X32_SYSCALL_BIT set are named from the x32 table and the rest from the
// x86_64 table, as the kernel dispatches them (arch/x86/entry/
// syscall_64.c: do_syscall_64 tries the x32 table only with the bit set).
func Names() bpf.Namer { return namer{} }

type namer struct{}

func (namer) AuditArchName(v uint32) (string, bool) {
	as := ByAuditArch(v)
	if len(as) == 0 {
		return "", false
	}
	return as[0].auditName, true
}

func (namer) AuditArchValue(name string) (uint32, bool) {
	n := strings.ToUpper(strings.TrimPrefix(strings.ToUpper(name), "AUDIT_"))
	for _, a := range all {
		if a.auditName == n {
			return a.AuditArch, true
		}
	}
	return 0, false
}

func (namer) SyscallName(auditArch uint32, nr uint32) (string, bool) {
	a := tableFor(auditArch, nr)
	if a == nil {
		return "", false
	}
	return a.SyscallName(int(nr))
}

// SyscallNumber resolves a name under an AUDIT_ARCH value. For
// AUDIT_ARCH_X86_64 it answers with the x86_64 number; ask the "x32" Arch
// for x32 numbers.
func (namer) SyscallNumber(auditArch uint32, name string) (uint32, bool) {
	for _, a := range ByAuditArch(auditArch) {
		if nr, ok := a.Lookup(name); ok {
			return uint32(nr), true
		}
	}
	return 0, false
}

// tableFor picks the arch whose table names nr under auditArch.
func tableFor(auditArch, nr uint32) *Arch {
	as := ByAuditArch(auditArch)
	switch len(as) {
	case 0:
		return nil
	case 1:
		return as[0]
	}
	for _, a := range as {
		if (a.NrBase == x32Bit) == (nr&x32Bit != 0) {
			return a
		}
	}
	return as[0]
}
