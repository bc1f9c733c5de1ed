package notify

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/syscage/syscage/arch"
	"github.com/syscage/syscage/audit"
)

// Options tune a Supervisor. The zero value is usable.
type Options struct {
	// Workers is how many requests may be handled at once; 0 means
	// DefaultWorkers. A handler that blocks holds one worker; the others
	// keep receiving and answering.
	Workers int
	// Unhandled decides notified syscalls no handler serves. nil
	// answers ENOSYS (what the kernel answers when no supervisor
	// listens) and reports a violation.
	Unhandled Handler
	// Alerts receives an event for every violation; nil writes none.
	Alerts *Alerts
	// KillOnViolation ends the sandbox at the first violation, with
	// Kill.
	KillOnViolation bool
	// Kill ends the whole sandbox. nil kills the process of the target
	// that violated the policy.
	Kill func(r *Request) error
	// NoSyncWakeUp leaves SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP off. The
	// flag (Linux 6.6) makes the kernel wake the supervisor on the CPU
	// the target runs on, and the target on the supervisor's CPU when
	// the answer is sent (kernel/seccomp.c: wake_up_poll_on_current_cpu,
	// complete_on_current_cpu): in the usual exchange one side runs
	// while the other waits, and keeping both on one CPU saves the
	// cross-CPU wake-up, several microseconds per syscall. With many
	// target threads busy at once it can pile work on one CPU; set this
	// to spread it.
	NoSyncWakeUp bool
	// Container names the container the targets run in, for alerts.
	Container string
	// Logf reports the supervisor's own troubles (an event that could
	// not be written, a listener error); nil discards them.
	Logf func(format string, args ...any)
}

// DefaultWorkers is the number of requests handled at once when
// Options.Workers is 0.
const DefaultWorkers = 16

// Stats counts what a supervisor did. All counts are since New.
type Stats struct {
	// Received notifications.
	Received uint64 `json:"received"`
	// Answered: responses the kernel accepted.
	Answered uint64 `json:"answered"`
	// Vanished: notifications whose target died or was interrupted
	// between the wake-up and the receive (ENOENT from RECV).
	Vanished uint64 `json:"vanished"`
	// Gone: notifications whose target died or was interrupted after the
	// receive, before the answer (ENOENT from SEND or ADDFD). The kernel
	// restarts an interrupted syscall, which then arrives as a new
	// notification; with SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV only a
	// fatal signal interrupts it once received.
	Gone uint64 `json:"gone"`
	// Unhandled: notifications no handler served.
	Unhandled uint64 `json:"unhandled"`
	// Violations: answers that refused what the policy forbids.
	Violations uint64 `json:"violations"`
	// Kills: sandboxes ended for a violation or a kill action.
	Kills uint64 `json:"kills"`
	// Panics: handlers that panicked; the target got ENOSYS.
	Panics uint64 `json:"panics"`
	// SyncWakeUp tells whether SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP is on.
	SyncWakeUp bool `json:"sync_wake_up"`
}

// Supervisor answers the notifications of one listener.
type Supervisor struct {
	fd    int
	sizes struct{ notif, resp uint16 }
	opts  Options

	byKey map[uint64]entry // (AUDIT_ARCH, nr) -> handler

	// direct: workers wait in SECCOMP_IOCTL_NOTIF_RECV itself, several
	// at once, rather than in poll(2) first, one at a time (see
	// recvWakesOnHangUp).
	direct bool
	// receivers is how many workers may receive at once.
	receivers int
	slots     chan struct{} // the right to receive, one per receiving worker
	workers   []*worker
	stopped   chan struct{}
	stop      sync.Once
	stopErr   error
	stopFD    int // eventfd that wakes a worker's poll (not direct)
	// mu guards running, inKernel and returned: Serve returns once every
	// worker still running waits in the kernel (direct mode), and a
	// worker that comes back after that answers for a stopped
	// supervisor.
	mu       sync.Mutex
	idle     *sync.Cond
	running  int
	inKernel int
	halted   bool
	returned bool
	// dogWake wakes the watchdog when it sleeps (dogAsleep).
	dogWake   chan struct{}
	dogAsleep atomic.Bool
	closed    atomic.Bool

	received, answered, vanished, gone, unhandled, violations, kills, panics atomic.Uint64
	syncWake                                                                 bool
}

