package arch

import (
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
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

func TestTablesAreConsistent(t *testing.T) {
	for _, a := range All() {
		list := a.Syscalls()
		if len(list) < 250 {
			t.Errorf("%s: only %d syscalls", a, len(list))
		}
		for i, s := range list {
			if i > 0 && list[i-1].Nr >= s.Nr {
				t.Errorf("%s: table not strictly sorted at %s (%d)", a, s.Name, s.Nr)
			}
			if uint32(s.Nr) < a.NrBase {
				t.Errorf("%s: %s = %d is below NrBase %d", a, s.Name, s.Nr, a.NrBase)
			}
			if nr, ok := a.Lookup(s.Name); !ok || nr != s.Nr {
				t.Errorf("%s: Lookup(%q) = %d, %v; want %d", a, s.Name, nr, ok, s.Nr)
			}
			if n, ok := a.SyscallName(s.Nr); !ok || n != s.Name {
				t.Errorf("%s: SyscallName(%d) = %q; want %q", a, s.Nr, n, s.Name)
			}
			for _, in := range []string{s.Name, strconv.Itoa(s.Nr), fmt.Sprintf("%#x", s.Nr)} {
				if got, err := a.Resolve(in); err != nil || got != s {
					t.Errorf("%s: Resolve(%q) = %+v, %v; want %+v", a, in, got, err, s)
				}
			}
		}
		if got, want := a.MaxNr(), list[len(list)-1].Nr; got != want {
			t.Errorf("%s: MaxNr = %d, want %d", a, got, want)
		}
	}
}

func TestResolveErrors(t *testing.T) {
	x86 := mustArch(t, "x86_64")
	tests := []struct {
		in   string
		want []string // substrings of the error
	}{
		{"", []string{"empty"}},
		{"raed", []string{`"raed"`, `"read"`}},
		{"opnat", []string{`"openat"`}},
		{"socketcall", []string{"not on x86_64", "i386"}},
		{"0x1ffffffff", []string{"32-bit"}},
		{"12abc", []string{"number"}},
		{"zzzzzzzzzzzz", []string{`unknown syscall "zzzzzzzzzzzz" for x86_64`}},
	}
	for _, tt := range tests {
		_, err := x86.Resolve(tt.in)
		if err == nil {
			t.Errorf("Resolve(%q) succeeded", tt.in)
			continue
		}
		for _, w := range tt.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("Resolve(%q) error %q lacks %q", tt.in, err, w)
			}
		}
	}
	// Numbers without a syscall resolve to an empty name: filters may
	// meet them.
	s, err := x86.Resolve("999")
	if err != nil || s.Nr != 999 || s.Name != "" {
		t.Errorf("Resolve(999) = %+v, %v", s, err)
	}
	// Case is forgiven.
	if s, err := x86.Resolve("OPENAT"); err != nil || s.Name != "openat" {
		t.Errorf("Resolve(OPENAT) = %+v, %v", s, err)
	}
}

func TestByName(t *testing.T) {
	tests := map[string]string{
		"x86_64": "x86_64", "amd64": "x86_64", "AMD64": "x86_64", "SCMP_ARCH_X86_64": "x86_64",
		"386": "i386", "x86": "i386", "SCMP_ARCH_X86": "i386", "x32": "x32", "SCMP_ARCH_X32": "x32",
		"arm64": "aarch64", "SCMP_ARCH_AARCH64": "aarch64", "arm": "arm",
		"riscv64": "riscv64", "s390x": "s390x", "ppc64le": "ppc64le", "SCMP_ARCH_PPC64": "ppc64",
		"mips": "mips", "mipsle": "mipsel", "mips64": "mips64", "mips64le": "mips64el",
		"SCMP_ARCH_MIPSEL64": "mips64el", "loong64": "loongarch64", "SCMP_ARCH_LOONGARCH64": "loongarch64",
		" x86_64 ": "x86_64",
	}
	for in, want := range tests {
		a, err := ByName(in)
		if err != nil || a.Name != want {
			t.Errorf("ByName(%q) = %v, %v; want %s", in, a, err, want)
		}
	}
	_, err := ByName("aarch46")
	if err == nil || !strings.Contains(err.Error(), `"aarch64"`) || !strings.Contains(err.Error(), "loongarch64") {
		t.Errorf("ByName(aarch46) error %v: want a suggestion and the valid names", err)
	}
	seen := map[string]bool{}
	for _, a := range All() {
		for _, n := range append([]string{a.Name}, a.Aliases...) {
			if seen[strings.ToLower(n)] {
				t.Errorf("name %q used twice", n)
			}
			seen[strings.ToLower(n)] = true
		}
	}
}

