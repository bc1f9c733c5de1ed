package record

import (
	"bufio"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/syscage/syscage/arch"
	"github.com/syscage/syscage/bpf"
	"github.com/syscage/syscage/internal/execerr"
	"github.com/syscage/syscage/policy"
	"github.com/syscage/syscage/sandbox/presignal"
)

// Backend is the mechanism that counts syscalls.
type Backend int

// The backends; see the package documentation.
const (
	BackendAuto Backend = iota
	BackendPtrace
	BackendEBPF
)

func (b Backend) String() string {
	switch b {
	case BackendPtrace:
		return "ptrace"
	case BackendEBPF:
		return "ebpf"
	}
	return "auto"
}

// ParseBackend reads "auto", "ptrace" or "ebpf".
func ParseBackend(s string) (Backend, error) {
	switch s {
	case "auto", "":
		return BackendAuto, nil
	case "ptrace":
		return BackendPtrace, nil
	case "ebpf":
		return BackendEBPF, nil
	}
	return 0, fmt.Errorf("unknown backend %q: want auto, ptrace or ebpf", s)
}

// Options say what to record and how.
type Options struct {
	// Path is the program; a name without '/' is looked up in the PATH
	// of Env (or of the caller's environment).
	Path string
	// Args are the arguments, Args[0] included; empty means [Path].
	Args []string
	// Env is the program's environment; nil means the caller's.
	Env []string
	// Dir is the working directory; "" keeps the caller's.
	Dir string
	// Stdin, Stdout and Stderr default to the caller's.
	Stdin, Stdout, Stderr *os.File

	// Backend chooses the mechanism; BackendAuto prefers eBPF.
	Backend Backend
	// Policy, when set, makes the recorder also capture every argument
	// that the policy's rules compare, so that Extend can tell whether the
	// policy allows each call (for `record --from`).
	Policy *policy.Policy

	// Progress, when set, is called from another goroutine about four
	// times a second while the program runs, and once at the end.
	Progress func(Progress)
	// ForwardSignals relays the signals syscage run forwards
	// (presignal.Forwarded; SIGINT, SIGQUIT and SIGWINCH only when the
	// terminal did not already deliver them) to the program.
	ForwardSignals bool
	// Grace is how long the program may go on after ctx is done before
	// every traced process is killed (default 2s).
	Grace time.Duration
	// InitPath is the executable that runs the init stage: a binary that
	// calls Init at start. "" means /proc/self/exe.
	InitPath string
}

// Progress is the state of a recording in progress.
type Progress struct {
	Elapsed   time.Duration
	Calls     uint64
	Distinct  int
	Processes int
	// New are the syscalls first seen since the last call, "name" on the
	// native arch and "arch:name" on others.
	New []string
	// Done is set on the last call.
	Done bool
}

// Record runs the program and records its syscalls until its last
// descendant exits. The error is a *StartError when the program could
// not be started (nothing ran). When ctx is done, the program gets
// Options.Grace to finish before it is killed, and the recording is
// marked interrupted. A program that fails or dies is not an error: its
// status is in Recording.Exit.
//
// Record reaps every child of the calling process while it runs (it
// waits for any process, as a tracer must): do not run other child
// processes at the same time.
func Record(ctx context.Context, opts Options) (*Recording, error) {
	native := arch.Native()
	if native == nil {
		return nil, &StartError{Code: ExitInternal, Msg: "syscage does not know this machine's architecture"}
	}
	path, err := lookPath(opts.Path, opts.Env)
	if err != nil {
		return nil, err
	}
	t := &tracer{
		opts:   opts,
		native: native,
		col:    newCollector(),
		tasks:  map[int]*task{},
		rec:    &Recording{Command: slices.Clone(opts.Args)},
	}
	if len(t.rec.Command) == 0 {
		t.rec.Command = []string{opts.Path}
	}
	if opts.Policy != nil {
		t.col.capture = policyCapture(opts.Policy)
	}

	argv := opts.Args
	if len(argv) == 0 {
		argv = []string{opts.Path}
	}
	env := opts.Env
	if env == nil {
		env = os.Environ()
	}
	cfg := stageConfig{Path: path, Argv: argv, Env: env, Dir: opts.Dir}

	// The tracer's thread: every ptrace request must come from the
	// thread that attached.
	done := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		// Never unlocked: the thread ends with the goroutine, taking
		// any ptrace state with it.
		done <- t.run(ctx, cfg)
	}()
	if err := <-done; err != nil {
		return nil, err
	}
	return t.rec, nil
}

