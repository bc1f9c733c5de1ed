package audit

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/syscage/syscage/arch"
	"github.com/syscage/syscage/bpf"
	"github.com/syscage/syscage/internal/testenv"
	"github.com/syscage/syscage/seccomp"
)

// logChildEnv makes the test binary a child that logs getppid N times.
const logChildEnv = "SYSCAGE_AUDIT_LOG_CHILD"

func TestMain(m *testing.M) {
	if n, ok := os.LookupEnv(logChildEnv); ok {
		count, _ := strconv.Atoi(n)
		ret := bpf.RetLog
		if n == "kill" {
			count, ret = 1, bpf.RetKillProcess
		}
		if err := logChild(count, ret); err != nil {
			fmt.Fprintln(os.Stderr, "log child:", err)
			os.Exit(2)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// logChild installs, on this thread only, a filter that returns LOG for
// getppid and ALLOW for everything else, then calls getppid count times.
func logChild(count int, ret uint32) error {
	runtime.LockOSThread()
	if err := seccomp.SetNoNewPrivs(); err != nil {
		return err
	}
	native := arch.Native()
	getppid, _ := native.Lookup("getppid")
	prog := bpf.Program{
		bpf.LoadAbs(bpf.OffsetNr),
		bpf.JumpIf(bpf.JmpJEQ, uint32(getppid), 0, 1),
		bpf.Ret(ret),
		bpf.Ret(bpf.RetAllow),
	}
	if _, err := seccomp.Install(prog, 0); err != nil {
		return err
	}
	for i := 0; i < count; i++ {
		unix.RawSyscall(uintptr(getppid), 0, 0, 0)
	}
	return nil
}

func runLogChild(t *testing.T, count int) int {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), logChildEnv+"="+strconv.Itoa(count))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("log child: %v\n%s", err, out)
	}
	return cmd.Process.Pid
}

func openKmsgOrSkip(t *testing.T) *Reader {
	t.Helper()
	testenv.NeedRoot(t)
	logged, err := os.ReadFile("/proc/sys/kernel/seccomp/actions_logged")
	if err != nil {
		testenv.Unavailable(t, "seccomp actions_logged not readable: %v", err)
	}
	if !containsWord(string(logged), "log") {
		testenv.Unavailable(t, "the kernel does not log the LOG action (actions_logged=%q)", logged)
	}
	r, err := OpenKmsg(true)
	if err != nil {
		testenv.Unavailable(t, "%v", err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

// collect reads items until stop says so or the deadline passes.
func collect(t *testing.T, r *Reader, timeout time.Duration, stop func([]Item) bool) []Item {
	t.Helper()
	var items []Item
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		it, err := r.Next()
		if errors.Is(err, ErrNoMore) {
			if stop(items) {
				return items
			}
			fds := []unix.PollFd{{Fd: int32(r.Fd()), Events: unix.POLLIN}}
			_, _ = unix.Poll(fds, 100)
			continue
		}
		if err != nil {
			t.Fatalf("Next: %v", err)
		}
		items = append(items, it)
		if stop(items) {
			return items
		}
	}
	return items
}

func TestKernelLogRecord(t *testing.T) {
	r := openKmsgOrSkip(t)
	pid := runLogChild(t, 1)
	getppid, _ := arch.Native().Lookup("getppid")
	var found *Record
	collect(t, r, 5*time.Second, func(items []Item) bool {
		for _, it := range items {
			if it.Record != nil && it.Record.PID == pid {
				found = it.Record
				return true
			}
		}
		return false
	})
	if found == nil {
		t.Fatalf("no seccomp audit record for pid %d within 5s", pid)
	}
	if found.AuditArch != arch.Native().AuditArch || found.Syscall != int64(getppid) || found.Code != bpf.RetLog || found.Sig != 0 {
		t.Errorf("record = %+v, want arch %#x syscall %d code LOG", found, arch.Native().AuditArch, getppid)
	}
	e := found.Event()
	if e.Syscall != "getppid" || e.Action != "log" || e.Arch != arch.Native().Name {
		t.Errorf("event = %+v", e)
	}
	if time.Since(found.Time) > time.Minute || found.Time.After(time.Now().Add(time.Minute)) {
		t.Errorf("record time %v is not now", found.Time)
	}
}

// TestKernelLogLossReported floods the log so that the kernel's rate limit
// drops records, and checks the reader says so instead of losing them
// silently.
func TestKernelLogLossReported(t *testing.T) {
	r := openKmsgOrSkip(t)
	// The kernel reports drops only when it next prints: shorten the
	// printk rate-limit interval, flood, wait it out, then log once more.
	const ratelimit = "/proc/sys/kernel/printk_ratelimit"
	old, err := os.ReadFile(ratelimit)
	if err != nil {
		testenv.Unavailable(t, "read %s: %v", ratelimit, err)
	}
	if err := os.WriteFile(ratelimit, []byte("1"), 0o644); err != nil {
		testenv.Unavailable(t, "write %s: %v", ratelimit, err)
	}
	t.Cleanup(func() { _ = os.WriteFile(ratelimit, old, 0o644) })
	const calls = 2000
	pid := runLogChild(t, calls)
	time.Sleep(1100 * time.Millisecond)
	last := runLogChild(t, 1)
	seen := 0
	var lost uint64
	collect(t, r, 10*time.Second, func(items []Item) bool {
		seen, lost = 0, 0
		lastSeen := false
		for _, it := range items {
			if it.Record != nil && it.Record.PID == pid {
				seen++
			}
			if it.Record != nil && it.Record.PID == last {
				lastSeen = true
			}
			lost += it.Lost
		}
		return lastSeen
	})
	if seen == 0 {
		t.Fatalf("no record of pid %d", pid)
	}
	if uint64(seen)+lost < calls {
		t.Errorf("%d calls logged: saw %d records and %d reported lost; %d vanished silently", calls, seen, lost, calls-seen-int(lost))
	}
	t.Logf("%d calls: %d records read, %d reported lost", calls, seen, lost)
}

func containsWord(s, w string) bool {
	for _, f := range splitSpace(s) {
		if f == w {
			return true
		}
	}
	return false
}

func splitSpace(s string) []string {
	var out []string
	start := -1
	for i, c := range s {
		if c == ' ' || c == '\n' || c == '\t' {
			if start >= 0 {
				out = append(out, s[start:i])
				start = -1
			}
		} else if start < 0 {
			start = i
		}
	}
	if start >= 0 {
		out = append(out, s[start:])
	}
	return out
}
