package sandbox

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/syscage/syscage/arch"
	"github.com/syscage/syscage/bpf"
	"github.com/syscage/syscage/sandbox/initstage"
	"github.com/syscage/syscage/sandbox/launch"
	"github.com/syscage/syscage/sandbox/presignal"
	"github.com/syscage/syscage/seccomp"
)

// Command is a program to run in the cage. Fill it in, then call Run, or
// Start and Wait. The zero values harden fully: every descriptor but 0, 1
// and 2 closed, no_new_privs, DefaultCaps.
type Command struct {
	// Path is the program; a name without '/' is looked up in the PATH
	// of Env (or of syscage's own environment when Env has none).
	Path string
	// Args are the arguments, Args[0] included; empty means [Path].
	Args []string
	// Env is the program's whole environment; nil means syscage's own.
	Env []string
	// Dir is the working directory; "" keeps syscage's.
	Dir string

	// Filters are installed first to last, in the init stage, as the
	// last step before execve. At least one is required: Command never
	// starts a program without a filter.
	Filters []bpf.Program
	// Flags are given to every filter: seccomp.FlagLog and
	// seccomp.FlagSpecAllow make sense here.
	Flags seccomp.Flags
	// Gate lets the program's own start through a profile that denies
	// execve; see ExecGate. Nil when the filters allow execve.
	Gate *ExecGate
	// Supervise, when set, serves the notifications of the filters
	// (their notify rules): the first filter is installed with a
	// notification listener, which the init stage hands over before the
	// program starts; Start calls Supervise with it and lets the program
	// start only once Supervise has returned nil (the supervisor then
	// owns the descriptor). If the supervisor goes, the kernel answers
	// ENOSYS to every notified syscall: it fails closed. Not with Gate
	// (a filter chain has one listener): see UseSupervisedPolicy.
	Supervise func(listener int) error

	// Caps are the capabilities the program keeps (bounding, permitted,
	// effective and inheritable sets; the ambient set is emptied). The
	// zero value means DefaultCaps; use KeepCaps to leave them alone and
	// NoCaps for none.
	Caps CapSet
	// NoCaps drops every capability (Caps is then ignored).
	NoCaps bool
	// KeepCaps leaves the capabilities as syscage has them.
	KeepCaps bool
	// KeepFDs are descriptors of syscage, besides 0, 1 and 2, that the
	// program gets under the same numbers. Every other one is closed.
	KeepFDs []int

	// NewNetwork runs the program in a new network namespace with only
	// a loopback interface (needs CAP_SYS_ADMIN, or NewUser).
	NewNetwork bool
	// NewUser runs the program in a new user namespace in which it is
	// root, mapped to syscage's own uid and gid outside.
	NewUser bool

	// Stdin, Stdout and Stderr default to syscage's own.
	Stdin, Stdout, Stderr *os.File

	// ForwardSignals relays the signals syscage receives to the program
	// (see docs/run.md for which and when).
	ForwardSignals bool

	// InitPath is the executable that runs the init stage: a binary that
	// imports this package. "" means /proc/self/exe.
	InitPath string

	// failStage makes the init stage fail on purpose at a named point
	// (tests of the all-or-nothing start).
	failStage string
	// forceStage makes Start use the re-executed stage even when the
	// direct start would do (tests of both).
	forceStage bool
	// how is the way Start started the program: "direct" or "stage".
	how string

	finish func() // stops the supervisor of UseSupervisedPolicy

	runtimeOK []bpf.Program  // Filters as UseProfile set them, known to allow the direct start's calls
	thread    *launch.Thread // the filtered thread of a direct start

	pid       int
	pidSet    chan struct{} // closed once pid is set, or Start has failed
	pidOnce   sync.Once
	kmsg      *kmsgReader
	gate      *gateServer
	relay     *presignal.Relay // forwards signals (ForwardSignals)
	waited    bool
	startedOK bool
}

// Exit is how the program ended.
type Exit struct {
	// Code is what syscage run exits with: the program's status, or
	// 128+N when it died of signal N.
	Code int
	// Signal is the signal that killed the program, 0 if it exited.
	Signal syscall.Signal
	// Violation is set when the signal came from a seccomp filter and
	// syscage could tell which syscall caused it.
	Violation *Violation
	// Seccomp is true when the death was by SIGSYS, which a seccomp
	// filter's kill or trap action gives (a program can also send it).
	Seccomp bool
	// NoViolation says why Violation is nil when Seccomp is true.
	NoViolation string
}

