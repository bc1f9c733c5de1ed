package notify

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/syscage/syscage/seccomp"
)

// distinctFiles writes n files whose content is their own path.
func distinctFiles(t testing.TB, dir string, n int) []string {
	t.Helper()
	var files []string
	for i := range n {
		p := filepath.Join(dir, fmt.Sprintf("f%02d", i))
		if err := os.WriteFile(p, []byte(p), 0o644); err != nil {
			t.Fatal(err)
		}
		files = append(files, p)
	}
	return files
}

// Sixty-four threads open, read and close each their own file in a loop:
// every answer must reach the thread that asked, once.
func TestManyThreads(t *testing.T) {
	dir := t.TempDir()
	files := distinctFiles(t, dir, 64)
	const iter = 40
	tg := startTarget(t, targetSpec{Notify: BrokerSyscalls, Scenario: "threads", Threads: 64, Iter: iter, Files: files})
	b, err := NewBroker(FileRules{Rules: []FileRule{{Root: dir, Read: true}}})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	var events syncWriter
	_, wait := serveTarget(t, tg, b.Handlers(), Options{Alerts: NewAlerts(&events, AlertLimit{Off: true})})
	res := tg.wait(t)
	st := wait()
	if len(res.Bad) > 0 {
		t.Fatalf("%d bad answers, first: %s\nalerts:\n%s", len(res.Bad), res.Bad[0], events.String())
	}
	// The race detector's runtime in the target opens files of its own
	// (/proc/stat), which the rules refuse; none of the test's may be.
	if strings.Contains(events.String(), dir) {
		t.Errorf("opens of the test's files refused:\n%s", events.String())
	}
	if res.Done != 64*iter {
		t.Errorf("%d opens done, want %d", res.Done, 64*iter)
	}
	if st.Received < uint64(64*iter) || st.Answered != st.Received-st.Gone {
		t.Errorf("stats %+v: every received notification must be answered or gone", st)
	}
	if st.Panics != 0 {
		t.Errorf("stats %+v", st)
	}
}

// A handler that blocks holds up nobody else: while one thread waits for
// its answer, another thread's opens are all served.
func TestBlockingHandlerDoesNotStall(t *testing.T) {
	dir := t.TempDir()
	files := distinctFiles(t, dir, 1)
	slow := filepath.Join(dir, "slow")
	os.WriteFile(slow, []byte("slow"), 0o644)
	tg := startTarget(t, targetSpec{Notify: BrokerSyscalls, Scenario: "spawn",
		Ops:   []op{{Call: "openat", Path: slow, Read: true}},
		Spawn: &targetSpec{Scenario: "threads", Threads: 1, Iter: 200, Files: files, Out: filepath.Join(dir, "out.json")}})
	b, err := NewBroker(FileRules{Rules: []FileRule{{Root: "/", Read: true, Dir: true}, {Root: dir, Read: true, Write: true, Create: true}}})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	h := b.Handlers()
	open := h["openat"]
	release := make(chan struct{})
	var once sync.Once
	free := func() { once.Do(func() { close(release) }) }
	defer free()
	var fast atomic.Int64
	h["openat"] = func(ctx context.Context, r *Request) Response {
		p, err := r.ReadString(r.Arg(1), PathMax)
		if err == nil && p == slow {
			<-release
		} else if err == nil && p == files[0] {
			fast.Add(1)
		}
		return open(ctx, r)
	}
	s, wait := serveTarget(t, tg, h, Options{Workers: 4})
	deadline := time.Now().Add(20 * time.Second)
	for fast.Load() < 200 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if n := fast.Load(); n < 200 {
		free()
		t.Fatalf("only %d of the other process's 200 opens were served while one handler blocked (stats %+v)\nstderr: %s", n, s.Stats(), tg.errOut.String())
	}
	free()
	res := tg.wait(t)
	if len(res.Ops) != 1 || res.Ops[0].Content != "slow" {
		t.Errorf("the blocked open got %+v", res.Ops)
	}
	wait()
}

