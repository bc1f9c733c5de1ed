package peer

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"

	libseccomp "github.com/seccomp/libseccomp-golang"
	"golang.org/x/sys/unix"

	"github.com/syscage/syscage/arch"
	"github.com/syscage/syscage/bpf"
	"github.com/syscage/syscage/policy"
)

// Libseccomp compiles with libseccomp through libseccomp-golang.
//
// libseccomp has no notion of rule order: every rule whose conditions
// hold is a candidate, and rules of one syscall must not overlap with
// different actions. A policy's first-match chain is therefore
// translated into a partition: rule i becomes its condition and the
// negation of every earlier rule with another action, in disjunctive
// normal form, each conjunction one libseccomp rule (one comparison per
// argument, as libseccomp demands). Rules whose action is the default are
// left out, since libseccomp refuses them and the default covers them.
// Rules naming syscalls libseccomp does not know are left out, as runc
// leaves them out. Each architecture gets its own filter context (its argument widths,
// constants and argument slots differ), merged into one.
type Libseccomp struct {
	// Unchecked gives libseccomp rule sets it is known to merge wrongly
	// (see LibseccompMergesOrdered) instead of refusing them, to show
	// the defect.
	Unchecked bool
	// Tree selects libseccomp's binary-tree layout of the syscall
	// dispatch (SCMP_FLTATR_CTL_OPTIMIZE = 2) instead of its default
	// priority-ordered list (1).
	Tree bool
}

// Name implements Compiler.
func (l Libseccomp) Name() string {
	if l.Tree {
		return "libseccomp (tree)"
	}
	return "libseccomp"
}

// LibseccompVersion is the version of the libseccomp library linked in.
func LibseccompVersion() string {
	a, b, c := libseccomp.GetLibraryVersion()
	return fmt.Sprintf("%d.%d.%d", a, b, c)
}

// scmpArchNames maps syscage's architecture names to libseccomp's.
var scmpArchNames = map[string]string{
	"x86_64": "amd64", "i386": "x86", "x32": "x32", "aarch64": "arm64",
	"arm": "arm", "riscv64": "riscv64", "s390x": "s390x", "ppc64le": "ppc64le",
	"ppc64": "ppc64", "mips": "mips", "mipsel": "mipsel", "mips64": "mips64",
	"mips64el": "mips64le", "loongarch64": "loong64",
}

// ScmpArch returns libseccomp's token for an architecture.
func ScmpArch(a *arch.Arch) (libseccomp.ScmpArch, error) {
	n, ok := scmpArchNames[a.Name]
	if !ok {
		return 0, fmt.Errorf("libseccomp has no architecture for %s", a.Name)
	}
	return libseccomp.GetArchFromString(n)
}

// ScmpAction converts a seccomp return value to libseccomp's action.
func ScmpAction(ret uint32) (libseccomp.ScmpAction, error) {
	data := int16(uint16(ret & bpf.RetData))
	switch bpf.ActionOf(ret) {
	case bpf.RetKillProcess:
		return libseccomp.ActKillProcess, nil
	case bpf.RetKillThread:
		return libseccomp.ActKillThread, nil
	case bpf.RetTrap:
		if data != 0 {
			return 0, errors.New("SCMP_ACT_TRAP carries no data")
		}
		return libseccomp.ActTrap, nil
	case bpf.RetErrno:
		if data >= 4095 {
			// libseccomp refuses MAX_ERRNO itself (and larger values,
			// which the kernel would clamp to it).
			return 0, fmt.Errorf("libseccomp refuses errno %d", data)
		}
		return libseccomp.ActErrno.SetReturnCode(data), nil
	case bpf.RetTrace:
		return libseccomp.ActTrace.SetReturnCode(data), nil
	case bpf.RetUserNotif:
		return libseccomp.ActNotify, nil
	case bpf.RetLog:
		return libseccomp.ActLog, nil
	case bpf.RetAllow:
		return libseccomp.ActAllow, nil
	}
	return 0, fmt.Errorf("no libseccomp action for %#x", ret)
}

