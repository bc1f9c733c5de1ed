package policy

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/syscage/syscage/arch"
	"github.com/syscage/syscage/internal/suggest"
)

// ParseOptions control Parse and ParseFile.
type ParseOptions struct {
	// FS is where include files are read from. Paths in it are
	// slash-separated and relative to the including file's directory. Nil
	// means the operating system's file system, where include paths are
	// relative to the including file or absolute.
	FS fs.FS
	// SyntaxOnly parses the one file on its own, as a formatter needs:
	// include lines are kept in Policy.Includes instead of being read,
	// and nothing is checked beyond the syntax: names, types, values and
	// the required default line are left alone, and unstated header
	// actions stay zero.
	SyntaxOnly bool
}

// Header keywords, in the order the formatter writes them.
var headerKeys = []string{"arch", "default", "unknown", "badarch", "flags", "listener"}

// Statement keywords and action names, for suggestions.
var statementWords = []string{
	"arch", "default", "unknown", "badarch", "flags", "listener", "include", "only", "except",
	"files", "allow", "log", "notify", "errno", "trace", "trap", "kill_process", "kill_thread",
}

// actionWords maps the native spelling of each action to its kind.
var actionWords = map[string]ActionKind{
	"kill_process": KillProcess, "kill_thread": KillThread, "trap": Trap, "errno": Errno,
	"notify": Notify, "trace": Trace, "log": Log, "allow": Allow,
}

// knownFlags are the filter flags the flags line accepts: the
// SECCOMP_FILTER_FLAG_* names a policy may ask for (include/uapi/linux/
// seccomp.h), lower case, without the prefix. NEW_LISTENER and
// TSYNC_ESRCH are chosen by the installer, not by policies.
var knownFlags = []string{"log", "spec_allow", "tsync", "wait_killable_recv"}

// maxIncludes bounds the files one parse may read, so that a diamond of
// includes cannot grow without bound.
const maxIncludes = 1000

// Parse reads a policy in the native text format. filename is used in
// positions and to find included files; src is the text. The error, if
// any, is an ErrorList.
func Parse(filename string, src []byte, opts ParseOptions) (*Policy, error) {
	st := &parseState{opts: opts, p: &Policy{Source: filename}, seen: map[string]headerSeen{}}
	st.parseFile(filename, src, nil, true)
	p := st.p
	normalizeBlanks(p)
	normalizeFiles(p)
	if !opts.SyntaxOnly {
		if p.Unknown.Kind == 0 {
			p.Unknown = Action{Kind: Errno, ErrnoName: "ENOSYS", Data: 38}
		}
		if p.BadArch.Kind == 0 {
			p.BadArch = ActKillProcess
		}
		hdr := map[string]Pos{}
		for k, v := range st.seen {
			hdr[k] = v.pos
		}
		c := &checker{p: p, hdr: hdr, quiet: len(st.errs) > 0}
		c.run()
		st.errs = append(st.errs, c.errs...)
		if len(st.errs) == 0 {
			p.Warnings = append(p.Warnings, c.fileWarnings()...)
		}
	}
	if len(st.errs) > 0 {
		return nil, st.errs.sorted()
	}
	return p, nil
}

// ParseFile reads a policy file in the native text format. With a nil
// opts.FS it reads from the operating system; otherwise name is a path in
// opts.FS.
func ParseFile(name string, opts ParseOptions) (*Policy, error) {
	var src []byte
	var err error
	if opts.FS != nil {
		src, err = fs.ReadFile(opts.FS, name)
	} else {
		src, err = os.ReadFile(name)
	}
	if err != nil {
		return nil, err
	}
	return Parse(name, src, opts)
}

// normalizeBlanks clears BlankBefore on the first rule or include of the
// policy: the formatter always separates the first rule from the header,
// so the flag carries no information there.
func normalizeBlanks(p *Policy) {
	for _, inc := range p.Includes {
		if inc.Before == 0 {
			inc.BlankBefore = false
			return
		}
	}
	if len(p.Rules) > 0 {
		p.Rules[0].BlankBefore = false
	}
}

