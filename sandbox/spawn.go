package sandbox

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/syscage/syscage/arch"
	"github.com/syscage/syscage/bpf"
	"github.com/syscage/syscage/sandbox/initstage"
	"github.com/syscage/syscage/sandbox/launch"
	"github.com/syscage/syscage/seccomp"
)

// The direct start forks the program from a thread of syscage's own
// instead of re-executing syscage as an init stage, which saves the start
// of a second program (more than a millisecond). Capabilities,
// no_new_privs and seccomp filters belong to threads and pass to a child
// the thread forks, so one goroutine locks itself to a thread, hardens
// it, installs the filters on it (without TSYNC: syscage's other threads
// stay unfiltered) and forks and executes the program from it with the
// syscall package. That thread is never used for anything else: it waits
// until the program has been reaped and then ends, which also keeps the
// program's parent-death signal (tied to the forking thread) for the
// death of syscage itself.
//
// The price is that Go code runs under the filters: the runtime on the
// filtered thread (its scheduler, allocator and signal handling) and the
// syscall package's fork and child code. The direct start is therefore
// taken only when the filters allow every system call that code can
// make, with the arguments it makes them with (directBlocker), and
// otherwise the re-executed stage runs, in which the filtered thread
// makes no system call but execve.

// runtimeCall is a system call the filtered thread may make, with the
// arguments that matter to a filter.
type runtimeCall struct {
	name string
	args [6]uint64
}