// Compile implements Compiler.
func (l Libseccomp) Compile(p *policy.Policy, env policy.Env) ([]bpf.Program, error) {
	arches, err := p.AcceptedArches()
	if err != nil {
		return nil, err
	}
	var merged *libseccomp.ScmpFilter
	defer func() {
		if merged != nil {
			merged.Release()
		}
	}()
	for _, a := range arches {
		f, err := l.archFilter(p, env, a)
		if err != nil {
			return nil, err
		}
		if merged == nil {
			merged = f
			continue
		}
		if err := merged.Merge(f); err != nil {
			f.Release()
			return nil, fmt.Errorf("libseccomp: merging the %s filter: %w", a.Name, err)
		}
	}
	prog, err := ExportBPF(merged)
	if err != nil {
		return nil, err
	}
	return []bpf.Program{prog}, nil
}

// NewScmpFilter returns a libseccomp filter context with the policy's
// default and bad-arch actions on architecture a alone, with the layout
// l selects. The caller releases it.
func (l Libseccomp) NewScmpFilter(p *policy.Policy, a *arch.Arch) (*libseccomp.ScmpFilter, error) {
	def, err := l.action(p.Default, a)
	if err != nil {
		return nil, err
	}
	bad, err := l.action(p.BadArch, a)
	if err != nil {
		return nil, err
	}
	sa, err := ScmpArch(a)
	if err != nil {
		return nil, unsupported(l.Name(), "%v", err)
	}
	f, err := libseccomp.NewFilter(def)
	if err != nil {
		return nil, fmt.Errorf("libseccomp: default action %s: %w", p.Default, err)
	}
	ok := false
	defer func() {
		if !ok {
			f.Release()
		}
	}()
	if err := f.SetBadArchAction(bad); err != nil {
		return nil, fmt.Errorf("libseccomp: bad-arch action %s: %w", p.BadArch, err)
	}
	if err := f.SetNoNewPrivsBit(false); err != nil {
		return nil, err
	}
	if l.Tree {
		if err := f.SetOptimize(2); err != nil {
			return nil, err
		}
	}
	native, err := libseccomp.GetNativeArch()
	if err != nil {
		return nil, err
	}
	if sa != native {
		if err := f.AddArch(sa); err != nil {
			return nil, fmt.Errorf("libseccomp: adding %s: %w", a.Name, err)
		}
		if err := f.RemoveArch(native); err != nil {
			return nil, fmt.Errorf("libseccomp: removing the native architecture: %w", err)
		}
	}
	ok = true
	return f, nil
}

func (l Libseccomp) action(x policy.Action, a *arch.Arch) (libseccomp.ScmpAction, error) {
	ret, err := x.Ret(a)
	if err != nil {
		return 0, err
	}
	act, err := ScmpAction(ret)
	if err != nil {
		return 0, unsupported(l.Name(), "%s: %v", x, err)
	}
	return act, nil
}

// LibseccompKnows reports whether libseccomp's tables have the syscall
// on architecture a as a syscall of its own. Rules naming syscalls it
// lacks are left out, as runc leaves them out, so the default action
// decides those syscalls. libseccomp 2.5 knows the socket and IPC calls
// of i386 only as operations of the socketcall and ipc multiplexers
// (its number for them is negative) and cannot put argument conditions on
// them exactly; they count as unknown too.
func LibseccompKnows(name string, a *arch.Arch) bool {
	sa, err := ScmpArch(a)
	if err != nil {
		return false
	}
	nr, err := libseccomp.GetSyscallFromNameByArch(name, sa)
	return err == nil && nr >= 0
}

