package seccomp

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
)

// CacheEntry is one line of /proc/PID/seccomp_cache: whether the kernel
// allows syscall Nr of Arch from its constant-action bitmap.
type CacheEntry struct {
	Arch    string `json:"arch"` // the kernel's name, e.g. "x86_64", "ia32"
	Nr      int    `json:"nr"`
	Allowed bool   `json:"allowed"` // ALLOW: served from the bitmap; FILTER: BPF runs
}

// ParseCache parses the text of /proc/PID/seccomp_cache, lines of "ARCH
// NR ALLOW|FILTER" (kernel/seccomp.c: proc_pid_seccomp_cache_arch).
func ParseCache(data []byte) ([]CacheEntry, error) {
	var out []CacheEntry
	for n, line := range bytes.Split(data, []byte("\n")) {
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		f := bytes.Fields(line)
		if len(f) != 3 {
			return nil, fmt.Errorf("seccomp_cache line %d: %q: want \"ARCH NR ALLOW|FILTER\"", n+1, line)
		}
		nr, err := strconv.Atoi(string(f[1]))
		if err != nil || nr < 0 {
			return nil, fmt.Errorf("seccomp_cache line %d: syscall number %q is not a non-negative decimal", n+1, f[1])
		}
		e := CacheEntry{Arch: string(f[0]), Nr: nr}
		switch string(f[2]) {
		case "ALLOW":
			e.Allowed = true
		case "FILTER":
		default:
			return nil, fmt.Errorf("seccomp_cache line %d: state %q is neither ALLOW nor FILTER", n+1, f[2])
		}
		out = append(out, e)
	}
	return out, nil
}

// ReadCache reads the constant-action cache of process pid. The file
// exists only in kernels built with CONFIG_SECCOMP_CACHE_DEBUG and needs
// CAP_SYS_ADMIN; a process without filters has an empty cache.
func ReadCache(pid int) ([]CacheEntry, error) {
	const op = "read the seccomp cache"
	dir := filepath.Join(procRoot, strconv.Itoa(pid))
	data, err := os.ReadFile(filepath.Join(dir, "seccomp_cache"))
	if err != nil {
		switch {
		case isNotExist(err):
			if _, serr := os.Stat(dir); serr != nil {
				return nil, noProcess(op, pid)
			}
			return nil, &Error{Op: op, PID: pid, Err: kindedErrno(ErrUnsupported, err, "/proc/PID/seccomp_cache needs a kernel built with CONFIG_SECCOMP_CACHE_DEBUG")}
		case errors.Is(err, os.ErrPermission):
			return nil, &Error{Op: op, PID: pid, Err: kindedErrno(ErrPermission, err, "reading it needs CAP_SYS_ADMIN"), Fix: "run as root"}
		}
		return nil, &Error{Op: op, PID: pid, Err: err}
	}
	entries, err := ParseCache(data)
	if err != nil {
		return nil, &Error{Op: op, PID: pid, Err: err}
	}
	return entries, nil
}