// New returns a supervisor for listener, a seccomp notification listener
// descriptor, which it owns from now on: Serve closes it. Handlers are
// looked up by syscall name on every architecture that has the name.
func New(listener int, h Handlers, opts Options) (*Supervisor, error) {
	if err := checkListener(listener); err != nil {
		return nil, err
	}
	ks, err := kernelSizes()
	if err != nil {
		return nil, fmt.Errorf("notification sizes: %w", err)
	}
	s := &Supervisor{fd: listener, opts: opts, byKey: map[uint64]entry{}}
	s.sizes.notif, s.sizes.resp = ks.Notif, ks.NotifResp
	if s.opts.Workers <= 0 {
		s.opts.Workers = DefaultWorkers
	}
	for name, fn := range h {
		found := false
		for _, a := range arch.All() {
			if nr, ok := a.Lookup(name); ok {
				s.byKey[key(a.AuditArch, uint32(nr))] = entry{fn, ownHandler(fn)}
				found = true
			}
		}
		if !found {
			return nil, fmt.Errorf("handler for %q: no architecture has a syscall of that name", name)
		}
	}
	s.direct = recvWakesOnHangUp()
	s.receivers = 1
	if s.direct {
		// Each brokered open keeps two threads busy, the target's and
		// the receiver's, and every receiver waiting in the kernel is
		// woken for each notification (recv_wait_event waits
		// non-exclusively), though only one gets it: receivers beyond
		// half the processors add wake-ups, not throughput.
		s.receivers = min(s.opts.Workers, max(runtime.GOMAXPROCS(0)/2, 1))
	}
	if !opts.NoSyncWakeUp {
		// Refused by kernels before 6.6 (unknown ioctl, EINVAL): the
		// supervisor then works as before, just with cross-CPU wake-ups.
		s.syncWake = setFlags(listener, syncWakeUp) == 0
	}
	return s, nil
}

// entry is a handler and whether it is this package's own.
type entry struct {
	h   Handler
	own bool
}

// ownHandler tells the file broker's handler from any other. The
// broker's runs with the worker's signals blocked, as the rest of the
// worker's loop does (see work); another runs with the thread's usual
// signals, so that the Go runtime can preempt and profile it.
func ownHandler(h Handler) bool {
	return reflect.ValueOf(h).Pointer() == reflect.ValueOf((*Broker)(nil).handleOpen).Pointer()
}

func key(auditArch, nr uint32) uint64 { return uint64(auditArch)<<32 | uint64(nr) }

// Serve runs a supervisor for listener until every process under the
// filter has gone (it returns nil) or ctx is cancelled (it returns
// ctx's error). The listener is closed on return: targets still under
// the filter then get ENOSYS for every notified syscall, as the kernel
// answers when nobody listens.
func Serve(ctx context.Context, listener int, h Handlers, opts Options) error {
	s, err := New(listener, h, opts)
	if err != nil {
		unix.Close(listener)
		return err
	}
	return s.Serve(ctx)
}

// errHangUp ends Serve normally: the filter has no users left.
var errHangUp = errors.New("every process under the filter has gone")

