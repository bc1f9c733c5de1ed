package main

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/syscage/syscage/arch"
	"github.com/syscage/syscage/seccomp"
)

func init() { register("kernel", newKernelCmd) }

func newKernelCmd() *cobra.Command {
	var asJSON bool
	var logActions string
	cmd := &cobra.Command{
		Use:   "kernel [--json] [--log-actions LIST]",
		Short: "Show what the running kernel supports for seccomp, or choose the actions it logs",
		Long: `Show what the running kernel supports for seccomp: the actions it knows
(both from /proc/sys/kernel/seccomp/actions_avail and by asking it with
SECCOMP_GET_ACTION_AVAIL), the actions it logs, the filter flags it accepts
(probed without installing anything), the user-notification structure
sizes, the architecture of this program's syscalls, whether the
constant-action cache serves them, and the BPF JIT settings.

--log-actions LIST sets /proc/sys/kernel/seccomp/actions_logged to the
comma-separated actions (e.g. kill_process,kill_thread,errno; "none" for
none). "allow" cannot be logged. This needs root.

Exit status: 0 success; 2 an unknown action in LIST; 3 the kernel or the
permissions refused.`,
		Example: `  syscage kernel
  syscage kernel --json
  sudo syscage kernel --log-actions kill_process,kill_thread,trap,errno,user_notif,trace,log`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			out := cmd.OutOrStdout()
			if cmd.Flags().Changed("log-actions") {
				return setLogActions(out, logActions)
			}
			k := seccomp.Inspect()
			if asJSON {
				return writeJSON(out, k)
			}
			return printKernel(out, k)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	cmd.Flags().StringVar(&logActions, "log-actions", "", "set the actions the kernel logs (comma-separated)")
	return cmd
}

// setLogActions validates the list, writes it and reports the change.
func setLogActions(out io.Writer, list string) error {
	if strings.TrimSpace(list) == "" {
		// Turning logging off should be a decision, not an accident of
		// an empty variable.
		return usageErr(errors.New(`--log-actions: empty list; pass "none" to log no action`))
	}
	names, err := seccomp.ParseLogActions(list)
	if err != nil {
		return usageErr(err)
	}
	before, _ := seccomp.ReadActionsLogged()
	if err := seccomp.SetActionsLogged(names); err != nil {
		if errors.Is(err, seccomp.ErrInvalid) {
			return usageErr(err)
		}
		return systemErr(err)
	}
	fmt.Fprintf(out, "actions_logged: %s (was: %s)\n", spaced(names), spaced(before))
	return nil
}

// spaced joins names with spaces, or says "none".
func spaced(names []string) string {
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, " ")
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// auditArchName names an AUDIT_ARCH value with the arch package, or in hex.
func auditArchName(v uint32) string {
	if as := arch.ByAuditArch(v); len(as) > 0 {
		return as[0].Name
	}
	return fmt.Sprintf("%#x", v)
}

func printKernel(out io.Writer, k *seccomp.KernelInfo) error {
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "Kernel:\tLinux %s (%s)\n", k.Release, k.Machine)
	archName := k.ArchName
	if archName == "" {
		archName = "unknown"
	}
	fmt.Fprintf(tw, "Syscall arch:\t%s (AUDIT_ARCH %#08x)\n", archName, k.Arch)
	fmt.Fprintf(tw, "Seccomp:\t%s; filter mode: %s; this process: %s\n", yesNo(k.Seccomp), yesNo(k.Filter), k.Mode)
	if err := tw.Flush(); err != nil {
		return err
	}

	fmt.Fprintln(out, "\nActions (strictest first):")
	tw = tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  NAME\tVALUE\tactions_avail\tGET_ACTION_AVAIL\tLOGGED")
	for _, a := range k.Actions.Actions {
		logged := yesNo(slices.Contains(k.ActionsLogged, a.Name))
		if a.Name == "allow" {
			logged = "never"
		}
		listed, probed := yesNo(a.Listed), yesNo(a.Probed)
		if k.Actions.ListError != "" {
			listed = "?"
		}
		if k.Actions.ProbeError != "" {
			probed = "?"
		}
		fmt.Fprintf(tw, "  %s\t%#08x\t%s\t%s\t%s\n", a.Name, a.Value, listed, probed, logged)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, d := range k.Actions.Disagreements() {
		fmt.Fprintln(out, "  disagreement:", d)
	}

	if len(k.Flags) > 0 {
		fmt.Fprintln(out, "\nFilter flags (probed, nothing installed):")
		tw = tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
		for _, f := range k.Flags {
			note := "Linux " + f.Since + "+"
			if f.ProbedAs != f.Value {
				note += ", probed as " + f.ProbedAs.String()
			}
			fmt.Fprintf(tw, "  %s\t%#x\t%s\t(%s)\n", f.Name, uint(f.Value), yesNo(f.Supported), note)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		fmt.Fprintln(out, "  TSYNC with NEW_LISTENER needs TSYNC_ESRCH; WAIT_KILLABLE_RECV needs NEW_LISTENER.")
	}

	fmt.Fprintln(out)
	tw = tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	if s := k.NotifSizes; s != nil {
		fmt.Fprintf(tw, "Notification sizes:\tseccomp_notif %d, seccomp_notif_resp %d, seccomp_data %d bytes\n", s.Notif, s.NotifResp, s.Data)
	} else {
		fmt.Fprintf(tw, "Notification sizes:\tunavailable\n")
	}
	cache := "no: " + k.Cache.Reason
	if k.Cache.Applies {
		var names []string
		for _, a := range k.Cache.Arches {
			names = append(names, auditArchName(a))
		}
		cache = fmt.Sprintf("yes: %s (cached arches: %s)", k.Cache.Reason, strings.Join(names, ", "))
	}
	fmt.Fprintf(tw, "Constant-action cache:\t%s\n", cache)
	debug := "absent (kernel without CONFIG_SECCOMP_CACHE_DEBUG)"
	if k.Cache.DebugFile {
		debug = "present"
	}
	fmt.Fprintf(tw, "/proc/PID/seccomp_cache:\t%s\n", debug)
	fmt.Fprintf(tw, "BPF JIT:\t%s\n", jitText(k.JIT))
	if err := tw.Flush(); err != nil {
		return err
	}

	if len(k.Problems) > 0 {
		fmt.Fprintln(out, "\nProblems:")
		for _, p := range k.Problems {
			fmt.Fprintln(out, "  "+p)
		}
	}
	return nil
}

// jitText describes the JIT sysctls.
func jitText(j seccomp.JIT) string {
	var enable string
	switch j.Enable {
	case -1:
		return "unknown (no /proc/sys/net/core/bpf_jit_enable: kernel without CONFIG_BPF_JIT?)"
	case 0:
		enable = "off: filters run in the interpreter"
	case 1:
		enable = "on: filters are compiled to machine code"
	case 2:
		enable = "on, with debug output"
	default:
		enable = fmt.Sprintf("bpf_jit_enable=%d", j.Enable)
	}
	harden := fmt.Sprintf("bpf_jit_harden=%d", j.Harden)
	switch j.Harden {
	case 0:
		harden = "no constant blinding"
	case 1:
		harden = "constant blinding for unprivileged programs"
	case 2:
		harden = "constant blinding for all programs"
	}
	return enable + "; " + harden
}
