package sandbox

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/syscage/syscage/bpf"
	"github.com/syscage/syscage/internal/testenv"
)

var allowAll = bpf.Program{bpf.Ret(bpf.RetAllow)}

func TestRunExitStatus(t *testing.T) {
	needSeccomp(t)
	sh := testenv.NeedCommand(t, "sh")
	cases := []struct {
		name     string
		script   string
		wantCode int
		wantSig  unix.Signal
		wantOut  string
	}{
		{"success", "echo hello", 0, 0, "hello\n"},
		{"own status", "exit 7", 7, 0, ""},
		{"signal", "kill -TERM $$", 128 + 15, unix.SIGTERM, ""},
		{"stdin closed to /dev/null", "cat; echo done", 0, 0, "done\n"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cmd := &Command{Path: sh, Args: []string{"sh", "-c", c.script}, Filters: []bpf.Program{allowAll}}
			ex, out, errOut, err := runCaptured(t, cmd)
			if err != nil {
				t.Fatalf("run: %v (stderr %q)", err, errOut)
			}
			if ex.Code != c.wantCode || ex.Signal != c.wantSig {
				t.Errorf("exit %+v, want code %d signal %v", ex, c.wantCode, c.wantSig)
			}
			if out != c.wantOut {
				t.Errorf("stdout %q, want %q", out, c.wantOut)
			}
		})
	}
}

func TestRunStartErrors(t *testing.T) {
	needSeccomp(t)
	dir, noExec, badFormat := unstartable(t)
	cases := []struct {
		name     string
		cmd      *Command
		wantCode int
		wantMsg  string
	}{
		{"missing absolute", &Command{Path: filepath.Join(dir, "nope"), Filters: []bpf.Program{allowAll}}, ExitNotFound, "nope"},
		{"missing on PATH", &Command{Path: "syscage-no-such-program", Filters: []bpf.Program{allowAll}}, ExitNotFound, "not found in path"},
		{"not executable", &Command{Path: noExec, Filters: []bpf.Program{allowAll}}, ExitCannotExecute, "permission denied"},
		{"directory", &Command{Path: dir, Filters: []bpf.Program{allowAll}}, ExitCannotExecute, "directory"},
		{"exec format", &Command{Path: badFormat, Filters: []bpf.Program{allowAll}}, ExitCannotExecute, "exec format"},
		{"no filter", &Command{Path: "/bin/true"}, ExitInternal, "no seccomp filter"},
		{"invalid filter", &Command{Path: "/bin/true", Filters: []bpf.Program{{bpf.LoadAbs(3), bpf.Ret(bpf.RetAllow)}}}, ExitInternal, "cannot be installed"},
		{"unknown flag", &Command{Path: "/bin/true", Filters: []bpf.Program{allowAll}, Flags: 1 << 12}, ExitInternal, "unknown bits"},
		{"keep fd not open", &Command{Path: "/bin/true", Filters: []bpf.Program{allowAll}, KeepFDs: []int{999}}, ExitInternal, "--keep-fd 999"},
		{"execve denied without a gate", &Command{Path: "/bin/true", Filters: []bpf.Program{filter(t, bpf.RetAllow, rule{"execve", bpf.RetErrno | uint32(unix.EPERM)})}}, ExitCannotExecute, "denies execve"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, out, _, err := runCaptured(t, c.cmd)
			var se *StartError
			if !errors.As(err, &se) {
				t.Fatalf("got %v, want a *StartError", err)
			}
			if se.Code != c.wantCode || !strings.Contains(strings.ToLower(se.Error()), c.wantMsg) {
				t.Errorf("got code %d %q, want code %d and %q", se.Code, se.Error(), c.wantCode, c.wantMsg)
			}
			if out != "" {
				t.Errorf("the program ran: %q", out)
			}
		})
	}
}

// TestRunNeverHalfSandboxed fails the init stage at each point and checks
// that the program never ran.
func TestRunNeverHalfSandboxed(t *testing.T) {
	needSeccomp(t)
	for _, stage := range []string{"config", "hardened"} {
		t.Run(stage, func(t *testing.T) {
			marker := filepath.Join(t.TempDir(), "ran")
			cmd := &Command{Path: "/bin/sh", Args: []string{"sh", "-c", "touch " + marker}, Filters: []bpf.Program{allowAll}, failStage: stage}
			_, _, _, err := runCaptured(t, cmd)
			var se *StartError
			if !errors.As(err, &se) || se.Code != ExitInternal {
				t.Fatalf("got %v, want a start error with code %d", err, ExitInternal)
			}
			if _, err := os.Stat(marker); err == nil {
				t.Fatal("the program ran")
			}
		})
	}
}

