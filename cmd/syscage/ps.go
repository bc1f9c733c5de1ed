package main

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/syscage/syscage/seccomp"
)

func init() { register("ps", newPsCmd) }

func newPsCmd() *cobra.Command {
	var asJSON, filtered bool
	cmd := &cobra.Command{
		Use:   "ps [--json] [--filtered] [PID...]",
		Short: "Show the seccomp state of processes",
		Long: `Show the seccomp state of the given processes, or of every process: the
mode (disabled, strict, filter), the number of filters, no_new_privs, the
uid, the command name and the executable.

Seccomp state belongs to each thread. The columns show the main thread;
THREADS counts the threads and says how many differ from it, as in
"4 (1 differ)" (a filter installed without TSYNC covers only the thread
that installed it). --json lists the threads that differ.

Processes that exit while the list is read are left out.

Exit status: 0 success; 2 a PID that is not a number; 3 a PID that names
no process (the others are still shown).`,
		Example: `  syscage ps
  syscage ps --filtered
  syscage ps --json 1 $$`,
		RunE: func(cmd *cobra.Command, args []string) error {
			var pids []int
			for _, a := range args {
				pid, err := strconv.Atoi(a)
				if err != nil || pid <= 0 {
					return usageErr(fmt.Errorf("%q is not a process id (a positive decimal number)", a))
				}
				pids = append(pids, pid)
			}
			var list []seccomp.Process
			var missing []string
			if len(pids) == 0 {
				all, err := seccomp.ReadProcesses()
				if err != nil {
					return systemErr(err)
				}
				list = all
			}
			for _, pid := range pids {
				p, err := seccomp.ReadProcess(pid)
				if err != nil {
					if !errors.Is(err, seccomp.ErrNoProcess) {
						return systemErr(err)
					}
					missing = append(missing, strconv.Itoa(pid))
					continue
				}
				list = append(list, *p)
			}
			if filtered {
				kept := list[:0]
				for _, p := range list {
					if p.Mode != seccomp.ModeDisabled || len(p.Divergent) > 0 {
						kept = append(kept, p)
					}
				}
				list = kept
			}
			out := cmd.OutOrStdout()
			var err error
			if asJSON {
				if list == nil {
					list = []seccomp.Process{}
				}
				err = writeJSON(out, list)
			} else if len(list) > 0 {
				err = printProcesses(out, list)
			} else if filtered && len(missing) == 0 {
				_, err = fmt.Fprintln(out, "no process runs under seccomp")
			}
			if err != nil {
				return err
			}
			if len(missing) == 1 {
				return systemErr(fmt.Errorf("no process with pid %s", missing[0]))
			}
			if len(missing) > 1 {
				return systemErr(fmt.Errorf("no processes with pids %s", strings.Join(missing, ", ")))
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	cmd.Flags().BoolVar(&filtered, "filtered", false, "show only processes with seccomp on some thread")
	return cmd
}

func printProcesses(out io.Writer, list []seccomp.Process) error {
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "PID\tMODE\tFILTERS\tNNP\tTHREADS\tUID\tCOMM\tEXE")
	for _, p := range list {
		filters := strconv.Itoa(p.Filters)
		if p.Filters < 0 {
			filters = "?"
		}
		threads := strconv.Itoa(p.Threads)
		if len(p.Divergent) > 0 {
			threads = fmt.Sprintf("%d (%d differ)", p.Threads, len(p.Divergent))
		}
		exe := p.Exe
		if exe == "" {
			exe = "-"
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%d\t%s\t%s\n", p.PID, p.Mode, filters, yesNo(p.NoNewPrivs), threads, p.UID, p.Comm, exe)
	}
	return tw.Flush()
}
