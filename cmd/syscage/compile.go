package main

import (
	"bytes"
	"errors"
	"fmt"
	"go/format"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/syscage/syscage/arch"
	"github.com/syscage/syscage/bpf"
	"github.com/syscage/syscage/compile"
	"github.com/syscage/syscage/policy"
)

func init() { register("compile", newCompileCmd) }

// compileFormats are the outputs of syscage compile, in the order --help
// lists them.
var compileFormats = []string{"bpf", "c", "go", "oci", "spo", "k8s", "native", "dot"}

func newCompileCmd() *cobra.Command {
	var (
		format, output, freqFile, splitDir, goPackage, name string
		arches                                              []string
		maxInsns                                            int
		noSplit, stats                                      bool
		env                                                 envFlags
	)
	cmd := &cobra.Command{
		Use:   "compile POLICY [-o OUT] [--format F] [--arch A...] [--freq FILE] [--stats]",
		Short: "Compile a policy into a seccomp filter, or convert it to another format",
		Long: `Compile a policy (native text or OCI/Docker JSON, recognised by content;
"-" reads standard input) into an optimised seccomp filter, validated as
the kernel would, or write the policy in another format.

Formats (--format):
  bpf     raw struct sock_filter, what seccomp(2) and bwrap --seccomp take
          (default); in the byte order of the target machine
  c       a C array of struct sock_filter with a struct sock_fprog
  go      Go source: the filters as []unix.SockFilter (package --go-package)
  oci     the OCI runtime-spec / Docker JSON profile
  spo     a Kubernetes Security Profiles Operator SeccompProfile (--name)
  k8s     a Kubernetes localhost profile: the JSON for the kubelet's seccomp
          directory; the pod's securityContext that uses it goes to stderr
  native  the policy in syscage's own format
  dot     a Graphviz picture of the compiled decision tree (dot -Tsvg)

The filter accepts the policy's architectures; --arch restricts it to
some of them, for the machine it will run on (a filter is loaded in one
byte order: a policy that accepts little- and big-endian architectures
must be compiled once for each). --caps and --kernel decide the rules
restricted to capabilities or kernel versions. Hot syscalls are placed
first in the search tree by the bundled frequency mix, or by --freq FILE:
lines "NAME COUNT", or the summary of strace -c.

A policy too big for one filter (4096 instructions, or --max-insns) is
split into stacked filters that together decide exactly as the policy;
bpf output then needs --split-dir DIR, which receives filter-1.bpf,
filter-2.bpf, ... to install in that order. --no-split refuses instead.
--stats prints the size, the longest path and the mean path under the
frequency mix on standard error.

Warnings about the input (e.g. syscall names in an OCI profile that no
architecture has, which runc drops silently) are printed on standard
error.

Exit status: 0 written; 2 the policy cannot be read, does not parse or
does not compile, or bad flags; 3 the output cannot be written.`,
		Example: `  syscage compile app.policy -o app.bpf
  syscage compile docker-default.json --arch x86_64 --stats -o docker.bpf
  syscage compile app.policy --format c -o filter.h
  syscage compile app.policy --format dot | dot -Tsvg > tree.svg
  syscage compile docker-default.json --format native`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if !contains(compileFormats, format) {
				return usageErr(fmt.Errorf("unknown format %q; want one of %s", format, strings.Join(compileFormats, ", ")))
			}
			p, _, err := loadAnyPolicy(cmd, args[0])
			if err != nil {
				return err
			}
			for _, w := range p.Warnings {
				fmt.Fprintf(cmd.ErrOrStderr(), "syscage: warning: %s: %s\n", w.Pos, w.Msg)
			}
			if output == "-" {
				output = ""
			}
			switch format {
			case "native":
				return writeOutput(cmd, output, policy.Format(p))
			case "oci":
				data, err := policy.FormatOCI(p)
				if err != nil {
					return usageErr(err)
				}
				return writeOutput(cmd, output, data)
			case "spo":
				if name == "" {
					name = profileName(args[0])
				}
				data, err := policy.FormatSPO(p, name)
				if err != nil {
					return usageErr(err)
				}
				return writeOutput(cmd, output, data)
			case "k8s":
				if name == "" {
					name = profileName(args[0])
				}
				data, pod, err := policy.FormatKubernetesLocalhost(p, name)
				if err != nil {
					return usageErr(err)
				}
				cmd.ErrOrStderr().Write(pod)
				return writeOutput(cmd, output, data)
			}
			opts := compile.Options{Arches: arches, MaxInstructions: maxInsns, NoSplit: noSplit}
			if opts.Env, err = env.env(); err != nil {
				return usageErr(err)
			}
			if freqFile != "" {
				f, err := os.Open(freqFile)
				if err != nil {
					return systemErr(err)
				}
				opts.Frequencies, err = compile.ReadFrequencies(f)
				f.Close()
				if err != nil {
					return usageErr(fmt.Errorf("%s: %w", freqFile, err))
				}
			}
			res, err := compile.Policy(p, opts)
			if err != nil {
				return usageErr(fmt.Errorf("%s: %w", argName(args[0]), err))
			}
			if stats {
				printCompileStats(cmd.ErrOrStderr(), res)
			}
			switch format {
			case "bpf":
				return writeBPF(cmd, res, output, splitDir)
			case "c":
				return writeOutput(cmd, output, filterC(res, argName(args[0])))
			case "go":
				src, err := filterGo(res, argName(args[0]), goPackage)
				if err != nil {
					return err
				}
				return writeOutput(cmd, output, src)
			}
			var b bytes.Buffer
			if err := res.WriteDot(&b); err != nil {
				return err
			}
			return writeOutput(cmd, output, b.Bytes())
		},
	}
	cmd.Flags().StringVarP(&format, "format", "f", "bpf", "output format: "+strings.Join(compileFormats, ", "))
	cmd.Flags().StringVarP(&output, "output", "o", "", "write to `OUT` (default: standard output; binary BPF is never written to a terminal)")
	cmd.Flags().StringSliceVarP(&arches, "arch", "a", nil, "compile for these of the policy's architectures only (comma-separated or repeated)")
	cmd.Flags().StringVar(&freqFile, "freq", "", "syscall frequencies to optimise for: `FILE` of \"NAME COUNT\" lines or strace -c output (default: the bundled mix)")
	cmd.Flags().IntVar(&maxInsns, "max-insns", 0, "most instructions per filter before splitting (default 4096, the kernel's limit)")
	cmd.Flags().BoolVar(&noSplit, "no-split", false, "fail instead of splitting a policy too big for one filter")
	cmd.Flags().StringVar(&splitDir, "split-dir", "", "write each filter of a split policy to `DIR`/filter-N.bpf")
	cmd.Flags().BoolVar(&stats, "stats", false, "print size and path lengths on standard error")
	cmd.Flags().StringVar(&goPackage, "go-package", "filter", "package name of --format go")
	cmd.Flags().StringVar(&name, "name", "", "metadata.name of --format spo, profile name of --format k8s (default: the policy file's base name)")
	env.register(cmd)
	return cmd
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// profileName derives a Kubernetes object name from a file name.
func profileName(path string) string {
	base := strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
	if path == "-" || base == "" {
		return "syscage-profile"
	}
	var b strings.Builder
	for _, r := range strings.ToLower(base) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '-', r == '.':
			b.WriteRune(r)
		default:
			b.WriteByte('-')
		}
	}
	return strings.Trim(b.String(), "-.")
}

