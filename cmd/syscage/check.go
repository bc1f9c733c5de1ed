package main

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/syscage/syscage/arch"
	"github.com/syscage/syscage/bpf"
	"github.com/syscage/syscage/lint"
	"github.com/syscage/syscage/policy"
)

func init() { register("check", newCheckCmd) }

func newCheckCmd() *cobra.Command {
	var asJSON, raw, self, list bool
	var disable []string
	var archName string
	var env envFlags
	cmd := &cobra.Command{
		Use:   "check [--bpf] [--self] [--disable ID,...] [--json] POLICY...",
		Short: "Find known pitfalls in policies and raw filters",
		Long: `Find known pitfalls in policies (native, OCI JSON or SeccompProfile YAML,
recognised by content) and, with --bpf, in raw filters (sock_filter
arrays, as bwrap --seccomp reads them).

Each finding names its place (file:line:col, or the instruction of a raw
filter), a severity, a stable check ID, what is wrong and the fix. The
checks (--list shows them): a raw filter that decides on the syscall
number without checking the architecture, or lets x32 numbers through; a
policy under which a launched program cannot execve (--self when the
program installs the filter on itself); io_uring, ptrace, bpf or
process_vm_* allowed; fallback syscalls (clone3, faccessat2, openat2,
statx, ...) denied with an errno other than ENOSYS; errno(0); rules that
earlier rules always decide first; conditions that can never hold;
personality or clone allowed unrestricted; i386 or x32 accepted besides
x86_64; a default action that allows; what reading an OCI profile let
pass, such as a misspelt syscall name runc would drop silently.

Rules are judged on every class of inputs their conditions tell apart,
for a process holding every capability on the newest kernel unless
--caps and --kernel say otherwise.

Exit status: 0 no finding at warning or error level; 1 such findings;
2 a file does not parse or cannot be read, or bad flags.`,
		Example: `  syscage check server.policy
  syscage check --json profile.json
  syscage check --bpf filter.bpf
  syscage check --disable compat-arch,default-allow legacy.policy`,
		RunE: func(cmd *cobra.Command, args []string) error {
			out := cmd.OutOrStdout()
			if list {
				return printChecks(out, asJSON)
			}
			if len(args) == 0 {
				return usageErr(errors.New("name the policy files to check (or --list the checks)"))
			}
			e, err := env.env()
			if err != nil {
				return usageErr(err)
			}
			opts := lint.Options{Env: e, SelfInstalled: self, Disable: disable}
			if err := opts.Validate(); err != nil {
				return usageErr(fmt.Errorf("--disable: %w", err))
			}
			var all []lint.Finding
			for _, name := range args {
				fs, err := checkFile(cmd, name, raw, archName, opts)
				if err != nil {
					return err
				}
				all = append(all, fs...)
			}
			if asJSON {
				if err := writeJSON(out, findingsJSON(all)); err != nil {
					return systemErr(err)
				}
			} else {
				printFindings(out, all, len(args))
			}
			if lint.Worst(all) >= lint.Warning {
				return silentExit(exitNegative)
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&raw, "bpf", false, "the files are raw filters (struct sock_filter arrays), not policies")
	cmd.Flags().StringVarP(&archName, "arch", "a", "", "with --bpf: an architecture of the filter's machine, for its byte order (default: this machine's)")
	cmd.Flags().BoolVar(&self, "self", false, "the program installs the filter on itself after starting: it needs no execve")
	cmd.Flags().StringSliceVar(&disable, "disable", nil, "skip these checks (IDs, comma-separated; see --list)")
	cmd.Flags().BoolVar(&list, "list", false, "list the checks")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	env.register(cmd)
	return cmd
}

// checkFile lints one file.
func checkFile(cmd *cobra.Command, name string, raw bool, archName string, opts lint.Options) ([]lint.Finding, error) {
	if !raw {
		p, src, err := loadAnyPolicy(cmd, name)
		if err != nil {
			return nil, err
		}
		opts.Source = src
		fs, err := lint.Policy(p, opts)
		if err != nil {
			return nil, usageErr(fmt.Errorf("%s: %w", p.Source, err))
		}
		return fs, nil
	}
	var order binary.ByteOrder = bpf.NativeEndian
	if archName != "" {
		a, err := arch.ByName(archName)
		if err != nil {
			return nil, usageErr(err)
		}
		order = binary.LittleEndian
		if a.BigEndian {
			order = binary.BigEndian
		}
	}
	data, err := readArg(cmd, name)
	if err != nil {
		return nil, usageErr(err)
	}
	display := argName(name)
	prog, err := bpf.Decode(data, order)
	if err != nil {
		return nil, usageErr(fmt.Errorf("%s: %w", display, err))
	}
	fs, err := lint.Program(display, prog, order, opts)
	if err != nil {
		return nil, usageErr(err)
	}
	return fs, nil
}

// printFindings writes findings for a person, with a summary line.
func printFindings(w io.Writer, fs []lint.Finding, files int) {
	count := map[lint.Severity]int{}
	for _, f := range fs {
		fmt.Fprintln(w, f.String())
		count[f.Severity]++
	}
	if len(fs) == 0 {
		fmt.Fprintf(w, "no findings in %d file%s\n", files, plural(files))
		return
	}
	var parts []string
	for _, s := range []lint.Severity{lint.Error, lint.Warning, lint.Info} {
		if n := count[s]; n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s%s", n, s, plural(n)))
		}
	}
	fmt.Fprintln(w, strings.Join(parts, ", "))
}

// findingJSON is one finding in --json output.
type findingJSON struct {
	File     string `json:"file"`
	Line     int    `json:"line,omitempty"`
	Col      int    `json:"col,omitempty"`
	Insn     *int   `json:"insn,omitempty"`
	Severity string `json:"severity"`
	Check    string `json:"check"`
	Message  string `json:"message"`
	Fix      string `json:"fix"`
}

func findingsJSON(fs []lint.Finding) []findingJSON {
	out := make([]findingJSON, 0, len(fs))
	for _, f := range fs {
		j := findingJSON{File: f.Pos.File, Line: f.Pos.Line, Col: f.Pos.Col, Severity: f.Severity.String(),
			Check: f.Check, Message: f.Message, Fix: f.Fix}
		if f.Insn >= 0 {
			insn := f.Insn
			j.Insn = &insn
		}
		out = append(out, j)
	}
	return out
}

// printChecks lists the checks.
func printChecks(w io.Writer, asJSON bool) error {
	type checkJSON struct {
		ID       string `json:"id"`
		Severity string `json:"severity"`
		Policies bool   `json:"policies"`
		Filters  bool   `json:"filters"`
		Summary  string `json:"summary"`
	}
	var list []checkJSON
	for _, c := range lint.Checks() {
		list = append(list, checkJSON{c.ID, c.Severity.String(), c.Native, c.Raw, c.Summary})
	}
	if asJSON {
		return writeJSON(w, list)
	}
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSEVERITY\tON\tFINDS")
	for _, c := range list {
		on := "policies"
		switch {
		case c.Policies && c.Filters:
			on = "both"
		case c.Filters:
			on = "filters"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", c.ID, c.Severity, on, c.Summary)
	}
	return tw.Flush()
}

// loadAnyPolicy reads a policy in any format ("-": standard input) and
// returns it with its source. Parse errors are usage errors that list
// every problem with its position.
func loadAnyPolicy(cmd *cobra.Command, name string) (*policy.Policy, []byte, error) {
	src, err := readArg(cmd, name)
	if err != nil {
		return nil, nil, usageErr(err)
	}
	p, err := policy.ParseAny(argName(name), src, policy.ParseOptions{})
	if err != nil {
		return nil, nil, usageErr(err)
	}
	return p, src, nil
}

// readArg reads a file named on the command line, or standard input for
// "-".
func readArg(cmd *cobra.Command, name string) ([]byte, error) {
	if name == "-" {
		return io.ReadAll(cmd.InOrStdin())
	}
	return os.ReadFile(name)
}

// argName names a command-line file in messages.
func argName(name string) string {
	if name == "-" {
		return "<stdin>"
	}
	return name
}

// envFlags are the --caps and --kernel options of the commands that
// decide rules restricted by capabilities or kernel versions.
type envFlags struct {
	caps   []string
	kernel string
	cmd    *cobra.Command
}

func (e *envFlags) register(cmd *cobra.Command) {
	e.cmd = cmd
	cmd.Flags().StringSliceVar(&e.caps, "caps", nil, "the capabilities the process holds, comma-separated (default: all; \"\" for none)")
	cmd.Flags().StringVar(&e.kernel, "kernel", "", "the kernel version the filter runs on, like 5.10 (default: newer than any the policy names)")
}

// set reports whether --caps or --kernel was given.
func (e *envFlags) set() bool {
	return e.cmd != nil && (e.cmd.Flags().Changed("caps") || e.cmd.Flags().Changed("kernel"))
}

// env returns the environment the flags describe.
func (e *envFlags) env() (policy.Env, error) {
	var out policy.Env
	if e.cmd != nil && e.cmd.Flags().Changed("caps") {
		out.Caps = []string{}
		known := policy.Capabilities()
		for _, c := range e.caps {
			if c = strings.TrimSpace(c); c == "" {
				continue
			}
			name := strings.ToUpper(c)
			if !strings.HasPrefix(name, "CAP_") {
				name = "CAP_" + name
			}
			found := false
			for _, k := range known {
				found = found || k == name
			}
			if !found {
				return out, fmt.Errorf("unknown capability %q (--caps takes names like CAP_SYS_ADMIN)", c)
			}
			out.Caps = append(out.Caps, name)
		}
	}
	if v := e.kernel; v != "" {
		for _, f := range strings.Split(v, ".") {
			if f == "" || strings.Trim(f, "0123456789") != "" {
				return out, fmt.Errorf("--kernel %q: want a version like 5.10", v)
			}
		}
		out.Kernel = v
	}
	return out, nil
}