// Serve answers notifications until every process under the filter has
// gone (nil) or ctx is cancelled (ctx.Err()). It closes the listener on
// return. It may be called once.
//
// A worker that waits in the kernel for a notification when ctx is
// cancelled cannot be woken (see receiveDirect): Serve returns without
// it, and it keeps the listener open until the next notification, which
// it answers with ENOSYS, or until the last target exits. For the
// targets nothing differs from a closed listener.
func (s *Supervisor) Serve(ctx context.Context) error {
	if s.closed.Load() {
		return errors.New("notify: Serve called on a stopped supervisor")
	}
	s.stopFD = -1
	if !s.direct {
		efd, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
		if err != nil {
			s.closeListener()
			return fmt.Errorf("create the stop eventfd: %w", err)
		}
		s.stopFD = efd
	}
	s.dogWake = make(chan struct{}, 1)
	s.slots = make(chan struct{}, s.receivers)
	s.stopped = make(chan struct{})
	s.idle = sync.NewCond(&s.mu)
	for range s.receivers {
		s.slots <- struct{}{}
	}
	s.workers = make([]*worker, s.opts.Workers)
	for i := range s.workers {
		// Each worker answers through a descriptor of its own: one that
		// waits in the kernel when Serve returns keeps the listener
		// open until it comes back, and must not find its number
		// closed, or reused by another file, then.
		fd, err := unix.FcntlInt(uintptr(s.fd), unix.F_DUPFD_CLOEXEC, 0)
		if err != nil {
			for _, w := range s.workers[:i] {
				unix.Close(w.fd)
			}
			s.closeListener()
			if s.stopFD >= 0 {
				unix.Close(s.stopFD)
			}
			return fmt.Errorf("duplicate the listener for a worker: %w", err)
		}
		s.workers[i] = &worker{fd: fd, buf: newRecvBuf(s.sizes.notif)}
	}
	s.running = len(s.workers)

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		<-ctx.Done()
		s.halt(ctx.Err())
	}()

	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		s.watchdog()
	}()
	for _, w := range s.workers {
		go s.work(ctx, w)
	}
	// Wait until every worker has ended or waits in the kernel for a
	// notification. A wait in SECCOMP_IOCTL_NOTIF_RECV ends only with a
	// notification or once no process uses the filter
	// (kernel/seccomp.c: recv_wait_event); a signal restarts it. A
	// worker still waiting there when Serve returns answers the next
	// notification with ENOSYS, as the kernel would for a closed
	// listener, and ends.
	s.mu.Lock()
	for !s.halted || s.running > s.inKernel {
		s.idle.Wait()
	}
	s.returned = true
	s.mu.Unlock()
	wg.Wait()
	s.closeListener()
	if s.stopFD >= 0 {
		unix.Close(s.stopFD)
	}
	if errors.Is(s.stopErr, errHangUp) {
		return nil
	}
	return s.stopErr
}

// halt stops the workers once, recording why.
func (s *Supervisor) halt(err error) {
	s.stop.Do(func() {
		s.stopErr = err
		close(s.stopped)
		s.mu.Lock()
		s.halted = true
		s.idle.Broadcast()
		s.mu.Unlock()
		if s.stopFD >= 0 {
			var one = [8]byte{1}
			unix.Write(s.stopFD, one[:])
		}
	})
}

func (s *Supervisor) closeListener() {
	if s.closed.CompareAndSwap(false, true) {
		unix.Close(s.fd)
	}
}

// Stats returns the counts so far.
func (s *Supervisor) Stats() Stats {
	return Stats{
		Received:   s.received.Load(),
		Answered:   s.answered.Load(),
		Vanished:   s.vanished.Load(),
		Gone:       s.gone.Load(),
		Unhandled:  s.unhandled.Load(),
		Violations: s.violations.Load(),
		Kills:      s.kills.Load(),
		Panics:     s.panics.Load(),
		SyncWakeUp: s.syncWake,
	}
}

func (s *Supervisor) logf(format string, args ...any) {
	if s.opts.Logf != nil {
		s.opts.Logf(format, args...)
	}
}