// writeOutput writes data to the file named by output, or standard output.
func writeOutput(cmd *cobra.Command, output string, data []byte) error {
	var err error
	if output == "" {
		_, err = cmd.OutOrStdout().Write(data)
	} else {
		err = os.WriteFile(output, data, 0o644)
	}
	if err != nil {
		return systemErr(err)
	}
	return nil
}

// writeBPF writes the raw filter, or each filter of a split policy into
// splitDir.
func writeBPF(cmd *cobra.Command, res *compile.Result, output, splitDir string) error {
	order := byteOrder(res.BigEndian)
	if splitDir != "" {
		if err := os.MkdirAll(splitDir, 0o755); err != nil {
			return systemErr(err)
		}
		for i, f := range res.Filters {
			path := filepath.Join(splitDir, fmt.Sprintf("filter-%d.bpf", i+1))
			if err := os.WriteFile(path, f.Encode(order), 0o644); err != nil {
				return systemErr(err)
			}
		}
		return nil
	}
	if len(res.Filters) > 1 {
		return usageErr(fmt.Errorf("the policy compiles to %d stacked filters (%s instructions); raw BPF holds one: pass --split-dir DIR to write them all, or another --format",
			len(res.Filters), joinInts(res.Stats.Instructions)))
	}
	if output == "" {
		if f, ok := cmd.OutOrStdout().(*os.File); ok && isTerminal(f) {
			return usageErr(errors.New("refusing to write binary BPF to a terminal; pass -o FILE, redirect the output, or choose another --format"))
		}
	}
	return writeOutput(cmd, output, res.Filters[0].Encode(order))
}