// A target killed while its request is handled: the answer finds nobody
// (counted as gone), and the supervisor goes on serving the target's
// child, which shares the filter.
func TestTargetKilledMidRequest(t *testing.T) {
	dir := t.TempDir()
	files := distinctFiles(t, dir, 1)
	block := filepath.Join(dir, "block")
	os.WriteFile(block, []byte("b"), 0o644)
	out := filepath.Join(dir, "child.json")
	tg := startTarget(t, targetSpec{Notify: BrokerSyscalls, WaitKillable: killableRecv(), Scenario: "spawn",
		Ops:   []op{{Call: "openat", Path: block, Read: true}},
		Spawn: &targetSpec{Scenario: "threads", Threads: 2, Iter: 300, Files: files, Out: out}})
	b, err := NewBroker(FileRules{Rules: []FileRule{{Root: "/", Read: true, Dir: true}, {Root: dir, Read: true, Write: true, Create: true}}})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	h := b.Handlers()
	open := h["openat"]
	blocked := make(chan struct{})
	release := make(chan struct{})
	var once sync.Once
	free := func() { once.Do(func() { close(release) }) }
	defer free()
	h["openat"] = func(ctx context.Context, r *Request) Response {
		if p, err := r.ReadString(r.Arg(1), PathMax); err == nil && p == block {
			close(blocked)
			<-release
		}
		return open(ctx, r)
	}
	_, wait := serveTarget(t, tg, h, Options{})
	select {
	case <-blocked:
	case <-time.After(20 * time.Second):
		free()
		t.Fatalf("the target never made its blocking open\nstderr: %s", tg.errOut.String())
	}
	tg.cmd.Process.Kill()
	tg.cmd.Wait()
	free()
	st := wait() // ends when the child exits too
	if st.Gone < 1 {
		t.Errorf("the answer to the killed target should be counted as gone: %+v", st)
	}
	raw, err := os.ReadFile(out)
	if err != nil {
		t.Fatalf("the child did not finish: %v", err)
	}
	var res targetResult
	if err := json.Unmarshal(raw, &res); err != nil {
		t.Fatal(err)
	}
	if res.Done != 600 || len(res.Bad) > 0 {
		t.Errorf("child: %d opens done, bad %v", res.Done, res.Bad)
	}
}

// A supervisor killed while it handles a request: the target's syscall
// fails with ENOSYS (never succeeds, never hangs), and so does every later
// notified syscall.
func TestSupervisorKilledMidRequest(t *testing.T) {
	dir := t.TempDir()
	block := filepath.Join(dir, "created-by-block")
	later := filepath.Join(dir, "created-later")
	tg := startTarget(t, targetSpec{Notify: BrokerSyscalls, WaitKillable: killableRecv(), Scenario: "ops", Ops: []op{
		{Call: "openat", Path: block, Flags: unix.O_CREAT | unix.O_WRONLY, Mode: 0o600},
		{Call: "openat", Path: later, Flags: unix.O_CREAT | unix.O_WRONLY, Mode: 0o600},
	}})
	spec, _ := json.Marshal(supervisorSpec{Block: block, Rules: FileRules{Rules: []FileRule{{Root: dir, Read: true, Write: true, Create: true}}}})
	l := os.NewFile(uintptr(tg.listener), "listener")
	sup := exec.Command(os.Args[0], "-test.run=^$")
	sup.Env = append(os.Environ(), supervisorEnv+"="+string(spec))
	sup.ExtraFiles = []*os.File{l}
	stdout, err := sup.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	sup.Stderr = os.Stderr
	if err := sup.Start(); err != nil {
		t.Fatal(err)
	}
	l.Close() // the supervisor process holds the only copy
	line := make(chan string, 1)
	go func() {
		s, _ := bufio.NewReader(stdout).ReadString('\n')
		line <- s
	}()
	select {
	case s := <-line:
		if strings.TrimSpace(s) != "blocked" {
			t.Fatalf("supervisor said %q", s)
		}
	case <-time.After(20 * time.Second):
		sup.Process.Kill()
		t.Fatal("the supervisor never received the blocking request")
	}
	sup.Process.Signal(unix.SIGKILL)
	sup.Wait()
	res := tg.wait(t)
	for i, o := range res.Ops {
		if o.Errno != int(unix.ENOSYS) {
			t.Errorf("op %d: errno %d (%s), want ENOSYS", i, o.Errno, unix.ErrnoName(unix.Errno(o.Errno)))
		}
	}
	for _, p := range []string{block, later} {
		if _, err := os.Stat(p); err == nil {
			t.Errorf("%s exists: a syscall succeeded without its supervisor", p)
		}
	}
}

// killableRecv reports whether the kernel has
// SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV (Linux 5.19).
func killableRecv() bool {
	return seccomp.ProbeFlags(seccomp.FlagNewListener|seccomp.FlagWaitKillableRecv) == nil
}

