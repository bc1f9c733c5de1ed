// Package policy is the model of a syscall policy: which syscalls a
// program may make, under which argument conditions, and what happens to
// the rest. It reads and writes the native text format and the container
// ecosystem's JSON and YAML profiles, defines the syscall groups, embeds
// the bundled profiles, and evaluates a policy directly (the reference
// semantics the compiler is tested against). It knows nothing of BPF.
package policy

import (
	"fmt"
	"strings"
)

// Pos is a position in a policy source: file, 1-based line and column
// (column counts bytes). The zero Pos means "not from a file".
type Pos struct {
	File string
	Line int
	Col  int
}

// IsValid reports whether the position names a place in a source.
func (p Pos) IsValid() bool { return p.Line > 0 }

func (p Pos) String() string {
	switch {
	case !p.IsValid() && p.File == "":
		return "-"
	case !p.IsValid():
		return p.File
	case p.File == "":
		return fmt.Sprintf("%d:%d", p.Line, p.Col)
	}
	return fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Col)
}

// ActionKind is what a filter does with a syscall.
type ActionKind uint8

// The actions, in the kernel's order of strictness (strictest first).
const (
	KillProcess ActionKind = iota + 1
	KillThread
	Trap
	Errno
	Notify
	Trace
	Log
	Allow
)

var actionKindNames = [...]string{
	KillProcess: "kill_process",
	KillThread:  "kill_thread",
	Trap:        "trap",
	Errno:       "errno",
	Notify:      "notify",
	Trace:       "trace",
	Log:         "log",
	Allow:       "allow",
}

// String returns the native format's spelling: kill_process, errno, ...
func (k ActionKind) String() string {
	if int(k) < len(actionKindNames) && actionKindNames[k] != "" {
		return actionKindNames[k]
	}
	return fmt.Sprintf("ActionKind(%d)", uint8(k))
}

// Action is an action with its data: the errno for Errno, the value
// passed to the tracer for Trace, the si_errno value for Trap.
type Action struct {
	Kind ActionKind
	// Data is the 16-bit value returned with the action. For Errno with
	// ErrnoName set, Data holds the value on the native arch; the compiler
	// resolves the name again for each arch (errno numbers differ on mips).
	Data uint16
	// ErrnoName is the symbolic errno as written ("EPERM"), or "".
	ErrnoName string
}

// Common actions.
var (
	ActAllow       = Action{Kind: Allow}
	ActLog         = Action{Kind: Log}
	ActKillProcess = Action{Kind: KillProcess}
	ActKillThread  = Action{Kind: KillThread}
	ActNotify      = Action{Kind: Notify}
)

// String renders the action in the native format: allow, errno(EPERM),
// errno(38), trace(7), trap, kill_process.
func (a Action) String() string {
	switch a.Kind {
	case Errno:
		if a.ErrnoName != "" {
			return "errno(" + a.ErrnoName + ")"
		}
		return fmt.Sprintf("errno(%d)", a.Data)
	case Trace:
		return fmt.Sprintf("trace(%d)", a.Data)
	case Trap:
		if a.Data != 0 {
			return fmt.Sprintf("trap(%d)", a.Data)
		}
	}
	return a.Kind.String()
}

