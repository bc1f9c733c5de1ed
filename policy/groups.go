package policy

import (
	"slices"
	"sort"
	"sync"
)

// Group is a named set of syscalls that serve one purpose, written @name
// in rules. A member an architecture does not have is skipped on that
// architecture: @file-read names both open and openat, and on aarch64,
// which has no open, only openat is there.
type Group struct {
	Name string // without the '@'
	// Doc says what the group is for, in one or two sentences.
	Doc string
	// Syscalls are the members, sorted.
	Syscalls []string
}

// groupDefs is the curated set. docs/groups.md is written from it (see
// the test TestGroupsDoc) and every member is checked against the
// syscall tables (TestGroupMembersExist).
var groupDefs = []Group{
	{Name: "default-base", Doc: "What nearly every program needs to start and run, whatever it does: " +
		"process exit, heap and mappings, thread setup (TLS, robust futex lists, rseq), signal return, " +
		"reading its own identity, the clock and random numbers. Architecture-private calls that libc " +
		"uses at start-up (set_tls on arm, riscv_hwprobe) are included.",
		Syscalls: []string{
			"arch_prctl", "brk", "cacheflush", "clock_getres", "clock_getres_time64", "clock_gettime",
			"clock_gettime64", "clock_nanosleep", "clock_nanosleep_time64", "exit", "exit_group",
			"futex", "futex_time64", "get_robust_list", "get_thread_area", "get_tls", "getcpu",
			"getegid", "getegid32", "geteuid", "geteuid32", "getgid", "getgid32", "getpid",
			"getppid", "getrandom", "getrlimit", "gettid", "gettimeofday", "getuid", "getuid32",
			"madvise", "membarrier", "mmap", "mmap2", "mprotect", "munmap", "nanosleep", "prlimit64",
			"restart_syscall", "riscv_flush_icache", "riscv_hwprobe", "rseq", "rt_sigreturn",
			"sched_yield", "set_robust_list", "set_thread_area", "set_tid_address", "set_tls",
			"sigreturn", "sysinfo", "time", "ugetrlimit", "uname",
		}},
	{Name: "basic-io", Doc: "Reading, writing, seeking, duplicating and closing file descriptors a program " +
		"already has, and moving data between them. Opening files is in @file-read and @file-write; " +
		"ioctl is in no group, since it is a door to every driver.",
		Syscalls: []string{
			"_llseek", "close", "close_range", "copy_file_range", "dup", "dup2", "dup3", "fcntl",
			"fcntl64", "flock", "lseek", "pread64", "preadv", "preadv2", "pwrite64", "pwritev",
			"pwritev2", "read", "readv", "sendfile", "sendfile64", "splice", "tee", "vmsplice",
			"write", "writev",
		}},
	{Name: "file-read", Doc: "Opening files and looking at the file system without changing it: open, " +
		"stat, directory listing, symlink reading, extended attribute reads, the working directory. " +
		"open and openat can also create and truncate files: restrict their flags to keep them read-only.",
		Syscalls: []string{
			"access", "arm_fadvise64_64", "cachestat", "chdir", "faccessat", "faccessat2", "fadvise64",
			"fadvise64_64", "fchdir", "fgetxattr", "file_getattr", "flistxattr", "fstat", "fstat64",
			"fstatat64", "fstatfs", "fstatfs64", "getcwd", "getdents", "getdents64", "getxattr",
			"getxattrat", "lgetxattr", "listxattr", "listxattrat", "llistxattr", "lstat", "lstat64",
			"name_to_handle_at", "newfstatat", "oldfstat", "oldlstat", "oldstat", "open", "openat",
			"openat2", "readahead", "readdir", "readlink", "readlinkat", "stat", "stat64", "statfs",
			"statfs64", "statx",
		}},
	{Name: "file-write", Doc: "Creating, removing, renaming, linking and resizing files and directories.",
		Syscalls: []string{
			"creat", "fallocate", "ftruncate", "ftruncate64", "link", "linkat", "mkdir", "mkdirat",
			"mknod", "mknodat", "rename", "renameat", "renameat2", "rmdir", "symlink", "symlinkat",
			"truncate", "truncate64", "unlink", "unlinkat",
		}},
	{Name: "file-meta", Doc: "Changing file metadata other than ownership: permissions, timestamps, " +
		"extended attributes, file attributes, and the umask. Ownership is @chown.",
		Syscalls: []string{
			"chmod", "fchmod", "fchmodat", "fchmodat2", "file_setattr", "fremovexattr", "fsetxattr",
			"futimesat", "lremovexattr", "lsetxattr", "removexattr", "removexattrat", "setxattr",
			"setxattrat", "umask", "utime", "utimensat", "utimensat_time64", "utimes",
		}},
	{Name: "file-watch", Doc: "Watching the file system for changes (inotify, fanotify).",
		Syscalls: []string{
			"fanotify_init", "fanotify_mark", "inotify_add_watch", "inotify_init", "inotify_init1",
			"inotify_rm_watch",
		}},
	{Name: "chown", Doc: "Changing the owner and group of files.",
		Syscalls: []string{
			"chown", "chown32", "fchown", "fchown32", "fchownat", "lchown", "lchown32",
		}},
	{Name: "sync", Doc: "Flushing file data and metadata to storage.",
		Syscalls: []string{
			"arm_sync_file_range", "fdatasync", "fsync", "msync", "sync", "sync_file_range",
			"sync_file_range2", "syncfs",
		}},
	{Name: "socket", Doc: "Creating sockets. Restrict socket's domain argument to the families the " +
		"program needs (AF_UNIX, AF_INET, AF_INET6). socketcall is i386's and other 32-bit ABIs' single " +
		"entry point for every socket operation.",
		Syscalls: []string{"socket", "socketcall", "socketpair"}},
	{Name: "network-io", Doc: "Using sockets: binding, listening, accepting, connecting, sending, " +
		"receiving, socket options and addresses, shutdown. Creating sockets is @socket.",
		Syscalls: []string{
			"accept", "accept4", "bind", "connect", "getpeername", "getsockname", "getsockopt",
			"listen", "recv", "recvfrom", "recvmmsg", "recvmmsg_time64", "recvmsg", "send", "sendmmsg",
			"sendmsg", "sendto", "setsockopt", "shutdown", "socketcall",
		}},
	{Name: "io-event", Doc: "Waiting for descriptors to become ready: poll, select, epoll, and event " +
		"descriptors.",
		Syscalls: []string{
			"_newselect", "epoll_create", "epoll_create1", "epoll_ctl", "epoll_ctl_old", "epoll_pwait",
			"epoll_pwait2", "epoll_wait", "epoll_wait_old", "eventfd", "eventfd2", "poll", "ppoll",
			"ppoll_time64", "pselect6", "pselect6_time64", "select",
		}},
	{Name: "ipc", Doc: "Inter-process communication: pipes, System V message queues, semaphores and " +
		"shared memory, POSIX message queues.",
		Syscalls: []string{
			"ipc", "mq_getsetattr", "mq_notify", "mq_open", "mq_timedreceive", "mq_timedreceive_time64",
			"mq_timedsend", "mq_timedsend_time64", "mq_unlink", "msgctl", "msgget", "msgrcv", "msgsnd",
			"pipe", "pipe2", "semctl", "semget", "semop", "semtimedop", "semtimedop_time64", "shmat",
			"shmctl", "shmdt", "shmget",
		}},
	{Name: "process", Doc: "Creating, running and reaping processes and threads, process groups and " +
		"sessions, and per-process settings (prctl, personality). Restrict clone's flags to keep " +
		"namespaces out (see @namespace).",
		Syscalls: []string{
			"arch_prctl", "capget", "clone", "clone3", "execve", "execveat", "exit", "exit_group",
			"fork", "getpgid", "getpgrp", "getpid", "getppid", "getrusage", "getsid", "gettid",
			"personality", "pidfd_open", "prctl", "process_mrelease", "set_tid_address", "setpgid",
			"setsid", "times", "vfork", "wait4", "waitid", "waitpid",
		}},
	{Name: "signal", Doc: "Handling, blocking, waiting for and sending signals.",
		Syscalls: []string{
			"kill", "pause", "pidfd_send_signal", "rt_sigaction", "rt_sigpending", "rt_sigprocmask",
			"rt_sigqueueinfo", "rt_sigreturn", "rt_sigsuspend", "rt_sigtimedwait",
			"rt_sigtimedwait_time64", "rt_tgsigqueueinfo", "sigaction", "sigaltstack", "signal",
			"signalfd", "signalfd4", "sigpending", "sigprocmask", "sigreturn", "sigsuspend", "tgkill",
			"tkill",
		}},
	{Name: "memory", Doc: "Managing the address space: mappings, protections, locking, advice, " +
		"memory file descriptors and protection keys. NUMA placement is @numa.",
		Syscalls: []string{
			"brk", "madvise", "map_shadow_stack", "membarrier", "memfd_create", "memfd_secret",
			"mincore", "mlock", "mlock2", "mlockall", "mmap", "mmap2", "mprotect", "mremap", "mseal",
			"munlock", "munlockall", "munmap", "pkey_alloc", "pkey_free", "pkey_mprotect",
		}},
	{Name: "numa", Doc: "NUMA memory placement and page migration.",
		Syscalls: []string{
			"get_mempolicy", "mbind", "migrate_pages", "move_pages", "set_mempolicy",
			"set_mempolicy_home_node",
		}},
	{Name: "futex", Doc: "Futexes, the kernel half of every lock and condition variable, and the " +
		"robust futex lists threads register.",
		Syscalls: []string{
			"futex", "futex_requeue", "futex_time64", "futex_wait", "futex_waitv", "futex_wake",
			"get_robust_list", "set_robust_list",
		}},
	{Name: "time-read", Doc: "Reading clocks. On most architectures the vDSO answers these without " +
		"entering the kernel, but fallbacks and some clocks do enter it.",
		Syscalls: []string{
			"clock_getres", "clock_getres_time64", "clock_gettime", "clock_gettime64", "gettimeofday",
			"time",
		}},
	{Name: "timer", Doc: "Sleeping, alarms, interval timers, POSIX timers and timer descriptors.",
		Syscalls: []string{
			"alarm", "clock_nanosleep", "clock_nanosleep_time64", "getitimer", "nanosleep", "setitimer",
			"timer_create", "timer_delete", "timer_getoverrun", "timer_gettime", "timer_gettime64",
			"timer_settime", "timer_settime64", "timerfd", "timerfd_create", "timerfd_gettime",
			"timerfd_gettime64", "timerfd_settime", "timerfd_settime64",
		}},
	{Name: "clock-set", Doc: "Setting or adjusting the system clocks (needs CAP_SYS_TIME).",
		Syscalls: []string{
			"adjtimex", "clock_adjtime", "clock_adjtime64", "clock_settime", "clock_settime64",
			"settimeofday", "stime",
		}},
	{Name: "resources", Doc: "Reading and changing resource limits, scheduling policy and priority, " +
		"CPU affinity and I/O priority.",
		Syscalls: []string{
			"getpriority", "getrlimit", "ioprio_get", "ioprio_set", "nice", "prlimit64",
			"sched_get_priority_max", "sched_get_priority_min", "sched_getaffinity", "sched_getattr",
			"sched_getparam", "sched_getscheduler", "sched_rr_get_interval",
			"sched_rr_get_interval_time64", "sched_setaffinity", "sched_setattr", "sched_setparam",
			"sched_setscheduler", "sched_yield", "setpriority", "setrlimit", "ugetrlimit",
		}},
	{Name: "setuid", Doc: "Changing user and group identities and capabilities.",
		Syscalls: []string{
			"capset", "setfsgid", "setfsgid32", "setfsuid", "setfsuid32", "setgid", "setgid32",
			"setgroups", "setgroups32", "setregid", "setregid32", "setresgid", "setresgid32",
			"setresuid", "setresuid32", "setreuid", "setreuid32", "setuid", "setuid32",
		}},
	{Name: "id-read", Doc: "Reading user and group identities.",
		Syscalls: []string{
			"getegid", "getegid32", "geteuid", "geteuid32", "getgid", "getgid32", "getgroups",
			"getgroups32", "getresgid", "getresgid32", "getresuid", "getresuid32", "getuid", "getuid32",
		}},
	{Name: "aio", Doc: "Linux native asynchronous I/O (io_setup and friends).",
		Syscalls: []string{
			"io_cancel", "io_destroy", "io_getevents", "io_pgetevents", "io_pgetevents_time64",
			"io_setup", "io_submit",
		}},
	{Name: "io-uring", Doc: "io_uring, the shared-ring I/O interface. Operations submitted through the ring never pass the seccomp " +
		"filter, so allowing these calls allows, in effect, every operation io_uring supports.",
		Syscalls: []string{"io_uring_enter", "io_uring_register", "io_uring_setup"}},
	{Name: "namespace", Doc: "Creating and entering namespaces. clone and clone3 can create them too: " +
		"restrict their flags.",
		Syscalls: []string{"listns", "setns", "unshare"}},
	{Name: "sandbox", Doc: "What a program uses to sandbox itself further: seccomp filters and " +
		"Landlock rulesets.",
		Syscalls: []string{"landlock_add_rule", "landlock_create_ruleset", "landlock_restrict_self", "seccomp"}},
	{Name: "keyring", Doc: "The kernel key retention service.",
		Syscalls: []string{"add_key", "keyctl", "request_key"}},
	{Name: "bpf", Doc: "Loading eBPF programs and maps.",
		Syscalls: []string{"bpf"}},
	{Name: "debug", Doc: "Inspecting and changing other processes, and performance counters: ptrace, " +
		"cross-process memory access, fd theft, kcmp, perf events, userfaultfd.",
		Syscalls: []string{
			"kcmp", "perf_event_open", "pidfd_getfd", "process_madvise", "process_vm_readv",
			"process_vm_writev", "ptrace", "userfaultfd",
		}},
	{Name: "mount", Doc: "Mounting, unmounting and inspecting mounts, changing the root.",
		Syscalls: []string{
			"chroot", "fsconfig", "fsmount", "fsopen", "fspick", "listmount", "mount", "mount_setattr",
			"move_mount", "open_tree", "open_tree_attr", "pivot_root", "statmount", "umount", "umount2",
		}},
	{Name: "module", Doc: "Loading and unloading kernel modules.",
		Syscalls: []string{
			"create_module", "delete_module", "finit_module", "get_kernel_syms", "init_module",
			"query_module",
		}},
	{Name: "reboot", Doc: "Rebooting, and loading a new kernel to boot into.",
		Syscalls: []string{"kexec_file_load", "kexec_load", "reboot"}},
	{Name: "swap", Doc: "Enabling and disabling swap.",
		Syscalls: []string{"swapoff", "swapon"}},
	{Name: "raw-io", Doc: "Direct access to I/O ports and PCI devices.",
		Syscalls: []string{
			"ioperm", "iopl", "pciconfig_iobase", "pciconfig_read", "pciconfig_write",
			"s390_pci_mmio_read", "s390_pci_mmio_write",
		}},
	{Name: "cpu-emulation", Doc: "Running code in other CPU modes: vm86, local descriptor tables, " +
		"endianness switching.",
		Syscalls: []string{"modify_ldt", "subpage_prot", "switch_endian", "vm86", "vm86old"}},
	{Name: "obsolete", Doc: "Syscalls that the kernel no longer implements, or keeps only for ancient " +
		"binaries. Nothing current needs them.",
		Syscalls: []string{
			"_sysctl", "afs_syscall", "bdflush", "break", "create_module", "ftime", "get_kernel_syms",
			"getpmsg", "gtty", "idle", "lock", "lookup_dcookie", "mpx", "nfsservctl", "oldfstat",
			"oldlstat", "oldolduname", "oldstat", "olduname", "prof", "profil", "putpmsg",
			"query_module", "remap_file_pages", "security", "sgetmask", "ssetmask", "stty", "sysfs",
			"tuxcall", "ulimit", "uselib", "ustat", "vserver",
		}},
}

