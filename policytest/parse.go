// Package policytest runs policy unit tests: files of cases such as
//
//	x86_64 socket AF_INET SOCK_STREAM 0 -> allow
//	i386 ptrace -> errno(EPERM)
//
// each naming an architecture, a syscall, its arguments and the action
// the policy must take. Every case is decided twice, by the reference
// evaluator (policy.Evaluate) and by the compiled filter run in the BPF
// interpreter; a case passes when both give the expected action, and a
// disagreement between the two is reported as a compiler bug.
package policytest

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/syscage/syscage/arch"
	"github.com/syscage/syscage/internal/suggest"
	"github.com/syscage/syscage/policy"
)

// Case is one line of a cases file.
type Case struct {
	Pos  policy.Pos
	Arch *arch.Arch
	// Syscall is the syscall's name, or "" for a number without one.
	Syscall string
	// Nr is the number as the filter sees it.
	Nr   uint32
	Args [6]uint64
	Want Expect
	// Text is the line as written, without its comment.
	Text string
}

// Input returns the seccomp input of the case.
func (c *Case) Input() policy.Input {
	return policy.Input{AuditArch: c.Arch.AuditArch, Nr: c.Nr, Args: c.Args}
}

// Expect is the expected outcome of a case.
type Expect struct {
	Action policy.Action
	// AnyErrno: "errno" without a value accepts every errno.
	AnyErrno bool
}

func (e Expect) String() string {
	if e.AnyErrno {
		return "errno"
	}
	return e.Action.String()
}

// actions are the spellings of expected actions, as in the native
// policy format.
var actions = map[string]policy.ActionKind{
	"allow": policy.Allow, "log": policy.Log, "notify": policy.Notify, "trace": policy.Trace,
	"errno": policy.Errno, "trap": policy.Trap, "kill_thread": policy.KillThread, "kill_process": policy.KillProcess,
}

func actionNames() []string {
	out := make([]string, 0, len(actions))
	for n := range actions {
		out = append(out, n)
	}
	return out
}

