package seccomp

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"unsafe"

	"golang.org/x/sys/unix"
)

// nativeArches maps GOARCH to the AUDIT_ARCH value the kernel puts in
// seccomp_data.arch for this program's system calls
// (include/uapi/linux/audit.h), with the kernel's name for it.
var nativeArches = map[string]struct {
	audit uint32
	name  string
}{
	"386":      {unix.AUDIT_ARCH_I386, "i386"},
	"amd64":    {unix.AUDIT_ARCH_X86_64, "x86_64"},
	"arm":      {unix.AUDIT_ARCH_ARM, "arm"},
	"arm64":    {unix.AUDIT_ARCH_AARCH64, "aarch64"},
	"loong64":  {unix.AUDIT_ARCH_LOONGARCH64, "loongarch64"},
	"mips":     {unix.AUDIT_ARCH_MIPS, "mips"},
	"mipsle":   {unix.AUDIT_ARCH_MIPSEL, "mipsel"},
	"mips64":   {unix.AUDIT_ARCH_MIPS64, "mips64"},
	"mips64le": {unix.AUDIT_ARCH_MIPSEL64, "mips64el"},
	"ppc64":    {unix.AUDIT_ARCH_PPC64, "ppc64"},
	"ppc64le":  {unix.AUDIT_ARCH_PPC64LE, "ppc64le"},
	"riscv64":  {unix.AUDIT_ARCH_RISCV64, "riscv64"},
	"s390x":    {unix.AUDIT_ARCH_S390X, "s390x"},
}

// NativeArch returns the AUDIT_ARCH value this program's system calls
// carry, and its name; 0 and "" for a GOARCH this package does not know.
func NativeArch() (uint32, string) {
	a := nativeArches[runtime.GOARCH]
	return a.audit, a.name
}

// cacheArches lists, by kernel machine (uname -m), the arches whose
// syscalls the constant-action cache covers: the arch's
// SECCOMP_ARCH_NATIVE and, when built with CONFIG_COMPAT, its
// SECCOMP_ARCH_COMPAT (arch/*/include/asm/seccomp.h). MIPS defines
// neither, so no MIPS kernel caches. x32 syscalls on x86_64 carry bit 30
// and are never cached (arch/x86/include/asm/seccomp.h).
var cacheArches = map[string][]uint32{
	"x86_64":      {unix.AUDIT_ARCH_X86_64, unix.AUDIT_ARCH_I386},
	"i386":        {unix.AUDIT_ARCH_I386},
	"i686":        {unix.AUDIT_ARCH_I386},
	"aarch64":     {unix.AUDIT_ARCH_AARCH64, unix.AUDIT_ARCH_ARM},
	"armv7l":      {unix.AUDIT_ARCH_ARM},
	"armv6l":      {unix.AUDIT_ARCH_ARM},
	"s390x":       {unix.AUDIT_ARCH_S390X, unix.AUDIT_ARCH_S390},
	"ppc64":       {unix.AUDIT_ARCH_PPC64, unix.AUDIT_ARCH_PPC},
	"ppc64le":     {unix.AUDIT_ARCH_PPC64LE},
	"riscv64":     {unix.AUDIT_ARCH_RISCV64},
	"loongarch64": {unix.AUDIT_ARCH_LOONGARCH64},
}

// CacheSupport says whether the kernel's constant-action cache (Linux
// 5.11+, kernel/seccomp.c: seccomp_cache_prepare) serves this program's
// syscalls: a syscall whose filter path returns ALLOW without looking at
// the arguments is then allowed from a bitmap without running any BPF.
type CacheSupport struct {
	Applies bool   `json:"applies"`
	Reason  string `json:"reason"`
	// Arches are the AUDIT_ARCH values the running kernel caches.
	Arches []uint32 `json:"arches,omitempty"`
	// DebugFile is true when /proc/PID/seccomp_cache exists
	// (CONFIG_SECCOMP_CACHE_DEBUG), so ReadCache can show the bitmaps.
	DebugFile bool `json:"debug_file"`
}

// cacheSupport decides from the kernel release and machine.
func cacheSupport(release, machine string, arch uint32) CacheSupport {
	var c CacheSupport
	_, err := os.Stat(filepath.Join(procRoot, "self", "seccomp_cache"))
	c.DebugFile = err == nil
	major, minor, ok := parseRelease(release)
	if !ok {
		c.Reason = fmt.Sprintf("cannot read the kernel version from release %q", release)
		return c
	}
	if major < 5 || major == 5 && minor < 11 {
		c.Reason = fmt.Sprintf("Linux %d.%d predates the cache (5.11)", major, minor)
		return c
	}
	c.Arches = cacheArches[machine]
	if len(c.Arches) == 0 {
		c.Reason = fmt.Sprintf("the kernel defines no SECCOMP_ARCH_NATIVE for machine %q", machine)
		return c
	}
	for i, a := range c.Arches {
		if a == arch {
			c.Applies = true
			if i == 0 {
				c.Reason = fmt.Sprintf("Linux %d.%d caches the native arch", major, minor)
			} else {
				c.Reason = fmt.Sprintf("Linux %d.%d caches this compat arch (if built with CONFIG_COMPAT)", major, minor)
			}
			return c
		}
	}
	c.Reason = fmt.Sprintf("the kernel caches only %s, not this program's arch", archList(c.Arches))
	return c
}

// archList names AUDIT_ARCH values for messages.
func archList(as []uint32) string {
	var parts []string
	for _, a := range as {
		parts = append(parts, fmt.Sprintf("%#x", a))
	}
	return strings.Join(parts, ", ")
}

