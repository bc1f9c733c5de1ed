package policy

import (
	"fmt"
	"strconv"
	"strings"
)

// lineWidth is where the formatter starts wrapping a rule.
const lineWidth = 80

// Format renders a policy in the canonical native format: the head
// comment, then the header lines in a fixed order (arch, default,
// unknown, badarch, flags, listener), then the files block, then the
// rules in order, with
// consecutive rules that share an only/except restriction gathered in one
// block, then the end comment. Comments and blank lines between rules are
// kept. Parsing the result gives back the same policy (positions aside),
// and formatting is idempotent.
func Format(p *Policy) []byte {
	var sections []string

	if p.Comment != "" {
		sections = append(sections, commentLines(p.Comment, ""))
	}

	var hb strings.Builder
	header := func(key, line string) {
		c := p.HeaderComments[key]
		hb.WriteString(commentLines(c.Above, ""))
		hb.WriteString(withTrailing(line, c.Trailing))
		hb.WriteByte('\n')
	}
	for _, key := range headerKeys {
		switch key {
		case "arch":
			if len(p.Arches) > 0 {
				header(key, "arch "+strings.Join(p.Arches, " "))
			}
		case "default":
			if p.Default.Kind != 0 {
				header(key, "default "+p.Default.String())
			}
		case "unknown":
			if p.Unknown.Kind != 0 {
				header(key, "unknown "+p.Unknown.String())
			}
		case "badarch":
			if p.BadArch.Kind != 0 {
				header(key, "badarch "+p.BadArch.String())
			}
		case "flags":
			if len(p.Flags) > 0 {
				header(key, "flags "+strings.Join(p.Flags, " "))
			}
		case "listener":
			if l := p.Listener; l != nil {
				line := "listener " + strconv.Quote(l.Path)
				if l.Metadata != "" {
					line += " metadata " + strconv.Quote(l.Metadata)
				}
				header(key, line)
			}
		}
	}
	if hb.Len() > 0 {
		sections = append(sections, hb.String())
	}
	if p.Files != nil {
		sections = append(sections, formatFiles(p.Files))
	}

	if body := formatBody(p); body != "" {
		sections = append(sections, body)
	}
	if p.EndComment != "" {
		sections = append(sections, commentLines(p.EndComment, ""))
	}
	return []byte(strings.Join(sections, "\n"))
}

// formatBody writes the rules and kept include lines.
func formatBody(p *Policy) string {
	var b strings.Builder
	open := "" // the restriction of the open block, "" when none
	closeBlock := func() {
		if open != "" {
			b.WriteString("}\n")
			open = ""
		}
	}
	first := true
	gap := func(blank bool) {
		if blank && !first {
			b.WriteByte('\n')
		}
		first = false
	}
	inc := 0
	for i := 0; i <= len(p.Rules); i++ {
		for ; inc < len(p.Includes) && p.Includes[inc].Before <= i; inc++ {
			in := p.Includes[inc]
			closeBlock()
			gap(in.BlankBefore)
			b.WriteString(commentLines(in.Comment, ""))
			b.WriteString(withTrailing("include "+strconv.Quote(in.Path), in.Trailing))
			b.WriteByte('\n')
		}
		if i == len(p.Rules) {
			break
		}
		r := p.Rules[i]
		key := restriction(r.Only, r.Except)
		if key != open {
			closeBlock()
			gap(r.BlankBefore)
			b.WriteString(commentLines(r.Comment, ""))
			if key != "" {
				b.WriteString(key + " {\n")
				open = key
			}
		} else {
			gap(r.BlankBefore)
			ind := ""
			if open != "" {
				ind = "    "
			}
			b.WriteString(commentLines(r.Comment, ind))
		}
		ind := ""
		if open != "" {
			ind = "    "
		}
		b.WriteString(withTrailing(ruleText(r, ind, true), r.Trailing))
		b.WriteByte('\n')
	}
	closeBlock()
	return b.String()
}

// commentLines renders comment text as '#' lines with the indentation.
func commentLines(text, indent string) string {
	if text == "" {
		return ""
	}
	var b strings.Builder
	for _, l := range strings.Split(text, "\n") {
		b.WriteString(indent)
		if l == "" {
			b.WriteString("#\n")
			continue
		}
		b.WriteString("# ")
		b.WriteString(l)
		b.WriteByte('\n')
	}
	return b.String()
}

func withTrailing(line, comment string) string {
	if comment == "" {
		return line
	}
	return line + "  # " + comment
}

// restriction renders the opening line of an only/except block, without
// the brace, or "" when the rule has no restriction.
func restriction(only, except *Applies) string {
	var parts []string
	if s := appliesText(only); s != "" {
		parts = append(parts, "only "+s)
	}
	if s := appliesText(except); s != "" {
		parts = append(parts, "except "+s)
	}
	return strings.Join(parts, " ")
}