// setupBackend loads the eBPF counter when the backend allows and returns
// the filter the program runs under.
func (t *tracer) setupBackend() (bpf.Program, error) {
	backend := t.opts.Backend
	if backend != BackendPtrace {
		f, err := newFastCounter(func(nr int) uint8 { return t.col.mask(t.native, nr) })
		switch {
		case err == nil:
			filter, err := hybridFilter(t.native, f.n)
			if err != nil {
				f.close()
				return nil, &StartError{Code: ExitInternal, Msg: err.Error()}
			}
			t.fast = f
			t.rec.Backend = BackendEBPF.String()
			return filter, nil
		case backend == BackendEBPF:
			return nil, &StartError{Code: ExitInternal, Msg: "the eBPF backend is not available: " + err.Error() +
				" (it needs root, or CAP_BPF and CAP_PERFMON, on x86_64); --backend ptrace works for any user"}
		default:
			t.rec.Notes = append(t.rec.Notes, "recorded with ptrace alone (every syscall stops the program): the eBPF backend is not available: "+err.Error())
		}
	}
	t.rec.Backend = BackendPtrace.String()
	return traceAllFilter(), nil
}

// task is a traced thread.
type task struct {
	tid, tgid int
}

type tracer struct {
	opts   Options
	native *arch.Arch
	col    *collector
	fast   *fastCounter
	rec    *Recording

	mu        sync.Mutex // guards tasks and root against the kill timer and signal relay
	tasks     map[int]*task
	killTimer *time.Timer
	root      int // the program's process id (the init stage's)

	// started is set at the program's first execve, from which on the
	// eBPF program counts.
	started      bool
	untracked    int   // threads the eBPF program could not be told to count
	trackErr     error // why
	rootExit     *Exit
	stageFailure *stageMsg
	readErrs     int
	// execPath is the program each thread asked execve for, until the
	// kernel reports the exec done (PTRACE_EVENT_EXEC): a failed execve
	// (a PATH search trying each directory) executed nothing.
	execPath map[int]string
}

