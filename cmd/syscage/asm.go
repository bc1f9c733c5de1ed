package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/sys/unix"

	"github.com/syscage/syscage/bpf"
)

func init() { register("asm", newAsmCmd) }

func newAsmCmd() *cobra.Command {
	var archName, output string
	var noValidate bool
	cmd := &cobra.Command{
		Use:   "asm [--arch A] [-o OUT] FILE|-",
		Short: "Assemble a BPF listing into raw seccomp filter bytes",
		Long: `Assemble a program in syscage's BPF assembly (the syntax 'syscage disasm'
prints, close to seccomp-tools') into raw struct sock_filter bytes, the
form seccomp(2) takes. Read FILE, or standard input for "-".

One instruction per line: A = arch, A = sys_number, A = args[1] (low half),
A = args[1] >> 32 (high half), A = mem[3], X = A, A &= 0xff,
if (A == read) goto allow, if (A != ARCH_X86_64) goto 0010 else goto 0011,
goto L, return ALLOW, return ERRNO(1), return A, labels as "name:",
comments after # or //, and .insn CODE JT JF K for any raw instruction.
A 'syscage disasm' listing, hex columns included, assembles back to the
same bytes; the columns are checked. Far conditional jumps to labels get
trampolines. Syscall names are resolved under the arch the program has
checked on every path to the comparison, or under --arch (or a .arch line)
where it does not check.

The output is written in the byte order of --arch's machine, or of this
machine without --arch. The program must pass the kernel's checks
(instruction set, jumps, scratch memory, length); --no-validate writes it
anyway, to test what the kernel does with it.

Exit status: 0 written; 2 the source cannot be read or does not
assemble, the program would be refused by the kernel, or bad flags; 3 the
output cannot be written.`,
		Example: `  syscage asm filter.s -o filter.bpf
  syscage disasm filter.bpf | syscage asm -o again.bpf -
  syscage asm --arch aarch64 -o filter.bpf filter.s`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts := bpf.AsmOptions{Namer: listingNamer{}}
			big := nativeBigEndian()
			if archName != "" {
				a, err := archFlag(archName)
				if err != nil {
					return usageErr(err)
				}
				opts.Arch, big = a.AuditArch, a.BigEndian
			}
			src, err := readInput(cmd, args[0])
			if err != nil {
				return usageErr(err)
			}
			p, err := bpf.AssembleWith(string(src), opts)
			if err != nil {
				return usageErr(sourceErrors(args[0], err))
			}
			if !noValidate {
				if err := bpf.Validate(p); err != nil {
					return usageErr(fmt.Errorf("%s: the kernel would refuse this filter: %w (--no-validate writes it anyway)", displayName(args[0]), err))
				}
			}
			raw := p.Encode(byteOrder(big))
			if output == "" || output == "-" {
				out := cmd.OutOrStdout()
				if f, ok := out.(*os.File); ok && isTerminal(f) {
					return usageErr(errors.New("refusing to write binary BPF to a terminal; pass -o FILE or redirect the output"))
				}
				_, err = out.Write(raw)
			} else {
				err = os.WriteFile(output, raw, 0o644)
			}
			if err != nil {
				return systemErr(err)
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&archName, "arch", "a", "", "architecture the filter is for: names syscalls where the program does not check the arch, and sets the byte order (default: this machine's byte order, no assumed arch)")
	cmd.Flags().StringVarP(&output, "output", "o", "", "write the filter to `OUT` (default, or \"-\": standard output, unless it is a terminal)")
	cmd.Flags().BoolVar(&noValidate, "no-validate", false, "write the filter even if the kernel would refuse it")
	return cmd
}

// sourceErrors prefixes each assembler error with the file name, the way
// compilers print them: "filter.s:3:7: ...".
func sourceErrors(path string, err error) error {
	var list bpf.AsmErrors
	if !errors.As(err, &list) {
		return fmt.Errorf("%s: %w", displayName(path), err)
	}
	lines := strings.Split(list.Error(), "\n")
	for i, l := range lines {
		if !strings.HasPrefix(l, "(") {
			lines[i] = displayName(path) + ":" + l
		}
	}
	return errors.New(strings.Join(lines, "\n"))
}

// displayName names an input in messages.
func displayName(path string) string {
	if path == "-" {
		return "<stdin>"
	}
	return path
}

// readInput reads a file, or standard input for "-".
func readInput(cmd *cobra.Command, path string) ([]byte, error) {
	if path == "-" {
		return io.ReadAll(cmd.InOrStdin())
	}
	return os.ReadFile(path)
}

// isTerminal reports whether f is a terminal: it answers the terminal
// ioctl, which /dev/null and pipes do not.
func isTerminal(f *os.File) bool {
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}
