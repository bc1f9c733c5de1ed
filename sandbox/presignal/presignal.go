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
// instead. The package depends on os/signal alone, so that its own
// initialisation, and a caller's in an init function, can come early.
package presignal

import (
	"os"
	"os/signal"
	"sync"
	"syscall"
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
