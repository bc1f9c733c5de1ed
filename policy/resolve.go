package policy

import (
	"fmt"
	"strconv"
	"strings"
	"sync"

	"github.com/syscage/syscage/arch"
	"github.com/syscage/syscage/bpf"
	"github.com/syscage/syscage/internal/suggest"
)

// This file holds what turns the symbolic policy into numbers for one
// architecture. The evaluator and the compiler share it, so the two read
// names, arguments and widths the same way.

// AcceptedArches returns the architectures the policy accepts: Arches, or
// the native architecture when Arches is empty.
func (p *Policy) AcceptedArches() ([]*arch.Arch, error) {
	if len(p.Arches) == 0 {
		a := arch.Native()
		if a == nil {
			return nil, fmt.Errorf("the policy names no architecture and this machine's is unknown: add an arch line")
		}
		return []*arch.Arch{a}, nil
	}
	out := make([]*arch.Arch, 0, len(p.Arches))
	for _, n := range p.Arches {
		a, err := arch.ByName(n)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, nil
}

// Resolve returns the value on architecture a: each term is a number or a
// constant that a defines (arch.Constant), and the terms are ORed. A
// Value without terms is its Num.
func (v Value) Resolve(a *arch.Arch) (uint64, error) {
	if len(v.Terms) == 0 {
		return v.Num, nil
	}
	var out uint64
	for _, t := range v.Terms {
		if t == "" {
			return 0, fmt.Errorf("empty term in value %q", v.String())
		}
		if c := t[0]; isDigit(c) || c == '-' {
			n, err := parseNumber(t)
			if err != nil {
				return 0, err
			}
			out |= n
			continue
		}
		n, ok := a.Constant(t)
		if !ok {
			return 0, fmt.Errorf("constant %s is not defined on %s%s", t, a.Name, suggestConstant(a, t))
		}
		out |= n
	}
	return out, nil
}

// suggestConstant proposes the constants of a nearest to name, looking
// first among those that share its prefix (AF_, PROT_, CLONE_).
func suggestConstant(a *arch.Arch, name string) string {
	var cands []string
	if i := strings.IndexByte(name, '_'); i > 0 {
		cands = a.ConstantNames(name[:i+1])
	}
	if s := suggest.Nearest(name, cands, 3); len(s) > 0 {
		return suggest.Phrase(s)
	}
	return suggest.Phrase(suggest.Nearest(name, allConstants(a), 3))
}

// constantNames caches each architecture's full list of constant names,
// which suggestions scan.
var constantNames sync.Map // arch name -> []string

func allConstants(a *arch.Arch) []string {
	if v, ok := constantNames.Load(a.Name); ok {
		return v.([]string)
	}
	names := a.ConstantNames("")
	constantNames.Store(a.Name, names)
	return names
}

// Ret returns the seccomp return value of the action on architecture a
// (include/uapi/linux/seccomp.h SECCOMP_RET_*). Errno names are resolved
// for a, since errno numbers differ between architectures.
func (x Action) Ret(a *arch.Arch) (uint32, error) {
	switch x.Kind {
	case KillProcess:
		return bpf.RetKillProcess, nil
	case KillThread:
		return bpf.RetKillThread, nil
	case Trap:
		return bpf.RetTrap | uint32(x.Data), nil
	case Errno:
		n := int(x.Data)
		if x.ErrnoName != "" {
			var ok bool
			if n, ok = a.Errno(x.ErrnoName); !ok {
				return 0, fmt.Errorf("errno %s is not defined on %s%s", x.ErrnoName, a.Name, suggestErrno(a, x.ErrnoName))
			}
		}
		if n < 0 || n > maxErrno {
			return 0, fmt.Errorf("errno %d is out of range 0..%d", n, maxErrno)
		}
		return bpf.RetErrno | uint32(n), nil
	case Notify:
		return bpf.RetUserNotif, nil
	case Trace:
		return bpf.RetTrace | uint32(x.Data), nil
	case Log:
		return bpf.RetLog, nil
	case Allow:
		return bpf.RetAllow, nil
	}
	return 0, fmt.Errorf("no action (%s)", x.Kind)
}

func suggestErrno(a *arch.Arch, name string) string {
	var cands []string
	for _, n := range allConstants(a) {
		if n[0] != 'E' {
			continue
		}
		if _, ok := a.Errno(n); ok {
			cands = append(cands, n)
		}
	}
	return suggest.Phrase(suggest.Nearest(name, cands, 3))
}

// ArgIndex returns the argument slot (0..5) a comparison reads for a
// syscall on architecture a. Arguments written arg0..arg5 are that slot;
// named arguments come from the syscall's signature on a, which may order
// them differently from other architectures (clone) or have none (64-bit
// arguments on 32-bit ABIs take two slots).
func ArgIndex(a *arch.Arch, syscall string, c *Cmp) (int, error) {
	if c.Arg >= 0 {
		if c.Arg > 5 {
			return 0, fmt.Errorf("argument index %d is out of range 0..5", c.Arg)
		}
		return c.Arg, nil
	}
	if syscall == "" {
		return 0, fmt.Errorf("argument %q: the syscall has no name on %s, so only arg0..arg5 can be used", c.ArgName, a.Name)
	}
	sig, ok := a.Signature(syscall)
	if !ok {
		if _, any := arch.SignatureOf(syscall); any && a.Bits == 32 {
			return 0, fmt.Errorf("argument %q of %s has no fixed slot on %s, where 64-bit arguments take two slots: use arg0..arg5, or restrict the rule with `only arch`", c.ArgName, syscall, a.Name)
		}
		return 0, fmt.Errorf("argument %q: the arguments of %s on %s are not known; use arg0..arg5", c.ArgName, syscall, a.Name)
	}
	for i, p := range sig.Args {
		if p.Name == c.ArgName {
			return i, nil
		}
	}
	names := make([]string, len(sig.Args))
	for i, p := range sig.Args {
		names[i] = p.Name
	}
	hint := suggest.Phrase(suggest.Nearest(c.ArgName, names, 2))
	if generic, ok := arch.SignatureOf(syscall); ok {
		for _, p := range generic.Args {
			if p.Name == c.ArgName {
				hint = "; other architectures have it: put the rule in an `only arch` block"
			}
		}
	}
	return 0, fmt.Errorf("%s on %s has no argument %q; its arguments are %s%s", syscall, a.Name, c.ArgName,
		describeArgs(sig), hint)
}

// describeArgs lists a signature's arguments with their slots.
func describeArgs(sig arch.Signature) string {
	if len(sig.Args) == 0 {
		return "none"
	}
	parts := make([]string, len(sig.Args))
	for i, p := range sig.Args {
		parts[i] = fmt.Sprintf("%s (arg%d, %s)", p.Name, i, p.Kind)
	}
	return strings.Join(parts, ", ")
}

// ArgWidth returns how many low bits of argument idx of a syscall a
// filter compares on architecture a: 32 on 32-bit ABIs and for
// int-typed arguments (the kernel ignores the upper half of their
// registers), 64 for the rest, including arguments whose type is not
// known.
func ArgWidth(a *arch.Arch, syscall string, idx int) int {
	if a.Bits == 32 {
		return 32
	}
	if sig, ok := a.Signature(syscall); ok && idx >= 0 && idx < len(sig.Args) && sig.Args[idx].Kind == arch.KindInt {
		return 32
	}
	return 64
}

// argKind returns the kind of argument idx, KindUnknown when not known.
func argKind(a *arch.Arch, syscall string, idx int) arch.Kind {
	if sig, ok := a.Signature(syscall); ok && idx >= 0 && idx < len(sig.Args) {
		return sig.Args[idx].Kind
	}
	return arch.KindUnknown
}

// Syscalls returns the syscalls the target names on architecture a: none
// when it is qualified with another architecture or names a syscall a
// lacks; a group's members that a has; for a number, that number with its
// name on a, or an empty name when a's table has none.
func (t Target) Syscalls(a *arch.Arch) []arch.Syscall {
	if t.Arch != "" && t.Arch != a.Name {
		return nil
	}
	switch {
	case t.Group != "":
		members, _ := groupMembers(t.Group)
		var out []arch.Syscall
		for _, n := range members {
			if nr, ok := a.Lookup(n); ok {
				out = append(out, arch.Syscall{Name: n, Nr: nr})
			}
		}
		return out
	case t.HasNr:
		name, _ := a.SyscallName(t.Nr)
		return []arch.Syscall{{Name: name, Nr: t.Nr}}
	}
	if nr, ok := a.Lookup(t.Name); ok {
		return []arch.Syscall{{Name: t.Name, Nr: nr}}
	}
	return nil
}

// Env is what a rule's only/except restrictions are tested against
// besides the architecture.
type Env struct {
	// Caps are the capabilities the process holds, like "CAP_SYS_ADMIN";
	// nil means all of them.
	Caps []string
	// Kernel is the kernel version, like "6.18"; "" means newer than any
	// version a policy names.
	Kernel string
}

// hasCap reports whether the environment holds capability c. Names
// compare without case and with or without the CAP_ prefix, as container
// runtimes spell them either way.
func (e Env) hasCap(c string) bool {
	if e.Caps == nil {
		return true
	}
	for _, h := range e.Caps {
		if capKey(h) == capKey(c) {
			return true
		}
	}
	return false
}

func capKey(c string) string {
	return strings.TrimPrefix(strings.ToUpper(strings.TrimSpace(c)), "CAP_")
}

// archListed reports whether names lists a, by canonical name or alias.
func archListed(names []string, a *arch.Arch) bool {
	for _, n := range names {
		if b, err := arch.ByName(n); err == nil && b == a {
			return true
		}
	}
	return false
}

// kernelAtLeast reports whether the environment's kernel is min or newer.
func (e Env) kernelAtLeast(min string) bool {
	return e.Kernel == "" || compareVersions(e.Kernel, min) >= 0
}

// AppliesOn reports whether the rule takes part on architecture a in
// environment env: Only, when set, must hold in every dimension it lists
// (the arch is listed, every capability is held, the kernel is at least
// MinKernel), and Except, when set, must hold in none (the arch is not
// listed, no capability listed is held, the kernel is older than
// MinKernel). This is how the OCI runtime spec's includes and excludes
// work.
func (r *Rule) AppliesOn(a *arch.Arch, env Env) bool {
	if o := r.Only; o != nil {
		if len(o.Arches) > 0 && !archListed(o.Arches, a) {
			return false
		}
		for _, c := range o.Caps {
			if !env.hasCap(c) {
				return false
			}
		}
		if o.MinKernel != "" && !env.kernelAtLeast(o.MinKernel) {
			return false
		}
	}
	if x := r.Except; x != nil {
		if archListed(x.Arches, a) {
			return false
		}
		for _, c := range x.Caps {
			if env.hasCap(c) {
				return false
			}
		}
		if x.MinKernel != "" && env.kernelAtLeast(x.MinKernel) {
			return false
		}
	}
	return true
}

// compareVersions compares kernel versions numerically component by
// component ("5.10" > "5.8"); anything after the numbers ("-rc1",
// "+") is ignored, and missing components count as 0.
func compareVersions(a, b string) int {
	pa, pb := versionParts(a), versionParts(b)
	for i := 0; i < max(len(pa), len(pb)); i++ {
		var x, y uint64
		if i < len(pa) {
			x = pa[i]
		}
		if i < len(pb) {
			y = pb[i]
		}
		switch {
		case x < y:
			return -1
		case x > y:
			return 1
		}
	}
	return 0
}

func versionParts(v string) []uint64 {
	var out []uint64
	for _, f := range strings.Split(v, ".") {
		end := 0
		for end < len(f) && isDigit(f[end]) {
			end++
		}
		n, err := strconv.ParseUint(f[:end], 10, 64)
		if err != nil {
			break
		}
		out = append(out, n)
		if end < len(f) {
			break
		}
	}
	return out
}

// SameEffect reports whether actions x and y return the same seccomp
// value on every architecture in as (errno names can stand for different
// numbers on different architectures); an action that cannot be resolved
// on one of them has no effect to compare.
func SameEffect(as []*arch.Arch, x, y Action) bool {
	for _, a := range as {
		rx, err1 := x.Ret(a)
		ry, err2 := y.Ret(a)
		if err1 != nil || err2 != nil || rx != ry {
			return false
		}
	}
	return true
}

// ActionOfRet is the inverse of Ret: the action a filter return value
// stands for, as the kernel acts on it (an action it does not define
// behaves as kill_process). The errno is named from a's table when a is
// not nil.
func ActionOfRet(ret uint32, a *arch.Arch) Action {
	data := uint16(ret & bpf.RetData)
	switch bpf.ActionOf(ret) {
	case bpf.RetKillProcess:
		return ActKillProcess
	case bpf.RetKillThread:
		return ActKillThread
	case bpf.RetTrap:
		return Action{Kind: Trap, Data: data}
	case bpf.RetErrno:
		act := Action{Kind: Errno, Data: data}
		if a != nil {
			if name, ok := a.ErrnoName(int(data)); ok {
				act.ErrnoName = name
			}
		}
		return act
	case bpf.RetUserNotif:
		return ActNotify
	case bpf.RetTrace:
		return Action{Kind: Trace, Data: data}
	case bpf.RetLog:
		return ActLog
	}
	return ActAllow
}
