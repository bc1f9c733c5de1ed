package main

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/syscage/syscage/arch"
	"github.com/syscage/syscage/bpf"
	"github.com/syscage/syscage/policy"
	"github.com/syscage/syscage/policytest"
)

func init() { register("test", newTestCmd) }

func newTestCmd() *cobra.Command {
	var asJSON, verbose, noCompile bool
	var env envFlags
	cmd := &cobra.Command{
		Use:   "test [--json] [-v] [--no-compile] POLICY CASES",
		Short: "Run policy unit tests: expected actions for given syscalls",
		Long: `Run policy unit tests. CASES is a file of lines

  ARCH SYSCALL [ARG...] -> ACTION

such as "x86_64 socket AF_INET SOCK_STREAM 0 -> allow" or
"i386 ptrace -> errno(EPERM)". '#' starts a comment. Arguments are numbers
(decimal, 0x hex, negative for two's complement) or symbolic constants
joined by '|', in order or as NAME=VALUE (the argument's name or argN);
missing arguments are 0. ACTION is allow, log, notify, trap, trap(N),
trace(N), kill_process, kill_thread, errno(NAME), errno(N), or errno alone
for any errno. docs/tools.md describes the format.

Each case is decided by the reference evaluator and by the compiled
filter run in the BPF interpreter; it passes when both give the expected
action. If the two disagree, that is a compiler bug, reported as such.
POLICY may be in any format syscage reads.

Exit status: 0 every case passed; 1 some failed; 2 a file does not parse
or cannot be read, or bad flags.`,
		Example: `  syscage test server.policy server.cases
  syscage test -v --caps "" profile.json profile.cases`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			e, err := env.env()
			if err != nil {
				return usageErr(err)
			}
			p, _, err := loadAnyPolicy(cmd, args[0])
			if err != nil {
				return err
			}
			src, err := readArg(cmd, args[1])
			if err != nil {
				return usageErr(err)
			}
			cases, err := policytest.Parse(argName(args[1]), src)
			if err != nil {
				return usageErr(err)
			}
			rs, err := policytest.Run(p, cases, policytest.Options{Env: e, NoCompile: noCompile})
			if err != nil {
				return usageErr(err)
			}
			out := cmd.OutOrStdout()
			if asJSON {
				err = writeJSON(out, testJSON(rs))
			} else {
				err = printTestResults(out, rs, verbose)
			}
			if err != nil {
				return systemErr(err)
			}
			if len(policytest.Failed(rs)) > 0 {
				return silentExit(exitNegative)
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	cmd.Flags().BoolVarP(&verbose, "verbose", "v", false, "list the cases that pass too")
	cmd.Flags().BoolVar(&noCompile, "no-compile", false, "decide the cases with the evaluator only")
	env.register(cmd)
	return cmd
}

// decidedBy names what decided a case in the evaluator.
func decidedBy(d policy.Decision) string {
	if d.Rule != nil {
		return "the rule at " + d.Rule.Pos.String()
	}
	return "the " + d.Reason + " action"
}

func retName(ret uint32, a *arch.Arch) string {
	if bpf.ActionOf(ret) == bpf.RetErrno {
		if n, ok := a.ErrnoName(int(ret & bpf.RetData)); ok {
			return "errno(" + n + ")"
		}
	}
	return bpf.ActionString(ret)
}

func printTestResults(w io.Writer, rs []policytest.Result, verbose bool) error {
	failed, bugs := 0, 0
	for _, r := range rs {
		c := r.Case
		switch {
		case r.CompilerBug:
			bugs++
			failed++
			fmt.Fprintf(w, "%s: FAIL %s\n\tcompiler bug: the compiled filter returns %s, the evaluator %s (%s)\n",
				c.Pos, c.Text, retName(r.Filter, c.Arch), r.Decision.Action, decidedBy(r.Decision))
		case !r.Pass:
			failed++
			fmt.Fprintf(w, "%s: FAIL %s\n\tgot %s (%s)\n", c.Pos, c.Text, r.Decision.Action, decidedBy(r.Decision))
		case verbose:
			fmt.Fprintf(w, "%s: ok   %s\n", c.Pos, c.Text)
		}
	}
	fmt.Fprintf(w, "%d passed, %d failed", len(rs)-failed, failed)
	if bugs > 0 {
		fmt.Fprintf(w, " (%d compiler bug%s: please report them)", bugs, plural(bugs))
	}
	_, err := fmt.Fprintln(w)
	return err
}

// testCaseJSON is one case in --json output.
type testCaseJSON struct {
	Pos         string `json:"pos"`
	Case        string `json:"case"`
	Want        string `json:"want"`
	Got         string `json:"got"`
	DecidedBy   string `json:"decided_by"`
	Filter      string `json:"filter,omitempty"`
	Pass        bool   `json:"pass"`
	CompilerBug bool   `json:"compiler_bug,omitempty"`
}

func testJSON(rs []policytest.Result) []testCaseJSON {
	out := make([]testCaseJSON, 0, len(rs))
	for _, r := range rs {
		j := testCaseJSON{Pos: r.Case.Pos.String(), Case: r.Case.Text, Want: r.Case.Want.String(),
			Got: r.Decision.Action.String(), DecidedBy: decidedBy(r.Decision), Pass: r.Pass, CompilerBug: r.CompilerBug}
		if r.FilterRan {
			j.Filter = retName(r.Filter, r.Case.Arch)
		}
		out = append(out, j)
	}
	return out
}
