package tests

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/syscage/syscage/internal/testenv"
)

// TestSignalsForwarded sends signals to syscage and expects the program
// to receive them.
func TestSignalsForwarded(t *testing.T) {
	sc := syscage(t)
	for _, tc := range []struct {
		sig   syscall.Signal
		quick bool // package quickrun runs it, or the command line
	}{
		{unix.SIGTERM, true}, {unix.SIGINT, true}, {unix.SIGHUP, true}, {unix.SIGUSR1, true},
		{unix.SIGTERM, false}, {unix.SIGUSR1, false},
	} {
		sig := tc.sig
		t.Run(fmt.Sprintf("%v quick=%v", sig, tc.quick), func(t *testing.T) {
			script := fmt.Sprintf(`trap 'echo got %d; exit 3' %d; echo ready; while :; do sleep 0.05; done`, sig, sig)
			cmd := exec.Command(sc, "run", "--", "sh", "-c", script)
			if !tc.quick {
				cmd.Env = append(os.Environ(), "SYSCAGE_NO_QUICKRUN=1")
			}
			out, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			r := bufio.NewReader(out)
			line, err := r.ReadString('\n')
			if err != nil || line != "ready\n" {
				cmd.Process.Kill()
				t.Fatalf("program did not start: %q %v", line, err)
			}
			cmd.Process.Signal(sig)
			rest, _ := io.ReadAll(r)
			err = cmd.Wait()
			code := cmd.ProcessState.ExitCode()
			if want := fmt.Sprintf("got %d\n", sig); string(rest) != want || code != 3 {
				t.Errorf("got %q status %d (%v), want %q status 3", rest, code, err, want)
			}
		})
	}
}

// openPTY returns a pseudo-terminal's master and the path of its slave.
func openPTY(t *testing.T) (*os.File, string) {
	t.Helper()
	fd, err := unix.Open("/dev/ptmx", unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		testenv.Unavailable(t, "no pseudo-terminals here: %v", err)
	}
	if err := unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetInt(fd, unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	return os.NewFile(uintptr(fd), "ptmx"), fmt.Sprintf("/dev/pts/%d", n)
}

// TestTerminal runs syscage as the session leader of a pseudo-terminal,
// as a shell would: the program reads the terminal, and Ctrl-C from the
// terminal reaches it.
func TestTerminal(t *testing.T) {
	sc := syscage(t)
	master, slavePath := openPTY(t)
	defer master.Close()
	slave, err := os.OpenFile(slavePath, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	script := `[ -t 0 ] && [ -t 1 ] && echo on-a-tty; stty size >/dev/null && echo stty-ok; read line; echo "got $line"; trap 'echo interrupted; exit 5' INT; echo waiting; while :; do sleep 0.05; done`
	cmd := exec.Command(sc, "run", "--", "sh", "-c", script)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	slave.Close()

	buf := readPTY(master)
	waitFor := buf.waitFor
	if !waitFor("stty-ok") {
		cmd.Process.Kill()
		t.Fatalf("the program does not see a terminal: %q", buf.String())
	}
	master.Write([]byte("hello\n"))
	if !waitFor("got hello") || !waitFor("waiting") {
		cmd.Process.Kill()
		t.Fatalf("the program did not read the terminal: %q", buf.String())
	}
	master.Write([]byte{3}) // Ctrl-C
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("Ctrl-C did not end the program: %q", buf.String())
	}
	if code := cmd.ProcessState.ExitCode(); code != 5 || !waitFor("interrupted") {
		t.Errorf("status %d, output %q; want the program's trap to run and exit 5", code, buf.String())
	}
	if n := strings.Count(buf.String(), "interrupted"); n != 1 {
		t.Errorf("the program saw Ctrl-C %d times, want once: %q", n, buf.String())
	}
}

// TestJobControl runs syscage as the foreground job of a shell with job
// control on a pseudo-terminal: Ctrl-Z must stop the job, and the shell
// must see it stopped, as an interactive shell would.
func TestJobControl(t *testing.T) {
	sc := syscage(t)
	master, slavePath := openPTY(t)
	defer master.Close()
	slave, err := os.OpenFile(slavePath, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	script := `set -m; "$SC" run -- sh -c 'echo ready; while :; do sleep 0.05; done'; echo "job status $?"; kill -KILL %1; echo done`
	cmd := exec.Command("sh", "-c", script)
	cmd.Env = append(os.Environ(), "SC="+sc)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	slave.Close()
	buf := readPTY(master)
	waitFor := buf.waitFor
	defer cmd.Process.Kill()
	if !waitFor("ready") {
		t.Fatalf("the job did not start: %q", buf.String())
	}
	master.Write([]byte{0x1a})      // Ctrl-Z
	if !waitFor("job status 148") { // 128 + SIGTSTP
		t.Fatalf("the shell did not see its job stopped: %q", buf.String())
	}
	if !waitFor("done") {
		t.Errorf("the shell did not finish: %q", buf.String())
	}
	cmd.Wait()
}

// ptyOutput collects what a pseudo-terminal's master side reads.
type ptyOutput struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// readPTY copies everything master reads into a ptyOutput, until master
// is closed.
func readPTY(master *os.File) *ptyOutput {
	o := &ptyOutput{}
	go io.Copy(o, master)
	return o
}

func (o *ptyOutput) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.buf.Write(p)
}

func (o *ptyOutput) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.buf.String()
}

// waitFor reports whether s appears in the output within 10 seconds.
func (o *ptyOutput) waitFor(s string) bool {
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if strings.Contains(o.String(), s) {
			return true
		}
	}
	return false
}
