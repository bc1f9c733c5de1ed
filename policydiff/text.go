package policydiff

import (
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/syscage/syscage/arch"
	"github.com/syscage/syscage/policy"
)

// TextOptions control Report.WriteText.
type TextOptions struct {
	// NameA and NameB name the policies in the report's head ("A" and
	// "B" when empty); the differences call them A and B.
	NameA, NameB string
	// FileA and FileB are the policies' source files (Policy.Source):
	// rules there are named by their line alone.
	FileA, FileB string
	// Full lists every syscall of architectures only one policy accepts
	// instead of summarising them.
	Full bool
	// Constants name argument values in examples: the constants the
	// policies use (see Constants). nil prints numbers only.
	Constants *Constants
}

// WriteText writes the report for a person: differences grouped by
// architecture, syscalls that differ alike whatever their arguments on
// one line, the others with example inputs.
func (r *Report) WriteText(w io.Writer, o TextOptions) error {
	if o.NameA == "" {
		o.NameA = "A"
	}
	if o.NameB == "" {
		o.NameB = "B"
	}
	if o.FileA == "" {
		o.FileA = o.NameA
	}
	if o.FileB == "" {
		o.FileB = o.NameB
	}
	var b strings.Builder
	if r.Same() {
		fmt.Fprintf(&b, "%s and %s decide every input alike", o.NameA, o.NameB)
		if !r.Exact {
			b.WriteString(" (sampled: some argument combinations were not tried)")
		}
		fmt.Fprintf(&b, " (%d syscall classes, %d inputs)\n", r.Slots, r.Inputs)
		_, err := io.WriteString(w, b.String())
		return err
	}
	fmt.Fprintf(&b, "A: %s\nB: %s\n", o.NameA, o.NameB)
	oneSided := map[string]bool{}
	for _, ad := range r.Arches {
		has, lacks := "A", "B"
		if !ad.InA {
			has, lacks = lacks, has
		}
		fmt.Fprintf(&b, "arch %s: only %s accepts it (%s: %s); %s decides %s\n",
			ad.Arch, has, lacks, ad.Refused, has, countsText(ad.Decisions))
		if !o.Full {
			oneSided[ad.Arch] = true
		}
	}
	shown := len(r.Arches)
	var cur string
	type group struct {
		label string
		names []string
	}
	var groups []*group
	var details []string
	byLabel := map[string]*group{}
	flush := func() {
		for _, g := range groups {
			fmt.Fprintf(&b, "  %s: %s\n", wrapNames(g.names), g.label)
		}
		for _, d := range details {
			b.WriteString(d)
		}
		groups, details, byLabel = nil, nil, map[string]*group{}
	}
	for i := range r.Diffs {
		d := &r.Diffs[i]
		if oneSided[d.Arch] {
			continue
		}
		shown++
		section := d.Arch
		if d.Where == Arch || d.Where == Foreign {
			section = "other architectures"
		}
		if section != cur {
			flush()
			cur = section
			fmt.Fprintf(&b, "%s:\n", section)
		}
		switch {
		case d.Where == Syscall && d.Always() && samePair(d.Examples):
			label := pairText(o, d.Examples[0])
			if d.EnvText != "" {
				label += " (" + d.EnvText + ")"
			}
			g := byLabel[label]
			if g == nil {
				g = &group{label: label}
				byLabel[label] = g
				groups = append(groups, g)
			}
			g.names = append(g.names, d.Syscall)
		case d.Where == Syscall:
			var t strings.Builder
			env := ""
			if d.EnvText != "" {
				env = " " + d.EnvText
			}
			fmt.Fprintf(&t, "  %s (%d): %d of %d argument classes differ%s, such as\n", d.Syscall, d.Nr, d.Differing, d.Classes, env)
			for _, ex := range d.Examples {
				fmt.Fprintf(&t, "      %s: %s\n", callText(d, ex.Args, o.Constants), pairText(o, ex))
			}
			details = append(details, t.String())
		default:
			details = append(details, fmt.Sprintf("  %s: %s\n", whereText(d), pairText(o, d.Examples[0])))
		}
	}
	flush()
	fmt.Fprintf(&b, "%d difference(s)", shown)
	if !r.Exact {
		b.WriteString(" (sampled: some argument combinations were not tried)")
	}
	fmt.Fprintf(&b, "; %d syscall classes, %d inputs compared\n", r.Slots, r.Inputs)
	_, err := io.WriteString(w, b.String())
	return err
}

func samePair(exs []Example) bool {
	for _, ex := range exs[1:] {
		if ex.A.Ret != exs[0].A.Ret || ex.B.Ret != exs[0].B.Ret || ex.A.Pos != exs[0].A.Pos || ex.B.Pos != exs[0].B.Pos {
			return false
		}
	}
	return true
}

