package bpf

// CacheTarget describes one of the kernel's constant-action bitmaps.
// Since Linux 5.11 (kernel/seccomp.c, struct action_cache) the kernel
// keeps, per filter and per arch it knows (SECCOMP_ARCH_NATIVE and, where
// there is one, SECCOMP_ARCH_COMPAT), a bitmap of the syscall numbers the
// filters allow whatever the arguments and instruction pointer are. A
// syscall whose bit is set is allowed without running any BPF.
type CacheTarget struct {
	// AuditArch is the AUDIT_ARCH value the bitmap is for, e.g.
	// 0xc000003e for x86_64 or 0x40000003 for i386 (the compat table of
	// x86_64).
	AuditArch uint32
	// Syscalls is the bitmap's size, SECCOMP_ARCH_NATIVE_NR or
	// SECCOMP_ARCH_COMPAT_NR: the number of entries of that syscall
	// table. Numbers at or above it are never cached (x32 numbers, with
	// bit 30 set, included).
	Syscalls int
	// Exempt lists numbers seccomp_uprobe_exception lets through before
	// looking at the filter: uretprobe (x86_64 335, Linux 6.14) and
	// uprobe (x86_64 336, Linux 6.18), for the native arch only. They
	// are kernel-version facts, so the caller supplies them.
	Exempt []int
}

// CachedAllow returns, for each syscall number below t.Syscalls, whether
// the kernel will allow it from its bitmap without running p, assuming p
// is the only filter. It mirrors seccomp_is_const_allow
// (kernel/seccomp.c): the kernel emulates p with nr and arch as the only
// known inputs and understands only LD|W|ABS of nr or arch, JA,
// JEQ/JGE/JGT/JSET with a constant, AND with a constant and RET K. The
// syscall is cached when that emulation reaches RET K with K exactly
// SECCOMP_RET_ALLOW (not LOG, not ALLOW with data bits); any other
// instruction on the way, a load of an argument or the instruction
// pointer in particular, leaves the number uncached even when every
// argument would be allowed.
//
// p should be a program Validate accepts, as the kernel builds the bitmap
// only for those; for anything else the emulation stops at the first
// thing it cannot follow and leaves the number uncached.
func CachedAllow(p Program, t CacheTarget) []bool {
	bits := make([]bool, max(t.Syscalls, 0))
	for nr := range bits {
		bits[nr] = constAllow(p, uint32(nr), t)
	}
	return bits
}

// CachedAllowStack is CachedAllow for filters installed one after the
// other (filters[0] first). seccomp_cache_prepare_bitmap starts each new
// filter's bitmap from the previous filter's, so a number stays cached
// only while every filter allows it constantly. With no filters every
// number is reported allowed, as there is nothing to run.
func CachedAllowStack(filters []Program, t CacheTarget) []bool {
	bits := make([]bool, max(t.Syscalls, 0))
	for nr := range bits {
		bits[nr] = true
		for _, p := range filters {
			if !constAllow(p, uint32(nr), t) {
				bits[nr] = false
				break
			}
		}
	}
	return bits
}

// constAllow is seccomp_is_const_allow for one syscall number: the
// kernel's own small emulator, instruction for instruction.
func constAllow(p Program, nr uint32, t CacheTarget) bool {
	for _, e := range t.Exempt {
		if e >= 0 && uint32(e) == nr {
			return true
		}
	}
	var reg uint32
	n := uint64(len(p))
	for pc := uint64(0); pc < n; pc++ {
		ins := p[pc]
		switch ins.Op {
		case ClassLD | SizeW | ModeABS:
			switch ins.K {
			case OffsetNr:
				reg = nr
			case OffsetArch:
				reg = t.AuditArch
			default:
				return false // not a constant: arguments or instruction pointer
			}
		case ClassRET | RetSrcK:
			return ins.K == RetAllow
		case ClassJMP | JmpJA:
			pc += uint64(ins.K)
		case ClassJMP | JmpJEQ | SrcK, ClassJMP | JmpJGE | SrcK,
			ClassJMP | JmpJGT | SrcK, ClassJMP | JmpJSET | SrcK:
			var taken bool
			switch ins.Op & 0xf0 {
			case JmpJEQ:
				taken = reg == ins.K
			case JmpJGE:
				taken = reg >= ins.K
			case JmpJGT:
				taken = reg > ins.K
			case JmpJSET:
				taken = reg&ins.K != 0
			}
			if taken {
				pc += uint64(ins.Jt)
			} else {
				pc += uint64(ins.Jf)
			}
		case ClassALU | AluAnd | SrcK:
			reg &= ins.K
		default:
			return false // an instruction the emulator does not model
		}
	}
	return false // ran off the end: the kernel warns and does not cache
}
