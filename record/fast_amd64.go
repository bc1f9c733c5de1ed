package record

import (
	"encoding/binary"
	"errors"
	"fmt"

	"golang.org/x/sys/unix"

	"github.com/syscage/syscage/arch"
	"github.com/syscage/syscage/record/internal/ebpf"
)

// Offsets in struct pt_regs (arch/x86/include/asm/ptrace.h) of the
// registers that hold a 64-bit syscall's arguments, relative to r10, the
// lowest of them: di, si, dx, r10, r8, r9.
var argRegOffsets = [6]int16{56, 48, 40, 0, 16, 8}

const (
	regsR10Offset = 56 // offset of r10 in struct pt_regs
	regsSpan      = 64 // r10 .. di inclusive
)

// BPF helpers that read kernel memory: bpf_probe_read_kernel (Linux 5.5)
// and, before it, bpf_probe_read.
const (
	funcProbeReadKernel = 113
	funcProbeRead       = 4
)

// fastCounter counts the native syscalls of the traced threads with an
// eBPF program on the raw tracepoint sys_enter.
type fastCounter struct {
	native  *arch.Arch
	n       int // syscall numbers below n are counted
	masks   []uint8
	tracked *ebpf.Map // tid -> 1
	counts  *ebpf.Map // per-CPU array: nr -> calls
	argMask *ebpf.Map // array: nr -> argument slots to capture
	tuples  *ebpf.Map // hash: (nr, args) -> calls
	errs    *ebpf.Map // array: 0 unreadable registers, 1 full tuple map
	prog    *ebpf.Program
	attach  *ebpf.Attachment
	// seen holds the calls the tracer also saw, to subtract.
	seenCounts map[int]uint64
	seenTuples map[[7]uint64]uint64
}

// Map sizes: the distinct argument combinations kept per run, and the
// threads alive at once (exited ones leave the map).
const (
	tupleEntries = 1 << 14
	tidEntries   = 1 << 16
)

func newFastCounter(masks func(nr int) uint8) (*fastCounter, error) {
	native := arch.Native()
	if native == nil || native.Name != "x86_64" {
		return nil, errors.New("the eBPF backend reads x86_64 registers; this is not x86_64")
	}
	// Hash maps whose entries are allocated on insertion are quick to
	// create; kernels before 6.1 refuse them in tracing programs
	// (kernel/bpf/verifier.c: check_map_prog_compatibility), so fall back
	// to preallocated ones.
	f, err := buildFastCounter(native, masks, ebpf.NoPrealloc)
	if err != nil {
		var err2 error
		if f, err2 = buildFastCounter(native, masks, 0); err2 == nil {
			return f, nil
		}
	}
	return f, err
}

func buildFastCounter(native *arch.Arch, masks func(nr int) uint8, hashFlags uint32) (*fastCounter, error) {
	f := &fastCounter{native: native, n: native.MaxNr() + 1, seenCounts: map[int]uint64{}, seenTuples: map[[7]uint64]uint64{}}
	ok := false
	defer func() {
		if !ok {
			f.close()
		}
	}()
	var err error
	if f.tracked, err = ebpf.NewMapFlags("syscage_tids", ebpf.MapHash, 4, 4, tidEntries, hashFlags); err != nil {
		return nil, err
	}
	if f.counts, err = ebpf.NewMap("syscage_counts", ebpf.MapPerCPUArray, 4, 8, f.n); err != nil {
		return nil, err
	}
	if f.argMask, err = ebpf.NewMap("syscage_argmask", ebpf.MapArray, 4, 4, f.n); err != nil {
		return nil, err
	}
	if f.tuples, err = ebpf.NewMapFlags("syscage_args", ebpf.MapHash, 56, 8, tupleEntries, hashFlags); err != nil {
		return nil, err
	}
	if f.errs, err = ebpf.NewMap("syscage_errs", ebpf.MapArray, 4, 8, 2); err != nil {
		return nil, err
	}
	f.masks = make([]uint8, f.n)
	for nr := range f.n {
		m := masks(nr)
		f.masks[nr] = m
		if m == 0 {
			continue
		}
		if err := f.argMask.Update(u32(uint32(nr)), u32(uint32(m)), ebpf.UpdateAny); err != nil {
			return nil, fmt.Errorf("eBPF argument mask: %w", err)
		}
	}
	var loadErr error
	for _, helper := range []int32{funcProbeReadKernel, funcProbeRead} {
		insns, err := f.program(helper)
		if err != nil {
			return nil, err
		}
		// GPL: bpf_probe_read_kernel is offered only to GPL-compatible
		// programs (kernel/trace/bpf_trace.c).
		f.prog, loadErr = ebpf.LoadRawTracepoint("syscage_rec", insns, "GPL")
		if loadErr == nil {
			break
		}
	}
	if loadErr != nil {
		return nil, loadErr
	}
	if f.attach, err = ebpf.AttachRawTracepoint(f.prog, "sys_enter"); err != nil {
		return nil, err
	}
	ok = true
	return f, nil
}

