// Package sandbox puts a program in the cage: it starts the program in a
// hardened process (file descriptors, no_new_privs, capabilities,
// namespaces, environment) with the seccomp filters installed as the very
// last step before execve, then forwards signals, passes the exit status through and explains a death
// by the filter. Self applies filters to the calling Go program instead.
//
// A program starts one of two ways. The direct start (the usual one,
// package launch) forks it from a thread of the calling process: one goroutine locks
// itself to an OS thread for good, hardens that thread (capabilities and
// no_new_privs belong to threads), installs the filters on it alone
// (no TSYNC) and forks and executes the program from it with package
// syscall, so the child inherits all of it; the thread does nothing else
// and ends once the program is reaped (the program's parent-death signal
// is tied to it). Go code runs under the filters there, the runtime's and
// package syscall's fork code, so the direct start is taken only when
// the filters allow every system call that code makes, with the
// arguments it makes them with (the default profile does; see
// directCalls); otherwise, and for an exec gate, new namespaces or an
// InitPath, the program starts through the re-executed init stage.
//
// The init stage exists because the Go runtime cannot run code between
// fork and exec: the parent starts its own executable (/proc/self/exe)
// with a marker in the environment, and package initstage, which this
// package imports, recognises the marker in its init function and runs
// the stage instead of the program. It depends on nothing but the
// runtime and package syscall, so it runs before the program's other
// packages are initialised and the stage does not pay for them. A binary
// that uses Command needs nothing more than to import this package.
//
// Order of the init stage, all on one locked OS thread, since
// capabilities, no_new_privs and seccomp filters belong to threads and the
// thread that calls execve becomes the program:
//
//  1. read the settings from the parent, bring up loopback in a new
//     network namespace, change directory;
//  2. check that the program exists and is executable (127 and 126 are
//     reported from here, before any filter);
//  3. drop the capability bounding set, clear the ambient set, set the
//     permitted, effective and inheritable sets;
//  4. set no_new_privs; close every file descriptor but 0, 1, 2, those
//     kept on request and the close-on-exec status channel;
//  5. install the filters, then execve with raw system calls and nothing
//     in between, so no code but execve runs under the filters before
//     the program.
//
// A second, unfiltered thread reports a failed execve and hands a
// notification listener to the parent (see ExecGate), so the filtered
// thread makes no system call but execve. For a supervised program
// (UseSupervisedPolicy: a files block, notify rules, alerts) the listener
// belongs to the profile's own filter, and the filtered thread waits,
// spinning without a system call, until the parent serves it before
// execve. The direct start gets the listener in its own process and
// serves it before the fork.
package sandbox
