package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/syscage/syscage/arch"
	"github.com/syscage/syscage/bpf"
	"github.com/syscage/syscage/internal/testenv"
	"github.com/syscage/syscage/seccomp"
)

// Test binaries run again as targets (a process under a notifying
// filter) and as supervisors in a process of their own. TestMain
// recognises the roles from the environment.
const (
	targetEnv     = "SYSCAGE_NOTIFY_TEST_TARGET"
	supervisorEnv = "SYSCAGE_NOTIFY_TEST_SUPERVISOR"
)

func TestMain(m *testing.M) {
	if v := os.Getenv(targetEnv); v != "" {
		os.Exit(runTarget(v))
	}
	if v := os.Getenv(supervisorEnv); v != "" {
		os.Exit(runSupervisorChild(v))
	}
	os.Exit(m.Run())
}

// targetSpec says what a target process does.
type targetSpec struct {
	// Notify are the syscalls the filter sends to the supervisor, on the
	// native architecture and, with I386, on i386 too.
	Notify []string
	// Program, when set, is the filter to install instead (native
	// sock_filter encoding).
	Program []byte
	I386    bool
	// WaitKillable installs with SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV.
	WaitKillable bool
	// Dir is the working directory to change to before the filter.
	Dir string
	// PreOpen are opened before the filter; op.Dirfd "pre:N" names them.
	PreOpen []string
	// Umask is set before the filter when SetUmask.
	Umask    int
	SetUmask bool
	// UID and GID, when not zero, are taken (with no supplementary
	// groups and no capabilities left) before the filter.
	UID, GID int
	// Scenario picks the program: "ops", "threads", "rewrite", "signals",
	// "bench", "spawn".
	Scenario string
	Ops      []op
	Threads  int
	Iter     int
	Files    []string // per thread (threads, bench)
	Allowed  string   // rewrite: the path the buffer shows half the time
	Denied   string   // rewrite: the other one
	Secret   string   // rewrite: content that must never be read
	Spawn    *targetSpec
	Out      string // file the spawned target writes its result to
	Signal   time.Duration
}

// op is one syscall of an "ops" target.
type op struct {
	Call  string // open, openat, openat2, creat, raw, exec, sleep
	Dirfd string // "" = AT_FDCWD, "pre:N" = targetSpec.PreOpen[N], "bad" = 1000
	Path  string
	Flags int
	Mode  uint32
	// Resolve for openat2; HowSize overrides the size (0 = 24).
	Resolve uint64
	HowSize int
	// BadPtr passes an unmapped address as the path; LongPath a path
	// PathMax bytes long with no NUL inside.
	BadPtr, LongPath, PageEnd bool
	Read                      bool     // read the file and report its content
	Nr                        int      // raw: syscall number
	Argv                      []string // exec: the program and its arguments
}

type opResult struct {
	Errno   int    `json:"errno"`
	Content string `json:"content,omitempty"`
	FD      int    `json:"fd"`
	Cloexec bool   `json:"cloexec,omitempty"`
	Flags   int    `json:"flags,omitempty"` // F_GETFL of the descriptor
	Mode    uint32 `json:"mode,omitempty"`  // of the file, after the open
	UID     uint32 `json:"uid,omitempty"`
}

type targetResult struct {
	Ops     []opResult `json:"ops,omitempty"`
	Done    int        `json:"done"`
	Bad     []string   `json:"bad,omitempty"`
	Escaped int        `json:"escaped"`
	Denied  int        `json:"denied"`
	Opened  int        `json:"opened"`
	NS      int64      `json:"ns"`
	Err     string     `json:"err,omitempty"`
}