// program builds the eBPF program. Stack layout below the frame pointer:
// -4 tid key, -8 nr key, -72..-8 copy of the argument registers,
// -136..-80 tuple key (nr, 6 args), -144 initial count.
func (f *fastCounter) program(probeRead int32) ([]ebpf.Instruction, error) {
	const (
		tidKey   = -4
		nrKey    = -8
		regsCopy = -72
		tupleKey = -136
		one      = -144
	)
	var b ebpf.Builder
	b.Emit(ebpf.Mov64(ebpf.R6, ebpf.R1)) // ctx: u64 args[] = {struct pt_regs *regs, long id}
	// Only threads the tracer follows.
	b.Emit(ebpf.Call(ebpf.FuncGetCurrentPidTgid), ebpf.Store(ebpf.Word, ebpf.R10, tidKey, ebpf.R0))
	b.Emit(ebpf.Mov64(ebpf.R2, ebpf.R10), ebpf.Add64Imm(ebpf.R2, tidKey))
	b.Emit2(ebpf.LoadMapFD(ebpf.R1, f.tracked.FD()))
	b.Emit(ebpf.Call(ebpf.FuncMapLookupElem))
	b.JumpImm(ebpf.JEQ, ebpf.R0, 0, "out")
	// Count the number; negative and large ones belong to the tracer.
	b.Emit(ebpf.Load(ebpf.Double, ebpf.R7, ebpf.R6, 8))
	b.JumpImm(ebpf.JGE, ebpf.R7, int32(f.n), "out")
	b.Emit(ebpf.Store(ebpf.Word, ebpf.R10, nrKey, ebpf.R7))
	b.Emit(ebpf.Mov64(ebpf.R2, ebpf.R10), ebpf.Add64Imm(ebpf.R2, nrKey))
	b.Emit2(ebpf.LoadMapFD(ebpf.R1, f.counts.FD()))
	b.Emit(ebpf.Call(ebpf.FuncMapLookupElem))
	b.JumpImm(ebpf.JEQ, ebpf.R0, 0, "out")
	b.Emit(ebpf.Load(ebpf.Double, ebpf.R1, ebpf.R0, 0), ebpf.Add64Imm(ebpf.R1, 1), ebpf.Store(ebpf.Double, ebpf.R0, 0, ebpf.R1))
	// Arguments, for the syscalls whose mask says so.
	b.Emit(ebpf.Mov64(ebpf.R2, ebpf.R10), ebpf.Add64Imm(ebpf.R2, nrKey))
	b.Emit2(ebpf.LoadMapFD(ebpf.R1, f.argMask.FD()))
	b.Emit(ebpf.Call(ebpf.FuncMapLookupElem))
	b.JumpImm(ebpf.JEQ, ebpf.R0, 0, "out")
	b.Emit(ebpf.Load(ebpf.Word, ebpf.R8, ebpf.R0, 0))
	b.JumpImm(ebpf.JEQ, ebpf.R8, 0, "out")
	b.Emit(ebpf.Mov64(ebpf.R1, ebpf.R10), ebpf.Add64Imm(ebpf.R1, regsCopy), ebpf.Mov64Imm(ebpf.R2, regsSpan))
	b.Emit(ebpf.Load(ebpf.Double, ebpf.R3, ebpf.R6, 0), ebpf.Add64Imm(ebpf.R3, regsR10Offset))
	b.Emit(ebpf.Call(probeRead))
	b.JumpImm(ebpf.JNE, ebpf.R0, 0, "unreadable")
	b.Emit(ebpf.Store(ebpf.Double, ebpf.R10, tupleKey, ebpf.R7))
	for i, off := range argRegOffsets {
		skip := fmt.Sprintf("skip%d", i)
		b.Emit(ebpf.Mov64Imm(ebpf.R1, 0), ebpf.Mov64(ebpf.R2, ebpf.R8), ebpf.And64Imm(ebpf.R2, 1<<i))
		b.JumpImm(ebpf.JEQ, ebpf.R2, 0, skip)
		b.Emit(ebpf.Load(ebpf.Double, ebpf.R1, ebpf.R10, regsCopy+off))
		b.Label(skip)
		b.Emit(ebpf.Store(ebpf.Double, ebpf.R10, tupleKey+8+8*int16(i), ebpf.R1))
	}
	addTuple := func(label string) {
		b.Emit(ebpf.Mov64(ebpf.R2, ebpf.R10), ebpf.Add64Imm(ebpf.R2, tupleKey))
		b.Emit2(ebpf.LoadMapFD(ebpf.R1, f.tuples.FD()))
		b.Emit(ebpf.Call(ebpf.FuncMapLookupElem))
		b.JumpImm(ebpf.JEQ, ebpf.R0, 0, label)
		b.Emit(ebpf.Mov64Imm(ebpf.R1, 1), ebpf.AtomicAdd64(ebpf.R0, 0, ebpf.R1))
		b.Ja("out")
	}
	addTuple("insert")
	b.Label("insert")
	b.Emit(ebpf.StoreImm(ebpf.Double, ebpf.R10, one, 1))
	b.Emit(ebpf.Mov64(ebpf.R2, ebpf.R10), ebpf.Add64Imm(ebpf.R2, tupleKey))
	b.Emit(ebpf.Mov64(ebpf.R3, ebpf.R10), ebpf.Add64Imm(ebpf.R3, one))
	b.Emit(ebpf.Mov64Imm(ebpf.R4, ebpf.UpdateNoExist))
	b.Emit2(ebpf.LoadMapFD(ebpf.R1, f.tuples.FD()))
	b.Emit(ebpf.Call(ebpf.FuncMapUpdateElem))
	b.JumpImm(ebpf.JEQ, ebpf.R0, 0, "out")
	// Another CPU inserted the same key meanwhile, or the map is full.
	addTuple("full")
	b.Label("full")
	b.Emit(ebpf.StoreImm(ebpf.Word, ebpf.R10, nrKey, 1))
	b.Ja("count_err")
	b.Label("unreadable")
	b.Emit(ebpf.StoreImm(ebpf.Word, ebpf.R10, nrKey, 0))
	b.Label("count_err")
	b.Emit(ebpf.Mov64(ebpf.R2, ebpf.R10), ebpf.Add64Imm(ebpf.R2, nrKey))
	b.Emit2(ebpf.LoadMapFD(ebpf.R1, f.errs.FD()))
	b.Emit(ebpf.Call(ebpf.FuncMapLookupElem))
	b.JumpImm(ebpf.JEQ, ebpf.R0, 0, "out")
	b.Emit(ebpf.Mov64Imm(ebpf.R1, 1), ebpf.AtomicAdd64(ebpf.R0, 0, ebpf.R1))
	b.Label("out")
	b.Emit(ebpf.Mov64Imm(ebpf.R0, 0), ebpf.Exit())
	return b.Program()
}

