package main

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/spf13/cobra"

	"github.com/syscage/syscage/arch"
	"github.com/syscage/syscage/bpf"
)

func init() { register("disasm", newDisasmCmd) }

func newDisasmCmd() *cobra.Command {
	var archName string
	var raw, asJSON bool
	cmd := &cobra.Command{
		Use:   "disasm [--arch A] [--raw=false] [--json] FILE|-",
		Short: "Disassemble a raw seccomp filter into a readable listing",
		Long: `Disassemble raw struct sock_filter bytes (FILE, or standard input for "-")
into a listing, one instruction per line, with the CODE JT JF K columns,
syscall and architecture names, and jump targets as line numbers:

   0001: 0x15 0x00 0x09 0xc000003e  if (A != ARCH_X86_64) goto 0011

Syscall numbers are named under the arch the filter has checked on every
path to the comparison; where the paths disagree they stay numbers. Where
the filter never checks the arch, --arch names them (and is recorded in
the listing as a .arch line). The input is read in the byte order of
--arch's machine, or of this machine without --arch.

The listing assembles back to the same bytes with 'syscage asm'. A last
comment line says whether the kernel would accept the filter, and if not,
why; a filter the kernel would refuse is listed in full and then fails the
command. --raw=false drops the hex columns; --json prints the
instructions as data.

Exit status: 0 listed, and the kernel would accept the filter; 2 the
kernel would refuse it (the listing is still printed), the input cannot be
read or is not a whole number of 8-byte instructions, or bad flags.`,
		Example: `  syscage disasm filter.bpf
  syscage disasm --raw=false --arch aarch64 filter.bpf
  syscage disasm --json - < filter.bpf`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts := bpf.DisasmOptions{Namer: listingNamer{}, Raw: raw}
			big := nativeBigEndian()
			var a *arch.Arch
			if archName != "" {
				var err error
				if a, err = archFlag(archName); err != nil {
					return usageErr(err)
				}
				opts.Arch, big = a.AuditArch, a.BigEndian
			}
			data, err := readInput(cmd, args[0])
			if err != nil {
				return usageErr(err)
			}
			p, err := bpf.Decode(data, byteOrder(big))
			if err != nil {
				return usageErr(fmt.Errorf("%s: %w", displayName(args[0]), err))
			}
			verr := bpf.Validate(p)
			out := cmd.OutOrStdout()
			if asJSON {
				err = writeJSON(out, disasmRecord(p, opts, a, big, verr))
			} else {
				err = printListing(out, p, opts, verr)
			}
			if err != nil {
				return systemErr(err)
			}
			if verr != nil {
				// Listing a broken filter is useful, but a script that
				// disassembles to inspect must learn that the kernel
				// would not load it.
				return usageErr(fmt.Errorf("%s: the kernel would refuse this filter: %w", displayName(args[0]), verr))
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&archName, "arch", "a", "", "architecture the filter is for: names syscalls where the filter does not check the arch, and sets the byte order (default: this machine's byte order, no assumed arch)")
	cmd.Flags().BoolVar(&raw, "raw", true, "show the CODE JT JF K columns")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the instructions as JSON")
	return cmd
}

func printListing(out io.Writer, p bpf.Program, opts bpf.DisasmOptions, verr error) error {
	if _, err := io.WriteString(out, bpf.Disassemble(p, opts)); err != nil {
		return err
	}
	verdict := "# the kernel accepts this filter\n"
	if verr != nil {
		verdict = fmt.Sprintf("# the kernel would refuse this filter: %v\n", verr)
	}
	_, err := io.WriteString(out, verdict)
	return err
}

// disasmJSON is the --json form of a listing.
type disasmJSON struct {
	Arch          string             `json:"arch,omitempty"` // --arch, canonical name
	ByteOrder     string             `json:"byte_order"`     // "little" or "big"
	Instructions  []disasmInsnJSON   `json:"instructions"`
	KernelAccepts bool               `json:"kernel_accepts"`
	Refusal       *disasmRefusalJSON `json:"refusal,omitempty"`
}

type disasmInsnJSON struct {
	Index int    `json:"index"`
	Code  uint16 `json:"code"`
	Jt    uint8  `json:"jt"`
	Jf    uint8  `json:"jf"`
	K     uint32 `json:"k"`
	Text  string `json:"text"`           // the statement, as the listing prints it
	Note  string `json:"note,omitempty"` // why it is a raw .insn
}

type disasmRefusalJSON struct {
	Index   int    `json:"index"` // -1: the program as a whole
	Rule    string `json:"rule,omitempty"`
	Message string `json:"message"`
}

func disasmRecord(p bpf.Program, opts bpf.DisasmOptions, a *arch.Arch, big bool, verr error) disasmJSON {
	rec := disasmJSON{ByteOrder: "little", KernelAccepts: verr == nil}
	if big {
		rec.ByteOrder = "big"
	}
	if a != nil {
		rec.Arch = a.Name
	}
	for _, l := range bpf.Listing(p, opts) {
		in := l.Instruction
		rec.Instructions = append(rec.Instructions, disasmInsnJSON{
			Index: l.Index, Code: in.Op, Jt: in.Jt, Jf: in.Jf, K: in.K, Text: l.Text, Note: l.Note,
		})
	}
	if verr != nil {
		r := &disasmRefusalJSON{Index: -1, Message: verr.Error()}
		var ve *bpf.ValidationError
		if errors.As(verr, &ve) {
			r.Index, r.Rule = ve.Index, ve.Rule
		}
		rec.Refusal = r
	}
	return rec
}

// archFlag resolves an --arch value: a name or alias the arch package
// knows ("x86_64", "amd64", "SCMP_ARCH_X86_64"), or an AUDIT_ARCH name
// ("ARCH_X86_64"). The error lists the valid names.
func archFlag(name string) (*arch.Arch, error) {
	if v, ok := arch.Names().AuditArchValue(name); ok {
		if as := arch.ByAuditArch(v); len(as) > 0 {
			return as[0], nil
		}
	}
	return arch.ByName(name)
}

// nativeBigEndian reports whether this machine is big-endian.
func nativeBigEndian() bool { return binary.NativeEndian.Uint16([]byte{0, 1}) == 1 }

// byteOrder returns the byte order of a machine.
func byteOrder(bigEndian bool) binary.ByteOrder {
	if bigEndian {
		return binary.BigEndian
	}
	return binary.LittleEndian
}

// listingNamer names arches and syscalls with every table the arch package
// has, and lists the names so that the assembler can suggest the nearest
// ones for a misspelt name.
type listingNamer struct{}

var _ bpf.NameLister = listingNamer{}

func (listingNamer) AuditArchName(v uint32) (string, bool) { return arch.Names().AuditArchName(v) }
func (listingNamer) AuditArchValue(name string) (uint32, bool) {
	return arch.Names().AuditArchValue(name)
}
func (listingNamer) SyscallName(v, nr uint32) (string, bool) { return arch.Names().SyscallName(v, nr) }
func (listingNamer) SyscallNumber(v uint32, name string) (uint32, bool) {
	return arch.Names().SyscallNumber(v, name)
}

func (listingNamer) AuditArchNames() []string {
	var out []string
	for _, a := range arch.All() {
		if n := a.AuditArchName(); !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return out
}

func (listingNamer) SyscallNames(v uint32) []string {
	var out []string
	for _, a := range arch.ByAuditArch(v) {
		out = append(out, a.SyscallNames()...)
	}
	slices.Sort(out)
	return slices.Compact(out) // x86_64 and x32 share most names
}
