// Package quickrun runs `syscage run [--exec] [--] CMD [ARG...]` (the
// command with no other option, under the embedded default profile)
// from package initialisation, before syscage's heavier packages (the
// command line, the policy parsers, yaml) are initialised, and ends the
// process with the program's status: a Go program pays for every
// package it links at start-up, about 0.3 ms here, whatever it then
// runs.
//
// It does what sandbox.Command's direct start (or, with --exec, its
// Exec) does for that command, with the same pieces (packages launch,
// presignal and initstage) and the default profile's filter as sandbox
// precompiled it (zdefault_amd64.go, written by `go generate
// ./cmd/syscage/internal/quickrun`; a test fails when it is stale),
// which it uses only while the embedded profile text is still the one it
// was compiled from. Two things it does its own way, to start sooner:
// it catches the forwarded signals with handlers of its own
// (presignal.Intercept), and it forks the program from the main thread
// (launch.StartHere) rather than from a launching thread. It leaves
// everything it does not do the same way to the command line, before
// anything has run: any other option, a program that cannot be found or
// executed, no seccomp filters, another architecture, SYSCAGE_NO_QUICKRUN
// set; and a start that fails at the fork to the command line run again
// (RetryEnv). When the filter kills the program, it runs syscage again
// to explain the kill (ExplainEnv), as the command line does.
package quickrun

import (
	"os"
	"strconv"
	"syscall"

	"github.com/syscage/syscage/internal/execerr"
	"github.com/syscage/syscage/policy/profiles/embedded"
	"github.com/syscage/syscage/sandbox/initstage"
	"github.com/syscage/syscage/sandbox/launch"
	"github.com/syscage/syscage/sandbox/presignal"
)

// DisableEnv, when set, leaves every `syscage run` to the command line.
const DisableEnv = "SYSCAGE_NO_QUICKRUN"

// ExplainEnv hands a kill by the filter over to the command line:
// "PID,SIGNAL,KMSGFD", with KMSGFD the kernel log opened before the
// program started (-1 when it could not be), inherited.
const ExplainEnv = "SYSCAGE_QUICKRUN_KILLED"

// RetryEnv hands a start that failed before the program ran over to the
// command line, which starts it again and reports the failure in its
// words. The command line removes it from the environment first.
const RetryEnv = "SYSCAGE_QUICKRUN_RETRY"

func init() {
	for _, v := range []string{DisableEnv, ExplainEnv, RetryEnv} {
		if _, set := syscall.Getenv(v); set {
			return
		}
	}
	if code, ran := Run(os.Args[1:]); ran {
		os.Exit(code)
	}
}

// Program returns the program and its arguments when args (the command
// line after syscage's own name) are `run [--exec] [--] CMD [ARG...]`
// with no other option, or nil; inPlace reports --exec.
func Program(args []string) (argv []string, inPlace bool) {
	if len(args) < 2 || args[0] != "run" {
		return nil, false
	}
	rest := args[1:]
	if rest[0] == "--exec" {
		rest, inPlace = rest[1:], true
	}
	if len(rest) == 0 {
		return nil, false
	}
	if rest[0] == "--" {
		rest = rest[1:]
	} else if len(rest[0]) > 0 && rest[0][0] == '-' {
		return nil, false // an option
	}
	if len(rest) == 0 || rest[0] == "" {
		return nil, false
	}
	return rest, inPlace
}

// Run runs the program args name, if quickrun can, and returns the exit
// code syscage run gives; ran is false, and nothing of the program has
// run, when it cannot: the command line then does everything.
func Run(args []string) (code int, ran bool) {
	argv, inPlace := Program(args)
	if argv == nil || defaultFilter == nil {
		return 0, false
	}
	// The kernel log, which a kill by the filter is read from, takes the
	// kernel 40-90 µs to open (it allocates the reader's buffer): another
	// thread opens it while this one checks and gets the program ready.
	// It must be open before the program runs, since reading starts at
	// the end of the log as it is then.
	kmsg, kmsgOpen := -1, make(chan struct{})
	if !inPlace {
		go func() {
			kmsg, _ = launch.OpenKernelLog() // -1 when it cannot be read
			close(kmsgOpen)
		}()
	}
	declined := func() (int, bool) {
		if !inPlace {
			<-kmsgOpen
			if kmsg >= 0 {
				syscall.Close(kmsg)
			}
		}
		return 0, false
	}
	if text, ok := embedded.Source("default"); !ok || string(text) != defaultText {
		return declined() // an edited profile: the command line compiles it
	}
	path, _, ok := launch.LookPath(argv[0], nil)
	if !ok || initstage.CheckExecutable(path) != nil || !filtersAvailable() {
		return declined() // the command line says why, in its words
	}
	env := os.Environ()
	cfg := &initstage.Config{
		Path:         path,
		Argv:         argv,
		Env:          env,
		Filters:      [][]byte{defaultFilter},
		Flags:        defaultFlags,
		Caps:         defaultCaps,
		NrSeccomp:    nrSeccomp,
		NrCloseRange: nrCloseRange,
	}
	if inPlace {
		return execInPlace(cfg), true
	}
	// Handlers of syscage's own, not os/signal's subscription: the
	// program may not run before the subscription is complete, which
	// os/signal takes half a millisecond here to be. (Package runearly,
	// initialised after this one, does the same for the command line.)
	presignal.Intercept()
	relay := presignal.NewRelay()
	// Complete at once where Intercept has handlers of its own.
	<-relay.Ready()
	// The program is forked from this thread, the main one, rather than
	// from a launching thread of its own, whose start takes a tenth of a
	// millisecond or more: package initialisation runs the main
	// goroutine on the main thread alone, and this one does not leave it
	// before the process ends. From here on the thread is hardened and
	// filtered as the program is, with a descriptor table of its own;
	// what needs the process as it was runs on another thread
	// (rerun).
	r := launch.StartHere(&launch.Job{
		Config:     cfg,
		Attr:       &syscall.ProcAttr{Env: env, Files: []uintptr{0, 1, 2}, Sys: &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}},
		PrivateFDs: true,
		Ready:      kmsgOpen,
	})
	if r.Failed != nil || r.Err != nil {
		// Nothing of the program ran: the command line starts it again,
		// in a new process since this thread has changed, and reports
		// what fails.
		relay.Stop()
		rerun(func() string { return RetryEnv + "=1" })
		return 125, true // the command line could not be run
	}
	relay.SetPid(r.Pid)
	ws, _ := launch.Wait(r.Pid, relay.Halt) // the process ends next
	switch {
	case ws.Exited():
		return ws.ExitStatus(), true
	case ws.Signaled() && ws.Signal() == syscall.SIGSYS:
		explain(r.Pid, ws.Signal(), kmsg)
		return 128 + int(ws.Signal()), true // explain did not run
	case ws.Signaled():
		return 128 + int(ws.Signal()), true
	}
	return 125, true
}

