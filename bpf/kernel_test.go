package bpf

// Kernel agreement: the real kernel decides, in child processes, and the
// validator and the interpreter must have predicted each decision.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/syscage/syscage/bpf/internal/int80"
	"github.com/syscage/syscage/internal/testenv"
)

func TestMain(m *testing.M) {
	if os.Getenv(kernelChildEnv) == "1" {
		kernelChild()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// Outcome kinds: what a system call under a filter was seen to do.
const (
	outcomeRet          = "ret"            // it returned Value
	outcomeThreadKilled = "thread-killed"  // SECCOMP_RET_KILL_THREAD
	outcomeProcessKill  = "process-killed" // SECCOMP_RET_KILL_PROCESS, unknown actions
	outcomeTrap         = "trap"           // SECCOMP_RET_TRAP: SIGSYS, fatal to a Go program
)

type outcome struct {
	Kind  string
	Value int64
}

func (o outcome) String() string {
	if o.Kind == outcomeRet {
		return fmt.Sprintf("returned %d", o.Value)
	}
	return o.Kind
}

const enosys = 38

// expectedOutcome is what __seccomp_filter (kernel/seccomp.c) makes of
// the value seccomp_run_filters returned, for a syscall number no table
// has and a process with no tracer and no notification listener.
func expectedOutcome(ret uint32) outcome {
	switch ActionOf(ret) {
	case RetErrno:
		data := int64(ret & RetData)
		return outcome{outcomeRet, -min(data, 4095)} // capped at MAX_ERRNO
	case RetAllow, RetLog:
		return outcome{outcomeRet, -enosys} // the call runs: no such syscall
	case RetTrace, RetUserNotif:
		return outcome{outcomeRet, -enosys} // no tracer, no listener: ENOSYS
	case RetTrap:
		return outcome{outcomeTrap, 0}
	case RetKillThread:
		return outcome{outcomeThreadKilled, 0}
	}
	return outcome{outcomeProcessKill, 0}
}

// kernelCase is one job as the parent knows it.
type kernelCase struct {
	name    string
	filters []Program
	inputs  []kernelInput
}

// kernelRun is everything the children observed.
type kernelRun struct {
	installs map[[2]int]int64     // (job, filter) -> errno
	results  map[[2]int]outcome   // (job, input) -> outcome
	ip       map[[2]int][2]uint64 // (job, input) -> instruction pointers of the child that ran it
	nanos    map[[2]int]int64     // (job, input) -> the fastest of a timed call
	children int
}

// probeJob reads the instruction pointers the kernel reports for the
// x86_64 and i386 call sites, a byte per call: call 1000+i returns
// ERRNO(byte i of the low then high word).
func probeJob(withInt80 bool) kernelJob {
	p := kernelGuard()
	for i := 0; i < 8; i++ {
		off := uint32(OffsetInstructionPointer + 4*(i/4))
		p = append(p,
			LoadAbs(OffsetNr),
			JumpIf(JmpJEQ, uint32(kernelFirstNr+i), 0, 5),
			LoadAbs(off),
			ALUK(AluRsh, uint32(8*(i%4))),
			ALUK(AluAnd, 0xff),
			ALUK(AluOr, RetErrno),
			RetA())
	}
	p = append(p, Ret(RetAllow))
	j := kernelJob{ID: -1, Filters: [][]byte{p.Encode(NativeEndian)}}
	for i := 0; i < 8; i++ {
		j.Inputs = append(j.Inputs, kernelInput{ID: -1 - i, Nr: uint32(kernelFirstNr + i)})
		if withInt80 {
			j.Inputs = append(j.Inputs, kernelInput{ID: -100 - i, Nr: uint32(kernelFirstNr + i), I386: true})
		}
	}
	return j
}

// needKernel skips tests that need seccomp in children where it cannot
// work.
func needKernel(t *testing.T) {
	t.Helper()
	if runtime.GOOS != "linux" {
		testenv.Unavailable(t, "seccomp needs Linux")
	}
	if _, err := os.Stat("/proc/sys/kernel/seccomp/actions_avail"); err != nil {
		testenv.Unavailable(t, "kernel without seccomp filters: %v", err)
	}
	reports, _ := runKernelChild(t, []kernelJob{probeJob(false)})
	for _, r := range reports {
		if r.Kind == "install" && r.Value != 0 {
			testenv.Unavailable(t, "seccomp(SECCOMP_SET_MODE_FILTER) fails here with errno %d (a container that forbids it?)", r.Value)
		}
	}
	if len(reports) == 0 {
		t.Fatal("the kernel test child reported nothing")
	}
}

// int80Works reports whether i386 calls work here (IA32 emulation).
func int80Works(t *testing.T) bool {
	t.Helper()
	if !int80.Available {
		return false
	}
	_, err := runKernelChild(t, []kernelJob{probeJob(true)})
	return err == nil
}

// runKernelChild runs one child on jobs and returns its report lines and
// how it ended.
func runKernelChild(t *testing.T, jobs []kernelJob) ([]kernelReport, error) {
	t.Helper()
	req, err := json.Marshal(jobs)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), kernelChildEnv+"=1", "GOTRACEBACK=single")
	cmd.Stdin = bytes.NewReader(req)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	runErr := cmd.Run()
	var reports []kernelReport
	dec := json.NewDecoder(&stdout)
	for dec.More() {
		var r kernelReport
		if err := dec.Decode(&r); err != nil {
			t.Fatalf("kernel child wrote a bad report: %v\nstderr:\n%s", err, stderr.String())
		}
		reports = append(reports, r)
	}
	if runErr != nil {
		var ee *exec.ExitError
		if !errors.As(runErr, &ee) {
			t.Fatalf("kernel child: %v", runErr)
		}
		return reports, &childDeath{ws: ee.Sys().(syscall.WaitStatus), stderr: stderr.String()}
	}
	return reports, nil
}