func u32(v uint32) []byte {
	b := make([]byte, 4)
	binary.NativeEndian.PutUint32(b, v)
	return b
}

// track makes the eBPF program count tid's syscalls.
func (f *fastCounter) track(tid int) error {
	return f.tracked.Update(u32(uint32(tid)), u32(1), ebpf.UpdateAny)
}

// untrack stops counting tid (it exited; its number may be reused).
func (f *fastCounter) untrack(tid int) {
	f.tracked.Delete(u32(uint32(tid)))
}

// sawInTracer records that the tracer saw a syscall of a tracked thread
// that the eBPF program counted too, with the argument registers the
// program read, so that drain subtracts it.
func (f *fastCounter) sawInTracer(tid int, nr uint64) {
	if nr >= uint64(f.n) {
		return
	}
	f.seenCounts[int(nr)]++
	m := f.masks[nr]
	if m == 0 {
		return
	}
	var regs unix.PtraceRegs
	if err := unix.PtraceGetRegs(tid, &regs); err != nil {
		return
	}
	raw := [6]uint64{regs.Rdi, regs.Rsi, regs.Rdx, regs.R10, regs.R8, regs.R9}
	var k [7]uint64
	k[0] = nr
	for i := range 6 {
		if m&(1<<i) != 0 {
			k[1+i] = raw[i]
		}
	}
	f.seenTuples[k]++
}