// worker is the per-goroutine state of a worker.
type worker struct {
	// phase is the worker's state for the watchdog: the number of
	// requests it handled, shifted left by two, and one of the phases
	// below in the low bits, so that the watchdog can tell one long
	// request from many short ones.
	phase   atomic.Uint64
	fd      int     // the worker's own descriptor of the listener
	req     Request // the request being handled, reused
	pollFDs [2]unix.PollFd
	buf     *recvBuf
	path    [PathMax]byte
	creds   *threadCreds
	// tainted is set when the thread could not be returned to the
	// supervisor's identity: the worker stops and its thread ends.
	tainted bool
	// sigmask is the thread's signal mask before the worker blocked
	// every signal (sigsBlocked).
	sigmask     unix.Sigset_t
	sigsBlocked bool
}

// blockSignals blocks every signal on the calling thread, saving the
// mask it had in old when not nil. Signals the kernel raises for a fault
// of the thread itself (SIGSEGV, SIGBUS...) are delivered all the same
// (kernel/signal.c: force_sig_info_to_task unblocks them).
func blockSignals(old *unix.Sigset_t) error {
	var all unix.Sigset_t
	for i := range all.Val {
		all.Val[i] = ^uint64(0)
	}
	return unix.PthreadSigmask(unix.SIG_BLOCK, &all, old)
}

// The phases of a worker, in the low two bits of worker.phase.
const (
	phaseIdle     = 0 // receiving, or between requests
	phaseHandling = 1 // a handler runs; the watchdog may pass the slot on
	phasePassed   = 2 // the watchdog passed the worker's slot on
)

// work is one worker. Workers take turns at receiving: a worker holding
// one of the supervisor's receiving slots receives one notification,
// handles it itself, on the thread the kernel woke, and then receives
// the next, as a C loop would: there is no hand-off between threads on
// the way. Several workers hold slots at once where the kernel wakes
// waiting receivers (see recvWakesOnHangUp), so that the requests of
// several target threads are handled in parallel; the kernel gives each
// notification to one of them (kernel/seccomp.c: seccomp_notify_recv
// takes the first one not yet received, under notify_lock). Should a
// handler run for longer than a watchdog tick, the watchdog passes its
// slot to a worker without one, so a handler that blocks holds up the
// others for a millisecond at most.
//
// Each worker keeps its OS thread while it serves: the file broker gives
// the thread the target's credentials for an open, and returns it to its
// own right after. The thread goes back to the Go runtime when the worker
// ends, unless that failed: a goroutine that ends locked ends its thread
// with it. (Ending threads is not harmless: a child started with
// Pdeathsig from a thread is killed when that thread ends.)
func (s *Supervisor) work(ctx context.Context, w *worker) {
	runtime.LockOSThread()
	// Every signal stays blocked on the thread while it serves, except
	// while a handler other than the broker's runs: an ADDFD with SEND
	// must not be interrupted (see respond), and blocking signals once
	// costs less than blocking them around each answer. The Go runtime
	// delivers process signals to its other threads, and a goroutine in
	// a system call needs no signal to be preempted.
	w.sigsBlocked = blockSignals(&w.sigmask) == nil
	defer func() {
		if w.sigsBlocked {
			unix.PthreadSigmask(unix.SIG_SETMASK, &w.sigmask, nil)
		}
		unix.Close(w.fd)
		s.mu.Lock()
		s.running--
		s.idle.Broadcast()
		s.mu.Unlock()
		if !w.tainted {
			runtime.UnlockOSThread()
		}
	}()
	for {
		select {
		case <-s.stopped:
			return
		case <-s.slots:
		}
		for {
			if err := ctx.Err(); err != nil {
				// Cancelled: stop before receiving another request
				// (the watcher of ctx may not have run yet).
				s.halt(err)
			}
			n, err := s.receive(w)
			if err != nil {
				s.slots <- struct{}{}
				s.halt(err)
				return
			}
			// Publish "handling" under a new generation.
			gen := w.phase.Load()>>2 + 1
			w.phase.Store(gen<<2 | phaseHandling)
			if s.dogAsleep.Load() && s.dogAsleep.CompareAndSwap(true, false) {
				select {
				case s.dogWake <- struct{}{}:
				default:
				}
			}
			s.handle(ctx, w, n)
			if w.tainted {
				if w.phase.CompareAndSwap(gen<<2|phaseHandling, gen<<2|phasePassed) {
					s.slots <- struct{}{}
				}
				s.logf("notify: a worker stops: its thread could not return to the supervisor's identity")
				return
			}
			if !w.phase.CompareAndSwap(gen<<2|phaseHandling, gen<<2|phaseIdle) {
				break // the watchdog passed the slot on: wait for one
			}
		}
	}
}

