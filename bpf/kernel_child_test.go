package bpf

// The child side of the kernel agreement tests. The test binary re-runs
// itself with kernelChildEnv set; the child reads jobs as JSON on stdin,
// installs each job's filters on a fresh OS thread of its own, makes the
// job's system calls on that thread and writes one JSON line per
// observation to stdout. seccomp without SECCOMP_FILTER_FLAG_TSYNC binds
// a filter to the calling thread only, so the rest of the child (the
// goroutine writing reports in particular) stays unfiltered; the thread
// dies with its goroutine, which never unlocks it.
//
// Every program the parent sends starts with kernelGuard, which allows
// all syscall numbers below kernelFirstNr: the Go runtime's own system
// calls on a filtered thread (futex, mmap, exit, ...) must never meet a
// random filter. Test syscalls use numbers no table has, so an allowed
// call fails with ENOSYS and has no effect.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/syscage/syscage/bpf/internal/int80"
)

const kernelChildEnv = "SYSCAGE_BPF_KERNEL_CHILD"

// kernelFirstNr is the lowest syscall number tests use; kernelGuard
// allows everything below it.
const kernelFirstNr = 1000

// kernelGuard is the prefix of every program the child installs.
func kernelGuard() Program {
	return Program{LoadAbs(OffsetNr), JumpIf(JmpJGE, kernelFirstNr, 1, 0), Ret(RetAllow)}
}

// kernelInput is one system call to make.
type kernelInput struct {
	ID   int       `json:"id"`
	I386 bool      `json:"i386,omitempty"` // through int $0x80: AUDIT_ARCH_I386
	Nr   uint32    `json:"nr"`
	Args [6]uint64 `json:"args"`
}

// kernelJob is a stack of filters installed on one thread, oldest first,
// and the calls made under them.
type kernelJob struct {
	ID      int           `json:"id"`
	Filters [][]byte      `json:"filters"` // native-endian sock_filter arrays
	Inputs  []kernelInput `json:"inputs"`
	// Timed jobs report, for each input, the fastest of kernelTimedRuns
	// calls too. Their filters must not kill or trap.
	Timed bool `json:"timed,omitempty"`
	// Quiet suppresses install reports: set when a job resumes after its
	// thread was killed and its filters are installed again.
	Quiet bool `json:"quiet,omitempty"`
}

// kernelReport is one observation.
type kernelReport struct {
	Job    int    `json:"job"`
	Input  int    `json:"input"`            // the input's ID; -1 for install reports
	Filter int    `json:"filter,omitempty"` // install reports: index in Filters
	Kind   string `json:"kind"`             // see the outcome kinds in kernel_test.go
	Value  int64  `json:"value"`            // "ret": the call's result; "install": errno, 0 when installed
	Nanos  int64  `json:"nanos,omitempty"`  // timed jobs: the fastest call
}

// kernelTimedRuns is how often a timed job repeats each call.
const kernelTimedRuns = 400

// In the child, the main goroutine keeps the process's main thread for
// itself (an init function that locks the thread makes main run there), so
// no job thread is ever the thread group leader: a leader killed by
// SECCOMP_RET_KILL_THREAD would linger as a zombie until the whole
// process ends.
func init() {
	if os.Getenv(kernelChildEnv) == "1" {
		runtime.LockOSThread()
	}
}

// threadGone reports whether thread tid of this process has ended.
func threadGone(tid int) bool {
	if unix.Tgkill(unix.Getpid(), tid, 0) != nil {
		return true
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/self/task/%d/stat", tid))
	if err != nil {
		return true
	}
	// The state follows the parenthesised command name.
	if i := bytes.LastIndexByte(stat, ')'); i >= 0 && i+2 < len(stat) {
		return stat[i+2] == 'Z' || stat[i+2] == 'X'
	}
	return false
}

// kernelChild is the child's main function.
func kernelChild() {
	// No core dumps from filters that kill the process, and no garbage
	// collection: a thread killed by SECCOMP_RET_KILL_THREAD leaves an M
	// that never answers a stop-the-world request.
	_ = unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0)
	debug.SetGCPercent(-1)
	var jobs []kernelJob
	if err := json.NewDecoder(os.Stdin).Decode(&jobs); err != nil {
		fmt.Fprintln(os.Stderr, "kernel child: bad request:", err)
		os.Exit(3)
	}
	out := &reportWriter{enc: json.NewEncoder(os.Stdout)}
	for _, j := range jobs {
		runKernelJob(j, out)
	}
}

// reportWriter writes report lines, one write each. The filtered thread
// writes its own reports before its next call, so a call that kills the
// whole process cannot take earlier reports with it.
type reportWriter struct {
	mu  sync.Mutex
	enc *json.Encoder
}

func (w *reportWriter) emit(r kernelReport) {
	// A thread killed while writing (its filter refused the write
	// itself) would hold the lock for ever.
	for deadline := time.Now().Add(2 * time.Second); !w.mu.TryLock(); {
		if time.Now().After(deadline) {
			fmt.Fprintln(os.Stderr, "kernel child: a filtered thread died while reporting; filters must allow the runtime's own system calls")
			os.Exit(3)
		}
		time.Sleep(time.Millisecond)
	}
	defer w.mu.Unlock()
	if err := w.enc.Encode(r); err != nil {
		os.Exit(3)
	}
}