// The AUDIT_ARCH values are written by hand from audit.h; x/sys carries the
// same constants, generated from the kernel headers.
func TestAuditArch(t *testing.T) {
	want := map[string]uint32{
		"x86_64": unix.AUDIT_ARCH_X86_64, "i386": unix.AUDIT_ARCH_I386, "x32": unix.AUDIT_ARCH_X86_64,
		"aarch64": unix.AUDIT_ARCH_AARCH64, "arm": unix.AUDIT_ARCH_ARM, "riscv64": unix.AUDIT_ARCH_RISCV64,
		"s390x": unix.AUDIT_ARCH_S390X, "ppc64le": unix.AUDIT_ARCH_PPC64LE, "ppc64": unix.AUDIT_ARCH_PPC64,
		"mips": unix.AUDIT_ARCH_MIPS, "mipsel": unix.AUDIT_ARCH_MIPSEL, "mips64": unix.AUDIT_ARCH_MIPS64,
		"mips64el": unix.AUDIT_ARCH_MIPSEL64, "loongarch64": unix.AUDIT_ARCH_LOONGARCH64,
	}
	for _, a := range All() {
		if a.AuditArch != want[a.Name] {
			t.Errorf("%s: AuditArch %#x, want %#x", a, a.AuditArch, want[a.Name])
		}
		// Byte order and width are encoded in the value itself.
		if be := a.AuditArch&auditArchLE == 0; be != a.BigEndian {
			t.Errorf("%s: BigEndian %v disagrees with AUDIT_ARCH %#x", a, a.BigEndian, a.AuditArch)
		}
		if wide := a.AuditArch&auditArch64 != 0; wide != (a.Bits == 64) {
			t.Errorf("%s: Bits %d disagrees with AUDIT_ARCH %#x", a, a.Bits, a.AuditArch)
		}
		got := ByAuditArch(a.AuditArch)
		if len(got) == 0 || (got[0] != a && a.Name != "x32") {
			t.Errorf("ByAuditArch(%#x) = %v", a.AuditArch, got)
		}
	}
	if got := ByAuditArch(unix.AUDIT_ARCH_X86_64); len(got) != 2 || got[0].Name != "x86_64" || got[1].Name != "x32" {
		t.Errorf("ByAuditArch(X86_64) = %v, want [x86_64 x32]", got)
	}
	if got := ByAuditArch(0x1234); len(got) != 0 {
		t.Errorf("ByAuditArch(0x1234) = %v", got)
	}
}

func TestNative(t *testing.T) {
	a := Native()
	if a == nil {
		t.Skipf("GOARCH %s has no table", runtime.GOARCH)
	}
	if a.Name != goarchNames[runtime.GOARCH] {
		t.Errorf("Native() = %s on %s", a, runtime.GOARCH)
	}
	// The native table must agree with the syscall numbers Go itself
	// uses on this machine.
	for name, nr := range map[string]int{"read": unix.SYS_READ, "openat": unix.SYS_OPENAT, "seccomp": unix.SYS_SECCOMP, "clone3": unix.SYS_CLONE3} {
		if got, ok := a.Lookup(name); !ok || got != nr {
			t.Errorf("native %s = %d, %v; unix.SYS_ says %d", name, got, ok, nr)
		}
	}
}

