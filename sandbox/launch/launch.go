// Package launch forks a program from a thread of the calling process
// that carries the program's hardening and seccomp filters: sandbox's
// direct start, and syscage run's quick path, which runs from package
// initialisation and so depends only on the runtime, package syscall
// and package initstage.
//
// Capabilities, no_new_privs, seccomp filters and (after
// unshare(CLONE_FILES)) the descriptor table belong to a thread, and a
// child the thread forks inherits them. A Thread is a goroutine locked
// to an OS thread for good: given a Job, it hardens its thread, installs
// the filters on it alone and forks and executes the program with
// syscall.ForkExec; it then waits, doing nothing, until End, and ends
// with its thread, which keeps the program's parent-death signal (tied
// to the forking thread) armed until then. Go code runs under the
// filters on that thread, so the filters must allow the calls that code
// makes (sandbox checks them before it gives a Job). StartHere does the
// same on the calling thread, for a caller that can give that thread up
// for good (the quick path, from package initialisation).
package launch

import (
	"path"
	"runtime"
	"sync"
	"syscall"
	"unsafe"

	"github.com/syscage/syscage/sandbox/initstage"
)

// Go starts a Thread's goroutine. Tests replace it to run the goroutine
// on a thread of their choosing.
var Go = func(f func()) { go f() }

// Job is what a Thread does.
type Job struct {
	Config *initstage.Config
	Attr   *syscall.ProcAttr
	// PrivateFDs gives the thread a descriptor table of its own in which
	// every descriptor but 0, 1, 2 and Config.KeepFDs is close-on-exec
	// (initstage.PrivateFDs), and closes them all there once the
	// program runs (close_range, which the filters must allow, with
	// Config.NrCloseRange set); without it, Attr.Files must close them.
	PrivateFDs bool
	// Ready, when not nil, is closed once the program may run: once the
	// signals the parent forwards are subscribed to, say (or a signal
	// sent to the parent once the program runs could end the parent
	// instead of reaching the program), and the kernel log is open to
	// read the program's kill from.
	Ready <-chan struct{}
}

// Result is what a Thread reports.
type Result struct {
	Pid      int
	Listener int               // Config.Listener's notification listener
	Failed   *initstage.Status // a failure before the program started
	Err      error             // ForkExec's
}

// Thread is the goroutine of a filtered thread.
type Thread struct {
	job       chan *Job // nil: not needed after all
	installed chan Result
	proceed   chan bool
	started   chan Result
	done      chan struct{}
	end       sync.Once
}

// New starts a Thread, which waits for Give or Cancel. Starting it
// before the Job is known overlaps getting a thread (a tenth of a
// millisecond or more) with the caller's own work.
func New() *Thread {
	t := &Thread{
		job:       make(chan *Job, 1),
		installed: make(chan Result, 1),
		proceed:   make(chan bool, 1),
		started:   make(chan Result, 1),
		done:      make(chan struct{}),
	}
	Go(func() { t.run(nil) })
	return t
}

// Cancel lets an unused Thread's goroutine go, its thread untouched. A
// nil Thread is fine.
func (t *Thread) Cancel() {
	if t != nil {
		t.job <- nil
	}
}

// Give hands the Thread its Job, once.
func (t *Thread) Give(j *Job) { t.job <- j }

// Installed reports a failure before the fork, or, for a Job with
// Config.Listener, the listener once the filters are on: the Thread then
// waits for Proceed.
func (t *Thread) Installed() <-chan Result { return t.installed }

// Proceed lets a Thread with a listener fork (true: a supervisor serves
// the listener) or end (false).
func (t *Thread) Proceed(ok bool) { t.proceed <- ok }

// Started reports the fork: the program's pid, or ForkExec's error.
func (t *Thread) Started() <-chan Result { return t.started }

// End lets the Thread, and its thread, end: call it once the program
// has been reaped (or never started). It may be called more than once.
func (t *Thread) End() {
	if t != nil {
		t.end.Do(func() { close(t.done) })
	}
}

// run is the filtered thread. It never unlocks its thread once it has
// changed it, so the runtime ends the thread with the goroutine. locked,
// when not nil, is closed once the goroutine holds its thread.
func (t *Thread) run(locked chan<- struct{}) {
	runtime.LockOSThread()
	if syscall.Gettid() == syscall.Getpid() {
		// The process's main thread: the runtime would keep it, parked,
		// rather than end it. Hand the work to a goroutine on another
		// thread; while this one holds the main thread, it cannot run
		// there.
		moved := make(chan struct{})
		go t.run(moved)
		<-moved
		runtime.UnlockOSThread()
		return
	}
	if locked != nil {
		close(locked)
	}
	j := <-t.job
	if j == nil {
		runtime.UnlockOSThread() // untouched: give it back
		return
	}
	listener, st := prepare(j)
	if st != nil {
		t.installed <- Result{Failed: st}
		return
	}
	if j.Config.Listener {
		// The parent serves the listener before the program may run.
		t.installed <- Result{Listener: listener}
		if !<-t.proceed {
			return
		}
	}
	pid, err := fork(j, true)
	t.started <- Result{Pid: pid, Err: err}
	if err == nil {
		<-t.done
	}
}