// A Go target whose threads receive the runtime's preemption signal
// every 200µs finishes its brokered opens. With WAIT_KILLABLE_RECV a
// received notification is never interrupted: no answer is lost.
func TestGoTargetUnderPreemptionSignals(t *testing.T) {
	if !killableRecv() {
		t.Skip("the kernel lacks SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV (Linux 5.19)")
	}
	dir := t.TempDir()
	files := distinctFiles(t, dir, 4)
	for _, killable := range []bool{true, false} {
		t.Run(fmt.Sprintf("killable=%v", killable), func(t *testing.T) {
			tg := startTarget(t, targetSpec{Notify: BrokerSyscalls, WaitKillable: killable, Scenario: "signals",
				Threads: 4, Iter: 50, Files: files, Signal: 200 * time.Microsecond})
			b, err := NewBroker(FileRules{Rules: []FileRule{{Root: "/", Read: true, Dir: true}}})
			if err != nil {
				t.Fatal(err)
			}
			defer b.Close()
			h := b.Handlers()
			open := h["openat"]
			h["openat"] = func(ctx context.Context, r *Request) Response {
				time.Sleep(500 * time.Microsecond) // long enough for signals to land
				return open(ctx, r)
			}
			_, wait := serveTarget(t, tg, h, Options{})
			res := tg.wait(t)
			st := wait()
			if res.Done != 200 || len(res.Bad) > 0 {
				t.Fatalf("%d of 200 opens done, bad %v", res.Done, res.Bad)
			}
			t.Logf("stats %+v", st)
			if killable && st.Gone != 0 {
				t.Errorf("%d answers lost to interruptions despite WAIT_KILLABLE_RECV", st.Gone)
			}
		})
	}
}

// No race escapes the allowed roots: a thread rewriting the path buffer,
// a symbolic link swapped between an allowed file and a secret one.
func TestRacesNeverEscape(t *testing.T) {
	root := tree(t)
	secretPath := root + "/secret/s.txt"
	os.WriteFile(root+"/rw/ok.txt", []byte("OK"), 0o644)
	cases := []struct {
		name string
		spec targetSpec
		// refused: both sides of the race are refused by design
		// (absolute symbolic links are), so nothing opens.
		refused bool
	}{
		{"path rewrite", targetSpec{Scenario: "rewrite", Iter: 2000, Allowed: root + "/ro/a.txt", Denied: secretPath, Secret: "SECRET"}, false},
		{"relative symlink swap", targetSpec{Scenario: "symrace", Iter: 2000, Allowed: root + "/rw/link", Files: []string{"ok.txt"}, Denied: "../secret/s.txt", Secret: "SECRET"}, false},
		{"absolute symlink swap", targetSpec{Scenario: "symrace", Iter: 2000, Allowed: root + "/rw/alink", Files: []string{root + "/rw/ok.txt"}, Denied: secretPath, Secret: "SECRET"}, true},
		{"magic symlink swap", targetSpec{Scenario: "symrace", Iter: 2000, Allowed: root + "/rw/mlink", Files: []string{"ok.txt"}, Denied: "/proc/self/root" + secretPath, Secret: "SECRET"}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			spec := c.spec
			spec.Notify = BrokerSyscalls
			tg := startTarget(t, spec)
			b, err := NewBroker(treeRules(root))
			if err != nil {
				t.Fatal(err)
			}
			defer b.Close()
			_, wait := serveTarget(t, tg, b.Handlers(), Options{})
			res := tg.wait(t)
			st := wait()
			t.Logf("opened %d, denied %d, stats %+v", res.Opened, res.Denied, st)
			if res.Escaped != 0 {
				t.Fatalf("%d opens read the secret", res.Escaped)
			}
			if res.Opened == 0 && !c.refused {
				t.Errorf("no open succeeded: the race was not exercised")
			}
		})
	}
}

// Syscalls the policy notifies but no handler serves get ENOSYS and an
// alert; the supervisor goes on serving the rest.
func TestUnhandledNotifiedSyscall(t *testing.T) {
	root := tree(t)
	mkdirat, _ := nativeNr("mkdirat")
	tg := startTarget(t, targetSpec{Notify: append([]string{"mkdirat"}, BrokerSyscalls...), Scenario: "ops", Ops: []op{
		{Call: "raw", Nr: mkdirat, Path: root + "/rw/newdir"},
		{Call: "openat", Path: root + "/ro/a.txt", Read: true},
	}})
	b, err := NewBroker(treeRules(root))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	var events bytes.Buffer
	_, wait := serveTarget(t, tg, b.Handlers(), Options{Alerts: NewAlerts(&events, AlertLimit{Off: true})})
	res := tg.wait(t)
	st := wait()
	if res.Ops[0].Errno != int(unix.ENOSYS) {
		t.Errorf("mkdirat: errno %d, want ENOSYS", res.Ops[0].Errno)
	}
	if res.Ops[1].Content != "A" {
		t.Errorf("the open after it: %+v", res.Ops[1])
	}
	if st.Unhandled != 1 {
		t.Errorf("stats %+v: want one unhandled", st)
	}
	if !strings.Contains(events.String(), `"syscall":"mkdirat"`) || !strings.Contains(events.String(), `"action":"errno(ENOSYS)"`) {
		t.Errorf("no alert for the unhandled mkdirat:\n%s", events.String())
	}
}

