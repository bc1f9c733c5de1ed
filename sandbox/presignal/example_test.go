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