// prepare gives the calling thread j's descriptor table, hardening and
// filters, and returns the filters' notification listener (-1 without
// one).
func prepare(j *Job) (listener int, st *initstage.Status) {
	if j.PrivateFDs {
		if st := initstage.PrivateFDs(j.Config.KeepFDs, j.Config.NrCloseRange); st != nil {
			return -1, st
		}
	}
	if st := initstage.HardenThread(j.Config); st != nil {
		return -1, st
	}
	return initstage.InstallOnThread(j.Config)
}

// fork starts j's program from the calling thread, prepared, once
// j.Ready is closed; closeCopies closes the thread's own descriptor
// table's copies afterwards (PrivateFDs).
func fork(j *Job, closeCopies bool) (pid int, err error) {
	if j.Ready != nil {
		<-j.Ready
	}
	// From here on everything runs under the filters.
	pid, err = syscall.ForkExec(j.Config.Path, j.Config.Argv, j.Attr)
	// From here on the thread takes no signal meant for the process,
	// whose handler would run under the program's filters and, with
	// PrivateFDs, with a descriptor table about to be emptied or missing
	// the process's later descriptors (presignal.Intercept's handlers
	// write to a pipe). Blocked only now: the program starts with the
	// signal mask the thread had at the fork.
	const sigBlock = 0 // SIG_BLOCK, include/uapi/asm-generic/signal-defs.h
	blockAll := ^uint64(0)
	syscall.RawSyscall6(syscall.SYS_RT_SIGPROCMASK, sigBlock, uintptr(unsafe.Pointer(&blockAll)), 0, 8, 0, 0)
	if j.PrivateFDs && closeCopies {
		// The thread's own table holds copies of every descriptor the
		// process had: the write end of a pipe the program writes to
		// among them, which would keep the reader from seeing the end
		// until the thread ends. Closing them here leaves the process's
		// table alone. (The runtime uses no descriptor on this thread:
		// a locked thread only runs its goroutine.)
		syscall.RawSyscall(uintptr(j.Config.NrCloseRange), 0, ^uintptr(0)>>32, 0)
	}
	return pid, err
}

// StartHere does what a Thread does with j, on the calling thread and
// without a listener: it locks the calling goroutine to its thread for
// good, gives the thread j's descriptor table, hardening and filters,
// forks the program from it and blocks every signal there. The thread
// stays so until the process ends, which the program's end should bring
// about (its parent-death signal is the thread's end): neither the
// goroutine nor the runtime on its behalf may need a capability or a
// system call the filters refuse, or open a descriptor (it would be in
// this thread's table alone) or use one the process opens later
// (which is not). The runtime opens its network poller's on first use:
// the process must not use pollable files, network connections or
// timers on this goroutine. That fits the main goroutine during package
// initialisation, which runs on the main thread alone, in a process that
// starts the one program and waits for it (syscage run's quick path): it
// saves the launching thread's start, a tenth of a millisecond or more.
// Before the fork (Result.Failed), or when the fork fails (Result.Err),
// the process must not go on as if nothing had happened either.
func StartHere(j *Job) Result {
	// Locked for good (for the runtime, not only for package
	// initialisation): from a thread locked so, the runtime creates new
	// threads from its template thread, which this makes if there is
	// none yet, rather than from this thread, whose filters, hardening
	// and descriptor table they would inherit.
	runtime.LockOSThread()
	if j.Config.Listener {
		return Result{Failed: &initstage.Status{Code: initstage.ExitInternal, Msg: "StartHere serves no listener"}}
	}
	if _, st := prepare(j); st != nil {
		return Result{Failed: st}
	}
	// The thread keeps its table's copies: the runtime may use a
	// descriptor of the process on this thread (its network poller's),
	// and they keep nothing open longer than the process does, which
	// ends with the program.
	pid, err := fork(j, false)
	return Result{Pid: pid, Err: err}
}