// normalizeFiles clears BlankBefore on the first file rule, which the
// formatter writes right after the files line.
func normalizeFiles(p *Policy) {
	if p.Files != nil && len(p.Files.Rules) > 0 {
		p.Files.Rules[0].BlankBefore = false
	}
}

// headerSeen remembers a header line for conflict checks.
type headerSeen struct {
	value string
	pos   Pos
}

// parseState is shared by the parsers of a file and of what it includes.
type parseState struct {
	opts  ParseOptions
	p     *Policy
	errs  ErrorList
	seen  map[string]headerSeen
	reads int
}

// fileParser parses one file.
type fileParser struct {
	st    *parseState
	file  string
	top   bool
	chain []string // include chain, for cycles
	lx    *lexed
	toks  []token
	i     int
	nest  int // depth of parentheses and braces in a condition
	depth int // depth of the condition being parsed

	stmts    []stmt
	errLines map[int]bool

	// The open files block, if any.
	inFiles  bool
	filesPos Pos

	// The open only/except block, if any.
	inBlock    bool
	blockPos   Pos
	blockOnly  *Applies
	blockExcpt *Applies
}

type stmtKind uint8

const (
	sHeader stmtKind = iota
	sRule
	sInclude
	sBlock    // '{' or '}' lines: their comments pass on to the next statement
	sFiles    // the files line
	sFileRule // a rule of the files block
)

// stmt records the lines of a statement, to attach comments afterwards.
type stmt struct {
	kind        stmtKind
	first, last int
	key         string    // sHeader
	rule        *Rule     // sRule
	inc         *Include  // sInclude when kept
	frule       *FileRule // sFileRule
	firstRule   int       // sInclude when inlined: index of its first rule, or -1
}

// bailout aborts the current statement after an error.
type bailout struct{}

func (st *parseState) parseFile(file string, src []byte, chain []string, top bool) {
	if i := bytes.IndexByte(src, 0); i >= 0 {
		// Text never holds NUL; raw BPF always does (the high byte of
		// every opcode). One error says so instead of one per byte.
		line := 1 + bytes.Count(src[:i], []byte("\n"))
		col := i - (bytes.LastIndexByte(src[:i], '\n') + 1) + 1
		st.errs.add(Pos{File: file, Line: line, Col: col}, "binary data (a NUL byte), not a policy: a raw BPF filter is read by 'syscage disasm' and 'syscage check --bpf'")
		return
	}
	fp := &fileParser{st: st, file: file, top: top, chain: chain, errLines: map[int]bool{}}
	fp.lx = lex(file, src, &st.errs)
	fp.toks = fp.lx.toks
	for _, e := range st.errs {
		if e.Pos.File == file {
			fp.errLines[e.Pos.Line] = true
		}
	}
	for {
		fp.skipNewlines()
		if fp.peek().kind == tEOF {
			break
		}
		fp.statement()
	}
	if fp.inBlock {
		st.errs.add(fp.blockPos, "this only/except block is never closed: add a line with '}' after its rules")
	}
	if fp.inFiles {
		st.errs.add(fp.filesPos, "this files block is never closed: add a line with '}' after its rules")
	}
	fp.attachComments()
}

func (fp *fileParser) peek() token { return fp.toks[fp.i] }

func (fp *fileParser) next() token {
	t := fp.toks[fp.i]
	if t.kind != tEOF {
		fp.i++
	}
	return t
}

func (fp *fileParser) skipNewlines() {
	for fp.peek().kind == tNewline {
		fp.i++
	}
}

// errorf reports an error and abandons the statement. Only the first
// error of a line is kept: the rest are usually its echoes.
func (fp *fileParser) errorf(pos Pos, format string, args ...any) {
	fp.report(pos, format, args...)
	panic(bailout{})
}

func (fp *fileParser) report(pos Pos, format string, args ...any) {
	if !fp.errLines[pos.Line] {
		fp.errLines[pos.Line] = true
		fp.st.errs.add(pos, format, args...)
	}
}

// unexpected reports token t where something else was expected.
func (fp *fileParser) unexpected(t token, expected string) {
	if t.kind == tIllegal {
		panic(bailout{}) // the lexer has said why
	}
	fp.errorf(t.pos, "found %s, expected %s", t.describe(), expected)
}

