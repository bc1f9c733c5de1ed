package bpf

import (
	"encoding/binary"
	"fmt"
)

// Result is the outcome of running one filter on one seccomp_data.
type Result struct {
	// Action is the filter's return value: the K of RET K, the A of
	// RET A, or 0 (SECCOMP_RET_KILL_THREAD) when the program divided by
	// an X of zero, which makes a classic BPF program return 0
	// (net/core/filter.c: bpf_convert_filter).
	Action uint32
	// Executed counts the instructions run, the final one included.
	Executed int
	// Path lists the indexes of the instructions run, in order.
	Path []int
}

// DividedByZero reports whether the run ended at a DIV by X with X == 0
// rather than at a RET.
func (r Result) DividedByZero(p Program) bool {
	if len(r.Path) == 0 {
		return false
	}
	last := r.Path[len(r.Path)-1]
	return last < len(p) && p[last].Op == ClassALU|AluDiv|SrcX
}

// RunError reports a program that cannot be run to a RET: something
// Validate would have refused, met at run time.
type RunError struct {
	Index       int // instruction index; len(program) when execution ran off the end
	Instruction Instruction
	Reason      string
	offEnd      bool // Index is past the last instruction
}

func (e *RunError) Error() string {
	if e.Index < 0 || e.offEnd {
		return "cannot run: " + e.Reason
	}
	return fmt.Sprintf("cannot run instruction %d (%s): %s; Validate reports such programs before they run",
		e.Index, instructionText(e.Instruction), e.Reason)
}

// Run executes p on data with the kernel's semantics for seccomp filters
// and records the path taken. order is the byte order of the machine whose
// filter this is: word loads read seccomp_data as that machine lays it
// out (NativeEndian for this machine, binary.BigEndian for s390x, ppc64 or
// big-endian mips); nil means little-endian. A, X and M[0..15] start at
// 0, and a nil data is all zeros.
//
// A program Validate accepts always runs to a result. Anything Validate
// would refuse (an opcode seccomp does not accept, a jump past the end,
// a load outside seccomp_data, falling off the end) is reported as a
// *RunError when execution reaches it; Run never panics.
func Run(p Program, data *SeccompData, order binary.ByteOrder) (Result, error) {
	var r Result
	var err error
	rec := recorder{path: make([]int, 0, len(p))} // jumps go forward: at most len(p) steps
	r.Action, r.Executed, err = execute(p, data, order, &rec)
	r.Path = rec.path
	return r, err
}

// Step is one instruction of a traced run and the registers after it.
type Step struct {
	Index int    // instruction index
	A, X  uint32 // the accumulator and index register after the instruction ran
}

// Trace is Run that also records A and X after every instruction, for
// showing a run step by step. The steps follow Result.Path; when the run
// fails they end at the instruction that could not run.
func Trace(p Program, data *SeccompData, order binary.ByteOrder) ([]Step, Result, error) {
	rec := recorder{path: make([]int, 0, len(p)), regs: make([][2]uint32, 0, len(p))}
	var r Result
	var err error
	r.Action, r.Executed, err = execute(p, data, order, &rec)
	r.Path = rec.path
	steps := make([]Step, len(rec.path))
	for i, pc := range rec.path {
		// rec.regs holds the registers before each instruction. The
		// last instruction of a run never changes them (a RET, a DIV by
		// X = 0, or one that cannot run), so they are also its after.
		after := rec.regs[min(i+1, len(rec.regs)-1)]
		steps[i] = Step{Index: pc, A: after[0], X: after[1]}
	}
	return steps, r, err
}

// recorder collects what Run and Trace report. Registers are recorded
// before each instruction, so the loop needs no hook after jumps.
type recorder struct {
	path []int
	regs [][2]uint32 // nil: not recorded
}

// Evaluate is Run without the path: the same semantics, no allocation.
func Evaluate(p Program, data *SeccompData, order binary.ByteOrder) (action uint32, executed int, err error) {
	return execute(p, data, order, nil)
}

// littleProbe tells a little-endian ByteOrder from a big-endian one.
var littleProbe = [2]byte{1, 0}

// words returns seccomp_data as the 16 words LD|W|ABS can load, as a
// machine of the given byte order sees them: the 32-bit fields as they
// are, each 64-bit field as two words, low word first on little-endian
// machines and high word first on big-endian ones.
func words(d *SeccompData, order binary.ByteOrder) [SeccompDataSize / 4]uint32 {
	var w [SeccompDataSize / 4]uint32
	if d == nil {
		return w
	}
	little := order == nil || order.Uint16(littleProbe[:]) == 1
	split := func(i int, v uint64) {
		if little {
			w[i], w[i+1] = uint32(v), uint32(v>>32)
		} else {
			w[i], w[i+1] = uint32(v>>32), uint32(v)
		}
	}
	w[0] = uint32(d.Nr)
	w[1] = d.Arch
	split(2, d.InstructionPointer)
	for i, a := range d.Args {
		split(4+2*i, a)
	}
	return w
}

