package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/syscage/syscage/arch"
	"github.com/syscage/syscage/compile"
	"github.com/syscage/syscage/policy"
)

// emuPolicyTrace is the --json form of `syscage emu --policy`: the trace
// of the compiled filters and what in the policy decided.
type emuPolicyTrace struct {
	emuTrace
	Policy emuDecision `json:"policy"`
}

// emuDecision names what in the policy decided the call.
type emuDecision struct {
	// Reason is "rule", "default", "unknown" or "badarch", as
	// policy.Evaluate says.
	Reason string `json:"reason"`
	// Position is file:line:col of the deciding rule.
	Position string `json:"position,omitempty"`
	// Rule is the deciding rule in the native format, or the fallback
	// statement (default errno(EPERM)).
	Rule string `json:"rule"`
}

// emuPolicy compiles the policy in the file name for the machine of a
// (the policy's architectures that share a's byte order) and traces the
// call through the compiled filters, then names the policy line that
// decided. It is `syscage emu --policy POLICY ...`.
func emuPolicy(cmd *cobra.Command, name string, a *arch.Arch, call emuCall, env policy.Env, asJSON bool) error {
	p, _, err := loadAnyPolicy(cmd, name)
	if err != nil {
		return err
	}
	accepted, err := p.AcceptedArches()
	if err != nil {
		return usageErr(fmt.Errorf("%s: %w", argName(name), err))
	}
	var targets []string
	for _, x := range accepted {
		if x.BigEndian == a.BigEndian {
			targets = append(targets, x.Name)
		}
	}
	opts := compile.Options{Env: env, Arches: targets}
	if len(targets) == 0 {
		// No architecture of the policy runs on a's machine: every call
		// gets the bad-arch action; compile for the policy's own.
		opts.Arches = nil
	}
	res, err := compile.Policy(p, opts)
	if err != nil {
		return usageErr(fmt.Errorf("%s: %w", argName(name), err))
	}
	filters := make([]emuFilter, len(res.Filters))
	for i, f := range res.Filters {
		label := fmt.Sprintf("%s, compiled", argName(name))
		if len(res.Filters) > 1 {
			label = fmt.Sprintf("%s, compiled, part %d of %d", argName(name), i+1, len(res.Filters))
		}
		filters[i] = emuFilter{Name: label, Program: f}
	}
	tr := emuPolicyTrace{emuTrace: traceCall(a, call, filters)}
	t, err := res.Explain(&call.Data)
	if err != nil {
		return err
	}
	tr.Policy = describeOrigin(p, t.Origin)
	if asJSON {
		return writeJSON(cmd.OutOrStdout(), tr)
	}
	out := cmd.OutOrStdout()
	if err := printTrace(out, a, tr.emuTrace); err != nil {
		return err
	}
	return printDecision(out, tr.Policy)
}

// describeOrigin turns the compiler's origin into the policy statement
// that decided.
func describeOrigin(p *policy.Policy, o compile.Origin) emuDecision {
	d := emuDecision{Reason: o.Kind.String()}
	switch o.Kind {
	case compile.FromRule:
		d.Position = o.Rule.Pos.String()
		d.Rule = policy.FormatRule(o.Rule)
	case compile.FromDefault:
		d.Rule = "default " + p.Default.String()
	case compile.FromUnknown:
		act := p.Unknown
		if act.Kind == 0 {
			act = policy.Action{Kind: policy.Errno, ErrnoName: "ENOSYS"}
		}
		d.Rule = "unknown " + act.String()
	case compile.FromBadArch:
		act := p.BadArch
		if act.Kind == 0 {
			act = policy.ActKillProcess
		}
		d.Rule = "badarch " + act.String()
	}
	return d
}

func printDecision(out io.Writer, d emuDecision) error {
	var err error
	switch d.Reason {
	case "rule":
		_, err = fmt.Fprintf(out, "decided by: %s: %s\n", d.Position, shortRule(d.Rule))
	case "default":
		_, err = fmt.Fprintf(out, "decided by: no rule matched; %s\n", d.Rule)
	case "unknown":
		_, err = fmt.Fprintf(out, "decided by: a number the policy's table does not know; %s\n", d.Rule)
	default:
		_, err = fmt.Fprintf(out, "decided by: an architecture the policy does not accept; %s\n", d.Rule)
	}
	return err
}

// shortRule keeps a rule to one readable line: a rule naming hundreds of
// syscalls (an imported OCI profile's) is cut, and says how much was left
// out; the position before it leads to the whole rule.
func shortRule(rule string) string {
	const max = 160
	rule = strings.Join(strings.Fields(rule), " ")
	if len(rule) <= max {
		return rule
	}
	cut := strings.LastIndexByte(rule[:max], ' ')
	if cut <= 0 {
		cut = max
	}
	return fmt.Sprintf("%s ... (%d more characters)", rule[:cut], len(rule)-cut)
}
