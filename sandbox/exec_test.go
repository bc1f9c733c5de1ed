package sandbox

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/syscage/syscage/bpf"
	"github.com/syscage/syscage/internal/testenv"
)

// execEnv makes the test binary call Command.Exec with the named
// scenario, so that it becomes the program: a test process must never
// replace or filter itself.
const execEnv = "SYSCAGE_SANDBOX_EXEC"

// execDirEnv names a directory the scenarios write files into.
const execDirEnv = "SYSCAGE_SANDBOX_EXEC_DIR"

// execFilter builds a native-arch filter like filter, for the helper
// process, which has no *testing.T.
func execFilter(def uint32, rules ...rule) bpf.Program {
	p, err := buildFilter(def, rules)
	if err != nil {
		panic(err)
	}
	return p
}

// execProbe runs the test binary as probe name.
func execProbe(name string, filters ...bpf.Program) *Command {
	exe, err := os.Executable()
	if err != nil {
		panic(err)
	}
	return &Command{Path: exe, Args: []string{"probe"}, Env: append(os.Environ(), probeEnv+"="+name), Filters: filters}
}

func execShell(script string, filters ...bpf.Program) *Command {
	return &Command{Path: "/bin/sh", Args: []string{"sh", "-c", script}, Filters: filters}
}

var errno42 = execFilter(bpf.RetAllow, rule{"getppid", bpf.RetErrno | 42})

// execScenarios are the Commands the helper process executes.
var execScenarios = map[string]func() *Command{
	"status": func() *Command { return execProbe("status", errno42, allowAll) },
	"filter": func() *Command { return execProbe("getppid", errno42) },
	// The shell forks and executes the probe: the filter reaches the
	// program's descendants.
	"inherited": func() *Command {
		exe, _ := os.Executable()
		c := execShell(`"$0"; echo "status $?"`, errno42)
		c.Args = append(c.Args, exe)
		c.Env = append(os.Environ(), probeEnv+"=getppid")
		return c
	},
	"fds": func() *Command {
		// One descriptor without close-on-exec that must not reach the
		// program, one kept on request.
		leak, err := unix.Open("/dev/null", unix.O_RDONLY, 0)
		if err != nil {
			panic(err)
		}
		keep, err := unix.Open("/dev/null", unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			panic(err)
		}
		c := execShell(fmt.Sprintf(`echo "leak %d keep %d"; cd /proc/$$/fd && echo fds: *`, leak, keep), errno42)
		c.KeepFDs = []int{keep}
		return c
	},
	"stdout": func() *Command {
		f, err := os.Create(filepath.Join(os.Getenv(execDirEnv), "out"))
		if err != nil {
			panic(err)
		}
		c := execShell("echo to the file", errno42)
		c.Stdout = f
		return c
	},
	"status7":       func() *Command { return execShell("exit 7", errno42) },
	"signal":        func() *Command { return execShell("kill -TERM $$", errno42) },
	"pid":           func() *Command { return execShell("echo pid $$", errno42) },
	"network":       func() *Command { c := execProbe("netdevs", errno42); c.NewNetwork = true; return c },
	"no filter":     func() *Command { return &Command{Path: "/bin/true"} },
	"missing path":  func() *Command { return &Command{Path: "/nonexistent/syscage-prog", Filters: []bpf.Program{allowAll}} },
	"missing name":  func() *Command { return &Command{Path: "syscage-no-such-program", Filters: []bpf.Program{allowAll}} },
	"not a program": func() *Command { return &Command{Path: "/dev/null", Filters: []bpf.Program{allowAll}} },
	"execve denied": func() *Command {
		return execShell("echo ran", execFilter(bpf.RetAllow, rule{"execve", bpf.RetErrno | uint32(unix.EPERM)}))
	},
	"userns": func() *Command { c := execShell("echo ran", errno42); c.NewUser = true; return c },
	"gate": func() *Command {
		c := execShell("echo ran", errno42)
		c.Gate = GateFor([]bpf.Program{errno42})
		return c
	},
}

// runExecHelper is the helper process: it executes the scenario's
// program in its own place, or says why it could not.
func runExecHelper(name string) int {
	mk, ok := execScenarios[name]
	if !ok {
		fmt.Fprintln(os.Stderr, "unknown scenario", name)
		return 99
	}
	err := mk().Exec()
	var se *StartError
	if errors.As(err, &se) {
		fmt.Fprintln(os.Stderr, "start error:", se)
		return se.Code
	}
	fmt.Fprintln(os.Stderr, "Exec returned", err)
	return 98
}

