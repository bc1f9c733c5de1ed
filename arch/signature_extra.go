package arch

import "sync"

// Prototypes tracefs on x86_64 cannot show: syscalls of kernel features
// this machine's kernel lacks, syscalls newer than it, and the syscalls
// only 32-bit or other ABIs have. Each cites the SYSCALL_DEFINE it copies.
//
// Still without a signature are the table slots the kernel wires to
// sys_ni_syscall (afs_syscall, break, create_module, getpmsg, tuxcall,
// vserver, _sysctl, uselib, lookup_dcookie, ...), mips' indirect
// "syscall", and a few obsolete calls (bdflush, timerfd); callers treat
// their arguments as unknown 64-bit words.

func p(name, typ string, k Kind) Param { return Param{Name: name, Type: typ, Kind: k} }

// extraSignatures are written by hand from the kernel sources cited.
var extraSignatures = sync.OnceValue(func() map[string][]Param {
	return map[string][]Param{
		// kernel/module/main.c
		"init_module":   {p("umod", "void *", KindPointer), p("len", "unsigned long", KindLong), p("uargs", "const char *", KindPointer)},
		"finit_module":  {p("fd", "int", KindInt), p("uargs", "const char *", KindPointer), p("flags", "int", KindInt)},
		"delete_module": {p("name_user", "const char *", KindPointer), p("flags", "unsigned int", KindInt)},
		// kernel/kexec.c, kernel/kexec_file.c
		"kexec_load":      {p("entry", "unsigned long", KindLong), p("nr_segments", "unsigned long", KindLong), p("segments", "struct kexec_segment *", KindPointer), p("flags", "unsigned long", KindLong)},
		"kexec_file_load": {p("kernel_fd", "int", KindInt), p("initrd_fd", "int", KindInt), p("cmdline_len", "unsigned long", KindLong), p("cmdline_ptr", "const char *", KindPointer), p("flags", "unsigned long", KindLong)},
		// arch/x86/kernel/shstk.c
		"map_shadow_stack": {p("addr", "unsigned long", KindLong), p("size", "unsigned long", KindLong), p("flags", "unsigned int", KindInt)},
		// kernel/nstree.c (Linux 6.19)
		"listns": {p("req", "const struct ns_id_req *", KindPointer), p("ns_ids", "u64 *", KindPointer), p("nr_ns_ids", "size_t", KindLong), p("flags", "unsigned int", KindInt)},
		// kernel/rseq.c: SYSCALL_DEFINE0(rseq_slice_yield)
		"rseq_slice_yield": {},
		// arch/x86/kernel/tls.c (i386, and x86_64's compat table)
		"set_thread_area": {p("u_info", "struct user_desc *", KindPointer)},
		"get_thread_area": {p("u_info", "struct user_desc *", KindPointer)},

		// 32-bit ABIs.
		// net/socket.c: SYSCALL_DEFINE2(socketcall, int, call, unsigned long __user *, args)
		"socketcall": {p("call", "int", KindInt), p("args", "unsigned long *", KindPointer)},
		// ipc/syscall.c: SYSCALL_DEFINE6(ipc, unsigned int, call, int, first, unsigned long, second, unsigned long, third, void __user *, ptr, long, fifth)
		"ipc": {p("call", "unsigned int", KindInt), p("first", "int", KindInt), p("second", "unsigned long", KindLong), p("third", "unsigned long", KindLong), p("ptr", "void *", KindPointer), p("fifth", "long", KindLong)},
		// fs/read_write.c: SYSCALL_DEFINE5(llseek, ...), the table's _llseek
		"_llseek": {p("fd", "unsigned int", KindInt), p("offset_high", "unsigned long", KindLong), p("offset_low", "unsigned long", KindLong), p("result", "loff_t *", KindPointer), p("whence", "unsigned int", KindInt)},
		// arch/x86/kernel/sys_ia32.c and arch/arm/kernel/entry-common.S: mmap2
		// passes the offset in pages.
		"mmap2": {p("addr", "unsigned long", KindLong), p("len", "unsigned long", KindLong), p("prot", "unsigned long", KindLong), p("flags", "unsigned long", KindLong), p("fd", "unsigned long", KindLong), p("pgoff", "unsigned long", KindLong)},
		// fs/fcntl.c: SYSCALL_DEFINE3(fcntl64, unsigned int, fd, unsigned int, cmd, unsigned long, arg)
		"fcntl64": {p("fd", "unsigned int", KindInt), p("cmd", "unsigned int", KindInt), p("arg", "unsigned long", KindLong)},
		// fs/namespace.c: SYSCALL_DEFINE1(oldumount, char __user *, name), the table's umount
		"umount": {p("name", "char *", KindPointer)},
		// fs/stat.c: stat64 family
		"stat64":    {p("filename", "const char *", KindPointer), p("statbuf", "struct stat64 *", KindPointer)},
		"lstat64":   {p("filename", "const char *", KindPointer), p("statbuf", "struct stat64 *", KindPointer)},
		"fstat64":   {p("fd", "unsigned long", KindLong), p("statbuf", "struct stat64 *", KindPointer)},
		"fstatat64": {p("dfd", "int", KindInt), p("filename", "const char *", KindPointer), p("statbuf", "struct stat64 *", KindPointer), p("flag", "int", KindInt)},
		// kernel/signal.c: the pre-rt signal calls
		"sigaction":   {p("sig", "int", KindInt), p("act", "const struct old_sigaction *", KindPointer), p("oact", "struct old_sigaction *", KindPointer)},
		"sigprocmask": {p("how", "int", KindInt), p("nset", "old_sigset_t *", KindPointer), p("oset", "old_sigset_t *", KindPointer)},
		"sigpending":  {p("uset", "old_sigset_t *", KindPointer)},
		"sigsuspend":  {p("mask", "old_sigset_t", KindLong)},
		"sigreturn":   {},
		"signal":      {p("sig", "int", KindInt), p("handler", "__sighandler_t", KindPointer)},
		"sgetmask":    {},
		"ssetmask":    {p("newmask", "int", KindInt)},
		// kernel/sys.c
		"nice":        {p("increment", "int", KindInt)},
		"waitpid":     {p("pid", "pid_t", KindInt), p("stat_addr", "int *", KindPointer), p("options", "int", KindInt)},
		"ugetrlimit":  {p("resource", "unsigned int", KindInt), p("rlim", "struct rlimit *", KindPointer)},
		"olduname":    {p("name", "struct oldold_utsname *", KindPointer)},
		"oldolduname": {p("name", "struct oldold_utsname *", KindPointer)},
		// kernel/time/time.c
		"stime": {p("tptr", "old_time32_t *", KindPointer)},
		// fs/readdir.c: SYSCALL_DEFINE3(old_readdir, ...), the table's readdir
		"readdir": {p("fd", "unsigned int", KindInt), p("dirent", "struct old_linux_dirent *", KindPointer), p("count", "unsigned int", KindInt)},
		// fs/select.c: old select takes a pointer to its five arguments
		"_newselect": {p("n", "int", KindInt), p("inp", "fd_set *", KindPointer), p("outp", "fd_set *", KindPointer), p("exp", "fd_set *", KindPointer), p("tvp", "struct __kernel_old_timeval *", KindPointer)},
		// fs/statfs.c
		"statfs64":  {p("pathname", "const char *", KindPointer), p("sz", "size_t", KindLong), p("buf", "struct statfs64 *", KindPointer)},
		"fstatfs64": {p("fd", "unsigned int", KindInt), p("sz", "size_t", KindLong), p("buf", "struct statfs64 *", KindPointer)},
		// fs/open.c: the 32-bit ABIs' truncate64 and ftruncate64 take a loff_t
		"truncate64":  {p("path", "const char *", KindPointer), p("length", "loff_t", KindU64)},
		"ftruncate64": {p("fd", "unsigned int", KindInt), p("length", "loff_t", KindU64)},
		// mm/fadvise.c: SYSCALL_DEFINE4(fadvise64_64, int, fd, loff_t, offset, loff_t, len, int, advice)
		"fadvise64_64": {p("fd", "int", KindInt), p("offset", "loff_t", KindU64), p("len", "loff_t", KindU64), p("advice", "int", KindInt)},
		// arch/arm/kernel/sys_arm.c and arch/arm/kernel/traps.c
		"arm_fadvise64_64": {p("fd", "int", KindInt), p("advice", "int", KindInt), p("offset", "loff_t", KindU64), p("len", "loff_t", KindU64)},
		"cacheflush":       {p("start", "unsigned long", KindLong), p("end", "unsigned long", KindLong), p("flags", "int", KindInt)},
		"set_tls":          {p("val", "unsigned long", KindLong)},
		"get_tls":          {},
		"breakpoint":       {},
		"usr26":            {},
		"usr32":            {},
		// arch/arm64 and asm-generic: riscv's cache flush
		// (arch/riscv/kernel/sys_riscv.c)
		"riscv_flush_icache": {p("start", "uintptr_t", KindLong), p("end", "uintptr_t", KindLong), p("flags", "uintptr_t", KindLong)},
		// arch/riscv/kernel/sys_hwprobe.c
		"riscv_hwprobe": {p("pairs", "struct riscv_hwprobe *", KindPointer), p("pair_count", "size_t", KindLong), p("cpusetsize", "size_t", KindLong), p("cpus", "unsigned long *", KindPointer), p("flags", "unsigned int", KindInt)},
		// arch/s390/kernel/sys_s390.c
		"s390_runtime_instr":   {p("command", "int", KindInt), p("signum", "int", KindInt)},
		"s390_pci_mmio_write":  {p("mmio_addr", "unsigned long", KindLong), p("user_buffer", "const void *", KindPointer), p("length", "size_t", KindLong)},
		"s390_pci_mmio_read":   {p("mmio_addr", "unsigned long", KindLong), p("user_buffer", "void *", KindPointer), p("length", "size_t", KindLong)},
		"s390_guarded_storage": {p("command", "int", KindInt), p("gs_cb", "struct gs_cb *", KindPointer)},
		"s390_sthyi":           {p("function_code", "unsigned long", KindLong), p("buffer", "void *", KindPointer), p("return_code", "u64 *", KindPointer), p("flags", "unsigned long", KindLong)},
		// arch/mips/kernel/syscall.c
		"cachectl": {p("addr", "char *", KindPointer), p("nbytes", "int", KindInt), p("op", "int", KindInt)},
		"sysmips":  {p("cmd", "long", KindLong), p("arg1", "long", KindLong), p("arg2", "long", KindLong)},
		// arch/powerpc/kernel/syscalls.c
		"switch_endian":        {},
		"subpage_prot":         {p("addr", "unsigned long", KindLong), p("len", "unsigned long", KindLong), p("map", "u32 *", KindPointer)},
		"sys_debug_setcontext": {p("ctx", "struct ucontext *", KindPointer), p("ndbg", "int", KindInt), p("dbg", "struct sig_dbg_op *", KindPointer)},
		"swapcontext":          {p("old_ctx", "struct ucontext *", KindPointer), p("new_ctx", "struct ucontext *", KindPointer), p("ctx_size", "long", KindLong)},
		"rtas":                 {p("uargs", "struct rtas_args *", KindPointer)},
		"spu_run":              {p("fd", "int", KindInt), p("unpc", "__u32 *", KindPointer), p("ustatus", "__u32 *", KindPointer)},
		"spu_create":           {p("name", "const char *", KindPointer), p("flags", "unsigned int", KindInt), p("mode", "umode_t", KindInt), p("neighbor_fd", "int", KindInt)},
	}
})

