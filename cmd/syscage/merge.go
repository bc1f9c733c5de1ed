package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/syscage/syscage/policy"
	"github.com/syscage/syscage/policymerge"
)

func init() { register("merge", newMergeCmd) }

func newMergeCmd() *cobra.Command {
	var output, format, name string
	cmd := &cobra.Command{
		Use:   "merge A B... [-o OUT] [--format native|oci|spo]",
		Short: "Combine policies into their union, such as profiles recorded from several runs",
		Long: `Combine policies into their union: a policy that, for every syscall and
argument, takes the most permissive decision of the inputs (in the
kernel's order: kill_process, kill_thread, trap, errno, notify, trace,
log, allow). A syscall any input allows is allowed, under the OR of the
conditions that allow it. The use is profiles recorded from several runs
or replicas of one program. Inputs may be in any format syscage reads.

The inputs must state the same default, unknown and badarch actions, and
must not decide one syscall with two actions of the same kind but
different values (errno(EACCES) in one, errno(EPERM) in another): a union
cannot choose between them. merge refuses such inputs, naming the
syscall, the inputs and the rules, rather than guess. Rules keep their
comments; the union is checked against the inputs on every class of
inputs before it is written.

--format writes the native policy language (the default), an OCI JSON
profile (oci) or a Security Profiles Operator SeccompProfile (spo, named
by --name or after OUT).

Exit status: 0 the union was written; 1 the inputs conflict in a way no
union can express; 2 a file does not parse or cannot be read, or bad
flags.`,
		Example: `  syscage merge run1.policy run2.policy -o app.policy
  syscage merge --format oci replica-*.json -o app.json`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var ps []*policy.Policy
			for _, a := range args {
				p, _, err := loadAnyPolicy(cmd, a)
				if err != nil {
					return err
				}
				ps = append(ps, p)
			}
			u, err := policymerge.Union(ps...)
			var ce *policymerge.ConflictError
			switch {
			case errors.As(err, &ce):
				return negative(fmt.Errorf("cannot merge: %w", err))
			case err != nil:
				return usageErr(err)
			}
			data, err := formatMerged(cmd, u, format, name, output)
			if err != nil {
				return err
			}
			if output == "" || output == "-" {
				_, err = cmd.OutOrStdout().Write(data)
			} else {
				err = os.WriteFile(output, data, 0o644)
			}
			if err != nil {
				return systemErr(err)
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "", "write the union to `OUT` (default: standard output)")
	cmd.Flags().StringVar(&format, "format", "native", "output format: native, oci or spo")
	cmd.Flags().StringVar(&name, "name", "", "with --format spo: the SeccompProfile's name (default: from OUT)")
	return cmd
}

// k8sName keeps what a Kubernetes object name may contain: each run of
// other characters becomes one '-'. Written by hand rather than as the
// regular expression [^a-z0-9.-]+ so that no expression is compiled at
// start-up; the allowed characters are ASCII, so working on bytes treats
// every multi-byte character (and invalid UTF-8) as the expression does.
func k8sName(s string) string {
	var b strings.Builder
	inRun := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '.' || c == '-' {
			b.WriteByte(c)
			inRun = false
		} else if !inRun {
			b.WriteByte('-')
			inRun = true
		}
	}
	return b.String()
}

// formatMerged renders the union in the requested format.
func formatMerged(cmd *cobra.Command, u *policy.Policy, format, name, output string) ([]byte, error) {
	switch format {
	case "native", "":
		return policy.Format(u), nil
	case "oci":
		data, notes, err := policy.ExportOCI(u)
		if err != nil {
			return nil, usageErr(fmt.Errorf("the union cannot be written as an OCI profile: %w", err))
		}
		for _, n := range notes {
			fmt.Fprintln(cmd.ErrOrStderr(), "syscage: note:", n)
		}
		return data, nil
	case "spo":
		if name == "" {
			base := strings.TrimSuffix(filepath.Base(output), filepath.Ext(output))
			name = strings.Trim(k8sName(strings.ToLower(base)), "-.")
			if output == "" || output == "-" || name == "" {
				name = "merged"
			}
		}
		data, err := policy.FormatSPO(u, name)
		if err != nil {
			return nil, usageErr(fmt.Errorf("the union cannot be written as a SeccompProfile: %w", err))
		}
		return data, nil
	}
	return nil, usageErr(fmt.Errorf("unknown format %q: use native, oci or spo", format))
}
