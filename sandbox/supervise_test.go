package sandbox

import (
	"errors"
	"strings"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/syscage/syscage/bpf"
	"github.com/syscage/syscage/internal/testenv"
	"github.com/syscage/syscage/seccomp"
)

// TestSuperviseHandOff checks the listener hand-off: Supervise gets a
// listener before the program runs, the program starts only after it
// returned nil, and never when it fails.
func TestSuperviseHandOff(t *testing.T) {
	needSeccomp(t)
	if err := seccomp.ProbeFlags(seccomp.FlagNewListener); err != nil {
		testenv.Unavailable(t, "seccomp user notification unavailable: %v", err)
	}
	sh := testenv.NeedCommand(t, "sh")
	// getppid is notified: its answer comes from the supervisor.
	notifyGetppid := filter(t, bpf.RetAllow, rule{name: "getppid", ret: bpf.RetUserNotif})

	t.Run("served", func(t *testing.T) {
		cmd := &Command{Path: sh, Args: []string{"sh", "-c", "echo started; echo $PPID"}, Filters: []bpf.Program{notifyGetppid}}
		served := make(chan int, 1)
		cmd.Supervise = func(fd int) error {
			// A listener, not yet seen by the program: RECV would block,
			// so only check the descriptor is one (it polls).
			if _, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0); err != nil {
				return err
			}
			served <- fd
			go answerOne(fd, 4242)
			return nil
		}
		ex, out, errOut, err := runCaptured(t, cmd)
		if err != nil {
			t.Fatalf("run: %v (stderr %q)", err, errOut)
		}
		if len(served) != 1 {
			t.Fatal("Supervise was not called")
		}
		if ex.Code != 0 || out != "started\n4242\n" {
			t.Errorf("exit %+v stdout %q stderr %q, want getppid answered 4242 by the supervisor", ex, out, errOut)
		}
	})

	t.Run("supervisor fails", func(t *testing.T) {
		cmd := &Command{Path: sh, Args: []string{"sh", "-c", "echo started"}, Filters: []bpf.Program{notifyGetppid}}
		cmd.Supervise = func(fd int) error {
			unix.Close(fd)
			return errors.New("no supervisor today")
		}
		_, out, _, err := runCaptured(t, cmd)
		var se *StartError
		if !errors.As(err, &se) || se.Code != ExitInternal || !strings.Contains(err.Error(), "no supervisor today") {
			t.Fatalf("error %v, want a StartError 125 naming the supervisor's failure", err)
		}
		if out != "" {
			t.Errorf("the program ran: stdout %q", out)
		}
	})

	t.Run("refused with more than one filter", func(t *testing.T) {
		cmd := &Command{Path: sh, Filters: []bpf.Program{notifyGetppid, allowAll}, Supervise: func(int) error { return nil }}
		if err := cmd.Start(); err == nil || !strings.Contains(err.Error(), "exactly one") {
			t.Fatalf("Start: %v, want a refusal of two filters", err)
		}
	})
}

// answerOne answers the first notification on fd with val.
func answerOne(fd int, val int64) {
	defer unix.Close(fd)
	var req seccompNotif
	for {
		_, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), unix.SECCOMP_IOCTL_NOTIF_RECV, uintptr(unsafe.Pointer(&req)))
		if e == 0 {
			break
		}
		if e != unix.EINTR {
			return
		}
	}
	resp := seccompNotifResp{ID: req.ID, Val: val}
	unix.Syscall(unix.SYS_IOCTL, uintptr(fd), unix.SECCOMP_IOCTL_NOTIF_SEND, uintptr(unsafe.Pointer(&resp)))
}
