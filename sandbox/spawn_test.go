package sandbox

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/syscage/syscage/arch"
	"github.com/syscage/syscage/bpf"
	"github.com/syscage/syscage/internal/testenv"
	"github.com/syscage/syscage/policy/profiles"
	"github.com/syscage/syscage/sandbox/launch"
	"github.com/syscage/syscage/sandbox/presignal"
	"github.com/syscage/syscage/seccomp"
)

func TestDirectBlocker(t *testing.T) {
	a := arch.Native()
	if a == nil {
		t.Skip("no native architecture tables")
	}
	errno := bpf.RetErrno | uint32(unix.EPERM)
	cases := []struct {
		name    string
		filter  bpf.Program
		dir     bool
		blocker string // "" for none; else the syscall named
	}{
		{"allow all", allowAll, false, ""},
		{"an unrelated syscall denied", filter(t, bpf.RetAllow, rule{"mount", errno}, rule{"getpgrp", errno}), false, ""},
		{"futex", filter(t, bpf.RetAllow, rule{"futex", errno}), false, "futex"},
		{"signal handlers reset in the child", filter(t, bpf.RetAllow, rule{"rt_sigaction", errno}), false, "rt_sigaction"},
		{"the child's parent check", filter(t, bpf.RetAllow, rule{"getppid", bpf.RetUserNotif}), false, "getppid"},
		{"clone", filter(t, bpf.RetAllow, rule{"clone", bpf.RetKillProcess}), false, "clone"},
		{"the thread's end", filter(t, bpf.RetAllow, rule{"exit", bpf.RetKillThread}), false, "exit"},
		{"logged is not allowed", filter(t, bpf.RetAllow, rule{"mmap", bpf.RetLog}), false, "mmap"},
		{"chdir only with a directory", filter(t, bpf.RetAllow, rule{"chdir", errno}), false, ""},
		{"chdir with a directory", filter(t, bpf.RetAllow, rule{"chdir", errno}), true, "chdir"},
		{"default deny", filter(t, errno), false, "futex"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := directBlocker([]bpf.Program{tc.filter}, a, tc.dir)
			if tc.blocker == "" && got != "" {
				t.Errorf("blocked by %q, want none", got)
			}
			if tc.blocker != "" && !strings.HasPrefix(got, tc.blocker+"[") {
				t.Errorf("blocked by %q, want %s", got, tc.blocker)
			}
		})
	}
	// A stack blocks when any of its filters does.
	if got := directBlocker([]bpf.Program{allowAll, filter(t, bpf.RetAllow, rule{"futex", errno})}, a, false); !strings.HasPrefix(got, "futex[") {
		t.Errorf("stack: blocked by %q, want futex", got)
	}
}

// TestDirectProfiles pins which embedded profiles start directly: the
// default profile must, since it is what `syscage run` uses unless told
// otherwise, and the profiles with an exec gate cannot.
func TestDirectProfiles(t *testing.T) {
	if arch.Native() == nil {
		t.Skip("no native architecture tables")
	}
	want := map[string]bool{"default": true, "no-network": true, "no-exec": false, "strict": false}
	for _, name := range profiles.Names() {
		c := &Command{Path: "/bin/true"}
		if err := c.UseProfile(name); err != nil {
			t.Fatal(err)
		}
		w, known := want[name]
		if !known {
			t.Errorf("profile %s: say whether it starts directly", name)
			continue
		}
		if why := c.directStart(); (why == "") != w {
			t.Errorf("profile %s: direct start %v (%s), want %v", name, why == "", why, w)
		}
	}
	// The verdict precompiled with a profile holds for its filters only.
	c := &Command{Path: "/bin/true"}
	if err := c.UseProfile("default"); err != nil {
		t.Fatal(err)
	}
	c.Filters = []bpf.Program{filter(t, bpf.RetAllow, rule{"futex", bpf.RetKillProcess})}
	if why := c.directStart(); !strings.Contains(why, "futex") {
		t.Errorf("filters replaced after UseProfile: direct start verdict %q, want futex named", why)
	}
}