// Policy is a whole syscall policy.
type Policy struct {
	// Default applies to syscalls the tables know that no rule matches.
	Default Action
	// Unknown applies to syscall numbers absent from the policy's tables,
	// including those newer than the tables (errno(ENOSYS) by default, so
	// that libc falls back to older calls).
	Unknown Action
	// BadArch applies to any architecture not in Arches (kill_process by
	// default).
	BadArch Action
	// Arches lists the accepted architectures by canonical arch name. The
	// first is where unqualified syscall numbers are read. Empty means the
	// native architecture only.
	Arches []string
	// Flags are filter flags to request when installing: "log",
	// "spec_allow", "tsync", "wait_killable_recv" (see the seccomp package).
	Flags []string
	// Rules in file order; includes are already inlined.
	Rules []*Rule
	// Listener describes where notifications go, for profiles handed to
	// a container runtime (OCI listenerPath and listenerMetadata).
	Listener *Listener
	// Files is the files block: which files the file broker opens for
	// the program when the rules notify the file-opening syscalls
	// (FileSyscalls). Nil when the policy has none.
	Files *Files
	// Comment is the text of the comment block at the head of the policy,
	// kept so that formatting and conversion preserve it.
	Comment string
	// HeaderComments keeps the comments written around the header lines
	// of the native format, keyed by the line's keyword: "default",
	// "unknown", "badarch", "arch", "flags", "listener".
	HeaderComments map[string]Comments
	// EndComment is the comment text after the last statement.
	EndComment string
	// Includes are the include lines of a file parsed on its own
	// (ParseOptions.SyntaxOnly), kept in place so that formatting rewrites
	// the file without inlining what it includes. Empty otherwise.
	Includes []*Include
	// Source is the file the policy was read from, if any.
	Source string
	// Warnings are problems found while reading the source that did not
	// stop it: a syscall name no table knows, a field the container
	// runtimes ignore, a rule changed to keep a runtime's behaviour. They
	// are not part of the policy's meaning.
	Warnings []Warning
}

// Warning is a problem in a policy source that did not stop it from being
// read, with the place it was found.
type Warning struct {
	Pos Pos
	Msg string
}

// String renders the warning as "file:line:col: message".
func (w Warning) String() string {
	if w.Pos.File == "" && !w.Pos.IsValid() {
		return w.Msg
	}
	return w.Pos.String() + ": " + w.Msg
}

// Comments are the comments around one line of the source: the block of
// comment lines directly above it and the comment at its end. Text has
// the '#' and one following space removed; lines are joined with '\n'.
type Comments struct {
	Above, Trailing string
}

// Include is an include line kept in place by ParseOptions.SyntaxOnly.
type Include struct {
	Pos Pos
	// Path is the file name as written, relative to the including file.
	Path string
	// Before is the index in Policy.Rules of the first rule after the
	// include line (len(Rules) when it comes last).
	Before int
	// Comment, Trailing and BlankBefore are as for Rule.
	Comment, Trailing string
	BlankBefore       bool
}

// Listener is the OCI runtime-spec's seccomp agent hand-off.
type Listener struct {
	Path     string
	Metadata string
}

// Rule applies an action to syscalls, optionally under a condition on the
// arguments. For each syscall, rules are tried in order and the first
// whose condition holds decides.
type Rule struct {
	Pos Pos
	// Syscalls the rule applies to, by name, number or group.
	Syscalls []Target
	// When is the argument condition; nil means always.
	When Expr
	// Action taken when the rule matches.
	Action Action
	// Only restricts the rule to some architectures, capability sets or
	// kernels; nil means no restriction. Except excludes them.
	Only, Except *Applies
	// Comment is the comment block written just above the rule.
	Comment string
	// Trailing is the comment at the end of the rule's line.
	Trailing string
	// BlankBefore records an empty line above the rule (and its comment)
	// in the source; the formatter keeps it so the author's grouping of
	// rules survives. Never set on the first rule.
	BlankBefore bool
}

// Target names the syscalls of a rule: exactly one of Name, Group or
// HasNr is set.
type Target struct {
	Pos   Pos
	Name  string // syscall name, e.g. "openat"
	Group string // group name without '@', e.g. "network-io"
	Nr    int    // syscall number as the filter sees it, when HasNr
	HasNr bool
	// Arch qualifies Name or Nr with one architecture ("i386"); "" means
	// every architecture of the policy.
	Arch string
}

func (t Target) String() string {
	var s string
	switch {
	case t.Group != "":
		s = "@" + t.Group
	case t.HasNr:
		s = fmt.Sprint(t.Nr)
	default:
		s = t.Name
	}
	if t.Arch != "" {
		s = t.Arch + ":" + s
	}
	return s
}

// Applies restricts a rule, as the OCI profile's includes and excludes do.
// A rule with Only applies when every listed dimension matches: the arch is
// listed (if Arches is set), all Caps are held (if set), and the kernel is
// at least MinKernel (if set). Except removes the rule when any listed
// dimension matches.
type Applies struct {
	Arches    []string
	Caps      []string
	MinKernel string
}