// runKernelJob runs one job, on as many threads as it takes: when a call
// kills the thread, the report says so and the remaining calls run on a
// new thread with the same filters.
func runKernelJob(j kernelJob, out *reportWriter) {
	tick := time.NewTicker(200 * time.Microsecond)
	defer tick.Stop()
	from, quiet := 0, j.Quiet
	for {
		var reported atomic.Int64 // inputs the thread has reported
		done := make(chan struct{})
		tidc := make(chan int, 1)
		go kernelThread(j, from, quiet, out, &reported, tidc, done)
		tid := <-tidc
		deadline := time.Now().Add(10 * time.Second)
	wait:
		for {
			select {
			case <-done:
				return
			case <-tick.C:
				if threadGone(tid) {
					break wait // the thread is gone
				}
				if time.Now().After(deadline) {
					fmt.Fprintf(os.Stderr, "kernel child: job %d hangs\n", j.ID)
					os.Exit(3)
				}
			}
		}
		select {
		case <-done: // it finished just before its thread exited
			return
		default:
		}
		next := from + int(reported.Load())
		if next >= len(j.Inputs) {
			fmt.Fprintf(os.Stderr, "kernel child: job %d: thread died outside a test call\n", j.ID)
			os.Exit(3)
		}
		out.emit(kernelReport{Job: j.ID, Input: j.Inputs[next].ID, Kind: "thread-killed"})
		from, quiet = next+1, true
		if from == len(j.Inputs) {
			return
		}
	}
}

// kernelThread installs the job's filters on a new thread and makes the
// calls from index from on, reporting each before making the next.
func kernelThread(j kernelJob, from int, quiet bool, out *reportWriter, reported *atomic.Int64, tidc chan<- int, done chan<- struct{}) {
	runtime.LockOSThread() // for good: the thread ends with this goroutine
	tidc <- unix.Gettid()
	if _, _, e := unix.RawSyscall(unix.SYS_PRCTL, unix.PR_SET_NO_NEW_PRIVS, 1, 0); e != 0 {
		fmt.Fprintln(os.Stderr, "kernel child: PR_SET_NO_NEW_PRIVS:", e)
		os.Exit(3)
	}
	installed := true
	for i, raw := range j.Filters {
		fprog := unix.SockFprog{Len: uint16(len(raw) / InstructionSize)}
		if len(raw) > 0 {
			fprog.Filter = (*unix.SockFilter)(unsafe.Pointer(&raw[0]))
		}
		_, _, e := unix.RawSyscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, 0, uintptr(unsafe.Pointer(&fprog)))
		runtime.KeepAlive(raw)
		if e != 0 {
			installed = false
		}
		if !quiet {
			out.emit(kernelReport{Job: j.ID, Input: -1, Filter: i, Kind: "install", Value: int64(e)})
		}
	}
	if !installed && len(j.Inputs) > 0 {
		fmt.Fprintf(os.Stderr, "kernel child: job %d: a filter was refused, its calls cannot run\n", j.ID)
		os.Exit(3)
	}
	inputs := j.Inputs[from:]
	if j.Timed {
		// Rounds over all inputs, so that a slow spell of the machine
		// touches every input alike. Timed jobs must not kill: the
		// reports come at the end.
		reps := make([]kernelReport, len(inputs))
		for i, in := range inputs {
			reps[i] = kernelReport{Job: j.ID, Input: in.ID, Kind: "ret", Nanos: 1 << 62}
		}
		for round := 0; round < kernelTimedRuns; round++ {
			for i, in := range inputs {
				t0 := time.Now()
				reps[i].Value = kernelCall(in)
				reps[i].Nanos = min(reps[i].Nanos, int64(time.Since(t0)))
			}
		}
		for _, r := range reps {
			out.emit(r)
			reported.Add(1)
		}
		inputs = nil
	}
	for _, in := range inputs {
		out.emit(kernelReport{Job: j.ID, Input: in.ID, Kind: "ret", Value: kernelCall(in)})
		reported.Add(1)
	}
	close(done)
}

// kernelCall makes one test call and returns its result, -errno on
// failure.
func kernelCall(in kernelInput) int64 {
	a := in.Args
	if in.I386 {
		return int64(int80.Syscall(uintptr(in.Nr), uintptr(uint32(a[0])), uintptr(uint32(a[1])),
			uintptr(uint32(a[2])), uintptr(uint32(a[3])), uintptr(uint32(a[4])), uintptr(uint32(a[5]))))
	}
	r1, _, e := unix.Syscall6(uintptr(in.Nr), uintptr(a[0]), uintptr(a[1]), uintptr(a[2]),
		uintptr(a[3]), uintptr(a[4]), uintptr(a[5]))
	if e != 0 {
		return -int64(e)
	}
	return int64(r1)
}