func (t *tracer) run(ctx context.Context, cfg stageConfig) error {
	initPath := t.opts.InitPath
	if initPath == "" {
		initPath = "/proc/self/exe"
	}
	var cfgPipe, statusPipe [2]int
	if err := unix.Pipe2(cfgPipe[:], unix.O_CLOEXEC); err != nil {
		return &StartError{Code: ExitInternal, Msg: "create the settings pipe: " + err.Error()}
	}
	if err := unix.Pipe2(statusPipe[:], unix.O_CLOEXEC); err != nil {
		unix.Close(cfgPipe[0])
		unix.Close(cfgPipe[1])
		return &StartError{Code: ExitInternal, Msg: "create the status pipe: " + err.Error()}
	}
	cfgR, cfgW := os.NewFile(uintptr(cfgPipe[0]), "settings"), os.NewFile(uintptr(cfgPipe[1]), "settings")
	statusR, statusW := os.NewFile(uintptr(statusPipe[0]), "status"), os.NewFile(uintptr(statusPipe[1]), "status")
	defer cfgW.Close()
	defer statusR.Close()

	files := []*os.File{orStd(t.opts.Stdin, os.Stdin), orStd(t.opts.Stdout, os.Stdout), orStd(t.opts.Stderr, os.Stderr), cfgR, statusW}
	env := []string{
		stageEnv + "=3,4",
		// The stage must make no syscall between its filter and execve:
		// no preemption signals, no garbage collection.
		"GODEBUG=asyncpreemptoff=1",
		"GOGC=off",
	}
	t.rec.Start = time.Now()
	proc, err := os.StartProcess(initPath, []string{"syscage-record-init"}, &os.ProcAttr{
		Env: env, Files: files, Sys: &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL},
	})
	cfgR.Close()
	statusW.Close()
	if err != nil {
		return &StartError{Code: ExitInternal, Msg: fmt.Sprintf("start the init stage %s: %v", initPath, err)}
	}
	// The pid before Release, which sets it to -1.
	t.root = proc.Pid
	proc.Release() // the tracer reaps it with wait4

	// Load the eBPF counter while the stage starts.
	filter, err := t.setupBackend()
	if err != nil {
		t.killStage()
		return err
	}
	if t.fast != nil {
		defer func(f *fastCounter) {
			// Detaching waits for an RCU grace period; the recording
			// need not wait for it.
			go f.close()
		}(t.fast)
	}
	cfg.Filter = filter.Encode(bpf.NativeEndian)
	b, _ := json.Marshal(cfg)
	if _, err := cfgW.Write(append(b, '\n')); err != nil {
		t.killStage()
		return &StartError{Code: ExitInternal, Msg: "send the settings to the init stage: " + err.Error()}
	}
	status := bufio.NewReader(statusR)
	first, err := readStageMsg(status)
	if err != nil {
		t.killStage()
		return &StartError{Code: ExitInternal, Msg: "the init stage did not report: " + err.Error()}
	}
	if first.Tid == 0 {
		t.killStage()
		return &StartError{Code: first.Code, Msg: first.Msg, Errno: unix.Errno(first.Errno)}
	}
	if err := seize(first.Tid); err != nil {
		t.killStage()
		msg := fmt.Sprintf("attach to the program with ptrace: %v", err)
		if errors.Is(err, unix.EPERM) {
			msg += " (ptrace is restricted here: see /proc/sys/kernel/yama/ptrace_scope, or run with CAP_SYS_PTRACE)"
		}
		return &StartError{Code: ExitInternal, Msg: msg}
	}
	t.addTask(first.Tid, t.root)
	if first.Tid != t.root {
		t.rec.Processes++ // the stage's thread stands for its process
	}
	if _, err := cfgW.Write([]byte{'g'}); err != nil {
		t.killStage()
		return &StartError{Code: ExitInternal, Msg: "start the init stage: " + err.Error()}
	}

	// A failure after the go-ahead (execve refused) comes on the status
	// pipe; success closes it (close-on-exec).
	stageDone := make(chan struct{})
	go func() {
		defer close(stageDone)
		if m, err := readStageMsg(status); err == nil && m.Code != 0 {
			t.stageFailure = &m
		}
	}()

	stopRelay := t.relaySignals()
	defer stopRelay()
	stopProgress := t.progress()
	interrupted := context.AfterFunc(ctx, t.interrupt)
	defer interrupted()
	defer t.stopKillTimer()

	t.loop()
	t.rec.End = time.Now()
	<-stageDone
	stopProgress()

	if f := t.stageFailure; f != nil {
		return &StartError{Code: f.Code, Msg: f.Msg, Errno: unix.Errno(f.Errno), Why: execerr.Why(cfg.Path, unix.Errno(f.Errno))}
	}
	if t.fast != nil {
		notes, err := t.fast.drain(t.col)
		if err != nil {
			t.rec.Notes = append(t.rec.Notes, "reading the eBPF counts failed, the native counts are missing: "+err.Error())
		}
		t.rec.Notes = append(t.rec.Notes, notes...)
	}
	if t.untracked > 0 {
		t.rec.Notes = append(t.rec.Notes, fmt.Sprintf("the native syscalls of %d threads were not counted: the eBPF thread map refused them (%v)", t.untracked, t.trackErr))
	}
	if t.readErrs > 0 {
		t.rec.Notes = append(t.rec.Notes, fmt.Sprintf("%d syscalls could not be read at their stop (the thread was killed meanwhile)", t.readErrs))
	}
	t.rec.Syscalls = t.col.syscalls()
	if t.rootExit != nil {
		t.rec.Exit = *t.rootExit
	}
	if ctx.Err() != nil {
		t.rec.Interrupted = true
	}
	if t.opts.Progress != nil {
		total, keys := t.col.snapshot()
		t.opts.Progress(Progress{Elapsed: t.rec.End.Sub(t.rec.Start), Calls: total, Distinct: len(keys), Processes: t.rec.Processes, Done: true})
	}
	return nil
}

func readStageMsg(r *bufio.Reader) (stageMsg, error) {
	var m stageMsg
	line, err := r.ReadBytes('\n')
	if err != nil {
		return m, err
	}
	return m, json.Unmarshal(line, &m)
}

// sendSignal sends sig to one process. It refuses 0 and negative ids, which
// kill(2) reads as process groups or every process.
func sendSignal(pid int, sig unix.Signal) {
	if pid > 0 {
		unix.Kill(pid, sig)
	}
}

