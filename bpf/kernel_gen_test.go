package bpf

import (
	"math/rand/v2"
)

// kernelGen generates valid seccomp programs and inputs for the kernel
// agreement test. Programs are built front to back, tracking scratch
// memory with the kernel's own check_load_and_stores rule so that every
// M[] read is valid, and every jump goes forward inside the program.
type kernelGen struct {
	r      *rand.Rand
	consts []uint32 // values worth comparing against
	errno  uint32   // next ERRNO data; unique within a program
	fatal  int      // percent of returns that kill or trap
	int80  bool     // whether inputs may use the i386 entry
}

// Syscall numbers the inputs use: none exists on x86_64 or i386, and
// the ones with bit 30 set (x32) are far beyond the x32 table.
var kernelNrs = []uint32{1000, 1001, 1002, 1003, 1007, 1024, 1099, 0x400003e8, 0x40000fff, 0x7fffffff, 0x80000005, 0xfffffffe}

// Argument values the inputs use, chosen for their 32-bit halves.
var kernelArgs = []uint64{0, 1, 2, 0x3e8, 0xff, 0x7fffffff, 0x80000000, 0xffffffff, 0x100000000,
	0xffffffff00000000, 0xffffffffffffffff, 0x8000000000000000, 0x123456789abcdef0}

func newKernelGen(seed uint64, ip64, ip32 uint64, int80 bool) *kernelGen {
	g := &kernelGen{r: rand.New(rand.NewPCG(seed, 0x5ecc0)), fatal: 3, int80: int80}
	add := func(v uint64) { g.consts = append(g.consts, uint32(v), uint32(v>>32)) }
	g.consts = append(g.consts, kernelNrs...)
	for _, a := range kernelArgs {
		add(a)
	}
	add(ip64)
	add(ip32)
	g.consts = append(g.consts, auditArchX86_64, auditArchI386, 64, 31, 32, 33)
	return g
}

func (g *kernelGen) constant() uint32 {
	switch g.r.IntN(5) {
	case 0:
		return uint32(g.r.IntN(40))
	case 1:
		return g.r.Uint32()
	default:
		return g.consts[g.r.IntN(len(g.consts))]
	}
}

// offset picks a jump offset reaching at most left instructions ahead.
func (g *kernelGen) offset(left int) uint32 {
	if left <= 0 {
		return 0
	}
	if g.r.IntN(4) == 0 {
		return uint32(g.r.IntN(left))
	}
	return uint32(g.r.IntN(min(left, 6)))
}

// ret returns one or more instructions that end a path. Most return a
// distinct ERRNO so the kernel's answer shows which RET ran; some return
// A through a mapper that turns it into an ERRNO carrying 12 of its bits.
func (g *kernelGen) ret(room int) Program {
	g.errno++
	if g.errno > 4095 || g.errno == 38 { // 38 is ENOSYS, what ALLOW gives
		g.errno = 39
	}
	x := g.r.IntN(100)
	switch {
	case x < g.fatal:
		return Program{Ret([]uint32{RetKillThread, RetKillThread | 7, RetTrap | 5, RetKillProcess, 0x00010000, 0x7ffe0000}[g.r.IntN(6)])}
	case x < g.fatal+2:
		return Program{RetA()} // raw A: often KILL_THREAD (small values) or an unknown action
	case x < 30 && room >= 4:
		shift := []uint32{0, 8, 12, 20}[g.r.IntN(4)]
		return Program{ALUK(AluRsh, shift), ALUK(AluAnd, 0xfff), ALUK(AluOr, RetErrno), RetA()}
	case x < 38:
		return Program{Ret([]uint32{RetAllow, RetLog, RetTrace | 3, RetUserNotif, RetErrno, RetAllow | 9, RetErrno | 0xffff}[g.r.IntN(7)])}
	}
	return Program{Ret(RetErrno | g.errno)}
}

