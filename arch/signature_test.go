package arch

import (
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// kinds renders the kinds of a signature as "int,pointer,long".
func kinds(s Signature) string {
	var k []string
	for _, p := range s.Args {
		k = append(k, p.Kind.String())
	}
	return strings.Join(k, ",")
}

// Expected kinds follow the kernel's SYSCALL_DEFINEn prototypes (file
// named per line); the compiler relies on them to decide how many bits of
// each argument to compare.
func TestSignatureKinds(t *testing.T) {
	tests := []struct{ name, kinds string }{
		{"read", "int,pointer,long"},                    // fs/read_write.c: unsigned int fd, char *buf, size_t count
		{"pread64", "int,pointer,long,u64"},             // fs/read_write.c: loff_t pos
		{"socket", "int,int,int"},                       // net/socket.c: int family, int type, int protocol
		{"mmap", "long,long,long,long,long,long"},       // arch/x86/kernel/sys_x86_64.c: all unsigned long, prot included
		{"mprotect", "long,long,long"},                  // mm/mprotect.c: unsigned long start, size_t len, unsigned long prot
		{"personality", "int"},                          // kernel/exec_domain.c: unsigned int personality
		{"ioctl", "int,int,long"},                       // fs/ioctl.c: unsigned int fd, unsigned int cmd, unsigned long arg
		{"prctl", "int,long,long,long,long"},            // kernel/sys.c: int option, unsigned long arg2..5
		{"clone", "long,long,pointer,pointer,long"},     // kernel/fork.c: unsigned long clone_flags, ...
		{"unshare", "long"},                             // kernel/fork.c: unsigned long unshare_flags
		{"setns", "int,int"},                            // kernel/nsproxy.c: int fd, int flags
		{"capget", "pointer,pointer"},                   // kernel/capability.c: cap_user_header_t, cap_user_data_t
		{"timer_settime", "int,int,pointer,pointer"},    // kernel/time/posix-timers.c: timer_t timer_id, int flags
		{"io_setup", "int,pointer"},                     // fs/aio.c: unsigned nr_events, aio_context_t __user *ctxp
		{"io_destroy", "long"},                          // fs/aio.c: aio_context_t ctx
		{"openat", "int,pointer,int,int"},               // fs/open.c: int dfd, const char *filename, int flags, umode_t mode
		{"kill", "int,int"},                             // kernel/signal.c: pid_t pid, int sig
		{"fcntl", "int,int,long"},                       // fs/fcntl.c
		{"keyctl", "int,long,long,long,long"},           // security/keys/keyctl.c: int option, unsigned long arg2..5
		{"add_key", "pointer,pointer,pointer,long,int"}, // key_serial_t ringid
		{"quotactl", "int,pointer,int,pointer"},         // fs/quota/quota.c: unsigned int cmd, ..., qid_t id
		{"preadv2", "long,pointer,long,long,long,int"},  // fs/read_write.c: unsigned long fd, ..., rwf_t flags
		{"seccomp", "int,int,pointer"},                  // kernel/seccomp.c: unsigned int op, unsigned int flags, void *uargs
		{"getpid", ""},                                  // kernel/sys.c
		{"init_module", "pointer,long,pointer"},         // kernel/module/main.c (hand-written)
		{"socketcall", "int,pointer"},                   // net/socket.c (hand-written)
		{"clock_gettime64", "int,pointer"},              // same prototype as clock_gettime
		{"setuid32", "int"},                             // same as setuid
		{"fadvise64_64", "int,u64,u64,int"},             // mm/fadvise.c
	}
	for _, tt := range tests {
		s, ok := SignatureOf(tt.name)
		if !ok {
			t.Errorf("SignatureOf(%q) missing", tt.name)
			continue
		}
		if s.Name != tt.name {
			t.Errorf("SignatureOf(%q).Name = %q", tt.name, s.Name)
		}
		if got := kinds(s); got != tt.kinds {
			t.Errorf("%s kinds = %s, want %s (%s)", tt.name, got, tt.kinds, s)
		}
	}
	if s, _ := SignatureOf("read"); s.String() != "read(unsigned int fd, char * buf, size_t count)" {
		t.Errorf("String() = %q", s.String())
	}
}

// notImplemented are x86_64 table entries the kernel wires to
// sys_ni_syscall (arch/x86/entry/syscalls/syscall_64.tbl entries with no
// entry point, or sys_ni_syscall), so they have no prototype.
var notImplemented = []string{
	"_sysctl", "afs_syscall", "create_module", "epoll_ctl_old", "epoll_wait_old",
	"get_kernel_syms", "getpmsg", "lookup_dcookie", "nfsservctl", "putpmsg",
	"query_module", "security", "tuxcall", "uselib", "vserver",
}

func TestEveryNativeSyscallHasASignature(t *testing.T) {
	x86 := mustArch(t, "x86_64")
	var missing []string
	for _, s := range x86.Syscalls() {
		if _, ok := SignatureOf(s.Name); !ok {
			missing = append(missing, s.Name)
		}
	}
	sort.Strings(missing)
	if strings.Join(missing, " ") != strings.Join(notImplemented, " ") {
		t.Errorf("x86_64 syscalls without a signature:\n got %v\nwant %v", missing, notImplemented)
	}
	for _, p := range allParams() {
		if p.Kind == KindUnknown || p.Name == "" || p.Type == "" {
			t.Errorf("incomplete parameter %+v", p)
		}
	}
}

func allParams() []Param {
	var out []Param
	for _, e := range signatures {
		out = append(out, e.val...)
	}
	for _, m := range []map[string][]Param{extraSignatures()} {
		for _, args := range m {
			out = append(out, args...)
		}
	}
	for base := range sameAs() {
		if _, ok := SignatureOf(base); !ok {
			out = append(out, Param{Name: base})
		}
	}
	return out
}

func TestArchSignatureExceptions(t *testing.T) {
	tests := []struct {
		arch, name string
		kinds      string // "" with ok false: unknown
		ok         bool
	}{
		{"x86_64", "clone", "long,long,pointer,pointer,long", true},
		{"x86_64", "mmap", "long,long,long,long,long,long", true},
		{"i386", "clone", "long,long,pointer,long,pointer", true}, // CLONE_BACKWARDS: tls before child_tidptr
		{"aarch64", "clone", "long,long,pointer,long,pointer", true},
		{"s390x", "clone", "long,long,pointer,pointer,long", true}, // CLONE_BACKWARDS2: newsp, flags
		{"i386", "mmap", "pointer", true},                          // old_mmap
		{"s390x", "mmap", "pointer", true},
		{"i386", "mmap2", "long,long,long,long,long,long", true},
		{"i386", "pread64", "", false},     // loff_t in two slots
		{"arm", "fadvise64_64", "", false}, // not in arm's table
		{"x32", "pread64", "int,pointer,long,u64", true},
		{"ppc64", "pread64", "int,pointer,long,u64", true},
		{"aarch64", "open", "", false}, // no such syscall here
		{"x86_64", "uselib", "", false},
	}
	for _, tt := range tests {
		s, ok := mustArch(t, tt.arch).Signature(tt.name)
		if ok != tt.ok || kinds(s) != tt.kinds {
			t.Errorf("%s.Signature(%s) = %s, %v; want %s, %v", tt.arch, tt.name, kinds(s), ok, tt.kinds, tt.ok)
		}
	}
	s, _ := mustArch(t, "s390x").Signature("clone")
	if s.Args[1].Name != "clone_flags" {
		t.Errorf("s390x clone args = %s; flags must be second", s)
	}
}

// TestSignaturesMatchRunningKernel compares the committed table with the
// tracefs events of the running kernel, when they can be read. Only
// syscalls both know are compared: kernels differ in which they have.
func TestSignaturesMatchRunningKernel(t *testing.T) {
	if Native() == nil || Native().Name != "x86_64" {
		t.Skip("the table describes x86_64")
	}
	formats, _ := filepath.Glob("/sys/kernel/tracing/events/syscalls/sys_enter_*/format")
	if len(formats) == 0 {
		t.Skip("tracefs syscall events are not readable here (mount tracefs at /sys/kernel/tracing as root)")
	}
	field := regexp.MustCompile(`field:(.+?)\s+([A-Za-z_0-9]+);`)
	rename := map[string]string{"newstat": "stat", "newfstat": "fstat", "newlstat": "lstat", "newuname": "uname", "umount": "umount2", "sendfile64": "sendfile"}
	compared := 0
	for _, f := range formats {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Skipf("reading %s: %v", f, err)
		}
		event := strings.TrimPrefix(filepath.Base(filepath.Dir(f)), "sys_enter_")
		if r, ok := rename[event]; ok {
			event = r
		}
		want, ok := find(signatures, event)
		if !ok {
			continue
		}
		var got []string
		for _, m := range field.FindAllStringSubmatch(string(b), -1) {
			if strings.HasPrefix(m[2], "common_") || m[2] == "__syscall_nr" {
				continue
			}
			got = append(got, strings.TrimSpace(m[1])+" "+m[2])
		}
		var w []string
		for _, p := range want {
			w = append(w, p.Type+" "+p.Name)
		}
		if strings.Join(got, ", ") != strings.Join(w, ", ") {
			t.Errorf("%s: kernel says (%s), table says (%s): rerun internal/gen/siggen", event, strings.Join(got, ", "), strings.Join(w, ", "))
		}
		compared++
	}
	if compared < 300 {
		t.Errorf("compared only %d signatures", compared)
	}
}

func TestKindString(t *testing.T) {
	for k, want := range map[Kind]string{KindUnknown: "unknown", KindInt: "int", KindLong: "long", KindU64: "u64", KindPointer: "pointer", Kind(42): "Kind(42)", Kind(-1): "Kind(-1)"} {
		if got := k.String(); got != want {
			t.Errorf("Kind(%d).String() = %q, want %q", int(k), got, want)
		}
	}
}