// parseRelease reads "6.18.44-fc-v657" as 6, 18.
func parseRelease(r string) (major, minor int, ok bool) {
	parts := strings.SplitN(r, ".", 3)
	if len(parts) < 2 {
		return 0, 0, false
	}
	major, err1 := strconv.Atoi(parts[0])
	end := strings.IndexFunc(parts[1], func(c rune) bool { return c < '0' || c > '9' })
	if end < 0 {
		end = len(parts[1])
	}
	minor, err2 := strconv.Atoi(parts[1][:end])
	if err1 != nil || err2 != nil {
		return 0, 0, false
	}
	return major, minor, true
}

// NotifSizes is struct seccomp_notif_sizes: the sizes, in bytes, of the
// user-notification structures the running kernel uses. A supervisor
// must size its buffers from these, not from its own headers.
type NotifSizes struct {
	Notif     uint16 `json:"seccomp_notif"`
	NotifResp uint16 `json:"seccomp_notif_resp"`
	Data      uint16 `json:"seccomp_data"`
}

// ProbeNotifSizes asks the kernel with SECCOMP_GET_NOTIF_SIZES (Linux 5.0+).
func ProbeNotifSizes() (NotifSizes, error) {
	var s NotifSizes
	if _, err := seccompCall(opGetNotifSizes, 0, unsafe.Pointer(&s)); err != nil {
		if errors.Is(err, unix.EINVAL) {
			return s, &Error{Op: "read the notification sizes", Err: kindedErrno(ErrUnsupported, err, "SECCOMP_GET_NOTIF_SIZES is unknown to this kernel (Linux 5.0+)")}
		}
		return s, &Error{Op: "read the notification sizes", Err: err}
	}
	return s, nil
}

// JIT is the state of the BPF JIT, which compiles seccomp filters (they
// are converted to eBPF) to machine code when enabled.
type JIT struct {
	// Enable is net.core.bpf_jit_enable: 0 off, 1 on, 2 on with debug
	// output; -1 when unreadable (no CONFIG_BPF_JIT).
	Enable int `json:"enable"`
	// Harden is net.core.bpf_jit_harden: 0 off, 1 constant blinding
	// for unprivileged programs, 2 for all; -1 when unreadable.
	Harden int `json:"harden"`
	// Kallsyms is net.core.bpf_jit_kallsyms; -1 when unreadable.
	Kallsyms int `json:"kallsyms"`
}

// ReadJIT reads the JIT sysctls; missing ones read as -1.
func ReadJIT() JIT {
	read := func(path string) int {
		s, err := readTrimmed(path)
		if err != nil {
			return -1
		}
		v, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil {
			return -1
		}
		return v
	}
	return JIT{Enable: read(jitEnablePath), Harden: read(jitHardenPath), Kallsyms: read(jitKallsymsPath)}
}

// KernelInfo is everything the running kernel says about seccomp. Parts
// that could not be read leave their field empty and an explanation in
// Problems.
type KernelInfo struct {
	Release  string `json:"release"`
	Machine  string `json:"machine"`
	Arch     uint32 `json:"audit_arch"` // AUDIT_ARCH of this program's syscalls
	ArchName string `json:"arch"`
	// Seccomp is true when the kernel has seccomp (CONFIG_SECCOMP);
	// Filter when it has filter mode (CONFIG_SECCOMP_FILTER).
	Seccomp bool `json:"seccomp"`
	Filter  bool `json:"filter"`
	// Mode is this process's own seccomp mode.
	Mode          Mode          `json:"mode"`
	Actions       Actions       `json:"actions"`
	ActionsLogged []string      `json:"actions_logged"`
	Flags         []FlagSupport `json:"flags"`
	NotifSizes    *NotifSizes   `json:"notif_sizes,omitempty"`
	Cache         CacheSupport  `json:"cache"`
	JIT           JIT           `json:"jit"`
	Problems      []string      `json:"problems,omitempty"`
}

// Inspect gathers what the running kernel supports. It installs nothing:
// flags and actions are probed with requests the kernel answers without
// side effects.
func Inspect() *KernelInfo {
	k := &KernelInfo{}
	var u unix.Utsname
	if err := unix.Uname(&u); err == nil {
		k.Release = unix.ByteSliceToString(u.Release[:])
		k.Machine = unix.ByteSliceToString(u.Machine[:])
	} else {
		k.Problems = append(k.Problems, "uname: "+err.Error())
	}
	k.Arch, k.ArchName = NativeArch()
	if m, err := CurrentMode(); err == nil {
		k.Seccomp, k.Mode = true, m
	} else {
		k.Mode = ModeUnknown
		k.Problems = append(k.Problems, err.Error())
	}
	if ok, err := probeRaw(0); err == nil {
		k.Filter = ok
		if !ok {
			k.Problems = append(k.Problems, "the kernel has no seccomp filter mode (CONFIG_SECCOMP_FILTER)")
		}
	} else {
		k.Problems = append(k.Problems, "probe filter mode: "+err.Error())
	}
	k.Actions = AvailableActions()
	if k.Actions.ListError != "" {
		k.Problems = append(k.Problems, k.Actions.ListError)
	}
	if k.Actions.ProbeError != "" {
		k.Problems = append(k.Problems, k.Actions.ProbeError)
	}
	k.Problems = append(k.Problems, k.Actions.Disagreements()...)
	if l, err := ReadActionsLogged(); err == nil {
		k.ActionsLogged = l
	} else {
		k.Problems = append(k.Problems, err.Error())
	}
	if f, err := SupportedFlags(); err == nil {
		k.Flags = f
	} else {
		k.Problems = append(k.Problems, err.Error())
	}
	if s, err := ProbeNotifSizes(); err == nil {
		k.NotifSizes = &s
	} else {
		k.Problems = append(k.Problems, err.Error())
	}
	k.Cache = cacheSupport(k.Release, k.Machine, k.Arch)
	k.JIT = ReadJIT()
	return k
}
