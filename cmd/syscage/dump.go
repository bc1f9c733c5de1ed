package main

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/syscage/syscage/arch"
	"github.com/syscage/syscage/bpf"
	"github.com/syscage/syscage/seccomp"
)

func init() { register("dump", newDumpCmd) }

func newDumpCmd() *cobra.Command {
	var asJSON, raw bool
	var saveDir string
	cmd := &cobra.Command{
		Use:   "dump [--json] [--raw] [--save DIR] PID",
		Short: "Show the seccomp filters installed in a running process",
		Long: `Show the seccomp filters installed in a running process, oldest first,
each disassembled with syscall and architecture names.

The kernel runs every filter on each syscall, the newest first, and the
strictest result wins. Filter 0 is the oldest: the first one installed,
often by a parent (a container runtime, a launcher) before the exec.

Reading filters uses ptrace (PTRACE_SECCOMP_GET_FILTER): the process is
stopped for a moment and resumed. The kernel allows it only to a caller
with CAP_SYS_ADMIN (run as root) that is not itself under seccomp, and
only for processes it may trace. PID names the main thread; pass a thread
id to read another thread's filters (see 'syscage ps --json').

--raw adds the CODE JT JF K columns of each instruction. --save DIR also
writes each filter as raw BPF (native byte order) to DIR/filter-N.bpf,
which 'syscage disasm' and 'syscage emu --bpf' read.

Exit status: 0 success; 1 the process has no filters (or is in strict
mode); 2 a PID that is not a number; 3 no such process, not permitted, or
a kernel without the feature.`,
		Example: `  sudo syscage dump 1234
  sudo syscage dump --raw --save /tmp/filters 1234
  sudo syscage dump --json 1234`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			pid, err := strconv.Atoi(args[0])
			if err != nil || pid <= 0 {
				return usageErr(fmt.Errorf("%q is not a process id (a positive decimal number)", args[0]))
			}
			filters, err := seccomp.DumpFilters(pid)
			switch {
			case errors.Is(err, seccomp.ErrNoFilters), errors.Is(err, seccomp.ErrStrictMode):
				return negative(err)
			case err != nil:
				return systemErr(err)
			}
			if saveDir != "" {
				if err := saveFilters(saveDir, filters); err != nil {
					return systemErr(err)
				}
			}
			var comm, exe string
			if p, err := seccomp.ReadProcess(pid); err == nil {
				comm, exe = p.Comm, p.Exe
			}
			out := cmd.OutOrStdout()
			opts := dumpDisasmOptions(raw)
			if asJSON {
				return writeJSON(out, dumpRecord(pid, comm, exe, filters, opts))
			}
			return printDump(out, pid, comm, exe, filters, opts)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	cmd.Flags().BoolVar(&raw, "raw", false, "add the raw CODE JT JF K columns")
	cmd.Flags().StringVar(&saveDir, "save", "", "also write each filter as raw BPF to `DIR`/filter-N.bpf")
	return cmd
}

// dumpDisasmOptions names syscalls and arches with every known table. On
// a big-endian machine the listing must know the byte order to name the
// halves of arguments, so it assumes the native arch there.
func dumpDisasmOptions(raw bool) bpf.DisasmOptions {
	opts := bpf.DisasmOptions{Namer: arch.Names(), Raw: raw}
	if bpf.NativeEndian.Uint16([]byte{0, 1}) == 1 {
		if a := arch.Native(); a != nil {
			opts.Arch = a.AuditArch
		}
	}
	return opts
}

func printDump(out io.Writer, pid int, comm, exe string, filters []seccomp.Filter, opts bpf.DisasmOptions) error {
	who := fmt.Sprintf("pid %d", pid)
	if comm != "" {
		who += " (" + comm + ")"
	}
	if exe != "" {
		who += " " + exe
	}
	fmt.Fprintf(out, "%s: %d seccomp filter%s, oldest first; the newest runs first and the strictest result wins\n",
		who, len(filters), plural(len(filters)))
	for _, f := range filters {
		role := ""
		switch {
		case len(filters) == 1:
		case f.Index == 0:
			role = ", the oldest"
		case f.Index == len(filters)-1:
			role = ", the newest"
		}
		flags := ""
		if f.Flags != 0 {
			flags = ", flags " + f.Flags.String()
		}
		fmt.Fprintf(out, "\nfilter %d%s: %d instruction%s%s\n", f.Index, role, len(f.Program), plural(len(f.Program)), flags)
		if _, err := io.WriteString(out, bpf.Disassemble(f.Program, opts)); err != nil {
			return err
		}
	}
	return nil
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// dumpJSON is the --json form of a dump.
type dumpJSON struct {
	PID     int          `json:"pid"`
	Comm    string       `json:"comm,omitempty"`
	Exe     string       `json:"exe,omitempty"`
	Filters []filterJSON `json:"filters"` // oldest first
}

type filterJSON struct {
	Index        int           `json:"index"`
	Flags        seccomp.Flags `json:"flags"`
	Instructions []insnJSON    `json:"instructions"`
}

type insnJSON struct {
	Code uint16 `json:"code"`
	Jt   uint8  `json:"jt"`
	Jf   uint8  `json:"jf"`
	K    uint32 `json:"k"`
	Text string `json:"text"`
}

func dumpRecord(pid int, comm, exe string, filters []seccomp.Filter, opts bpf.DisasmOptions) dumpJSON {
	rec := dumpJSON{PID: pid, Comm: comm, Exe: exe, Filters: []filterJSON{}}
	for _, f := range filters {
		fj := filterJSON{Index: f.Index, Flags: f.Flags}
		for _, l := range bpf.Listing(f.Program, opts) {
			in := l.Instruction
			fj.Instructions = append(fj.Instructions, insnJSON{Code: in.Op, Jt: in.Jt, Jf: in.Jf, K: in.K, Text: l.Text})
		}
		rec.Filters = append(rec.Filters, fj)
	}
	return rec
}

// saveFilters writes each filter as raw sock_filter bytes in the
// machine's byte order, the form the kernel received.
func saveFilters(dir string, filters []seccomp.Filter) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, f := range filters {
		path := filepath.Join(dir, fmt.Sprintf("filter-%d.bpf", f.Index))
		if err := os.WriteFile(path, f.Program.Encode(binary.NativeEndian), 0o644); err != nil {
			return err
		}
	}
	return nil
}
