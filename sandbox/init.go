package sandbox

import (
	"encoding/json"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strconv"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/syscage/syscage/bpf"
)

// Init runs the init stage and never returns when this process was
// started as one by Command; otherwise it returns at once. Call it first
// thing in main (or in an init function, or TestMain) of every program
// that uses Command.
func Init() {
	v, ok := os.LookupEnv(initEnv)
	if !ok {
		return
	}
	runtime.LockOSThread()
	os.Exit(runInit(v))
}

// The states of the filtered thread, read by the reporting thread.
const (
	stateHardening int32 = iota // before any filter
	stateListener               // the gate is on; listenerFD holds its fd
	stateFailed                 // failMsg says what went wrong after a filter went on
)

// Shared between the filtered thread and the reporting thread. The
// filtered thread only stores to them (no system call, no allocation).
var (
	initState   atomic.Int32
	listenerFD  atomic.Int32
	failErrno   atomic.Int32
	failWhat    atomic.Int32 // 0: execve failed; 1 + i: installing filter i failed
	listenerOut atomic.Bool  // the reporting thread has sent the listener
)

// initStage holds what the stage needs after the settings are read.
type initStage struct {
	cfg      initConfig
	statusFD int
	rep      *reporter
}

// report sends a final status to the parent; the stage then exits.
func (s *initStage) fail(code int, errno unix.Errno, format string, args ...any) int {
	m := statusMsg{Code: code, Msg: fmt.Sprintf(format, args...), Errno: int(errno)}
	unix.Write(s.statusFD, encodeStatus(m))
	return code
}

func runInit(fds string) int {
	var cfgFD, statusFD int
	if _, err := fmt.Sscanf(fds, "%d,%d", &cfgFD, &statusFD); err != nil {
		fmt.Fprintf(os.Stderr, "syscage: %s=%q is set but malformed; it is internal to syscage run and should not be set by hand\n", initEnv, fds)
		return ExitInternal
	}
	s := &initStage{statusFD: statusFD}
	// Descriptors passed to a child arrive without close-on-exec; the
	// status socket needs it, so that execve closes it and tells the
	// parent the program started.
	if _, err := unix.FcntlInt(uintptr(statusFD), unix.F_SETFD, unix.FD_CLOEXEC); err != nil {
		fmt.Fprintf(os.Stderr, "syscage: init stage: status descriptor %d: %v\n", statusFD, err)
		return ExitInternal
	}
	raw, err := readAll(cfgFD)
	unix.Close(cfgFD)
	if err != nil {
		return s.fail(ExitInternal, 0, "init stage: read the settings: %v", err)
	}
	if err := json.Unmarshal(raw, &s.cfg); err != nil {
		return s.fail(ExitInternal, 0, "init stage: decode the settings: %v", err)
	}
	return s.run()
}

// readAll reads fd to its end with plain system calls (an os.File could
// start the runtime's poller, whose descriptor the stage would close).
func readAll(fd int) ([]byte, error) {
	var out []byte
	buf := make([]byte, 64<<10)
	for {
		n, err := unix.Read(fd, buf)
		if err == unix.EINTR || err == unix.EAGAIN {
			if err == unix.EAGAIN {
				unix.Poll([]unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}, -1)
			}
			continue
		}
		if err != nil {
			return nil, err
		}
		if n == 0 {
			return out, nil
		}
		out = append(out, buf[:n]...)
	}
}

