package tests

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// runOutcome is what a run of syscage showed: its output, the program's
// status as syscage passed it on, and whether yaml's package
// initialisation ran (it does not when the quick path takes the run).
type runOutcome struct {
	stdout, stderr string
	code           int
	fullStart      bool
}

// runSyscage runs syscage with args, with quickrun on or off, and with
// extra as descriptor 3, open without close-on-exec.
func runSyscage(t *testing.T, sc string, quick bool, extra *os.File, args ...string) runOutcome {
	t.Helper()
	cmd := exec.Command(sc, args...)
	cmd.Env = append(os.Environ(), "GODEBUG=inittrace=1")
	if !quick {
		cmd.Env = append(cmd.Env, "SYSCAGE_NO_QUICKRUN=1")
	}
	if extra != nil {
		cmd.ExtraFiles = []*os.File{extra}
	}
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatal(err)
	}
	var o runOutcome
	o.stdout = out.String()
	o.fullStart = strings.Contains(errOut.String(), "init gopkg.in/yaml")
	var kept []string
	for _, line := range strings.Split(errOut.String(), "\n") {
		if !strings.HasPrefix(line, "init ") {
			kept = append(kept, line)
		}
	}
	o.stderr = strings.Join(kept, "\n")
	o.code = cmd.ProcessState.ExitCode()
	if ws := cmd.ProcessState.Sys().(syscall.WaitStatus); ws.Signaled() {
		o.code = 128 + int(ws.Signal())
	}
	return o
}

// TestQuickRun checks that `syscage run [--] CMD`, which package
// quickrun runs from package initialisation, behaves exactly as the
// command line does (SYSCAGE_NO_QUICKRUN): output, status, hardening,
// descriptors, a kill by the filter and its explanation; and that the
// quick path took exactly the runs it should.
func TestQuickRun(t *testing.T) {
	sc := syscage(t)
	pr := probe(t)
	leak, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer leak.Close()
	status := `grep -E '^(Cap|NoNewPrivs|Seccomp|SigBlk)' /proc/self/status; cd /proc/self/fd && echo fds: *`
	// A script whose interpreter is missing: found and executable, so
	// the quick path forks it, and its execve fails; the command line,
	// run again, reports it.
	badScript := filepath.Join(t.TempDir(), "bad-interpreter")
	if err := os.WriteFile(badScript, []byte("#!/syscage/no/such/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name  string
		args  []string
		quick bool // the quick path takes it all
	}{
		{"output and status", []string{"run", "--", "sh", "-c", "echo out; echo err >&2; exit 3"}, true},
		{"without --", []string{"run", "sh", "-c", "echo out"}, true},
		{"death by a signal", []string{"run", "--", "sh", "-c", "kill -TERM $$"}, true},
		{"hardening and descriptors", []string{"run", "--", "sh", "-c", status}, true},
		{"a denied syscall", []string{"run", "--", pr, "call", strconv.Itoa(nrMount)}, true},
		// The quick path runs it, then syscage again to explain the kill.
		{"a kill by the filter, explained", []string{"run", "--", pr, "int80", strconv.Itoa(nrI386Getpid)}, false},
		{"--exec: output and status", []string{"run", "--exec", "--", "sh", "-c", "echo out; echo err >&2; exit 3"}, true},
		{"--exec: hardening and descriptors", []string{"run", "--exec", "--", "sh", "-c", status}, true},
		{"--exec: a kill by the filter", []string{"run", "--exec", "--", pr, "int80", strconv.Itoa(nrI386Getpid)}, true},
		{"--exec: not found", []string{"run", "--exec", "--", "syscage-no-such-program"}, false},
		{"not found", []string{"run", "--", "syscage-no-such-program"}, false},
		{"an option", []string{"run", "--profile", "default", "--", "sh", "-c", "echo out"}, false},
		{"no program", []string{"run", "--"}, false},
		{"an execve that fails", []string{"run", "--", badScript}, false},
		{"the environment", []string{"run", "--", "sh", "-c", "env | grep -c SYSCAGE_QUICKRUN_; true"}, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			quick := runSyscage(t, sc, true, leak, tc.args...)
			full := runSyscage(t, sc, false, leak, tc.args...)
			if quick.fullStart == tc.quick {
				t.Errorf("quick path taken: %v, want %v", !quick.fullStart, tc.quick)
			}
			if !full.fullStart {
				t.Errorf("SYSCAGE_NO_QUICKRUN did not keep the run from the quick path")
			}
			if quick.stdout != full.stdout || quick.stderr != full.stderr || quick.code != full.code {
				t.Errorf("quick path: %q %q %d\ncommand line: %q %q %d", quick.stdout, quick.stderr, quick.code, full.stdout, full.stderr, full.code)
			}
		})
	}
	// The kill case says what the command line says: the syscall, the
	// architecture and the rule.
	o := runSyscage(t, sc, true, nil, "run", "--", pr, "int80", strconv.Itoa(nrI386Getpid))
	if o.code != 128+31 || !strings.Contains(o.stderr, "syscage: killed by seccomp:") || !strings.Contains(o.stderr, "on i386") {
		t.Errorf("kill: status %d, stderr %q", o.code, o.stderr)
	}
}