func (t *tracer) killStage() {
	sendSignal(t.root, unix.SIGKILL)
	var ws unix.WaitStatus
	unix.Wait4(t.root, &ws, 0, nil)
}

// loop follows the tracees until none is left.
func (t *tracer) loop() {
	for {
		var ws unix.WaitStatus
		tid, err := unix.Wait4(-1, &ws, unix.WALL, nil)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return // ECHILD: no child and no tracee left
		}
		switch {
		case ws.Exited() || ws.Signaled():
			t.exited(tid, ws)
		case ws.Stopped():
			t.stopped(tid, ws)
		}
	}
}

func (t *tracer) exited(tid int, ws unix.WaitStatus) {
	t.mu.Lock()
	tk := t.tasks[tid]
	delete(t.tasks, tid)
	t.mu.Unlock()
	if t.fast != nil && tk != nil {
		t.fast.untrack(tid)
	}
	if tid != t.root {
		return
	}
	e := &Exit{}
	if ws.Exited() {
		e.Code = ws.ExitStatus()
	} else {
		e.Signal = ws.Signal()
		e.Code = 128 + int(e.Signal)
		e.CoreDumped = ws.CoreDump()
	}
	t.rootExit = e
}

func (t *tracer) stopped(tid int, ws unix.WaitStatus) {
	sig := ws.StopSignal()
	event := int(ws>>16) & 0xff
	if _, known := t.taskOf(tid); !known {
		// A new tracee's first stop may come before its parent's event.
		t.addTask(tid, 0)
	}
	switch event {
	case ptraceEventSeccomp:
		t.seccompStop(tid)
		resume(tid, 0)
	case ptraceEventFork, ptraceEventVfork, ptraceEventClone:
		if child, err := eventMsg(tid); err == nil {
			if _, known := t.taskOf(int(child)); !known {
				t.addTask(int(child), 0)
			}
		}
		resume(tid, 0)
	case ptraceEventExec:
		old, err := eventMsg(tid)
		if err != nil {
			old = uint(tid)
		}
		t.execDone(tid, int(old))
		if err == nil && int(old) != tid {
			// A thread other than the leader executed: it now has the
			// leader's id, and its old id is gone without an exit.
			t.mu.Lock()
			delete(t.tasks, int(old))
			t.tasks[tid] = &task{tid: tid, tgid: tid}
			t.mu.Unlock()
			if t.fast != nil {
				t.fast.untrack(int(old))
				t.track(tid)
			}
		}
		resume(tid, 0)
	case ptraceEventStop:
		switch sig {
		case unix.SIGSTOP, unix.SIGTSTP, unix.SIGTTIN, unix.SIGTTOU:
			// Group-stop: stay stopped, as job control wants, but
			// hear about SIGCONT.
			listen(tid)
		default:
			// The initial stop of a new tracee, or PTRACE_INTERRUPT.
			resume(tid, 0)
		}
	case 0:
		// A signal on its way to the tracee: deliver it.
		resume(tid, int(sig))
	default:
		resume(tid, 0)
	}
}

// execDone notes the program a thread executed: the path its execve
// asked for (the thread had id old then; a thread other than the leader
// takes the leader's id tid in an exec), or the kernel's link to the new
// executable when that path was not read.
func (t *tracer) execDone(tid, old int) {
	prog, ok := t.execPath[old]
	delete(t.execPath, old)
	delete(t.execPath, tid)
	if !ok {
		prog, _ = os.Readlink("/proc/" + strconv.Itoa(tid) + "/exe")
	}
	if prog != "" && !slices.Contains(t.rec.Execs, prog) {
		t.rec.Execs = append(t.rec.Execs, prog)
	}
}

func (t *tracer) taskOf(tid int) (*task, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	tk, ok := t.tasks[tid]
	return tk, ok
}

// addTask registers a new tracee before it runs (auto-attached tracees
// start stopped), and makes the eBPF program count it.
func (t *tracer) addTask(tid, tgid int) {
	if tgid == 0 {
		tgid = tgidOf(tid)
	}
	t.mu.Lock()
	t.tasks[tid] = &task{tid: tid, tgid: tgid}
	t.rec.Threads++
	if tid == tgid {
		t.rec.Processes++
	}
	t.mu.Unlock()
	if t.fast != nil && t.started {
		// The first thread is counted from its execve on (seccompStop),
		// not during the init stage.
		t.track(tid)
	}
}