// childDeath is a child that did not finish its jobs.
type childDeath struct {
	ws     syscall.WaitStatus
	stderr string
}

func (d *childDeath) Error() string {
	return fmt.Sprintf("kernel child ended with %v\n%s", d.ws, d.stderr)
}

// outcome classifies a death caused by the call under way.
func (d *childDeath) outcome() (outcome, bool) {
	switch {
	case d.ws.Signaled() && d.ws.Signal() == syscall.SIGSYS:
		return outcome{Kind: outcomeProcessKill}, true
	case d.ws.Exited() && d.ws.ExitStatus() == 2 && strings.Contains(d.stderr, "SIGSYS: bad system call"):
		return outcome{Kind: outcomeTrap}, true // the Go runtime dies of the trap's SIGSYS
	}
	return outcome{}, false
}

// runKernel runs the cases in as few children as possible: a child that
// dies of a filter's verdict (KILL_PROCESS, TRAP) is replaced by a new
// one that resumes after the fatal call.
//
// With timed set, every call is also timed (kernelTimedRuns repetitions).
func runKernel(t *testing.T, cases []kernelCase, withInt80, timed bool) *kernelRun {
	t.Helper()
	run := &kernelRun{installs: map[[2]int]int64{}, results: map[[2]int]outcome{}, ip: map[[2]int][2]uint64{}, nanos: map[[2]int]int64{}}
	pending := make([]kernelJob, len(cases))
	for i, c := range cases {
		pending[i] = kernelJob{ID: i, Inputs: c.inputs, Timed: timed}
		for _, p := range c.filters {
			pending[i].Filters = append(pending[i].Filters, p.Encode(NativeEndian))
		}
	}
	for len(pending) > 0 {
		run.children++
		reports, err := runKernelChild(t, append([]kernelJob{probeJob(withInt80)}, pending...))
		var ips [2]uint64
		for _, r := range reports {
			if r.Job == -1 {
				if r.Kind == "install" {
					if r.Value != 0 {
						t.Fatalf("the probe filter was refused: errno %d", r.Value)
					}
					continue
				}
				if r.Kind != outcomeRet {
					t.Fatalf("probe call %d: %s", r.Input, r.Kind)
				}
				i := -1 - r.Input
				w := 0
				if r.Input <= -100 {
					i, w = -100-r.Input, 1
				}
				ips[w] |= uint64(-r.Value) << (8 * i)
				continue
			}
			if r.Kind == "install" {
				run.installs[[2]int{r.Job, r.Filter}] = r.Value
				continue
			}
			key := [2]int{r.Job, r.Input}
			run.results[key] = outcome{r.Kind, r.Value}
			run.ip[key] = ips
			if r.Nanos != 0 {
				run.nanos[key] = r.Nanos
			}
		}
		if err == nil {
			pending = nil
			break
		}
		// Find the first call without a result: the child died of it.
		var death *childDeath
		if !errors.As(err, &death) {
			t.Fatal(err)
		}
		o, ok := death.outcome()
		resumed := false
		for ji, j := range pending {
			for k := range j.Filters {
				if _, seen := run.installs[[2]int{j.ID, k}]; !seen && !j.Quiet {
					t.Fatalf("kernel child died installing job %d (%s) filter %d: %v", j.ID, cases[j.ID].name, k, err)
				}
			}
			for ii, in := range j.Inputs {
				key := [2]int{j.ID, in.ID}
				if _, seen := run.results[key]; seen {
					continue
				}
				if !ok {
					t.Fatalf("job %d (%s) input %d: %v", j.ID, cases[j.ID].name, in.ID, err)
				}
				run.results[key] = o
				run.ip[key] = ips
				rest := j
				rest.Inputs = j.Inputs[ii+1:]
				rest.Quiet = true
				pending = append([]kernelJob{rest}, pending[ji+1:]...)
				if len(rest.Inputs) == 0 {
					pending = pending[1:]
				}
				resumed = true
				break
			}
			if resumed {
				break
			}
		}
		if !resumed {
			t.Fatalf("kernel child died after all its calls: %v", err)
		}
	}
	return run
}