func (fp *fileParser) expect(k tokKind, expected string) token {
	t := fp.peek()
	if t.kind != k {
		fp.unexpected(t, expected)
	}
	return fp.next()
}

// endStatement requires the end of the line.
func (fp *fileParser) endStatement(what string) {
	t := fp.peek()
	if t.kind != tNewline && t.kind != tEOF {
		fp.unexpected(t, "end of line after "+what)
	}
}

// statement parses one statement; after an error it skips to the next
// line.
func (fp *fileParser) statement() {
	start := fp.peek()
	defer func() {
		if r := recover(); r != nil {
			if _, ok := r.(bailout); !ok {
				panic(r)
			}
			fp.nest, fp.depth = 0, 0
			for k := fp.peek().kind; k != tNewline && k != tEOF; k = fp.peek().kind {
				fp.i++
			}
		}
	}()
	s := fp.statementBody(start)
	s.first = start.pos.Line
	s.last = fp.toks[max(fp.i-1, 0)].pos.Line
	fp.stmts = append(fp.stmts, s)
}

func (fp *fileParser) statementBody(start token) stmt {
	if fp.inFiles {
		return fp.filesLine(start)
	}
	if start.kind == tRBrace {
		fp.next()
		if !fp.inBlock {
			fp.errorf(start.pos, "found '}' with no only/except block open")
		}
		fp.endStatement("'}'")
		fp.inBlock = false
		return stmt{kind: sBlock}
	}
	if start.kind == tPath && strings.HasPrefix(start.text, "//") {
		fp.errorf(start.pos, "comments start with '#', not '//'")
	}
	if start.kind != tIdent {
		fp.unexpected(start, "a rule (an action such as allow or errno(EPERM), then syscalls), a header line (default, unknown, badarch, arch, flags, include, listener) or a files block")
	}
	word := start.text
	switch word {
	case "default", "unknown", "badarch", "arch", "flags", "listener":
		if fp.inBlock {
			fp.errorf(start.pos, "%s lines cannot be inside an only/except block (opened at %s)", word, fp.blockPos)
		}
		fp.header(word)
		return stmt{kind: sHeader, key: word}
	case "include":
		if fp.inBlock {
			fp.errorf(start.pos, "include lines cannot be inside an only/except block (opened at %s)", fp.blockPos)
		}
		return fp.include()
	case "only", "except":
		fp.blockOpen()
		return stmt{kind: sBlock}
	case "files":
		return fp.filesOpen()
	}
	if _, ok := actionWords[word]; ok {
		r := fp.rule()
		return stmt{kind: sRule, rule: r}
	}
	if slices.Contains(fileWords, word) {
		fp.errorf(start.pos, "found %q, expected a rule or a header line: file rules such as `%s /data` go inside a files block, between a line `files {` and a line `}`", word, word)
	}
	fp.errorf(start.pos, "found %q, expected a rule (an action such as allow or errno(EPERM), then syscalls) or a header line%s",
		word, suggest.Phrase(suggest.Nearest(word, statementWords, 3)))
	return stmt{}
}

