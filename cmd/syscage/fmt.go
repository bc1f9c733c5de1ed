package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/syscage/syscage/policy"
)

func init() { register("fmt", newFmtCmd) }

func newFmtCmd() *cobra.Command {
	var write, check bool
	cmd := &cobra.Command{
		Use:   "fmt [-w | --check] FILE...",
		Short: "Rewrite native policy files in the canonical layout",
		Long: `Rewrite native policy files in the canonical layout: header lines in a
fixed order, one space between words, numbers spelled consistently, rules
that share an only/except restriction gathered in one block, long rules
wrapped. Comments and blank lines between rules are kept, and the result
parses back to the same policy.

Each file is formatted on its own: include lines stay as they are and the
files they name are not read. fmt checks the syntax only; 'syscage check'
and 'syscage compile' check names, types and values.

By default the formatted text goes to standard output (FILE "-" reads
standard input). -w rewrites each file that changes in place, atomically,
keeping its permissions. --check changes nothing: it lists the files that
are not formatted.

Only the native format is formatted; OCI JSON profiles are refused.

Exit status: 0 success (with --check: every file is formatted); 1 --check
found files that are not formatted; 2 a file does not parse or cannot be
read, or bad flags.`,
		Example: `  syscage fmt server.policy
  syscage fmt -w policies/*.policy
  syscage fmt --check policies/*.policy`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if write && check {
				return usageErr(errors.New("-w and --check exclude each other: --check only reports"))
			}
			out, errOut := cmd.OutOrStdout(), cmd.ErrOrStderr()
			var failed, unformatted []string
			for _, name := range args {
				src, err := readPolicyFile(name, cmd.InOrStdin())
				if err != nil {
					fmt.Fprintln(errOut, err)
					failed = append(failed, name)
					continue
				}
				display := name
				if name == "-" {
					display = "<stdin>"
				}
				formatted, err := formatPolicy(display, src)
				if err != nil {
					printErrors(errOut, err)
					failed = append(failed, name)
					continue
				}
				switch {
				case check:
					if !bytes.Equal(src, formatted) {
						fmt.Fprintln(out, display)
						unformatted = append(unformatted, name)
					}
				case write && name != "-":
					if !bytes.Equal(src, formatted) {
						if err := writeFileAtomic(name, formatted); err != nil {
							fmt.Fprintln(errOut, err)
							failed = append(failed, name)
						}
					}
				default:
					if _, err := out.Write(formatted); err != nil {
						return systemErr(err)
					}
				}
			}
			switch {
			case len(failed) > 0:
				return usageErr(fmt.Errorf("%s of %d failed", files(len(failed)), len(args)))
			case len(unformatted) > 0:
				return negative(fmt.Errorf("%s not formatted: run 'syscage fmt -w'", files(len(unformatted))))
			}
			return nil
		},
	}
	cmd.Flags().BoolVarP(&write, "write", "w", false, "rewrite the files in place instead of printing them")
	cmd.Flags().BoolVar(&check, "check", false, "list the files that are not formatted and exit 1 if there are any")
	return cmd
}

// files says "1 file" or "N files".
func files(n int) string { return fmt.Sprintf("%d file%s", n, plural(n)) }

// readPolicyFile reads a file, or standard input for "-".
func readPolicyFile(name string, stdin io.Reader) ([]byte, error) {
	if name == "-" {
		return io.ReadAll(stdin)
	}
	return os.ReadFile(name)
}

// formatPolicy formats one native policy file on its own.
func formatPolicy(name string, src []byte) ([]byte, error) {
	if t := bytes.TrimLeft(src, " \t\r\n"); len(t) > 0 && t[0] == '{' {
		return nil, fmt.Errorf("%s: this looks like a JSON profile; syscage fmt formats the native policy format only", name)
	}
	p, err := policy.Parse(name, src, policy.ParseOptions{SyntaxOnly: true})
	if err != nil {
		return nil, err
	}
	return policy.Format(p), nil
}

// printErrors prints each error of a policy error list on its own line.
func printErrors(w io.Writer, err error) {
	var list policy.ErrorList
	if errors.As(err, &list) {
		for _, e := range list {
			fmt.Fprintln(w, e)
		}
		return
	}
	fmt.Fprintln(w, err)
}

// writeFileAtomic replaces a file's content by writing a temporary file
// beside it and renaming it over the original, so that readers never see
// half a file. It keeps the permission bits, and writes through symbolic
// links to the file they name.
func writeFileAtomic(name string, data []byte) error {
	target, err := filepath.EvalSymlinks(name)
	if err != nil {
		return err
	}
	info, err := os.Stat(target)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(target), "."+filepath.Base(target)+".fmt-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // fails harmlessly once renamed
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(info.Mode().Perm()); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), target)
}