// watchdogTick is how often the watchdog looks at the workers while
// requests come in. A handler still running on the same request at the
// next look has held its slot for at least a tick: a brokered open takes
// a few microseconds, so only a handler that blocks gets there.
//
// The watchdog does not arm a timer per request: in a virtual machine
// every programming of the timer device is a costly exit to the
// hypervisor, which would double the latency of every request. It ticks
// while there is work and sleeps when there is none.
const watchdogTick = 500 * time.Microsecond

// watchdogIdleTicks is how many ticks without a request put the
// watchdog to sleep until the next one.
const watchdogIdleTicks = 200

// watchdog passes a worker's slot to another worker when the worker's
// handler runs for more than a tick.
//
// It sleeps in the Go runtime (time.Sleep, a channel), not in a system
// call: a thread that spends most of its time in a sleeping syscall
// makes the runtime's monitor take its processor back at every tick and
// then poll every 20 µs for good, which costs the supervisor more than
// any request.
func (s *Supervisor) watchdog() {
	last := make([]uint64, len(s.workers))
	snapshot := func() {
		for i, w := range s.workers {
			last[i] = w.phase.Load()
		}
	}
	snapshot()
	quiet := 0
	for {
		select {
		case <-s.stopped:
			return
		default:
		}
		if quiet >= watchdogIdleTicks {
			// Sleep until a worker starts handling; look again after
			// saying so, or a request that began meanwhile is missed.
			s.dogAsleep.Store(true)
			changed := false
			for i, w := range s.workers {
				changed = changed || w.phase.Load() != last[i]
			}
			if !changed {
				select {
				case <-s.dogWake:
				case <-s.stopped:
					return
				}
			}
			s.dogAsleep.Store(false)
			quiet = 0
		}
		time.Sleep(watchdogTick)
		busy := false
		for i, w := range s.workers {
			cur := w.phase.Load()
			switch {
			case cur != last[i]:
				busy = true
			case cur&3 == phaseHandling:
				// The same request as a tick ago.
				busy = true
				if w.phase.CompareAndSwap(cur, cur&^3|phasePassed) {
					s.slots <- struct{}{}
				}
				cur = w.phase.Load()
			}
			last[i] = cur
		}
		if busy {
			quiet = 0
		} else {
			quiet++
		}
	}
}

// receive waits for a notification and receives it. It returns
// errHangUp when the filter has no users left, or the reason to stop.
func (s *Supervisor) receive(w *worker) (notif, error) {
	if s.direct {
		return s.receiveDirect(w)
	}
	fds := w.pollFDs[:]
	fds[0] = unix.PollFd{Fd: int32(w.fd), Events: unix.POLLIN}
	fds[1] = unix.PollFd{Fd: int32(s.stopFD), Events: unix.POLLIN}
	for {
		select {
		case <-s.stopped:
			return notif{}, s.stopErr
		default:
		}
		fds[0].Revents, fds[1].Revents = 0, 0
		if _, err := unix.Poll(fds, -1); err != nil {
			if err == unix.EINTR {
				continue
			}
			return notif{}, fmt.Errorf("poll the listener: %w", err)
		}
		if fds[1].Revents != 0 {
			continue // stopped: the select above returns
		}
		re := fds[0].Revents
		switch {
		case re&unix.POLLIN != 0:
			n, e := w.buf.recv(w.fd)
			switch e {
			case 0:
				s.received.Add(1)
				return n, nil
			case unix.ENOENT:
				// The target was killed or interrupted between the
				// wake-up and the receive (kernel/seccomp.c:
				// seccomp_notify_recv finds no notification in
				// SECCOMP_NOTIFY_INIT).
				s.vanished.Add(1)
				continue
			}
			return notif{}, fmt.Errorf("receive a notification: %w", e)
		case re&unix.POLLNVAL != 0:
			return notif{}, errors.New("the listener descriptor was closed under the supervisor")
		case re&(unix.POLLHUP|unix.POLLERR) != 0:
			// No task uses the filter any more (kernel/seccomp.c:
			// seccomp_notify_poll reports EPOLLHUP).
			return notif{}, errHangUp
		}
	}
}