func (s *initStage) run() int {
	c := &s.cfg
	// The reporting thread starts now, so that creating it overlaps with
	// the hardening; it waits for a filter to be on before doing anything.
	s.rep = newReporter(s.statusFD, len(c.Filters))
	go s.rep.loop()
	if c.Stages["config"] {
		return s.fail(ExitInternal, 0, "init stage: failing on purpose after reading the settings")
	}
	if c.LoopbackUp {
		if err := loopbackUp(); err != nil {
			return s.fail(ExitInternal, 0, "init stage: bring up the loopback interface in the new network namespace: %v", err)
		}
	}
	if c.Dir != "" {
		if err := unix.Chdir(c.Dir); err != nil {
			return s.fail(ExitInternal, err.(unix.Errno), "init stage: change directory to %s", c.Dir)
		}
	}
	if code := s.checkExecutable(); code != 0 {
		return code
	}
	if !c.KeepCaps {
		if err := applyCaps(c.Caps); err != nil {
			return s.fail(ExitInternal, 0, "init stage: %v", err)
		}
	}
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return s.fail(ExitInternal, err.(unix.Errno), "init stage: set no_new_privs")
	}
	if err := closeFDs(append(slices.Clone(c.KeepFDs), 0, 1, 2, s.statusFD)); err != nil {
		return s.fail(ExitInternal, 0, "init stage: close file descriptors: %v", err)
	}
	for _, fd := range c.KeepFDs {
		if _, err := unix.FcntlInt(uintptr(fd), unix.F_SETFD, 0); err != nil {
			return s.fail(ExitInternal, err.(unix.Errno), "init stage: keep descriptor %d open across execve", fd)
		}
	}
	if c.Stages["hardened"] {
		return s.fail(ExitInternal, 0, "init stage: failing on purpose after hardening")
	}

	// Everything the last step needs is built now: the filtered thread
	// then makes no system call but seccomp and execve, and allocates
	// nothing (an allocation could grow the heap with mmap under the
	// filter).
	progs := make([]*unix.SockFprog, 0, len(c.Filters)+1)
	var gate *unix.SockFprog
	if c.Gate != nil {
		p, err := sockFprog(c.Gate)
		if err != nil {
			return s.fail(ExitInternal, 0, "init stage: exec gate: %v", err)
		}
		gate = p
	}
	for i, f := range c.Filters {
		p, err := sockFprog(f)
		if err != nil {
			return s.fail(ExitInternal, 0, "init stage: filter %d: %v", i, err)
		}
		progs = append(progs, p)
	}
	path, err := unix.BytePtrFromString(c.Path)
	if err != nil {
		return s.fail(ExitInternal, 0, "init stage: program path %q: %v", c.Path, err)
	}
	argv, err := cStrings(c.Argv)
	if err != nil {
		return s.fail(ExitInternal, 0, "init stage: arguments: %v", err)
	}
	envv, err := cStrings(c.Env)
	if err != nil {
		return s.fail(ExitInternal, 0, "init stage: environment: %v", err)
	}
	<-s.rep.started

	// The last step. From the first seccomp call on, this thread only
	// stores to atomics, installs and executes.
	flags := uintptr(c.Flags)
	if gate != nil {
		fd, _, e := unix.RawSyscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER,
			flags|unix.SECCOMP_FILTER_FLAG_NEW_LISTENER, uintptr(unsafe.Pointer(gate)))
		if e != 0 {
			failWhat.Store(1)
			failErrno.Store(int32(e))
			initState.Store(stateFailed)
			hang()
		}
		listenerFD.Store(int32(fd))
		initState.Store(stateListener)
	}
	for i, p := range progs {
		_, _, e := unix.RawSyscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, flags, uintptr(unsafe.Pointer(p)))
		if e != 0 {
			failWhat.Store(int32(i) + 2)
			failErrno.Store(int32(e))
			initState.Store(stateFailed)
			hang()
		}
	}
	_, _, e := unix.RawSyscall(unix.SYS_EXECVE, uintptr(unsafe.Pointer(path)),
		uintptr(unsafe.Pointer(&argv[0])), uintptr(unsafe.Pointer(&envv[0])))
	failWhat.Store(0)
	failErrno.Store(int32(e))
	initState.Store(stateFailed)
	hang()
	runtime.KeepAlive(progs)
	runtime.KeepAlive(gate)
	return ExitInternal
}

// hang spins until the reporting thread ends the process: any system
// call here would run under the filters.
//
//go:nosplit
func hang() {
	for {
	}
}

// sockFprog decodes a native-endian filter into the kernel's struct.
func sockFprog(raw []byte) (*unix.SockFprog, error) {
	p, err := bpf.Decode(raw, bpf.NativeEndian)
	if err != nil {
		return nil, err
	}
	if err := bpf.Validate(p); err != nil {
		return nil, err
	}
	f := make([]unix.SockFilter, len(p))
	for i, ins := range p {
		f[i] = unix.SockFilter{Code: ins.Op, Jt: ins.Jt, Jf: ins.Jf, K: ins.K}
	}
	return &unix.SockFprog{Len: uint16(len(f)), Filter: &f[0]}, nil
}

// checkExecutable reports 127 or 126 before any filter when execve would
// fail for want of the file or of permission to execute it.
func (s *initStage) checkExecutable() int {
	var st unix.Stat_t
	if err := unix.Stat(s.cfg.Path, &st); err != nil {
		e := err.(unix.Errno)
		if e == unix.ENOENT || e == unix.ENOTDIR {
			return s.fail(ExitNotFound, e, "%s", s.cfg.Path)
		}
		return s.fail(ExitCannotExecute, e, "%s", s.cfg.Path)
	}
	if st.Mode&unix.S_IFMT == unix.S_IFDIR {
		return s.fail(ExitCannotExecute, unix.EISDIR, "%s", s.cfg.Path)
	}
	if err := unix.Faccessat(unix.AT_FDCWD, s.cfg.Path, unix.X_OK, unix.AT_EACCESS); err != nil {
		return s.fail(ExitCannotExecute, err.(unix.Errno), "%s", s.cfg.Path)
	}
	return 0
}