// directCalls lists the system calls, with representative arguments,
// that the direct start makes under the filters on this machine: the Go
// runtime on a locked thread (runtime/os_linux.go, proc.go, mem_linux.go,
// signal_unix.go), syscall.forkExec in the parent and
// forkAndExecInChild1 in the child (syscall/exec_linux.go), and the
// thread's end. withDir adds the child's chdir.
func directCalls(withDir bool) []runtimeCall {
	const (
		anyFD   = 3
		anyPtr  = 0xc000010000
		goMmapF = 0xffffffff // the runtime passes fd -1 as a 32-bit int
	)
	// include/uapi/linux/futex.h; the runtime uses the private forms.
	const futexWaitPrivate, futexWakePrivate = 0 | 128, 1 | 128
	rw := uint64(unix.PROT_READ | unix.PROT_WRITE)
	anon := uint64(unix.MAP_PRIVATE | unix.MAP_ANONYMOUS)
	calls := []runtimeCall{
		// The runtime: sleeping and waking threads, allocating, signals,
		// preempting other threads, a thread's end.
		{name: "futex", args: [6]uint64{anyPtr, futexWaitPrivate}},
		{name: "futex", args: [6]uint64{anyPtr, futexWakePrivate, 1}},
		{name: "mmap", args: [6]uint64{0, 1 << 16, rw, anon, goMmapF, 0}},
		{name: "mmap", args: [6]uint64{0, 1 << 26, unix.PROT_NONE, anon, goMmapF, 0}},
		{name: "mmap", args: [6]uint64{anyPtr, 1 << 16, rw, anon | unix.MAP_FIXED, goMmapF, 0}},
		{name: "munmap", args: [6]uint64{anyPtr, 1 << 16}},
		{name: "madvise", args: [6]uint64{anyPtr, 1 << 16, unix.MADV_DONTNEED}},
		{name: "madvise", args: [6]uint64{anyPtr, 1 << 16, unix.MADV_FREE}},
		{name: "madvise", args: [6]uint64{anyPtr, 1 << 21, unix.MADV_HUGEPAGE}},
		{name: "madvise", args: [6]uint64{anyPtr, 1 << 21, unix.MADV_NOHUGEPAGE}},
		{name: "rt_sigprocmask", args: [6]uint64{unix.SIG_BLOCK, anyPtr, 0, 8}},
		{name: "rt_sigprocmask", args: [6]uint64{unix.SIG_UNBLOCK, anyPtr, 0, 8}},
		{name: "rt_sigprocmask", args: [6]uint64{unix.SIG_SETMASK, anyPtr, anyPtr, 8}},
		{name: "rt_sigreturn"},
		{name: "sigaltstack", args: [6]uint64{anyPtr, 0}},
		{name: "sigaltstack", args: [6]uint64{0, anyPtr}},
		{name: "sched_yield"},
		{name: "nanosleep", args: [6]uint64{anyPtr, 0}},
		{name: "gettid"},
		{name: "getpid"},
		{name: "tgkill", args: [6]uint64{1000, 1001, uint64(unix.SIGURG)}},
		{name: "exit", args: [6]uint64{0}},
		// syscall.forkExec in the parent.
		{name: "pipe2", args: [6]uint64{anyPtr, unix.O_CLOEXEC}},
		{name: "clone", args: [6]uint64{unix.CLONE_VM | unix.CLONE_VFORK | uint64(unix.SIGCHLD), 0, anyPtr}},
		{name: "read", args: [6]uint64{anyFD, anyPtr, 8}},
		{name: "close", args: [6]uint64{anyFD}},
		{name: "wait4", args: [6]uint64{1000, anyPtr, 0, 0}},
		// forkAndExecInChild1 in the child.
		{name: "getppid"},
		{name: "prctl", args: [6]uint64{unix.PR_SET_PDEATHSIG, uint64(unix.SIGKILL)}},
		{name: "kill", args: [6]uint64{1000, uint64(unix.SIGKILL)}},
		{name: "dup3", args: [6]uint64{anyFD, anyFD + 1, unix.O_CLOEXEC}},
		{name: "dup3", args: [6]uint64{anyFD, 0, 0}},
		{name: "fcntl", args: [6]uint64{anyFD, unix.F_SETFD, 0}},
		{name: "prlimit64", args: [6]uint64{0, unix.RLIMIT_NOFILE, 0, anyPtr}},
		{name: "prlimit64", args: [6]uint64{0, unix.RLIMIT_NOFILE, anyPtr, 0}},
		{name: "execve", args: [6]uint64{anyPtr, anyPtr, anyPtr}},
		// The launching thread, closing its own descriptor table's
		// copies once the program runs (launch.Job.PrivateFDs).
		{name: "close_range", args: [6]uint64{0, 0xffffffff, 0}},
		{name: "write", args: [6]uint64{anyFD, anyPtr, 8}},
		{name: "exit", args: [6]uint64{253}},
		// presignal.Intercept's handler, for a signal that lands on the
		// thread before the fork, and the thread blocking every signal
		// after it.
		{name: "write", args: [6]uint64{anyFD, anyPtr, 1}},
		{name: "rt_sigprocmask", args: [6]uint64{unix.SIG_BLOCK, anyPtr, 0, 8}},
	}
	// The child resets every signal the runtime handles to its default
	// action (runtime: clearSignalHandlers).
	for sig := 1; sig <= 64; sig++ {
		if sig != int(unix.SIGKILL) && sig != int(unix.SIGSTOP) {
			calls = append(calls, runtimeCall{name: "rt_sigaction", args: [6]uint64{uint64(sig), anyPtr, 0, 8}})
		}
	}
	if withDir {
		calls = append(calls, runtimeCall{name: "chdir", args: [6]uint64{anyPtr}})
	}
	return calls
}

// directBlocker returns the first system call of directCalls that the
// filters (in installation order) do not simply allow, as "name(args)",
// or "" when the direct start may run under them. A call the machine's
// architecture does not have is not made there and counts as allowed.
func directBlocker(filters []bpf.Program, a *arch.Arch, withDir bool) string {
	for _, call := range directCalls(withDir) {
		nr, ok := a.Lookup(call.name)
		if !ok {
			continue
		}
		data := &bpf.SeccompData{Nr: int32(nr), Arch: a.AuditArch, Args: call.args}
		action := uint32(bpf.RetAllow)
		for _, f := range filters {
			ret, _, err := bpf.Evaluate(f, data, bpf.NativeEndian)
			if err != nil {
				return call.name + ": " + err.Error()
			}
			if bpf.Stricter(ret, action) {
				action = ret
			}
		}
		if bpf.ActionOf(action) != bpf.RetAllow {
			return fmt.Sprintf("%s%v", call.name, call.args)
		}
	}
	return ""
}

// mayStartDirect reports whether the command can start directly as far
// as its settings go; directStart also checks the filters.
func (c *Command) mayStartDirect() bool { return c.directSettings() == "" }