func TestNamer(t *testing.T) {
	n := Names()
	tests := []struct {
		audit uint32
		nr    uint32
		name  string
	}{
		{unix.AUDIT_ARCH_X86_64, 0, "read"},
		{unix.AUDIT_ARCH_X86_64, 19, "readv"},
		{unix.AUDIT_ARCH_X86_64, 0x40000000 | 515, "readv"},
		{unix.AUDIT_ARCH_X86_64, 0x40000000 | 257, "openat"},
		{unix.AUDIT_ARCH_I386, 102, "socketcall"},
		{unix.AUDIT_ARCH_AARCH64, 56, "openat"},
		{unix.AUDIT_ARCH_MIPS, 4003, "read"},
		{unix.AUDIT_ARCH_MIPSEL64, 5000, "read"},
	}
	for _, tt := range tests {
		if got, ok := n.SyscallName(tt.audit, tt.nr); !ok || got != tt.name {
			t.Errorf("SyscallName(%#x, %#x) = %q, %v; want %q", tt.audit, tt.nr, got, ok, tt.name)
		}
	}
	// x32's rt_sigaction has no x86_64 meaning at 512 without the bit.
	if got, ok := n.SyscallName(unix.AUDIT_ARCH_X86_64, 512); ok {
		t.Errorf("SyscallName(X86_64, 512) = %q; x86_64 has no 512", got)
	}
	if _, ok := n.SyscallName(0x1234, 0); ok {
		t.Error("unknown AUDIT_ARCH named a syscall")
	}
	if nr, ok := n.SyscallNumber(unix.AUDIT_ARCH_X86_64, "openat"); !ok || nr != 257 {
		t.Errorf("SyscallNumber(X86_64, openat) = %d, %v", nr, ok)
	}
	for _, a := range All() {
		name, ok := n.AuditArchName(a.AuditArch)
		if !ok || "AUDIT_"+name == "" || !strings.HasPrefix(name, "ARCH_") {
			t.Errorf("AuditArchName(%#x) = %q, %v", a.AuditArch, name, ok)
		}
		if v, ok := n.AuditArchValue(name); !ok || v != a.AuditArch {
			t.Errorf("AuditArchValue(%q) = %#x, %v; want %#x", name, v, ok, a.AuditArch)
		}
		if v, ok := n.AuditArchValue("AUDIT_" + name); !ok || v != a.AuditArch {
			t.Errorf("AuditArchValue(AUDIT_%s) = %#x, %v", name, v, ok)
		}
	}
	if name, _ := n.AuditArchName(unix.AUDIT_ARCH_X86_64); name != "ARCH_X86_64" {
		t.Errorf("AuditArchName(X86_64) = %q", name)
	}
	if _, ok := n.AuditArchValue("ARCH_VAX"); ok {
		t.Error("AuditArchValue(ARCH_VAX) succeeded")
	}
}

// TestLookupBeforeMaps: the answers Lookup gives by scanning the table,
// before the maps exist, are the maps' answers, for every name of every
// architecture and for names no table has; and the maps take over once
// the scans are used up.
func TestLookupBeforeMaps(t *testing.T) {
	unknown := []string{"", "no_such_syscall", "READ", "read "}
	for _, a := range All() {
		fresh := *a
		fresh.index = &index{}
		names := append(a.SyscallNames(), unknown...)
		for i, name := range names {
			wantNr, wantOK := a.maps().byName[name]
			gotNr, gotOK := fresh.Lookup(name)
			if gotNr != wantNr || gotOK != wantOK {
				t.Errorf("%s: lookup %d of %q = %d, %v; the map says %d, %v", a, i+1, name, gotNr, gotOK, wantNr, wantOK)
			}
		}
		if len(names) > linearLookups && !fresh.index.built.Load() {
			t.Errorf("%s: %d lookups and the maps are still not built", a, len(names))
		}
	}
}