// header parses default, unknown, badarch, arch, flags and listener lines
// and checks them against earlier ones.
func (fp *fileParser) header(word string) {
	kw := fp.next()
	p := fp.st.p
	var value string
	switch word {
	case "default", "unknown", "badarch":
		a := fp.action()
		fp.endStatement(word + " " + a.String())
		value = a.String()
		if !fp.firstHeader(word, value, kw.pos) {
			return
		}
		switch word {
		case "default":
			p.Default = a
		case "unknown":
			p.Unknown = a
		case "badarch":
			p.BadArch = a
		}
	case "arch":
		var names []string
		for fp.peek().kind == tIdent {
			t := fp.next()
			name := t.text
			if a, err := arch.ByName(name); err == nil {
				name = a.Name
			} else if !fp.st.opts.SyntaxOnly {
				fp.report(t.pos, "unknown architecture %q%s; known: %s", t.text,
					suggest.Phrase(suggest.Nearest(t.text, arch.CanonicalNames(), 3)), strings.Join(arch.CanonicalNames(), " "))
			}
			if slices.Contains(names, name) {
				fp.errorf(t.pos, "architecture %s is listed twice", name)
			}
			names = append(names, name)
		}
		if len(names) == 0 {
			fp.unexpected(fp.peek(), "architecture names after arch, like `arch x86_64 i386`")
		}
		fp.endStatement("the architecture names")
		if fp.firstHeader(word, strings.Join(names, " "), kw.pos) {
			p.Arches = names
		}
	case "flags":
		var flags []string
		for fp.peek().kind == tIdent {
			t := fp.next()
			if !slices.Contains(knownFlags, t.text) {
				fp.errorf(t.pos, "unknown filter flag %q%s; known: %s", t.text,
					suggest.Phrase(suggest.Nearest(t.text, knownFlags, 2)), strings.Join(knownFlags, " "))
			}
			if !slices.Contains(flags, t.text) {
				flags = append(flags, t.text)
			}
		}
		if len(flags) == 0 {
			fp.unexpected(fp.peek(), "filter flags after flags: "+strings.Join(knownFlags, ", "))
		}
		fp.endStatement("the flags")
		sort.Strings(flags)
		if fp.firstHeader(word, strings.Join(flags, " "), kw.pos) {
			p.Flags = flags
		}
	case "listener":
		l := &Listener{Path: fp.expect(tString, `the listener's socket path as a quoted string, like listener "/run/agent.sock"`).text}
		if fp.peek().kind == tIdent && fp.peek().text == "metadata" {
			fp.next()
			l.Metadata = fp.expect(tString, `the metadata as a quoted string`).text
		}
		if l.Path == "" {
			fp.errorf(kw.pos, "the listener path is empty")
		}
		fp.endStatement("the listener")
		if fp.firstHeader(word, fmt.Sprintf("%q %q", l.Path, l.Metadata), kw.pos) {
			p.Listener = l
		}
	}
}

// firstHeader records a header line. It reports a conflict when an
// earlier line with the same keyword says something else, and returns
// whether this is the first such line.
func (fp *fileParser) firstHeader(key, value string, pos Pos) bool {
	prev, ok := fp.st.seen[key]
	if !ok {
		fp.st.seen[key] = headerSeen{value, pos}
		return true
	}
	if prev.value != value {
		fp.report(pos, "conflicting %s line: this says %s, but %s says %s; keep one", key, value, prev.pos, prev.value)
	}
	return false
}

// action parses an action with its optional data: errno(EPERM), trace(3).
func (fp *fileParser) action() Action {
	t := fp.peek()
	if t.kind != tIdent {
		fp.unexpected(t, "an action: allow, log, notify, errno(NAME), trap, trace(N), kill_thread or kill_process")
	}
	kind, ok := actionWords[t.text]
	if !ok {
		names := make([]string, 0, len(actionWords))
		for n := range actionWords {
			names = append(names, n)
		}
		sort.Strings(names)
		fp.errorf(t.pos, "unknown action %q%s; actions are allow, log, notify, errno(NAME), trap, trace(N), kill_thread and kill_process",
			t.text, suggest.Phrase(suggest.Nearest(t.text, names, 2)))
	}
	fp.next()
	a := Action{Kind: kind}
	if fp.peek().kind != tLParen {
		if kind == Errno {
			fp.errorf(t.pos, "errno needs the error to return, like errno(EPERM) or errno(1)")
		}
		return a
	}
	lp := fp.next()
	switch kind {
	case Errno:
		v := fp.peek()
		switch v.kind {
		case tIdent:
			fp.next()
			a.ErrnoName = v.text
		case tNumber:
			fp.next()
			n, _ := parseNumber(v.text)
			if strings.HasPrefix(v.text, "-") || n > maxErrno {
				fp.errorf(v.pos, "errno %s is out of range: the kernel returns errors from 0 to %d", v.text, maxErrno)
			}
			a.Data = uint16(n)
		default:
			fp.unexpected(v, "an errno name or number, like EPERM or 1")
		}
	case Trap, Trace:
		v := fp.expect(tNumber, fmt.Sprintf("a number from 0 to 65535 for %s", kind))
		n, _ := parseNumber(v.text)
		if strings.HasPrefix(v.text, "-") || n > 0xffff {
			fp.errorf(v.pos, "%s data %s is out of range: the filter returns 16 bits (0 to 65535)", kind, v.text)
		}
		a.Data = uint16(n)
	default:
		fp.errorf(lp.pos, "%s takes no value; only errno, trap and trace do", kind)
	}
	fp.expect(tRParen, "')' after the "+kind.String()+" value")
	return a
}