// paths runs f once with each way of starting a program and checks the
// way was taken.
func paths(t *testing.T, f func(t *testing.T, c func(*Command) *Command)) {
	for _, how := range []string{"direct", "stage"} {
		t.Run(how, func(t *testing.T) {
			var started []*Command
			f(t, func(c *Command) *Command {
				c.forceStage = how == "stage"
				started = append(started, c)
				return c
			})
			for _, c := range started {
				if c.how != "" && c.how != how {
					t.Errorf("%s started %s, want %s", c.Path, c.how, how)
				}
			}
		})
	}
}

func TestStartBothWays(t *testing.T) {
	needSeccomp(t)
	testenv.NeedRoot(t)
	sh := testenv.NeedCommand(t, "sh")
	errno42 := filter(t, bpf.RetAllow, rule{"getpgrp", bpf.RetErrno | 42})
	dir, noExec, badFormat := unstartable(t)
	leak, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer leak.Close()
	unix.FcntlInt(leak.Fd(), unix.F_SETFD, 0) // only the start can keep it from the program
	keep, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer keep.Close()

	paths(t, func(t *testing.T, cmd func(*Command) *Command) {
		t.Run("exit status", func(t *testing.T) {
			for _, tc := range []struct {
				script  string
				code    int
				sig     unix.Signal
				wantOut string
			}{
				{"echo hello", 0, 0, "hello\n"},
				{"exit 7", 7, 0, ""},
				{"kill -TERM $$", 128 + 15, unix.SIGTERM, ""},
			} {
				c := cmd(&Command{Path: sh, Args: []string{"sh", "-c", tc.script}, Filters: []bpf.Program{errno42}})
				ex, out, errOut, err := runCaptured(t, c)
				if err != nil {
					t.Fatalf("%s: %v %s", tc.script, err, errOut)
				}
				if ex.Code != tc.code || ex.Signal != tc.sig || out != tc.wantOut {
					t.Errorf("%s: exit %+v out %q, want %d %v %q", tc.script, ex, out, tc.code, tc.sig, tc.wantOut)
				}
			}
		})
		t.Run("start errors", func(t *testing.T) {
			for _, tc := range []struct {
				path string
				dir  string
				code int
				msg  string
			}{
				{filepath.Join(dir, "nope"), "", ExitNotFound, "nope"},
				{noExec, "", ExitCannotExecute, "permission denied"},
				{dir, "", ExitCannotExecute, "directory"},
				{badFormat, "", ExitCannotExecute, "exec format"},
				{"./garbage", dir, ExitCannotExecute, "exec format"},
				{"/bin/true", filepath.Join(dir, "no-such-dir"), ExitInternal, "no-such-dir"},
			} {
				c := cmd(&Command{Path: tc.path, Dir: tc.dir, Filters: []bpf.Program{errno42}})
				_, out, _, err := runCaptured(t, c)
				var se *StartError
				if !errors.As(err, &se) || se.Code != tc.code || !strings.Contains(strings.ToLower(se.Error()), tc.msg) {
					t.Errorf("%s: got %v, want code %d and %q", tc.path, err, tc.code, tc.msg)
				}
				if out != "" {
					t.Errorf("%s: the program ran: %q", tc.path, out)
				}
			}
		})
		t.Run("hardening", func(t *testing.T) {
			c, _ := probeCommand(t, "status", errno42)
			c = cmd(c)
			ex, out, errOut, err := runCaptured(t, c)
			if err != nil || ex.Code != 0 {
				t.Fatalf("run: %v %+v %s", err, ex, errOut)
			}
			wantHardened(t, out, 1)
		})
		t.Run("descriptors", func(t *testing.T) {
			c := cmd(&Command{Path: sh, Args: []string{"sh", "-c", "cd /proc/$$/fd && echo fds: *"}, Filters: []bpf.Program{errno42}})
			c.KeepFDs = []int{int(keep.Fd())}
			_, out, errOut, err := runCaptured(t, c)
			if err != nil {
				t.Fatalf("%v %s", err, errOut)
			}
			dirFD := 3
			if keep.Fd() == 3 {
				dirFD = 4
			}
			want := fmt.Sprintf("fds: 0 1 2 %d %d\n", min(dirFD, int(keep.Fd())), max(dirFD, int(keep.Fd())))
			if out != want {
				t.Errorf("got %q, want %q (fd %d must be closed)", out, want, leak.Fd())
			}
			// The kept descriptor is the caller's: still open, still
			// close-on-exec.
			if fl, err := unix.FcntlInt(keep.Fd(), unix.F_GETFD, 0); err != nil || fl&unix.FD_CLOEXEC == 0 {
				t.Errorf("kept descriptor after the run: flags %d, %v", fl, err)
			}
			// Nor did the start change the caller's other descriptors.
			if fl, err := unix.FcntlInt(leak.Fd(), unix.F_GETFD, 0); err != nil || fl&unix.FD_CLOEXEC != 0 {
				t.Errorf("the caller's inheritable descriptor after the run: flags %d, %v", fl, err)
			}
		})
		t.Run("output read to its end before Wait", func(t *testing.T) {
			// As with os/exec's StdoutPipe: the caller closes its write
			// end and reads until the program's output ends, then waits.
			// No copy of the write end may stay behind in syscage.
			r, w, err := os.Pipe()
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			c := cmd(&Command{Path: sh, Args: []string{"sh", "-c", "echo out"}, Filters: []bpf.Program{errno42}, Stdout: w})
			if err := c.Start(); err != nil {
				t.Fatal(err)
			}
			w.Close()
			got := make(chan string, 1)
			go func() {
				b, _ := io.ReadAll(r)
				got <- string(b)
			}()
			select {
			case out := <-got:
				if out != "out\n" {
					t.Errorf("output %q", out)
				}
			case <-time.After(10 * time.Second):
				t.Error("the output never ended: a copy of the pipe's write end stayed open")
				r.Close()
			}
			if _, err := c.Wait(); err != nil {
				t.Fatal(err)
			}
		})
		t.Run("filter and working directory", func(t *testing.T) {
			c := cmd(&Command{Path: "sh", Dir: dir, Args: []string{"sh", "-c", "pwd; ls garbage"}, Filters: []bpf.Program{errno42}})
			_, out, errOut, err := runCaptured(t, c)
			if err != nil || out != dir+"\ngarbage\n" {
				t.Errorf("got %q %v %s, want the directory and its file", out, err, errOut)
			}
			p, _ := probeCommand(t, "getpgrp", errno42)
			p = cmd(p)
			if _, out, _, _ := runCaptured(t, p); out != "getpgrp errno: 42\n" {
				t.Errorf("probe: %q", out)
			}
		})
		t.Run("killed", func(t *testing.T) {
			kill := filter(t, bpf.RetAllow, rule{"getpgrp", bpf.RetKillProcess})
			c, _ := probeCommand(t, "getpgrp", kill)
			c = cmd(c)
			ex, _, errOut, err := runCaptured(t, c)
			if err != nil {
				t.Fatalf("%v %s", err, errOut)
			}
			if ex.Signal != unix.SIGSYS || !ex.Seccomp {
				t.Fatalf("exit %+v, want a death by SIGSYS", ex)
			}
			if ex.Violation != nil && ex.Violation.Syscall != "getpgrp" {
				t.Errorf("violation %+v, want getpgrp", ex.Violation)
			}
		})
		t.Run("supervised", func(t *testing.T) {
			if err := seccomp.ProbeFlags(seccomp.FlagNewListener); err != nil {
				testenv.Unavailable(t, "seccomp user notification unavailable: %v", err)
			}
			c, _ := probeCommand(t, "getpgrp", filter(t, bpf.RetAllow, rule{"getpgrp", bpf.RetUserNotif}))
			c = cmd(c)
			c.Supervise = func(fd int) error {
				go answerOne(fd, -4321)
				return nil
			}
			_, out, errOut, err := runCaptured(t, c)
			if err != nil || out != "getpgrp errno: 4321\n" {
				t.Errorf("got %q %v %s, want the supervisor's answer", out, err, errOut)
			}
		})
	})
}