// notifyFilter returns a filter that notifies the named syscalls and
// allows everything else.
func notifyFilter(names []string, i386 bool) (bpf.Program, error) {
	b := bpf.NewBuilder()
	abis := []*arch.Arch{arch.Native()}
	if i386 {
		a, err := arch.ByName("i386")
		if err != nil {
			return nil, err
		}
		abis = append(abis, a)
	}
	b.Emit(bpf.LoadAbs(bpf.OffsetArch))
	for i, a := range abis {
		next := fmt.Sprintf("arch%d", i+1)
		b.JumpIf(bpf.JmpJEQ, a.AuditArch, "", next)
		b.Emit(bpf.LoadAbs(bpf.OffsetNr))
		for _, n := range names {
			nr, ok := a.Lookup(n)
			if !ok {
				continue
			}
			b.JumpIf(bpf.JmpJEQ, uint32(nr), "notify", "")
		}
		b.Ret(bpf.RetAllow)
		b.Label(next)
	}
	b.Ret(bpf.RetAllow)
	b.Label("notify")
	b.Ret(bpf.RetUserNotif)
	return b.Program()
}

// target is a running target process.
type target struct {
	cmd      *exec.Cmd
	listener int
	out      bytes.Buffer
	errOut   bytes.Buffer
}

// needNotify skips unless the machine can run targets.
func needNotify(t testing.TB) {
	t.Helper()
	testenv.NeedRoot(t)
	if err := seccomp.ProbeFlags(seccomp.FlagNewListener | seccomp.FlagTSync | seccomp.FlagTSyncESRCH); err != nil {
		testenv.Unavailable(t, "needs seccomp NEW_LISTENER with TSYNC_ESRCH: %v", err)
	}
}

// startTarget starts a target and receives its listener.
func startTarget(t testing.TB, spec targetSpec) *target {
	t.Helper()
	needNotify(t)
	raw, err := json.Marshal(spec)
	if err != nil {
		t.Fatal(err)
	}
	sp, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	child := os.NewFile(uintptr(sp[1]), "listener socket")
	defer child.Close()
	defer unix.Close(sp[0])
	tg := &target{}
	tg.cmd = exec.Command(os.Args[0], "-test.run=^$")
	tg.cmd.Env = append(os.Environ(), targetEnv+"="+string(raw))
	tg.cmd.ExtraFiles = []*os.File{child}
	tg.cmd.Stdout, tg.cmd.Stderr = &tg.out, &tg.errOut
	tg.cmd.SysProcAttr = &unix.SysProcAttr{Pdeathsig: unix.SIGKILL}
	if err := tg.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if tg.cmd.ProcessState == nil {
			tg.cmd.Process.Kill()
			tg.cmd.Wait()
		}
	})
	child.Close()
	fd, err := recvFD(sp[0], 20*time.Second)
	if err != nil {
		tg.cmd.Process.Kill()
		tg.cmd.Wait()
		t.Fatalf("target did not send its listener: %v\nstderr: %s", err, tg.errOut.String())
	}
	tg.listener = fd
	return tg
}

// wait waits for the target and decodes its result.
func (tg *target) wait(t testing.TB) targetResult {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- tg.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("target failed: %v\nstdout: %s\nstderr: %s", err, tg.out.String(), tg.errOut.String())
		}
	case <-time.After(45 * time.Second):
		tg.cmd.Process.Kill()
		<-done
		t.Fatalf("target hung\nstderr: %s", tg.errOut.String())
	}
	var res targetResult
	if err := json.Unmarshal(tg.out.Bytes(), &res); err != nil {
		t.Fatalf("target output %q: %v\nstderr: %s", tg.out.String(), err, tg.errOut.String())
	}
	if res.Err != "" {
		t.Fatalf("target: %s", res.Err)
	}
	return res
}

func recvFD(sock int, timeout time.Duration) (int, error) {
	pfd := []unix.PollFd{{Fd: int32(sock), Events: unix.POLLIN}}
	if n, err := unix.Poll(pfd, int(timeout/time.Millisecond)); err != nil || n == 0 {
		return -1, fmt.Errorf("no message within %v (%v)", timeout, err)
	}
	buf := make([]byte, 16)
	oob := make([]byte, unix.CmsgSpace(4))
	_, oobn, _, _, err := unix.Recvmsg(sock, buf, oob, unix.MSG_CMSG_CLOEXEC)
	if err != nil {
		return -1, err
	}
	msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
	if err != nil || len(msgs) != 1 {
		return -1, fmt.Errorf("no descriptor in the message (%v)", err)
	}
	fds, err := unix.ParseUnixRights(&msgs[0])
	if err != nil || len(fds) != 1 {
		return -1, fmt.Errorf("no descriptor in the message (%v)", err)
	}
	return fds[0], nil
}