// Run starts the program and waits for it.
func (c *Command) Run() (*Exit, error) {
	if err := c.Start(); err != nil {
		return nil, err
	}
	return c.Wait()
}

func startErr(format string, args ...any) error {
	return &StartError{Code: ExitInternal, Msg: fmt.Sprintf(format, args...)}
}

// resolve finds the program as execve will see it.
func (c *Command) resolve() (string, error) {
	if c.Path == "" {
		return "", startErr("no program to run")
	}
	path, searched, ok := launch.LookPath(c.Path, c.Env)
	if !ok {
		return "", &StartError{Code: ExitNotFound, Msg: fmt.Sprintf("%s: not found in PATH (%s)", c.Path, searched)}
	}
	return path, nil
}

// DefaultPath returns the PATH given to programs when the environment has
// none.
func DefaultPath() string { return launch.DefaultPath }

// config checks what can be checked before the start and returns the
// init stage's settings.
func (c *Command) config() (*initstage.Config, error) {
	path, err := c.resolve()
	if err != nil {
		return nil, err
	}
	if len(c.Filters) == 0 {
		return nil, startErr("no seccomp filter: refusing to start a program unfiltered")
	}
	filters, err := orderForInstall(c.Filters, c.Flags, c.Gate != nil)
	if err != nil {
		return nil, err
	}
	if err := seccomp.ProbeFlags(c.Flags); err != nil {
		return nil, &StartError{Code: ExitInternal, Msg: err.Error()}
	}
	var listenerFlags seccomp.Flags
	if c.Supervise != nil {
		if c.Gate != nil {
			return nil, startErr("a supervised command cannot have an exec gate too: a filter chain has one listener (use UseSupervisedPolicy)")
		}
		if len(c.Filters) != 1 {
			return nil, startErr("the profile compiles to %d filters, and a supervised program needs exactly one (the one with the listener): make the profile smaller", len(c.Filters))
		}
		if err := seccomp.ProbeFlags(c.Flags | seccomp.FlagNewListener); err != nil {
			return nil, &StartError{Code: ExitInternal, Msg: "supervision needs a notification listener: " + err.Error()}
		}
		// Go programs are preempted by signals every few milliseconds; a
		// killable wait keeps such a signal from interrupting a notified
		// syscall once the supervisor has it (Linux 5.19).
		if seccomp.ProbeFlags(c.Flags|seccomp.FlagNewListener|seccomp.FlagWaitKillableRecv) == nil {
			listenerFlags = seccomp.FlagWaitKillableRecv
		}
	}
	if c.Gate != nil {
		if err := seccomp.ProbeFlags(c.Flags | seccomp.FlagNewListener); err != nil {
			return nil, &StartError{Code: ExitInternal, Msg: "the exec gate needs a notification listener: " + err.Error()}
		}
	}
	cfg := &initstage.Config{
		Path:       path,
		Argv:       c.Args,
		Env:        c.Env,
		Dir:        c.Dir,
		Flags:      uint32(c.Flags),
		KeepCaps:   c.KeepCaps,
		Caps:       uint64(c.Caps),
		LoopbackUp: c.NewNetwork,
		FailAt:     c.failStage,

		Listener:      c.Supervise != nil,
		ListenerFlags: uint32(listenerFlags),
	}
	a := arch.Native()
	if a == nil {
		return nil, startErr("syscage does not know this machine's architecture")
	}
	nr, ok := a.Lookup("seccomp")
	if !ok {
		return nil, startErr("no seccomp system call on %s", a.Name)
	}
	cfg.NrSeccomp = nr
	if nr, ok := a.Lookup("close_range"); ok {
		cfg.NrCloseRange = nr
	}
	if len(cfg.Argv) == 0 {
		cfg.Argv = []string{c.Path}
	}
	if cfg.Env == nil {
		cfg.Env = os.Environ()
	}
	switch {
	case c.NoCaps:
		cfg.Caps = 0
	case c.Caps == 0:
		cfg.Caps = uint64(DefaultCaps)
	}
	for _, f := range filters {
		cfg.Filters = append(cfg.Filters, f.Encode(bpf.NativeEndian))
	}
	if c.Gate != nil {
		cfg.Gate = gateFilter().Encode(bpf.NativeEndian)
	}
	for _, fd := range c.KeepFDs {
		if fd < 3 {
			return nil, startErr("--keep-fd %d: descriptors 0, 1 and 2 are always kept", fd)
		}
		if _, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0); err != nil {
			return nil, startErr("--keep-fd %d: not an open descriptor of syscage", fd)
		}
	}
	cfg.KeepFDs = slices.Clone(c.KeepFDs)
	return cfg, nil
}

