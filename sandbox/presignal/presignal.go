// Package presignal subscribes to the signals that package sandbox
// forwards to a program, as early as package initialisation allows, for
// a program that knows when it starts that it will launch one.
//
// The Go runtime takes a round trip to a thread of its own per signal
// when a program first subscribes to it (runtime: sigenable), about half
// a millisecond for the nine forwarded here on a small virtual machine,
// and sandbox.Command does not let the program run before the
// subscription is complete. Start begins that subscription in the
// background, from an init function if need be, so that it overlaps
// with the rest of the process's start. Intercept, for a program that
// owns its process's signal handling as syscage does, skips os/signal:
// it installs handlers of its own, complete in microseconds. The package
// depends on os/signal and a small terminal check only, so that its own
// initialisation, and a caller's in an init function, can come early.
//
// Relay does the forwarding itself, for package sandbox and for syscage
// run's quick path.
package presignal

import (
	"os"
	"os/signal"
	"sync"
	"syscall"

	"github.com/syscage/syscage/internal/tty"
)

// Forwarded are the signals sandbox.Command relays to its program.
// Job control signals (SIGTSTP, SIGTTIN, SIGTTOU, SIGCONT) are left to
// the terminal, which sends them to the whole foreground process group.
var Forwarded = []os.Signal{
	syscall.SIGHUP, syscall.SIGINT, syscall.SIGQUIT, syscall.SIGTERM, syscall.SIGUSR1,
	syscall.SIGUSR2, syscall.SIGALRM, syscall.SIGWINCH, syscall.SIGPIPE,
}

// subscription is a subscription to Forwarded: the channel the signals
// arrive on, one closed once the subscription is complete, and how it
// ends.
type subscription struct {
	ch    chan os.Signal
	ready chan struct{}
	// end ends the subscription, once ready is closed: from its return
	// on the signals have their default effect again. fed is Intercept's
	// alone, closed once every signal caught before end is on ch.
	end func()
	fed chan struct{}
}

// intercepted reports whether the subscription is Intercept's, whose end
// is quick enough for Relay.Stop to run itself.
func (s *subscription) intercepted() bool { return s.fed != nil }

var sub struct {
	sync.Mutex
	s *subscription
}

// Start subscribes to Forwarded in the background, once: from then on
// those signals are caught on a channel that a Relay (NewRelay) takes
// over, rather than having their default effect (for most, ending the
// process). Call it only when a Relay will take the subscription, or
// call Stop.
func Start() {
	sub.Lock()
	defer sub.Unlock()
	if sub.s == nil {
		sub.s = notify()
	}
}

// notify subscribes to Forwarded through os/signal, in the background.
func notify() *subscription {
	s := &subscription{ch: make(chan os.Signal, 16), ready: make(chan struct{})}
	s.end = func() { signal.Stop(s.ch) }
	go func() {
		signal.Notify(s.ch, Forwarded...)
		close(s.ready)
	}()
	return s
}

// Intercept does what Start does, for a program that owns its process's
// signal handling, as syscage does, and is complete when it returns:
// rather than subscribe through os/signal, it replaces the Go runtime's
// handlers for Forwarded with its own, which write each signal's number
// to a pipe that the subscription reads. Until the subscription ends
// (Stop, Relay.Stop), os/signal sees none of those signals and the
// process must not subscribe to them through it. A handler runs on
// whichever thread the signal lands on: a thread under seccomp filters
// must be allowed write and rt_sigreturn (sandbox's direct start checks
// its filters for them, and its launching thread blocks every signal
// once it has forked), and Intercept must come before any thread takes
// a descriptor table of its own (initstage.PrivateFDs), which would lack
// the pipe. Where the architecture has no such handler (all but amd64),
// a thread has such a table already, the handlers cannot be installed,
// or the process intercepted signals before, it does what Start does.
func Intercept() {
	sub.Lock()
	defer sub.Unlock()
	if sub.s != nil {
		return
	}
	if s := intercept(); s != nil {
		sub.s = s
		return
	}
	sub.s = notify()
}

// Subscribed returns a channel closed once the subscription Start or
// Intercept made is complete, or nil when there is none (or it was
// taken).
func Subscribed() <-chan struct{} {
	sub.Lock()
	defer sub.Unlock()
	if sub.s == nil {
		return nil
	}
	return sub.s.ready
}