// maxErrno is the largest errno a filter can return (include/linux/err.h
// MAX_ERRNO; kernel/seccomp.c clamps larger data to it).
const maxErrno = 4095

// include parses an include line and, unless SyntaxOnly, reads the file.
func (fp *fileParser) include() stmt {
	kw := fp.next()
	t := fp.expect(tString, `the file to include as a quoted string, like include "common.policy"`)
	fp.endStatement("the included file name")
	if t.text == "" {
		fp.errorf(t.pos, "the include path is empty")
	}
	st := fp.st
	if st.opts.SyntaxOnly {
		inc := &Include{Pos: kw.pos, Path: t.text, Before: len(st.p.Rules)}
		st.p.Includes = append(st.p.Includes, inc)
		return stmt{kind: sInclude, inc: inc}
	}
	s := stmt{kind: sInclude, firstRule: -1}
	name, src, err := fp.readInclude(t.text)
	if err != nil {
		fp.errorf(t.pos, "%v", err)
	}
	chain := append(slices.Clone(fp.chain), fp.file)
	if i := slices.Index(chain, name); i >= 0 {
		fp.errorf(t.pos, "include cycle: %s -> %s", strings.Join(chain[i:], " -> "), name)
	}
	if len(chain) > 64 {
		fp.errorf(t.pos, "includes nest more than 64 deep")
	}
	st.reads++
	if st.reads > maxIncludes {
		fp.errorf(t.pos, "more than %d files included", maxIncludes)
	}
	before := len(st.p.Rules)
	st.parseFile(name, src, chain, false)
	if len(st.p.Rules) > before {
		s.firstRule = before
	}
	return s
}

// readInclude finds and reads an included file relative to the including
// one.
func (fp *fileParser) readInclude(name string) (string, []byte, error) {
	if fs := fp.st.opts.FS; fs != nil {
		if strings.HasPrefix(name, "/") {
			return "", nil, fmt.Errorf("include %q: paths are relative to the including file here", name)
		}
		full := path.Join(path.Dir(fp.file), name)
		b, err := readFS(fs, full)
		if err != nil {
			return "", nil, fmt.Errorf("cannot read included file %q: %v", full, unwrapPathErr(err))
		}
		return full, b, nil
	}
	full := name
	if !filepath.IsAbs(name) {
		full = filepath.Join(filepath.Dir(fp.file), name)
	}
	b, err := os.ReadFile(full)
	if err != nil {
		return "", nil, fmt.Errorf("cannot read included file %q: %v", full, unwrapPathErr(err))
	}
	return full, b, nil
}

func readFS(fsys fs.FS, name string) ([]byte, error) {
	if !fs.ValidPath(name) {
		return nil, fmt.Errorf("%q is not a valid path (it leaves the file system's root)", name)
	}
	return fs.ReadFile(fsys, name)
}

