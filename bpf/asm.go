package bpf

import (
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/syscage/syscage/internal/suggest"
)

// AsmOptions controls AssembleWith.
type AsmOptions struct {
	// Namer resolves arch and syscall names; nil accepts only numbers.
	Namer Namer
	// Arch is the AUDIT_ARCH value assumed where the program does not
	// check the arch, as in DisasmOptions; it also sets the byte order
	// that args[i] and args[i] >> 32 refer to. A ".arch" line overrides it.
	Arch uint32
}

// NameLister is implemented by Namers that can list the names they know;
// the assembler then suggests the nearest ones for a misspelt name.
type NameLister interface {
	AuditArchNames() []string
	SyscallNames(auditArch uint32) []string
}

// AsmError is one error in assembler source, at a 1-based line and byte
// column.
type AsmError struct {
	Line, Col int
	Msg       string
}

func (e *AsmError) Error() string { return fmt.Sprintf("%d:%d: %s", e.Line, e.Col, e.Msg) }

// AsmErrors is every error found in one source, in source order.
// errors.As finds the individual *AsmError values.
type AsmErrors []*AsmError

// maxShown is how many errors AsmErrors.Error spells out.
const maxShown = 10

func (l AsmErrors) Error() string {
	var b strings.Builder
	for i, e := range l {
		if i == maxShown {
			fmt.Fprintf(&b, "\n(and %d more errors)", len(l)-maxShown)
			break
		}
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(e.Error())
	}
	return b.String()
}

// Unwrap returns the errors for errors.Is and errors.As.
func (l AsmErrors) Unwrap() []error {
	out := make([]error, len(l))
	for i, e := range l {
		out[i] = e
	}
	return out
}

// Assemble reads a program in the text syntax. namer may be nil; see
// AssembleWith.
func Assemble(src string, namer Namer) (Program, error) {
	return AssembleWith(src, AsmOptions{Namer: namer})
}

// AssembleWith reads a program in syscage's BPF assembly, the syntax
// Disassemble prints, one instruction per line:
//
//	A = 5              A = X              A = -A            A = len
//	A = sys_number     A = arch           A = instruction_pointer
//	A = args[1]        (low 32 bits of argument 1)
//	A = args[1] >> 32  (high 32 bits; likewise instruction_pointer >> 32)
//	A = mem[3]         mem[3] = A         mem[3] = X
//	A = data32[k]      A = data16[k]      A = data8[k]      A = data32[X + k]
//	X = 5              X = A              X = len           X = mem[3]
//	X = 4 * (data8[k] & 0xf)
//	A += 1   A -= X   A *= k   A /= k   A %= k   A &= 0xff   A |= k   A ^= k
//	A <<= k  A >>= k
//	if (A == read) goto L1             (true: L1, false: the next line)
//	if (A != ARCH_X86_64) goto 0010    (the negated forms !=, <, <= swap jt and jf)
//	if (A & 0x4) goto L1 else L2       (or "else goto L2")
//	if (!(A & 0x4)) goto L1
//	if (A >= X) goto L1
//	goto L1
//	return ALLOW       return ERRNO(1)    return 0x7fff0000  return A
//	.insn 0x15 0 9 0xc000003e          (any instruction, as CODE JT JF K)
//	.arch ARCH_X86_64                  (see AsmOptions.Arch)
//
// Labels are "name:" before a statement, alone or on its line. Jump
// targets are label names or instruction numbers: "goto 0010" jumps to
// the instruction numbered 10 in the source, counting from 0000. A number
// followed by a colon ("0005:") checks that the next instruction is that
// one. Numbers are decimal, leading zeros allowed, or 0x hex; "-1" means
// 0xffffffff. Comments start with "#" or "//".
//
// After the line number, four numbers (CODE JT JF K, as Disassemble's Raw
// columns print them) may precede the statement; the assembler checks that
// the statement assembles to exactly those bytes. Alone, they are the
// instruction.
//
// A name compared with A is an arch name (AuditArchValue) if the Namer
// knows it, else a syscall name of the arch known at that point, found by
// the same tracking Disassemble uses: the comparison must be on a value
// loaded from sys_number, on every path, with the arch checked (or
// assumed through .arch) the same way on every path.
//
// A conditional jump to a label more than 255 instructions away is routed
// through a trampoline, as Builder does; instruction numbers in the source
// then keep counting source statements, and the program gets longer.
// Listings never need this: their jumps came from 8-bit fields.
//
// AssembleWith reports every error it can find at once, as AsmErrors. It
// does not check that the kernel would accept the program (Validate
// does): any instruction can be written, so that every listing reads back.
func AssembleWith(src string, opts AsmOptions) (Program, error) {
	a := &assembler{opts: opts, arch: opts.Arch, labels: map[string]labelDef{}}
	lines := strings.Split(src, "\n")
	for i, text := range lines {
		a.line(i+1, strings.TrimSuffix(text, "\r"))
	}
	return a.finish(len(lines))
}