// errLate ends a worker that came back from the kernel after Serve
// returned.
var errLate = errors.New("the supervisor has stopped")

// receiveDirect waits for a notification in SECCOMP_IOCTL_NOTIF_RECV
// itself: one system call per request, as in the smallest C loop,
// where poll first would take two. The wait ends with a notification,
// or with ENOENT once no process uses the filter; a signal restarts it.
func (s *Supervisor) receiveDirect(w *worker) (notif, error) {
	for {
		s.mu.Lock()
		if s.halted {
			s.mu.Unlock()
			return notif{}, s.stopErr
		}
		s.inKernel++
		if s.inKernel == s.running {
			s.idle.Broadcast()
		}
		s.mu.Unlock()

		n, e := w.buf.recv(w.fd)

		s.mu.Lock()
		s.inKernel--
		late := s.returned
		s.mu.Unlock()
		if late {
			// Serve has returned and closed its descriptor; this
			// worker's keeps the listener open until it ends. Answer as
			// the kernel answers when nobody listens.
			if e == 0 {
				sendResp(w.fd, notifResp{ID: n.ID, Error: -int32(unix.ENOSYS)}, s.sizes.resp)
			}
			return notif{}, errLate
		}
		switch e {
		case 0:
			s.received.Add(1)
			return n, nil
		case unix.ENOENT:
			// Either the target was killed or interrupted between the
			// wake-up and the receive (kernel/seccomp.c:
			// seccomp_notify_recv finds no notification in
			// SECCOMP_NOTIFY_INIT), or no process uses the filter any
			// more, which the listener then reports as a hang-up
			// (seccomp_notify_poll).
			fds := w.pollFDs[:1]
			fds[0] = unix.PollFd{Fd: int32(w.fd), Events: unix.POLLIN}
			if _, err := unix.Poll(fds, 0); err == nil && fds[0].Revents&(unix.POLLHUP|unix.POLLERR) != 0 {
				return notif{}, errHangUp
			}
			s.vanished.Add(1)
			continue
		}
		return notif{}, fmt.Errorf("receive a notification: %w", e)
	}
}

// handle decides one notification and sends the answer.
func (s *Supervisor) handle(ctx context.Context, w *worker, n notif) {
	r := &w.req
	*r = Request{ID: n.ID, PID: int(n.PID), Data: n.Data, s: s, w: w}
	r.Arch = abiOf(n.Data.Arch, n.Data.Nr)
	if r.Arch != nil {
		if name, ok := r.Arch.SyscallName(int(uint32(n.Data.Nr))); ok {
			r.Syscall = name
		}
	}
	if r.Syscall == "" {
		r.Syscall = audit.SyscallName(n.Data.Arch, int64(n.Data.Nr))
	}
	e := s.byKey[key(n.Data.Arch, uint32(n.Data.Nr))]
	h := e.h
	if h == nil {
		s.unhandled.Add(1)
		h = s.opts.Unhandled
		if h == nil {
			h = unhandledHandler
		}
	}
	resp := s.call(ctx, h, e.own, r)
	switch {
	case resp.Violation || resp.Kill:
		s.violation(r, resp)
	case resp.Notice:
		s.alert(r, resp)
	}
	s.respond(r, resp)
}

