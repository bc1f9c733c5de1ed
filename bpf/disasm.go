package bpf

import (
	"fmt"
	"strings"
)

// DisasmOptions controls a listing.
type DisasmOptions struct {
	// Namer names arches and syscalls; nil prints numbers.
	Namer Namer
	// Arch is the AUDIT_ARCH value assumed where the filter has not
	// checked seccomp_data.arch (0: none). It also sets the byte order in
	// which argument halves are named: a filter runs on one machine, and
	// on a big-endian one (AUDIT_ARCH without __AUDIT_ARCH_LE) the low
	// half of args[i] is the word at 16+8i+4. Without Arch the listing
	// assumes little-endian. The listing records Arch in a ".arch" line so
	// that it assembles back to the same program.
	Arch uint32
	// Raw adds the CODE JT JF K columns of each instruction, as
	// seccomp-tools prints them. The assembler checks them when it reads
	// them back.
	Raw bool
}

// Line is one instruction of a listing.
type Line struct {
	Index       int
	Instruction Instruction
	// Text is the instruction in the assembler's syntax, e.g.
	// "if (A != ARCH_X86_64) goto 0011".
	Text string
	// Note explains an instruction printed as raw ".insn": an opcode
	// classic BPF does not define, or fields the opcode does not use that
	// are not zero. Empty otherwise.
	Note string
}

// Disassemble returns a listing of p, one instruction per line, in the
// syntax Assemble reads: AssembleWith(Disassemble(p, opts), AsmOptions{Namer:
// opts.Namer}) returns p exactly, for every program, valid or not.
//
// Comparisons print names where the listing can know them: an AUDIT_ARCH
// value where A holds seccomp_data.arch, and a syscall name where A holds
// seccomp_data.nr and the arch is known on every path that reaches the
// comparison (after `if (A != ARCH_X86_64) goto ...`, the fall-through
// path knows it is x86_64). Elsewhere, and whenever the Namer's answer
// would not read back to the same number, they print numbers.
func Disassemble(p Program, opts DisasmOptions) string {
	var b strings.Builder
	if opts.Arch != 0 {
		name, ok := archName(opts.Namer, opts.Arch)
		if !ok {
			name = fmt.Sprintf("0x%08x", opts.Arch)
		}
		fmt.Fprintf(&b, ".arch %s  # assumed where the filter does not check the arch\n", name)
	}
	if opts.Raw {
		b.WriteString("# line  CODE  JT   JF      K\n")
		b.WriteString("# =================================\n")
	}
	for _, l := range Listing(p, opts) {
		if opts.Raw {
			in := l.Instruction
			fmt.Fprintf(&b, " %04d: 0x%02x 0x%02x 0x%02x 0x%08x  %s", l.Index, in.Op, in.Jt, in.Jf, in.K, l.Text)
		} else {
			fmt.Fprintf(&b, " %04d: %s", l.Index, l.Text)
		}
		if l.Note != "" {
			b.WriteString("  # " + l.Note)
		}
		b.WriteByte('\n')
	}
	return b.String()
}

// Listing returns the lines Disassemble prints, for callers that want the
// instructions as data.
func Listing(p Program, opts DisasmOptions) []Line {
	nodes := make([]flowNode, len(p))
	for i, ins := range p {
		nodes[i] = nodeOf(uint64(i), ins)
	}
	states := analyze(nodes, opts.Arch)
	r := renderer{namer: opts.Namer, bigEndian: bigEndianArch(opts.Arch)}
	out := make([]Line, len(p))
	for i, ins := range p {
		l := Line{Index: i, Instruction: ins}
		if text, ok := r.render(uint64(i), ins, states[i]); ok {
			l.Text = text
		} else {
			l.Text = fmt.Sprintf(".insn 0x%02x 0x%02x 0x%02x 0x%08x", ins.Op, ins.Jt, ins.Jf, ins.K)
			l.Note = r.note(uint64(i), ins, states[i])
		}
		out[i] = l
	}
	return out
}

// bigEndianArch reports whether an AUDIT_ARCH value names a big-endian
// machine: __AUDIT_ARCH_LE (include/uapi/linux/audit.h) is clear. Zero,
// no arch, counts as little-endian.
func bigEndianArch(auditArch uint32) bool {
	return auditArch != 0 && auditArch&0x40000000 == 0
}

// field is what a register or scratch word is known to hold.
type field uint8

const (
	fieldOther field = iota // anything else, or not known
	fieldArch               // seccomp_data.arch
	fieldNr                 // seccomp_data.nr
)

