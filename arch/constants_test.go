package arch

import (
	"strings"
	"testing"
)

// Values from the uapi headers of each architecture (include/uapi/...,
// arch/*/include/uapi/asm/...), cited per family.
func TestConstants(t *testing.T) {
	tests := []struct {
		arch, name string
		want       uint64
	}{
		// linux/socket.h, asm/socket.h (mips swaps SOCK_STREAM and SOCK_DGRAM)
		{"x86_64", "AF_INET", 2},
		{"x86_64", "AF_UNIX", 1},
		{"x86_64", "AF_NETLINK", 16},
		{"x86_64", "SOCK_STREAM", 1},
		{"mips", "SOCK_STREAM", 2},
		{"mips64el", "SOCK_DGRAM", 1},
		{"x86_64", "SOCK_CLOEXEC", 0x80000},
		// asm-generic/fcntl.h and the arch overrides
		{"x86_64", "O_RDONLY", 0},
		{"x86_64", "O_WRONLY", 1},
		{"x86_64", "O_CREAT", 0x40},
		{"mips", "O_CREAT", 0x100},
		{"x86_64", "O_NONBLOCK", 0x800},
		{"mips", "O_NONBLOCK", 0x80},
		{"aarch64", "O_DIRECTORY", 0x4000},
		{"x86_64", "O_DIRECTORY", 0x10000},
		{"x86_64", "O_CLOEXEC", 0x80000},
		{"x86_64", "AT_FDCWD", 0xffffffffffffff9c}, // -100, sign-extended
		{"x86_64", "F_GETFL", 3},
		{"x86_64", "F_SETFD", 2},
		{"x86_64", "FD_CLOEXEC", 1},
		// linux/sched.h
		{"x86_64", "CLONE_NEWUSER", 0x10000000},
		{"s390x", "CLONE_NEWNS", 0x20000},
		{"x86_64", "CLONE_THREAD", 0x10000},
		// asm-generic/mman-common.h, mips/asm/mman.h
		{"x86_64", "PROT_EXEC", 4},
		{"x86_64", "PROT_WRITE", 2},
		{"x86_64", "MAP_SHARED", 1},
		{"x86_64", "MAP_ANONYMOUS", 0x20},
		{"mips", "MAP_ANONYMOUS", 0x800},
		{"ppc64le", "MAP_ANONYMOUS", 0x20},
		{"x86_64", "MADV_DONTNEED", 4},
		// linux/prctl.h
		{"x86_64", "PR_SET_NO_NEW_PRIVS", 38},
		{"aarch64", "PR_SET_SECCOMP", 22},
		// asm-generic/ioctls.h, powerpc and mips overrides
		{"x86_64", "TCGETS", 0x5401},
		{"mips", "TCGETS", 0x540d},
		{"ppc64le", "TCGETS", 0x402c7413},
		{"x86_64", "TIOCSTI", 0x5412},
		{"x86_64", "FIONREAD", 0x541b},
		{"mips", "FIONREAD", 0x467f},
		{"x86_64", "SIOCGIFCONF", 0x8912},
		// linux/personality.h
		{"x86_64", "PER_LINUX", 0},
		{"arm", "PER_LINUX32", 8},
		{"x86_64", "ADDR_NO_RANDOMIZE", 0x40000},
		{"x86_64", "READ_IMPLIES_EXEC", 0x400000},
		{"x86_64", "PER_QUERY", 0xffffffff},
		// asm/signal.h
		{"x86_64", "SIGKILL", 9},
		{"x86_64", "SIGUSR1", 10},
		{"mips", "SIGUSR1", 16},
		{"x86_64", "SIGSYS", 31},
		{"mips", "SIGSYS", 12},
		// errno through Constant
		{"x86_64", "EPERM", 1},
		{"mips", "ENOSYS", 89},
		// linux/seccomp.h, linux/random.h, linux/memfd.h
		{"x86_64", "SECCOMP_SET_MODE_FILTER", 1},
		{"x86_64", "GRND_NONBLOCK", 1},
		{"x86_64", "MFD_CLOEXEC", 1},
		// linux/wait.h
		{"x86_64", "WNOHANG", 1},
		{"x86_64", "IPPROTO_TCP", 6},
		{"x86_64", "SOL_SOCKET", 1},
		{"mips", "SOL_SOCKET", 0xffff},
	}
	for _, tt := range tests {
		got, ok := mustArch(t, tt.arch).Constant(tt.name)
		if !ok || got != tt.want {
			t.Errorf("%s.Constant(%s) = %#x, %v; want %#x", tt.arch, tt.name, got, ok, tt.want)
		}
	}
	for _, name := range []string{"", "NOT_A_CONSTANT", "SYS_READ", "AUDIT_ARCH_X86_64"} {
		if v, ok := mustArch(t, "x86_64").Constant(name); ok {
			t.Errorf("Constant(%q) = %#x; want not found", name, v)
		}
	}
}

