package launch

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/syscage/syscage/internal/testenv"
	"github.com/syscage/syscage/sandbox/initstage"
)

// startHereEnv makes the test binary run StartHere (startHereHelper),
// after which one of its threads stays filtered.
const startHereEnv = "SYSCAGE_LAUNCH_START_HERE"

func TestMain(m *testing.M) {
	if os.Getenv(startHereEnv) != "" {
		os.Exit(startHereHelper())
	}
	os.Exit(m.Run())
}

// startHereHelper starts a program with StartHere, then starts threads
// and checks which of the process's threads carry filters.
func startHereHelper() int {
	// One instruction, RET SECCOMP_RET_ALLOW (include/uapi/linux/
	// filter.h: BPF_RET|BPF_K; include/uapi/linux/seccomp.h).
	allow := []byte{0x06, 0, 0, 0, 0, 0, 0xff, 0x7f}
	cfg := &initstage.Config{
		Path: "/bin/sh", Argv: []string{"sh", "-c", "exit 7"}, Env: os.Environ(),
		Filters: [][]byte{allow}, KeepCaps: true,
		NrSeccomp: unix.SYS_SECCOMP, NrCloseRange: unix.SYS_CLOSE_RANGE,
	}
	r := StartHere(&Job{Config: cfg, Attr: &syscall.ProcAttr{Env: cfg.Env, Files: []uintptr{0, 1, 2}}, PrivateFDs: true})
	if r.Failed != nil || r.Err != nil {
		return 90
	}
	here := strconv.Itoa(syscall.Gettid()) // locked to it now
	ws, err := Wait(r.Pid, nil)
	if err != nil || ws.ExitStatus() != 7 {
		return 91
	}
	// New goroutines need new threads now: the runtime must not create
	// them from this filtered one. The check itself opens files, which
	// this thread may not (its descriptor table is its own): another
	// goroutine does it, on another thread.
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() { // from this thread: it must not be their model
			defer wg.Done()
			var ts syscall.Timespec
			syscall.Nanosleep(&syscall.Timespec{Nsec: 20e6}, &ts)
		}()
	}
	result := make(chan int)
	go func() {
		wg.Wait()
		filtered, others := 0, 0
		tasks, _ := os.ReadDir("/proc/self/task")
		for _, task := range tasks {
			b, _ := os.ReadFile("/proc/self/task/" + task.Name() + "/status")
			if strings.Contains(string(b), "\nSeccomp:\t2\n") {
				filtered++
				if task.Name() != here {
					result <- 92 // not the thread that started the program
					return
				}
			} else {
				others++
			}
		}
		if filtered != 1 || others < 4 {
			result <- 93
			return
		}
		result <- 0
	}()
	return <-result
}

// TestStartHere starts a program with StartHere, in a process of its
// own: the program runs, and only the thread that started it carries
// the filter, not the threads the runtime creates afterwards.
func TestStartHere(t *testing.T) {
	if _, _, e := syscall.RawSyscall(syscall.SYS_PRCTL, syscall.PR_GET_SECCOMP, 0, 0); e != 0 {
		testenv.Unavailable(t, "no seccomp: %v", e)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), startHereEnv+"=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%v (90: start failed, 91: program's status, 92: another thread filtered, 93: thread counts)\n%s", err, out)
	}
}

func TestLookPath(t *testing.T) {
	dir := t.TempDir()
	exe := filepath.Join(dir, "prog")
	if err := os.WriteFile(exe, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "plain"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", "/nonexistent:"+dir)
	t.Chdir(dir)
	for _, tc := range []struct {
		name, want, searched string
		env                  []string
		ok                   bool
	}{
		{"prog", exe, "/nonexistent:" + dir, nil, true},
		{"./anything", "./anything", "", nil, true}, // a path: execve decides
		{"plain", "", "/nonexistent:" + dir, nil, false},
		{"sub", "", "/nonexistent:" + dir, nil, false},
		{"prog", exe, dir, []string{"A=1", "PATH=" + dir}, true},
		{"prog", "", DefaultPath, []string{"A=1"}, false}, // no PATH: the default, not the process's
		{"sh", "", "", []string{"PATH="}, false},
		// Empty directories are the working directory, as execvp(3) and
		// exec.LookPath have them.
		{"prog", "prog", "/nonexistent::", []string{"PATH=/nonexistent::"}, true},
		{"prog", "prog", ":/nonexistent", []string{"PATH=:/nonexistent"}, true},
		{"prog", exe, "/nonexistent:" + dir + "/:", []string{"PATH=/nonexistent:" + dir + "/:"}, true},
	} {
		path, searched, ok := LookPath(tc.name, tc.env)
		if path != tc.want || ok != tc.ok || (tc.searched != "" && searched != tc.searched) {
			t.Errorf("LookPath(%q, %q) = %q, %q, %v; want %q, %q, %v", tc.name, tc.env, path, searched, ok, tc.want, tc.searched, tc.ok)
		}
	}
}

func TestWait(t *testing.T) {
	pid, err := syscall.ForkExec("/bin/sh", []string{"sh", "-c", "exit 7"}, &syscall.ProcAttr{Files: []uintptr{0, 1, 2}})
	if err != nil {
		t.Fatal(err)
	}
	between := false
	ws, err := Wait(pid, func() {
		// Not reaped yet: the zombie is still there.
		if _, err := os.Stat(fmt.Sprintf("/proc/%d", pid)); err != nil {
			t.Errorf("pid %d already reaped before between: %v", pid, err)
		}
		between = true
	})
	if err != nil || !between || !ws.Exited() || ws.ExitStatus() != 7 {
		t.Errorf("Wait: %v, between called %v, status %v", err, between, ws)
	}
	if _, err := os.Stat(fmt.Sprintf("/proc/%d", pid)); err == nil {
		t.Errorf("pid %d not reaped", pid)
	}
	// Not a child: an error, not a hang.
	if _, err := Wait(1, nil); err == nil {
		t.Error("Wait of a process that is not a child succeeded")
	}
}

func TestOpenKernelLog(t *testing.T) {
	fd, err := OpenKernelLog()
	if err != nil {
		testenv.Unavailable(t, "/dev/kmsg cannot be read here (it needs root or CAP_SYSLOG): %v", err)
	}
	defer syscall.Close(fd)
	// At its end: nothing old to read (EAGAIN), unless something was
	// logged meanwhile.
	buf := make([]byte, 8192)
	if _, err := syscall.Read(fd, buf); err != nil && err != syscall.EAGAIN {
		t.Errorf("read: %v", err)
	}
}