// compareKernel checks every observed call against the interpreter.
func compareKernel(t *testing.T, cases []kernelCase, run *kernelRun) (calls int) {
	t.Helper()
	failures := 0
	for ci, c := range cases {
		for _, in := range c.inputs {
			got, ok := run.results[[2]int{ci, in.ID}]
			if !ok {
				t.Fatalf("%s: no result for input %d", c.name, in.ID)
			}
			calls++
			ips := run.ip[[2]int{ci, in.ID}]
			d := &SeccompData{Nr: int32(in.Nr), Arch: auditArchX86_64, InstructionPointer: ips[0], Args: in.Args}
			if in.I386 {
				d.Arch, d.InstructionPointer = auditArchI386, ips[1]
			}
			sr, err := RunStack(c.filters, d, NativeEndian)
			if err != nil {
				t.Fatalf("%s: interpreter: %v", c.name, err)
			}
			want := expectedOutcome(sr.Action)
			if got != want {
				failures++
				if failures <= 5 {
					t.Errorf("%s: nr %#x arch %#x ip %#x args %#x: kernel %v, interpreter %s (%v)\n%s",
						c.name, uint32(d.Nr), d.Arch, d.InstructionPointer, d.Args, got,
						ActionString(sr.Action), want, listing(c.filters))
				}
			}
		}
	}
	if failures > 5 {
		t.Errorf("... %d disagreements in all", failures)
	}
	return calls
}

// listing prints filters for failure messages.
func listing(filters []Program) string {
	var b strings.Builder
	for fi, p := range filters {
		fmt.Fprintf(&b, "filter %d:\n", fi)
		for i, ins := range p {
			fmt.Fprintf(&b, "  %04d  %s\n", i, mnemonic(ins))
		}
	}
	return b.String()
}