// flowState is what is known on entry to an instruction, on every path
// that reaches it.
type flowState struct {
	reached   bool
	a, x      field
	mem       [ScratchWords]field
	archKnown bool
	arch      uint32
}

// meet combines the states of two paths into what holds on both.
func (s *flowState) meet(o flowState) {
	if !s.reached {
		*s = o
		return
	}
	if s.a != o.a {
		s.a = fieldOther
	}
	if s.x != o.x {
		s.x = fieldOther
	}
	for i := range s.mem {
		if s.mem[i] != o.mem[i] {
			s.mem[i] = fieldOther
		}
	}
	if !o.archKnown || s.arch != o.arch {
		s.archKnown = false
	}
}

// flowNode is one instruction with the absolute indexes its jumps go to.
type flowNode struct {
	ins   Instruction
	shape shape
	t, f  uint64
}

func nodeOf(i uint64, ins Instruction) flowNode {
	n := flowNode{ins: ins, shape: shapeOf(ins.Op)}
	switch n.shape {
	case shapeAlways:
		n.t = i + 1 + uint64(ins.K)
	case shapeCond:
		n.t = i + 1 + uint64(ins.Jt)
		n.f = i + 1 + uint64(ins.Jf)
	}
	return n
}

// analyze computes the entry state of every node by forward dataflow.
// Classic BPF jumps only forward, so one pass in index order sees every
// predecessor of a node before the node itself. Where the program has not
// compared the arch, assumedArch (if not 0) is taken as known. After
// `A == k` on A holding the arch, the path where it is equal knows the
// arch is k; the other path knows no arch. Unreached nodes know nothing.
func analyze(nodes []flowNode, assumedArch uint32) []flowState {
	states := make([]flowState, len(nodes))
	if len(nodes) == 0 {
		return states
	}
	states[0] = flowState{reached: true, archKnown: assumedArch != 0, arch: assumedArch}
	flow := func(to uint64, s flowState) {
		if to < uint64(len(states)) {
			states[to].meet(s)
		}
	}
	for i, n := range nodes {
		s := states[i]
		if !s.reached {
			continue
		}
		ins := n.ins
		switch n.shape {
		case shapeAlways:
			flow(n.t, s)
			continue
		case shapeCond:
			t, f := s, s
			if ins.Op == ClassJMP|JmpJEQ|SrcK && s.a == fieldArch {
				t.archKnown, t.arch = true, ins.K
				f.archKnown = false
			}
			flow(n.t, t)
			flow(n.f, f)
			continue
		}
		if ins.Class() == ClassRET {
			continue
		}
		switch ins.Op {
		case ClassLD | SizeW | ModeABS:
			switch ins.K {
			case OffsetNr:
				s.a = fieldNr
			case OffsetArch:
				s.a = fieldArch
			default:
				s.a = fieldOther
			}
		case ClassLD | SizeW | ModeMEM:
			s.a = fieldOther
			if ins.K < ScratchWords {
				s.a = s.mem[ins.K]
			}
		case ClassLDX | SizeW | ModeMEM:
			s.x = fieldOther
			if ins.K < ScratchWords {
				s.x = s.mem[ins.K]
			}
		case ClassST:
			if ins.K < ScratchWords {
				s.mem[ins.K] = s.a
			}
		case ClassSTX:
			if ins.K < ScratchWords {
				s.mem[ins.K] = s.x
			}
		case ClassMISC | MiscTAX:
			s.x = s.a
		case ClassMISC | MiscTXA:
			s.a = s.x
		default:
			switch ins.Class() {
			case ClassLD, ClassALU:
				s.a = fieldOther
			case ClassLDX:
				s.x = fieldOther
			default:
				// An opcode classic BPF does not define: assume it
				// could have changed anything.
				s.a, s.x = fieldOther, fieldOther
				s.mem = [ScratchWords]field{}
			}
		}
		flow(uint64(i)+1, s)
	}
	return states
}

// renderer prints instructions in the assembler's syntax.
type renderer struct {
	namer     Namer
	bigEndian bool
}

// aluOps maps ALU operations to their compound assignment operators.
var aluOps = map[uint16]string{
	AluAdd: "+=", AluSub: "-=", AluMul: "*=", AluDiv: "/=", AluOr: "|=",
	AluAnd: "&=", AluLsh: "<<=", AluRsh: ">>=", AluMod: "%=", AluXor: "^=",
}