// total returns the calls counted so far (for progress) and the numbers
// seen, before subtraction.
func (f *fastCounter) snapshot() (map[int]uint64, error) {
	out := map[int]uint64{}
	val := make([]byte, f.counts.ValueBytes())
	for nr := range f.n {
		ok, err := f.counts.Lookup(u32(uint32(nr)), val)
		if err != nil {
			return nil, err
		}
		if !ok {
			continue
		}
		var s uint64
		for i := 0; i+8 <= len(val); i += 8 {
			s += binary.NativeEndian.Uint64(val[i:])
		}
		if s > 0 {
			out[nr] = s
		}
	}
	return out, nil
}

// drain adds what the eBPF program counted, less what the tracer saw, to
// c, and returns notes on anything lost.
func (f *fastCounter) drain(c *collector) ([]string, error) {
	counts, err := f.snapshot()
	if err != nil {
		return nil, err
	}
	// Samples first, then the plain counts of what remains.
	sampled := map[int]uint64{}
	key := make([]byte, 56)
	next := make([]byte, 56)
	val := make([]byte, 8)
	var prev []byte
	for {
		ok, err := f.tuples.NextKey(prev, next)
		if err != nil {
			return nil, err
		}
		if !ok {
			break
		}
		copy(key, next)
		prev = key
		if ok, err := f.tuples.Lookup(key, val); err != nil || !ok {
			continue
		}
		var k [7]uint64
		for i := range 7 {
			k[i] = binary.NativeEndian.Uint64(key[8*i:])
		}
		n := binary.NativeEndian.Uint64(val)
		n -= min(n, f.seenTuples[k])
		if n == 0 {
			continue
		}
		nr := int(k[0])
		var args [6]uint64
		copy(args[:], k[1:])
		c.addMasked(f.native, nr, f.masks[nr], args, n, false)
		sampled[nr] += n
	}
	for nr, n := range counts {
		n -= min(n, f.seenCounts[nr])
		n -= min(n, sampled[nr])
		if n > 0 {
			c.addMasked(f.native, nr, 0, [6]uint64{}, n, false)
		}
	}
	var notes []string
	for i, what := range []string{"arguments the eBPF program could not read", "argument combinations beyond the eBPF map's size"} {
		v := make([]byte, 8)
		if ok, _ := f.errs.Lookup(u32(uint32(i)), v); ok {
			if n := binary.NativeEndian.Uint64(v); n > 0 {
				notes = append(notes, fmt.Sprintf("%d syscalls counted without their arguments (%s)", n, what))
			}
		}
	}
	return notes, nil
}

func (f *fastCounter) close() {
	if f == nil {
		return
	}
	f.attach.Close()
	f.prog.Close()
	for _, m := range []*ebpf.Map{f.tracked, f.counts, f.argMask, f.tuples, f.errs} {
		m.Close()
	}
}