// Start checks everything that can be checked, starts the init stage and
// returns once the program runs, or with a *StartError: then nothing of
// the program ran.
func (c *Command) Start() error {
	if c.pid != 0 {
		return startErr("the command was already started")
	}
	// The supervisor may need the program's pid (KillAll) before Start
	// has it: a direct start's program runs before the fork returns.
	c.pidSet = make(chan struct{})
	// Whatever fails from here on leaves no signal subscription behind,
	// and no KillAll waiting for a pid.
	defer func() {
		if !c.startedOK {
			c.stopForwarding()
			c.pidDone()
		}
	}()
	l := takeLauncher()
	if !c.mayStartDirect() {
		l.Cancel()
		l = nil
	} else if l == nil {
		l = launch.New()
	}
	// The thread and the signal subscription (through os/signal, a
	// thread round trip per signal, unless presignal.Intercept made it)
	// get going while the start is checked; signals that come before the
	// program exists are relayed once it does.
	if c.ForwardSignals {
		c.forwardSignals()
	} else {
		// Nothing relays what a subscription by Prepare caught: end it,
		// giving those signals their default effect.
		presignal.Stop()
	}
	cfg, err := c.config()
	if err != nil {
		l.Cancel()
		c.Finish()
		return err
	}
	if l != nil && c.directStart() == "" {
		return c.startDirect(cfg, l)
	}
	l.Cancel()
	// The child's descriptors: 0-2, kept ones under their numbers, then
	// the settings pipe and the status socket above them all.
	top := 2
	for _, fd := range c.KeepFDs {
		top = max(top, fd)
	}
	files := make([]*os.File, top+3)
	files[0], files[1], files[2] = orStd(c.Stdin, os.Stdin), orStd(c.Stdout, os.Stdout), orStd(c.Stderr, os.Stderr)
	for _, fd := range c.KeepFDs {
		// A duplicate, closed once the child has its copy: an *os.File
		// on the caller's own descriptor would close it when collected.
		dup, err := unix.FcntlInt(uintptr(fd), unix.F_DUPFD_CLOEXEC, 3)
		if err != nil {
			return startErr("--keep-fd %d: %v", fd, err)
		}
		files[fd] = os.NewFile(uintptr(dup), fmt.Sprintf("fd %d", fd))
		defer files[fd].Close()
	}
	var pipe [2]int
	if err := unix.Pipe2(pipe[:], unix.O_CLOEXEC); err != nil {
		return startErr("create the settings pipe: %v", err)
	}
	cfgR, cfgW := os.NewFile(uintptr(pipe[0]), "settings"), os.NewFile(uintptr(pipe[1]), "settings")
	defer cfgR.Close()
	sp, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		cfgW.Close()
		return startErr("create the status socket: %v", err)
	}
	statusParent := sp[0]
	statusChild := os.NewFile(uintptr(sp[1]), "status")
	defer statusChild.Close()
	files[top+1], files[top+2] = cfgR, statusChild

	sys := &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if c.NewNetwork {
		sys.Cloneflags |= syscall.CLONE_NEWNET
	}
	if c.NewUser {
		sys.Cloneflags |= syscall.CLONE_NEWUSER
		sys.UidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Geteuid(), Size: 1}}
		sys.GidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getegid(), Size: 1}}
		sys.GidMappingsEnableSetgroups = false
	}
	initPath := c.InitPath
	if initPath == "" {
		initPath = "/proc/self/exe"
	}
	env := []string{
		fmt.Sprintf("%s=%d,%d", initstage.EnvVar, top+1, top+2),
		// The stage must make no system call between its filters and
		// execve: no preemption signals, no garbage collection.
		"GODEBUG=asyncpreemptoff=1",
		"GOGC=off",
		// Two Ps at least: the filtered thread keeps its P while blocked
		// in execve (a raw system call does not hand it back), and the
		// reporting thread needs one to run at all.
		"GOMAXPROCS=2",
	}
	// syscall.ForkExec rather than os.StartProcess: the latter forks an
	// extra child once per process to probe pidfd support, a cost every
	// `syscage run` would pay. The pid stays ours until Wait reaps it.
	fds := make([]uintptr, len(files))
	for i, f := range files {
		fds[i] = ^uintptr(0) // closed in the child
		if f != nil {
			fds[i] = f.Fd()
		}
	}
	pid, err := syscall.ForkExec(initPath, []string{"syscage-init"}, &syscall.ProcAttr{Env: env, Files: fds, Sys: sys})
	if err != nil {
		c.Finish()
		cfgW.Close()
		unix.Close(statusParent)
		msg := fmt.Sprintf("start the init stage %s: %v", initPath, err)
		if c.NewUser || c.NewNetwork {
			msg += " (new namespaces need privileges: CAP_SYS_ADMIN, or --userns where unprivileged user namespaces are allowed)"
		}
		return &StartError{Code: ExitInternal, Msg: msg}
	}
	c.setPid(pid)
	c.how = "stage"
	cfgR.Close()
	statusChild.Close()
	// Audit records of a kill are read from /dev/kmsg from here on: the
	// stage waits for its settings, sent next, so the program cannot
	// have run yet. (Opened now, while the stage's runtime starts, rather
	// than before the fork: it costs a tenth of a millisecond.)
	c.kmsg = openKmsg()
	go func() {
		// The stage waits for its settings before anything else, so the
		// program cannot run before the forwarded signals are subscribed
		// to (a signal to syscage could end it instead of reaching the
		// program).
		c.awaitSubscription()
		cfgW.Write(cfg.Encode())
		cfgW.Close()
	}()
	if err := c.readStatus(statusParent, cfg.Path); err != nil {
		c.reap()
		return err
	}
	c.awaitSubscription()
	c.startedOK = true
	return nil
}