// archFilter builds the filter context of one architecture.
func (l Libseccomp) archFilter(p *policy.Policy, env policy.Env, a *arch.Arch) (*libseccomp.ScmpFilter, error) {
	f, err := l.NewScmpFilter(p, a)
	if err != nil {
		return nil, err
	}
	ok := false
	defer func() {
		if !ok {
			f.Release()
		}
	}()
	defRet, err := p.Default.Ret(a)
	if err != nil {
		return nil, err
	}
	chains, err := Chains(p, env, a)
	if err != nil {
		return nil, err
	}
	for _, ch := range chains {
		if !LibseccompKnows(ch.Name, a) {
			// As runc does: a name libseccomp does not know gets no rule,
			// so the default decides it.
			continue
		}
		nr, err := libseccomp.GetSyscallFromName(ch.Name)
		if err != nil {
			return nil, unsupported(l.Name(), "libseccomp does not resolve %s", ch.Name)
		}
		parts, err := ch.Partition()
		if err != nil {
			return nil, unsupported(l.Name(), "%s on %s: %v", ch.Name, a.Name, err)
		}
		var rules []scmpRule
		for _, part := range parts {
			if part.Ret == defRet {
				continue
			}
			act, err := ScmpAction(part.Ret)
			if err != nil {
				return nil, unsupported(l.Name(), "%v", err)
			}
			d, err := OnePerArg(part.When)
			if err != nil {
				return nil, unsupported(l.Name(), "%s on %s: %v", ch.Name, a.Name, err)
			}
			for _, c := range d {
				conds := make([]libseccomp.ScmpCondition, len(c))
				for i, at := range c {
					if conds[i], err = scmpCondition(at); err != nil {
						return nil, err
					}
				}
				rules = append(rules, scmpRule{act, conds, c})
			}
		}
		if acts := distinctActions(rules); acts > 1 {
			// libseccomp documents no meaning for rules of one syscall
			// with different actions, and its rule database merges some
			// such sets wrongly (rules are lost), so the comparison
			// leaves them out.
			return nil, unsupported(l.Name(), "%s on %s has rules with %d different actions other than the default", ch.Name, a.Name, acts)
		}
		if len(rules) > 1 && !mergeable(rules) && !LibseccompMergesOrdered() && !l.Unchecked {
			return nil, unsupported(l.Name(), "%s on %s: libseccomp %s merges several rules with ordered or not-equal comparisons wrongly (GHSA-4q85-33p6-j5g6, fixed in 2.6.1)", ch.Name, a.Name, LibseccompVersion())
		}
		if len(rules) > maxRulesPerSyscall {
			// libseccomp's rule database grows steeply with overlapping
			// rules of one syscall; beyond this it takes minutes.
			return nil, unsupported(l.Name(), "%s on %s needs %d libseccomp rules (at most %d)", ch.Name, a.Name, len(rules), maxRulesPerSyscall)
		}
		for _, r := range rules {
			if err := f.AddRuleConditionalExact(nr, r.act, r.conds); err != nil {
				return nil, fmt.Errorf("libseccomp: %s on %s %v: %w", ch.Name, a.Name, r.conj, err)
			}
		}
	}
	ok = true
	return f, nil
}

// maxRulesPerSyscall bounds the libseccomp rules one syscall's chain may
// become.
const maxRulesPerSyscall = 32

type scmpRule struct {
	act   libseccomp.ScmpAction
	conds []libseccomp.ScmpCondition
	conj  Conj
}

// LibseccompMergesOrdered reports whether the linked libseccomp merges
// several rules of one syscall with ordered or not-equal comparisons
// correctly. Releases before 2.6.1 can lose such a comparison or test it
// on the wrong half of the argument (GHSA-4q85-33p6-j5g6 names 64-bit
// comparisons; the differential tests found it on 32-bit ABIs and with
// != too).
func LibseccompMergesOrdered() bool {
	a, b, c := libseccomp.GetLibraryVersion()
	return a > 2 || a == 2 && (b > 6 || b == 6 && c >= 1)
}

// mergeable reports whether libseccomp before 2.6.1 merges the rules of
// one syscall correctly: the differential tests found it losing rules or
// testing the wrong half of an argument once several rules of a syscall
// use <, <=, >, >= or != (which it builds by inverting >=, >, ==), on
// 64-bit and 32-bit ABIs alike. Equalities and masked equalities merge.
func mergeable(rules []scmpRule) bool {
	for _, r := range rules {
		for _, at := range r.conj {
			if at.Op != Eq && at.Op != MaskedEq {
				return false
			}
		}
	}
	return true
}

func distinctActions(rules []scmpRule) int {
	seen := map[libseccomp.ScmpAction]bool{}
	for _, r := range rules {
		seen[r.act] = true
	}
	return len(seen)
}

func scmpCondition(at Atom) (libseccomp.ScmpCondition, error) {
	ops := map[Op]libseccomp.ScmpCompareOp{
		Eq: libseccomp.CompareEqual, Ne: libseccomp.CompareNotEqual,
		Lt: libseccomp.CompareLess, Le: libseccomp.CompareLessOrEqual,
		Gt: libseccomp.CompareGreater, Ge: libseccomp.CompareGreaterEqual,
	}
	if at.Op == MaskedEq {
		// libseccomp's masked equality takes the mask first.
		return libseccomp.MakeCondition(uint(at.Arg), libseccomp.CompareMaskedEqual, at.Mask, at.Value)
	}
	return libseccomp.MakeCondition(uint(at.Arg), ops[at.Op], at.Value)
}

