package initstage

import (
	"runtime"
	"sync/atomic"
	"syscall"
	"unsafe"
)

func init() {
	if v, ok := syscall.Getenv(EnvVar); ok {
		runtime.LockOSThread()
		syscall.Exit(run(v))
	}
}

// Running reports whether this process is an init stage. It never is
// once package initialisation is over: the stage ran and ended then.
func Running() bool {
	_, ok := syscall.Getenv(EnvVar)
	return ok
}

// Constants of the kernel ABI, the same on every architecture
// (include/uapi/linux/prctl.h, capability.h, seccomp.h, close_range.h).
const (
	prSetNoNewPrivs     = 38 // PR_SET_NO_NEW_PRIVS
	prCapbsetDrop       = 24 // PR_CAPBSET_DROP
	prCapAmbient        = 47 // PR_CAP_AMBIENT
	prCapAmbientClear   = 4  // PR_CAP_AMBIENT_CLEAR_ALL
	capVersion3         = 0x20080522
	seccompSetModeFilt  = 1 // SECCOMP_SET_MODE_FILTER
	seccompFlagListener = 8 // SECCOMP_FILTER_FLAG_NEW_LISTENER
	atEAccess           = 0x200
	iffUp               = 0x1
	siocgifflags        = 0x8913
	siocsifflags        = 0x8914
)

// The states of the filtered thread, read by the reporting thread.
const (
	stateHardening int32 = iota // before any filter
	stateListener               // the gate is on; listenerFD holds its fd
	stateFailed                 // failWhat and failErrno say what failed
	stateGone                   // Exec returned a failure before the filters
)

// Shared between the filtered thread and the reporting thread. The
// filtered thread only stores to them (no system call, no allocation).
var (
	initState   atomic.Int32
	listenerFD  atomic.Int32
	failErrno   atomic.Int32
	failWhat    atomic.Int32 // 0: execve failed; 1: the gate; 2 + i: filter i
	listenerOut atomic.Bool
	// acked is set by the reporting thread once the parent has
	// acknowledged the listener (Config.Listener): its supervisor
	// serves it, and the filtered thread may execute the program.
	acked atomic.Bool
)

type stage struct {
	cfg      *Config
	statusFD int     // -1 in Exec
	direct   *Direct // nil in the re-executed stage
	rep      *reporter
}

// ExecDenied says why an execve refused under the filters (EPERM,
// EACCES or ENOSYS for a file that exists) failed.
const ExecDenied = "execve failed under the seccomp filters: the profile denies execve or execveat (syscage lets the program's own start through only when it knows the profile; see docs/run.md)"

// fail describes a failure before any filter.
func fail(code int, errno syscall.Errno, msg string) *Status {
	return &Status{Code: code, Errno: int(errno), Msg: msg}
}

func errnoOf(err error) syscall.Errno {
	if e, ok := err.(syscall.Errno); ok {
		return e
	}
	return 0
}

func run(fds string) int {
	cfgFD, statusFD, ok := parseFDs(fds)
	if !ok {
		msg := "syscage: " + EnvVar + " is set but malformed; it is internal to syscage run and must not be set by hand\n"
		syscall.Write(2, []byte(msg))
		return ExitInternal
	}
	// Descriptors passed to a child arrive without close-on-exec; the
	// status socket needs it, so that execve closes it and tells the
	// parent the program started.
	if _, _, e := syscall.RawSyscall(syscall.SYS_FCNTL, uintptr(statusFD), syscall.F_SETFD, syscall.FD_CLOEXEC); e != 0 {
		syscall.Write(2, []byte("syscage: init stage: status descriptor: "+e.Error()+"\n"))
		return ExitInternal
	}
	raw, err := readAll(cfgFD)
	syscall.Close(cfgFD)
	var st *Status
	if err != nil {
		st = fail(ExitInternal, errnoOf(err), "init stage: read the settings")
	} else if cfg, err := DecodeConfig(raw); err != nil {
		st = fail(ExitInternal, 0, "init stage: "+err.Error())
	} else {
		st = (&stage{cfg: cfg, statusFD: statusFD}).exec()
	}
	// exec returns only when something failed before the filters.
	syscall.Write(statusFD, st.Encode())
	return st.Code
}

