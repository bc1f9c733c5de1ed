// Package lint finds known pitfalls in seccomp policies and raw filters:
// no architecture check, a launched program that cannot execve, dangerous
// syscalls allowed, fallback syscalls denied with the wrong errno, errno 0,
// rules that can never decide, conditions that can never hold, and more
// (Checks lists them). Each finding has a position, a severity, a stable
// check ID, a message and the fix.
package lint

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/syscage/syscage/internal/suggest"
	"github.com/syscage/syscage/policy"
)

// Severity ranks findings.
type Severity uint8

// Severities, least serious first.
const (
	// Info: worth knowing, not wrong.
	Info Severity = iota + 1
	// Warning: probably a mistake or a weakness.
	Warning
	// Error: the policy will break programs or can be bypassed.
	Error
)

var severityNames = [...]string{Info: "info", Warning: "warning", Error: "error"}

func (s Severity) String() string {
	if int(s) < len(severityNames) && severityNames[s] != "" {
		return severityNames[s]
	}
	return fmt.Sprintf("Severity(%d)", uint8(s))
}

// MarshalText writes the severity's name, for JSON.
func (s Severity) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// Finding is one problem found.
type Finding struct {
	// Pos is where the problem is: a rule, a condition, a header line,
	// or the file alone. For raw filters Pos.File names the file and
	// Insn the instruction.
	Pos policy.Pos `json:"-"`
	// Insn is the instruction index in a raw filter, -1 otherwise.
	Insn     int      `json:"insn"`
	Severity Severity `json:"severity"`
	// Check is the stable ID of the check (see Checks).
	Check   string `json:"check"`
	Message string `json:"message"`
	// Fix says how to resolve it.
	Fix string `json:"fix"`
}

// Where renders the finding's position: "file:line:col", or
// "file: instruction N" for raw filters.
func (f Finding) Where() string {
	if f.Insn >= 0 {
		if f.Pos.File == "" {
			return fmt.Sprintf("instruction %d", f.Insn)
		}
		return fmt.Sprintf("%s: instruction %d", f.Pos.File, f.Insn)
	}
	return f.Pos.String()
}

// String renders the finding on one line, then the fix indented.
func (f Finding) String() string {
	s := fmt.Sprintf("%s: %s: %s [%s]", f.Where(), f.Severity, f.Message, f.Check)
	if f.Fix != "" {
		s += "\n\tfix: " + f.Fix
	}
	return s
}

// Check describes one check.
type Check struct {
	ID       string
	Severity Severity
	// Raw is true when the check also runs on raw filters, Native when it
	// runs on policies.
	Raw, Native bool
	// Summary says in a sentence what the check finds and why it
	// matters.
	Summary string
}

// The check IDs. They are stable: scripts and --disable use them.
const (
	NoArchCheck             = "no-arch-check"
	X32Bypass               = "x32-bypass"
	ExecDenied              = "exec-denied"
	IOURingAllowed          = "io-uring-allowed"
	PtraceAllowed           = "ptrace-allowed"
	BPFAllowed              = "bpf-allowed"
	ProcessVMAllowed        = "process-vm-allowed"
	FallbackErrno           = "fallback-errno"
	ErrnoZero               = "errno-zero"
	UnknownAction           = "unknown-action"
	ShadowedRule            = "shadowed-rule"
	RedundantRule           = "redundant-rule"
	NeverMatches            = "never-matches"
	AlwaysMatches           = "always-matches"
	PersonalityUnrestricted = "personality-unrestricted"
	CloneUnrestricted       = "clone-unrestricted"
	CompatArch              = "compat-arch"
	DefaultAllow            = "default-allow"
	SourceWarning           = "source-warning"
)