func joinInts(v []int) string {
	s := make([]string, len(v))
	for i, x := range v {
		s[i] = fmt.Sprint(x)
	}
	return strings.Join(s, "+")
}

func printCompileStats(w io.Writer, res *compile.Result) {
	st := res.Stats
	names := make([]string, len(res.Arches))
	for i, a := range res.Arches {
		names[i] = a.Name
	}
	fmt.Fprintf(w, "arches:        %s\n", strings.Join(names, " "))
	fmt.Fprintf(w, "filters:       %d (%s instructions)\n", len(res.Filters), joinInts(st.Instructions))
	fmt.Fprintf(w, "longest path:  %d instructions\n", st.MaxPath)
	fmt.Fprintf(w, "mean path:     %.2f instructions per syscall of %s under the frequency mix (cache off)\n", st.MeanPath, names[0])
	fmt.Fprintf(w, "runs:          %d ranges of syscall numbers with one decision\n", st.Runs)
	if cached, total, err := res.CacheCoverage(); err == nil {
		fmt.Fprintf(w, "cached:        %d of %d syscalls allowed whatever their arguments are served by the kernel's constant-action cache\n", cached, total)
	}
}

// listingLines returns the listing of a filter, for comments.
func listingLines(res *compile.Result, p bpf.Program) []bpf.Line {
	opts := bpf.DisasmOptions{Namer: arch.Names()}
	if len(res.Arches) > 0 {
		opts.Arch = res.Arches[0].AuditArch
	}
	return bpf.Listing(p, opts)
}

// filterC renders the filters as C: one array of struct sock_filter and
// one struct sock_fprog per filter, each instruction commented with its
// listing.
func filterC(res *compile.Result, source string) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "/* Seccomp filter compiled by syscage from %s. */\n", cComment(source))
	fmt.Fprintf(&b, "/* Install the filters in order with seccomp(SECCOMP_SET_MODE_FILTER, ...). */\n\n")
	b.WriteString("#include <linux/filter.h>\n\n")
	for i, p := range res.Filters {
		lines := listingLines(res, p)
		fmt.Fprintf(&b, "static struct sock_filter syscage_filter%d[%d] = {\n", i, len(p))
		for pc, ins := range p {
			fmt.Fprintf(&b, "\t{ 0x%02x, %d, %d, 0x%08x }, /* %04d: %s */\n", ins.Op, ins.Jt, ins.Jf, ins.K, pc, cComment(lines[pc].Text))
		}
		b.WriteString("};\n\n")
		fmt.Fprintf(&b, "static struct sock_fprog syscage_prog%d = {\n\t.len = %d,\n\t.filter = syscage_filter%d,\n};\n\n", i, len(p), i)
	}
	return b.Bytes()
}

// cComment keeps text from closing a C comment.
func cComment(s string) string { return strings.ReplaceAll(s, "*/", "* /") }

// filterGo renders the filters as Go source for golang.org/x/sys/unix.
func filterGo(res *compile.Result, source, pkg string) ([]byte, error) {
	var b bytes.Buffer
	fmt.Fprintf(&b, "// Code generated by \"syscage compile --format go\" from %s; DO NOT EDIT.\n\n", strings.ReplaceAll(source, "\n", " "))
	fmt.Fprintf(&b, "package %s\n\nimport \"golang.org/x/sys/unix\"\n\n", pkg)
	b.WriteString("// Filters are the seccomp filters of the policy, to install in order\n// (unix.SockFprog{Len: uint16(len(f)), Filter: &f[0]}).\n")
	b.WriteString("var Filters = [][]unix.SockFilter{\n")
	for _, p := range res.Filters {
		lines := listingLines(res, p)
		b.WriteString("\t{\n")
		for pc, ins := range p {
			fmt.Fprintf(&b, "\t\t{Code: 0x%02x, Jt: %d, Jf: %d, K: 0x%x}, // %04d: %s\n", ins.Op, ins.Jt, ins.Jf, ins.K, pc, lines[pc].Text)
		}
		b.WriteString("\t},\n")
	}
	b.WriteString("}\n")
	src, err := format.Source(b.Bytes())
	if err != nil {
		return nil, usageErr(fmt.Errorf("--go-package %q: %w", pkg, err))
	}
	return src, nil
}
