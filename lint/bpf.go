package lint

import (
	"encoding/binary"
	"fmt"
	"slices"
	"strings"

	"github.com/syscage/syscage/arch"
	"github.com/syscage/syscage/bpf"
	"github.com/syscage/syscage/policy"
)

// Program lints a raw seccomp filter. file names it in findings; order is
// the byte order of the machine it is for (bpf.NativeEndian for this
// one). The program must pass bpf.Validate: lint reasons about what the
// kernel would run.
//
// The architecture check is found by following every path of the program
// (NoArchCheck). The other checks decide syscalls by running the program
// on argument values built from the constants it compares with, which
// samples the argument space rather than covering it: a finding that
// something is allowed names an input that is, but "allowed with any
// argument" is a judgement on those samples.
func Program(file string, prog bpf.Program, order binary.ByteOrder, opts Options) ([]Finding, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	if err := bpf.Validate(prog); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	fs := &findings{opts: &opts}
	archPaths(file, prog, fs)
	bd := newProgDecider(file, prog, order)
	x32Check(bd, fs)
	if err := decisionChecks(bd, fs, &opts); err != nil {
		return nil, err
	}
	// ERRNO(0), gathered per instruction.
	var zeroAt []int
	zeroes := map[int][]string{}
	for _, a := range bd.accepted {
		for _, sc := range a.Syscalls() {
			r, err := bpf.Run(prog, &bpf.SeccompData{Nr: int32(sc.Nr), Arch: a.AuditArch}, order)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", file, err)
			}
			if bpf.ActionOf(r.Action) == bpf.RetErrno && r.Action&bpf.RetData == 0 {
				last := r.Path[len(r.Path)-1]
				if _, ok := zeroes[last]; !ok {
					zeroAt = append(zeroAt, last)
				}
				zeroes[last] = append(zeroes[last], a.Name+" "+sc.Name)
			}
		}
	}
	for _, at := range zeroAt {
		list := zeroes[at]
		more := ""
		if len(list) > 5 {
			more = fmt.Sprintf(" and %d more", len(list)-5)
			list = list[:5]
		}
		fs.add(policy.Pos{File: file}, at, ErrnoZero, "return a real errno, such as ERRNO(1) for EPERM",
			"instruction %d returns ERRNO(0), for %s%s: callers believe the syscall succeeded", at, strings.Join(list, ", "), more)
	}
	return fs.sorted(), nil
}

// absKind is what the abstract interpreter knows a register or scratch
// word holds.
type absKind uint8

const (
	absUnknown absKind = iota
	absConst           // a constant, k
	absNr              // seccomp_data.nr, or a value computed from it
	absArch            // seccomp_data.arch, unchanged
	absData            // another word of seccomp_data, or a value computed from data
)

type absVal struct {
	kind absKind
	k    uint32
}

// absState is the abstract state at an instruction on one path.
type absState struct {
	a, x absVal
	mem  [bpf.ScratchWords]absVal
	// pinned: on this path the arch has been compared equal to a
	// constant. nrAt: the first instruction that loaded nr on the path
	// before the arch was pinned, or -1.
	pinned bool
	nrAt   int
}