func TestConstantNames(t *testing.T) {
	for _, a := range All() {
		names := a.ConstantNames("")
		if len(names) < 1500 {
			t.Errorf("%s: only %d constants", a, len(names))
		}
		for i, n := range names {
			if i > 0 && names[i-1] >= n {
				t.Errorf("%s: ConstantNames not sorted/unique at %q", a, n)
			}
			if _, ok := a.Constant(n); !ok {
				t.Errorf("%s: ConstantNames lists %q but Constant does not know it", a, n)
			}
		}
		for _, n := range a.ConstantNames("CLONE_") {
			if !strings.HasPrefix(n, "CLONE_") {
				t.Errorf("%s: ConstantNames(CLONE_) returned %q", a, n)
			}
		}
		if len(a.ConstantNames("CLONE_NEW")) < 7 {
			t.Errorf("%s: ConstantNames(CLONE_NEW) = %v", a, a.ConstantNames("CLONE_NEW"))
		}
	}
}

func TestErrno(t *testing.T) {
	tests := []struct {
		arch, name string
		nr         int
	}{
		{"x86_64", "EPERM", 1},
		{"x86_64", "ENOENT", 2},
		{"x86_64", "EACCES", 13},
		{"x86_64", "ENOSYS", 38},
		{"aarch64", "ENOSYS", 38},
		{"mips", "ENOSYS", 89},
		{"mips64el", "ENOSYS", 89},
		{"x86_64", "EAGAIN", 11},
		{"x86_64", "EWOULDBLOCK", 11},
		{"ppc64", "EDEADLOCK", 58}, // powerpc/asm/errno.h
		{"x86_64", "EDEADLOCK", 35},
		{"mips", "EDQUOT", 1133},
	}
	for _, tt := range tests {
		a := mustArch(t, tt.arch)
		if got, ok := a.Errno(tt.name); !ok || got != tt.nr {
			t.Errorf("%s.Errno(%s) = %d, %v; want %d", tt.arch, tt.name, got, ok, tt.nr)
		}
	}
	// ErrnoName picks one name per number, and names round-trip.
	if n, _ := mustArch(t, "x86_64").ErrnoName(11); n != "EAGAIN" {
		t.Errorf("ErrnoName(11) = %q, want EAGAIN", n)
	}
	if n, _ := mustArch(t, "mips").ErrnoName(89); n != "ENOSYS" {
		t.Errorf("mips ErrnoName(89) = %q, want ENOSYS", n)
	}
	for _, a := range All() {
		count := 0
		for nr := 1; nr < 1200; nr++ {
			name, ok := a.ErrnoName(nr)
			if !ok {
				continue
			}
			count++
			if back, ok := a.Errno(name); !ok || back != nr {
				t.Errorf("%s: ErrnoName(%d) = %q, but Errno(%q) = %d, %v", a, nr, name, name, back, ok)
			}
		}
		if count < 120 {
			t.Errorf("%s: only %d named errnos", a, count)
		}
		if _, ok := a.ErrnoName(0); ok {
			t.Errorf("%s: errno 0 has a name", a)
		}
	}
}