// body returns a program of about n instructions (n >= 1) that starts
// with empty scratch memory and ends in a return.
func (g *kernelGen) body(n int) Program {
	g.errno = uint32(g.r.IntN(4000)) + 1
	p := make(Program, 0, n+4)
	masks := make([]uint16, n+4)
	for i := range masks {
		masks[i] = 0xffff
	}
	var memvalid uint16
	push := func(ins Instruction) {
		pos := len(p)
		memvalid &= masks[pos]
		switch ins.Op {
		case ClassST, ClassSTX:
			memvalid |= 1 << ins.K
		case ClassJMP | JmpJA:
			masks[pos+1+int(ins.K)] &= memvalid
			memvalid = 0xffff
		default:
			if ins.IsConditionalJump() {
				masks[pos+1+int(ins.Jt)] &= memvalid
				masks[pos+1+int(ins.Jf)] &= memvalid
				memvalid = 0xffff
			}
		}
		p = append(p, ins)
	}
	written := func() []uint32 {
		cur := memvalid & masks[len(p)]
		var ks []uint32
		for k := uint32(0); k < ScratchWords; k++ {
			if cur&(1<<k) != 0 {
				ks = append(ks, k)
			}
		}
		return ks
	}
	aluK := []uint16{AluAdd, AluSub, AluMul, AluDiv, AluAnd, AluOr, AluXor, AluLsh, AluRsh}
	jmps := []uint16{JmpJEQ, JmpJGT, JmpJGE, JmpJSET}
	for len(p) < n {
		left := n - len(p) - 1 // instructions after this one
		if left == 0 {
			for _, ins := range g.ret(1) {
				push(ins)
			}
			break
		}
		switch x := g.r.IntN(100); {
		case x < 12:
			push(LoadAbs(uint32(g.r.IntN(SeccompDataSize/4)) * 4))
		case x < 17:
			push(LoadImm(g.constant()))
		case x < 21:
			push(LoadXImm(g.constant()))
		case x < 23:
			push([]Instruction{LoadLen(), LoadXLen()}[g.r.IntN(2)])
		case x < 29:
			ks := written()
			if len(ks) == 0 {
				push(Store(uint32(g.r.IntN(ScratchWords))))
				continue
			}
			k := ks[g.r.IntN(len(ks))]
			push([]Instruction{LoadMem(k), LoadXMem(k)}[g.r.IntN(2)])
		case x < 36:
			push([]Instruction{Store(uint32(g.r.IntN(ScratchWords))), StoreX(uint32(g.r.IntN(ScratchWords)))}[g.r.IntN(2)])
		case x < 50:
			op := aluK[g.r.IntN(len(aluK))]
			k := g.constant()
			switch op {
			case AluDiv:
				if k == 0 {
					k = 3
				}
			case AluLsh, AluRsh:
				k %= 32
			}
			push(ALUK(op, k))
		case x < 58:
			push(ALUX(aluK[g.r.IntN(len(aluK))]))
		case x < 60:
			push(Neg())
		case x < 64:
			push([]Instruction{TAX(), TXA()}[g.r.IntN(2)])
		case x < 67:
			push(Jump(g.offset(left)))
		case x < 80:
			op := jmps[g.r.IntN(len(jmps))]
			if g.r.IntN(4) == 0 {
				push(JumpIfX(op, uint8(g.offset(left)), uint8(g.offset(left))))
			} else {
				push(JumpIf(op, g.constant(), uint8(g.offset(left)), uint8(g.offset(left))))
			}
		default:
			for _, ins := range g.ret(left + 1) {
				push(ins)
			}
		}
	}
	return p
}

// program returns kernelGuard followed by a random body.
func (g *kernelGen) program() Program {
	return concat(kernelGuard(), g.body(4+g.r.IntN(50)))
}

// inputs returns n calls to make, each with a distinct ID from next.
func (g *kernelGen) inputs(n int, next *int) []kernelInput {
	in := make([]kernelInput, n)
	for i := range in {
		in[i].ID = *next
		*next++
		in[i].Nr = kernelNrs[g.r.IntN(len(kernelNrs))]
		in[i].I386 = g.int80 && g.r.IntN(4) == 0
		for a := range in[i].Args {
			v := kernelArgs[g.r.IntN(len(kernelArgs))]
			if g.r.IntN(8) == 0 {
				v = g.r.Uint64()
			}
			if in[i].I386 {
				v = uint64(uint32(v)) // an i386 process has 32-bit registers
			}
			in[i].Args[a] = v
		}
	}
	return in
}

// mutate returns a copy of p with one or two instructions of its body
// (after the guard) damaged in ways the kernel's checks care about.
func (g *kernelGen) mutate(p Program) Program {
	q := append(Program(nil), p...)
	guard := len(kernelGuard())
	for m := 0; m < 1+g.r.IntN(2); m++ {
		i := guard + g.r.IntN(len(q)-guard)
		ins := &q[i]
		switch g.r.IntN(8) {
		case 0:
			ins.Op = uint16(g.r.IntN(256))
		case 1:
			ins.Op = []uint16{ClassLD | SizeH | ModeABS, ClassLD | SizeB | ModeABS, ClassALU | AluMod,
				ClassALU | AluMod | SrcX, ClassLD | ModeIND, ClassLDX | SizeB | ModeMSH, ClassRET | RetSrcX,
				ClassALU | AluNeg | SrcX, ClassLD | SizeH | ModeIMM, 0x106}[g.r.IntN(10)]
		case 2:
			ins.Jt = uint8(g.r.IntN(256))
		case 3:
			ins.Jf = uint8(g.r.IntN(64))
		case 4:
			ins.K = []uint32{0, 1, 2, 15, 16, 31, 32, 60, 62, 64, skfAdOff, skfAdOff + 4, skfAdOff + 64, g.r.Uint32()}[g.r.IntN(14)]
		case 5:
			q = q[:len(q)-1]
			if len(q) == guard {
				q = append(q, LoadImm(0))
			}
		case 6:
			*ins = []Instruction{LoadMem(uint32(g.r.IntN(ScratchWords))), LoadXMem(uint32(g.r.IntN(ScratchWords)))}[g.r.IntN(2)]
		case 7:
			*ins = Jump(uint32(len(q) - i - 1 - g.r.IntN(2)))
		}
	}
	return q
}