// serveTarget runs a supervisor for tg in the background and returns a
// function that waits for it and gives its stats.
func serveTarget(t testing.TB, tg *target, h Handlers, opts Options) (*Supervisor, func() Stats) {
	t.Helper()
	return serveTargetWith(t, tg, h, opts, nil)
}

// serveTargetWith is serveTarget with a function that adjusts the
// supervisor before it serves.
func serveTargetWith(t testing.TB, tg *target, h Handlers, opts Options, adjust func(*Supervisor)) (*Supervisor, func() Stats) {
	t.Helper()
	s, err := New(tg.listener, h, opts)
	if err != nil {
		t.Fatal(err)
	}
	if adjust != nil {
		adjust(s)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx) }()
	var once sync.Once
	var st Stats
	wait := func() Stats {
		once.Do(func() {
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("Serve: %v", err)
				}
			case <-time.After(30 * time.Second):
				cancel()
				t.Errorf("Serve did not end after the target exited")
				<-done
			}
			cancel()
			st = s.Stats()
		})
		return st
	}
	t.Cleanup(func() {
		cancel()
		wait()
	})
	return s, wait
}

// ---- the target side ----

func runTarget(raw string) int {
	var spec targetSpec
	res := targetResult{}
	emit := func() int {
		b, _ := json.Marshal(res)
		os.Stdout.Write(b)
		return 0
	}
	if err := json.Unmarshal([]byte(raw), &spec); err != nil {
		res.Err = err.Error()
		return emit()
	}
	if spec.Dir != "" {
		if err := os.Chdir(spec.Dir); err != nil {
			res.Err = err.Error()
			return emit()
		}
	}
	for _, p := range spec.PreOpen {
		fd, err := unix.Open(p, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			res.Err = err.Error()
			return emit()
		}
		preOpened = append(preOpened, fd)
	}
	if spec.SetUmask {
		unix.Umask(spec.Umask)
	}
	if spec.UID != 0 {
		// syscall's Set* change every thread of the Go process.
		if err := syscall.Setgroups(nil); err != nil {
			res.Err = err.Error()
			return emit()
		}
		if err := syscall.Setresgid(spec.GID, spec.GID, spec.GID); err != nil {
			res.Err = err.Error()
			return emit()
		}
		if err := syscall.Setresuid(spec.UID, spec.UID, spec.UID); err != nil {
			res.Err = err.Error()
			return emit()
		}
	}
	if err := installAndSend(spec); err != nil {
		res.Err = err.Error()
		return emit()
	}
	runScenario(spec, &res)
	if spec.Out != "" {
		b, _ := json.Marshal(res)
		os.WriteFile(spec.Out, b, 0o600)
	}
	return emit()
}

