package profiles

import (
	"testing"

	"github.com/syscage/syscage/arch"
	"github.com/syscage/syscage/policy"
)

// TestDefaultDenies checks the default profile's promises (docs/profiles.md)
// on x86_64 with policy.Evaluate; TestSweepDefaultProfile in tests/ checks
// that the kernel agrees with Evaluate.
func TestDefaultDenies(t *testing.T) {
	p, err := Get("default")
	if err != nil {
		t.Fatal(err)
	}
	x86, _ := arch.ByName("x86_64")
	const (
		eperm  = 1
		enosys = 38
	)
	decide := func(name string, args ...uint64) policy.Action {
		t.Helper()
		nr, ok := x86.Lookup(name)
		if !ok {
			t.Fatalf("no %s on x86_64", name)
		}
		in := policy.Input{AuditArch: x86.AuditArch, Nr: uint32(nr)}
		copy(in.Args[:], args)
		d, err := policy.Evaluate(p, in, policy.Env{})
		if err != nil {
			t.Fatal(err)
		}
		return d.Action
	}
	denied := []string{
		"mount", "umount2", "fsopen", "fsmount", "fsconfig", "move_mount", "open_tree", "mount_setattr", "fspick",
		"pivot_root", "chroot", "reboot", "kexec_load", "kexec_file_load", "init_module", "finit_module", "delete_module",
		"bpf", "perf_event_open", "ptrace", "process_vm_readv", "process_vm_writev",
		"io_uring_setup", "io_uring_enter", "io_uring_register", "keyctl", "add_key", "request_key", "userfaultfd",
		"swapon", "swapoff", "clock_settime", "settimeofday", "adjtimex", "clock_adjtime",
		"open_by_handle_at", "unshare", "setns",
	}
	for _, name := range denied {
		if a := decide(name); a.Kind != policy.Errno || a.Data != eperm {
			t.Errorf("%s: %v, want errno(EPERM)", name, a)
		}
	}
	if a := decide("clone3"); a.Kind != policy.Errno || a.Data != enosys {
		t.Errorf("clone3: %v, want errno(ENOSYS)", a)
	}
	const sigchld = 17
	for _, ns := range []uint64{0x10000000, 0x00020000, 0x20000000, 0x40000000, 0x04000000, 0x08000000, 0x02000000} {
		if a := decide("clone", ns|sigchld); a.Kind != policy.Errno || a.Data != eperm {
			t.Errorf("clone with namespace flag %#x: %v, want errno(EPERM)", ns, a)
		}
	}
	if a := decide("clone", 0x3d0f00); a.Kind != policy.Allow { // what glibc's pthread_create passes
		t.Errorf("clone for a thread: %v, want allow", a)
	}
	for _, v := range []uint64{0, 8, 0x20000, 0x20008, 0xffffffff, 0xffffffff_00000008} {
		if a := decide("personality", v); a.Kind != policy.Allow {
			t.Errorf("personality(%#x): %v, want allow", v, a)
		}
	}
	for _, v := range []uint64{1, 0x0400000, 0x10008} {
		if a := decide("personality", v); a.Kind != policy.Errno {
			t.Errorf("personality(%#x): %v, want a denial", v, a)
		}
	}
	for _, name := range []string{"read", "write", "openat", "mmap", "mprotect", "execve", "wait4", "socket", "ioctl", "seccomp", "futex", "rt_sigreturn"} {
		if a := decide(name); a.Kind != policy.Allow {
			t.Errorf("%s: %v, want allow", name, a)
		}
	}
	// An unknown number, and the i386 entry.
	d, _ := policy.Evaluate(p, policy.Input{AuditArch: x86.AuditArch, Nr: 1000}, policy.Env{})
	if d.Reason != "unknown" || d.Action.Data != enosys {
		t.Errorf("number 1000: %+v, want errno(ENOSYS) as unknown", d)
	}
	i386, _ := arch.ByName("i386")
	d, _ = policy.Evaluate(p, policy.Input{AuditArch: i386.AuditArch, Nr: 20}, policy.Env{})
	if d.Reason != "badarch" || d.Action.Kind != policy.KillProcess {
		t.Errorf("i386 getpid: %+v, want kill_process as badarch", d)
	}
}
