// Package seccomptest starts child processes in a chosen seccomp state,
// for tests of code that inspects or relies on seccomp without ever
// filtering the test process itself.
//
// A test binary that imports this package can run again as such a child:
// Start re-executes the binary with the state described in the
// environment, and this package's init function, which runs on the main
// thread before any test, sets the state up, reports that it is ready and
// blocks until the test stops it.
package seccomptest

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/syscage/syscage/bpf"
	"github.com/syscage/syscage/seccomp"
)

// childEnv carries the JSON Spec to the child.
const childEnv = "SYSCAGE_SECCOMPTEST_CHILD"

// Filter is one filter the child installs.
type Filter struct {
	Program bpf.Program
	Flags   seccomp.Flags
}

// Spec describes the state the child enters before it reports ready.
type Spec struct {
	// NoNewPrivs sets no_new_privs first. Without it, installing needs
	// CAP_SYS_ADMIN.
	NoNewPrivs bool
	// Filters are installed in order, so Filters[0] is the oldest. Each
	// goes on every thread (FlagTSync is added), unless MainThreadOnly.
	Filters []Filter
	// MainThreadOnly installs on the main thread alone, leaving the
	// runtime's other threads unfiltered.
	MainThreadOnly bool
	// Strict puts the main thread in strict mode last.
	Strict bool
}

// AllowAll returns a filter program that allows every syscall, marked by
// mark leading no-op loads so that programs built with different marks
// differ instruction by instruction and can be told apart in a dump.
func AllowAll(mark int) bpf.Program {
	p := bpf.Program{bpf.LoadAbs(bpf.OffsetNr)}
	for i := 0; i < mark; i++ {
		p = append(p, bpf.LoadImm(uint32(0x5ec0000+mark*16+i)))
	}
	// A never-taken branch (no syscall has this number), so the program
	// also holds a conditional jump and a second return.
	p = append(p,
		bpf.LoadAbs(bpf.OffsetNr),
		bpf.JumpIf(bpf.JmpJEQ, 0xfffff000+uint32(mark), 0, 1),
		bpf.Ret(bpf.RetErrno|uint32(mark)),
		bpf.Ret(bpf.RetAllow),
	)
	return p
}

// Child is a running child process.
type Child struct {
	PID   int
	cmd   *exec.Cmd
	stdin io.WriteCloser
	done  bool
}

// Start runs a child in the state spec describes and waits until it is
// there. The child is killed when the test ends, or earlier by Stop.
func Start(t testing.TB, spec Spec) *Child {
	t.Helper()
	data, err := json.Marshal(spec)
	if err != nil {
		t.Fatalf("seccomptest: %v", err)
	}
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), childEnv+"="+string(data))
	if spec.Strict {
		// No preemption signal, whose handler makes calls strict mode
		// refuses (becomeChild).
		cmd.Env = append(cmd.Env, "GODEBUG=asyncpreemptoff=1")
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatalf("seccomptest: %v", err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatalf("seccomptest: %v", err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("seccomptest: start the child: %v", err)
	}
	c := &Child{PID: cmd.Process.Pid, cmd: cmd, stdin: stdin}
	t.Cleanup(c.Stop)

	line := make(chan string, 1)
	go func() {
		s, _ := bufio.NewReader(stdout).ReadString('\n')
		line <- s
		_, _ = io.Copy(io.Discard, stdout)
	}()
	select {
	case s := <-line:
		if strings.TrimSpace(s) != "ready" {
			c.Stop()
			t.Fatalf("seccomptest: the child did not get ready: %q\nstderr: %s", s, stderr.String())
		}
	case <-time.After(20 * time.Second):
		c.Stop()
		t.Fatalf("seccomptest: the child did not get ready in 20s\nstderr: %s", stderr.String())
	}
	return c
}

// Stop kills the child and reaps it. It is safe to call more than once.
func (c *Child) Stop() {
	if c.done {
		return
	}
	c.done = true
	_ = c.stdin.Close()
	_ = c.cmd.Process.Kill()
	_ = c.cmd.Wait()
}

func init() {
	data, ok := os.LookupEnv(childEnv)
	if !ok {
		return
	}
	// init runs on the main thread; keep it there so that state meant
	// for the main thread lands on the thread whose tid is the pid.
	runtime.LockOSThread()
	if err := becomeChild(data); err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	// Block until the parent closes stdin or kills us.
	_, _ = io.Copy(io.Discard, os.Stdin)
	os.Exit(0)
}

// becomeChild enters the state of the Spec encoded in data and says
// "ready" on stdout.
func becomeChild(data string) error {
	var spec Spec
	if err := json.Unmarshal([]byte(data), &spec); err != nil {
		return err
	}
	if spec.NoNewPrivs {
		if err := seccomp.SetNoNewPrivs(); err != nil {
			return err
		}
	}
	for i, f := range spec.Filters {
		flags := f.Flags
		if !spec.MainThreadOnly {
			flags |= seccomp.FlagTSync
			if flags&seccomp.FlagNewListener != 0 {
				flags |= seccomp.FlagTSyncESRCH
			}
		}
		if _, err := seccomp.Install(f.Program, flags); err != nil {
			return fmt.Errorf("filter %d: %w", i, err)
		}
	}
	if !spec.Strict {
		fmt.Println("ready")
		return nil
	}
	// Only read, write, _exit and sigreturn are left on this thread once
	// it is in strict mode, and any other call ends the thread alone,
	// which would leave the child hanging. So: allocate first; start on a
	// fresh time slice, without asynchronous preemption (see Start), as
	// SetStrict asks; announce with a raw write, since the scheduler's
	// return from a system call may need a futex on a busy machine to
	// get the thread's P back; then block in read, marked as a system
	// call so that the runtime leaves this thread alone. The parent kills
	// the child.
	msg := []byte("ready\n")
	var b [1]byte
	runtime.Gosched()
	if err := seccomp.SetStrict(); err != nil {
		return err
	}
	unix.RawSyscall(unix.SYS_WRITE, 1, uintptr(unsafe.Pointer(&msg[0])), uintptr(len(msg)))
	for {
		unix.Syscall(unix.SYS_READ, 0, uintptr(unsafe.Pointer(&b[0])), 1)
	}
}