// cmpOps maps conditional jump operations to their operator and its
// negation (the operator that reads the same jump with jt and jf swapped).
var cmpOps = map[uint16][2]string{
	JmpJEQ: {"==", "!="}, JmpJGT: {">", "<="}, JmpJGE: {">=", "<"}, JmpJSET: {"&", "!&"},
}

// render returns the statement for ins at index i, or false when it has
// no statement that encodes exactly these bytes: an opcode classic BPF
// (net/core/filter.c: bpf_check_classic) does not define, or a field the
// opcode ignores that is not zero.
func (r renderer) render(i uint64, ins Instruction, s flowState) (string, bool) {
	if ins.Class() != ClassJMP && (ins.Jt != 0 || ins.Jf != 0) {
		return "", false
	}
	noK := ins.K == 0
	k := ins.K
	switch ins.Op {
	case ClassLD | SizeW | ModeIMM:
		return "A = " + imm(k), true
	case ClassLD | SizeW | ModeABS:
		return "A = " + r.absName(k), true
	case ClassLD | SizeH | ModeABS:
		return fmt.Sprintf("A = data16[%s]", imm(k)), true
	case ClassLD | SizeB | ModeABS:
		return fmt.Sprintf("A = data8[%s]", imm(k)), true
	case ClassLD | SizeW | ModeIND, ClassLD | SizeH | ModeIND, ClassLD | SizeB | ModeIND:
		size := map[uint16]string{SizeW: "32", SizeH: "16", SizeB: "8"}[ins.Op&0x18]
		if k == 0 {
			return fmt.Sprintf("A = data%s[X]", size), true
		}
		return fmt.Sprintf("A = data%s[X + %s]", size, imm(k)), true
	case ClassLD | SizeW | ModeMEM:
		return fmt.Sprintf("A = mem[%d]", k), true
	case ClassLD | SizeW | ModeLEN:
		return "A = len", noK
	case ClassLDX | SizeW | ModeIMM:
		return "X = " + imm(k), true
	case ClassLDX | SizeW | ModeMEM:
		return fmt.Sprintf("X = mem[%d]", k), true
	case ClassLDX | SizeW | ModeLEN:
		return "X = len", noK
	case ClassLDX | SizeB | ModeMSH:
		return fmt.Sprintf("X = 4 * (data8[%s] & 0xf)", imm(k)), true
	case ClassST:
		return fmt.Sprintf("mem[%d] = A", k), true
	case ClassSTX:
		return fmt.Sprintf("mem[%d] = X", k), true
	case ClassALU | AluNeg:
		return "A = -A", noK
	case ClassMISC | MiscTAX:
		return "X = A", noK
	case ClassMISC | MiscTXA:
		return "A = X", noK
	case ClassRET | RetSrcK:
		return "return " + ActionString(k), true
	case ClassRET | RetSrcA:
		return "return A", noK
	case ClassJMP | JmpJA:
		return "goto " + lineRef(i+1+uint64(k)), ins.Jt == 0 && ins.Jf == 0
	}
	switch ins.Class() {
	case ClassALU:
		op, ok := aluOps[ins.Op&0xf0]
		if !ok {
			return "", false
		}
		if ins.Op&SrcX != 0 {
			return "A " + op + " X", ins.Op == ClassALU|ins.Op&0xf0|SrcX && noK
		}
		bits := ins.Op&0xf0 == AluAnd || ins.Op&0xf0 == AluOr || ins.Op&0xf0 == AluXor
		return "A " + op + " " + constant(k, bits), ins.Op == ClassALU|ins.Op&0xf0
	case ClassJMP:
		ops, ok := cmpOps[ins.Op&0xf0]
		if !ok || ins.Op&^0xf8 != ClassJMP {
			return "", false
		}
		operand := "X"
		if ins.Op&SrcX == 0 {
			operand = r.operand(ins.Op&0xf0, k, s)
		} else if !noK {
			return "", false
		}
		next := i + 1
		switch {
		case ins.Jt == 0 && ins.Jf != 0:
			return condition(ops[1], operand) + " goto " + lineRef(next+uint64(ins.Jf)), true
		case ins.Jf == 0:
			return condition(ops[0], operand) + " goto " + lineRef(next+uint64(ins.Jt)), true
		default:
			return condition(ops[0], operand) + " goto " + lineRef(next+uint64(ins.Jt)) + " else goto " + lineRef(next+uint64(ins.Jf)), true
		}
	}
	return "", false
}