// directSettings says which setting keeps the command from starting
// directly: the re-executed stage handles what a forking thread cannot
// (an exec gate, new namespaces, test hooks, another stage binary).
func (c *Command) directSettings() string {
	switch {
	case c.Gate != nil:
		return "the exec gate lets the program's own execve through only in the re-executed stage"
	case c.NewUser || c.NewNetwork:
		return "the default profile's clone rules refuse namespace flags, and a user namespace needs a single-threaded parent"
	case c.failStage != "" || c.forceStage:
		return "a test hook of the re-executed stage"
	case c.InitPath != "":
		return "an init stage binary was named"
	case c.Flags&^(seccomp.FlagLog|seccomp.FlagSpecAllow) != 0:
		return "filter flags other than log and spec_allow"
	case arch.Native() == nil:
		return "unknown architecture"
	}
	return ""
}

// directStart says why the command cannot start directly, or "" when it
// can: its settings allow it (directSettings) and so do its filters,
// which must not deny the Go runtime on the filtered thread.
func (c *Command) directStart() string {
	if why := c.directSettings(); why != "" {
		return why
	}
	if sameFilters(c.Filters, c.runtimeOK) {
		return "" // precompiled with the verdict
	}
	if why := directBlocker(c.Filters, arch.Native(), c.Dir != ""); why != "" {
		return "the filters do not allow " + why + ", which the Go runtime may make on the filtered thread"
	}
	return ""
}

// WhyNotDirect says why Start would start the program through the
// re-executed init stage rather than directly from a thread of the
// calling process (see the package documentation), or "" when it would
// start it directly.
func (c *Command) WhyNotDirect() string { return c.directStart() }

// sameFilters reports whether a and b are the same programs, not merely
// equal ones: a caller who replaces Filters after UseProfile gets the
// check run on the new ones.
func sameFilters(a, b []bpf.Program) bool {
	if len(a) != len(b) || len(a) == 0 {
		return false
	}
	for i := range a {
		if len(a[i]) != len(b[i]) || len(a[i]) == 0 || &a[i][0] != &b[i][0] {
			return false
		}
	}
	return true
}

// startDirect is Start's direct path (see directStart), with the
// launcher Start started.
func (c *Command) startDirect(cfg *initstage.Config, l *launch.Thread) error {
	// What the re-executed stage checks after its chdir is checked here,
	// before any filter, with full capabilities as the stage has them.
	target := cfg.Path
	if c.Dir != "" && !filepath.IsAbs(target) {
		target = filepath.Join(c.Dir, target)
	}
	if c.Dir != "" {
		if st, err := os.Stat(c.Dir); err != nil || !st.IsDir() {
			e := unix.ENOTDIR
			if err != nil {
				e = errnoOf(err)
			}
			l.Cancel()
			return &StartError{Code: ExitInternal, Msg: "change directory to " + c.Dir, Errno: e}
		}
	}
	if st := initstage.CheckExecutable(target); st != nil {
		l.Cancel()
		return &StartError{Code: st.Code, Msg: st.Msg, Errno: unix.Errno(st.Errno)}
	}
	// Without a listener the thread takes a descriptor table of its own
	// and marks what the program must not get close-on-exec there, which
	// is cheaper than listing the process's descriptors. The listener
	// must reach the process's table, so a supervised start lists them
	// and has the child close them.
	job := &launch.Job{Config: cfg, PrivateFDs: c.Supervise == nil && closeRangeWorks(cfg.NrCloseRange), Ready: c.relay.Ready()}
	files, err := c.childFiles(!job.PrivateFDs)
	if err != nil {
		l.Cancel()
		return err
	}
	job.Attr = &syscall.ProcAttr{
		Dir:   c.Dir,
		Env:   cfg.Env,
		Files: files,
		Sys:   &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL},
	}
	// The kernel log opens before the thread may fork: the program may
	// be killed as soon as it starts, and the audit record of that must
	// come after the point where the reader starts. (Without signals to
	// wait for, nothing else holds the fork back.)
	c.kmsg = openKmsg()
	c.thread = l
	l.Give(job)
	var r launch.Result
	if c.Supervise != nil {
		// The thread waits for the supervisor before it forks.
		if r = <-l.Installed(); r.Failed == nil {
			if err := c.Supervise(r.Listener); err != nil {
				l.Proceed(false)
				c.abandonDirect()
				return startErr("start the supervisor: %v", err)
			}
			l.Proceed(true)
		}
	}
	if r.Failed == nil {
		// Without a listener the thread goes on from the filters to the
		// fork: a failure before them comes on Installed instead.
		select {
		case r = <-l.Started():
		case r = <-l.Installed():
		}
	}
	if r.Failed != nil {
		c.abandonDirect()
		return &StartError{Code: r.Failed.Code, Msg: r.Failed.Msg, Errno: unix.Errno(r.Failed.Errno)}
	}
	if r.Err != nil {
		c.abandonDirect()
		return c.execFailure(cfg.Path, r.Err)
	}
	c.setPid(r.Pid)
	c.how = "direct"
	c.awaitSubscription()
	c.startedOK = true
	return nil
}