// explain runs syscage again, with the same arguments and ExplainEnv, so
// that the command line prints why the filter killed pid and exits as
// syscage run does. It returns only when that cannot be done.
func explain(pid int, sig syscall.Signal, kmsg int) {
	rerun(func() string {
		if kmsg >= 0 {
			if _, _, e := syscall.RawSyscall(syscall.SYS_FCNTL, uintptr(kmsg), syscall.F_SETFD, 0); e != 0 {
				kmsg = -1
			}
		}
		return ExplainEnv + "=" + strconv.Itoa(pid) + "," + strconv.Itoa(int(sig)) + "," + strconv.Itoa(kmsg)
	})
}

// rerun executes syscage again, with the same arguments and the
// variable handOver returns added to the environment, and returns only
// when that fails. Both run on a thread other than the calling one, the
// main thread, which started the program hardened, filtered and with a
// descriptor table of its own (launch.StartHere): another has syscage's
// descriptors, capabilities and no filter, which an execve passes on.
// The main goroutine runs on the main thread alone during package
// initialisation, so no other goroutine runs there.
func rerun(handOver func() string) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		syscall.Exec("/proc/self/exe", os.Args, append(os.Environ(), handOver()))
	}()
	<-done
}

// Killed reads ExplainEnv: the program's pid, its signal and the kernel
// log's descriptor; ok is false when the variable is absent or
// malformed.
func Killed() (pid int, sig syscall.Signal, kmsgFD int, ok bool) {
	v, set := syscall.Getenv(ExplainEnv)
	if !set {
		return 0, 0, 0, false
	}
	// Three comma-separated numbers, split by hand: this package must not
	// import strings (see TestSubscriptionInitialisedEarly).
	var f [3]int
	for i := range f {
		field, rest, more := v, "", false
		for j := range len(v) {
			if v[j] == ',' {
				field, rest, more = v[:j], v[j+1:], true
				break
			}
		}
		if more != (i < len(f)-1) {
			return 0, 0, 0, false // fewer or more than three
		}
		n, err := strconv.Atoi(field)
		if err != nil {
			return 0, 0, 0, false
		}
		f[i], v = n, rest
	}
	if f[0] <= 0 || f[1] <= 0 || f[1] > 64 {
		return 0, 0, 0, false
	}
	return f[0], syscall.Signal(f[1]), f[2], true
}

// execInPlace is `syscage run --exec`: the process hardens one of its
// threads, installs the filter on it and executes the program from it,
// as sandbox.Command.Exec does. It returns only when a step before the
// filter failed, with the exit code; the process must then end (the
// thread and the descriptors' close-on-exec flags have changed), so it
// says what failed itself, as the command line would.
func execInPlace(cfg *initstage.Config) int {
	// Garbage collection stays on, which launch.Exec leaves to its
	// caller, and the time slice need not be fresh: the default profile
	// allows every call the runtime makes, as the generator checked
	// (sandbox.Command.WhyNotDirect). runtime/debug, which turns garbage
	// collection off, would have this package initialised after the
	// heavy ones.
	st := launch.Exec(cfg, initstage.Direct{Stdio: [3]int{-1, -1, -1}}, true)
	err := &execerr.StartError{Code: st.Code, Msg: st.Msg, Errno: syscall.Errno(st.Errno)}
	os.Stderr.WriteString("syscage: " + err.Error() + "\n")
	return st.Code
}

// filtersAvailable probes for seccomp filters as the command line does
// (seccomp.ProbeFlags): a filter mode call with no program fails with
// EFAULT where filters and the flags exist.
func filtersAvailable() bool {
	const setModeFilter = 1 // SECCOMP_SET_MODE_FILTER
	_, _, e := syscall.RawSyscall(uintptr(nrSeccomp), setModeFilter, uintptr(defaultFlags), 0)
	return e == syscall.EFAULT
}
