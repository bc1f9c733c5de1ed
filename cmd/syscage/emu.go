package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/spf13/cobra"

	"github.com/syscage/syscage/arch"
	"github.com/syscage/syscage/bpf"
	"github.com/syscage/syscage/internal/suggest"
)

func init() { register("emu", newEmuCmd) }

func newEmuCmd() *cobra.Command {
	var bpfFiles []string
	var archName, ipText, policyFile string
	var asJSON bool
	var env envFlags
	cmd := &cobra.Command{
		Use:   "emu (--bpf FILE [--bpf FILE...] | --policy POLICY) [--arch A] [--ip N] [--json] SYSCALL [ARG...]",
		Short: "Run seccomp filters on one system call and trace the path taken",
		Long: `Run seccomp filters on one system call, the way the kernel would, and
print every instruction executed, the registers it changed, and the
final action.

FILE is a filter as raw struct sock_filter bytes (what 'syscage asm'
writes and seccomp(2) takes), or a listing in syscage's BPF assembly: a
file with no NUL byte is read as assembly. Repeat --bpf to stack filters
in the order they were installed; the kernel runs every one, newest first,
and acts on the strictest answer.

--policy POLICY (native text or an OCI JSON profile, recognised by
content) compiles the policy, as 'syscage compile' would, for the
policy's architectures that share --arch's byte order, traces the call
through the compiled filter, and names the policy line that decided it
(a rule, or the default, unknown or badarch action). --caps and --kernel
choose the rules restricted to capabilities or kernel versions.

SYSCALL, after all flags, is a name or a number as the filter sees it on
--arch (default: this machine's). Each ARG is a number (decimal, negative, or 0x hex), a
constant of the architecture (AT_FDCWD, O_RDONLY, AF_INET, ...) or
several joined with | (O_WRONLY|O_CREAT). Missing arguments are 0. On
32-bit architectures arguments are 32-bit registers. --ip sets
seccomp_data.instruction_pointer.

The last line says whether the kernel (Linux 5.11 and later) would answer
this call from its constant-action cache without running the filters.

Exit status: 0 emulated; 2 bad input (a file that cannot be read or is
not a filter, a policy that does not parse or compile, an unknown
syscall, constant or architecture, a filter the kernel would refuse: its
trace is still printed).`,
		Example: `  syscage emu --bpf filter.bpf openat AT_FDCWD 0 O_RDONLY
  syscage emu --policy app.policy mprotect 0 4096 'PROT_READ|PROT_EXEC'
  syscage emu --policy moby.json --caps "" --arch i386 socketcall
  syscage emu --bpf filter.bpf --arch aarch64 --json 0x38 -100
  syscage emu --bpf old.bpf --bpf new.bpf execve`,
		Args: func(cmd *cobra.Command, args []string) error {
			switch {
			case len(args) == 0:
				return usageErr(errors.New("which system call? give SYSCALL (a name or number) after the flags"))
			case len(args) > 7:
				return usageErr(fmt.Errorf("%d arguments for %s: a system call has at most 6", len(args)-1, args[0]))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			switch {
			case len(bpfFiles) == 0 && policyFile == "":
				return usageErr(errors.New("no filter given: pass --bpf FILE or --policy POLICY"))
			case len(bpfFiles) > 0 && policyFile != "":
				return usageErr(errors.New("--bpf and --policy exclude each other: emulate either raw filters or a policy"))
			case len(bpfFiles) > 0 && env.set():
				return usageErr(errors.New("--caps and --kernel choose rules of a policy: use them with --policy"))
			}
			a := arch.Native()
			if archName != "" {
				var err error
				if a, err = archFlag(archName); err != nil {
					return usageErr(err)
				}
			}
			if a == nil {
				return usageErr(errors.New("this machine's architecture is not known; pass --arch"))
			}
			if policyFile != "" {
				e, err := env.env()
				if err != nil {
					return usageErr(err)
				}
				call, err := parseEmuCall(a, args, ipText)
				if err != nil {
					return usageErr(err)
				}
				return emuPolicy(cmd, policyFile, a, call, e, asJSON)
			}
			var filters []emuFilter
			for _, name := range bpfFiles {
				p, err := readFilter(cmd, name, a)
				if err != nil {
					return err
				}
				filters = append(filters, emuFilter{Name: displayName(name), Program: p})
			}
			call, err := parseEmuCall(a, args, ipText)
			if err != nil {
				return usageErr(err)
			}
			return emulate(cmd.OutOrStdout(), a, call, filters, asJSON)
		},
	}
	// Flags come before SYSCALL, so that negative arguments read as
	// numbers, not flags.
	cmd.Flags().SetInterspersed(false)
	cmd.Flags().StringArrayVar(&bpfFiles, "bpf", nil, "filter file, raw BPF or assembly (repeat to stack filters, oldest first; - for standard input)")
	cmd.Flags().StringVar(&policyFile, "policy", "", "policy file, native or OCI JSON, to compile and trace (- for standard input)")
	env.register(cmd)
	cmd.Flags().StringVarP(&archName, "arch", "a", "", "architecture of the call and the filter: sets seccomp_data.arch, the syscall table and the byte order (default: this machine's)")
	cmd.Flags().StringVar(&ipText, "ip", "0", "seccomp_data.instruction_pointer")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the trace as JSON")
	return cmd
}

// emuFilter is one filter of the stack, named for the trace.
type emuFilter struct {
	Name    string
	Program bpf.Program
}

// emuCall is the system call to emulate.
type emuCall struct {
	Name string // "" when the number has no name on the arch
	Data bpf.SeccompData
}

// readFilter reads a filter file: raw BPF in the arch's byte order, or
// assembly when the file has no NUL byte (raw seccomp filters always do:
// the high byte of every opcode is 0).
func readFilter(cmd *cobra.Command, name string, a *arch.Arch) (bpf.Program, error) {
	data, err := readInput(cmd, name)
	if err != nil {
		return nil, usageErr(err)
	}
	if len(data) > 0 && bytes.IndexByte(data, 0) < 0 && utf8.Valid(data) {
		p, err := bpf.AssembleWith(string(data), bpf.AsmOptions{Namer: listingNamer{}, Arch: a.AuditArch})
		if err != nil {
			return nil, usageErr(sourceErrors(name, err))
		}
		return p, nil
	}
	p, err := bpf.Decode(data, byteOrder(a.BigEndian))
	if err != nil {
		return nil, usageErr(fmt.Errorf("%s: %w", displayName(name), err))
	}
	return p, nil
}

// parseEmuCall reads SYSCALL [ARG...] and the instruction pointer.
func parseEmuCall(a *arch.Arch, args []string, ipText string) (emuCall, error) {
	sc, err := a.Resolve(args[0])
	if err != nil {
		return emuCall{}, err
	}
	call := emuCall{Name: sc.Name, Data: bpf.SeccompData{Nr: int32(uint32(sc.Nr)), Arch: a.AuditArch}}
	for i, s := range args[1:] {
		v, err := parseEmuArg(a, s)
		if err != nil {
			return emuCall{}, fmt.Errorf("argument %d %q: %w", i, s, err)
		}
		call.Data.Args[i] = v
	}
	ip, err := strconv.ParseUint(strings.TrimSpace(ipText), 0, 64)
	if err != nil {
		return emuCall{}, fmt.Errorf("--ip %q: not an unsigned 64-bit number (decimal or 0x hex)", ipText)
	}
	call.Data.InstructionPointer = ip
	return call, nil
}

// parseEmuArg reads one argument: numbers and constants joined with |.
// The result is the register as the kernel passes it to seccomp: 64 bits,
// or on a 32-bit architecture 32 bits zero-extended.
func parseEmuArg(a *arch.Arch, s string) (uint64, error) {
	var v uint64
	for _, part := range strings.Split(s, "|") {
		part = strings.TrimSpace(part)
		if part == "" {
			return 0, errors.New("empty value")
		}
		var x uint64
		switch c := part[0]; {
		case c == '-' || c == '+':
			n, err := strconv.ParseInt(part, 0, 64)
			if err != nil {
				return 0, fmt.Errorf("%q is not a 64-bit number", part)
			}
			x = uint64(n)
		case c >= '0' && c <= '9':
			n, err := strconv.ParseUint(part, 0, 64)
			if err != nil {
				return 0, fmt.Errorf("%q is not a 64-bit number (decimal, or 0x hex)", part)
			}
			x = n
		default:
			n, ok := a.Constant(part)
			if !ok {
				return 0, fmt.Errorf("unknown constant %q on %s%s", part, a.Name,
					suggest.Phrase(suggest.Nearest(part, a.ConstantNames(""), 3)))
			}
			x = n
		}
		v |= x
	}
	if a.Bits == 32 {
		// A negative value fills the upper half with ones; anything else
		// there does not fit the register.
		if hi := v >> 32; hi != 0 && !(hi == 0xffffffff && v&0x80000000 != 0) {
			return 0, fmt.Errorf("0x%x does not fit a 32-bit register on %s", v, a.Name)
		}
		v &= 0xffffffff
	}
	return v, nil
}

// emuTrace is the --json form of an emulation.
type emuTrace struct {
	Arch      string          `json:"arch"`
	Syscall   string          `json:"syscall,omitempty"`
	Nr        uint32          `json:"nr"`
	AuditArch uint32          `json:"audit_arch"`
	IP        uint64          `json:"instruction_pointer"`
	Args      [6]uint64       `json:"args"`
	Filters   []emuFilterJSON `json:"filters"` // as given: oldest first
	// Action is the return value the kernel acts on, as ActionString
	// writes it; Value is the number; DecidedBy the index of the filter
	// whose value won, -1 when every filter allowed.
	Action    string `json:"action"`
	Value     uint32 `json:"value"`
	DecidedBy int    `json:"decided_by"`
	// Cached reports that the kernel would allow this call from its
	// constant-action bitmap without running any filter.
	Cached bool   `json:"cached"`
	Note   string `json:"note,omitempty"`
}

type emuFilterJSON struct {
	Name          string        `json:"name"`
	Instructions  int           `json:"instructions"`
	Refusal       string        `json:"refusal,omitempty"` // why the kernel would refuse it
	Steps         []emuStepJSON `json:"steps"`
	Action        string        `json:"action,omitempty"`
	Value         uint32        `json:"value"`
	Executed      int           `json:"executed"`
	DividedByZero bool          `json:"divided_by_zero,omitempty"`
	Error         string        `json:"error,omitempty"` // the run could not finish
}

type emuStepJSON struct {
	Index int    `json:"index"`
	Text  string `json:"text"`
	A     uint32 `json:"a"`
	X     uint32 `json:"x"`
}

// emulate runs the call through the filters and prints the trace. It is
// the whole command once the filters are known, whatever they came from.
// A filter the kernel would refuse is traced as far as it runs, and makes
// the command fail with a usage error.
func emulate(out io.Writer, a *arch.Arch, call emuCall, filters []emuFilter, asJSON bool) error {
	tr := traceCall(a, call, filters)
	var err error
	if asJSON {
		err = writeJSON(out, tr)
	} else {
		err = printTrace(out, a, tr)
	}
	if err != nil {
		return err
	}
	for i, f := range tr.Filters {
		if f.Refusal != "" {
			return usageErr(fmt.Errorf("filter %d (%s): the kernel would refuse it: %s", i, f.Name, f.Refusal))
		}
		if f.Error != "" {
			return usageErr(fmt.Errorf("filter %d (%s): %s", i, f.Name, f.Error))
		}
	}
	return nil
}

// traceCall computes the trace of every filter and the stack's verdict.
func traceCall(a *arch.Arch, call emuCall, filters []emuFilter) emuTrace {
	d := call.Data
	tr := emuTrace{Arch: a.Name, Syscall: call.Name, Nr: uint32(d.Nr), AuditArch: d.Arch,
		IP: d.InstructionPointer, Args: d.Args, DecidedBy: -1}
	order := byteOrder(a.BigEndian)
	opts := bpf.DisasmOptions{Namer: listingNamer{}, Arch: a.AuditArch}
	programs := make([]bpf.Program, len(filters))
	allValid := true
	for i, f := range filters {
		programs[i] = f.Program
		fj := emuFilterJSON{Name: f.Name, Instructions: len(f.Program)}
		if err := bpf.Validate(f.Program); err != nil {
			fj.Refusal = err.Error()
			allValid = false
		}
		lines := bpf.Listing(f.Program, opts)
		steps, r, err := bpf.Trace(f.Program, &d, order)
		for _, s := range steps {
			fj.Steps = append(fj.Steps, emuStepJSON{Index: s.Index, Text: lines[s.Index].Text, A: s.A, X: s.X})
		}
		fj.Executed = r.Executed
		if err != nil {
			fj.Error = err.Error()
		} else {
			fj.Value, fj.Action = r.Action, bpf.ActionString(r.Action)
			fj.DividedByZero = r.DividedByZero(f.Program)
		}
		tr.Filters = append(tr.Filters, fj)
	}
	if sr, err := bpf.RunStack(programs, &d, order); err == nil {
		tr.Value, tr.DecidedBy = sr.Action, sr.Filter
		tr.Action = bpf.ActionString(sr.Action)
	}
	if allValid && a.NrBase < 0x40000000 {
		// The bitmap covers the arch's table; x32 numbers (bit 30) are
		// beyond it.
		target := bpf.CacheTarget{AuditArch: a.AuditArch, Syscalls: a.MaxNr() + 1}
		if nr := int(uint32(d.Nr)); nr < target.Syscalls {
			tr.Cached = bpf.CachedAllowStack(programs, target)[nr]
		}
	}
	if a.Name == "x86_64" && (call.Name == "uretprobe" || call.Name == "uprobe") {
		tr.Note = call.Name + " bypasses seccomp filters on x86_64 since Linux 6.14 (uretprobe) and 6.18 (uprobe): the kernel allows it whatever they say"
	}
	return tr
}

// printTrace prints the trace as text.
func printTrace(out io.Writer, a *arch.Arch, tr emuTrace) error {
	var b strings.Builder
	name := tr.Syscall
	if name == "" {
		name = "(no name)"
	}
	fmt.Fprintf(&b, "syscall  %s, number %d (0x%x) on %s\n", name, tr.Nr, tr.Nr, a.Name)
	fmt.Fprintf(&b, "arch     %s (0x%08x)\n", a.AuditArchName(), tr.AuditArch)
	fmt.Fprintf(&b, "ip       0x%x\n", tr.IP)
	fmt.Fprintf(&b, "args    ")
	for _, v := range tr.Args {
		fmt.Fprintf(&b, " 0x%x", v)
	}
	b.WriteString("\n")
	for i, f := range tr.Filters {
		role := ""
		if len(tr.Filters) > 1 {
			switch i {
			case len(tr.Filters) - 1:
				role = ", newest: runs first"
			case 0:
				role = ", oldest: runs last"
			}
		}
		fmt.Fprintf(&b, "\nfilter %d: %s (%d instructions, %d run%s)\n", i, f.Name, f.Instructions, f.Executed, role)
		var a0, x0 uint32
		for k, s := range f.Steps {
			line := fmt.Sprintf(" %04d: %s", s.Index, s.Text)
			var notes []string
			if s.A != a0 {
				notes = append(notes, fmt.Sprintf("A = 0x%x", s.A))
			}
			if s.X != x0 {
				notes = append(notes, fmt.Sprintf("X = 0x%x", s.X))
			}
			if k+1 < len(f.Steps) && f.Steps[k+1].Index != s.Index+1 {
				notes = append(notes, fmt.Sprintf("-> %04d", f.Steps[k+1].Index))
			}
			if len(notes) > 0 {
				line = fmt.Sprintf("%-48s # %s", line, strings.Join(notes, ", "))
			}
			b.WriteString(line + "\n")
			a0, x0 = s.A, s.X
		}
		switch {
		case f.Error != "":
			fmt.Fprintf(&b, " stopped: %s\n", f.Error)
		case f.DividedByZero:
			fmt.Fprintf(&b, " division by X = 0: the filter returns 0, %s\n", actionText(a, f.Value))
		default:
			fmt.Fprintf(&b, " returns %s\n", actionText(a, f.Value))
		}
		if f.Refusal != "" {
			fmt.Fprintf(&b, " the kernel would refuse this filter: %s\n", f.Refusal)
		}
	}
	if tr.Action != "" {
		from := ""
		switch {
		case len(tr.Filters) > 1 && tr.DecidedBy >= 0:
			from = fmt.Sprintf(", from filter %d (the strictest answer)", tr.DecidedBy)
		case len(tr.Filters) > 1:
			from = " (every filter allows)"
		}
		fmt.Fprintf(&b, "\naction: %s%s\n", actionText(a, tr.Value), from)
		if tr.Cached {
			b.WriteString("cached: yes, the kernel allows this call from its constant-action bitmap without running the filters\n")
		} else {
			b.WriteString("cached: no, the kernel runs the filters for this call\n")
		}
	}
	if tr.Note != "" {
		fmt.Fprintf(&b, "note: %s\n", tr.Note)
	}
	_, err := io.WriteString(out, b.String())
	return err
}

// actionText is ActionString with the errno's name for ERRNO.
func actionText(a *arch.Arch, v uint32) string {
	s := bpf.ActionString(v)
	if v&bpf.RetActionFull == bpf.RetErrno {
		if n, ok := a.ErrnoName(int(v & bpf.RetData)); ok {
			s += " " + n
		}
	}
	return s
}