// TestKernelAgreement installs generated programs in child processes and
// compares the kernel's decision on every call with the interpreter's.
func TestKernelAgreement(t *testing.T) {
	needKernel(t)
	start := time.Now()
	withInt80 := int80Works(t)
	if !withInt80 {
		if int80.Available {
			testenv.Unavailable(t, "the i386 entry (int $0x80) fails here; the kernel lacks IA32 emulation")
		}
		t.Log("i386 calls not available on this architecture; comparing native calls only")
	}
	ip := probe(t, withInt80)
	programs, stacks, perProgram := 400, 60, 8
	if testing.Short() {
		programs, stacks = 80, 12
	}
	g := newKernelGen(1, ip[0], ip[1], withInt80)
	next := 0
	cases := fixedKernelCases(&next, withInt80)
	for i := 0; i < programs; i++ {
		cases = append(cases, kernelCase{name: fmt.Sprintf("random program %d", i),
			filters: []Program{g.program()}, inputs: g.inputs(perProgram, &next)})
	}
	for i := 0; i < stacks; i++ {
		c := kernelCase{name: fmt.Sprintf("random stack %d", i), inputs: g.inputs(perProgram, &next)}
		for k := 0; k < 2+g.r.IntN(3); k++ {
			c.filters = append(c.filters, g.program())
		}
		cases = append(cases, c)
	}
	for _, c := range cases {
		if err := ValidateStack(c.filters); err != nil {
			t.Fatalf("%s: generated an invalid program: %v\n%s", c.name, err, listing(c.filters))
		}
	}
	run := runKernel(t, cases, withInt80, false)
	calls := compareKernel(t, cases, run)
	kinds := map[string]int{}
	for _, o := range run.results {
		kinds[o.Kind]++
	}
	filters, i386 := 0, 0
	for _, c := range cases {
		filters += len(c.filters)
		for _, in := range c.inputs {
			if in.I386 {
				i386++
			}
		}
	}
	t.Logf("%d programs in %d cases, %d calls (%d through the i386 entry; outcomes %v), %d child processes, %v",
		filters, len(cases), calls, i386, kinds, run.children, time.Since(start).Round(time.Millisecond))
	for _, k := range []string{outcomeThreadKilled, outcomeProcessKill, outcomeTrap} {
		if kinds[k] == 0 {
			t.Errorf("no call ended in %s: the generator no longer covers it", k)
		}
	}
}

// probe returns the instruction pointers the kernel reports for the
// x86_64 and i386 call sites.
func probe(t *testing.T, withInt80 bool) [2]uint64 {
	t.Helper()
	reports, err := runKernelChild(t, []kernelJob{probeJob(withInt80)})
	if err != nil {
		t.Fatal(err)
	}
	var ips [2]uint64
	for _, r := range reports {
		if r.Kind != outcomeRet {
			continue
		}
		i, w := -1-r.Input, 0
		if r.Input <= -100 {
			i, w = -100-r.Input, 1
		}
		ips[w] |= uint64(-r.Value) << (8 * i)
	}
	if ips[0] == 0 {
		t.Fatalf("probe found no instruction pointer: %+v", reports)
	}
	return ips
}