// installAndSend filters every thread and sends the listener on fd 3,
// keeping no copy: when the supervisor goes, nothing holds the listener
// open and the kernel answers ENOSYS.
func installAndSend(spec targetSpec) error {
	if os.Getenv("SYSCAGE_NOTIFY_TEST_INHERITED") != "" {
		return nil // a spawned target runs under its parent's filter
	}
	prog, err := notifyFilter(spec.Notify, spec.I386)
	if spec.Program != nil {
		prog, err = bpf.Decode(spec.Program, bpf.NativeEndian)
	}
	if err != nil {
		return err
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if err := seccomp.SetNoNewPrivs(); err != nil {
		return err
	}
	flags := seccomp.FlagTSync | seccomp.FlagTSyncESRCH | seccomp.FlagNewListener
	if spec.WaitKillable {
		flags |= seccomp.FlagWaitKillableRecv
	}
	l, err := seccomp.Install(prog, flags)
	if err != nil {
		return err
	}
	if err := unix.Sendmsg(3, []byte("L"), unix.UnixRights(l), nil, 0); err != nil {
		return err
	}
	unix.Close(l)
	unix.Close(3)
	return nil
}

// preOpened are the descriptors of targetSpec.PreOpen.
var preOpened []int

func runScenario(spec targetSpec, res *targetResult) {
	switch spec.Scenario {
	case "ops":
		for _, o := range spec.Ops {
			res.Ops = append(res.Ops, doOp(o))
		}
	case "threads", "bench":
		runThreads(spec, res)
	case "rewrite":
		runRewrite(spec, res)
	case "symrace":
		runSymlinkRace(spec, res)
	case "signals":
		runSignals(spec, res)
	case "spawn":
		runSpawn(spec, res)
	default:
		res.Err = "unknown scenario " + spec.Scenario
	}
}

// doOp makes one syscall with raw system calls, so that the filter sees
// exactly the syscall asked for.
func doOp(o op) opResult {
	dirfd := uintptr(^uint(99)) // AT_FDCWD (-100) in a register
	switch {
	case o.Dirfd == "bad":
		dirfd = 1000
	case strings.HasPrefix(o.Dirfd, "pre:"):
		var i int
		fmt.Sscan(strings.TrimPrefix(o.Dirfd, "pre:"), &i)
		dirfd = uintptr(preOpened[i])
	}
	var pathBuf []byte
	var pathPtr uintptr
	switch {
	case o.BadPtr:
		pathPtr = 8 // page zero is never mapped
	case o.LongPath:
		pathBuf = bytes.Repeat([]byte("a"), PathMax+10)
		pathPtr = uintptr(unsafe.Pointer(&pathBuf[0]))
	case o.PageEnd:
		// The path ends exactly at the end of a page followed by an
		// unmapped page: reading one byte too far would fault.
		m, err := unix.Mmap(-1, 0, 2*pageSize, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
		if err != nil {
			return opResult{Errno: int(err.(unix.Errno)), FD: -1}
		}
		unix.Munmap(m[pageSize:])
		s := append([]byte(o.Path), 0)
		copy(m[pageSize-len(s):], s)
		pathPtr = uintptr(unsafe.Pointer(&m[pageSize-len(s)]))
		pathBuf = m[:pageSize]
	default:
		pathBuf = append([]byte(o.Path), 0)
		pathPtr = uintptr(unsafe.Pointer(&pathBuf[0]))
	}
	var r uintptr
	var e unix.Errno
	switch o.Call {
	case "open":
		r, _, e = unix.Syscall(unix.SYS_OPEN, pathPtr, uintptr(o.Flags), uintptr(o.Mode))
	case "creat":
		r, _, e = unix.Syscall(unix.SYS_CREAT, pathPtr, uintptr(o.Mode), 0)
	case "openat":
		r, _, e = unix.Syscall6(unix.SYS_OPENAT, dirfd, pathPtr, uintptr(o.Flags), uintptr(o.Mode), 0, 0)
	case "openat2":
		how := make([]byte, max(o.HowSize, 24)+8)
		*(*openHow)(unsafe.Pointer(&how[0])) = openHow{Flags: uint64(o.Flags), Mode: uint64(o.Mode), Resolve: o.Resolve}
		size := 24
		if o.HowSize != 0 {
			size = o.HowSize
		}
		if o.HowSize > 24 {
			how[24] = 1 // a non-zero byte the kernel does not know
		}
		r, _, e = unix.Syscall6(unix.SYS_OPENAT2, dirfd, pathPtr, uintptr(unsafe.Pointer(&how[0])), uintptr(size), 0, 0)
	case "exec":
		// A program run under the same filter (it inherits it).
		cmd := exec.Command(o.Argv[0], o.Argv[1:]...)
		cmd.Stdin, cmd.Stderr = os.Stdin, os.Stderr // no /dev/null to open
		out, err := cmd.Output()
		if err != nil {
			return opResult{Errno: -1, Content: err.Error(), FD: -1}
		}
		return opResult{Content: string(out), FD: -1}
	case "raw":
		r, _, e = unix.Syscall6(uintptr(o.Nr), pathPtr, uintptr(o.Flags), 0, 0, 0, 0)
	case "sleep":
		// Nothing notified for Flags milliseconds.
		time.Sleep(time.Duration(o.Flags) * time.Millisecond)
		return opResult{FD: -1}
	default:
		return opResult{Errno: int(unix.EINVAL), FD: -1}
	}
	runtime.KeepAlive(pathBuf)
	if e != 0 {
		return opResult{Errno: int(e), FD: -1}
	}
	fd := int(r)
	out := opResult{FD: fd}
	if fl, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0); err == nil {
		out.Cloexec = fl&unix.FD_CLOEXEC != 0
	}
	if fl, err := unix.FcntlInt(uintptr(fd), unix.F_GETFL, 0); err == nil {
		out.Flags = fl
	}
	var st unix.Stat_t
	if unix.Fstat(fd, &st) == nil {
		out.Mode, out.UID = st.Mode, st.Uid
	}
	if o.Read {
		buf := make([]byte, 4096)
		n, err := unix.Read(fd, buf)
		if err != nil {
			out.Errno = int(err.(unix.Errno))
		} else {
			out.Content = string(buf[:n])
		}
	}
	unix.Close(fd)
	return out
}

// runThreads runs Threads OS threads that each open, read and close
// their own file Iter times, checking the content: a lost answer hangs,
// a duplicated or misrouted one shows as a wrong content or descriptor.
func runThreads(spec targetSpec, res *targetResult) {
	var wg sync.WaitGroup
	var mu sync.Mutex
	var done atomic.Int64
	start := time.Now()
	for i := range spec.Threads {
		file := spec.Files[i%len(spec.Files)]
		wg.Add(1)
		go func() {
			defer wg.Done()
			runtime.LockOSThread()
			path := append([]byte(file), 0)
			want := []byte(file)
			buf := make([]byte, 256)
			for range spec.Iter {
				r, _, e := unix.Syscall6(unix.SYS_OPENAT, uintptr(^uint(99)), uintptr(unsafe.Pointer(&path[0])), unix.O_RDONLY|unix.O_CLOEXEC, 0, 0, 0)
				if e != 0 {
					mu.Lock()
					res.Bad = append(res.Bad, fmt.Sprintf("thread %d: open %s: %v", i, file, e))
					mu.Unlock()
					return
				}
				if spec.Scenario == "threads" {
					n, err := unix.Pread(int(r), buf, 0)
					if err != nil || !bytes.Equal(buf[:n], want) {
						link, _ := os.Readlink(fmt.Sprintf("/proc/self/fd/%d", r))
						mu.Lock()
						res.Bad = append(res.Bad, fmt.Sprintf("thread %d: fd %d for %s holds %q (%v), is %s", i, r, file, buf[:max(n, 0)], err, link))
						mu.Unlock()
					}
				}
				unix.Close(int(r))
				done.Add(1)
			}
		}()
	}
	wg.Wait()
	res.NS = time.Since(start).Nanoseconds()
	res.Done = int(done.Load())
}

// runRewrite opens a path while another thread flips the buffer between
// an allowed and a denied path as fast as it can.
func runRewrite(spec targetSpec, res *targetResult) {
	n := max(len(spec.Allowed), len(spec.Denied)) + 1
	a := make([]byte, n)
	d := make([]byte, n)
	copy(a, spec.Allowed)
	copy(d, spec.Denied)
	buf := make([]byte, n)
	copy(buf, a)
	var stop atomic.Bool
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		runtime.LockOSThread()
		for !stop.Load() {
			copy(buf, d)
			copy(buf, a)
		}
	}()
	content := make([]byte, 256)
	for range spec.Iter {
		r, _, e := unix.Syscall6(unix.SYS_OPENAT, uintptr(^uint(99)), uintptr(unsafe.Pointer(&buf[0])), unix.O_RDONLY|unix.O_CLOEXEC, 0, 0, 0)
		if e != 0 {
			res.Denied++
			continue
		}
		res.Opened++
		k, _ := unix.Read(int(r), content)
		if k > 0 && strings.Contains(string(content[:k]), spec.Secret) {
			res.Escaped++
		}
		unix.Close(int(r))
	}
	stop.Store(true)
	wg.Wait()
	runtime.KeepAlive(buf)
}