// unhandledHandler answers what the kernel answers when nobody listens.
func unhandledHandler(_ context.Context, r *Request) Response {
	return Deny(unix.ENOSYS, "no handler serves this notified syscall")
}

// call runs a handler, turning a panic into ENOSYS and a report.
func (s *Supervisor) call(ctx context.Context, h Handler, own bool, r *Request) (resp Response) {
	if !own && r.w != nil && r.w.sigsBlocked {
		unix.PthreadSigmask(unix.SIG_SETMASK, &r.w.sigmask, nil)
	}
	defer func() {
		if !own && r.w != nil && r.w.sigsBlocked {
			blockSignals(nil)
		}
		if p := recover(); p != nil {
			s.panics.Add(1)
			s.logf("notify: handler for %s of pid %d panicked: %v", r.Syscall, r.PID, p)
			resp = Deny(unix.ENOSYS, fmt.Sprintf("the handler failed: %v", p))
		}
	}()
	resp = h(ctx, r)
	if resp.Kind == 0 {
		resp = Deny(unix.ENOSYS, "the handler gave no answer")
	}
	return resp
}

// respond sends resp for r.
func (s *Supervisor) respond(r *Request, resp Response) {
	var e unix.Errno
	switch resp.Kind {
	case KindFD:
		var flags uint32
		if resp.CloseOnExec {
			flags = unix.O_CLOEXEC
		}
		// A signal to this thread while the ioctl waits for the target to
		// take the descriptor would cost the target its answer: the
		// kernel marks the notification replied before it waits, and an
		// interrupted ADDFD takes its request back, so the target wakes
		// to a reply of 0, a descriptor it never got (kernel/seccomp.c:
		// seccomp_notify_addfd with SECCOMP_ADDFD_FLAG_SEND). The Go
		// runtime signals its threads at any time; the worker's thread
		// has every signal blocked outside handlers (see work).
		var old unix.Sigset_t
		masked := r.w == nil || !r.w.sigsBlocked
		if masked {
			blockSignals(&old)
		}
		_, e = addFD(r.fd(), notifAddFD{ID: r.ID, Flags: addFDSend, SrcFD: uint32(resp.FD), NewFDFlags: flags})
		if masked {
			unix.PthreadSigmask(unix.SIG_SETMASK, &old, nil)
		}
		unix.Close(resp.FD)
		if e != 0 && e != unix.ENOENT {
			// Installing failed in the target (EMFILE, say): the
			// notification is still pending and wants an answer
			// (kernel/seccomp.c: seccomp_handle_addfd resets it to
			// SECCOMP_NOTIFY_SENT).
			e = sendResp(r.fd(), notifResp{ID: r.ID, Error: -int32(e)}, s.sizes.resp)
		}
	case KindContinue:
		e = sendResp(r.fd(), notifResp{ID: r.ID, Flags: flagContinue}, s.sizes.resp)
	case KindValue:
		e = sendResp(r.fd(), notifResp{ID: r.ID, Val: resp.Val}, s.sizes.resp)
	default:
		errno := resp.Errno
		if errno == 0 {
			errno = unix.ENOSYS // an error answer must carry an error
		}
		e = sendResp(r.fd(), notifResp{ID: r.ID, Error: -int32(errno)}, s.sizes.resp)
	}
	switch e {
	case 0:
		s.answered.Add(1)
	case unix.ENOENT:
		// The target died or was interrupted while we worked
		// (kernel/seccomp.c: seccomp_notify_send finds no notification).
		s.gone.Add(1)
	default:
		s.logf("notify: answer notification %d of pid %d (%s): %v", r.ID, r.PID, r.Syscall, e)
	}
}

// violation reports a refused syscall and, when asked, ends the sandbox.
func (s *Supervisor) violation(r *Request, resp Response) {
	s.violations.Add(1)
	s.alert(r, resp)
	if resp.Kill || s.opts.KillOnViolation {
		s.kill(r)
	}
}