// TestSubscriptionInitialisedEarly checks the order in which Go
// initialises the packages `syscage run` starts from. The program waits
// for the signal subscription, and the quick path runs from its package
// initialisation: neither package may wait for packages it has no use
// for. Go initialises packages in import path order once their imports
// are, so an import of golang.org/x/sys/unix, or of strings or bytes
// (which need unicode), by quickrun, runearly or the packages they
// import would have them wait for bpf, arch, encoding/json and others.
func TestSubscriptionInitialisedEarly(t *testing.T) {
	sc := syscage(t)
	// The trace prints a package's line once its initialisation returns,
	// which the quick path's never does: the command line takes the run.
	cmd := exec.Command(sc, "run", "--", "true")
	cmd.Env = append(os.Environ(), "GODEBUG=inittrace=1", "SYSCAGE_NO_QUICKRUN=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	order := map[string]int{}
	for i, line := range strings.Split(string(out), "\n") {
		if f := strings.Fields(line); len(f) > 1 && f[0] == "init" {
			order[f[1]] = i + 1
		}
	}
	for _, early := range []string{
		"github.com/syscage/syscage/cmd/syscage/internal/quickrun",
		"github.com/syscage/syscage/cmd/syscage/internal/runearly",
	} {
		if order[early] == 0 {
			t.Fatalf("%s missing from the trace:\n%s", early, out)
		}
		for _, later := range []string{"unicode", "golang.org/x/sys/unix", "github.com/syscage/syscage/arch",
			"gopkg.in/yaml%2ev3", "github.com/spf13/cobra", "github.com/syscage/syscage/policy"} {
			if n := order[later]; n == 0 || n < order[early] {
				t.Errorf("%s initialised before %s (or not at all)", later, early)
			}
		}
	}
}

// TestQuickRunThreads checks that the quick path leaves syscage's other
// threads as they were: it forks the program from the main thread,
// hardened and filtered, and a thread the runtime created from that one
// would be so too (and the command line run again from it, after a
// failed execve, could not even write its message).
func TestQuickRunThreads(t *testing.T) {
	sc := syscage(t)
	// The program looks at its parent, syscage, once syscage has settled.
	look := `sleep 0.1; grep -l '^Seccomp:.2' /proc/$PPID/task/*/status | wc -l; grep -L '^Seccomp:.2' /proc/$PPID/task/*/status | wc -l`
	out, err := exec.Command(sc, "run", "--", "sh", "-c", look).CombinedOutput()
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	f := strings.Fields(string(out))
	if len(f) != 2 || f[0] != "1" || f[1] == "0" {
		t.Errorf("syscage's threads, filtered and not: %q, want one filtered (the main thread) and the others not", f)
	}
	// A failed execve hands the run to the command line, from another
	// thread: every time, the message and the status.
	badScript := filepath.Join(t.TempDir(), "bad-interpreter")
	if err := os.WriteFile(badScript, []byte("#!/syscage/no/such/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	for i := range 20 {
		cmd := exec.Command(sc, "run", "--", badScript)
		msg, _ := cmd.CombinedOutput()
		if code := cmd.ProcessState.ExitCode(); code != 127 || !strings.Contains(string(msg), "interpreter /syscage/no/such/sh does not exist") {
			t.Fatalf("run %d: status %d, %q; want 127 and the interpreter named", i, code, msg)
		}
	}
}

// TestQuickRunRetry checks the hand-over of a start that failed before
// the program ran (quickrun.RetryEnv): the command line takes the run,
// and the program does not see the variable.
func TestQuickRunRetry(t *testing.T) {
	sc := syscage(t)
	cmd := exec.Command(sc, "run", "--", "sh", "-c", "echo ${SYSCAGE_QUICKRUN_RETRY-unset}")
	cmd.Env = append(os.Environ(), "SYSCAGE_QUICKRUN_RETRY=1", "GODEBUG=inittrace=1")
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		t.Fatalf("%v: %s", err, errOut.String())
	}
	if out.String() != "unset\n" {
		t.Errorf("the program saw %q, want unset", out.String())
	}
	if !strings.Contains(errOut.String(), "init gopkg.in/yaml") {
		t.Errorf("the quick path took a run handed over to the command line")
	}
}

// TestQuickRunParentDeath kills syscage with SIGKILL while the quick
// path supervises a program, which must die with it: the program's
// parent-death signal is tied to the thread that forked it, here the
// main thread.
func TestQuickRunParentDeath(t *testing.T) {
	sc := syscage(t)
	cmd := exec.Command(sc, "run", "--", "sh", "-c", "echo $$; exec sleep 30")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var pid int
	if _, err := fmt.Fscan(stdout, &pid); err != nil || pid <= 0 {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("the program's pid: %v", err)
	}
	// Once sleep runs: until then the pid is sh's.
	deadline := time.Now().Add(5 * time.Second)
	for {
		b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if strings.Contains(string(b), "(sleep)") {
			break
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatalf("pid %d never became sleep", pid)
		}
		time.Sleep(time.Millisecond)
	}
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	deadline = time.Now().Add(5 * time.Second)
	for {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil || strings.Contains(string(b), ") Z ") || !strings.Contains(string(b), "(sleep)") {
			return
		}
		if time.Now().After(deadline) {
			syscall.Kill(pid, syscall.SIGKILL)
			t.Fatalf("the program (pid %d) outlived syscage", pid)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
