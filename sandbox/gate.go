package sandbox

import (
	"sync"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/syscage/syscage/arch"
	"github.com/syscage/syscage/bpf"
)

// ExecGate starts a program under a profile that denies execve.
//
// syscage must execve the program after its filters are on, so a profile
// that forbids execve (the "no-exec" profile: no new programs after the
// start) would forbid the start itself. With a gate, the filters are
// compiled with execve and execveat allowed on the native arch, and a
// small gate filter, installed first with a notification listener, sends
// those two syscalls to syscage instead. syscage lets the first one
// through (it can only be the init stage's own: nothing else runs under
// the filters yet) and answers every later one as Decide says, for as
// long as syscage runs; if syscage dies, the kernel answers ENOSYS to
// them (no listener), so the gate fails closed.
//
// Decide returns the seccomp return value the full profile gives the
// call. ALLOW and LOG let it run, ERRNO(n) fails it with n, KILL_PROCESS
// and KILL_THREAD kill the process with SIGSYS (so syscage reports the
// syscall), TRAP sends SIGSYS to the thread and fails the call with
// ENOSYS, TRACE and USER_NOTIF fail it with ENOSYS as the kernel does
// when no tracer or other listener is there.
type ExecGate struct {
	Decide func(d *bpf.SeccompData) uint32
}

// GateFor returns a gate that decides with filters, compiled from the
// full profile (bpf.RunStack gives what the kernel would).
func GateFor(filters []bpf.Program) *ExecGate {
	return &ExecGate{Decide: func(d *bpf.SeccompData) uint32 {
		r, err := bpf.RunStack(filters, d, bpf.NativeEndian)
		if err != nil {
			return bpf.RetKillProcess // fail closed
		}
		return r.Action
	}}
}

// gateFilter returns USER_NOTIF for the native execve and execveat and
// ALLOW for everything else; the profile's filters decide the rest.
func gateFilter() bpf.Program {
	a := arch.Native()
	if a == nil {
		return bpf.Program{bpf.Ret(bpf.RetAllow)}
	}
	execve, _ := a.Lookup("execve")
	execveat, _ := a.Lookup("execveat")
	return bpf.Program{
		bpf.LoadAbs(bpf.OffsetArch),
		bpf.JumpIf(bpf.JmpJEQ, a.AuditArch, 0, 4),
		bpf.LoadAbs(bpf.OffsetNr),
		bpf.JumpIf(bpf.JmpJEQ, uint32(execve), 1, 0),
		bpf.JumpIf(bpf.JmpJEQ, uint32(execveat), 0, 1),
		bpf.Ret(bpf.RetUserNotif),
		bpf.Ret(bpf.RetAllow),
	}
}

// struct seccomp_notif and struct seccomp_notif_resp
// (include/uapi/linux/seccomp.h).
type seccompNotif struct {
	ID    uint64
	Pid   uint32
	Flags uint32
	Data  bpf.SeccompData
}

type seccompNotifResp struct {
	ID    uint64
	Val   int64
	Error int32
	Flags uint32
}

const notifFlagContinue = 1 // SECCOMP_USER_NOTIF_FLAG_CONTINUE

// gateServer answers the gate's notifications in syscage.
type gateServer struct {
	fd      int
	pid     int
	gate    *ExecGate
	quit    atomic.Bool
	done    sync.WaitGroup
	mu      sync.Mutex
	last    *Violation
	started bool // the program's own execve went through
}

func startGate(fd, pid int, g *ExecGate) *gateServer {
	s := &gateServer{fd: fd, pid: pid, gate: g}
	s.done.Add(1)
	go s.loop()
	return s
}

func (s *gateServer) loop() {
	defer s.done.Done()
	defer unix.Close(s.fd)
	for !s.quit.Load() {
		pfd := []unix.PollFd{{Fd: int32(s.fd), Events: unix.POLLIN}}
		n, err := unix.Poll(pfd, 100)
		if err == unix.EINTR || n == 0 {
			continue
		}
		if err != nil || pfd[0].Revents&(unix.POLLHUP|unix.POLLERR|unix.POLLNVAL) != 0 {
			return // every process under the filter has ended
		}
		var req seccompNotif
		if _, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(s.fd), unix.SECCOMP_IOCTL_NOTIF_RECV, uintptr(unsafe.Pointer(&req))); e != 0 {
			continue // the caller went away (ENOENT) or a signal interrupted
		}
		resp, launch := s.answer(&req)
		_, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(s.fd), unix.SECCOMP_IOCTL_NOTIF_SEND, uintptr(unsafe.Pointer(&resp)))
		if launch && e == 0 {
			// The launcher's execve has its answer: from now on every
			// execve is the program's. Had a signal interrupted the call
			// before the answer (SEND fails with ENOENT), the kernel
			// restarts it and the next notification is the launcher's
			// again (kernel/seccomp.c: seccomp_do_user_notification).
			s.mu.Lock()
			s.started = true
			s.mu.Unlock()
		}
	}
}

// answer decides a notification; launch is true for the launcher's own
// execve.
func (s *gateServer) answer(req *seccompNotif) (resp seccompNotifResp, launch bool) {
	resp = seccompNotifResp{ID: req.ID}
	s.mu.Lock()
	first := !s.started
	s.mu.Unlock()
	if first {
		// Nothing but the init stage's thread runs under the filters
		// before the program: this is its execve.
		resp.Flags = notifFlagContinue
		return resp, true
	}
	ret := bpf.RetKillProcess
	if s.gate != nil && s.gate.Decide != nil {
		ret = s.gate.Decide(&req.Data)
	}
	switch bpf.ActionOf(ret) {
	case bpf.RetAllow, bpf.RetLog:
		resp.Flags = notifFlagContinue
	case bpf.RetErrno:
		resp.Error = -int32(ret & bpf.RetData)
	case bpf.RetKillProcess, bpf.RetKillThread:
		// SIGKILL, not SIGSYS: a program may catch SIGSYS, while the
		// kernel's kill cannot be caught.
		s.record(req, ret)
		// A pid of 0 means the caller is in a pid namespace syscage
		// cannot see into; never pass 0 (or a negative number) to kill,
		// which would signal syscage's own process group.
		if pid := int(req.Pid); pid > 0 {
			unix.Kill(pid, unix.SIGKILL)
		} else {
			unix.Kill(s.pid, unix.SIGKILL)
		}
		resp.Error = -int32(unix.ENOSYS)
	case bpf.RetTrap:
		s.record(req, ret)
		if tgid := tgidOf(int(req.Pid)); tgid > 0 && req.Pid > 0 {
			unix.Tgkill(tgid, int(req.Pid), unix.SIGSYS)
		}
		resp.Error = -int32(unix.ENOSYS)
	default:
		resp.Error = -int32(unix.ENOSYS)
	}
	return resp, false
}

func (s *gateServer) record(req *seccompNotif, ret uint32) {
	v := &Violation{PID: int(req.Pid), AuditArch: req.Data.Arch, Nr: int(uint32(req.Data.Nr)), Action: ret, Source: "exec gate"}
	v.resolve()
	s.mu.Lock()
	s.last = v
	s.mu.Unlock()
}

func (s *gateServer) violation() *Violation {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.last
}

// stop ends the server; the listener closes, and later execve calls of
// processes still under the filter get ENOSYS.
func (s *gateServer) stop() {
	s.quit.Store(true)
	s.done.Wait()
}

// tgidOf reads the thread group of a thread from /proc.
func tgidOf(tid int) int {
	st, err := readProcStatus(tid)
	if err != nil {
		return 0
	}
	return st["Tgid"]
}