// runSymlinkRace opens spec.Allowed, a symbolic link that another thread
// keeps replacing (with rename, atomically) by links to spec.Allowed's
// intended target and to spec.Denied.
func runSymlinkRace(spec targetSpec, res *targetResult) {
	link := spec.Allowed
	var stop atomic.Bool
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		runtime.LockOSThread()
		tmp := link + ".tmp"
		for i := 0; !stop.Load(); i++ {
			to := spec.Files[0]
			if i%2 == 1 {
				to = spec.Denied
			}
			os.Remove(tmp)
			if err := os.Symlink(to, tmp); err == nil {
				os.Rename(tmp, link)
			}
		}
	}()
	path := append([]byte(link), 0)
	content := make([]byte, 256)
	for range spec.Iter {
		r, _, e := unix.Syscall6(unix.SYS_OPENAT, uintptr(^uint(99)), uintptr(unsafe.Pointer(&path[0])), unix.O_RDONLY|unix.O_CLOEXEC, 0, 0, 0)
		if e != 0 {
			res.Denied++
			continue
		}
		res.Opened++
		k, _ := unix.Read(int(r), content)
		if k > 0 && strings.Contains(string(content[:k]), spec.Secret) {
			res.Escaped++
		}
		unix.Close(int(r))
	}
	stop.Store(true)
	wg.Wait()
}