// archPaths follows every path of prog (classic BPF only jumps forward,
// so paths are finite) and reports each RET that returns something other
// than a kill on a path that read the syscall number and never compared
// the arch with a constant.
func archPaths(file string, prog bpf.Program, fs *findings) {
	type item struct {
		pc int
		st absState
	}
	start := absState{nrAt: -1}
	work := []item{{0, start}}
	visited := map[item]bool{}
	reported := map[int]bool{}
	const budget = 1 << 20
	for steps := 0; len(work) > 0 && steps < budget; steps++ {
		it := work[len(work)-1]
		work = work[:len(work)-1]
		if visited[it] || it.pc < 0 || it.pc >= len(prog) {
			continue
		}
		visited[it] = true
		ins, st, pc := prog[it.pc], it.st, it.pc
		next := func(to int, s absState) { work = append(work, item{to, s}) }
		switch ins.Class() {
		case bpf.ClassLD:
			switch ins.Op & 0xe0 {
			case bpf.ModeABS:
				switch ins.K {
				case bpf.OffsetNr:
					st.a = absVal{kind: absNr}
					if !st.pinned && st.nrAt < 0 {
						st.nrAt = pc
					}
				case bpf.OffsetArch:
					st.a = absVal{kind: absArch}
				default:
					st.a = absVal{kind: absData}
				}
			case bpf.ModeIMM:
				st.a = absVal{kind: absConst, k: ins.K}
			case bpf.ModeMEM:
				st.a = st.mem[ins.K%bpf.ScratchWords]
			case bpf.ModeLEN:
				st.a = absVal{kind: absConst, k: bpf.SeccompDataSize}
			default:
				st.a = absVal{}
			}
			next(pc+1, st)
		case bpf.ClassLDX:
			switch ins.Op & 0xe0 {
			case bpf.ModeIMM:
				st.x = absVal{kind: absConst, k: ins.K}
			case bpf.ModeMEM:
				st.x = st.mem[ins.K%bpf.ScratchWords]
			case bpf.ModeLEN:
				st.x = absVal{kind: absConst, k: bpf.SeccompDataSize}
			default:
				st.x = absVal{}
			}
			next(pc+1, st)
		case bpf.ClassST:
			st.mem[ins.K%bpf.ScratchWords] = st.a
			next(pc+1, st)
		case bpf.ClassSTX:
			st.mem[ins.K%bpf.ScratchWords] = st.x
			next(pc+1, st)
		case bpf.ClassALU:
			// Arithmetic keeps "derived from nr" (a filter may mask or
			// shift the number) but no longer is the arch itself.
			switch st.a.kind {
			case absArch:
				st.a = absVal{kind: absData}
			case absConst:
				st.a = absVal{}
			}
			next(pc+1, st)
		case bpf.ClassMISC:
			if ins.Op&0xf8 == bpf.MiscTAX {
				st.x = st.a
			} else {
				st.a = st.x
			}
			next(pc+1, st)
		case bpf.ClassJMP:
			op := ins.Op & 0xf0
			if op == bpf.JmpJA {
				next(pc+1+int(ins.K), st)
				continue
			}
			tst := st
			// Only equality with a known constant pins the arch, and only
			// on the branch where it holds.
			if op == bpf.JmpJEQ && st.a.kind == absArch {
				if ins.Op&bpf.SrcX == 0 || st.x.kind == absConst {
					tst.pinned = true
				}
			}
			next(pc+1+int(ins.Jt), tst)
			next(pc+1+int(ins.Jf), st)
		case bpf.ClassRET:
			if reported[pc] || st.pinned || st.nrAt < 0 {
				continue
			}
			var ret uint32
			switch {
			case ins.Op&0x18 == bpf.RetSrcK:
				ret = ins.K
			case st.a.kind == absConst:
				ret = st.a.k
			default:
				ret = bpf.RetAllow // unknown: assume the worst
			}
			if a := bpf.ActionOf(ret); a == bpf.RetKillProcess || a == bpf.RetKillThread {
				continue
			}
			reported[pc] = true
			fs.add(policy.Pos{File: file}, pc, NoArchCheck,
				"compare seccomp_data.arch with the expected AUDIT_ARCH first and kill anything else (`if (A != ARCH_X86_64) goto kill`), before loading the number",
				"this path reads the syscall number (instruction %d) and returns %s without having checked the architecture: on another syscall table the same number is another syscall",
				st.nrAt, bpf.ActionString(ret))
		}
	}
}

// progDecider decides by running the program.
type progDecider struct {
	file     string
	prog     bpf.Program
	order    binary.ByteOrder
	accepted []*arch.Arch
	// values are argument words the program compares with, and their
	// neighbours.
	values []uint32
}