// fixedKernelCases are hand-written programs for semantics the random
// ones might reach only rarely.
func fixedKernelCases(next *int, withInt80 bool) []kernelCase {
	in := func(nr uint32, i386 bool, args ...uint64) kernelInput {
		k := kernelInput{ID: *next, Nr: nr, I386: i386 && withInt80}
		*next++
		copy(k.Args[:], args)
		return k
	}
	mapA := Program{ALUK(AluAnd, 0xfff), ALUK(AluOr, RetErrno), RetA()}
	prog := func(body ...Instruction) []Program { return []Program{concat(kernelGuard(), body)} }
	return []kernelCase{
		{"div by X = 0 returns 0", prog(LoadImm(10), ALUX(AluDiv), Ret(RetErrno|1)),
			[]kernelInput{in(1000, false), in(1001, true)}},
		{"div by X", prog(concat(Program{LoadAbs(16), TAX(), LoadImm(4000), ALUX(AluDiv)}, mapA)...),
			[]kernelInput{in(1000, false, 3), in(1000, false, 0), in(1000, false, 4001), in(1000, true, 7)}},
		{"lsh by X masks the count", prog(concat(Program{LoadAbs(16), TAX(), LoadImm(1), ALUX(AluLsh)}, mapA)...),
			[]kernelInput{in(1000, false, 3), in(1000, false, 32), in(1000, false, 33), in(1000, false, 0xffffffff), in(1000, true, 43)}},
		{"rsh by X masks the count", prog(concat(Program{LoadAbs(16), TAX(), LoadImm(0x80000000), ALUX(AluRsh), ALUK(AluRsh, 20)}, mapA)...),
			[]kernelInput{in(1000, false, 3), in(1000, false, 32), in(1000, false, 36), in(1000, false, 63)}},
		{"ld len", prog(concat(Program{LoadLen()}, mapA)...), []kernelInput{in(1000, false), in(1000, true)}},
		{"ldx len", prog(concat(Program{LoadXLen(), TXA()}, mapA)...), []kernelInput{in(1000, false)}},
		{"unsigned compare with high constant", prog(LoadAbs(16), JumpIf(JmpJGT, 0x80000000, 0, 1), Ret(RetErrno|1), Ret(RetErrno|2)),
			[]kernelInput{in(1000, false, 0x80000001), in(1000, false, 0x7fffffff), in(1000, false, 0x80000000), in(1000, true, 0xffffffff)}},
		{"jset with high constant", prog(LoadAbs(20), JumpIf(JmpJSET, 0x80000000, 0, 1), Ret(RetErrno|1), Ret(RetErrno|2)),
			[]kernelInput{in(1000, false, 0x8000000000000000), in(1000, false, 0x7fffffff00000000)}},
		{"arch and high arg words", prog(LoadAbs(OffsetArch), JumpIf(JmpJEQ, auditArchI386, 0, 1), Ret(RetErrno|3),
			LoadAbs(ArgHighOffset(5, false)), JumpIf(JmpJEQ, 0, 0, 1), Ret(RetErrno|4), Ret(RetErrno|5)),
			[]kernelInput{in(1000, false), in(1000, true), in(1000, false, 0, 0, 0, 0, 0, 1<<32)}},
		{"nr with bit 30 and negative nr", prog(concat(Program{LoadAbs(OffsetNr), ALUK(AluRsh, 20)}, mapA)...),
			[]kernelInput{in(0x400003e8, false), in(0x80000005, false), in(0xffffffff, false), in(0x400003e8, true)}},
		{"errno above MAX_ERRNO is capped", prog(Ret(RetErrno | 0xffff)), []kernelInput{in(1000, false)}},
		{"errno 0 returns 0", prog(Ret(RetErrno)), []kernelInput{in(1000, false)}},
		{"allow with data", prog(Ret(RetAllow | 0x1234)), []kernelInput{in(1000, false)}},
		{"ret a with ERRNO in A", prog(LoadImm(RetErrno|77), RetA()), []kernelInput{in(1000, false)}},
		{"unknown action kills the process", prog(Ret(0x7ffe0000)), []kernelInput{in(1000, false), in(1001, false)}},
		{"kill thread", prog(Ret(RetKillThread | 5)), []kernelInput{in(1000, false), in(1001, true)}},
		{"trap", prog(Ret(RetTrap | 1)), []kernelInput{in(1000, false)}},
		{"kill process", prog(Ret(RetKillProcess)), []kernelInput{in(1000, false)}},
		{"strictest of a stack, newest first", []Program{
			concat(kernelGuard(), Program{Ret(RetErrno | 1)}),
			concat(kernelGuard(), Program{LoadAbs(16), JumpIf(JmpJEQ, 1, 0, 1), Ret(RetTrace | 1), Ret(RetErrno | 2)}),
			concat(kernelGuard(), Program{Ret(RetErrno | 3)}),
		}, []kernelInput{in(1000, false, 0), in(1000, false, 1)}},
	}
}

