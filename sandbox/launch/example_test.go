package launch_test

import (
	"fmt"
	"os"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/syscage/syscage/sandbox/initstage"
	"github.com/syscage/syscage/sandbox/launch"
)

// Find a program as execve will: a name with a slash is taken as it is,
// any other is looked up in the PATH of the environment given.
func ExampleLookPath() {
	path, _, ok := launch.LookPath("./prog", nil)
	fmt.Println(path, ok)
	_, searched, ok := launch.LookPath("no-such-program", []string{"HOME=/root"})
	fmt.Println(searched, ok)
	// Output:
	// ./prog true
	// /usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin false
}

// Start a program from the calling thread, hardened as the Job says, in
// a process that ends with the program: from package initialisation, as
// syscage run's quick path does. (Not run here: the test binary's
// thread would stay filtered.)
func ExampleStartHere() {
	allow := []byte{0x06, 0, 0, 0, 0, 0, 0xff, 0x7f} // RET ALLOW
	cfg := &initstage.Config{
		Path: "/bin/true", Argv: []string{"true"}, Filters: [][]byte{allow}, KeepCaps: true,
		NrSeccomp: unix.SYS_SECCOMP, NrCloseRange: unix.SYS_CLOSE_RANGE,
	}
	r := launch.StartHere(&launch.Job{Config: cfg, Attr: &syscall.ProcAttr{Files: []uintptr{0, 1, 2}}, PrivateFDs: true})
	if r.Failed != nil || r.Err != nil {
		os.Exit(125) // this thread may have changed: do not go on
	}
	ws, _ := launch.Wait(r.Pid, nil)
	os.Exit(ws.ExitStatus())
}
