package sandbox

import (
	"os"
	"runtime/debug"

	"golang.org/x/sys/unix"

	"github.com/syscage/syscage/sandbox/initstage"
	"github.com/syscage/syscage/sandbox/launch"
)

// Exec runs the program in place of the calling process, with no
// supervisor: the calling process hardens one of its threads as the init
// stage would (descriptors, no_new_privs, capabilities, a new network
// namespace), installs the filters on it and executes the program from
// it. The process keeps its pid and its parent; the program's exit
// status reaches that parent directly. The Go runtime's other threads
// end at execve without ever running under the filters.
//
// It saves the start of a second program (the re-executed init stage)
// and costs what only a supervisor can do: no explanation of a death by
// the filter, no exec gate (a profile that denies execve is refused), no
// new user namespace (the kernel creates one only for a single-threaded
// process: NewUser is refused), and ForwardSignals does not apply (there
// is no one to forward them). Descriptors other than 0, 1, 2 and KeepFDs
// are marked close-on-exec rather than closed, so that the runtime keeps
// working until execve closes them.
//
// Exec returns only with a *StartError from before the filters, and then
// the process should exit: its working directory, standard descriptors
// and close-on-exec flags may have changed, and the calling goroutine
// stays locked to its OS thread, whose capabilities and network
// namespace may have changed too. A failure of execve under the
// filters is reported on the standard error and ends the process with
// ExitNotFound, ExitCannotExecute or ExitInternal.
func (c *Command) Exec() error {
	if c.pid != 0 {
		return startErr("the command was already started")
	}
	if c.NewUser {
		return startErr("a new user namespace needs a single-threaded process, which a program executed in place of syscage is not: start it under a supervisor (Start) instead")
	}
	if c.Gate != nil {
		return startErr("the profile denies execve: only a supervisor can let the program's own start through (see ExecGate); start it with Start instead")
	}
	cfg, err := c.config()
	if err != nil {
		return err
	}
	d := initstage.Direct{UnshareNet: c.NewNetwork, Stdio: [3]int{-1, -1, -1}}
	for i, f := range []*os.File{c.Stdin, c.Stdout, c.Stderr} {
		if f != nil {
			d.Stdio[i] = int(f.Fd())
		}
	}
	// The filtered thread must make no system call but seccomp and
	// execve: no garbage collection (SetGCPercent waits for a cycle in
	// progress to end).
	gc := debug.SetGCPercent(-1)
	st := launch.Exec(cfg, d, false)
	debug.SetGCPercent(gc)
	return &StartError{Code: st.Code, Msg: st.Msg, Errno: unix.Errno(st.Errno)}
}