// filteredTasks returns the threads of this process that carry a seccomp
// filter.
func filteredTasks(t *testing.T) []string {
	t.Helper()
	tasks, err := os.ReadDir("/proc/self/task")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, task := range tasks {
		b, err := os.ReadFile("/proc/self/task/" + task.Name() + "/status")
		if err == nil && strings.Contains(string(b), "\nSeccomp:\t2\n") {
			out = append(out, task.Name())
		}
	}
	return out
}

// TestDirectProgramSignals checks that the program of a direct start
// starts with no signal blocked, whatever the launching thread blocks
// once it has forked it.
func TestDirectProgramSignals(t *testing.T) {
	needSeccomp(t)
	for i := range 2 { // the second on a new launching thread
		out, err := os.CreateTemp(t.TempDir(), "status")
		if err != nil {
			t.Fatal(err)
		}
		c := &Command{Path: "/bin/grep", Args: []string{"grep", "^SigBlk", "/proc/self/status"}, Filters: []bpf.Program{allowAll}, Stdout: out}
		ex, err := c.Run()
		out.Close()
		if err != nil || ex.Code != 0 || c.how != "direct" {
			t.Fatalf("run %d: %v %v, started %s", i, err, ex, c.how)
		}
		b, err := os.ReadFile(out.Name())
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.TrimSpace(string(b)); got != "SigBlk:\t0000000000000000" {
			t.Errorf("run %d: the program's %q, want none blocked", i, got)
		}
	}
}