// closeFDs closes every descriptor not in keep, with close_range (Linux
// 5.9) over the gaps, or one by one from /proc/self/fd on older kernels.
func closeFDs(keep []int) error {
	slices.Sort(keep)
	keep = slices.Compact(keep)
	next := 0
	for _, k := range append(keep, -1) {
		lo, hi := uint(next), uint(k-1)
		if k < 0 {
			hi = ^uint(0)
		}
		if k < 0 || k > next {
			if err := unix.CloseRange(lo, hi, 0); err != nil {
				if err == unix.ENOSYS {
					return closeFDsSlow(keep)
				}
				return fmt.Errorf("close_range(%d, %d): %w", lo, hi, err)
			}
		}
		next = k + 1
	}
	return nil
}

func closeFDsSlow(keep []int) error {
	dir, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return err
	}
	for _, e := range dir {
		fd, err := strconv.Atoi(e.Name())
		if err != nil || slices.Contains(keep, fd) {
			continue
		}
		unix.Close(fd)
	}
	return nil
}

// loopbackUp brings up lo, as a new network namespace has it down.
func loopbackUp() error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	ifr, err := unix.NewIfreq("lo")
	if err != nil {
		return err
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil {
		return err
	}
	ifr.SetUint16(ifr.Uint16() | unix.IFF_UP)
	return unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, ifr)
}

// reporter is the unfiltered thread that speaks for the filtered one
// once its filters are on: it hands the gate's listener to the parent
// and reports a failed install or execve, then ends the process.
type reporter struct {
	statusFD int
	filters  int
	started  chan struct{}
	// Prepared before the filters go on, so the loop allocates nothing
	// until it reports a failure.
	listenerMsg []byte
	oob         []byte
}

func newReporter(statusFD, filters int) *reporter {
	return &reporter{
		statusFD:    statusFD,
		filters:     filters,
		started:     make(chan struct{}),
		listenerMsg: encodeStatus(statusMsg{Listener: true}),
		oob:         make([]byte, unix.CmsgSpace(4)),
	}
}

func (r *reporter) loop() {
	runtime.LockOSThread() // never released: this thread stays unfiltered
	close(r.started)
	ts := unix.Timespec{Nsec: 20_000}
	for {
		switch initState.Load() {
		case stateListener:
			if !listenerOut.Load() {
				r.sendListener(int(listenerFD.Load()))
				listenerOut.Store(true)
			}
		case stateFailed:
			r.reportFailure()
		}
		unix.RawSyscall(unix.SYS_NANOSLEEP, uintptr(unsafe.Pointer(&ts)), 0, 0)
	}
}

// sendListener passes fd to the parent with SCM_RIGHTS.
func (r *reporter) sendListener(fd int) {
	h := (*unix.Cmsghdr)(unsafe.Pointer(&r.oob[0]))
	h.Level = unix.SOL_SOCKET
	h.Type = unix.SCM_RIGHTS
	h.SetLen(unix.CmsgLen(4))
	*(*int32)(unsafe.Pointer(&r.oob[unix.CmsgLen(0)])) = int32(fd)
	iov := unix.Iovec{Base: &r.listenerMsg[0]}
	iov.SetLen(len(r.listenerMsg))
	msg := unix.Msghdr{Iov: &iov, Iovlen: 1, Control: &r.oob[0]}
	msg.SetControllen(len(r.oob))
	unix.RawSyscall(unix.SYS_SENDMSG, uintptr(r.statusFD), uintptr(unsafe.Pointer(&msg)), 0)
}

// reportFailure tells the parent what failed under the filters and ends
// the process, which the filtered thread cannot do itself.
func (r *reporter) reportFailure() {
	e := unix.Errno(failErrno.Load())
	what := failWhat.Load()
	var m statusMsg
	switch {
	case what == 1:
		m = statusMsg{Code: ExitInternal, Errno: int(e), Msg: "install the exec gate filter"}
	case what >= 2:
		m = statusMsg{Code: ExitInternal, Errno: int(e),
			Msg: fmt.Sprintf("install seccomp filter %d of %d (the filters installed before it deny seccomp(2)?)", what-1, r.filters)}
	case e == unix.ENOENT || e == unix.ENOTDIR:
		m = statusMsg{Code: ExitNotFound, Errno: int(e), Msg: "execve"}
	case e == unix.EPERM || e == unix.EACCES || e == unix.ENOSYS:
		m = statusMsg{Code: ExitCannotExecute, Errno: int(e),
			Msg: "execve failed under the seccomp filters: the profile denies execve or execveat (syscage lets the program's own start through only when it knows the profile; see docs/run.md)"}
	default:
		m = statusMsg{Code: ExitCannotExecute, Errno: int(e), Msg: "execve"}
	}
	unix.Write(r.statusFD, encodeStatus(m))
	unix.RawSyscall(unix.SYS_EXIT_GROUP, uintptr(m.Code), 0, 0)
}

// cStrings builds a NULL-terminated array of C strings for execve.
func cStrings(ss []string) ([]*byte, error) {
	out := make([]*byte, len(ss)+1)
	for i, s := range ss {
		p, err := unix.BytePtrFromString(s)
		if err != nil {
			return nil, fmt.Errorf("%q: %w", s, err)
		}
		out[i] = p
	}
	return out, nil
}