// sameAs maps syscalls to the native syscall whose prototype they share:
// the 32-bit ABIs' 64-bit-time variants take the same structures as the
// 64-bit calls (include/linux/syscalls.h declares both with
// struct __kernel_timespec), and the 32-bit uid calls take uid_t like the
// native ones.
var sameAs = sync.OnceValue(func() map[string]string {
	return map[string]string{
		"clock_gettime64":              "clock_gettime",
		"clock_settime64":              "clock_settime",
		"clock_adjtime64":              "clock_adjtime",
		"clock_getres_time64":          "clock_getres",
		"clock_nanosleep_time64":       "clock_nanosleep",
		"timer_gettime64":              "timer_gettime",
		"timer_settime64":              "timer_settime",
		"timerfd_gettime64":            "timerfd_gettime",
		"timerfd_settime64":            "timerfd_settime",
		"utimensat_time64":             "utimensat",
		"pselect6_time64":              "pselect6",
		"ppoll_time64":                 "ppoll",
		"io_pgetevents_time64":         "io_pgetevents",
		"recvmmsg_time64":              "recvmmsg",
		"mq_timedsend_time64":          "mq_timedsend",
		"mq_timedreceive_time64":       "mq_timedreceive",
		"semtimedop_time64":            "semtimedop",
		"rt_sigtimedwait_time64":       "rt_sigtimedwait",
		"futex_time64":                 "futex",
		"sched_rr_get_interval_time64": "sched_rr_get_interval",
		"chown32":                      "chown",
		"lchown32":                     "lchown",
		"fchown32":                     "fchown",
		"getuid32":                     "getuid",
		"getgid32":                     "getgid",
		"geteuid32":                    "geteuid",
		"getegid32":                    "getegid",
		"setreuid32":                   "setreuid",
		"setregid32":                   "setregid",
		"getgroups32":                  "getgroups",
		"setgroups32":                  "setgroups",
		"setresuid32":                  "setresuid",
		"getresuid32":                  "getresuid",
		"setresgid32":                  "setresgid",
		"getresgid32":                  "getresgid",
		"setuid32":                     "setuid",
		"setgid32":                     "setgid",
		"setfsuid32":                   "setfsuid",
		"setfsgid32":                   "setfsgid",
	}
})

// oldMmap is the mmap of i386 and s390x, which reads its six arguments
// from a struct in memory (mm/mmap.c: SYSCALL_DEFINE1(old_mmap,
// struct mmap_arg_struct __user *, arg); arch/s390/kernel/syscalls/
// syscall.tbl: "90 common mmap sys_old_mmap"; arch/x86/entry/syscalls/
// syscall_32.tbl: "90 i386 mmap sys_old_mmap").
var oldMmap = []Param{p("arg", "struct mmap_arg_struct *", KindPointer)}