func newProgDecider(file string, prog bpf.Program, order binary.ByteOrder) *progDecider {
	d := &progDecider{file: file, prog: prog, order: order}
	// The constants of comparisons that follow a load of an argument
	// word, in program order (a cheap stand-in for following paths).
	vals := []uint32{0, 1, 0xffffffff, 0x7fffffff, 0x80000000}
	argLoaded := false
	for _, ins := range prog {
		if ins.Class() == bpf.ClassLD && ins.Op&0xe0 == bpf.ModeABS {
			argLoaded = ins.K >= bpf.OffsetArgs
		}
		if argLoaded && ins.IsConditionalJump() && ins.Op&bpf.SrcX == 0 {
			k := ins.K
			vals = append(vals, k, k-1, k+1, ^k)
		}
	}
	slices.Sort(vals)
	d.values = slices.Compact(vals)
	// An architecture is accepted when the filter allows some syscall of
	// its table; the one listed first in arch.All that is accepted comes
	// first, as the arch programs are launched as.
	for _, a := range arch.All() {
		if (a.BigEndian) != (order == binary.BigEndian) {
			continue
		}
		for _, sc := range a.Syscalls() {
			r, err := bpf.Run(prog, &bpf.SeccompData{Nr: int32(sc.Nr), Arch: a.AuditArch}, order)
			if err == nil && allows(r.Action) {
				d.accepted = append(d.accepted, a)
				break
			}
		}
	}
	if n := arch.Native(); n != nil {
		if i := slices.Index(d.accepted, n); i > 0 {
			d.accepted = append([]*arch.Arch{n}, slices.Delete(d.accepted, i, i+1)...)
		}
	}
	return d
}

func (d *progDecider) arches() []*arch.Arch { return d.accepted }

// vectors returns the argument vectors tried: all zero, then each
// argument in turn taking each interesting value in its low half (and
// 0xffffffff in its high half), the others zero.
func (d *progDecider) vectors() [][6]uint64 {
	out := [][6]uint64{{}}
	for i := 0; i < 6; i++ {
		for _, v := range d.values {
			for _, hi := range []uint64{0, 0xffffffff} {
				var vec [6]uint64
				vec[i] = hi<<32 | uint64(v)
				if vec != ([6]uint64{}) {
					out = append(out, vec)
				}
			}
		}
	}
	return out
}

func (d *progDecider) outcomes(a *arch.Arch, name string) ([]outcome, error) {
	nr, ok := a.Lookup(name)
	if !ok {
		return nil, nil
	}
	var out []outcome
	for _, v := range d.vectors() {
		r, err := bpf.Run(d.prog, &bpf.SeccompData{Nr: int32(nr), Arch: a.AuditArch, Args: v}, d.order)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", d.file, err)
		}
		last := r.Path[len(r.Path)-1]
		out = append(out, outcome{args: v, ret: r.Action, pos: policy.Pos{File: d.file}, insn: last,
			what: "by this instruction"})
	}
	return out, nil
}

// x32Check reports a filter that accepts x86_64 and lets an x32 number
// through where the x86_64 number of the same syscall is denied.
func x32Check(d *progDecider, fs *findings) {
	x86, err1 := arch.ByName("x86_64")
	x32, err2 := arch.ByName("x32")
	if err1 != nil || err2 != nil || !slices.Contains(d.accepted, x86) {
		return
	}
	for _, sc := range x32.Syscalls() {
		nr86, ok := x86.Lookup(sc.Name)
		if !ok {
			continue
		}
		r86, err := bpf.Run(d.prog, &bpf.SeccompData{Nr: int32(nr86), Arch: x86.AuditArch}, d.order)
		if err != nil || allows(r86.Action) {
			continue
		}
		r32, err := bpf.Run(d.prog, &bpf.SeccompData{Nr: int32(sc.Nr), Arch: x32.AuditArch}, d.order)
		if err != nil || !allows(r32.Action) {
			continue
		}
		last := r32.Path[len(r32.Path)-1]
		fs.add(policy.Pos{File: d.file}, last, X32Bypass,
			"after the arch check, kill numbers with bit 30 set (`if (A >= 0x40000000) goto kill`) unless x32 is meant to be allowed",
			"x32 %s (%#x) returns %s while x86_64 %s (%d) returns %s: the filter does not reject x32 numbers",
			sc.Name, sc.Nr, bpf.ActionString(r32.Action), sc.Name, nr86, bpf.ActionString(r86.Action))
		return
	}
}
