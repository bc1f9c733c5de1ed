package differential

import (
	"github.com/syscage/syscage/arch"
	"github.com/syscage/syscage/policy"
)

// auditArchX86_64 is AUDIT_ARCH_X86_64, which x86_64 and x32 share.
var auditArchX86_64 = mustArch("x86_64").AuditArch

func mustArch(name string) *arch.Arch {
	a, err := arch.ByName(name)
	if err != nil {
		panic(err)
	}
	return a
}

// Libseccomp lists the intended differences between syscage and
// libseccomp 2.5 for policies given to both (peer.Libseccomp's
// translation). Each was found by these tests and is checked by them:
// the report counts the inputs each rule covers and how many of those
// libseccomp really decided otherwise.
var Libseccomp = []Difference{
	{
		Name: "int-upper-half",
		Why: "On 64-bit ABIs libseccomp compares all 64 bits of every argument; the kernel reads an int " +
			"argument from the low 32 bits of its register, and syscage compares only those (policy semantics " +
			"§4). Covered: inputs with a non-zero upper half in an int argument that a rule of the syscall compares.",
		Covers: func(f *Facts, in policy.Input) bool {
			a := f.Arch(in)
			if a == nil || a.Bits != 64 {
				return false
			}
			for i, v := range in.Args {
				if v>>32 != 0 && f.ComparedAt(in, i, 32) {
					return true
				}
			}
			return false
		},
	},
	{
		Name: "x32-long-args",
		Why: "libseccomp treats x32 as a 32-bit ABI and compares only the low 32 bits of arguments and " +
			"constants; x32 syscalls run the 64-bit entry points on whole registers, so syscage compares " +
			"long and pointer arguments in full. Covered: x32 inputs of a syscall whose rules compare a " +
			"64-bit argument.",
		Covers: func(f *Facts, in policy.Input) bool {
			a := f.Arch(in)
			if a == nil || a.Name != "x32" {
				return false
			}
			for i := range in.Args {
				if f.ComparedAt(in, i, 64) {
					return true
				}
			}
			return false
		},
	},
	{
		Name: "x86-high-numbers",
		Why: "Under AUDIT_ARCH_X86_64 libseccomp takes every number from 0x40000000 up as x32, except -1, " +
			"which it sends through the x86_64 rules; syscage reads bit 30 alone, so 0x80000000..0xbfffffff " +
			"are x86_64 numbers it does not know and -1 is an x32 number. The kernel runs none of these " +
			"numbers (arch/x86/entry/common.c: do_syscall_64 returns ENOSYS). Covered: inputs under " +
			"AUDIT_ARCH_X86_64 with the number's top bit set.",
		Covers: func(f *Facts, in policy.Input) bool {
			return in.AuditArch == auditArchX86_64 && in.Nr&0x80000000 != 0
		},
	},
}
