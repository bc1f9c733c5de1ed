package main

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/syscage/syscage/arch"
)

func init() { register("syscalls", newSyscallsCmd) }

func newSyscallsCmd() *cobra.Command {
	var archName string
	var asJSON, listArches bool
	cmd := &cobra.Command{
		Use:   "syscalls [--arch A] [--json] [NAME|NUMBER...]",
		Short: "Resolve syscall names and numbers, or list an architecture's syscalls",
		Long: `Resolve syscall names and numbers, or list an architecture's syscalls.

With no arguments, list every syscall of the architecture: its number as a
seccomp filter sees it (mips o32 from 4000, n64 from 5000, x32 with bit 30
set), its name, and its argument signature with the kind of each argument
(int: compare the low 32 bits; long: a word; u64: 64 bits; pointer).

With arguments, resolve each name or number (decimal or 0x hex).
--arches lists the known architectures with their AUDIT_ARCH values.

Exit status: 0 all resolved; 1 a number names no syscall; 2 an unknown
name, architecture or flag.`,
		Example: `  syscage syscalls openat 0x3b
  syscage syscalls --arch aarch64 --json openat
  syscage syscalls --arch x32
  syscage syscalls --arches`,
		RunE: func(cmd *cobra.Command, args []string) error {
			out := cmd.OutOrStdout()
			if listArches {
				if len(args) > 0 {
					return usageErr(errors.New("--arches takes no syscall names"))
				}
				return printArches(out, asJSON)
			}
			a := arch.Native()
			if archName != "" {
				var err error
				if a, err = arch.ByName(archName); err != nil {
					return usageErr(err)
				}
			}
			if a == nil {
				return usageErr(errors.New("this machine's architecture is not known; pass --arch"))
			}
			if len(args) == 0 {
				return printSyscalls(out, a, a.Syscalls(), asJSON)
			}
			return resolveSyscalls(out, a, args, asJSON)
		},
	}
	cmd.Flags().StringVarP(&archName, "arch", "a", "", "architecture (default: this machine's; see --arches)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	cmd.Flags().BoolVar(&listArches, "arches", false, "list the known architectures")
	return cmd
}

// syscallJSON is one syscall in --json output.
type syscallJSON struct {
	Arch      string      `json:"arch"`
	Nr        int         `json:"nr"`
	Name      string      `json:"name,omitempty"`
	Signature []paramJSON `json:"signature"` // null when unknown
}

type paramJSON struct {
	Name string `json:"name"`
	Type string `json:"type"`
	Kind string `json:"kind"`
}

func syscallRecord(a *arch.Arch, s arch.Syscall) syscallJSON {
	r := syscallJSON{Arch: a.Name, Nr: s.Nr, Name: s.Name}
	if sig, ok := a.Signature(s.Name); ok {
		r.Signature = make([]paramJSON, len(sig.Args))
		for i, p := range sig.Args {
			r.Signature[i] = paramJSON{p.Name, p.Type, p.Kind.String()}
		}
	}
	return r
}

// signatureText renders the arguments, or says that they are unknown.
func signatureText(a *arch.Arch, name string) string {
	sig, ok := a.Signature(name)
	if !ok {
		return "(arguments unknown: compared as 64-bit words)"
	}
	parts := make([]string, len(sig.Args))
	for i, p := range sig.Args {
		parts[i] = fmt.Sprintf("%s %s [%s]", p.Type, p.Name, p.Kind)
	}
	return "(" + strings.Join(parts, ", ") + ")"
}

func printSyscalls(out io.Writer, a *arch.Arch, list []arch.Syscall, asJSON bool) error {
	if asJSON {
		recs := make([]syscallJSON, len(list))
		for i, s := range list {
			recs[i] = syscallRecord(a, s)
		}
		return writeJSON(out, recs)
	}
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "NR\tHEX\tNAME\tARGUMENTS (%s)\n", a.Name)
	for _, s := range list {
		name, sig := s.Name, signatureText(a, s.Name)
		if name == "" {
			name, sig = "-", "(no syscall with this number on "+a.Name+")"
		}
		fmt.Fprintf(tw, "%d\t%#x\t%s\t%s\n", s.Nr, s.Nr, name, sig)
	}
	return tw.Flush()
}

// resolveSyscalls prints every argument it can resolve, then reports the
// rest: unknown names are usage errors, numbers without a syscall a
// negative answer.
func resolveSyscalls(out io.Writer, a *arch.Arch, args []string, asJSON bool) error {
	var found []arch.Syscall
	var bad []string
	unnamed := 0
	for _, arg := range args {
		s, err := a.Resolve(arg)
		if err != nil {
			bad = append(bad, err.Error())
			continue
		}
		if s.Name == "" {
			unnamed++
		}
		found = append(found, s)
	}
	if len(found) > 0 {
		if err := printSyscalls(out, a, found, asJSON); err != nil {
			return err
		}
	}
	switch {
	case len(bad) > 0:
		return usageErr(errors.New(strings.Join(bad, "\nsyscage: ")))
	case unnamed > 0:
		return negative(fmt.Errorf("%d of the numbers name no syscall on %s", unnamed, a.Name))
	}
	return nil
}

// archJSON is one architecture in --arches --json output.
type archJSON struct {
	Name      string   `json:"name"`
	Aliases   []string `json:"aliases"`
	AuditArch string   `json:"audit_arch"`
	AuditName string   `json:"audit_name"`
	BigEndian bool     `json:"big_endian"`
	Bits      int      `json:"bits"`
	NrBase    uint32   `json:"nr_base"`
	Syscalls  int      `json:"syscalls"`
	Native    bool     `json:"native"`
}

func printArches(out io.Writer, asJSON bool) error {
	native := arch.Native()
	var recs []archJSON
	for _, a := range arch.All() {
		recs = append(recs, archJSON{
			Name: a.Name, Aliases: a.Aliases,
			AuditArch: fmt.Sprintf("%#08x", a.AuditArch), AuditName: "AUDIT_" + a.AuditArchName(),
			BigEndian: a.BigEndian, Bits: a.Bits, NrBase: a.NrBase,
			Syscalls: len(a.Syscalls()), Native: a == native,
		})
	}
	if asJSON {
		return writeJSON(out, recs)
	}
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tAUDIT_ARCH\tAUDIT NAME\tENDIAN\tBITS\tNR BASE\tSYSCALLS\tALIASES")
	for _, r := range recs {
		endian := "little"
		if r.BigEndian {
			endian = "big"
		}
		name := r.Name
		if r.Native {
			name += " (native)"
		}
		base := fmt.Sprint(r.NrBase) // mips' 4000 and 5000 are decimal in the kernel headers
		if r.NrBase >= 0x10000 {
			base = fmt.Sprintf("%#x", r.NrBase) // __X32_SYSCALL_BIT
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\t%d\t%s\n", name, r.AuditArch, r.AuditName, endian, r.Bits, base, r.Syscalls, strings.Join(r.Aliases, ", "))
	}
	return tw.Flush()
}