func unwrapPathErr(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// blockOpen parses "only DIMS [except DIMS] {" or "except DIMS {".
func (fp *fileParser) blockOpen() {
	start := fp.peek()
	if fp.inBlock {
		fp.errorf(start.pos, "only/except blocks do not nest (one is open since %s): put all conditions on one line, like `only arch x86_64 except caps CAP_SYS_ADMIN {`", fp.blockPos)
	}
	var only, except *Applies
	for fp.peek().kind == tIdent && (fp.peek().text == "only" || fp.peek().text == "except") {
		t := fp.next()
		ap := fp.applies(t.text)
		if t.text == "only" {
			if only != nil || except != nil {
				fp.errorf(t.pos, "write only before except, and each at most once")
			}
			only = ap
		} else {
			if except != nil {
				fp.errorf(t.pos, "except appears twice: list all dimensions after one except")
			}
			except = ap
		}
	}
	fp.expect(tLBrace, "'{' to open the block, or another restriction: arch NAMES, caps CAP_NAMES, kernel >= VERSION, except ...")
	fp.endStatement("'{' (the block's rules go on the following lines)")
	fp.inBlock, fp.blockPos, fp.blockOnly, fp.blockExcpt = true, start.pos, only, except
}

// applies parses the dimensions after only or except.
func (fp *fileParser) applies(word string) *Applies {
	ap := &Applies{}
	seen := map[string]bool{}
	for fp.peek().kind == tIdent {
		t := fp.peek()
		if t.text == "only" || t.text == "except" {
			break
		}
		fp.next()
		if seen[t.text] {
			fp.errorf(t.pos, "%s appears twice after %s", t.text, word)
		}
		seen[t.text] = true
		switch t.text {
		case "arch":
			for fp.peek().kind == tIdent && !isApplyWord(fp.peek().text) {
				n := fp.next()
				name := n.text
				if a, err := arch.ByName(name); err == nil {
					name = a.Name
				} else if !fp.st.opts.SyntaxOnly {
					fp.errorf(n.pos, "unknown architecture %q%s; known: %s", n.text,
						suggest.Phrase(suggest.Nearest(n.text, arch.CanonicalNames(), 3)), strings.Join(arch.CanonicalNames(), " "))
				}
				ap.Arches = append(ap.Arches, name)
			}
			if len(ap.Arches) == 0 {
				fp.unexpected(fp.peek(), "architecture names after arch")
			}
		case "caps":
			for fp.peek().kind == tIdent && !isApplyWord(fp.peek().text) {
				n := fp.next()
				if !fp.st.opts.SyntaxOnly && !slices.Contains(capabilities, n.text) {
					fp.errorf(n.pos, "unknown capability %q%s", n.text, suggest.Phrase(suggest.Nearest(n.text, capabilities, 3)))
				}
				ap.Caps = append(ap.Caps, n.text)
			}
			if len(ap.Caps) == 0 {
				fp.unexpected(fp.peek(), "capability names after caps, like CAP_SYS_ADMIN")
			}
		case "kernel":
			fp.expect(tGe, "'>=' after kernel: the rule's kernel condition is a minimum version, like kernel >= 5.8")
			v := fp.peek()
			if v.kind != tVersion && (v.kind != tNumber || !isAllDigits([]byte(v.text))) {
				fp.unexpected(v, "a kernel version, like 5.8")
			}
			fp.next()
			ap.MinKernel = v.text
		default:
			fp.errorf(t.pos, "found %q, expected arch, caps or kernel after %s%s", t.text, word,
				suggest.Phrase(suggest.Nearest(t.text, []string{"arch", "caps", "kernel"}, 1)))
		}
	}
	if len(seen) == 0 {
		fp.unexpected(fp.peek(), "what the block applies to after "+word+": arch NAMES, caps CAP_NAMES or kernel >= VERSION")
	}
	return ap
}

func isApplyWord(s string) bool {
	return s == "arch" || s == "caps" || s == "kernel" || s == "only" || s == "except"
}

// rule parses "ACTION TARGET... [if CONDITION]".
func (fp *fileParser) rule() *Rule {
	start := fp.peek()
	r := &Rule{Pos: start.pos, Action: fp.action()}
	const want = "the syscalls the rule applies to: names, numbers, @groups or arch:name"
	for more := true; more; {
		t := fp.peek()
		switch {
		case t.kind == tIdent && t.text == "if":
			if len(r.Syscalls) == 0 {
				fp.unexpected(t, want+", before 'if'")
			}
			fp.next()
			fp.skipNewlines()
			r.When = fp.or()
			fp.endStatement("the condition (join conditions with && or ||)")
			more = false
		case t.kind == tIdent:
			fp.next()
			if fp.peek().kind == tColon {
				fp.next()
				r.Syscalls = append(r.Syscalls, fp.qualified(t))
			} else {
				r.Syscalls = append(r.Syscalls, Target{Pos: t.pos, Name: t.text})
			}
		case t.kind == tNumber:
			fp.next()
			r.Syscalls = append(r.Syscalls, Target{Pos: t.pos, Nr: fp.syscallNumber(t), HasNr: true})
		case t.kind == tGroup:
			fp.next()
			r.Syscalls = append(r.Syscalls, Target{Pos: t.pos, Group: t.text})
		case len(r.Syscalls) == 0:
			fp.unexpected(t, want)
		case t.kind == tNewline || t.kind == tEOF:
			more = false
		default:
			fp.unexpected(t, "another syscall, 'if' and a condition, or end of line")
		}
	}
	if fp.inBlock {
		r.Only, r.Except = cloneApplies(fp.blockOnly), cloneApplies(fp.blockExcpt)
	}
	fp.st.p.Rules = append(fp.st.p.Rules, r)
	return r
}

func cloneApplies(a *Applies) *Applies {
	if a == nil {
		return nil
	}
	return &Applies{Arches: slices.Clone(a.Arches), Caps: slices.Clone(a.Caps), MinKernel: a.MinKernel}
}

// qualified parses the part after "arch:" of a target.
func (fp *fileParser) qualified(archTok token) Target {
	name := archTok.text
	if a, err := arch.ByName(name); err == nil {
		name = a.Name
	} else if !fp.st.opts.SyntaxOnly {
		fp.errorf(archTok.pos, "unknown architecture %q before ':'%s; known: %s", archTok.text,
			suggest.Phrase(suggest.Nearest(archTok.text, arch.CanonicalNames(), 3)), strings.Join(arch.CanonicalNames(), " "))
	}
	t := fp.peek()
	switch t.kind {
	case tIdent:
		fp.next()
		return Target{Pos: archTok.pos, Name: t.text, Arch: name}
	case tNumber:
		fp.next()
		return Target{Pos: archTok.pos, Nr: fp.syscallNumber(t), HasNr: true, Arch: name}
	case tGroup:
		fp.errorf(t.pos, "groups cannot be qualified with an architecture; their members are chosen per architecture already")
	}
	fp.unexpected(t, "a syscall name or number after '"+archTok.text+":'")
	return Target{}
}

func (fp *fileParser) syscallNumber(t token) int {
	v, _ := parseNumber(t.text)
	if strings.HasPrefix(t.text, "-") || v > 0xffffffff {
		fp.errorf(t.pos, "syscall number %s is out of range: numbers are 0 to 0xffffffff as the filter sees them", t.text)
	}
	return int(v)
}

// Conditions. Newlines are allowed after any operator and inside
// parentheses and braces.

func (fp *fileParser) peekCond() token {
	if fp.nest > 0 {
		fp.skipNewlines()
	}
	return fp.peek()
}

func (fp *fileParser) or() Expr {
	x := fp.and()
	if fp.peekCond().kind != tOrOr {
		return x
	}
	or := &Or{Pos: x.Position(), Terms: []Expr{x}}
	for fp.peekCond().kind == tOrOr {
		fp.next()
		fp.skipNewlines()
		or.Terms = append(or.Terms, fp.and())
	}
	return or
}

func (fp *fileParser) and() Expr {
	x := fp.unary()
	if fp.peekCond().kind != tAndAnd {
		return x
	}
	and := &And{Pos: x.Position(), Terms: []Expr{x}}
	for fp.peekCond().kind == tAndAnd {
		fp.next()
		fp.skipNewlines()
		and.Terms = append(and.Terms, fp.unary())
	}
	return and
}

// maxDepth bounds the nesting of a condition.
const maxDepth = 100

func (fp *fileParser) unary() Expr {
	t := fp.peekCond()
	fp.depth++
	defer func() { fp.depth-- }()
	if fp.depth > maxDepth {
		fp.errorf(t.pos, "condition nested more than %d deep", maxDepth)
	}
	switch t.kind {
	case tNot:
		fp.next()
		fp.skipNewlines()
		return &Not{Pos: t.pos, X: fp.unary()}
	case tLParen:
		fp.next()
		fp.nest++
		fp.skipNewlines()
		x := fp.or()
		fp.skipNewlines()
		fp.expect(tRParen, fmt.Sprintf("')' to close the '(' at %d:%d, or an operator (&&, ||)", t.pos.Line, t.pos.Col))
		fp.nest--
		return x
	case tIdent:
		return fp.cmp()
	}
	fp.unexpected(t, "a comparison (an argument name such as fd, or arg0..arg5), '!' or '('")
	return nil
}

// cmp parses one comparison of an argument with constants.
func (fp *fileParser) cmp() Expr {
	at := fp.next()
	c := &Cmp{Pos: at.pos, Arg: -1}
	if n, ok := argIndexName(at.text); ok {
		c.Arg = n
	} else if strings.HasPrefix(at.text, "arg") && isAllDigits([]byte(at.text[3:])) {
		fp.errorf(at.pos, "%s: syscalls have six arguments, arg0 to arg5", at.text)
	} else {
		c.ArgName = at.text
	}
	op := fp.peekCond()
	switch op.kind {
	case tEq, tNe, tLt, tLe, tGt, tGe:
		fp.next()
		fp.skipNewlines()
		c.Op = map[tokKind]CmpOp{tEq: OpEq, tNe: OpNe, tLt: OpLt, tLe: OpLe, tGt: OpGt, tGe: OpGe}[op.kind]
		c.Value = fp.value()
		return c
	case tAmp:
		fp.next()
		fp.skipNewlines()
		c.Op = OpMaskedEq
		c.Mask = fp.value()
		eq := fp.peekCond()
		if eq.kind != tEq && eq.kind != tNe {
			fp.unexpected(eq, "'==' or '!=' after the mask: masked comparisons read `flags & MASK == VALUE`")
		}
		fp.next()
		fp.skipNewlines()
		c.Value = fp.value()
		if eq.kind == tNe {
			return &Not{Pos: c.Pos, X: c}
		}
		return c
	case tIdent:
		switch op.text {
		case "only", "none", "all":
			fp.next()
			fp.skipNewlines()
			c.Op = map[string]CmpOp{"only": OpBitsOnly, "none": OpBitsNone, "all": OpBitsAll}[op.text]
			c.Value = fp.value()
			return c
		case "in":
			fp.next()
			fp.skipNewlines()
			if fp.peek().kind == tLBrace {
				fp.next()
				fp.nest++
				c.Op = OpIn
				for {
					fp.skipNewlines()
					c.Values = append(c.Values, fp.value())
					fp.skipNewlines()
					if fp.peek().kind == tRBrace {
						break
					}
					fp.expect(tComma, "',' or '}' in the set")
					fp.skipNewlines()
					if fp.peek().kind == tRBrace { // trailing comma
						break
					}
				}
				fp.next()
				fp.nest--
				return c
			}
			c.Op = OpRange
			c.Value = fp.value()
			fp.expect(tDotDot, "'..' in a range, like 0..31, or '{' for a set")
			fp.skipNewlines()
			c.High = fp.value()
			return c
		}
	}
	fp.unexpected(op, fmt.Sprintf("a comparison after %s: ==, !=, <, <=, >, >=, & MASK ==, only, none, all or in", at.text))
	return nil
}

// argIndexName reads arg0..arg5.
func argIndexName(s string) (int, bool) {
	if len(s) == 4 && strings.HasPrefix(s, "arg") && s[3] >= '0' && s[3] <= '5' {
		return int(s[3] - '0'), true
	}
	return 0, false
}

// value parses constants joined by '|'.
func (fp *fileParser) value() Value {
	var v Value
	allNum := true
	for {
		t := fp.peek()
		switch t.kind {
		case tNumber:
			fp.next()
			n, _ := parseNumber(t.text)
			v.Num |= n
			v.Terms = append(v.Terms, canonicalNumber(t.text))
		case tIdent:
			fp.next()
			allNum = false
			v.Terms = append(v.Terms, t.text)
		default:
			fp.unexpected(t, "a value: a number or a constant name such as AF_INET")
		}
		if fp.peekCond().kind != tPipe {
			break
		}
		fp.next()
		fp.skipNewlines()
	}
	if !allNum {
		v.Num = 0 // resolved by the checker
	}
	return v
}