// statusField returns the value of field in the /proc status file path.
func statusField(t *testing.T, path, field string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			return strings.TrimSpace(v)
		}
	}
	t.Fatalf("no %s in %s", field, path)
	return ""
}

// TestDirectThread checks the direct start's thread: the only one of the
// process that carries the filters while the program runs, and gone once
// the program is reaped.
func TestDirectThread(t *testing.T) {
	needSeccomp(t)
	// Launching threads of earlier tests end once their programs are
	// reaped, but not at once.
	waitUnfiltered(t, "before the start")
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	c := &Command{Path: "/bin/sh", Args: []string{"sh", "-c", "read x"}, Filters: []bpf.Program{allowAll}, Stdin: r}
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	if c.how != "direct" {
		t.Fatalf("started %s, want direct", c.how)
	}
	during := filteredTasks(t)
	var blocked string
	if len(during) == 1 {
		blocked = statusField(t, "/proc/self/task/"+during[0]+"/status", "SigBlk")
	}
	w.Write([]byte("x\n"))
	w.Close()
	if _, err := c.Wait(); err != nil {
		t.Fatal(err)
	}
	if len(during) != 1 || during[0] == strconv.Itoa(os.Getpid()) {
		t.Errorf("filtered threads while the program ran: %v, want one, not the main thread", during)
	}
	// Once the program runs, the thread takes no signal meant for the
	// process: every signal but SIGKILL and SIGSTOP, which cannot be,
	// is blocked there.
	if blocked != fmt.Sprintf("%016x", ^uint64(0)&^(1<<(unix.SIGKILL-1)|1<<(unix.SIGSTOP-1))) {
		t.Errorf("the filtered thread's blocked signals: %q, want all", blocked)
	}
	waitUnfiltered(t, "after the reap")
}

// waitUnfiltered waits up to 5 s for the process to have no filtered
// thread.
func waitUnfiltered(t *testing.T, when string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for len(filteredTasks(t)) != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("filtered threads %s: %v", when, filteredTasks(t))
		}
		time.Sleep(time.Millisecond)
	}
}

// mainThreadEnv makes the test binary run the direct start's filtered
// goroutine on the process's main thread (see runMainThreadHelper).
const mainThreadEnv = "SYSCAGE_SANDBOX_MAIN_THREAD"

