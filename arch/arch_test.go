package arch

import (
	"strings"
	"testing"
)

func mustArch(t *testing.T, name string) *Arch {
	t.Helper()
	a, err := ByName(name)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// Known numbers, from the kernel's syscall tables (arch/*/syscall*.tbl,
// include/uapi/asm-generic/unistd.h) as filters see them.
func TestKnownNumbers(t *testing.T) {
	tests := []struct {
		arch, name string
		nr         int
	}{
		{"x86_64", "read", 0},
		{"x86_64", "write", 1},
		{"x86_64", "openat", 257},
		{"x86_64", "newfstatat", 262},
		{"x86_64", "seccomp", 317},
		{"i386", "socketcall", 102},
		{"i386", "open", 5},
		{"i386", "_llseek", 140},
		{"i386", "_newselect", 142},
		{"i386", "fadvise64_64", 272},
		{"x32", "read", 0x40000000},
		{"x32", "readv", 0x40000000 + 515},
		{"x32", "rt_sigaction", 0x40000000 + 512},
		{"x32", "openat", 0x40000000 + 257},
		{"aarch64", "openat", 56},
		{"aarch64", "newfstatat", 79},
		{"arm", "openat", 322},
		{"arm", "cacheflush", 0x0f0002},
		{"arm", "arm_fadvise64_64", 270},
		{"riscv64", "openat", 56},
		{"s390x", "socketcall", 102},
		{"s390x", "read", 3},
		{"ppc64le", "read", 3},
		{"ppc64", "openat", 286},
		{"mips", "read", 4003},
		{"mips", "syscall", 4000},
		{"mipsel", "read", 4003},
		{"mips64", "read", 5000},
		{"mips64el", "write", 5001},
		{"loongarch64", "openat", 56},
	}
	for _, tt := range tests {
		a := mustArch(t, tt.arch)
		nr, ok := a.Lookup(tt.name)
		if !ok || nr != tt.nr {
			t.Errorf("%s.Lookup(%q) = %d, %v; want %d", tt.arch, tt.name, nr, ok, tt.nr)
		}
		name, ok := a.SyscallName(tt.nr)
		if !ok || name != tt.name {
			t.Errorf("%s.SyscallName(%d) = %q, %v; want %q", tt.arch, tt.nr, name, ok, tt.name)
		}
	}
}

func TestAbsentSyscalls(t *testing.T) {
	tests := []struct{ arch, name string }{
		{"aarch64", "open"},
		{"riscv64", "fork"},
		{"x32", "uselib"},
		{"x32", "map_shadow_stack"},
		{"x86_64", "socketcall"},
	}
	for _, tt := range tests {
		if nr, ok := mustArch(t, tt.arch).Lookup(tt.name); ok {
			t.Errorf("%s has %s = %d; the kernel's table does not", tt.arch, tt.name, nr)
		}
	}
	_, err := mustArch(t, "aarch64").Resolve("open")
	if err == nil || !strings.Contains(err.Error(), "openat") {
		t.Errorf("aarch64 Resolve(open) error %v does not suggest openat", err)
	}
}