var checks = []Check{
	{NoArchCheck, Error, true, false, "A path of a raw filter decides on the syscall number without having checked the architecture: " +
		"a process can pick another syscall table (int 0x80 on x86_64) where the same number is another syscall."},
	{X32Bypass, Error, true, false, "A raw filter accepts AUDIT_ARCH_X86_64 but lets x32 numbers (bit 30 set) through where the " +
		"x86_64 number is denied: x32 syscalls bypass it."},
	{ExecDenied, Warning, true, true, "The policy denies execve and execveat: a container runtime, or any launcher that " +
		"installs the filter before execve, cannot start a program under it."},
	{IOURingAllowed, Warning, true, true, "io_uring is allowed: operations submitted through the ring never pass the seccomp filter."},
	{PtraceAllowed, Warning, true, true, "ptrace is allowed: it can read and change other processes, and before Linux 4.8 rewrite syscalls after the filter ran."},
	{BPFAllowed, Warning, true, true, "bpf is allowed: it loads programs into the kernel and is a frequent source of kernel exploits."},
	{ProcessVMAllowed, Warning, true, true, "process_vm_readv or process_vm_writev is allowed: they read and write other processes' memory."},
	{FallbackErrno, Error, true, true, "A syscall that libc or runtimes replace with an older one when it fails with ENOSYS " +
		"(clone3, faccessat2, openat2, statx, ...) is denied with another errno: the fallback never happens and programs break."},
	{ErrnoZero, Error, true, true, "errno(0) returns 0 without running the syscall: the caller believes it succeeded."},
	{UnknownAction, Warning, false, true, "Syscalls the tables do not know (newer ones) are allowed, or denied with an errno " +
		"other than ENOSYS, which defeats libc's fallbacks."},
	{ShadowedRule, Warning, false, true, "A rule can never decide: earlier rules decide every input it matches, with another action."},
	{RedundantRule, Info, false, true, "A rule can never decide, but the earlier rules that decide its inputs do the same."},
	{NeverMatches, Warning, false, true, "A condition, or part of one, can never hold (a contradiction, or an unsigned comparison with an impossible value)."},
	{AlwaysMatches, Info, false, true, "A condition always holds: the rule is unconditional."},
	{PersonalityUnrestricted, Warning, true, true, "personality is allowed with any argument: it can disable address space " +
		"randomisation (ADDR_NO_RANDOMIZE) and make data executable (READ_IMPLIES_EXEC)."},
	{CloneUnrestricted, Warning, true, true, "clone is allowed with any flags (it can create namespaces), or clone3 is allowed at all " +
		"(its flags are in memory the filter cannot read)."},
	{CompatArch, Warning, false, true, "The policy accepts a compatibility ABI (i386 or x32 on x86_64, arm on aarch64): " +
		"another syscall table to get right, and attack surface most programs do not need."},
	{DefaultAllow, Warning, true, true, "The default action allows: the policy is a deny-list, and every syscall it does not name is allowed."},
	{SourceWarning, Warning, false, true, "Reading the policy found something left out or likely not meant: a syscall name no architecture has " +
		"(a typo?), a field runtimes ignore, rules libseccomp orders differently, opens that bypass the files block."},
}

// Checks returns every check, sorted by ID.
func Checks() []Check {
	out := slices.Clone(checks)
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

func checkByID(id string) (Check, bool) {
	for _, c := range checks {
		if c.ID == id {
			return c, true
		}
	}
	return Check{}, false
}

// Options tune the checks. The zero value lints a policy meant for a
// launched program, for a process holding every capability on the
// newest kernel, with every check.
type Options struct {
	// Env is the environment rules' only/except restrictions are decided
	// for.
	Env policy.Env
	// SelfInstalled says the program installs the filter on itself after
	// it has started, so it needs no execve (ExecDenied is skipped).
	SelfInstalled bool
	// Disable lists check IDs to skip.
	Disable []string
	// Source is the policy's source text, used to place findings about
	// header lines (default, unknown, arch) on their line. Without it
	// they name the file only.
	Source []byte
}

// Validate checks the IDs of Disable; Policy and Program call it, and a
// caller linting many files calls it first to report a bad ID once.
func (o *Options) Validate() error {
	for _, id := range o.Disable {
		if _, ok := checkByID(id); !ok {
			ids := make([]string, len(checks))
			for i, c := range checks {
				ids[i] = c.ID
			}
			return fmt.Errorf("unknown check %q%s; the checks are %s", id,
				suggest.Phrase(suggest.Nearest(id, ids, 3)), strings.Join(ids, ", "))
		}
	}
	return nil
}

func (o *Options) enabled(id string) bool { return !slices.Contains(o.Disable, id) }

// findings collects findings, dropping duplicates and disabled checks.
type findings struct {
	opts *Options
	list []Finding
	seen map[string]bool
}

func (fs *findings) add(pos policy.Pos, insn int, id, fix, format string, args ...any) {
	if !fs.opts.enabled(id) {
		return
	}
	c, _ := checkByID(id)
	f := Finding{Pos: pos, Insn: insn, Severity: c.Severity, Check: id, Message: fmt.Sprintf(format, args...), Fix: fix}
	key := f.Where() + "\x00" + id + "\x00" + f.Message
	if fs.seen == nil {
		fs.seen = map[string]bool{}
	}
	if fs.seen[key] {
		return
	}
	fs.seen[key] = true
	fs.list = append(fs.list, f)
}

// sorted returns the findings by position, then severity (worst first).
func (fs *findings) sorted() []Finding {
	out := fs.list
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Pos.File != b.Pos.File {
			return a.Pos.File < b.Pos.File
		}
		if a.Pos.Line != b.Pos.Line {
			return a.Pos.Line < b.Pos.Line
		}
		if a.Pos.Col != b.Pos.Col {
			return a.Pos.Col < b.Pos.Col
		}
		if a.Insn != b.Insn {
			return a.Insn < b.Insn
		}
		if a.Severity != b.Severity {
			return a.Severity > b.Severity
		}
		return a.Check < b.Check
	})
	return out
}

// Worst returns the highest severity among findings, 0 when there are
// none.
func Worst(fs []Finding) Severity {
	var w Severity
	for _, f := range fs {
		w = max(w, f.Severity)
	}
	return w
}