// KillOnViolation ends the target at its first refused open.
func TestKillOnViolation(t *testing.T) {
	root := tree(t)
	tg := startTarget(t, targetSpec{Notify: BrokerSyscalls, Scenario: "ops", Ops: []op{
		{Call: "openat", Path: root + "/ro/a.txt", Read: true},
		{Call: "openat", Path: root + "/secret/s.txt", Read: true},
		{Call: "openat", Path: root + "/ro/a.txt", Read: true},
	}})
	b, err := NewBroker(treeRules(root))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	var events bytes.Buffer
	_, wait := serveTarget(t, tg, b.Handlers(), Options{KillOnViolation: true, Alerts: NewAlerts(&events, AlertLimit{})})
	err = tg.cmd.Wait()
	st := wait()
	ws, ok := tg.cmd.ProcessState.Sys().(syscall.WaitStatus)
	if !ok || !ws.Signaled() || ws.Signal() != unix.SIGKILL {
		t.Fatalf("target ended with %v (%v), want SIGKILL; stdout %s", tg.cmd.ProcessState, err, tg.out.String())
	}
	if st.Kills != 1 || st.Violations != 1 {
		t.Errorf("stats %+v", st)
	}
	if !strings.Contains(events.String(), "secret/s.txt") {
		t.Errorf("no alert for the violation:\n%s", events.String())
	}
}

func nativeNr(name string) (int, bool) {
	a := abiOf(nativeAuditArch(), 0)
	if a == nil {
		return 0, false
	}
	return a.Lookup(name)
}

func nativeAuditArch() uint32 {
	v, _ := seccomp.NativeArch()
	return v
}

// Cancelling Serve closes the listener: the target's next notified
// syscall fails with ENOSYS instead of waiting.
func TestServeCancelled(t *testing.T) {
	root := tree(t)
	a := op{Call: "openat", Path: root + "/ro/a.txt", Read: true}
	tg := startTarget(t, targetSpec{Notify: BrokerSyscalls, Scenario: "ops", Ops: []op{a, a, a}})
	b, err := NewBroker(treeRules(root))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	ctx, cancel := context.WithCancel(context.Background())
	h := b.Handlers()
	open := h["openat"]
	calls := 0
	h["openat"] = func(ctx2 context.Context, r *Request) Response {
		calls++
		if calls == 2 {
			cancel() // this answer still goes out; the next request finds nobody
		}
		return open(ctx2, r)
	}
	err = Serve(ctx, tg.listener, h, Options{Workers: 1})
	if err != context.Canceled {
		t.Errorf("Serve returned %v, want context.Canceled", err)
	}
	res := tg.wait(t)
	if res.Ops[0].Content != "A" || res.Ops[1].Content != "A" || res.Ops[2].Errno != int(unix.ENOSYS) {
		t.Errorf("results %+v", res.Ops)
	}
}

// Signals to the supervisor's threads while they answer with a
// descriptor must not cost the target its answer. An ADDFD with SEND
// interrupted before the target took the descriptor leaves the
// notification answered with 0 (kernel/seccomp.c: seccomp_notify_addfd
// marks it replied before it waits), so the supervisor blocks signals
// around it.
func TestSignalsToSupervisor(t *testing.T) {
	dir := t.TempDir()
	files := distinctFiles(t, dir, 4)
	tg := startTarget(t, targetSpec{Notify: BrokerSyscalls, Scenario: "threads", Threads: 4, Iter: 500, Files: files})
	b, err := NewBroker(FileRules{Rules: []FileRule{{Root: dir, Read: true}}})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		pid := os.Getpid()
		for {
			select {
			case <-stop:
				return
			default:
			}
			ents, _ := os.ReadDir("/proc/self/task")
			for _, e := range ents {
				var tid int
				fmt.Sscan(e.Name(), &tid)
				unix.Tgkill(pid, tid, unix.SIGURG)
			}
		}
	}()
	_, wait := serveTarget(t, tg, b.Handlers(), Options{})
	res := tg.wait(t)
	close(stop)
	wg.Wait()
	wait()
	if len(res.Bad) > 0 || res.Done != 2000 {
		t.Fatalf("%d opens done, %d bad, first: %v", res.Done, len(res.Bad), res.Bad[:min(len(res.Bad), 3)])
	}
}