// TestExec runs each scenario in a helper process that becomes the
// program, and checks what the program saw and how it ended.
func TestExec(t *testing.T) {
	needSeccomp(t)
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	sh := testenv.NeedCommand(t, "sh")
	if sh != "/bin/sh" {
		if _, err := os.Stat("/bin/sh"); err != nil {
			testenv.Unavailable(t, "no /bin/sh")
		}
	}
	caps := DefaultCaps.hex()
	cases := []struct {
		name     string
		root     bool
		wantCode int
		wantSig  syscall.Signal
		wantOut  []string // lines the output must hold
		wantErr  string   // in stderr
	}{
		{name: "status", root: true, wantOut: []string{"CapInh: " + caps, "CapPrm: " + caps, "CapEff: " + caps,
			"CapBnd: " + caps, "CapAmb: 0000000000000000", "NoNewPrivs: 1", "Seccomp: 2", "Seccomp_filters: 2"}},
		{name: "filter", wantOut: []string{"getppid errno: 42"}},
		{name: "inherited", wantOut: []string{"getppid errno: 42", "status 0"}},
		{name: "stdout"},
		{name: "status7", wantCode: 7},
		{name: "signal", wantSig: syscall.SIGTERM},
		{name: "pid"},
		{name: "fds"},
		{name: "network", root: true, wantOut: []string{"netdevs: lo"}},
		{name: "no filter", wantCode: ExitInternal, wantErr: "no seccomp filter"},
		{name: "missing path", wantCode: ExitNotFound, wantErr: "no such file"},
		{name: "missing name", wantCode: ExitNotFound, wantErr: "not found in PATH"},
		{name: "not a program", wantCode: ExitCannotExecute, wantErr: "permission denied"},
		{name: "execve denied", wantCode: ExitCannotExecute, wantErr: "denies execve"},
		{name: "userns", wantCode: ExitInternal, wantErr: "single-threaded"},
		{name: "gate", wantCode: ExitInternal, wantErr: "denies execve"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.root {
				testenv.NeedRoot(t)
			}
			dir := t.TempDir()
			cmd := exec.Command(exe)
			cmd.Env = append(os.Environ(), execEnv+"="+tc.name, execDirEnv+"="+dir)
			var out, errOut bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &errOut
			err := cmd.Run()
			var ee *exec.ExitError
			if err != nil && !errors.As(err, &ee) {
				t.Fatal(err)
			}
			ws := cmd.ProcessState.Sys().(syscall.WaitStatus)
			code := ws.ExitStatus()
			if ws.Signaled() {
				code = -1
			}
			switch {
			case tc.wantSig != 0 && (!ws.Signaled() || ws.Signal() != tc.wantSig):
				t.Fatalf("ended %v, want death by %v; stderr %q", ws, tc.wantSig, errOut.String())
			case tc.wantSig == 0 && code != tc.wantCode:
				t.Fatalf("exit %d, want %d; stdout %q stderr %q", code, tc.wantCode, out.String(), errOut.String())
			}
			lines := map[string]bool{}
			for _, l := range strings.Split(out.String(), "\n") {
				lines[strings.Join(strings.Fields(l), " ")] = true
			}
			for _, w := range tc.wantOut {
				if !lines[w] {
					t.Errorf("output lacks %q:\n%s", w, out.String())
				}
			}
			if tc.wantErr != "" && !strings.Contains(errOut.String(), tc.wantErr) {
				t.Errorf("stderr %q, want it to mention %q", errOut.String(), tc.wantErr)
			}
			if tc.wantCode != 0 && strings.Contains(out.String(), "ran") {
				t.Errorf("the program ran: %q", out.String())
			}
			switch tc.name {
			case "pid":
				// The program is the helper process itself, not a child.
				if want := fmt.Sprintf("pid %d\n", cmd.Process.Pid); out.String() != want {
					t.Errorf("got %q, want %q", out.String(), want)
				}
			case "stdout":
				b, err := os.ReadFile(filepath.Join(dir, "out"))
				if err != nil || string(b) != "to the file\n" || out.Len() != 0 {
					t.Errorf("file %q (%v), stdout %q: want the output in the file", b, err, out.String())
				}
			case "fds":
				var leak, keep int
				first, rest, _ := strings.Cut(out.String(), "\n")
				if _, err := fmt.Sscanf(first, "leak %d keep %d", &leak, &keep); err != nil {
					t.Fatalf("output %q: %v", out.String(), err)
				}
				// The shell reads the directory through the lowest free
				// descriptor.
				dirFD := 3
				if keep == 3 {
					dirFD = 4
				}
				want := fmt.Sprintf("fds: 0 1 2 %d %d\n", min(dirFD, keep), max(dirFD, keep))
				if rest != want {
					t.Errorf("got %q, want %q (descriptor %d must be closed)", rest, want, leak)
				}
			}
		})
	}
}