func orStd(f, std *os.File) *os.File {
	if f != nil {
		return f
	}
	return std
}

// readStatus follows the init stage until execve closes the socket.
func (c *Command) readStatus(fd int, path string) error {
	defer unix.Close(fd)
	buf := make([]byte, 64<<10)
	oob := make([]byte, unix.CmsgSpace(4*4))
	for {
		n, oobn, _, _, err := unix.Recvmsg(fd, buf, oob, unix.MSG_CMSG_CLOEXEC)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return startErr("read the init stage's status: %v", err)
		}
		if n == 0 {
			return nil // closed on execve
		}
		m, err := initstage.DecodeStatus(buf[:n])
		if err != nil {
			return startErr("the init stage sent a malformed status: %v", err)
		}
		if !m.Listener {
			se := &StartError{Code: m.Code, Msg: m.Msg, Errno: unix.Errno(m.Errno)}
			if m.Msg == "execve" {
				// The stage's execve of the program failed: name the
				// program, and say why when the errno would mislead.
				se.Msg = c.Path
				se.Why = ExecWhy(path, se.Errno)
			}
			return se
		}
		lfd, err := receivedFD(oob[:oobn])
		if err != nil {
			return startErr("receive the notification listener: %v", err)
		}
		if c.Supervise == nil {
			c.gate = startGate(lfd, c.pid, c.Gate)
			continue
		}
		if err := c.Supervise(lfd); err != nil {
			// The stage waits for the acknowledgement, which never
			// comes: closing the socket (deferred) ends it.
			unix.Kill(c.pid, unix.SIGKILL)
			return startErr("start the supervisor: %v", err)
		}
		if _, err := unix.Write(fd, []byte{initstage.ListenerAck}); err != nil {
			return startErr("acknowledge the notification listener: %v", err)
		}
	}
}

func receivedFD(oob []byte) (int, error) {
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return -1, err
	}
	for _, m := range msgs {
		fds, err := unix.ParseUnixRights(&m)
		if err == nil && len(fds) == 1 {
			return fds[0], nil
		}
	}
	return -1, errors.New("no descriptor in the message")
}

// reap waits for a child that failed to start.
func (c *Command) reap() {
	launch.Reap(c.pid)
	c.stopForwarding()
	c.kmsg.Close()
	if c.gate != nil {
		c.gate.stop()
	}
	c.Finish()
	c.waited = true
}

// Pid returns the program's process id (the init stage's until execve).
func (c *Command) Pid() int {
	return c.pid
}