// alert writes the event of a response.
func (s *Supervisor) alert(r *Request, resp Response) {
	if s.opts.Alerts == nil {
		return
	}
	ev := r.Event()
	ev.Action = resp.action()
	ev.Rule = resp.Rule
	ev.Path = resp.Path
	ev.Reason = resp.Reason
	if err := s.opts.Alerts.Write(ev); err != nil {
		s.logf("notify: write an alert: %v", err)
	}
}

func (s *Supervisor) kill(r *Request) {
	kill := s.opts.Kill
	if kill == nil {
		kill = KillProcess
	}
	if err := kill(r); err != nil {
		s.logf("notify: end the sandbox after a violation by pid %d: %v", r.PID, err)
		return
	}
	s.kills.Add(1)
}

// KillProcess sends SIGKILL to the process of the target thread through a
// pidfd, checking first that the notification is still valid so that a
// reused pid is never hit.
func KillProcess(r *Request) error {
	tgid := r.Tgid()
	if tgid <= 0 {
		return nil // gone already
	}
	pfd, err := unix.PidfdOpen(tgid, 0)
	if err != nil {
		if err == unix.ESRCH {
			return nil
		}
		return fmt.Errorf("pidfd_open %d: %w", tgid, err)
	}
	defer unix.Close(pfd)
	if err := r.Valid(); err != nil {
		return nil // gone: the pidfd may name a newcomer
	}
	if err := unix.PidfdSendSignal(pfd, unix.SIGKILL, nil, 0); err != nil && err != unix.ESRCH {
		return fmt.Errorf("kill pid %d: %w", tgid, err)
	}
	return nil
}

// abiOf finds the ABI of a notification: x86_64 and x32 share an
// AUDIT_ARCH value and x32 numbers carry bit 30.
func abiOf(auditArch uint32, nr int32) *arch.Arch {
	abis := abisByAudit(auditArch)
	var best *arch.Arch
	for _, a := range abis {
		if uint32(nr) >= a.NrBase && (best == nil || a.NrBase > best.NrBase) {
			best = a
		}
	}
	if best == nil && len(abis) > 0 {
		best = abis[0]
	}
	return best
}

// abisByAuditArch maps every AUDIT_ARCH value this program knows to its
// ABIs, built once and read without locks or allocations on the path of
// every request.
var abisByAuditArch = sync.OnceValue(func() map[uint32][]*arch.Arch {
	m := map[uint32][]*arch.Arch{}
	for _, a := range arch.All() {
		if _, ok := m[a.AuditArch]; !ok {
			m[a.AuditArch] = arch.ByAuditArch(a.AuditArch)
		}
	}
	return m
})

func abisByAudit(v uint32) []*arch.Arch {
	if l, ok := abisByAuditArch()[v]; ok {
		return l
	}
	return arch.ByAuditArch(v)
}

// eventFor describes r as an alert event, naming the process from /proc.
func (s *Supervisor) eventFor(r *Request) audit.Event {
	ev := audit.Event{
		Time:      time.Now(),
		PID:       r.PID,
		Arch:      audit.ArchName(r.Data.Arch, int64(uint32(r.Data.Nr))),
		Syscall:   r.Syscall,
		Nr:        int64(r.Data.Nr),
		Args:      append([]uint64(nil), r.Data.Args[:]...),
		Source:    "notify",
		IP:        r.Data.InstructionPointer,
		Container: s.opts.Container,
	}
	if r.Arch != nil {
		ev.Arch = r.Arch.Name
		ev.Nr = int64(uint32(r.Data.Nr))
	}
	if st, err := readStatus(r.PID); err == nil {
		ev.Comm = st.name
		if st.tgid > 0 && st.tgid != r.PID {
			ev.PID, ev.TID = st.tgid, r.PID
		}
		uid := st.uid
		ev.UID = &uid
	}
	if exe, err := readlink(fmt.Sprintf("/proc/%d/exe", r.PID)); err == nil {
		ev.Exe = exe
	}
	return ev
}