// Direct holds what Exec needs beyond Config: the re-executed stage gets
// its namespaces from clone flags and its standard descriptors from the
// parent, a process that executes the program itself does not.
type Direct struct {
	// UnshareNet moves the calling thread into a new network namespace
	// (set Config.LoopbackUp too). Namespaces belong to threads until
	// execve, which takes the calling thread's into the program
	// (kernel/fork.c: ksys_unshare; CLONE_NEWNET, unlike CLONE_NEWUSER,
	// does not require a single-threaded process).
	UnshareNet bool
	// Stdio are descriptors to put in place of 0, 1 and 2; -1 keeps the
	// process's own.
	Stdio [3]int
}

// Exec runs the init stage's steps in the calling process, which becomes
// the program: it hardens the calling thread, installs the filters on
// it and executes the program, so the process's other threads end at
// execve and never run under the filters (nor need to: they are gone).
// It returns only when a step failed before the filters went on. When
// execve fails under the filters, a reporting thread writes what failed
// on descriptor 2 and ends the process with the Status code, since the
// filtered thread must make no other system call.
//
// The caller must hold its goroutine on its OS thread
// (runtime.LockOSThread) and never release it after a failure (the
// thread's credentials and namespaces may have changed), have garbage
// collection off and GOMAXPROCS at least 2 (the reporting thread needs a
// P while the filtered one holds its own), and end the process after a
// failure: the working directory, the standard descriptors and the
// close-on-exec flags of the others may have changed. Config.Gate must
// be nil: there is no parent to hand a listener to.
//
// The re-executed stage runs with asynchronous preemption off; a process
// cannot turn it off once started, so the runtime's monitor may signal
// the filtered thread when its goroutine has run for 10 ms without
// yielding, and the handler would run under the filters (it makes no
// system call but rt_sigreturn). Call Exec early in a goroutine's time
// slice; a signal that arrives during execve itself is harmless, since
// execve resets caught signals to their default action, which ignores
// the runtime's preemption signal.
func Exec(cfg *Config, d Direct) *Status {
	if cfg.Gate != nil || cfg.Listener {
		return fail(ExitInternal, 0, "a notification listener needs a supervising parent")
	}
	s := &stage{cfg: cfg, statusFD: -1, direct: &d}
	st := s.exec()
	// The reporting thread has nothing to report: let it end.
	initState.Store(stateGone)
	if s.rep != nil {
		close(s.rep.armed)
	}
	return st
}

// parseFDs reads "A,B".
func parseFDs(v string) (int, int, bool) {
	a, b, n := 0, 0, 0
	cur := &a
	for i := 0; i < len(v); i++ {
		switch ch := v[i]; {
		case ch == ',' && cur == &a && n > 0:
			cur, n = &b, 0
		case ch >= '0' && ch <= '9' && n < 9:
			*cur = *cur*10 + int(ch-'0')
			n++
		default:
			return 0, 0, false
		}
	}
	return a, b, cur == &b && n > 0
}

