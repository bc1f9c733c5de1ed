package initstage

import (
	"runtime"
	"sync/atomic"
	"syscall"
	"unsafe"
)

// HardenThread applies the stage's hardening to the calling thread:
// the capability sets (unless cfg.KeepCaps), then no_new_privs. Both
// belong to the thread and pass to a child it forks, so a parent that
// forks the program from a thread of its own (sandbox.Command's direct
// start) hardens that thread only. The caller must have locked its
// goroutine to the thread for good: a thread with fewer capabilities must
// never run another goroutine.
func HardenThread(cfg *Config) *Status {
	if !cfg.KeepCaps {
		if msg, e := applyCaps(cfg.Caps); msg != "" {
			return fail(ExitInternal, e, msg)
		}
	}
	if _, _, e := syscall.RawSyscall6(syscall.SYS_PRCTL, prSetNoNewPrivs, 1, 0, 0, 0, 0); e != 0 {
		return fail(ExitInternal, e, "set no_new_privs")
	}
	return nil
}

// tablesCopied records that a thread has taken a descriptor table of
// its own (PrivateFDs).
var tablesCopied atomic.Bool

// TablesCopied reports whether a thread of the process has taken a
// descriptor table of its own (PrivateFDs), or is about to: a descriptor
// the process opens after that is not in the thread's table, where its
// number may name another file. presignal.Intercept asks, since its
// signal handlers write to a pipe on whichever thread a signal lands.
func TablesCopied() bool { return tablesCopied.Load() }

// PrivateFDs gives the calling thread a descriptor table of its own
// (unshare(CLONE_FILES): a copy, the process's other threads keep
// theirs) and marks every descriptor in it close-on-exec but 0, 1, 2 and
// keep, whose close-on-exec flags it clears. A child the thread forks
// copies that table, so its execve closes the rest, while the process
// itself is left as it was. The caller must have locked its goroutine to
// the thread for good.
func PrivateFDs(keep []int, nrCloseRange int) *Status {
	tablesCopied.Store(true)
	if _, _, e := syscall.RawSyscall(syscall.SYS_UNSHARE, syscall.CLONE_FILES, 0, 0); e != 0 {
		return fail(ExitInternal, e, "give the launching thread a descriptor table of its own")
	}
	keep = append([]int{0, 1, 2}, keep...)
	if e := markCloseOnExec(keep, nrCloseRange); e != 0 {
		return fail(ExitInternal, e, "mark file descriptors close-on-exec")
	}
	return nil
}

// InstallOnThread installs cfg.Filters, first to last, on the calling
// thread alone (no TSYNC), the first with a notification listener when
// cfg.Listener, and returns that listener (-1 without one). On a failure
// the thread may already carry some of the filters: the caller must end
// it and start nothing from it. cfg.Gate is not supported: the exec
// gate exists for a program's own execve, which a forking parent does
// not make.
func InstallOnThread(cfg *Config) (listener int, st *Status) {
	if cfg.Gate != nil {
		return -1, fail(ExitInternal, 0, "the exec gate needs the re-executed init stage")
	}
	progs := make([]*sockFprog, 0, len(cfg.Filters))
	for i, f := range cfg.Filters {
		p := newSockFprog(f)
		if p == nil {
			return -1, fail(ExitInternal, 0, "filter "+itoa(i)+" is not a filter")
		}
		progs = append(progs, p)
	}
	listener = -1
	for i, p := range progs {
		flags := uintptr(cfg.Flags)
		if i == 0 && cfg.Listener {
			flags |= seccompFlagListener | uintptr(cfg.ListenerFlags)
		}
		fd, _, e := syscall.RawSyscall(uintptr(cfg.NrSeccomp), seccompSetModeFilt, flags, uintptr(unsafe.Pointer(p)))
		if e != 0 {
			return -1, fail(ExitInternal, e, "install seccomp filter "+itoa(i+1)+" of "+itoa(len(progs))+" (do the filters installed before it deny seccomp(2)?)")
		}
		if i == 0 && cfg.Listener {
			listener = int(fd)
		}
	}
	runtime.KeepAlive(progs)
	return listener, nil
}

// CheckExecutable reports, as a Status with ExitNotFound or
// ExitCannotExecute, why execve of path would fail for want of the file
// or of permission to execute it; nil when it would not.
func CheckExecutable(path string) *Status {
	var st syscall.Stat_t
	if err := syscall.Stat(path, &st); err != nil {
		e := errnoOf(err)
		if e == syscall.ENOENT || e == syscall.ENOTDIR {
			return fail(ExitNotFound, e, path)
		}
		return fail(ExitCannotExecute, e, path)
	}
	if st.Mode&syscall.S_IFMT == syscall.S_IFDIR {
		return fail(ExitCannotExecute, syscall.EISDIR, path)
	}
	if err := syscall.Faccessat(_AT_FDCWD, path, 1, atEAccess); err != nil {
		return fail(ExitCannotExecute, errnoOf(err), path)
	}
	return nil
}
