// Package seccomp is syscage's interface to the kernel's seccomp facility:
// what the running kernel supports (actions, filter flags, notification
// sizes, the constant-action cache, the BPF JIT), the seccomp state of any
// process, the filters installed in a running process, and the primitives
// that put a filter on the calling thread.
//
// The package speaks in kernel terms only: it receives and returns
// bpf.Program values and knows nothing of policies or syscall names.
//
// Files by concern:
//
//	actions.go  actions available (sysctl and probe) and logged (sysctl)
//	flags.go    SECCOMP_FILTER_FLAG_* and the probe of which the kernel knows
//	kernel.go   one-call introspection of the running kernel (Inspect)
//	proc.go     /proc/PID/status: mode, filter count, no_new_privs
//	cache.go    /proc/PID/seccomp_cache (CONFIG_SECCOMP_CACHE_DEBUG)
//	dump.go     PTRACE_SECCOMP_GET_FILTER / GET_METADATA: a process's filters
//	install.go  PR_SET_NO_NEW_PRIVS, SECCOMP_SET_MODE_FILTER and _STRICT
//
// Package seccomptest starts child processes in a chosen seccomp state, so
// that tests never filter the test process itself.
//
// Everything here is Linux-specific; facts about the kernel cite the file
// and function they come from (kernel/seccomp.c unless said otherwise).
package seccomp