// token kinds of the lexer.
type tokKind uint8

const (
	tokEOL tokKind = iota
	tokIdent
	tokNum
	tokDirective // ".insn", ".arch"
	tokPunct
)

type token struct {
	kind tokKind
	text string
	col  int
	val  uint64 // tokNum
}

// describe renders a token for "found ..." in errors.
func (t token) describe() string {
	if t.kind == tokEOL {
		return "end of line"
	}
	return strconv.Quote(t.text)
}

// puncts are the operators, longest first so the lexer takes the longest.
var puncts = []string{
	"<<=", ">>=",
	"==", "!=", ">=", "<=", "+=", "-=", "*=", "/=", "%=", "&=", "|=", "^=", ">>", "<<",
	"(", ")", "[", "]", ":", "=", "<", ">", "&", "!", "+", "-", "*", ",", "|", "^", "%", "/",
}

// lex splits one line into tokens, ending with tokEOL; comments are dropped.
func lex(line string, lineNo int) ([]token, *AsmError) {
	var toks []token
	i := 0
	for i < len(line) {
		c := line[i]
		switch {
		case c == ' ' || c == '\t':
			i++
			continue
		case c == '#' || strings.HasPrefix(line[i:], "//"):
			i = len(line)
			continue
		case isIdentStart(c) || c == '.' && i+1 < len(line) && isIdentStart(line[i+1]):
			j := i + 1
			for j < len(line) && isIdentChar(line[j]) {
				j++
			}
			kind := tokIdent
			if c == '.' {
				kind = tokDirective
			}
			toks = append(toks, token{kind: kind, text: line[i:j], col: i + 1})
			i = j
			continue
		case c >= '0' && c <= '9':
			j := i + 1
			for j < len(line) && isIdentChar(line[j]) {
				j++
			}
			text := line[i:j]
			v, ok := parseNumber(text)
			if !ok {
				return nil, &AsmError{lineNo, i + 1, fmt.Sprintf("malformed number %q: write decimal digits or 0x and hex digits, at most 64 bits", text)}
			}
			toks = append(toks, token{kind: tokNum, text: text, col: i + 1, val: v})
			i = j
			continue
		}
		matched := false
		for _, p := range puncts {
			if strings.HasPrefix(line[i:], p) {
				toks = append(toks, token{kind: tokPunct, text: p, col: i + 1})
				i += len(p)
				matched = true
				break
			}
		}
		if !matched {
			r, _ := utf8.DecodeRuneInString(line[i:])
			return nil, &AsmError{lineNo, i + 1, fmt.Sprintf("unexpected character %q", r)}
		}
	}
	return append(toks, token{kind: tokEOL, col: len(line) + 1}), nil
}

