// Package presignal subscribes to the signals that package sandbox
// forwards to a program, as early as package initialisation allows, for
// a program that knows when it starts that it will launch one.
//
// The Go runtime takes a round trip to a thread of its own per signal
// when a program first subscribes to it (runtime: sigenable), about a
// millisecond for the nine forwarded here on a small virtual machine,
// and sandbox.Command does not let the program run before the
// subscription is complete. Started from an init function, the
// subscription overlaps with the rest of the process's initialisation
// instead. The package depends on os/signal and a small terminal check
// only, so that its own initialisation, and a caller's in an init
// function, can come early.
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

var sub struct {
	sync.Mutex
	ch    chan os.Signal
	ready chan struct{}
}

// Start subscribes to Forwarded in the background, once: from then on
// those signals are caught on a channel that Take hands over, rather
// than having their default effect (for most, ending the process).
// Call it only when something will Take the subscription, or call Stop.
func Start() {
	sub.Lock()
	defer sub.Unlock()
	if sub.ch != nil {
		return
	}
	ch, ready := make(chan os.Signal, 16), make(chan struct{})
	sub.ch, sub.ready = ch, ready
	go func() {
		signal.Notify(ch, Forwarded...)
		close(ready)
	}()
}

// Subscribed returns a channel closed once the subscription Start made
// is complete, or nil when there is none (or it was taken).
func Subscribed() <-chan struct{} {
	sub.Lock()
	defer sub.Unlock()
	return sub.ready
}

// Take hands over the subscription Start made: the channel the signals
// arrive on and one closed once the subscription is complete. Both are
// nil when there is none.
func Take() (ch chan os.Signal, ready chan struct{}) {
	sub.Lock()
	defer sub.Unlock()
	ch, ready = sub.ch, sub.ready
	sub.ch, sub.ready = nil, nil
	return ch, ready
}

// Stop ends a subscription Start made and nobody took, and gives every
// signal caught meanwhile its default effect, as if the process had not
// subscribed: it sends them again once the subscription is gone.
func Stop() {
	ch, ready := Take()
	if ch == nil {
		return
	}
	<-ready // a Stop before the Notify would leave ch subscribed
	signal.Stop(ch)
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
	mu    sync.Mutex // held while forwarding, so that Stop waits for a send
	pid   int
	off   bool
	early []syscall.Signal
	stop  chan struct{}
	ready chan struct{}
}

// terminalSignals are those a terminal sends to its foreground process
// group.
var terminalSignals = []os.Signal{syscall.SIGINT, syscall.SIGQUIT, syscall.SIGWINCH}

// NewRelay starts relaying, with the subscription Start made if there
// is one, or with one of its own made in the background; Ready says when
// it is complete.
func NewRelay() *Relay {
	ch, ready := Take()
	subscribe := ch == nil
	if subscribe {
		ch, ready = make(chan os.Signal, 16), make(chan struct{})
	}
	r := &Relay{stop: make(chan struct{}), ready: ready}
	go func() {
		if subscribe {
			signal.Notify(ch, Forwarded...)
			close(ready)
		}
		defer func() {
			<-ready // a Stop before the Notify would leave ch subscribed
			signal.Stop(ch)
		}()
		for {
			select {
			case <-r.stop:
				return
			case s := <-ch:
				r.forward(s.(syscall.Signal))
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

// Stop ends the relaying: once it returns no signal is sent any more, so
// the program's pid may be reaped. The unsubscription, as slow as the
// subscription, finishes in the background. A nil Relay is fine.
func (r *Relay) Stop() {
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.off {
		r.off = true
		close(r.stop)
	}
}