// track makes the eBPF program count a thread; a thread it cannot count
// is noted, never silently left out.
func (t *tracer) track(tid int) {
	if err := t.fast.track(tid); err != nil {
		t.mu.Lock()
		t.untracked++
		t.trackErr = err
		t.mu.Unlock()
	}
}

// seccompStop records a syscall the filter sent to the tracer.
func (t *tracer) seccompStop(tid int) {
	si, err := getSyscallInfo(tid)
	if err != nil || si.Op != syscallInfoSeccomp {
		t.readErrs++
		return
	}
	a := abiOf(si.AuditArch, si.Nr)
	if a == nil {
		t.rec.Notes = appendOnce(t.rec.Notes, fmt.Sprintf("syscalls on an unknown architecture (AUDIT_ARCH %#x) were not recorded", si.AuditArch))
		return
	}
	nr := int(uint32(si.Nr))
	name, _ := a.SyscallName(nr)
	if !t.started {
		if name != "execve" && name != "execveat" {
			// The init stage's own thread between its filter and
			// execve (a signal handler of the Go runtime): not the
			// program's.
			return
		}
		// The init stage's execve of the program: the first syscall
		// of the program. Count from here on.
		t.started = true
		if t.fast != nil {
			t.track(tid)
		}
	}
	if t.fast != nil {
		t.fast.sawInTracer(tid, uint64(uint32(si.Nr)))
	}
	switch name {
	case "clone3":
		t.recordClone3(tid, a, nr, si)
		return
	case "execve", "execveat":
		p := si.Args[0]
		if name == "execveat" {
			p = si.Args[1]
		}
		if prog := readString(tid, p, 4096); prog != "" {
			if t.execPath == nil {
				t.execPath = map[int]string{}
			}
			t.execPath[tid] = prog
		}
	}
	t.col.add(a, nr, si.Args, 1)
}

// recordClone3 counts a clone3 with the flags read from its struct
// clone_args (include/uapi/linux/sched.h: flags at 0, exit_signal at 32),
// the way clone would take them: flags | exit_signal.
func (t *tracer) recordClone3(tid int, a *arch.Arch, nr int, si syscallInfo) {
	var buf [40]byte
	if si.Args[1] < 40 || readMemory(tid, si.Args[0], buf[:]) != nil {
		t.col.addMasked(a, nr, 0, [6]uint64{}, 1, false)
		return
	}
	le := binary.NativeEndian
	flags := le.Uint64(buf[0:]) | le.Uint64(buf[32:])&csignal
	t.col.addMasked(a, nr, 1, [6]uint64{flags}, 1, true)
}

// abiOf finds the ABI of a syscall from its AUDIT_ARCH and number.
func abiOf(auditArch uint32, nr uint64) *arch.Arch {
	cands := arch.ByAuditArch(auditArch)
	for _, a := range cands {
		if a.NrBase != 0 && uint32(nr) >= a.NrBase && uint32(nr)&0x40000000 != 0 {
			return a
		}
	}
	for _, a := range cands {
		if a.NrBase == 0 || len(cands) == 1 {
			if len(cands) > 1 && uint32(nr)&0x40000000 != 0 {
				continue
			}
			return a
		}
	}
	return nil
}

// tgidOf reads the thread group of a thread from /proc.
func tgidOf(tid int) int {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(tid) + "/status")
	if err != nil {
		return tid
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "Tgid:"); ok {
			if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil {
				return n
			}
		}
	}
	return tid
}

// interrupt runs when ctx is done: the program gets the grace period,
// then every traced process is killed.
func (t *tracer) interrupt() {
	grace := t.opts.Grace
	if grace <= 0 {
		grace = 2 * time.Second
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.killTimer = time.AfterFunc(grace, func() {
		t.mu.Lock()
		defer t.mu.Unlock()
		for _, tk := range t.tasks {
			sendSignal(tk.tgid, unix.SIGKILL)
		}
	})
}

// stopKillTimer cancels the kill of an interrupted recording once the
// program is gone.
func (t *tracer) stopKillTimer() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.killTimer != nil {
		t.killTimer.Stop()
	}
}

// relaySignals starts relaying the signals syscage forwards
// (presignal.Forwarded) to the program, as syscage run does, and returns
// the function that stops it.
func (t *tracer) relaySignals() func() {
	if !t.opts.ForwardSignals {
		return func() {}
	}
	r := presignal.NewRelay()
	r.SetPid(t.root)
	<-r.Ready()
	return r.Stop
}