// Expr is an argument condition: a Cmp, or And, Or and Not of conditions.
type Expr interface {
	exprNode()
	// Position of the expression's first token.
	Position() Pos
}

// And holds when every term holds.
type And struct {
	Pos   Pos
	Terms []Expr
}

// Or holds when any term holds.
type Or struct {
	Pos   Pos
	Terms []Expr
}

// Not holds when X does not.
type Not struct {
	Pos Pos
	X   Expr
}

// CmpOp is a comparison of one argument with constants.
type CmpOp uint8

// The comparisons. For int-typed arguments only the low 32 bits of the
// argument and of the constants take part.
const (
	OpEq       CmpOp = iota + 1 // arg == Value
	OpNe                        // arg != Value
	OpLt                        // arg < Value (unsigned)
	OpLe                        // arg <= Value
	OpGt                        // arg > Value
	OpGe                        // arg >= Value
	OpMaskedEq                  // arg & Mask == Value
	OpBitsOnly                  // arg & ^Value == 0: only these bits may be set
	OpBitsNone                  // arg & Value == 0: none of these bits
	OpBitsAll                   // arg & Value == Value: all of these bits
	OpIn                        // arg is one of Values
	OpRange                     // Value <= arg <= High
)

var cmpOpNames = [...]string{
	OpEq: "==", OpNe: "!=", OpLt: "<", OpLe: "<=", OpGt: ">", OpGe: ">=",
	OpMaskedEq: "&==", OpBitsOnly: "only", OpBitsNone: "none", OpBitsAll: "all",
	OpIn: "in", OpRange: "in-range",
}

func (o CmpOp) String() string {
	if int(o) < len(cmpOpNames) && cmpOpNames[o] != "" {
		return cmpOpNames[o]
	}
	return fmt.Sprintf("CmpOp(%d)", uint8(o))
}

// Cmp compares one argument with constants.
type Cmp struct {
	Pos Pos
	// Arg is the argument index 0..5 when written as argN, or -1 when
	// written by name; ArgName then names it and each syscall of the rule
	// resolves it from its own signature.
	Arg     int
	ArgName string
	Op      CmpOp
	// Value is the constant (OpEq..OpGe, OpBits*), the expected value of
	// OpMaskedEq, or the low end of OpRange.
	Value Value
	// Mask is the mask of OpMaskedEq.
	Mask Value
	// High is the high end of OpRange, inclusive.
	High Value
	// Values are the members of OpIn.
	Values []Value
}

// Value is a constant as written: numbers and symbolic constants joined
// by '|'. Symbols are resolved per architecture, since some constants
// differ between architectures.
type Value struct {
	// Terms are the '|'-joined parts as written: "PROT_EXEC", "0x4", "-1".
	Terms []string
	// Num is the value on the native architecture (or the only value when
	// every term is a number).
	Num uint64
}

// Num returns a Value for a plain number.
func Num(v uint64) Value { return Value{Num: v} }

func (v Value) String() string {
	if len(v.Terms) == 0 {
		if v.Num < 10 {
			return fmt.Sprint(v.Num)
		}
		return fmt.Sprintf("%#x", v.Num)
	}
	return strings.Join(v.Terms, "|")
}

func (*And) exprNode() {}
func (*Or) exprNode()  {}
func (*Not) exprNode() {}
func (*Cmp) exprNode() {}

// Position implements Expr.
func (e *And) Position() Pos { return e.Pos }

// Position implements Expr.
func (e *Or) Position() Pos { return e.Pos }

// Position implements Expr.
func (e *Not) Position() Pos { return e.Pos }

// Position implements Expr.
func (e *Cmp) Position() Pos { return e.Pos }

// WalkCmps calls f for every comparison in e, in the order written.
func WalkCmps(e Expr, f func(*Cmp)) {
	switch e := e.(type) {
	case *Cmp:
		f(e)
	case *And:
		for _, t := range e.Terms {
			WalkCmps(t, f)
		}
	case *Or:
		for _, t := range e.Terms {
			WalkCmps(t, f)
		}
	case *Not:
		WalkCmps(e.X, f)
	}
}
