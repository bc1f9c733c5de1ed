package seccomp

import (
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

func TestCacheSupport(t *testing.T) {
	cases := []struct {
		release, machine string
		arch             uint32
		applies          bool
		reason           string
	}{
		{"6.18.44-fc-v657", "x86_64", unix.AUDIT_ARCH_X86_64, true, "native"},
		{"5.11.0", "x86_64", unix.AUDIT_ARCH_I386, true, "compat"},
		{"5.10.200", "x86_64", unix.AUDIT_ARCH_X86_64, false, "predates"},
		{"4.19.0", "aarch64", unix.AUDIT_ARCH_AARCH64, false, "predates"},
		{"6.1.0", "aarch64", unix.AUDIT_ARCH_AARCH64, true, "native"},
		{"6.1.0", "mips64", unix.AUDIT_ARCH_MIPS64, false, "no SECCOMP_ARCH_NATIVE"},
		{"6.1.0", "riscv64", unix.AUDIT_ARCH_X86_64, false, "caches only"},
		{"6", "x86_64", unix.AUDIT_ARCH_X86_64, false, "cannot read"},
		{"x.y", "x86_64", unix.AUDIT_ARCH_X86_64, false, "cannot read"},
	}
	for _, c := range cases {
		got := cacheSupport(c.release, c.machine, c.arch)
		if got.Applies != c.applies || !strings.Contains(got.Reason, c.reason) {
			t.Errorf("%s %s %#x: %+v, want applies=%v and a reason with %q", c.release, c.machine, c.arch, got, c.applies, c.reason)
		}
	}
}
