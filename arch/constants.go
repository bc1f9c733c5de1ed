package arch

import (
	"sort"
	"strings"
	"sync"
)

// extraConstants are argument values x/sys does not carry, the same on
// every architecture, written from the uapi headers cited.
var extraConstants = sync.OnceValue(func() map[string]uint64 {
	return map[string]uint64{
		// include/uapi/linux/personality.h
		"UNAME26":            0x0020000,
		"ADDR_NO_RANDOMIZE":  0x0040000,
		"FDPIC_FUNCPTRS":     0x0080000,
		"MMAP_PAGE_ZERO":     0x0100000,
		"ADDR_COMPAT_LAYOUT": 0x0200000,
		"READ_IMPLIES_EXEC":  0x0400000,
		"ADDR_LIMIT_32BIT":   0x0800000,
		"SHORT_INODE":        0x1000000,
		"WHOLE_SECONDS":      0x2000000,
		"STICKY_TIMEOUTS":    0x4000000,
		"ADDR_LIMIT_3GB":     0x8000000,
		"PER_CLEAR_ON_SETID": 0x0400000 | 0x0040000 | 0x0200000 | 0x0100000,
		"PER_LINUX":          0x0000,
		"PER_LINUX_32BIT":    0x0000 | 0x0800000,
		"PER_LINUX_FDPIC":    0x0000 | 0x0080000,
		"PER_SVR4":           0x0001 | 0x4000000 | 0x0100000,
		"PER_SVR3":           0x0002 | 0x4000000 | 0x1000000,
		"PER_SCOSVR3":        0x0003 | 0x4000000 | 0x2000000 | 0x1000000,
		"PER_OSR5":           0x0003 | 0x4000000 | 0x2000000,
		"PER_WYSEV386":       0x0004 | 0x4000000 | 0x1000000,
		"PER_ISCR4":          0x0005 | 0x4000000,
		"PER_BSD":            0x0006,
		"PER_SUNOS":          0x0006 | 0x4000000,
		"PER_XENIX":          0x0007 | 0x4000000 | 0x1000000,
		"PER_LINUX32":        0x0008,
		"PER_LINUX32_3GB":    0x0008 | 0x8000000,
		"PER_IRIX32":         0x0009 | 0x4000000,
		"PER_IRIXN32":        0x000a | 0x4000000,
		"PER_IRIX64":         0x000b | 0x4000000,
		"PER_RISCOS":         0x000c,
		"PER_SOLARIS":        0x000d | 0x4000000,
		"PER_UW7":            0x000e | 0x4000000 | 0x0100000,
		"PER_OSF4":           0x000f,
		"PER_HPUX":           0x0010,
		"PER_MASK":           0x00ff,
		// PER_QUERY is this package's name for the argument that asks for the
		// current personality without changing it (kernel/exec_domain.c:
		// personality only sets when persona != 0xffffffff). Filters that
		// allow personality usually allow exactly this value and PER_LINUX.
		"PER_QUERY": 0xffffffff,

		// include/uapi/linux/futex.h: futex(2) operations and flags
		"FUTEX_WAIT":            0,
		"FUTEX_WAKE":            1,
		"FUTEX_FD":              2,
		"FUTEX_REQUEUE":         3,
		"FUTEX_CMP_REQUEUE":     4,
		"FUTEX_WAKE_OP":         5,
		"FUTEX_LOCK_PI":         6,
		"FUTEX_UNLOCK_PI":       7,
		"FUTEX_TRYLOCK_PI":      8,
		"FUTEX_WAIT_BITSET":     9,
		"FUTEX_WAKE_BITSET":     10,
		"FUTEX_WAIT_REQUEUE_PI": 11,
		"FUTEX_CMP_REQUEUE_PI":  12,
		"FUTEX_LOCK_PI2":        13,
		"FUTEX_PRIVATE_FLAG":    128,
		"FUTEX_CLOCK_REALTIME":  256,
		"FUTEX_CMD_MASK":        ^uint64(128|256) & 0xffffffff,
	}
})

// Constant returns the value of a symbolic argument constant on this
// architecture: socket families and types, open and mmap flags, clone
// flags, prctl options, ioctl requests, personality values, signal numbers
// and errno values (EPERM). Values are as the kernel reads them from the
// argument register; negative ones (AT_FDCWD) are sign-extended to 64 bits,
// so compare their low 32 bits against int arguments.
//
// x32 answers with the x86_64 values, which x/sys generates from the same
// uapi headers. They hold except for ioctl requests that encode the size
// of a long or pointer (FS_IOC_GETFLAGS is _IOR('f', 1, long)): x32
// programs compute those with 4-byte longs.
func (a *Arch) Constant(name string) (uint64, bool) {
	if v, ok := constants.lookup(a.Name, name); ok {
		return v, true
	}
	if v, ok := extraConstants()[name]; ok {
		return v, true
	}
	if v, ok := a.Errno(name); ok {
		return uint64(v), true
	}
	return 0, false
}

// ConstantNames returns, sorted, the names Constant knows on this
// architecture that start with prefix (all of them for ""), for listings
// and "did you mean" suggestions.
func (a *Arch) ConstantNames(prefix string) []string {
	seen := map[string]bool{}
	add := func(n string) {
		if strings.HasPrefix(n, prefix) {
			seen[n] = true
		}
	}
	constants.each(a.Name, add)
	for n := range extraConstants() {
		add(n)
	}
	errnos.each(a.Name, add)
	out := make([]string, 0, len(seen))
	for n := range seen {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Errno returns the number of an errno name on this architecture: EPERM is
// 1 everywhere, but ENOSYS is 38 on most architectures and 89 on mips.
func (a *Arch) Errno(name string) (int, bool) {
	return errnos.lookup(a.Name, name)
}

// ErrnoName names errno number n on this architecture, choosing one name
// where several share the number (EAGAIN, not EWOULDBLOCK).
func (a *Arch) ErrnoName(n int) (string, bool) {
	return errnoNames.lookup(a.Name, n)
}

// The generated tables (zconstants.go) as layered lookups.
var (
	constants  = layered[string, uint64]{commonConstants, archConstants, absentConstants}
	errnos     = layered[string, int]{commonErrnos, archErrnos, absentErrnos}
	errnoNames = layered[int, string]{commonErrnoNames, archErrnoNames, absentErrnoNames}
)