// progress calls Options.Progress until the returned function is called.
func (t *tracer) progress() func() {
	if t.opts.Progress == nil {
		return func() {}
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(250 * time.Millisecond)
		defer tick.Stop()
		seen := map[callKey]bool{}
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			total, keys := t.col.snapshot()
			if t.fast != nil {
				if counts, err := t.fast.snapshot(); err == nil {
					for nr, n := range counts {
						total += n
						keys = append(keys, callKey{t.native.Name, nr})
					}
				}
			}
			p := Progress{Elapsed: time.Since(t.rec.Start), Calls: total}
			for _, k := range keys {
				if seen[k] {
					continue
				}
				seen[k] = true
				p.New = append(p.New, keyName(k, t.native))
			}
			slices.Sort(p.New)
			p.Distinct = len(seen)
			t.mu.Lock()
			p.Processes = t.rec.Processes
			t.mu.Unlock()
			t.opts.Progress(p)
		}
	}()
	return func() {
		close(stop)
		wg.Wait()
	}
}

func keyName(k callKey, native *arch.Arch) string {
	name := strconv.Itoa(k.nr)
	if a, err := arch.ByName(k.arch); err == nil {
		if n, ok := a.SyscallName(k.nr); ok {
			name = n
		}
	}
	if k.arch != native.Name {
		return k.arch + ":" + name
	}
	return name
}

func appendOnce(list []string, s string) []string {
	if slices.Contains(list, s) {
		return list
	}
	return append(list, s)
}

func orStd(f, std *os.File) *os.File {
	if f != nil {
		return f
	}
	return std
}

// lookPath finds the program as execve will: names with a '/' as they
// are, others in the PATH of env (or of this process).
func lookPath(file string, env []string) (string, error) {
	if file == "" {
		return "", &StartError{Code: ExitInternal, Msg: "no program to record"}
	}
	if strings.Contains(file, "/") {
		return file, nil
	}
	pathEnv, found := os.Getenv("PATH"), false
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "PATH="); ok {
			pathEnv, found = v, true
		}
	}
	if env != nil && !found {
		pathEnv = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
	}
	for _, dir := range filepath.SplitList(pathEnv) {
		if dir == "" {
			dir = "."
		}
		p := filepath.Join(dir, file)
		if st, err := os.Stat(p); err == nil && !st.IsDir() && unix.Access(p, unix.X_OK) == nil {
			return p, nil
		}
	}
	return "", &StartError{Code: ExitNotFound, Msg: fmt.Sprintf("%s: not found in PATH (%s)", file, pathEnv)}
}

// policyCapture returns, per arch and syscall number, the argument slots
// that p's rules compare.
func policyCapture(p *policy.Policy) map[callKey]uint8 {
	out := map[callKey]uint8{}
	arches := p.Arches
	if len(arches) == 0 {
		if n := arch.Native(); n != nil {
			arches = []string{n.Name}
		}
	}
	for _, an := range arches {
		a, err := arch.ByName(an)
		if err != nil {
			continue
		}
		for _, r := range p.Rules {
			if r.When == nil {
				continue
			}
			for _, nr := range ruleNumbers(r, a) {
				name, _ := a.SyscallName(nr)
				policy.WalkCmps(r.When, func(c *policy.Cmp) {
					if i, err := policy.ArgIndex(a, name, c); err == nil && i >= 0 && i < 6 {
						out[callKey{a.Name, nr}] |= 1 << i
					}
				})
			}
		}
	}
	return out
}

// ruleNumbers returns the syscall numbers a rule names on a.
func ruleNumbers(r *policy.Rule, a *arch.Arch) []int {
	var out []int
	for _, tg := range r.Syscalls {
		if tg.Arch != "" && tg.Arch != a.Name {
			continue
		}
		switch {
		case tg.HasNr:
			out = append(out, tg.Nr)
		case tg.Group != "":
			if g, ok := policy.GroupByName(tg.Group); ok {
				for _, n := range g.Syscalls {
					if nr, ok := a.Lookup(n); ok {
						out = append(out, nr)
					}
				}
			}
		default:
			if nr, ok := a.Lookup(tg.Name); ok {
				out = append(out, nr)
			}
		}
	}
	return out
}