// execute is the interpreter shared by Run, Trace and Evaluate; rec, when
// not nil, receives the indexes executed and, if asked, the registers.
func execute(p Program, data *SeccompData, order binary.ByteOrder, rec *recorder) (action uint32, executed int, err error) {
	img := words(data, order)
	var a, x uint32
	var mem [ScratchWords]uint32
	n := len(p)
	if n == 0 {
		return 0, 0, &RunError{Index: -1, Reason: "the program is empty"}
	}
	pc := 0
	last := -1 // the instruction executed last
	for {
		if pc >= n {
			return 0, executed, pastEnd(p, last, pc)
		}
		last = pc
		ins := p[pc]
		executed++
		if rec != nil {
			rec.path = append(rec.path, pc)
			if rec.regs != nil {
				rec.regs = append(rec.regs, [2]uint32{a, x})
			}
		}
		k := ins.K
		switch ins.Op {
		case ClassLD | SizeW | ModeABS:
			// seccomp_check_filter admits only aligned offsets below 64.
			if k >= SeccompDataSize || k%4 != 0 {
				return 0, executed, runErr(pc, ins, fmt.Sprintf("offset %d is not a 4-aligned word of seccomp_data", k))
			}
			a = img[k/4]
		case ClassLD | SizeW | ModeLEN:
			a = SeccompDataSize
		case ClassLDX | SizeW | ModeLEN:
			x = SeccompDataSize
		case ClassLD | ModeIMM:
			a = k
		case ClassLDX | ModeIMM:
			x = k
		case ClassLD | ModeMEM:
			if k >= ScratchWords {
				return 0, executed, runErr(pc, ins, fmt.Sprintf("M[%d] does not exist", k))
			}
			a = mem[k]
		case ClassLDX | ModeMEM:
			if k >= ScratchWords {
				return 0, executed, runErr(pc, ins, fmt.Sprintf("M[%d] does not exist", k))
			}
			x = mem[k]
		case ClassST:
			if k >= ScratchWords {
				return 0, executed, runErr(pc, ins, fmt.Sprintf("M[%d] does not exist", k))
			}
			mem[k] = a
		case ClassSTX:
			if k >= ScratchWords {
				return 0, executed, runErr(pc, ins, fmt.Sprintf("M[%d] does not exist", k))
			}
			mem[k] = x
		case ClassMISC | MiscTAX:
			x = a
		case ClassMISC | MiscTXA:
			a = x
		case ClassALU | AluAdd | SrcK:
			a += k
		case ClassALU | AluAdd | SrcX:
			a += x
		case ClassALU | AluSub | SrcK:
			a -= k
		case ClassALU | AluSub | SrcX:
			a -= x
		case ClassALU | AluMul | SrcK:
			a *= k
		case ClassALU | AluMul | SrcX:
			a *= x
		case ClassALU | AluDiv | SrcK:
			if k == 0 {
				return 0, executed, runErr(pc, ins, "division by the constant 0")
			}
			a /= k
		case ClassALU | AluDiv | SrcX:
			if x == 0 {
				// bpf_convert_filter (net/core/filter.c) guards every
				// DIV by X with "if X == 0 return 0": the filter
				// returns 0, SECCOMP_RET_KILL_THREAD.
				return 0, executed, nil
			}
			a /= x
		case ClassALU | AluAnd | SrcK:
			a &= k
		case ClassALU | AluAnd | SrcX:
			a &= x
		case ClassALU | AluOr | SrcK:
			a |= k
		case ClassALU | AluOr | SrcX:
			a |= x
		case ClassALU | AluXor | SrcK:
			a ^= k
		case ClassALU | AluXor | SrcX:
			a ^= x
		case ClassALU | AluLsh | SrcK:
			if k >= 32 {
				return 0, executed, runErr(pc, ins, fmt.Sprintf("shift by %d", k))
			}
			a <<= k
		case ClassALU | AluLsh | SrcX:
			// A 32-bit eBPF shift uses the low 5 bits of the count
			// (kernel/bpf/core.c, and the x86 and arm64 JITs alike).
			a <<= x & 31
		case ClassALU | AluRsh | SrcK:
			if k >= 32 {
				return 0, executed, runErr(pc, ins, fmt.Sprintf("shift by %d", k))
			}
			a >>= k
		case ClassALU | AluRsh | SrcX:
			a >>= x & 31
		case ClassALU | AluNeg:
			a = -a
		case ClassJMP | JmpJA:
			t := uint64(pc) + 1 + uint64(k)
			if t >= uint64(n) {
				return 0, executed, runErr(pc, ins, fmt.Sprintf("jump target %d is past the end (%d instructions)", t, n))
			}
			pc = int(t)
			continue
		case ClassJMP | JmpJEQ | SrcK:
			if a == k {
				pc += 1 + int(ins.Jt)
			} else {
				pc += 1 + int(ins.Jf)
			}
			continue
		case ClassJMP | JmpJEQ | SrcX:
			if a == x {
				pc += 1 + int(ins.Jt)
			} else {
				pc += 1 + int(ins.Jf)
			}
			continue
		case ClassJMP | JmpJGT | SrcK:
			if a > k {
				pc += 1 + int(ins.Jt)
			} else {
				pc += 1 + int(ins.Jf)
			}
			continue
		case ClassJMP | JmpJGT | SrcX:
			if a > x {
				pc += 1 + int(ins.Jt)
			} else {
				pc += 1 + int(ins.Jf)
			}
			continue
		case ClassJMP | JmpJGE | SrcK:
			if a >= k {
				pc += 1 + int(ins.Jt)
			} else {
				pc += 1 + int(ins.Jf)
			}
			continue
		case ClassJMP | JmpJGE | SrcX:
			if a >= x {
				pc += 1 + int(ins.Jt)
			} else {
				pc += 1 + int(ins.Jf)
			}
			continue
		case ClassJMP | JmpJSET | SrcK:
			if a&k != 0 {
				pc += 1 + int(ins.Jt)
			} else {
				pc += 1 + int(ins.Jf)
			}
			continue
		case ClassJMP | JmpJSET | SrcX:
			if a&x != 0 {
				pc += 1 + int(ins.Jt)
			} else {
				pc += 1 + int(ins.Jf)
			}
			continue
		case ClassRET | RetSrcK:
			return k, executed, nil
		case ClassRET | RetSrcA:
			return a, executed, nil
		default:
			reason := fmt.Sprintf("opcode 0x%02x is not a seccomp instruction", ins.Op)
			if classicOpcode(ins.Op) {
				reason = fmt.Sprintf("opcode 0x%02x is a socket-filter instruction seccomp does not accept", ins.Op)
			}
			return 0, executed, runErr(pc, ins, reason)
		}
		pc++
	}
}

