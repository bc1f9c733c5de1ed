package tty

import (
	"os"
	"os/exec"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/syscage/syscage/internal/testenv"
)

const childEnv = "SYSCAGE_TTY_TEST_CHILD"

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) != "" {
		if InForeground() {
			os.Exit(10)
		}
		os.Exit(11)
	}
	os.Exit(m.Run())
}

// TestInForeground runs a child on a fresh pseudo-terminal, once as its
// foreground group and once in a new background group.
func TestInForeground(t *testing.T) {
	master, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		testenv.Unavailable(t, "no pseudo-terminals: %v", err)
	}
	defer master.Close()
	if err := unix.IoctlSetPointerInt(int(master.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetInt(int(master.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	slave, err := os.OpenFile("/dev/pts/"+itoa(n), os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer slave.Close()
	for _, tt := range []struct {
		name       string
		foreground bool
		want       int
	}{{"foreground on its terminal", true, 10}, {"without a controlling terminal", false, 11}} {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), childEnv+"=1")
		cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
		cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
		if !tt.foreground {
			// A new session that never takes a terminal has none.
			cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
		}
		err := cmd.Run()
		code := cmd.ProcessState.ExitCode()
		if code != tt.want {
			t.Errorf("%s: exit %d (%v), want %d", tt.name, code, err, tt.want)
		}
	}
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b []byte
	for ; n > 0; n /= 10 {
		b = append([]byte{byte('0' + n%10)}, b...)
	}
	return string(b)
}