// TestKernelValidate installs the validator's table and mutated programs
// and checks that the kernel refuses exactly what Validate refuses.
func TestKernelValidate(t *testing.T) {
	needKernel(t)
	var cases []kernelCase
	filler := func(n int) Program {
		return concat(kernelGuard(), repeat(LoadImm(0), n-len(kernelGuard())-1), Program{Ret(RetAllow)})
	}
	cases = append(cases,
		kernelCase{name: "empty", filters: []Program{{}}},
		kernelCase{name: "4096 instructions", filters: []Program{filler(MaxInstructions)}},
		kernelCase{name: "4097 instructions", filters: []Program{filler(MaxInstructions + 1)}},
	)
	for _, vc := range validationCases() {
		if vc.rule == RuleLength {
			continue
		}
		cases = append(cases, kernelCase{name: vc.name, filters: []Program{concat(kernelGuard(), vc.p)}})
	}
	g := newKernelGen(2, 0, 0, false)
	n := 400
	if testing.Short() {
		n = 100
	}
	for i := 0; i < n; i++ {
		cases = append(cases, kernelCase{name: fmt.Sprintf("mutant %d", i), filters: []Program{g.mutate(g.program())}})
	}
	run := runKernel(t, cases, false, false)
	accepted, refused := 0, 0
	for ci, c := range cases {
		errno, ok := run.installs[[2]int{ci, 0}]
		if !ok {
			t.Fatalf("%s: no install report", c.name)
		}
		err := Validate(c.filters[0])
		switch {
		case err == nil && errno == 0:
			accepted++
		case err != nil && errno == int64(syscall.EINVAL):
			refused++
		default:
			t.Errorf("%s: kernel errno %d, Validate: %v\n%s", c.name, errno, err, listing(c.filters))
		}
	}
	t.Logf("%d programs: %d accepted, %d refused by both", len(cases), accepted, refused)
	if accepted < len(cases)/10 || refused < len(cases)/10 {
		t.Errorf("the mutants are lopsided (%d accepted, %d refused)", accepted, refused)
	}
}

// TestKernelStackLimit stacks filters on one thread so that the last one
// brings the kernel's count (KernelLength plus penalties) exactly to the
// limit, or one past it, and checks the kernel draws the line where
// ValidateStack does. The last filters are generated programs, so every
// conversion rule of KernelLength is tried.
func TestKernelStackLimit(t *testing.T) {
	needKernel(t)
	// filler returns a program of kernel length n (n >= 9).
	filler := func(n int) Program {
		return concat(kernelGuard(), repeat(LoadImm(0), n-9), Program{Ret(RetAllow)})
	}
	full := filler(4100)
	base := []Program{full, full, full, full, full, full, full}
	used := 7 * (4100 + StackPenaltyPerFilter)
	g := newKernelGen(3, 0, 0, false)
	lasts := []Program{
		concat(kernelGuard(), Program{LoadImm(1), ALUX(AluDiv), RetA()}),
		concat(kernelGuard(), Program{LoadImm(1), JumpIf(JmpJEQ, 0x80000000, 1, 2), RetA(), RetA(), RetA()}),
		concat(kernelGuard(), Program{LoadImm(1), JumpIf(JmpJSET, 1, 0, 1), RetA(), RetA()}),
	}
	n := 20
	if testing.Short() {
		n = 5
	}
	for i := 0; i < n; i++ {
		lasts = append(lasts, g.program())
	}
	var cases []kernelCase
	for i, last := range lasts {
		room := MaxStackInstructions - used - StackPenaltyPerFilter - KernelLength(last)
		cases = append(cases,
			kernelCase{name: fmt.Sprintf("program %d at the limit", i), filters: append(base[:7:7], filler(room), last)},
			kernelCase{name: fmt.Sprintf("program %d one past the limit", i), filters: append(base[:7:7], filler(room+1), last)})
	}
	run := runKernel(t, cases, false, false)
	for ci, c := range cases {
		var installed []Program
		for fi, p := range c.filters {
			errno := run.installs[[2]int{ci, fi}]
			err := ValidateStack(append(installed[:len(installed):len(installed)], p))
			var se *StackError
			switch {
			case err == nil && errno == 0:
				installed = append(installed, p)
			case errors.As(err, &se) && errno == int64(syscall.ENOMEM):
			default:
				t.Errorf("%s: filter %d (%d instructions, kernel length %d): kernel errno %d, ValidateStack: %v\n%s",
					c.name, fi, len(p), KernelLength(p), errno, err, listing([]Program{p}))
			}
		}
	}
}
