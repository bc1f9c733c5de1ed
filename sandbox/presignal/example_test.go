package presignal_test

import (
	"syscall"

	"github.com/syscage/syscage/sandbox/launch"
	"github.com/syscage/syscage/sandbox/presignal"
)

// Relay the forwarded signals to a child: those that arrive before its
// pid is known are sent once it is, and the relay stops before the child
// is reaped, after which its pid could name another process. (Not run
// here: it subscribes the test binary to signals.)
func ExampleRelay() {
	r := presignal.NewRelay()
	<-r.Ready() // from here on, a signal to this process reaches the child
	pid, err := syscall.ForkExec("/bin/sleep", []string{"sleep", "1"}, &syscall.ProcAttr{Files: []uintptr{0, 1, 2}})
	if err != nil {
		r.Stop()
		return
	}
	r.SetPid(pid)
	launch.Wait(pid, r.Stop)
}

// A program that owns its process's signal handling catches the
// forwarded signals with handlers of its own, complete at once, and
// relays them as with Start. A relay about to be followed by the
// process's end only halts. (Not run here: it replaces the test
// binary's handlers.)
func ExampleIntercept() {
	presignal.Intercept()
	r := presignal.NewRelay()
	<-r.Ready() // closed already
	pid, err := syscall.ForkExec("/bin/true", []string{"true"}, &syscall.ProcAttr{Files: []uintptr{0, 1, 2}})
	if err != nil {
		r.Stop()
		return
	}
	r.SetPid(pid)
	launch.Wait(pid, r.Halt)
}
