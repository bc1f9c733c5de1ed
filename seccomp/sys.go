package seccomp

import (
	"errors"
	"os"
	"strings"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Operations of seccomp(2), include/uapi/linux/seccomp.h.
const (
	opSetModeStrict  = unix.SECCOMP_SET_MODE_STRICT
	opSetModeFilter  = unix.SECCOMP_SET_MODE_FILTER
	opGetActionAvail = unix.SECCOMP_GET_ACTION_AVAIL
	opGetNotifSizes  = unix.SECCOMP_GET_NOTIF_SIZES
)

// seccompCall is the raw seccomp(op, flags, args) system call. It returns
// the kernel's non-negative result (a listener fd or a thread id for some
// SET_MODE_FILTER calls) or the errno.
func seccompCall(op, flags uintptr, args unsafe.Pointer) (uintptr, error) {
	r, _, errno := unix.Syscall(unix.SYS_SECCOMP, op, flags, uintptr(args))
	if errno != 0 {
		return 0, errno
	}
	return r, nil
}

// Sysctl files of kernel/seccomp.c (seccomp_sysctl_table) and of the BPF
// JIT (net/core/sysctl_net_core.c). Variables so tests can point them at
// fixtures.
var (
	actionsAvailPath  = "/proc/sys/kernel/seccomp/actions_avail"
	actionsLoggedPath = "/proc/sys/kernel/seccomp/actions_logged"
	jitEnablePath     = "/proc/sys/net/core/bpf_jit_enable"
	jitHardenPath     = "/proc/sys/net/core/bpf_jit_harden"
	jitKallsymsPath   = "/proc/sys/net/core/bpf_jit_kallsyms"
	procRoot          = "/proc"
)

// readTrimmed reads a small /proc file and strips the trailing newline.
func readTrimmed(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	return strings.TrimRight(string(b), "\n"), nil
}

// isNotExist reports whether err means a file or process is gone.
func isNotExist(err error) bool {
	return errors.Is(err, os.ErrNotExist) || errors.Is(err, unix.ESRCH)
}