func TestRunHardening(t *testing.T) {
	needSeccomp(t)
	testenv.NeedRoot(t)
	f := filter(t, bpf.RetAllow, rule{"getppid", bpf.RetErrno | 42})
	// Descriptors are checked both ways by TestStartBothWays.
	t.Run("status", func(t *testing.T) {
		c, _ := probeCommand(t, "status", f, allowAll)
		ex, out, errOut, err := runCaptured(t, c)
		if err != nil || ex.Code != 0 {
			t.Fatalf("run: %v %+v %s", err, ex, errOut)
		}
		wantHardened(t, out, 2)
	})
	t.Run("caps", func(t *testing.T) {
		c, _ := probeCommand(t, "status", f)
		c.Caps = DefaultCaps.Remove(unix.CAP_CHOWN).Add(unix.CAP_SYS_PTRACE)
		_, out, _, _ := runCaptured(t, c)
		if want := "CapBnd: " + c.Caps.hex(); !strings.Contains(out, want+"\n") {
			t.Errorf("status lacks %q:\n%s", want, out)
		}
		c, _ = probeCommand(t, "status", f)
		c.NoCaps = true
		_, out, _, _ = runCaptured(t, c)
		if want := "CapEff: 0000000000000000"; !strings.Contains(out, want+"\n") {
			t.Errorf("status lacks %q:\n%s", want, out)
		}
	})
	t.Run("filter", func(t *testing.T) {
		c, _ := probeCommand(t, "getppid", f)
		_, out, _, _ := runCaptured(t, c)
		if out != "getppid errno: 42\n" {
			t.Errorf("got %q", out)
		}
	})
	t.Run("network", func(t *testing.T) {
		c, _ := probeCommand(t, "netdevs", f)
		c.NewNetwork = true
		_, out, errOut, err := runCaptured(t, c)
		if err != nil {
			t.Fatalf("%v %s", err, errOut)
		}
		if out != "netdevs: lo\n" {
			t.Errorf("got %q, want only lo", out)
		}
	})
	t.Run("userns", func(t *testing.T) {
		c, _ := probeCommand(t, "uidmap", f)
		c.NewUser = true
		_, out, errOut, err := runCaptured(t, c)
		if err != nil {
			t.Fatalf("%v %s", err, errOut)
		}
		if want := fmt.Sprintf("uid_map: 0 %d 1\n", os.Geteuid()); out != want {
			t.Errorf("got %q, want %q", out, want)
		}
	})
}

// hex renders the set as /proc/PID/status prints capability masks.
func (s CapSet) hex() string { return fmt.Sprintf("%016x", uint64(s)) }

func TestRunKilledBySeccomp(t *testing.T) {
	needSeccomp(t)
	for _, action := range []uint32{bpf.RetKillProcess, bpf.RetKillThread} {
		t.Run(bpf.ActionString(action), func(t *testing.T) {
			// A single-threaded program: a Go probe losing one thread
			// to KILL_THREAD would hang. The shell asks for its parent's
			// pid when it starts.
			// The kernel prints audit records under printk's rate limit
			// (10 per 5 s, shared with every process on the machine):
			// try again after a pause before giving up on the record.
			var c *Command
			var ex *Exit
			for attempt := 0; attempt < 4; attempt++ {
				if attempt > 0 {
					time.Sleep(2 * time.Second)
				}
				c = &Command{Path: "/bin/sh", Args: []string{"sh", "-c", "echo $PPID"},
					Filters: []bpf.Program{filter(t, bpf.RetAllow, rule{"getppid", action})}}
				var out string
				var err error
				ex, out, _, err = runCaptured(t, c)
				if err != nil {
					t.Fatal(err)
				}
				if ex.Signal != unix.SIGSYS || ex.Code != 128+int(unix.SIGSYS) || !ex.Seccomp {
					t.Fatalf("exit %+v, want death by SIGSYS", ex)
				}
				if out != "" {
					t.Errorf("the probe went on after the kill: %q", out)
				}
				if ex.Violation != nil {
					break
				}
			}
			if ex.Violation == nil {
				testenv.Unavailable(t, "no seccomp audit record in /dev/kmsg after 4 tries: %s", ex.NoViolation)
				return
			}
			if got := ex.Violation.Describe(); got != "syscall 110 (getppid) on x86_64" && !strings.Contains(got, "(getppid)") {
				t.Errorf("violation %q, want getppid", got)
			}
			if ex.Violation.PID != c.Pid() {
				t.Errorf("violation of pid %d, want %d", ex.Violation.PID, c.Pid())
			}
		})
	}
}

func TestRunExecGate(t *testing.T) {
	needSeccomp(t)
	deny := filter(t, bpf.RetAllow, rule{"execve", bpf.RetErrno | uint32(unix.EPERM)}, rule{"execveat", bpf.RetErrno | uint32(unix.EPERM)})
	allowExec := filter(t, bpf.RetAllow)
	for _, tc := range []struct {
		name    string
		decide  []bpf.Program
		wantOut string
		wantSig unix.Signal
	}{
		{"errno", []bpf.Program{deny}, "exec errno: 1\n", 0},
		{"kill", []bpf.Program{filter(t, bpf.RetAllow, rule{"execve", bpf.RetKillProcess})}, "", unix.SIGKILL},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, _ := probeCommand(t, "exec", allowExec)
			c.Gate = GateFor(tc.decide)
			ex, out, errOut, err := runCaptured(t, c)
			if err != nil {
				t.Fatalf("run: %v %s", err, errOut)
			}
			if out != tc.wantOut || ex.Signal != tc.wantSig {
				t.Errorf("got %q %+v, want %q and signal %v", out, ex, tc.wantOut, tc.wantSig)
			}
			if tc.wantSig != 0 && (ex.Violation == nil || ex.Violation.Syscall != "execve") {
				t.Errorf("violation %+v, want execve", ex.Violation)
			}
		})
	}
}