func readAll(fd int) ([]byte, error) {
	var out []byte
	buf := make([]byte, 64<<10)
	for {
		n, err := syscall.Read(fd, buf)
		if err == syscall.EINTR {
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

// exec runs the steps; it returns only on a failure before the filters.
func (s *stage) exec() *Status {
	c := s.cfg
	// The reporting thread starts now, so that creating it overlaps with
	// the hardening; it acts only once a filter is on.
	s.rep = newReporter(s.statusFD, len(c.Filters))
	s.rep.direct, s.rep.path = s.direct != nil, c.Path
	s.rep.waitAck = c.Listener
	go s.rep.loop()
	if c.FailAt == "config" {
		return fail(ExitInternal, 0, "init stage: failing on purpose after reading the settings")
	}
	if s.direct != nil && s.direct.UnshareNet {
		if _, _, e := syscall.RawSyscall(syscall.SYS_UNSHARE, syscall.CLONE_NEWNET, 0, 0); e != 0 {
			return fail(ExitInternal, e, "create a network namespace (it needs CAP_SYS_ADMIN)")
		}
	}
	if c.LoopbackUp {
		if e := loopbackUp(); e != 0 {
			return fail(ExitInternal, e, "init stage: bring up the loopback interface in the new network namespace")
		}
	}
	if c.Dir != "" {
		if err := syscall.Chdir(c.Dir); err != nil {
			return fail(ExitInternal, errnoOf(err), "init stage: change directory to "+c.Dir)
		}
	}
	if st := s.checkExecutable(); st != nil {
		return st
	}
	if !c.KeepCaps {
		if msg, e := applyCaps(c.Caps); msg != "" {
			return fail(ExitInternal, e, "init stage: "+msg)
		}
	}
	if _, _, e := syscall.RawSyscall6(syscall.SYS_PRCTL, prSetNoNewPrivs, 1, 0, 0, 0, 0); e != 0 {
		return fail(ExitInternal, e, "init stage: set no_new_privs")
	}
	keep := append([]int{0, 1, 2}, c.KeepFDs...)
	if s.direct != nil {
		for i, fd := range s.direct.Stdio {
			if fd < 0 || fd == i {
				continue
			}
			if _, _, e := syscall.RawSyscall(syscall.SYS_DUP3, uintptr(fd), uintptr(i), 0); e != 0 {
				return fail(ExitInternal, e, "put descriptor "+itoa(fd)+" in place of "+itoa(i))
			}
		}
		// The process's other threads go on until execve, and the Go
		// runtime keeps descriptors of its own (the network poller's):
		// closing them now could break it. Close-on-exec closes them
		// all at once, in execve.
		if e := markCloseOnExec(keep, c.NrCloseRange); e != 0 {
			return fail(ExitInternal, e, "mark file descriptors close-on-exec")
		}
	} else {
		keep = append(keep, s.statusFD)
		if e := closeFDs(keep, c.NrCloseRange); e != 0 {
			return fail(ExitInternal, e, "init stage: close file descriptors")
		}
	}
	for _, fd := range c.KeepFDs {
		if _, _, e := syscall.RawSyscall(syscall.SYS_FCNTL, uintptr(fd), syscall.F_SETFD, 0); e != 0 {
			return fail(ExitInternal, e, "init stage: keep descriptor "+itoa(fd)+" open across execve")
		}
	}
	if c.FailAt == "hardened" {
		return fail(ExitInternal, 0, "init stage: failing on purpose after hardening")
	}

	// Everything the last step needs is built now: the filtered thread
	// then makes no system call but seccomp and execve, and allocates
	// nothing (an allocation could grow the heap with mmap under the
	// filters).
	var gate *sockFprog
	if c.Gate != nil {
		if gate = newSockFprog(c.Gate); gate == nil {
			return fail(ExitInternal, 0, "init stage: the exec gate is not a filter")
		}
	}
	progs := make([]*sockFprog, 0, len(c.Filters))
	for i, f := range c.Filters {
		p := newSockFprog(f)
		if p == nil {
			return fail(ExitInternal, 0, "init stage: filter "+itoa(i)+" is not a filter")
		}
		progs = append(progs, p)
	}
	path, err := syscall.BytePtrFromString(c.Path)
	if err != nil {
		return fail(ExitInternal, 0, "init stage: the program path holds a NUL byte")
	}
	argv, err := syscall.SlicePtrFromStrings(c.Argv)
	if err != nil {
		return fail(ExitInternal, 0, "init stage: an argument holds a NUL byte")
	}
	envv, err := syscall.SlicePtrFromStrings(c.Env)
	if err != nil {
		return fail(ExitInternal, 0, "init stage: an environment variable holds a NUL byte")
	}
	<-s.rep.started
	close(s.rep.armed)
	nrSeccomp := uintptr(c.NrSeccomp)
	flags := uintptr(c.Flags)

	// The last step. From the first seccomp call on, this thread only
	// stores to atomics, installs and executes.
	if gate != nil {
		fd, _, e := syscall.RawSyscall(nrSeccomp, seccompSetModeFilt, flags|seccompFlagListener, uintptr(unsafe.Pointer(gate)))
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
		if i == 0 && c.Listener {
			// The filter whose rules notify gets the listener: the kernel
			// sends USER_NOTIF to the listener of the filter that returned
			// it, and answers ENOSYS when that filter has none
			// (kernel/seccomp.c: seccomp_do_user_notification).
			fd, _, e := syscall.RawSyscall(nrSeccomp, seccompSetModeFilt, flags|seccompFlagListener|uintptr(c.ListenerFlags), uintptr(unsafe.Pointer(p)))
			if e != 0 {
				failWhat.Store(2)
				failErrno.Store(int32(e))
				initState.Store(stateFailed)
				hang()
			}
			listenerFD.Store(int32(fd))
			initState.Store(stateListener)
			continue
		}
		_, _, e := syscall.RawSyscall(nrSeccomp, seccompSetModeFilt, flags, uintptr(unsafe.Pointer(p)))
		if e != 0 {
			failWhat.Store(int32(i) + 2)
			failErrno.Store(int32(e))
			initState.Store(stateFailed)
			hang()
		}
	}
	if c.Listener {
		// Spin, without a system call, until the parent serves the
		// listener: the reporting thread sets acked, or ends the process
		// when the parent is gone. Executing before that could lose the
		// listener (execve closes it, and the program's notified
		// syscalls would fail with ENOSYS).
		waitAcked()
	}
	_, _, e := syscall.RawSyscall(syscall.SYS_EXECVE, uintptr(unsafe.Pointer(path)),
		uintptr(unsafe.Pointer(&argv[0])), uintptr(unsafe.Pointer(&envv[0])))
	failWhat.Store(0)
	failErrno.Store(int32(e))
	initState.Store(stateFailed)
	hang()
	runtime.KeepAlive(progs)
	runtime.KeepAlive(gate)
	return nil
}

// hang spins until the reporting thread ends the process: any system
// call here would run under the filters, so it cannot sleep; it spins at
// most for the reporting thread's next 20-microsecond tick.
//
//go:nosplit
func hang() {
	//lint:ignore SA5002 spinning is the point: sleeping would be a system call
	for {
	}
}

// sockFprog is struct sock_fprog.
type sockFprog struct {
	Len    uint16
	_      [6]byte
	Filter *byte
}

// newSockFprog wraps an encoded filter, or returns nil for one that is
// not a whole number of 8-byte instructions (the parent validated the
// instructions; the kernel validates them again).
func newSockFprog(raw []byte) *sockFprog {
	if len(raw) == 0 || len(raw)%8 != 0 || len(raw)/8 > 4096 {
		return nil
	}
	return &sockFprog{Len: uint16(len(raw) / 8), Filter: &raw[0]}
}

// checkExecutable reports 127 or 126 before any filter when execve would
// fail for want of the file or of permission to execute it.
func (s *stage) checkExecutable() *Status { return CheckExecutable(s.cfg.Path) }

const _AT_FDCWD = -100

// closeRangeCloexec is CLOSE_RANGE_CLOEXEC (include/uapi/linux/
// close_range.h, Linux 5.11): mark the range close-on-exec instead of
// closing it.
const closeRangeCloexec = 1 << 2

// closeFDs closes every descriptor not in keep, with close_range (Linux
// 5.9) over the gaps, or one by one from /proc/self/fd without it.
func closeFDs(keep []int, nrCloseRange int) syscall.Errno {
	return overGaps(keep, nrCloseRange, 0)
}

// markCloseOnExec sets close-on-exec on every descriptor not in keep and
// clears it on those in keep, with close_range's CLOSE_RANGE_CLOEXEC, or
// one by one from /proc/self/fd on kernels without it (before 5.11).
func markCloseOnExec(keep []int, nrCloseRange int) syscall.Errno {
	if e := overGaps(keep, nrCloseRange, closeRangeCloexec); e != 0 {
		return e
	}
	for _, fd := range keep {
		if _, _, e := syscall.RawSyscall(syscall.SYS_FCNTL, uintptr(fd), syscall.F_SETFD, 0); e != 0 {
			return e
		}
	}
	return 0
}

// overGaps applies close_range with flags to every range of descriptors
// between the ones in keep, falling back to the descriptors listed in
// /proc/self/fd when the kernel lacks the call (ENOSYS) or the flag
// (EINVAL).
func overGaps(keep []int, nrCloseRange int, flags uintptr) syscall.Errno {
	sortInts(keep)
	if nrCloseRange <= 0 {
		return eachFD(keep, flags)
	}
	next := 0
	for _, k := range append(keep, -1) {
		if k >= 0 && k < next {
			continue // a duplicate
		}
		if k < 0 || k > next {
			hi := uintptr(k - 1)
			if k < 0 {
				hi = ^uintptr(0) >> 32 // ~0U
			}
			_, _, e := syscall.RawSyscall(uintptr(nrCloseRange), uintptr(next), hi, flags)
			if e == syscall.ENOSYS || (e == syscall.EINVAL && flags != 0) {
				return eachFD(keep, flags)
			}
			if e != 0 {
				return e
			}
		}
		next = k + 1
	}
	return 0
}

// eachFD closes, or marks close-on-exec, every open descriptor not in
// keep, as /proc/thread-self/fd lists them: the calling thread's table,
// which is not the process's after unshare(CLONE_FILES) (PrivateFDs).
func eachFD(keep []int, flags uintptr) syscall.Errno {
	dir, err := syscall.Open("/proc/thread-self/fd", syscall.O_RDONLY|syscall.O_DIRECTORY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return errnoOf(err)
	}
	var fds []int
	buf := make([]byte, 8192)
	for {
		n, err := syscall.ReadDirent(dir, buf)
		if err != nil {
			syscall.Close(dir)
			return errnoOf(err)
		}
		if n <= 0 {
			break
		}
		_, _, names := syscall.ParseDirent(buf[:n], -1, nil)
		for _, name := range names {
			fd, ok := atoi(name)
			if ok && fd != dir {
				fds = append(fds, fd)
			}
		}
	}
	syscall.Close(dir)
	for _, fd := range fds {
		kept := false
		for _, k := range keep {
			kept = kept || k == fd
		}
		switch {
		case kept:
		case flags&closeRangeCloexec != 0:
			if _, _, e := syscall.RawSyscall(syscall.SYS_FCNTL, uintptr(fd), syscall.F_SETFD, syscall.FD_CLOEXEC); e != 0 && e != syscall.EBADF {
				return e
			}
		default:
			syscall.Close(fd)
		}
	}
	return 0
}

// loopbackUp brings up lo, as a new network namespace has it down.
func loopbackUp() syscall.Errno {
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_DGRAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return errnoOf(err)
	}
	defer syscall.Close(fd)
	var ifr [40]byte // struct ifreq: name[16], then the union (flags: short)
	copy(ifr[:], "lo")
	if _, _, e := syscall.RawSyscall(syscall.SYS_IOCTL, uintptr(fd), siocgifflags, uintptr(unsafe.Pointer(&ifr[0]))); e != 0 {
		return e
	}
	*(*uint16)(unsafe.Pointer(&ifr[16])) |= iffUp
	if _, _, e := syscall.RawSyscall(syscall.SYS_IOCTL, uintptr(fd), siocsifflags, uintptr(unsafe.Pointer(&ifr[0]))); e != 0 {
		return e
	}
	return 0
}

// capHeader and capData are struct __user_cap_header_struct and
// __user_cap_data_struct (include/uapi/linux/capability.h).
type capHeader struct {
	Version uint32
	Pid     int32
}

type capData struct {
	Effective, Permitted, Inheritable uint32
}

// applyCaps reduces the calling thread's capabilities to keep in the
// bounding, permitted, effective and inheritable sets, and empties the
// ambient set, so the program gets at most keep: as root through the
// bounding set (a root execve gains the bounding set), and as any other
// user nothing, as in a container. The sets belong to the thread
// (kernel/capability.c: capset acts on current's creds), which must stay
// locked. It returns what failed, or "".
func applyCaps(keep uint64) (string, syscall.Errno) {
	hdr := capHeader{Version: capVersion3}
	var data [2]capData
	if _, _, e := syscall.RawSyscall(syscall.SYS_CAPGET, uintptr(unsafe.Pointer(&hdr)), uintptr(unsafe.Pointer(&data[0])), 0); e != 0 {
		return "read capabilities", e
	}
	permitted := uint64(data[0].Permitted) | uint64(data[1].Permitted)<<32
	// The bounding set first, while CAP_SETPCAP is still effective. A
	// process without any capability cannot drop it and need not: with
	// no_new_privs its program cannot gain any (security/commoncap.c:
	// cap_bprm_creds_from_file ignores setuid bits and file capabilities).
	if permitted != 0 {
		last := lastCap()
		for c := 0; c <= last; c++ {
			if keep&(1<<c) != 0 {
				continue
			}
			if _, _, e := syscall.RawSyscall6(syscall.SYS_PRCTL, prCapbsetDrop, uintptr(c), 0, 0, 0, 0); e != 0 && e != syscall.EINVAL {
				return "drop capability " + itoa(c) + " from the bounding set", e
			}
		}
	}
	if _, _, e := syscall.RawSyscall6(syscall.SYS_PRCTL, prCapAmbient, prCapAmbientClear, 0, 0, 0, 0); e != 0 && e != syscall.EINVAL {
		return "clear the ambient capabilities", e
	}
	set := keep & permitted
	for i := range data {
		w := uint32(set >> (32 * i))
		data[i] = capData{Effective: w, Permitted: w, Inheritable: w}
	}
	if _, _, e := syscall.RawSyscall(syscall.SYS_CAPSET, uintptr(unsafe.Pointer(&hdr)), uintptr(unsafe.Pointer(&data[0])), 0); e != 0 {
		return "set the capabilities", e
	}
	return "", 0
}

// lastCap returns the highest capability number the running kernel knows
// (/proc/sys/kernel/cap_last_cap), or 40 (CAP_CHECKPOINT_RESTORE).
func lastCap() int {
	const fallback = 40
	fd, err := syscall.Open("/proc/sys/kernel/cap_last_cap", syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return fallback
	}
	defer syscall.Close(fd)
	var b [16]byte
	n, _ := syscall.Read(fd, b[:])
	if n <= 0 {
		return fallback
	}
	end := 0
	for end < n && b[end] >= '0' && b[end] <= '9' {
		end++
	}
	v, ok := atoi(string(b[:end]))
	if !ok || v <= 0 || v > 63 {
		return fallback
	}
	return v
}

func itoa(v int) string {
	if v < 0 {
		return "-" + itoa(-v)
	}
	var b [20]byte
	i := len(b)
	for {
		i--
		b[i] = byte('0' + v%10)
		v /= 10
		if v == 0 {
			return string(b[i:])
		}
	}
}

func atoi(s string) (int, bool) {
	if s == "" || len(s) > 9 {
		return 0, false
	}
	v := 0
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
		v = v*10 + int(s[i]-'0')
	}
	return v, true
}

func sortInts(a []int) {
	for i := 1; i < len(a); i++ {
		for j := i; j > 0 && a[j] < a[j-1]; j-- {
			a[j], a[j-1] = a[j-1], a[j]
		}
	}
}

// waitAcked spins until the reporting thread has the parent's
// acknowledgement of the listener (or ends the process).
//
//go:nosplit
func waitAcked() {
	for !acked.Load() {
	}
}

// reporter is the unfiltered thread that speaks for the filtered one
// once its filters are on: it hands the gate's listener to the parent
// and reports a failed install or execve, then ends the process.
type reporter struct {
	statusFD    int
	direct      bool   // Exec: report on descriptor 2, for a person
	path        string // the program, named in those reports
	filters     int
	started     chan struct{} // closed once the thread runs
	armed       chan struct{} // closed just before the filters go on
	listenerMsg []byte
	waitAck     bool // Config.Listener: wait for the parent's acknowledgement
}

func newReporter(statusFD, filters int) *reporter {
	r := &reporter{
		statusFD:    statusFD,
		filters:     filters,
		started:     make(chan struct{}),
		armed:       make(chan struct{}),
		listenerMsg: (&Status{Listener: true}).Encode(),
	}
	return r
}

func (r *reporter) loop() {
	runtime.LockOSThread() // never released: this thread stays unfiltered
	close(r.started)
	// Polling starts only when the filters are about to go on: a thread
	// waking every 20 microseconds through the whole hardening takes a
	// core from the one doing it, on a machine with few of them.
	<-r.armed
	ts := syscall.Timespec{Nsec: 20_000}
	for {
		switch initState.Load() {
		case stateListener:
			if !listenerOut.Load() {
				r.sendListener(int(listenerFD.Load()))
				listenerOut.Store(true)
				if r.waitAck {
					r.receiveAck()
				}
			}
		case stateFailed:
			r.reportFailure()
		case stateGone:
			return // and the runtime ends the thread, still locked
		}
		syscall.RawSyscall(syscall.SYS_NANOSLEEP, uintptr(unsafe.Pointer(&ts)), 0, 0)
	}
}

// sendListener passes fd to the parent with SCM_RIGHTS. This thread has
// no filter, and with garbage collection off its allocations cannot make
// the filtered thread stop for the collector.
func (r *reporter) sendListener(fd int) {
	syscall.Sendmsg(r.statusFD, r.listenerMsg, syscall.UnixRights(fd), nil, 0)
}

// receiveAck waits for the parent's one-byte acknowledgement that a
// supervisor serves the listener. Anything else (the parent gone, the
// socket closed) ends the process before the program starts: no program
// runs with a listener nobody serves.
func (r *reporter) receiveAck() {
	var b [1]byte
	for {
		n, _, e := syscall.RawSyscall(syscall.SYS_READ, uintptr(r.statusFD), uintptr(unsafe.Pointer(&b[0])), 1)
		if e == syscall.EINTR {
			continue
		}
		if e != 0 || n != 1 || b[0] != ackByte {
			syscall.RawSyscall(syscall.SYS_EXIT_GROUP, ExitInternal, 0, 0)
		}
		acked.Store(true)
		return
	}
}

// reportFailure tells the parent what failed under the filters and ends
// the process, which the filtered thread cannot do itself.
func (r *reporter) reportFailure() {
	e := syscall.Errno(failErrno.Load())
	what := int(failWhat.Load())
	var st Status
	switch {
	case what == 1:
		st = Status{Code: ExitInternal, Errno: int(e), Msg: "install the exec gate filter"}
	case what >= 2:
		st = Status{Code: ExitInternal, Errno: int(e),
			Msg: "install seccomp filter " + itoa(what-1) + " of " + itoa(r.filters) + " (do the filters installed before it deny seccomp(2)?)"}
	case e == syscall.ENOENT || e == syscall.ENOTDIR:
		st = Status{Code: ExitNotFound, Errno: int(e), Msg: "execve"}
	case e == syscall.EPERM || e == syscall.EACCES || e == syscall.ENOSYS:
		st = Status{Code: ExitCannotExecute, Errno: int(e),
			Msg: ExecDenied}
	default:
		st = Status{Code: ExitCannotExecute, Errno: int(e), Msg: "execve"}
	}
	if r.direct {
		msg := "syscage: " + st.Msg
		if what == 0 {
			msg = "syscage: " + r.path + ": " + st.Msg
		}
		if st.Errno != 0 {
			msg += ": " + syscall.Errno(st.Errno).Error()
		}
		syscall.Write(2, []byte(msg+"\n"))
	} else {
		syscall.Write(r.statusFD, st.Encode())
	}
	syscall.RawSyscall(syscall.SYS_EXIT_GROUP, uintptr(st.Code), 0, 0)
}
