package record

import (
	"fmt"
	"strings"
	"testing"

	"github.com/syscage/syscage/arch"
)

// TestSymbols checks how captured values are written in a profile.
func TestSymbols(t *testing.T) {
	needX86(t)
	a := arch.Native()
	cases := []struct {
		syscall string
		param   string
		value   uint64
		tuple   [6]uint64
		want    string
	}{
		{"socket", "family", 1, [6]uint64{}, "AF_UNIX"},
		{"socket", "family", 16, [6]uint64{}, "AF_NETLINK"},
		{"socket", "type", 1 | 0x80000, [6]uint64{}, "SOCK_STREAM|SOCK_CLOEXEC"},
		{"socket", "type", 2 | 0x800, [6]uint64{}, "SOCK_DGRAM|SOCK_NONBLOCK"},
		{"socket", "protocol", 6, [6]uint64{2}, "IPPROTO_TCP"},
		{"socket", "protocol", 0, [6]uint64{2}, "0"},
		{"socket", "protocol", 6, [6]uint64{1}, "6"}, // not an IP protocol for AF_UNIX
		{"setsockopt", "level", 1, [6]uint64{}, "SOL_SOCKET"},
		{"setsockopt", "optname", 2, [6]uint64{0, 1}, "SO_REUSEADDR"},
		{"setsockopt", "optname", 1, [6]uint64{0, 6}, "TCP_NODELAY"},
		{"ioctl", "cmd", 0x5401, [6]uint64{}, "TCGETS"},
		{"ioctl", "cmd", 0x541b, [6]uint64{}, "FIONREAD"},
		{"prctl", "option", 15, [6]uint64{}, "PR_SET_NAME"},
		{"prctl", "option", 1, [6]uint64{}, "PR_SET_PDEATHSIG"},
		{"prctl", "option", 38, [6]uint64{}, "PR_SET_NO_NEW_PRIVS"},
		{"fcntl", "cmd", 5, [6]uint64{}, "F_GETLK"},
		{"fcntl", "cmd", 0, [6]uint64{}, "F_DUPFD"},
		{"fcntl", "cmd", 0x406, [6]uint64{}, "F_DUPFD_CLOEXEC"},
		{"clone", "clone_flags", 0x1200000 | 17, [6]uint64{}, "CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD"}, // bits low to high,
		{"unshare", "unshare_flags", 0x10000000 | 0x20000, [6]uint64{}, "CLONE_NEWNS|CLONE_NEWUSER"},
		{"setns", "flags", 0x40000000, [6]uint64{}, "CLONE_NEWNET"},
		{"personality", "personality", 0xffffffff, [6]uint64{}, "PER_QUERY"},
		{"personality", "personality", 0x0040000, [6]uint64{}, "PER_LINUX|ADDR_NO_RANDOMIZE"},
		{"mmap", "prot", 0, [6]uint64{}, "PROT_NONE"},
		{"mmap", "prot", 5, [6]uint64{}, "PROT_READ|PROT_EXEC"},
		{"mmap", "flags", 0x22, [6]uint64{}, "MAP_PRIVATE|MAP_ANONYMOUS"},
		{"mmap", "flags", 0x812, [6]uint64{}, "MAP_PRIVATE|MAP_FIXED|MAP_DENYWRITE"},
		{"kill", "sig", 0, [6]uint64{}, "0"},
		{"kill", "sig", 17, [6]uint64{}, "SIGCHLD"},
		{"tgkill", "sig", 6, [6]uint64{}, "SIGABRT"},
		{"tgkill", "sig", 33, [6]uint64{}, "33"},
		{"madvise", "behavior", 4, [6]uint64{}, "MADV_DONTNEED"},
		{"futex", "op", 128, [6]uint64{}, "FUTEX_WAIT|FUTEX_PRIVATE_FLAG"},
		{"futex", "op", 9 | 256, [6]uint64{}, "FUTEX_WAIT_BITSET|FUTEX_CLOCK_REALTIME"},
		{"arch_prctl", "option", 0x1002, [6]uint64{}, "0x1002"},
	}
	for _, tc := range cases {
		spec, ok := specs()[tc.syscall]
		if !ok {
			t.Fatalf("no spec for %s", tc.syscall)
		}
		i := -1
		for k, as := range spec.args {
			if as.param == tc.param {
				i = k
			}
		}
		if i < 0 {
			t.Fatalf("%s has no captured argument %s", tc.syscall, tc.param)
		}
		got := strings.Join(spec.args[i].sym(a, tc.value, tc.tuple), "|")
		if got != tc.want {
			t.Errorf("%s %s %#x: %s, want %s", tc.syscall, tc.param, tc.value, got, tc.want)
		}
		// Whatever the names, they must mean the value.
		var v uint64
		for _, term := range strings.Split(got, "|") {
			if n, ok := a.Constant(term); ok {
				v |= n
			} else {
				v |= parseNum(t, term)
			}
		}
		if v != tc.value {
			t.Errorf("%s %s: %s means %#x, not %#x", tc.syscall, tc.param, got, v, tc.value)
		}
	}
}

func parseNum(t *testing.T, s string) uint64 {
	t.Helper()
	var v uint64
	var err error
	if strings.HasPrefix(s, "0x") {
		_, err = fmtSscanf(s[2:], "%x", &v)
	} else {
		_, err = fmtSscanf(s, "%d", &v)
	}
	if err != nil {
		t.Fatalf("%q is neither a constant nor a number", s)
	}
	return v
}

// TestArgSlots checks that arguments are found by name on each arch,
// where signatures differ.
func TestArgSlots(t *testing.T) {
	cases := []struct {
		arch, syscall string
		want          []int
	}{
		{"x86_64", "socket", []int{0, 1, 2}},
		{"x86_64", "ioctl", []int{1}},
		{"x86_64", "mmap", []int{2, 3}},
		{"i386", "mmap", nil}, // old_mmap takes a pointer to its arguments
		{"i386", "mmap2", []int{2, 3}},
		{"x86_64", "clone", []int{0}},
		{"x86_64", "read", nil},
		{"x86_64", "setsockopt", []int{1, 2}},
	}
	for _, tc := range cases {
		a, err := arch.ByName(tc.arch)
		if err != nil {
			t.Fatal(err)
		}
		got := argSlots(a, tc.syscall)
		if len(got) != len(tc.want) {
			t.Errorf("%s %s: slots %v, want %v", tc.arch, tc.syscall, got, tc.want)
			continue
		}
		for i := range got {
			if got[i] != tc.want[i] {
				t.Errorf("%s %s: slots %v, want %v", tc.arch, tc.syscall, got, tc.want)
			}
		}
	}
}

var fmtSscanf = fmt.Sscanf