// Parse reads a cases file. Each non-empty line is
//
//	ARCH SYSCALL [ARG...] -> ACTION
//
// with '#' starting a comment. ARCH is an architecture name or alias;
// SYSCALL a name or a number as the filter sees it; each ARG a number
// (decimal, 0x hex, 0o octal, 0b binary, negative for two's complement)
// or symbolic constants joined by '|' (AF_INET, O_WRONLY|O_CREAT), given
// in order or as NAME=VALUE with the argument's name or argN; missing
// arguments are 0. ACTION is allow, log, notify, trap, trap(N), trace(N),
// kill_process, kill_thread, errno(NAME), errno(N), or errno alone for
// any errno. Errors are a policy.ErrorList with line and column.
func Parse(filename string, src []byte) ([]Case, error) {
	var cases []Case
	var errs policy.ErrorList
	for i, line := range strings.Split(string(src), "\n") {
		if c, err := parseLine(filename, i+1, line); err != nil {
			errs = append(errs, err)
		} else if c != nil {
			cases = append(cases, *c)
		}
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return cases, nil
}

// field is a word of a line with its 1-based column.
type field struct {
	text string
	col  int
}

func fields(line string) []field {
	var out []field
	start := -1
	for i := 0; i <= len(line); i++ {
		space := i == len(line) || line[i] == ' ' || line[i] == '\t' || line[i] == '\r'
		switch {
		case space && start >= 0:
			out = append(out, field{line[start:i], start + 1})
			start = -1
		case !space && start < 0:
			start = i
		}
	}
	return out
}

// parseLine reads one line; nil without error for blank lines.
func parseLine(file string, n int, line string) (*Case, *policy.Error) {
	if i := strings.IndexByte(line, '#'); i >= 0 {
		line = line[:i]
	}
	fs := fields(line)
	if len(fs) == 0 {
		return nil, nil
	}
	pos := func(col int) policy.Pos { return policy.Pos{File: file, Line: n, Col: col} }
	fail := func(col int, format string, args ...any) (*Case, *policy.Error) {
		return nil, &policy.Error{Pos: pos(col), Msg: fmt.Sprintf(format, args...)}
	}
	arrow := -1
	for i, f := range fs {
		if f.text == "->" {
			if arrow >= 0 {
				return fail(f.col, "a second '->': a case has one expected action")
			}
			arrow = i
		}
	}
	end := fs[len(fs)-1]
	switch {
	case arrow < 0:
		return fail(end.col+len(end.text), "expected '-> ACTION' at the end of the case, like `x86_64 getpid -> allow`")
	case arrow == len(fs)-1:
		return fail(end.col+2, "expected an action after '->': %s", strings.Join(sortedActions(), ", "))
	case arrow+2 < len(fs):
		return fail(fs[arrow+2].col, "unexpected %q after the action: a case ends with one action", fs[arrow+2].text)
	case arrow < 2:
		return fail(fs[0].col, "expected an architecture and a syscall before '->', like `x86_64 openat AT_FDCWD 0 O_RDONLY -> allow`")
	}
	c := &Case{Pos: pos(fs[0].col), Text: strings.TrimSpace(line)}
	a, err := arch.ByName(fs[0].text)
	if err != nil {
		return fail(fs[0].col, "%v", err)
	}
	c.Arch = a
	sc, err := a.Resolve(fs[1].text)
	if err != nil {
		return fail(fs[1].col, "%v", err)
	}
	c.Syscall, c.Nr = sc.Name, uint32(sc.Nr)
	var sig arch.Signature
	hasSig := false
	if c.Syscall != "" {
		sig, hasSig = a.Signature(c.Syscall)
	}
	next, named := 0, false
	for _, f := range fs[2:arrow] {
		idx, text, col := next, f.text, f.col
		if name, val, ok := strings.Cut(f.text, "="); ok {
			named = true
			i, err := argIndex(name, sig, hasSig, c)
			if err != nil {
				return fail(f.col, "%v", err)
			}
			idx, text, col = i, val, f.col+len(name)+1
		} else if named {
			return fail(f.col, "%q: after a NAME=VALUE argument, the others must be named too", f.text)
		} else {
			next++
		}
		if idx > 5 {
			return fail(f.col, "too many arguments: syscalls have at most 6 (arg0 to arg5)")
		}
		v, err := value(a, text)
		if err != nil {
			return fail(col, "%v", err)
		}
		c.Args[idx] = v
	}
	want, col, perr := parseAction(a, fs[arrow+1])
	if perr != "" {
		return fail(col, "%s", perr)
	}
	c.Want = want
	return c, nil
}

// argIndex resolves an argument name: argN, or a name from the
// syscall's signature on the case's arch.
func argIndex(name string, sig arch.Signature, hasSig bool, c *Case) (int, error) {
	if strings.HasPrefix(name, "arg") && len(name) == 4 && name[3] >= '0' && name[3] <= '5' {
		return int(name[3] - '0'), nil
	}
	if !hasSig {
		return 0, fmt.Errorf("argument %q: the arguments of %s on %s are not known; use arg0..arg5", name, c.syscallText(), c.Arch.Name)
	}
	names := make([]string, len(sig.Args))
	for i, p := range sig.Args {
		if p.Name == name {
			return i, nil
		}
		names[i] = p.Name
	}
	return 0, fmt.Errorf("%s on %s has no argument %q; its arguments are %s%s", c.Syscall, c.Arch.Name, name,
		strings.Join(names, ", "), suggest.Phrase(suggest.Nearest(name, names, 2)))
}

func (c *Case) syscallText() string {
	if c.Syscall != "" {
		return c.Syscall
	}
	return fmt.Sprintf("syscall %d", c.Nr)
}

// value reads numbers and constants joined by '|'.
func value(a *arch.Arch, s string) (uint64, error) {
	var out uint64
	for _, t := range strings.Split(s, "|") {
		if t == "" {
			return 0, fmt.Errorf("empty term in %q", s)
		}
		if c := t[0]; c == '-' || (c >= '0' && c <= '9') {
			n, err := number(t)
			if err != nil {
				return 0, err
			}
			out |= n
			continue
		}
		n, ok := a.Constant(t)
		if !ok {
			var cands []string
			if i := strings.IndexByte(t, '_'); i > 0 {
				cands = a.ConstantNames(t[:i+1])
			}
			near := suggest.Nearest(t, cands, 3)
			if len(near) == 0 {
				near = suggest.Nearest(t, a.ConstantNames(""), 3)
			}
			return 0, fmt.Errorf("unknown constant %q on %s%s", t, a.Name, suggest.Phrase(near))
		}
		out |= n
	}
	return out, nil
}

// number reads a 64-bit number; negative numbers are two's complement.
func number(s string) (uint64, error) {
	neg := strings.HasPrefix(s, "-")
	n, err := strconv.ParseUint(strings.TrimPrefix(s, "-"), 0, 64)
	if err != nil {
		return 0, fmt.Errorf("%q is not a 64-bit number (decimal, 0x hex, 0o octal or 0b binary)", s)
	}
	if neg {
		if n > 1<<63 {
			return 0, fmt.Errorf("%q is below the smallest 64-bit number", s)
		}
		n = -n
	}
	return n, nil
}

// parseAction reads the expected action. It returns the column and the
// message of an error, if any.
func parseAction(a *arch.Arch, f field) (Expect, int, string) {
	name, arg, hasArg := f.text, "", false
	if i := strings.IndexByte(f.text, '('); i >= 0 {
		if !strings.HasSuffix(f.text, ")") {
			return Expect{}, f.col + len(f.text), "expected ')' to close the action's value"
		}
		name, arg, hasArg = f.text[:i], f.text[i+1:len(f.text)-1], true
	}
	kind, ok := actions[name]
	if !ok {
		return Expect{}, f.col, fmt.Sprintf("unknown action %q%s; actions are %s", name,
			suggest.Phrase(suggest.Nearest(name, actionNames(), 2)), strings.Join(sortedActions(), ", "))
	}
	argCol := f.col + len(name) + 1
	x := policy.Action{Kind: kind}
	switch kind {
	case policy.Errno:
		if !hasArg {
			return Expect{Action: x, AnyErrno: true}, 0, ""
		}
		if arg != "" && (arg[0] < '0' || arg[0] > '9') {
			n, ok := a.Errno(arg)
			if !ok {
				var cands []string
				for _, c := range a.ConstantNames("E") {
					if _, ok := a.Errno(c); ok {
						cands = append(cands, c)
					}
				}
				return Expect{}, argCol, fmt.Sprintf("unknown errno %q on %s%s", arg, a.Name, suggest.Phrase(suggest.Nearest(arg, cands, 3)))
			}
			x.ErrnoName, x.Data = arg, uint16(n)
			return Expect{Action: x}, 0, ""
		}
		fallthrough
	case policy.Trace, policy.Trap:
		if !hasArg {
			if kind == policy.Trace {
				return Expect{}, f.col + len(f.text), "trace needs its value, like trace(1)"
			}
			return Expect{Action: x}, 0, ""
		}
		n, err := strconv.ParseUint(arg, 0, 16)
		if err != nil || (kind == policy.Errno && n > 4095) {
			return Expect{}, argCol, fmt.Sprintf("%q is not a valid value for %s", arg, name)
		}
		x.Data = uint16(n)
		return Expect{Action: x}, 0, ""
	}
	if hasArg {
		return Expect{}, argCol - 1, fmt.Sprintf("%s takes no value", name)
	}
	return Expect{Action: x}, 0, ""
}

func sortedActions() []string {
	return []string{"allow", "log", "notify", "trace(N)", "errno(NAME)", "errno", "trap", "kill_thread", "kill_process"}
}