// runMainThreadHelper starts a program directly with the filtered
// goroutine on the main thread, which the runtime never ends: the start
// must move to another thread and leave the main one unfiltered.
func runMainThreadHelper() int {
	runtime.LockOSThread()
	if unix.Gettid() != unix.Getpid() {
		fmt.Println("not on the main thread")
		return 97
	}
	queue := make(chan func(), 1)
	launch.Go = func(f func()) { queue <- f }
	type result struct {
		ex  *Exit
		err error
	}
	done := make(chan result, 1)
	c := &Command{Path: "/bin/sh", Args: []string{"sh", "-c", "echo program ran"}, Filters: []bpf.Program{allowAll}}
	go func() {
		ex, err := c.Run()
		done <- result{ex, err}
	}()
	(<-queue)() // the filtered goroutine, here on the main thread
	res := <-done
	if res.err != nil || res.ex.Code != 0 || c.how != "direct" {
		fmt.Println("run:", res.err, res.ex, c.how)
		return 1
	}
	b, _ := os.ReadFile(fmt.Sprintf("/proc/self/task/%d/status", unix.Getpid()))
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "Seccomp:") || strings.HasPrefix(line, "NoNewPrivs:") {
			fmt.Println("main", strings.Join(strings.Fields(line), " "))
		}
	}
	return 0
}

func TestDirectFromMainThread(t *testing.T) {
	needSeccomp(t)
	cmd := helperCommand(t, mainThreadEnv+"=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	want := "program ran\nmain NoNewPrivs: 0\nmain Seccomp: 0\n"
	if string(out) != want {
		t.Errorf("got %q, want %q", out, want)
	}
}

// parentDeathEnv makes the test binary start `sleep` and print its pid,
// then wait to be killed.
const parentDeathEnv = "SYSCAGE_SANDBOX_PARENT_DEATH"

func runParentDeathHelper(how string) int {
	devnull, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		fmt.Println(err)
		return 1
	}
	// Not the helper's own output: the test reads that until it ends.
	c := &Command{Path: "/bin/sleep", Args: []string{"sleep", "30"}, Filters: []bpf.Program{allowAll}, forceStage: how == "stage",
		Stdin: devnull, Stdout: devnull, Stderr: devnull}
	if err := c.Start(); err != nil {
		fmt.Println("start:", err)
		return 1
	}
	fmt.Println(c.Pid(), c.how)
	c.Wait()
	return 0
}

// TestParentDeath kills the launcher with SIGKILL and checks the program
// dies with it, started either way.
func TestParentDeath(t *testing.T) {
	needSeccomp(t)
	for _, how := range []string{"direct", "stage"} {
		t.Run(how, func(t *testing.T) {
			cmd := helperCommand(t, parentDeathEnv+"="+how)
			stdout, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			var errOut bytes.Buffer
			cmd.Stderr = &errOut
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			line, err := bufio.NewReader(stdout).ReadString('\n')
			var pid int
			var got string
			if _, err2 := fmt.Sscan(line, &pid, &got); err != nil || err2 != nil || got != how {
				cmd.Process.Kill()
				cmd.Wait()
				t.Fatalf("helper said %q (%v) %s", line, err, errOut.String())
			}
			cmd.Process.Signal(syscall.SIGKILL)
			cmd.Wait()
			// The program was the helper's child: now init's (or a
			// subreaper's), which reaps it once it dies.
			deadline := time.Now().Add(5 * time.Second)
			for {
				b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
				if err != nil || strings.Contains(string(b), ") Z ") || !strings.Contains(string(b), "(sleep)") {
					return
				}
				if time.Now().After(deadline) {
					if pid > 0 {
						unix.Kill(pid, unix.SIGKILL)
					}
					t.Fatalf("the program (pid %d) outlived its launcher", pid)
				}
				time.Sleep(5 * time.Millisecond)
			}
		})
	}
}

// earlySignalEnv makes the test binary subscribe to signals early, send
// itself one before the program exists and start a program.
const earlySignalEnv = "SYSCAGE_SANDBOX_EARLY_SIGNAL"

func runEarlySignalHelper() int {
	Prepare()
	<-presignal.Subscribed()
	// Caught by the subscription, not the default action (which would
	// end this process): it waits for the program.
	unix.Kill(unix.Getpid(), unix.SIGUSR1)
	time.Sleep(20 * time.Millisecond)
	c := &Command{Path: "/bin/sh", Args: []string{"sh", "-c", "exec sleep 5"}, Filters: []bpf.Program{allowAll}, ForwardSignals: true}
	ex, err := c.Run()
	if err != nil {
		fmt.Println("run:", err)
		return 1
	}
	fmt.Println("program:", ex.Code, ex.Signal)
	return 0
}