func appliesText(a *Applies) string {
	if a == nil {
		return ""
	}
	var parts []string
	if len(a.Arches) > 0 {
		parts = append(parts, "arch "+strings.Join(a.Arches, " "))
	}
	if len(a.Caps) > 0 {
		parts = append(parts, "caps "+strings.Join(a.Caps, " "))
	}
	if a.MinKernel != "" {
		parts = append(parts, "kernel >= "+a.MinKernel)
	}
	return strings.Join(parts, " ")
}

// FormatRule renders a rule as one line of the native format, without its
// comments and without its only/except restriction (which the format
// writes as a block around rules).
func FormatRule(r *Rule) string {
	return ruleText(r, "", false)
}

// String renders the rule as FormatRule does.
func (r *Rule) String() string { return FormatRule(r) }

// ruleText renders a rule, wrapping it at lineWidth when wrap is set:
// syscalls continue on lines ending in '\', and a long condition moves to
// the lines after "if", one operand of its outermost && or || per line.
func ruleText(r *Rule, indent string, wrap bool) string {
	targets := make([]string, len(r.Syscalls))
	for i, t := range r.Syscalls {
		targets[i] = t.String()
	}
	head := r.Action.String()
	if len(targets) > 0 {
		head += " " + strings.Join(targets, " ")
	}
	line := indent + head
	if r.When != nil {
		line += " if " + FormatExpr(r.When)
	}
	if !wrap || len(line) <= lineWidth {
		return line
	}

	var b strings.Builder
	cur := indent + r.Action.String()
	for i, t := range targets {
		if i > 0 && len(cur)+1+len(t)+2 > lineWidth {
			b.WriteString(cur + " \\\n")
			cur = indent + "    " + t
			continue
		}
		cur += " " + t
	}
	if r.When == nil {
		b.WriteString(cur)
		return b.String()
	}
	cond := indent + "    " + FormatExpr(r.When)
	if len(cur)+4+len(cond)-len(indent)-4 <= lineWidth {
		b.WriteString(cur + " if " + strings.TrimLeft(cond, " "))
		return b.String()
	}
	b.WriteString(cur + " if\n")
	var terms []Expr
	op := ""
	switch e := r.When.(type) {
	case *Or:
		terms, op = e.Terms, " ||"
	case *And:
		terms, op = e.Terms, " &&"
	default:
		b.WriteString(cond)
		return b.String()
	}
	for i, t := range terms {
		b.WriteString(indent + "    " + exprText(t, r.When))
		if i < len(terms)-1 {
			b.WriteString(op + "\n")
		}
	}
	return b.String()
}

// FormatExpr renders a condition in the native format.
func FormatExpr(e Expr) string { return exprText(e, nil) }

// exprText renders e as an operand of parent (nil at the top), adding the
// parentheses the structure needs: an || inside an &&, and any && or ||
// directly inside one of the same kind (the parser keeps parenthesized
// groups as written).
func exprText(e Expr, parent Expr) string {
	switch e := e.(type) {
	case *Or:
		s := joinExprs(e.Terms, e, " || ")
		if parent != nil {
			switch parent.(type) {
			case *And, *Or:
				return "(" + s + ")"
			}
		}
		return s
	case *And:
		s := joinExprs(e.Terms, e, " && ")
		if _, ok := parent.(*And); ok {
			return "(" + s + ")"
		}
		return s
	case *Not:
		if c, ok := e.X.(*Cmp); ok && c.Op == OpMaskedEq {
			// The parser reads `a & m != v` as !(a & m == v).
			return cmpText(c, "!=")
		}
		if e.X == nil {
			return "!()"
		}
		return "!(" + exprText(e.X, nil) + ")"
	case *Cmp:
		return cmpText(e, "==")
	}
	return fmt.Sprintf("<%T>", e)
}

func joinExprs(terms []Expr, parent Expr, sep string) string {
	parts := make([]string, len(terms))
	for i, t := range terms {
		parts[i] = exprText(t, parent)
	}
	return strings.Join(parts, sep)
}

// cmpText renders one comparison; maskedOp is the operator of a masked
// comparison, == or !=.
func cmpText(c *Cmp, maskedOp string) string {
	arg := c.ArgName
	if c.Arg >= 0 {
		arg = fmt.Sprintf("arg%d", c.Arg)
	}
	switch c.Op {
	case OpEq, OpNe, OpLt, OpLe, OpGt, OpGe:
		return arg + " " + c.Op.String() + " " + c.Value.String()
	case OpMaskedEq:
		return arg + " & " + c.Mask.String() + " " + maskedOp + " " + c.Value.String()
	case OpBitsOnly, OpBitsNone, OpBitsAll:
		return arg + " " + c.Op.String() + " " + c.Value.String()
	case OpIn:
		vs := make([]string, len(c.Values))
		for i, v := range c.Values {
			vs[i] = v.String()
		}
		return arg + " in {" + strings.Join(vs, ", ") + "}"
	case OpRange:
		return arg + " in " + c.Value.String() + ".." + c.High.String()
	}
	return arg + " " + c.Op.String() + " " + c.Value.String()
}