// note explains why ins prints as raw ".insn".
func (r renderer) note(i uint64, ins Instruction, s flowState) string {
	clean := ins
	var unused []string
	if ins.Class() != ClassJMP {
		clean.Jt, clean.Jf = 0, 0
		if ins.Jt != 0 {
			unused = append(unused, fmt.Sprintf("jt=%d", ins.Jt))
		}
		if ins.Jf != 0 {
			unused = append(unused, fmt.Sprintf("jf=%d", ins.Jf))
		}
	} else if shapeOf(ins.Op) == shapeAlways {
		clean.Jt, clean.Jf = 0, 0
		if ins.Jt != 0 || ins.Jf != 0 {
			unused = append(unused, fmt.Sprintf("jt=%d jf=%d", ins.Jt, ins.Jf))
		}
	}
	if _, ok := r.render(i, clean, s); !ok && ins.K != 0 {
		clean.K = 0
		unused = append(unused, fmt.Sprintf("k=0x%x", ins.K))
	}
	text, ok := r.render(i, clean, s)
	if !ok {
		return fmt.Sprintf("opcode 0x%02x is not a classic BPF instruction", ins.Op)
	}
	return fmt.Sprintf("%s, with unused %s", text, strings.Join(unused, " "))
}

// condition renders the parenthesised test of a conditional jump.
func condition(op, operand string) string {
	switch op {
	case "&":
		return "if (A & " + operand + ")"
	case "!&":
		return "if (!(A & " + operand + "))"
	}
	return "if (A " + op + " " + operand + ")"
}

// operand renders the constant of a comparison, by name where the state
// says what A holds and the name reads back to the same number.
func (r renderer) operand(op uint16, k uint32, s flowState) string {
	if r.namer != nil && op != JmpJSET {
		switch s.a {
		case fieldArch:
			if name, ok := archName(r.namer, k); ok {
				return name
			}
		case fieldNr:
			if s.archKnown {
				if name, ok := syscallName(r.namer, s.arch, k); ok {
					return name
				}
			}
		}
	}
	return constant(k, op == JmpJSET)
}

// archName names an AUDIT_ARCH value if the name is one the assembler
// reads back to the same value.
func archName(n Namer, v uint32) (string, bool) {
	if n == nil {
		return "", false
	}
	name, ok := n.AuditArchName(v)
	if !ok || !isName(name) {
		return "", false
	}
	if back, ok := n.AuditArchValue(name); !ok || back != v {
		return "", false
	}
	return name, true
}

// syscallName names syscall nr of arch if the assembler reads the name
// back to nr: it must not also be an arch name, which the assembler tries
// first.
func syscallName(n Namer, arch, nr uint32) (string, bool) {
	name, ok := n.SyscallName(arch, nr)
	if !ok || !isName(name) {
		return "", false
	}
	if _, isArch := n.AuditArchValue(name); isArch {
		return "", false
	}
	if back, ok := n.SyscallNumber(arch, name); !ok || back != nr {
		return "", false
	}
	return name, true
}

// isName reports whether s is an identifier the assembler reads as a
// name rather than as a keyword or a number.
func isName(s string) bool {
	if s == "" || s == "A" || s == "X" {
		return false
	}
	for i, c := range s {
		switch {
		case c == '_', c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z':
		case c >= '0' && c <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}

// absName renders a 32-bit load from seccomp_data at offset k.
func (r renderer) absName(k uint32) string {
	switch k {
	case OffsetNr:
		return "sys_number"
	case OffsetArch:
		return "arch"
	case InstructionPointerLowOffset(r.bigEndian):
		return "instruction_pointer"
	case InstructionPointerHighOffset(r.bigEndian):
		return "instruction_pointer >> 32"
	}
	if k >= OffsetArgs && k < SeccompDataSize {
		i := int(k-OffsetArgs) / 8
		switch k {
		case ArgLowOffset(i, r.bigEndian):
			return fmt.Sprintf("args[%d]", i)
		case ArgHighOffset(i, r.bigEndian):
			return fmt.Sprintf("args[%d] >> 32", i)
		}
	}
	return fmt.Sprintf("data32[%s]", imm(k))
}

// imm renders a constant: small ones in decimal, the rest in hex.
func imm(k uint32) string {
	if k < 1024 {
		return fmt.Sprint(k)
	}
	return fmt.Sprintf("0x%x", k)
}

// constant renders the constant of an operation; bit masks print in hex.
func constant(k uint32, bits bool) string {
	if bits {
		return fmt.Sprintf("0x%x", k)
	}
	return imm(k)
}

// lineRef renders an absolute instruction index as jump targets print it.
func lineRef(i uint64) string { return fmt.Sprintf("%04d", i) }
