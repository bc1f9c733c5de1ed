package main

import (
	"github.com/spf13/cobra"

	"github.com/syscage/syscage/policydiff"
)

func init() { register("diff", newDiffCmd) }

func newDiffCmd() *cobra.Command {
	var asJSON, full bool
	var examples int
	var env envFlags
	cmd := &cobra.Command{
		Use:   "diff [--json] [--full] [--examples N] A B",
		Short: "Show where two policies decide syscalls differently",
		Long: `Show where two policies decide syscalls differently. A and B may be in
any format syscage reads (native, OCI JSON, SeccompProfile YAML),
recognised by content.

The comparison is semantic and exact over syscall numbers and argument
boundaries: for every architecture either policy accepts, every syscall
of its table, every number a rule names and one number standing for all
the others, and for each of those every class of argument values the two
policies' conditions tell apart (cut at each constant, v and v+1, and at
each mask's bits), both policies are evaluated and their seccomp return
values compared. Rules restricted by capabilities or kernel versions are
compared in every environment their restrictions tell apart, unless
--caps and --kernel fix one.

The report groups the differences by architecture: syscalls that differ
alike whatever their arguments on one line, the others with example
arguments; an architecture only one policy accepts in one line (--full
lists its syscalls).

Exit status: 0 the policies decide every input alike; 1 they differ;
2 a file does not parse or cannot be read, or bad flags.`,
		Example: `  syscage diff old.policy new.policy
  syscage diff --json server.policy docker-default.json`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			e, err := env.env()
			if err != nil {
				return usageErr(err)
			}
			a, _, err := loadAnyPolicy(cmd, args[0])
			if err != nil {
				return err
			}
			b, _, err := loadAnyPolicy(cmd, args[1])
			if err != nil {
				return err
			}
			opts := policydiff.Options{Examples: examples}
			if env.set() {
				opts.Env = &e
			}
			rep, err := policydiff.Compare(a, b, opts)
			if err != nil {
				return usageErr(err)
			}
			out := cmd.OutOrStdout()
			if asJSON {
				err = writeJSON(out, struct {
					A    string `json:"a"`
					B    string `json:"b"`
					Same bool   `json:"same"`
					*policydiff.Report
				}{argName(args[0]), argName(args[1]), rep.Same(), rep})
			} else {
				err = rep.WriteText(out, policydiff.TextOptions{NameA: argName(args[0]), NameB: argName(args[1]),
					FileA: a.Source, FileB: b.Source, Full: full, Constants: policydiff.ConstantsOf(a, b)})
			}
			if err != nil {
				return systemErr(err)
			}
			if !rep.Same() {
				return silentExit(exitNegative)
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	cmd.Flags().BoolVar(&full, "full", false, "list every syscall of architectures only one policy accepts")
	cmd.Flags().IntVar(&examples, "examples", 3, "differing inputs to show per syscall")
	env.register(cmd)
	return cmd
}