func isIdentStart(c byte) bool { return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
func isIdentChar(c byte) bool  { return isIdentStart(c) || c >= '0' && c <= '9' }

// parseNumber reads decimal (leading zeros are decimal, so line numbers
// like 0010 mean ten) or 0x hex.
func parseNumber(s string) (uint64, bool) {
	var v uint64
	var err error
	if len(s) > 2 && (s[:2] == "0x" || s[:2] == "0X") {
		v, err = strconv.ParseUint(s[2:], 16, 64)
	} else {
		for _, c := range s {
			if c < '0' || c > '9' {
				return 0, false
			}
		}
		v, err = strconv.ParseUint(s, 10, 64)
	}
	return v, err == nil
}

// ref is a jump target as written.
type ref struct {
	next  bool   // the next instruction (an omitted branch)
	label string // a label name, or
	index uint64 // an instruction number
	col   int
}

// hexCols are the CODE JT JF K columns of a listing line.
type hexCols struct {
	vals [4]uint64
	col  int
}

// stmt is one instruction statement.
type stmt struct {
	line, col int
	ins       Instruction
	jt, jf    ref    // for jumps written with targets
	raw       bool   // .insn or bare columns: offsets are the fields
	name      string // a name to resolve into K
	nameCol   int
	hex       *hexCols
}

type labelDef struct {
	index     int
	line, col int
}

// lineLabel is a numeric "0005:" waiting for its instruction.
type lineLabel struct {
	val       uint64
	line, col int
}

// assembler holds the state of one AssembleWith call.
type assembler struct {
	opts     AsmOptions
	arch     uint32
	archLine int // line of the .arch directive, 0 if none
	errs     AsmErrors
	stmts    []*stmt
	labels   map[string]labelDef
	pending  []lineLabel

	// the line being parsed
	lineNo int
	toks   []token
	pos    int
	err    *AsmError
}

func (a *assembler) errorf(line, col int, format string, args ...any) {
	a.errs = append(a.errs, &AsmError{line, col, fmt.Sprintf(format, args...)})
}

// peek returns the current token.
func (a *assembler) peek() token { return a.toks[a.pos] }

// next consumes the current token.
func (a *assembler) next() token {
	t := a.toks[a.pos]
	if t.kind != tokEOL {
		a.pos++
	}
	return t
}

// is reports whether the current token is exactly text (not a number).
func (a *assembler) is(text string) bool {
	t := a.peek()
	return t.kind != tokNum && t.kind != tokEOL && t.text == text
}

// fail records the line's first error; later ones on the same line are
// usually consequences of it.
func (a *assembler) fail(t token, format string, args ...any) {
	if a.err == nil {
		a.err = &AsmError{a.lineNo, t.col, fmt.Sprintf(format, args...)}
	}
}

// expect consumes text or records "expected what".
func (a *assembler) expect(text, what string) bool {
	if a.err != nil {
		return false
	}
	if !a.is(text) {
		a.fail(a.peek(), "expected %s, found %s", what, a.peek().describe())
		return false
	}
	a.next()
	return true
}

// line parses one source line.
func (a *assembler) line(lineNo int, text string) {
	toks, lerr := lex(text, lineNo)
	if lerr != nil {
		a.errs = append(a.errs, lerr)
		a.add(&stmt{line: lineNo, col: lerr.Col, ins: Ret(0)}) // keep counting, as below
		return
	}
	a.lineNo, a.toks, a.pos, a.err = lineNo, toks, 0, nil
	count := len(a.stmts)
	directive := false
	defer func() {
		if a.err == nil {
			return
		}
		a.errs = append(a.errs, a.err)
		if len(a.stmts) == count && !directive {
			// Keep counting instructions, so that one bad line does
			// not make every later instruction number look wrong.
			a.add(&stmt{line: lineNo, col: a.err.Col, ins: Ret(0)})
		}
	}()

	// Labels: "name:" and "0005:".
	for a.pos+1 < len(a.toks) && a.toks[a.pos+1].kind == tokPunct && a.toks[a.pos+1].text == ":" {
		t := a.next()
		a.next()
		switch t.kind {
		case tokIdent:
			if d, dup := a.labels[t.text]; dup {
				a.errorf(lineNo, t.col, "label %q already defined at line %d; rename one", t.text, d.line)
				continue
			}
			a.labels[t.text] = labelDef{index: len(a.stmts), line: lineNo, col: t.col}
		case tokNum:
			a.pending = append(a.pending, lineLabel{t.val, lineNo, t.col})
		default:
			a.fail(t, "expected a label name or an instruction number before ':', found %s", t.describe())
			return
		}
	}

	// Listing columns: CODE JT JF K.
	var hex *hexCols
	if t := a.peek(); t.kind == tokNum {
		hex = &hexCols{col: t.col}
		for i := range hex.vals {
			n := a.next()
			if n.kind != tokNum {
				a.fail(n, "expected 4 numbers CODE JT JF K, found %s as number %d", n.describe(), i+1)
				return
			}
			hex.vals[i] = n.val
		}
		if !a.checkHex(hex) {
			return
		}
	}

	t := a.peek()
	if t.kind == tokEOL {
		if hex != nil {
			a.add(&stmt{line: lineNo, col: hex.col, raw: true, ins: hex.instruction()})
		}
		return
	}
	s := &stmt{line: lineNo, col: t.col, hex: hex}
	switch {
	case t.kind == tokDirective && t.text == ".insn":
		a.next()
		var v hexCols
		v.col = a.peek().col
		for i := range v.vals {
			if i > 0 && a.is(",") {
				a.next()
			}
			n := a.next()
			if n.kind != tokNum {
				a.fail(n, ".insn takes 4 numbers CODE JT JF K; found %s as number %d", n.describe(), i+1)
				return
			}
			v.vals[i] = n.val
		}
		if !a.checkHex(&v) {
			return
		}
		s.raw, s.ins = true, v.instruction()
	case t.kind == tokDirective && t.text == ".arch":
		directive = true
		a.next()
		a.archDirective(t)
		a.endOfLine()
		return
	case t.kind == tokIdent && t.text == "A":
		a.next()
		a.parseA(s)
	case t.kind == tokIdent && t.text == "X":
		a.next()
		a.parseX(s)
	case t.kind == tokIdent && t.text == "mem":
		a.next()
		k := a.index("mem")
		a.expect("=", "'=' after mem[k]")
		switch {
		case a.err != nil:
		case a.is("A"):
			a.next()
			s.ins = Store(k)
		case a.is("X"):
			a.next()
			s.ins = StoreX(k)
		default:
			a.fail(a.peek(), "expected A or X to store in mem[%d], found %s", k, a.peek().describe())
		}
	case t.kind == tokIdent && t.text == "goto":
		a.next()
		s.ins = Jump(0)
		s.jt = a.target()
	case t.kind == tokIdent && t.text == "return":
		a.next()
		a.parseReturn(s)
	case t.kind == tokIdent && t.text == "if":
		a.next()
		a.parseIf(s)
	default:
		words := []string{"A", "X", "mem", "if", "goto", "return", ".insn", ".arch"}
		a.fail(t, "expected a statement (A = ..., X = ..., mem[k] = ..., if, goto, return, .insn), found %s%s",
			t.describe(), suggest.Phrase(suggest.Nearest(t.text, words, 2)))
		return
	}
	a.endOfLine()
	if a.err == nil {
		a.add(s)
	}
}

// endOfLine requires that nothing follows the statement.
func (a *assembler) endOfLine() {
	if a.err == nil && a.peek().kind != tokEOL {
		a.fail(a.peek(), "unexpected %s after the statement", a.peek().describe())
	}
}

// checkHex checks that columns fit their fields.
func (a *assembler) checkHex(h *hexCols) bool {
	limits := [4]uint64{0xffff, 0xff, 0xff, 0xffffffff}
	names := [4]string{"CODE", "JT", "JF", "K"}
	for i, v := range h.vals {
		if v > limits[i] {
			a.fail(token{col: h.col}, "%s 0x%x does not fit its field (at most 0x%x)", names[i], v, limits[i])
			return false
		}
	}
	return true
}

func (h *hexCols) instruction() Instruction {
	return Instruction{Op: uint16(h.vals[0]), Jt: uint8(h.vals[1]), Jf: uint8(h.vals[2]), K: uint32(h.vals[3])}
}

// add appends an instruction statement and settles the labels before it.
func (a *assembler) add(s *stmt) {
	idx := uint64(len(a.stmts))
	for _, l := range a.pending {
		if l.val != idx {
			a.errorf(l.line, l.col, "instruction number %04d does not match: this is instruction %04d (instructions count from 0000)", l.val, idx)
		}
	}
	a.pending = a.pending[:0]
	a.stmts = append(a.stmts, s)
}

// archDirective reads ".arch NAME|NUMBER".
func (a *assembler) archDirective(dir token) {
	if len(a.stmts) > 0 {
		a.fail(dir, ".arch must come before the first instruction")
		return
	}
	if a.archLine != 0 {
		a.fail(dir, ".arch already given at line %d", a.archLine)
		return
	}
	t := a.next()
	switch t.kind {
	case tokNum:
		if t.val > 0xffffffff {
			a.fail(t, "AUDIT_ARCH value %s does not fit in 32 bits", t.text)
			return
		}
		a.arch = uint32(t.val)
	case tokIdent:
		v, ok := a.archValue(t.text)
		if !ok {
			a.fail(t, "unknown arch %q (write an AUDIT_ARCH name such as ARCH_X86_64, or its number)%s", t.text, a.archSuggestions(t.text))
			return
		}
		a.arch = v
	default:
		a.fail(t, "expected an arch name or AUDIT_ARCH number after .arch, found %s", t.describe())
		return
	}
	a.archLine = a.lineNo
}

func (a *assembler) archValue(name string) (uint32, bool) {
	if a.opts.Namer == nil {
		return 0, false
	}
	return a.opts.Namer.AuditArchValue(name)
}

func (a *assembler) archSuggestions(name string) string {
	if l, ok := a.opts.Namer.(NameLister); ok {
		return suggest.Phrase(suggest.Nearest(name, l.AuditArchNames(), 3))
	}
	return ""
}

// number reads a 32-bit constant: a number, or a negative one as its
// two's complement.
func (a *assembler) number(what string) uint32 {
	if a.err != nil {
		return 0
	}
	neg := false
	if a.is("-") {
		a.next()
		neg = true
	}
	t := a.next()
	if t.kind != tokNum {
		a.fail(t, "expected %s, found %s", what, t.describe())
		return 0
	}
	if t.val > 0xffffffff {
		a.fail(t, "%s does not fit in 32 bits", t.text)
		return 0
	}
	if neg {
		return uint32(-int64(t.val))
	}
	return uint32(t.val)
}

// index reads "[k]" after mem, args or dataN.
func (a *assembler) index(what string) uint32 {
	a.expect("[", "'[' after "+what)
	k := a.number("an index in " + what + "[...]")
	a.expect("]", "']' to close "+what+"[...]")
	return k
}

// high reads an optional ">> 32", which selects the high half of a
// 64-bit seccomp_data field.
func (a *assembler) high() bool {
	if a.err != nil || !a.is(">>") {
		return false
	}
	a.next()
	t := a.next()
	if t.kind != tokNum || t.val != 32 {
		a.fail(t, "only \">> 32\" may follow a 64-bit field (it loads the high half); shift A with a separate \"A >>= n\"")
		return false
	}
	return true
}

// aluByOp maps compound assignments to ALU operations.
var aluByOp = func() map[string]uint16 {
	m := map[string]uint16{}
	for op, s := range aluOps {
		m[s] = op
	}
	return m
}()

// parseA reads what follows "A".
func (a *assembler) parseA(s *stmt) {
	t := a.next()
	if op, ok := aluByOp[t.text]; ok && t.kind == tokPunct {
		if a.is("X") {
			a.next()
			s.ins = ALUX(op)
			return
		}
		s.ins = ALUK(op, a.number("a number or X after "+t.text))
		return
	}
	if t.kind != tokPunct || t.text != "=" {
		a.fail(t, "expected '=' or an operator such as '+=' after A, found %s", t.describe())
		return
	}
	be := bigEndianArch(a.arch)
	v := a.peek()
	switch {
	case v.kind == tokNum || a.is("-") && a.toks[a.pos+1].kind == tokNum:
		s.ins = LoadImm(a.number("a number"))
	case a.is("-"):
		a.next()
		a.expect("A", "A after '-' (A = -A negates A), or a number")
		s.ins = Neg()
	case a.is("X"):
		a.next()
		s.ins = TXA()
	case a.is("len"):
		a.next()
		s.ins = LoadLen()
	case a.is("sys_number"), a.is("nr"):
		a.next()
		s.ins = LoadAbs(OffsetNr)
	case a.is("arch"):
		a.next()
		s.ins = LoadAbs(OffsetArch)
	case a.is("instruction_pointer"):
		a.next()
		off := InstructionPointerLowOffset(be)
		if a.high() {
			off = InstructionPointerHighOffset(be)
		}
		s.ins = LoadAbs(off)
	case a.is("args"):
		a.next()
		i := a.index("args")
		if a.err == nil && i > 5 {
			a.fail(v, "args[%d]: a syscall has arguments 0 to 5; write data32[k] for other offsets", i)
			return
		}
		off := ArgLowOffset(int(i), be)
		if a.high() {
			off = ArgHighOffset(int(i), be)
		}
		s.ins = LoadAbs(off)
	case a.is("mem"):
		a.next()
		s.ins = LoadMem(a.index("mem"))
	case a.is("data32"), a.is("data16"), a.is("data8"):
		a.next()
		size := map[string]uint16{"data32": SizeW, "data16": SizeH, "data8": SizeB}[v.text]
		a.expect("[", "'[' after "+v.text)
		mode := ModeABS
		var k uint32
		if a.is("X") {
			a.next()
			mode = ModeIND
			if a.is("+") {
				a.next()
				k = a.number("a number after X +")
			}
		} else {
			k = a.number("an offset or X + offset in " + v.text + "[...]")
		}
		a.expect("]", "']' to close "+v.text+"[...]")
		s.ins = Instruction{Op: ClassLD | size | mode, K: k}
	default:
		words := []string{"X", "len", "sys_number", "nr", "arch", "instruction_pointer", "args", "mem", "data32", "data16", "data8"}
		hint := ""
		if v.kind == tokIdent {
			hint = suggest.Phrase(suggest.Nearest(v.text, words, 2))
		}
		a.fail(v, "expected a value for A (a number, X, -A, len, sys_number, arch, instruction_pointer, args[i], mem[i], data32[k]), found %s%s", v.describe(), hint)
	}
}

// parseX reads what follows "X".
func (a *assembler) parseX(s *stmt) {
	a.expect("=", "'=' after X (only A takes arithmetic)")
	if a.err != nil {
		return
	}
	v := a.peek()
	switch {
	case v.kind == tokNum && !(v.val == 4 && a.toks[a.pos+1].text == "*") || a.is("-"):
		s.ins = LoadXImm(a.number("a number"))
	case v.kind == tokNum:
		// X = 4 * (data8[k] & 0xf): the IP header length idiom, BPF_MSH.
		a.next()
		a.expect("*", "'*'")
		a.expect("(", "'(' in 4 * (data8[k] & 0xf)")
		a.expect("data8", "data8 in 4 * (data8[k] & 0xf)")
		k := a.index("data8")
		a.expect("&", "'&' in 4 * (data8[k] & 0xf)")
		if m := a.peek(); a.err == nil && (m.kind != tokNum || m.val != 0xf) {
			a.fail(m, "expected 0xf in 4 * (data8[k] & 0xf), found %s", m.describe())
		}
		a.next()
		a.expect(")", "')' to close 4 * (data8[k] & 0xf)")
		s.ins = Instruction{Op: ClassLDX | SizeB | ModeMSH, K: k}
	case a.is("A"):
		a.next()
		s.ins = TAX()
	case a.is("len"):
		a.next()
		s.ins = LoadXLen()
	case a.is("mem"):
		a.next()
		s.ins = LoadXMem(a.index("mem"))
	default:
		a.fail(v, "expected a value for X (a number, A, len, mem[i], 4 * (data8[k] & 0xf)), found %s", v.describe())
	}
}

// actionWords are the names ParseAction knows, for suggestions.
var actionWords = []string{"KILL_PROCESS", "KILL_THREAD", "KILL", "TRAP", "ERRNO", "USER_NOTIF", "TRACE", "LOG", "ALLOW"}

// parseReturn reads what follows "return".
func (a *assembler) parseReturn(s *stmt) {
	t := a.peek()
	switch {
	case a.is("A"):
		a.next()
		s.ins = RetA()
		return
	case t.kind == tokNum:
		s.ins = Ret(a.number("an action"))
		return
	case t.kind != tokIdent:
		a.fail(t, "expected an action (ALLOW, ERRNO(n), KILL_PROCESS, ...), a number or A after return, found %s", t.describe())
		return
	}
	a.next()
	text := t.text
	if a.is("(") {
		a.next()
		n := a.next()
		if n.kind != tokNum {
			a.fail(n, "expected a number in %s(...), found %s", t.text, n.describe())
			return
		}
		a.expect(")", "')' to close "+t.text+"(")
		text += "(" + n.text + ")"
	}
	if a.err != nil {
		return
	}
	v, err := ParseAction(text)
	if err != nil {
		hint := ""
		if !strings.Contains(text, "(") {
			hint = suggest.Phrase(suggest.Nearest(t.text, actionWords, 2))
		}
		a.fail(t, "%v%s", err, hint)
		return
	}
	s.ins = Ret(v)
}

// cmpByOp maps comparison operators to the jump operation and whether the
// operator is the negated reading (jt and jf swapped).
var cmpByOp = map[string]struct {
	op     uint16
	negate bool
}{
	"==": {JmpJEQ, false}, "!=": {JmpJEQ, true},
	">": {JmpJGT, false}, "<=": {JmpJGT, true},
	">=": {JmpJGE, false}, "<": {JmpJGE, true},
	"&": {JmpJSET, false},
}

// parseIf reads "(cond) goto T [else [goto] F]".
func (a *assembler) parseIf(s *stmt) {
	a.expect("(", "'(' after if")
	var op uint16
	negate := false
	if a.err == nil && a.is("!") {
		// !(A & k)
		a.next()
		a.expect("(", "'(' after '!' (write !(A & k))")
		a.expect("A", "A in !(A & k)")
		a.expect("&", "'&' in !(A & k): only bit tests can be negated with '!'")
		op, negate = JmpJSET, true
	} else {
		a.expect("A", "A (comparisons are on A)")
		t := a.next()
		c, ok := cmpByOp[t.text]
		if a.err == nil && (!ok || t.kind != tokPunct) {
			a.fail(t, "expected a comparison (==, !=, >, >=, <, <=, &), found %s", t.describe())
		}
		op, negate = c.op, c.negate
	}
	if a.err != nil {
		return
	}
	src := SrcK
	var k uint32
	switch v := a.peek(); {
	case a.is("X"):
		a.next()
		src = SrcX
	case v.kind == tokIdent:
		a.next()
		s.name, s.nameCol = v.text, v.col
	default:
		k = a.number("a number, a name or X to compare A with")
	}
	if negate && op == JmpJSET {
		a.expect(")", "')' to close !(A & ...)")
	}
	a.expect(")", "')' to close the condition")
	a.expect("goto", "goto after the condition")
	if a.err != nil {
		return
	}
	first := a.target()
	second := ref{next: true}
	if a.err == nil && a.is("else") {
		a.next()
		if a.is("goto") {
			a.next()
		}
		second = a.target()
	}
	s.ins = Instruction{Op: ClassJMP | op | src, K: k}
	s.jt, s.jf = first, second
	if negate {
		s.jt, s.jf = second, first
	}
}

// target reads a label name or an instruction number.
func (a *assembler) target() ref {
	if a.err != nil {
		return ref{}
	}
	t := a.next()
	switch t.kind {
	case tokIdent:
		return ref{label: t.text, col: t.col}
	case tokNum:
		return ref{index: t.val, col: t.col}
	}
	a.fail(t, "expected a label or an instruction number to jump to, found %s", t.describe())
	return ref{}
}

// finish resolves labels and names and lays out the program.
func (a *assembler) finish(lines int) (Program, error) {
	for _, l := range a.pending {
		a.errorf(l.line, l.col, "instruction number %04d at the end of the source has no instruction after it", l.val)
	}
	names := make([]string, 0, len(a.labels))
	for name := range a.labels {
		names = append(names, name)
	}
	sort.Strings(names)
	n := len(a.stmts)
	for _, name := range names {
		if d := a.labels[name]; d.index == n {
			a.errorf(d.line, d.col, "label %q is at the end of the program with no instruction after it; a label marks the next instruction", name)
		}
	}
	if n == 0 {
		if len(a.errs) == 0 {
			a.errorf(lines, 1, "empty program: a filter needs at least one instruction")
		}
		return nil, a.sorted()
	}

	// Targets, as absolute statement indexes.
	items := make([]item, n)
	nodes := make([]flowNode, n)
	const nowhere = ^uint64(0) // an edge the analysis ignores
	for i, s := range a.stmts {
		it := item{ins: s.ins, shape: shapeOf(s.ins.Op)}
		node := flowNode{ins: s.ins, shape: it.shape}
		if s.raw {
			node = nodeOf(uint64(i), s.ins)
			switch it.shape {
			case shapeAlways:
				it.jt = target{kind: toIndex, index: node.t}
			case shapeCond:
				it.jt = target{kind: toIndex, index: node.t}
				it.jf = target{kind: toIndex, index: node.f}
			}
		} else if it.shape != shapeNone {
			resolve := func(r ref) (target, uint64) {
				idx, ok := a.resolve(i, s, r, names)
				if !ok {
					return target{kind: toIndex, index: idx}, nowhere
				}
				return target{kind: toIndex, index: idx}, idx
			}
			it.jt, node.t = resolve(s.jt)
			if it.shape == shapeCond {
				it.jf, node.f = resolve(s.jf)
			}
		}
		items[i], nodes[i] = it, node
	}

	// Names: arch names first, since they feed the arch tracking that
	// syscall names depend on.
	for i, s := range a.stmts {
		if s.name == "" {
			continue
		}
		if v, ok := a.archValue(s.name); ok {
			s.ins.K, s.name = v, ""
			items[i].ins.K, nodes[i].ins.K = v, v
		}
	}
	states := analyze(nodes, a.arch)
	for i, s := range a.stmts {
		if s.name == "" {
			continue
		}
		if v, ok := a.syscallNumber(s, states[i]); ok {
			items[i].ins.K = v
		}
	}
	if len(a.errs) > 0 {
		return nil, a.sorted()
	}

	p, pos, lerrs := layout(items, true)
	for _, e := range lerrs {
		s := a.stmts[e.item]
		a.errorf(s.line, s.col, "%s", e.msg)
	}
	if len(a.errs) > 0 {
		return nil, a.sorted()
	}
	for i, s := range a.stmts {
		if s.hex == nil {
			continue
		}
		got := p[pos[i]]
		if want := s.hex.instruction(); got != want {
			a.errorf(s.line, s.hex.col, "columns say 0x%02x 0x%02x 0x%02x 0x%08x but the statement assembles to 0x%02x 0x%02x 0x%02x 0x%08x; correct or delete the columns",
				want.Op, want.Jt, want.Jf, want.K, got.Op, got.Jt, got.Jf, got.K)
		}
	}
	if len(a.errs) > 0 {
		return nil, a.sorted()
	}
	return p, nil
}

// resolve turns a written target of statement i into a statement index.
func (a *assembler) resolve(i int, s *stmt, r ref, labels []string) (uint64, bool) {
	switch {
	case r.next:
		return uint64(i) + 1, true
	case r.label != "":
		d, ok := a.labels[r.label]
		if !ok {
			a.errorf(s.line, r.col, "undefined label %q%s", r.label, suggest.Phrase(suggest.Nearest(r.label, labels, 3)))
			return 0, false
		}
		if d.index <= i {
			a.errorf(s.line, r.col, "label %q (line %d) is not after this jump; classic BPF jumps only forward", r.label, d.line)
			return 0, false
		}
		return uint64(d.index), true
	}
	if r.index <= uint64(i) {
		a.errorf(s.line, r.col, "jump from instruction %04d to %04d goes backward; classic BPF jumps only forward", i, r.index)
		return 0, false
	}
	return r.index, true
}

// syscallNumber resolves the name in s, which is not an arch name, as a
// syscall of the arch known at s.
func (a *assembler) syscallNumber(s *stmt, st flowState) (uint32, bool) {
	n := a.opts.Namer
	switch {
	case n == nil:
		a.errorf(s.line, s.nameCol, "%q is a name, but no arch tables are loaded; write the number", s.name)
	case st.a == fieldArch:
		a.errorf(s.line, s.nameCol, "unknown arch %q%s", s.name, a.archSuggestions(s.name))
	case st.a != fieldNr:
		a.errorf(s.line, s.nameCol, "%q: names are read only where A holds arch or sys_number, on every path to here; write the number", s.name)
	case !st.archKnown:
		a.errorf(s.line, s.nameCol, "syscall name %q needs a known arch, but some path to here does not check it (or checks another); compare A = arch first, set .arch, or write the number", s.name)
	default:
		if v, ok := n.SyscallNumber(st.arch, s.name); ok {
			return v, true
		}
		archName, ok := n.AuditArchName(st.arch)
		if !ok {
			archName = fmt.Sprintf("0x%08x", st.arch)
		}
		hint := ""
		if l, ok := n.(NameLister); ok {
			names := slices.Compact(slices.Sorted(slices.Values(l.SyscallNames(st.arch))))
			hint = suggest.Phrase(suggest.Nearest(s.name, names, 3))
		}
		a.errorf(s.line, s.nameCol, "unknown syscall %q for %s%s", s.name, archName, hint)
	}
	return 0, false
}

// sorted returns the errors in source order.
func (a *assembler) sorted() AsmErrors {
	sort.SliceStable(a.errs, func(i, j int) bool {
		if a.errs[i].Line != a.errs[j].Line {
			return a.errs[i].Line < a.errs[j].Line
		}
		return a.errs[i].Col < a.errs[j].Col
	})
	return a.errs
}