// abandonDirect undoes a direct start that failed before the program
// ran: the syscall package has reaped any child.
func (c *Command) abandonDirect() {
	c.stopForwarding()
	c.kmsg.Close()
	c.Finish()
	c.endThread()
	c.waited = true
}

// endThread lets the filtered thread of a direct start end.
func (c *Command) endThread() { c.thread.End() }

// execFailure reports what ForkExec's child failed at. The child's steps
// before execve (descriptors, working directory) were checked before the
// filters went on, so the error is almost always execve's own.
func (c *Command) execFailure(path string, err error) error {
	e, ok := err.(syscall.Errno)
	if !ok {
		return startErr("start %s: %v", path, err)
	}
	se := &StartError{Code: ExitCannotExecute, Msg: c.Path, Errno: unix.Errno(e)}
	switch e {
	case unix.ENOENT, unix.ENOTDIR:
		se.Code = ExitNotFound
	case unix.EPERM, unix.EACCES, unix.ENOSYS:
		if _, err := os.Stat(path); err == nil {
			se.Msg = initstage.ExecDenied
			return se
		}
	}
	se.Why = ExecWhy(path, se.Errno)
	return se
}

// childFiles maps the program's descriptors: 0, 1 and 2, and the kept
// ones under their own numbers. The syscall package closes in the child
// the entries given as -1; with closeAll, the list covers every
// descriptor the process has open, since one beyond the list would stay
// open when it lacks close-on-exec.
func (c *Command) childFiles(closeAll bool) ([]uintptr, error) {
	top := 2
	for _, fd := range c.KeepFDs {
		top = max(top, fd)
	}
	if closeAll {
		open, err := highestFD()
		if err != nil {
			return nil, startErr("list syscage's open descriptors: %v", err)
		}
		top = max(top, open)
	}
	files := make([]uintptr, top+1)
	for i := range files {
		files[i] = ^uintptr(0)
	}
	files[0] = orStd(c.Stdin, os.Stdin).Fd()
	files[1] = orStd(c.Stdout, os.Stdout).Fd()
	files[2] = orStd(c.Stderr, os.Stderr).Fd()
	for _, fd := range c.KeepFDs {
		files[fd] = uintptr(fd)
	}
	return files, nil
}

// highestFD returns the highest descriptor number the process has open.
func highestFD() (int, error) {
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return 0, err
	}
	top := 0
	for _, e := range entries {
		if n, err := strconv.Atoi(e.Name()); err == nil {
			top = max(top, n)
		}
	}
	return top, nil
}

func errnoOf(err error) unix.Errno {
	var e unix.Errno
	if pe, ok := err.(*os.PathError); ok {
		err = pe.Err
	}
	if en, ok := err.(syscall.Errno); ok {
		e = en
	}
	return e
}

// closeRangeWorks reports whether the kernel has close_range (Linux
// 5.9), which the launching thread needs to close its private table's
// copies after the fork: closing a range beyond any open descriptor
// succeeds there and fails (ENOSYS) before.
func closeRangeWorks(nr int) bool {
	if nr <= 0 {
		return false
	}
	const far = 1<<31 - 1
	_, _, e := unix.RawSyscall(uintptr(nr), far, far, 0)
	return e == 0
}