// runSignals opens files while another thread sends the preemption
// signal the Go runtime uses (SIGURG) to every thread, every
// spec.Signal: each signal interrupts a notification the supervisor has
// not yet received, and without WAIT_KILLABLE_RECV also one it has.
func runSignals(spec targetSpec, res *targetResult) {
	var stop atomic.Bool
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		pid := os.Getpid()
		for !stop.Load() {
			ents, _ := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
			for _, e := range ents {
				var tid int
				fmt.Sscan(e.Name(), &tid)
				unix.Tgkill(pid, tid, unix.SIGURG)
			}
			time.Sleep(spec.Signal)
		}
	}()
	// Keep the scheduler busy too, as a real Go program would.
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			x := 0
			for !stop.Load() {
				x++
			}
			_ = x
		}()
	}
	runThreads(targetSpec{Scenario: "threads", Threads: spec.Threads, Iter: spec.Iter, Files: spec.Files}, res)
	stop.Store(true)
	wg.Wait()
}

// runSpawn starts a second target under the same filter (it inherits
// it) and then makes spec.Ops itself.
func runSpawn(spec targetSpec, res *targetResult) {
	raw, _ := json.Marshal(spec.Spawn)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), targetEnv+"="+string(raw), "SYSCAGE_NOTIFY_TEST_INHERITED=1")
	// Inherit descriptors rather than have os/exec open /dev/null, an
	// open the broker would have to allow.
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		res.Err = err.Error()
		return
	}
	go cmd.Wait()
	for _, o := range spec.Ops {
		res.Ops = append(res.Ops, doOp(o))
	}
}

// ---- a supervisor in a process of its own ----

type supervisorSpec struct {
	Block string // a path whose open blocks forever
	Rules FileRules
}

func runSupervisorChild(raw string) int {
	var spec supervisorSpec
	if err := json.Unmarshal([]byte(raw), &spec); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	b, err := NewBroker(spec.Rules)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	h := b.Handlers()
	open := h["openat"]
	h["openat"] = func(ctx context.Context, r *Request) Response {
		p, err := r.ReadString(r.Arg(1), PathMax)
		if err == nil && p == spec.Block {
			os.Stdout.Write([]byte("blocked\n"))
			select {}
		}
		return open(ctx, r)
	}
	if err := Serve(context.Background(), 3, h, Options{}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// buildC compiles a C program of testdata with gcc into the test's
// temporary directory, or skips the test when gcc is missing.
func buildC(t testing.TB, src string, extra ...string) string {
	t.Helper()
	gcc := testenv.NeedCommand(t, "gcc")
	out := t.TempDir() + "/" + strings.TrimSuffix(src, ".c")
	args := append([]string{"-O2", "-Wall", "-o", out, "testdata/" + src}, extra...)
	if msg, err := exec.Command(gcc, args...).CombinedOutput(); err != nil {
		t.Fatalf("gcc %s: %v\n%s", src, err, msg)
	}
	return out
}