// take hands over the subscription Start or Intercept made, or nil.
func take() *subscription {
	sub.Lock()
	defer sub.Unlock()
	s := sub.s
	sub.s = nil
	return s
}

// Stop ends a subscription Start or Intercept made and nobody took, and
// gives every signal caught meanwhile its default effect, as if the
// process had not subscribed: it sends them again once the subscription
// is gone.
func Stop() {
	s := take()
	if s == nil {
		return
	}
	<-s.ready // a Stop before the Notify would leave ch subscribed
	s.end()
	if s.fed != nil {
		<-s.fed
	}
	ch := s.ch
	for {
		select {
		case s := <-ch:
			if sig, ok := s.(syscall.Signal); ok {
				syscall.Kill(syscall.Getpid(), sig)
			}
		default:
			return
		}
	}
}

// Relay forwards the signals in Forwarded to a program: those that
// arrive before the program's pid is known are kept and sent once it is
// (SetPid), and SIGINT, SIGQUIT and SIGWINCH are not sent while the
// process is in its terminal's foreground, since the terminal has sent
// them to the program (in the same process group) already.
type Relay struct {
	mu      sync.Mutex // held while forwarding, so that Stop waits for a send
	pid     int
	off     bool // Halt or Stop: nothing is forwarded
	stopped bool // Stop: the relay's goroutine and subscription end
	early   []syscall.Signal
	stop    chan struct{}
	ready   chan struct{}
	end     func() // an intercepted subscription's end, which Stop runs
}

// terminalSignals are those a terminal sends to its foreground process
// group.
var terminalSignals = []os.Signal{syscall.SIGINT, syscall.SIGQUIT, syscall.SIGWINCH}

// NewRelay starts relaying, with the subscription Start or Intercept
// made if there is one, or with one of its own made in the background;
// Ready says when it is complete.
func NewRelay() *Relay {
	s := take()
	if s == nil {
		s = notify()
	}
	r := &Relay{stop: make(chan struct{}), ready: s.ready}
	if s.intercepted() {
		r.end = s.end
	}
	go func() {
		if !s.intercepted() {
			defer func() {
				<-s.ready // a Stop before the Notify would leave ch subscribed
				s.end()
			}()
		}
		for {
			select {
			case <-r.stop:
				return
			case sig := <-s.ch:
				r.forward(sig.(syscall.Signal))
			}
		}
	}()
	return r
}

func (r *Relay) forward(s syscall.Signal) {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch {
	case r.off:
	case r.pid <= 0:
		// The program does not exist yet, so no terminal gave it this
		// one either: SetPid sends it.
		r.early = append(r.early, s)
	case isTerminalSignal(s) && tty.InForeground():
		// The terminal delivered it to the program already.
	default:
		syscall.Kill(r.pid, s)
	}
}

func isTerminalSignal(s os.Signal) bool {
	for _, t := range terminalSignals {
		if s == t {
			return true
		}
	}
	return false
}

// Ready returns a channel closed once the subscription is complete.
// Until then a signal may still have its default effect on the process.
// A nil Relay has none: nil.
func (r *Relay) Ready() <-chan struct{} {
	if r == nil {
		return nil
	}
	return r.ready
}

// SetPid names the program and sends it the signals that arrived
// before. pid must be a process of the caller's.
func (r *Relay) SetPid(pid int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.pid = pid
	if pid > 0 && !r.off {
		for _, s := range r.early {
			syscall.Kill(pid, s)
		}
	}
	r.early = nil
}

// Halt ends the relaying as Stop does, for a process about to end: once
// it returns no signal is sent any more, but the subscription stays and
// nothing else is woken, which spares the end of a short-lived process
// (syscage run's quick path) tens of microseconds. What arrives after is
// caught and dropped. A nil Relay is fine.
func (r *Relay) Halt() {
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.off = true
}

// Stop ends the relaying: once it returns no signal is sent any more, so
// the program's pid may be reaped. An intercepted subscription
// (Intercept) has ended too, and the Go runtime handles the signals
// again; one through os/signal, as slow as the subscription, ends in the
// background. A nil Relay is fine.
func (r *Relay) Stop() {
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.off = true
	if !r.stopped {
		r.stopped = true
		close(r.stop)
		if r.end != nil {
			r.end()
		}
	}
}