// DefaultPath is the PATH a program gets when its environment has none,
// as in a container.
const DefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// LookPath finds the program name as execve will see it: name itself
// when it holds a '/', else the first executable file of that name in
// the PATH of env (of the process's own environment when env is nil,
// DefaultPath when env has none). It also returns the PATH it searched;
// ok is false when nothing was found.
//
// It leaves strings and path/filepath alone (path's Join is filepath's
// on Linux): syscage run's quick path imports this package, and Go
// initialises a package only after those it imports, strings after
// unicode, which would have the quick path wait for a dozen packages it
// does not use (cmd/syscage's TestSubscriptionInitialisedEarly).
func LookPath(name string, env []string) (found, searched string, ok bool) {
	for i := range len(name) {
		if name[i] == '/' {
			return name, "", true
		}
	}
	searched, _ = syscall.Getenv("PATH")
	if env != nil {
		seen := false
		for _, kv := range env {
			if len(kv) >= len("PATH=") && kv[:len("PATH=")] == "PATH=" {
				searched, seen = kv[len("PATH="):], true
			}
		}
		if !seen {
			searched = DefaultPath
		}
	}
	if searched == "" {
		return "", searched, false // no directory, as filepath.SplitList has it
	}
	for rest, more := searched, true; more; {
		var dir string
		dir, rest, more = cutColon(rest)
		if dir == "" {
			dir = "."
		}
		p := path.Join(dir, name)
		var st syscall.Stat_t
		if syscall.Stat(p, &st) == nil && st.Mode&syscall.S_IFMT != syscall.S_IFDIR && syscall.Access(p, 1) == nil {
			return p, searched, true
		}
	}
	return "", searched, false
}

// cutColon splits list at its first ':', as strings.Cut would.
func cutColon(list string) (first, rest string, found bool) {
	for i := range len(list) {
		if list[i] == ':' {
			return list[:i], list[i+1:], true
		}
	}
	return list, "", false
}

// Exec runs initstage.Exec on the calling goroutine, which it locks to
// its thread for good (after a failure the thread may hold fewer
// capabilities or another network namespace, which no other goroutine
// must inherit; a goroutine of its own would cost a thread switch), and
// returns only with initstage.Exec's failure. It sees to what
// initstage.Exec needs but garbage collection, which the caller turns
// off (runtime/debug) unless the filters allow the runtime's calls: a P
// for the thread that reports a failed execve while the filtered one
// holds its own, and a fresh time slice, since the runtime's monitor
// signals a goroutine that ran 10 ms without yielding and the handler
// would run under the filters (yielding while locked would cost a
// thread hand-off). runtimeAllowed says that the filters allow every
// call the runtime makes on the thread (sandbox's direct start checks
// the list), the handler's among them: the time slice does not matter
// then, and the hand-off it costs, 30 µs here, is spared.
func Exec(cfg *initstage.Config, d initstage.Direct, runtimeAllowed bool) *initstage.Status {
	if runtime.GOMAXPROCS(0) < 2 {
		runtime.GOMAXPROCS(2)
	}
	if !runtimeAllowed {
		runtime.Gosched()
	}
	runtime.LockOSThread()
	return initstage.Exec(cfg, d)
}

// Wait waits for pid, a child of the process, to end without reaping
// it, calls between (which may still signal pid safely, say to stop a
// relay of signals to it), then reaps it and returns its status: until
// the reaping the pid cannot name another process.
func Wait(pid int, between func()) (syscall.WaitStatus, error) {
	// include/uapi/linux/wait.h: P_PID, WEXITED, WNOWAIT; siginfo_t is
	// 128 bytes.
	const pPID, wExited, wNoWait = 1, 4, 0x1000000
	var info [128]byte
	for {
		_, _, e := syscall.Syscall6(syscall.SYS_WAITID, pPID, uintptr(pid), uintptr(unsafe.Pointer(&info[0])), wExited|wNoWait, 0, 0)
		if e == syscall.EINTR {
			continue
		}
		if e != 0 {
			return 0, e
		}
		break
	}
	if between != nil {
		between()
	}
	return Reap(pid)
}

// Reap reaps pid, a child of the process, waiting for it to end.
func Reap(pid int) (syscall.WaitStatus, error) {
	var ws syscall.WaitStatus
	for {
		_, err := syscall.Wait4(pid, &ws, 0, nil)
		if err != syscall.EINTR {
			return ws, err
		}
	}
}

// OpenKernelLog opens the kernel log (/dev/kmsg) at its end, so that
// what is read from it is what the kernel logs from now on: the audit
// record of a seccomp kill of a program started after, for one.
func OpenKernelLog() (int, error) {
	fd, err := syscall.Open("/dev/kmsg", syscall.O_RDONLY|syscall.O_NONBLOCK|syscall.O_CLOEXEC, 0)
	if err != nil {
		return -1, err
	}
	if _, err := syscall.Seek(fd, 0, 2); err != nil { // SEEK_END
		syscall.Close(fd)
		return -1, err
	}
	return fd, nil
}
