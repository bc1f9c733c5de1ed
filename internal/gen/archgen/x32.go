package main

import "fmt"

// x32Bit is __X32_SYSCALL_BIT (arch/x86/include/uapi/asm/unistd.h): x32
// processes set it in every syscall number, and seccomp sees it.
const x32Bit = 0x40000000

// The x32 table follows arch/x86/entry/syscalls/syscall_64.tbl: an entry
// whose ABI column is "common" is in both the x86_64 and the x32 table, "64"
// only in x86_64, "x32" only in x32. Every number from 548 up is "common"
// (the file's closing comment: "Numbers 548 and above are not special").
//
// only64 lists the "64" entries: the 64-bit forms of calls that x32 makes
// through the 512-547 range, and obsolete calls x32 never had. Source:
// torvalds/linux arch/x86/entry/syscalls/syscall_64.tbl (read at commit
// 17ae69aba89dbfa2139b7f8024b757ab3cc42f59), plus 453 map_shadow_stack,
// added as "64" by the shadow stack series (Linux 6.6).
var only64 = map[string]int64{
	"rt_sigaction": 13, "rt_sigreturn": 15, "ioctl": 16, "readv": 19,
	"writev": 20, "recvfrom": 45, "sendmsg": 46, "recvmsg": 47,
	"setsockopt": 54, "getsockopt": 55, "execve": 59, "ptrace": 101,
	"rt_sigpending": 127, "rt_sigtimedwait": 128, "rt_sigqueueinfo": 129,
	"sigaltstack": 131, "uselib": 134, "_sysctl": 156,
	"create_module": 174, "get_kernel_syms": 177, "query_module": 178,
	"nfsservctl": 180, "set_thread_area": 205, "io_setup": 206,
	"io_submit": 209, "get_thread_area": 211, "epoll_ctl_old": 214,
	"epoll_wait_old": 215, "timer_create": 222, "vserver": 236,
	"mq_notify": 244, "kexec_load": 246, "waitid": 247,
	"set_robust_list": 273, "get_robust_list": 274, "vmsplice": 278,
	"move_pages": 279, "preadv": 295, "pwritev": 296,
	"rt_tgsigqueueinfo": 297, "recvmmsg": 299, "sendmmsg": 307,
	"process_vm_readv": 310, "process_vm_writev": 311, "execveat": 322,
	"preadv2": 327, "pwritev2": 328, "map_shadow_stack": 453,
}

// x32Only lists the "x32" entries, numbers 512-547, in order (same source).
var x32Only = []string{
	"rt_sigaction", "rt_sigreturn", "ioctl", "readv", "writev", // 512-516
	"recvfrom", "sendmsg", "recvmsg", "execve", "ptrace", // 517-521
	"rt_sigpending", "rt_sigtimedwait", "rt_sigqueueinfo", "sigaltstack", // 522-525
	"timer_create", "mq_notify", "kexec_load", "waitid", // 526-529
	"set_robust_list", "get_robust_list", "vmsplice", "move_pages", // 530-533
	"preadv", "pwritev", "rt_tgsigqueueinfo", "recvmmsg", "sendmmsg", // 534-538
	"process_vm_readv", "process_vm_writev", "setsockopt", "getsockopt", // 539-542
	"io_setup", "io_submit", "execveat", "preadv2", "pwritev2", // 543-547
}

// deriveX32 builds the x32 table from the x86_64 one. It checks that the
// facts above still match x/sys: every "64" entry must exist in x86_64 at
// the cited number, and x86_64 must not use the 512-547 range.
func deriveX32(amd64 []entry) ([]entry, error) {
	if len(x32Only) != 36 {
		return nil, fmt.Errorf("x32: want 36 entries for 512-547, have %d", len(x32Only))
	}
	seen := map[string]bool{}
	var tab []entry
	for _, e := range amd64 {
		if nr, ok := only64[e.name]; ok {
			if nr != e.nr {
				return nil, fmt.Errorf("x32: %s is %d in x/sys's x86_64 table, syscall_64.tbl says %d; recheck the x32 facts", e.name, e.nr, nr)
			}
			seen[e.name] = true
			continue
		}
		if e.nr >= 512 && e.nr <= 547 {
			return nil, fmt.Errorf("x32: x86_64 table uses %d (%s) in the x32 range", e.nr, e.name)
		}
		tab = append(tab, entry{e.name, e.nr | x32Bit})
	}
	for name, nr := range only64 {
		// Obsolete calls may be missing from newer headers; the live
		// ones must be there.
		if !seen[name] && nr > 300 {
			return nil, fmt.Errorf("x32: x/sys's x86_64 table lacks %s (%d)", name, nr)
		}
	}
	for i, name := range x32Only {
		tab = append(tab, entry{name, int64(512+i) | x32Bit})
	}
	if err := checkTable("x32", tab); err != nil {
		return nil, err
	}
	return tab, nil
}