// pastEnd explains how execution left the program: a conditional jump
// out of it, or falling off the end.
func pastEnd(p Program, last, pc int) error {
	if last >= 0 && p[last].IsConditionalJump() {
		return runErr(last, p[last], fmt.Sprintf("jump target %d is past the end (%d instructions)", pc, len(p)))
	}
	return &RunError{Index: len(p), Reason: fmt.Sprintf("execution ran past the last instruction (%d) without a RET", len(p)-1), offEnd: true}
}

func runErr(pc int, ins Instruction, reason string) error {
	return &RunError{Index: pc, Instruction: ins, Reason: reason}
}

// StackResult is the outcome of the filters a thread has installed.
type StackResult struct {
	// Action is the value the kernel acts on: the return value of the
	// strictest filter, or SECCOMP_RET_ALLOW when every filter allowed.
	Action uint32
	// Filter is the index of the filter whose return value won, or -1
	// when none was stricter than ALLOW.
	Filter int
	// Results holds each filter's own result, in the order of filters.
	Results []Result
}

// RunStack runs stacked filters as seccomp_run_filters (kernel/seccomp.c)
// does. filters are in installation order, filters[0] the oldest; the
// kernel runs every filter, newest first, starting from
// SECCOMP_RET_ALLOW and taking a filter's value only when its action is
// strictly stricter (Stricter) than the current one, so among equally
// strict values the newest filter's wins. An error from any filter stops
// the run; the kernel would have refused such a filter.
func RunStack(filters []Program, data *SeccompData, order binary.ByteOrder) (StackResult, error) {
	sr := StackResult{Action: RetAllow, Filter: -1, Results: make([]Result, len(filters))}
	if len(filters) == 0 {
		return sr, &RunError{Index: -1, Reason: "no filters: without a filter seccomp is not in filter mode"}
	}
	for i := len(filters) - 1; i >= 0; i-- {
		r, err := Run(filters[i], data, order)
		sr.Results[i] = r
		if err != nil {
			return sr, fmt.Errorf("filter %d: %w", i, err)
		}
		if Stricter(r.Action, sr.Action) {
			sr.Action, sr.Filter = r.Action, i
		}
	}
	return sr, nil
}
