package bpf

import (
	"fmt"
	"strconv"
	"strings"
)

// Namer gives names to the numbers a seccomp filter compares against, so
// listings can say "ARCH_X86_64" and "read" instead of 0xc000003e and 0.
// The arch package provides one for every architecture it knows.
type Namer interface {
	// AuditArchName names an AUDIT_ARCH value, e.g. "ARCH_X86_64".
	AuditArchName(auditArch uint32) (string, bool)
	// AuditArchValue is the inverse of AuditArchName.
	AuditArchValue(name string) (uint32, bool)
	// SyscallName names syscall number nr of the arch with that AUDIT_ARCH value.
	SyscallName(auditArch uint32, nr uint32) (string, bool)
	// SyscallNumber is the inverse of SyscallName.
	SyscallNumber(auditArch uint32, name string) (uint32, bool)
}

// Stricter reports whether return value a is stricter than b. With
// stacked filters the strictest action wins (kernel/seccomp.c:
// seccomp_run_filters keeps the value whose ACTION_ONLY part, read as a
// signed 32-bit number, is lowest; KILL_PROCESS is 0x80000000).
func Stricter(a, b uint32) bool {
	return int32(a&RetActionFull) < int32(b&RetActionFull)
}

// ActionOf returns the action part of a return value as the kernel
// interprets it: unknown actions behave as KILL_PROCESS
// (kernel/seccomp.c: __seccomp_filter's default case).
func ActionOf(ret uint32) uint32 {
	a := ret & RetActionFull
	switch a {
	case RetKillProcess, RetKillThread, RetTrap, RetErrno, RetUserNotif, RetTrace, RetLog, RetAllow:
		return a
	}
	return RetKillProcess
}

// ActionString renders a filter return value in the syntax ParseAction
// reads: KILL_PROCESS, KILL_THREAD, TRAP(data), ERRNO(data), USER_NOTIF,
// TRACE(data), LOG, ALLOW. The data part is omitted when zero for actions
// that ignore it; values the kernel does not define print as hex.
func ActionString(ret uint32) string {
	data := ret & RetData
	switch ret & RetActionFull {
	case RetKillProcess:
		if data == 0 {
			return "KILL_PROCESS"
		}
	case RetKillThread:
		if data == 0 {
			return "KILL_THREAD"
		}
	case RetTrap:
		return fmt.Sprintf("TRAP(%d)", data)
	case RetErrno:
		return fmt.Sprintf("ERRNO(%d)", data)
	case RetUserNotif:
		if data == 0 {
			return "USER_NOTIF"
		}
	case RetTrace:
		return fmt.Sprintf("TRACE(%d)", data)
	case RetLog:
		if data == 0 {
			return "LOG"
		}
	case RetAllow:
		if data == 0 {
			return "ALLOW"
		}
	}
	return fmt.Sprintf("0x%08x", ret)
}

var actionNames = map[string]uint32{
	"KILL_PROCESS": RetKillProcess,
	"KILL":         RetKillThread, // the kernel's historic name for KILL_THREAD
	"KILL_THREAD":  RetKillThread,
	"TRAP":         RetTrap,
	"ERRNO":        RetErrno,
	"USER_NOTIF":   RetUserNotif,
	"TRACE":        RetTrace,
	"LOG":          RetLog,
	"ALLOW":        RetAllow,
}

// ParseAction reads a return value written as ActionString writes it
// (case-insensitive, data in decimal or 0x hex), or a raw 32-bit number.
func ParseAction(s string) (uint32, error) {
	t := strings.TrimSpace(s)
	if v, err := strconv.ParseUint(t, 0, 32); err == nil {
		return uint32(v), nil
	}
	name, arg, hasArg := t, "", false
	if i := strings.IndexByte(t, '('); i >= 0 {
		if !strings.HasSuffix(t, ")") {
			return 0, fmt.Errorf("action %q: missing closing parenthesis", s)
		}
		name, arg, hasArg = strings.TrimSpace(t[:i]), strings.TrimSpace(t[i+1:len(t)-1]), true
	}
	base, ok := actionNames[strings.ToUpper(name)]
	if !ok {
		return 0, fmt.Errorf("unknown action %q: want KILL_PROCESS, KILL_THREAD, TRAP(n), ERRNO(n), USER_NOTIF, TRACE(n), LOG, ALLOW or a number", s)
	}
	if !hasArg {
		return base, nil
	}
	v, err := strconv.ParseUint(arg, 0, 16)
	if err != nil {
		return 0, fmt.Errorf("action %q: data %q is not a number from 0 to 65535", s, arg)
	}
	return base | uint32(v), nil
}
