// Package record learns a syscall policy from a program's real behaviour.
//
// Record runs a program and follows every thread, child and exec of it,
// from its first instruction to the exit of its last descendant
// (daemonised grandchildren included), and counts the system calls it
// makes per architecture and syscall, with the scalar arguments that
// tight rules need (socket families, ioctl requests, clone flags, ...).
// Profile turns a Recording into a policy with argument conditions in
// symbolic constants and counts in comments; Extend adds what a run
// needed to an existing policy without touching the user's rules;
// WriteFrequencies writes the counts as the frequency profile the
// compiler orders its search tree by; WatchComplaints attributes the
// kernel's audit records of a run under a complain-mode profile
// (sandbox.Complain) to the program's process tree.
//
// # Mechanism
//
// Every tracee is attached with ptrace (PTRACE_SEIZE with
// PTRACE_O_TRACECLONE, TRACEFORK, TRACEVFORK, TRACEEXEC, TRACESECCOMP and
// EXITKILL) from before its first instruction: the program is started by
// a re-executed init stage whose thread is seized before it installs a
// seccomp filter and calls execve. The filter returns SECCOMP_RET_TRACE
// for the syscalls the tracer must see, and the tracer reads each of them
// with PTRACE_GET_SYSCALL_INFO (one stop per syscall, arch included, so
// i386 calls through int 0x80 are told apart from x86_64 ones).
//
// Which syscalls stop depends on the backend:
//
//   - BackendPtrace (any user, any arch): every syscall stops. Exact and
//     simple, but each call costs two context switches.
//   - BackendEBPF (root, x86_64): an eBPF program on the raw tracepoint
//     sys_enter counts the native syscalls of the traced threads in a
//     per-CPU array, and the scalar arguments of the interesting ones in
//     a hash map, without stopping the program. Only foreign
//     architectures (i386, x32), numbers beyond the native table,
//     execve, execveat and clone3 (whose flags live in memory) stop in
//     the tracer. ptrace still follows the process tree and tells the
//     eBPF program which threads to count; the eBPF counts of the calls
//     the tracer also saw are subtracted, so nothing is counted twice.
//
// BackendAuto picks the eBPF backend when it can load and falls back to
// ptrace, saying why in Recording.Notes.
package record
