package audit

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
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
		if err := logChild(count); err != nil {
			fmt.Fprintln(os.Stderr, "log child:", err)
			os.Exit(2)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// logChild installs, on this thread only, a filter that returns LOG for
// getppid and ALLOW for everything else, then calls getppid count times.
func logChild(count int) error {
	runtime.LockOSThread()
	if err := seccomp.SetNoNewPrivs(); err != nil {
		return err
	}
	native := arch.Native()
	getppid, _ := native.Lookup("getppid")
	prog := bpf.Program{
		bpf.LoadAbs(bpf.OffsetNr),
		bpf.JumpIf(bpf.JmpJEQ, uint32(getppid), 0, 1),
		bpf.Ret(bpf.RetLog),
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

// TestReaderCountsLoss feeds the reader kernel log records with the gaps
// the kernel leaves when it drops messages, and checks every drop is
// counted.
func TestReaderCountsLoss(t *testing.T) {
	rec := func(seq, serial int, pid int) string {
		return fmt.Sprintf("5,%d,1000,-;audit: type=1326 audit(1.000:%d): auid=0 uid=0 gid=0 ses=1 pid=%d comm=\"x\" exe=\"/x\" sig=0 arch=c000003e syscall=39 compat=0 ip=0x1 code=0x7ffc0000", seq, serial, pid)
	}
	feed := []any{
		rec(10, 100, 1),
		rec(11, 101, 1),
		// printk rate limiting: serials 102..106 were numbered and dropped.
		"4,12,1000,-;kauditd_printk_skb: 5 callbacks suppressed",
		rec(13, 107, 1),
		// another audit type moves the serial on without a gap
		"5,14,1000,-;audit: type=1400 audit(1.000:108): apparmor=\"DENIED\"",
		rec(15, 109, 1),
		// the reader fell behind: the ring overwrote entries 16..19
		unix.EPIPE,
		rec(20, 130, 1),
		rec(21, 131, 1),
		"6,22,1000,-;unrelated message",
		rec(23, 132, 1),
	}
	i := 0
	r := &Reader{buf: make([]byte, 8192), read: func(b []byte) (int, error) {
		if i >= len(feed) {
			return 0, unix.EAGAIN
		}
		x := feed[i]
		i++
		if err, ok := x.(error); ok {
			return 0, err
		}
		return copy(b, x.(string)), nil
	}}
	var records int
	var lost uint64
	var reasons []string
	for {
		it, err := r.Next()
		if errors.Is(err, ErrNoMore) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if it.Record != nil {
			records++
		}
		lost += it.Lost
		if it.LostReason != "" {
			reasons = append(reasons, it.LostReason)
		}
	}
	if records != 7 {
		t.Errorf("records = %d, want 7", records)
	}
	// 5 dropped by rate limiting (serial gap) + 4 overwritten (sequence gap).
	if lost != 9 {
		t.Errorf("lost = %d, want 9; reasons: %q", lost, reasons)
	}
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

// TestOpenKmsgError: a failure to open the kernel log names the device
// once and says what access it needs.
func TestOpenKmsgError(t *testing.T) {
	old := kmsgPath
	defer func() { kmsgPath = old }()
	kmsgPath = filepath.Join(t.TempDir(), "kmsg")
	_, err := OpenKmsg(true)
	if err == nil {
		t.Fatal("no error for a missing device")
	}
	if n := strings.Count(err.Error(), kmsgPath); n != 1 {
		t.Errorf("%q names the device %d times, want once", err, n)
	}
	if !strings.Contains(err.Error(), "CAP_SYSLOG") {
		t.Errorf("%q does not say what access is needed", err)
	}
}