// ExportBPF returns the program libseccomp generates for f, read back
// in this machine's byte order. libseccomp before 2.6 exports only to a
// file descriptor, so it writes to an anonymous memory file.
func ExportBPF(f *libseccomp.ScmpFilter) (bpf.Program, error) {
	raw, err := f.ExportBPFMem()
	if err != nil {
		fd, err := unix.MemfdCreate("libseccomp-bpf", unix.MFD_CLOEXEC)
		if err != nil {
			return nil, fmt.Errorf("libseccomp export: %w", err)
		}
		file := os.NewFile(uintptr(fd), "libseccomp-bpf")
		defer file.Close()
		if err := f.ExportBPF(file); err != nil {
			return nil, fmt.Errorf("libseccomp export: %w", err)
		}
		if _, err := file.Seek(0, io.SeekStart); err != nil {
			return nil, err
		}
		if raw, err = io.ReadAll(file); err != nil {
			return nil, err
		}
	}
	return bpf.Decode(raw, binary.NativeEndian)
}

// Chain is the first-match rule chain of one syscall on one
// architecture: the rules that take part, in policy order, with their
// conditions in DNF and their return values.
type Chain struct {
	Arch  *arch.Arch
	Name  string
	Nr    int
	Links []Link
}

// Link is one rule of a chain.
type Link struct {
	When DNF
	Ret  uint32
	Rule *policy.Rule
}

// Chains returns the chain of every syscall some rule of p names on a,
// sorted by number. Chains stop after the first unconditional rule.
// Rules by a number with no name on a are unsupported.
func Chains(p *policy.Policy, env policy.Env, a *arch.Arch) ([]Chain, error) {
	byNr := map[int]*Chain{}
	for _, r := range p.Rules {
		if !r.AppliesOn(a, env) {
			continue
		}
		ret, err := r.Action.Ret(a)
		if err != nil {
			return nil, err
		}
		seen := map[int]bool{}
		for _, t := range r.Syscalls {
			for _, sc := range t.Syscalls(a) {
				if seen[sc.Nr] {
					continue
				}
				seen[sc.Nr] = true
				if sc.Name == "" {
					return nil, unsupported("peer", "rule at %s names number %d, which has no name on %s", r.Pos, sc.Nr, a.Name)
				}
				ch := byNr[sc.Nr]
				if ch == nil {
					ch = &Chain{Arch: a, Name: sc.Name, Nr: sc.Nr}
					byNr[sc.Nr] = ch
				}
				if n := len(ch.Links); n > 0 && isTrue(ch.Links[n-1].When) {
					continue // shadowed by an unconditional rule
				}
				d, err := ToDNF(r.When, a, sc.Name)
				if errors.Is(err, errTooBig) {
					return nil, unsupported("peer", "%s on %s: %v", sc.Name, a.Name, err)
				}
				if err != nil {
					return nil, fmt.Errorf("%s: %s on %s: %w", r.Pos, sc.Name, a.Name, err)
				}
				ch.Links = append(ch.Links, Link{When: d, Ret: ret, Rule: r})
			}
		}
	}
	out := make([]Chain, 0, len(byNr))
	for _, ch := range byNr {
		out = append(out, *ch)
	}
	slices.SortFunc(out, func(x, y Chain) int { return x.Nr - y.Nr })
	return out, nil
}

func isTrue(d DNF) bool {
	for _, c := range d {
		if len(c) == 0 {
			return true
		}
	}
	return false
}

// Part is the set of inputs of a chain that end with one return value.
type Part struct {
	When DNF
	Ret  uint32
}

// Partition turns the chain into one part per link whose conditions do
// not overlap across return values: link i holds when its condition holds
// and no earlier link with another return value does. (An earlier link
// with the same value need not be excluded: had it matched, the value
// would be the same.)
func (ch Chain) Partition() ([]Part, error) {
	var parts []Part
	for i, l := range ch.Links {
		d := l.When
		for _, e := range ch.Links[:i] {
			if e.Ret == l.Ret {
				continue
			}
			n, err := Negate(e.When)
			if err != nil {
				return nil, err
			}
			if d, err = and(d, n); err != nil {
				return nil, err
			}
			if d, err = OnePerArg(d); err != nil {
				return nil, err
			}
		}
		parts = append(parts, Part{When: d, Ret: l.Ret})
	}
	return parts, nil
}