// Wait waits for the program to end and says how.
func (c *Command) Wait() (*Exit, error) {
	if c.pid == 0 || !c.startedOK {
		return nil, errors.New("sandbox: Wait without a successful Start")
	}
	if c.waited {
		return nil, errors.New("sandbox: Wait called twice")
	}
	c.waited = true
	// Stop forwarding signals once the program has ended, and stop the
	// supervisor too (its kills, KillAll, must not reach a process that
	// took the program's pid), before the reaping.
	ws, err := launch.Wait(c.pid, func() {
		c.stopForwarding()
		c.Finish()
	})
	if err != nil {
		return nil, fmt.Errorf("wait for pid %d: %w", c.pid, err)
	}
	c.endThread()
	defer c.kmsg.Close()
	ex := &Exit{}
	if c.gate != nil {
		c.gate.stop()
	}
	switch {
	case ws.Exited():
		ex.Code = ws.ExitStatus()
	case ws.Signaled():
		ex.Signal = ws.Signal()
		ex.Code = 128 + int(ex.Signal)
		if ex.Signal == unix.SIGKILL && c.gate != nil {
			if v := c.gate.violation(); v != nil {
				ex.Seccomp, ex.Violation = true, v
			}
		}
		if ex.Signal == unix.SIGSYS {
			ex.Seccomp = true
			if c.gate != nil {
				ex.Violation = c.gate.violation()
			}
			if ex.Violation == nil {
				ex.Violation = c.kmsg.find(c.pid)
			}
			if ex.Violation == nil {
				ex.NoViolation = c.kmsg.whyNot()
			}
		}
	}
	return ex, nil
}

// early is the launcher Prepare started, waiting for the next Command
// to take it over.
var early struct {
	sync.Mutex
	launcher *launch.Thread // a direct start's thread, not yet given a job
}

// Prepare gets the next Command's Start going ahead of time, for a
// program that knows it will start one (syscage run calls it first
// thing): it starts catching the signals a Command with ForwardSignals
// relays (presignal.Start, unless an init function did already, or
// presignal.Intercept), and readies the thread a direct start forks
// from. Subscribing through os/signal costs the Go runtime a thread
// round trip per signal, about half a millisecond in all on a small
// machine, and a new thread a tenth of one; Start otherwise waits for
// both. The next Command to start takes them over and relays
// the signals caught meanwhile to its program once it runs (one without
// ForwardSignals ends the subscription instead, giving them their
// default effect). Until then the signals no longer have their default
// effect (ending the process): call Prepare only when a Command will
// start.
func Prepare() {
	presignal.Start()
	early.Lock()
	defer early.Unlock()
	if early.launcher == nil {
		early.launcher = launch.New()
	}
}

// takeLauncher returns the launcher Prepare started, if any, which is
// then the caller's to use or cancel.
func takeLauncher() *launch.Thread {
	early.Lock()
	defer early.Unlock()
	l := early.launcher
	early.launcher = nil
	return l
}

// forwardSignals starts relaying signals to the program, with the
// subscription presignal.Start (or Intercept) made if there is one:
// os/signal takes a round trip to its own thread per signal, which thus
// overlaps with the checks and the hardening. The program does not run before the
// subscription is complete: were a signal sent to syscage once the
// program runs (say, once it has installed its handlers) to have its
// default effect on syscage, it would end syscage, and the program with
// it, instead of reaching the program. A signal that arrives before has
// that effect, as one that arrives before Start.
func (c *Command) forwardSignals() {
	c.relay = presignal.NewRelay()
}

// awaitSubscription waits until the forwarded signals are subscribed to,
// if they are forwarded.
func (c *Command) awaitSubscription() {
	if ready := c.relay.Ready(); ready != nil {
		<-ready
	}
}

// setPid records the program's pid and relays the signals that arrived
// before it was known.
func (c *Command) setPid(pid int) {
	c.pid = pid
	if c.relay != nil {
		c.relay.SetPid(pid)
	}
	c.pidDone()
}

// pidDone lets KillAll go on: the pid is known, or will never be.
func (c *Command) pidDone() {
	c.pidOnce.Do(func() {
		if c.pidSet != nil {
			close(c.pidSet)
		}
	})
}

// stopForwarding stops relaying signals to the program, whose pid may be
// reaped as soon as it returns.
func (c *Command) stopForwarding() { c.relay.Stop() }