// sideText renders one policy's decision: the action and what decided,
// the deciding rule's line when it is in the policy's own file.
func sideText(s Side, file string) string {
	if s.rule != nil && s.rule.Pos.File == file && s.rule.Pos.IsValid() {
		return fmt.Sprintf("%s (line %d)", s.Action, s.rule.Pos.Line)
	}
	if s.Pos != "" {
		return s.Action + " (" + s.Pos + ")"
	}
	return s.Action + " (" + s.Reason + ")"
}

func pairText(o TextOptions, ex Example) string {
	return "A " + sideText(ex.A, o.FileA) + ", B " + sideText(ex.B, o.FileB)
}

func whereText(d *Diff) string {
	switch d.Where {
	case Number:
		return fmt.Sprintf("number %d (%#x)", d.Nr, d.Nr)
	case Unknown:
		return fmt.Sprintf("numbers outside the table (such as %d)", d.Nr)
	case Arch:
		return "arch " + d.Arch
	case Foreign:
		return fmt.Sprintf("AUDIT_ARCH values no architecture has (such as %#x)", d.AuditArch)
	}
	return d.Syscall
}

// wrapNames joins syscall names, folding long lists.
func wrapNames(names []string) string {
	const width = 90
	var b strings.Builder
	line := 0
	for i, n := range names {
		if i > 0 {
			if line+len(n)+1 > width {
				b.WriteString("\n    ")
				line = 0
			} else {
				b.WriteByte(' ')
				line++
			}
		}
		b.WriteString(n)
		line += len(n)
	}
	if len(names) > 1 {
		fmt.Fprintf(&b, " (%d syscalls)", len(names))
	}
	return b.String()
}

func countsText(m map[string]int) string {
	if len(m) == 0 {
		return "nothing otherwise"
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if m[keys[i]] != m[keys[j]] {
			return m[keys[i]] > m[keys[j]]
		}
		return keys[i] < keys[j]
	})
	parts := make([]string, len(keys))
	for i, k := range keys {
		noun := "syscalls"
		if m[k] == 1 {
			noun = "syscall"
		}
		parts[i] = fmt.Sprintf("%d %s %s", m[k], noun, k)
	}
	return strings.Join(parts, ", ")
}

// callText renders a syscall with its arguments: the named arguments of
// its signature, non-zero ones only unless all are zero.
func callText(d *Diff, args [6]uint64, names *Constants) string {
	var parts []string
	var sig arch.Signature
	var hasSig bool
	if d.arch != nil {
		sig, hasSig = d.arch.Signature(d.Syscall)
	}
	for i, v := range args {
		if v == 0 {
			continue
		}
		name := fmt.Sprintf("arg%d", i)
		if hasSig && i < len(sig.Args) {
			name = sig.Args[i].Name
		}
		parts = append(parts, name+"="+names.Name(d.arch, v))
	}
	if len(parts) == 0 {
		return d.Syscall + "(all arguments 0)"
	}
	return d.Syscall + "(" + strings.Join(parts, ", ") + ")"
}

// Constants names argument values after the symbolic constants that
// policies use.
type Constants struct {
	byArch map[*arch.Arch]map[uint64]string
}

// ConstantsOf collects the constants written in the policies' conditions.
func ConstantsOf(ps ...*policy.Policy) *Constants {
	c := &Constants{byArch: map[*arch.Arch]map[uint64]string{}}
	for _, p := range ps {
		as, err := p.AcceptedArches()
		if err != nil {
			continue
		}
		for _, r := range p.Rules {
			walkValues(r.When, func(v policy.Value) {
				if len(v.Terms) == 0 {
					return
				}
				for _, a := range as {
					n, err := v.Resolve(a)
					if err != nil {
						continue
					}
					m := c.byArch[a]
					if m == nil {
						m = map[uint64]string{}
						c.byArch[a] = m
					}
					name := v.String()
					if isNumber(name) {
						continue
					}
					for _, k := range []uint64{n, n & 0xffffffff} {
						if old, ok := m[k]; !ok || len(name) < len(old) {
							m[k] = name
						}
					}
				}
			})
		}
	}
	return c
}

// Name renders v as a constant's name when a policy used one with that
// value, with the number; as a number otherwise.
func (c *Constants) Name(a *arch.Arch, v uint64) string {
	num := fmt.Sprint(v)
	if v >= 10 {
		num = fmt.Sprintf("%#x", v)
	}
	if c == nil || a == nil {
		return num
	}
	if n, ok := c.byArch[a][v]; ok {
		return n + " (" + num + ")"
	}
	return num
}

func isNumber(s string) bool {
	return s != "" && (s[0] == '-' || (s[0] >= '0' && s[0] <= '9'))
}

// walkValues calls f for every constant of every comparison in e.
func walkValues(e policy.Expr, f func(policy.Value)) {
	policy.WalkCmps(e, func(c *policy.Cmp) {
		f(c.Value)
		f(c.Mask)
		f(c.High)
		for _, v := range c.Values {
			f(v)
		}
	})
}