// unforwardedEnv makes the test binary call Prepare, catch a SIGTERM and
// start a Command that does not forward signals.
const unforwardedEnv = "SYSCAGE_SANDBOX_UNFORWARDED"

func runUnforwardedHelper() int {
	Prepare()
	<-presignal.Subscribed()
	unix.Kill(unix.Getpid(), unix.SIGTERM)
	time.Sleep(20 * time.Millisecond)
	fmt.Println("caught")
	c := &Command{Path: "/bin/true", Filters: []bpf.Program{allowAll}}
	c.Run()
	time.Sleep(5 * time.Second)
	fmt.Println("survived")
	return 0
}

// TestPrepareWithoutForwarding checks that a Command without
// ForwardSignals ends Prepare's subscription and gives what it caught its
// default effect: the caught SIGTERM ends the process.
func TestPrepareWithoutForwarding(t *testing.T) {
	needSeccomp(t)
	cmd := helperCommand(t, unforwardedEnv+"=1")
	out, err := cmd.Output()
	ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus)
	if !ok || !ws.Signaled() || ws.Signal() != syscall.SIGTERM || string(out) != "caught\n" {
		t.Errorf("helper: %v, output %q; want death by SIGTERM after \"caught\"", err, out)
	}
}

// TestPrepare checks that a signal caught by Prepare
// before the program exists reaches the program once it runs.
func TestPrepare(t *testing.T) {
	needSeccomp(t)
	cmd := helperCommand(t, earlySignalEnv+"=1")
	start := time.Now()
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if want := fmt.Sprintf("program: %d %v\n", 128+int(unix.SIGUSR1), unix.SIGUSR1); string(out) != want {
		t.Errorf("got %q, want %q", out, want)
	}
	if d := time.Since(start); d > 4*time.Second {
		t.Errorf("the program ran its 5 seconds (%v): the early signal did not reach it", d)
	}
}

// TestKillAllStopsFirst kills a program's child the way the supervisor
// does for a violation (KillAll with the violator as extra) and checks
// the program did not go on when its child died: it is stopped before
// the child is killed.
func TestKillAllStopsFirst(t *testing.T) {
	needSeccomp(t)
	for i := 0; i < 5; i++ {
		r, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		c := &Command{Path: "/bin/sh", Args: []string{"sh", "-c", "sleep 30 & echo $!; wait; echo survived"}, Filters: []bpf.Program{allowAll}, Stdout: w}
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
		w.Close()
		br := bufio.NewReader(r)
		line, err := br.ReadString('\n')
		child, convErr := strconv.Atoi(strings.TrimSpace(line))
		if err != nil || convErr != nil || child <= 0 {
			t.Fatalf("the program's child: %q %v", line, err)
		}
		c.KillAll(child)
		rest, _ := io.ReadAll(br)
		r.Close()
		ex, err := c.Wait()
		if err != nil {
			t.Fatal(err)
		}
		if string(rest) != "" || ex.Signal != unix.SIGKILL {
			t.Fatalf("after KillAll: output %q, exit %+v; want nothing more and SIGKILL", rest, ex)
		}
	}
}

func TestCloseRangeWorks(t *testing.T) {
	a := arch.Native()
	if a == nil {
		t.Skip("no native architecture tables")
	}
	nr, ok := a.Lookup("close_range")
	if !ok {
		t.Skip("no close_range on this architecture")
	}
	// The machines syscage is tested on run Linux 5.9 or later.
	if !closeRangeWorks(nr) {
		t.Error("close_range reported missing on this kernel")
	}
	if closeRangeWorks(0) {
		t.Error("close_range reported present without a syscall number")
	}
	// A number that is no syscall fails as a missing close_range would.
	if closeRangeWorks(100000) {
		t.Error("syscall 100000 taken for close_range")
	}
}