// privilegedExtra are the members of @privileged beyond the groups it
// includes.
var privilegedExtra = []string{
	"acct", "bpf", "fanotify_init", "lookup_dcookie", "nfsservctl", "open_by_handle_at",
	"quotactl", "quotactl_fd", "setdomainname", "sethostname", "syslog", "vhangup",
}

// privilegedFrom are the groups @privileged includes.
var privilegedFrom = []string{"clock-set", "module", "mount", "raw-io", "reboot", "swap"}

// groupTable is groupDefs plus @privileged, sorted by name, and an index
// of it by name.
type groupTable struct {
	list   []Group
	byName map[string]int
}

// groups builds the table on first use rather than at package
// initialisation: every program linking policy (syscage run among them)
// would otherwise pay for the sorting at start-up whether or not it ever
// names a group.
var groups = sync.OnceValue(func() groupTable {
	priv := slices.Clone(privilegedExtra)
	for _, g := range groupDefs {
		if slices.Contains(privilegedFrom, g.Name) {
			priv = append(priv, g.Syscalls...)
		}
	}
	sort.Strings(priv)
	list := append(slices.Clone(groupDefs), Group{
		Name: "privileged",
		Doc: "Syscalls that need a capability to do anything useful: the members of @clock-set, " +
			"@module, @mount, @raw-io, @reboot and @swap, plus accounting, quotas, host names, the " +
			"kernel log, file handles, fanotify and bpf.",
		Syscalls: slices.Compact(priv),
	})
	for i := range list {
		list[i].Syscalls = slices.Clone(list[i].Syscalls)
		sort.Strings(list[i].Syscalls)
		list[i].Syscalls = slices.Compact(list[i].Syscalls)
	}
	sort.Slice(list, func(i, j int) bool { return list[i].Name < list[j].Name })
	byName := make(map[string]int, len(list))
	for i, g := range list {
		byName[g.Name] = i
	}
	return groupTable{list, byName}
})

// Groups returns every syscall group, sorted by name. The result is a
// copy.
func Groups() []Group {
	gt := groups()
	out := make([]Group, len(gt.list))
	for i, g := range gt.list {
		g.Syscalls = slices.Clone(g.Syscalls)
		out[i] = g
	}
	return out
}

// GroupByName returns the group with that name, written with or without
// the '@'.
func GroupByName(name string) (Group, bool) {
	if len(name) > 0 && name[0] == '@' {
		name = name[1:]
	}
	gt := groups()
	i, ok := gt.byName[name]
	if !ok {
		return Group{}, false
	}
	g := gt.list[i]
	g.Syscalls = slices.Clone(g.Syscalls)
	return g, true
}

// groupMembers returns the shared member list of a group; callers must
// not modify it.
func groupMembers(name string) ([]string, bool) {
	gt := groups()
	i, ok := gt.byName[name]
	if !ok {
		return nil, false
	}
	return gt.list[i].Syscalls, true
}

// groupNames lists the group names, for suggestions.
func groupNames() []string {
	gt := groups()
	out := make([]string, len(gt.list))
	for i, g := range gt.list {
		out[i] = g.Name
	}
	return out
}
