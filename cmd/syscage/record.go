package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/sys/unix"

	"github.com/syscage/syscage/policy"
	"github.com/syscage/syscage/record"
)

func init() {
	// syscage record re-executes syscage as the recorder's init stage;
	// that process must do nothing else.
	record.Init()
	register("record", newRecordCmd)
}

type recordOptions struct {
	output, format, name, freqOut, from, backend, dir, defaultAction string
	noArgs, allowClone3, noImplied, quiet                            bool
}

func newRecordCmd() *cobra.Command {
	o := &recordOptions{}
	cmd := &cobra.Command{
		Use:   "record [options] -o PROFILE -- CMD [ARG...]",
		Short: "Learn a profile from a program's run: every syscall of every thread, child and exec",
		Long: `Run CMD and write the profile it needs: one rule per syscall it made, on
every architecture it entered (the i386 table through int 0x80 included),
with conditions on the scalar arguments that matter (socket families and
types, ioctl requests, prctl options, fcntl commands, clone flags, mmap
and mprotect protections, signals, ...) in symbolic constants, and a
comment with how often the run made each. Every thread, child and exec is
followed from the program's first instruction to the exit of its last
descendant, daemonised grandchildren included. The launcher's own execve
is added, so the profile starts CMD under 'syscage run --profile' as is.
clone3 fails with ENOSYS in the profile (its flags live in memory, out of
a filter's sight) and clone is allowed with the flags clone3 was given.

--from PROFILE extends an existing profile instead: what the run needed
and the profile denies is appended in one marked block at the end, and
the profile's comments, order and rules stay as they are. A call that one
of its own rules denies is reported, not added.

Mechanism (--backend): as root on x86_64, an eBPF program on the
sys_enter tracepoint counts the syscalls while ptrace follows the process
tree, so only execs, clone3 and foreign-architecture calls stop the
program ("ebpf"); otherwise every syscall stops in ptrace ("ptrace"),
which works for any user but slows syscall-heavy programs. "auto" tries
ebpf first.

Progress is shown on standard error when it is a terminal: each syscall
as it first appears, and a status line (counts, processes) rewritten in
place when the program's standard output goes elsewhere, so that the
program's own output on the terminal is never mangled. A summary follows
at the end. Ctrl-C stops the recording: the program gets two seconds to
exit, then its processes are killed, and the profile so far is written,
marked incomplete. When PROFILE cannot be written, the recording is
written to a file in $TMPDIR and the error says where.

Exit status: the program's own (128+N when it died of signal N; the
recording is written either way); 125 when syscage failed (including a
profile that could not be written where asked); 126 when CMD cannot be
executed; 127 when it does not exist; 2 for bad options.`,
		Example: `  syscage record -o app.policy -- ./app --serve
  syscage record -o app.policy --freq-out app.freq -- make test
  syscage record --from app.policy -o app.policy -- ./app --other-mode
  syscage record --format oci -o app.json -- ./app`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usageErr(errors.New("record: no command given: write it after --, e.g. syscage record -o app.policy -- ./app"))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error { return runRecord(cmd, o, args) },
	}
	f := cmd.Flags()
	f.SetInterspersed(false)
	f.StringVarP(&o.output, "output", "o", "", "write the profile to `PROFILE` (\"-\": standard output)")
	f.StringVar(&o.format, "format", "", "profile format: native, oci or spo (default: native, or the --from profile's)")
	f.StringVar(&o.name, "name", "", "with --format spo: the SeccompProfile's name (default: from PROFILE)")
	f.StringVar(&o.freqOut, "freq-out", "", "also write the syscall counts to `FILE`, for syscage compile --freq")
	f.StringVar(&o.from, "from", "", "extend this `PROFILE` with what the run needs, keeping everything in it")
	f.StringVar(&o.backend, "backend", "auto", "how to record: auto, ebpf (root, x86_64) or ptrace")
	f.StringVar(&o.dir, "dir", "", "working directory of the program")
	f.StringVar(&o.defaultAction, "default-action", "errno(EPERM)", "the profile's action for syscalls the program did not make")
	f.BoolVar(&o.noArgs, "no-args", false, "write rules without argument conditions")
	f.BoolVar(&o.allowClone3, "allow-clone3", false, "allow clone3 as recorded instead of failing it with ENOSYS")
	f.BoolVar(&o.noImplied, "only-seen", false, "write only what the run did (no futex operations implied by threads)")
	f.BoolVarP(&o.quiet, "quiet", "q", false, "no progress and no summary")
	return cmd
}

// recordFrom is a profile given with --from.
type recordFrom struct {
	format string         // native, oci or spo
	syntax *policy.Policy // as written (native: includes kept in place)
	eval   *policy.Policy // with includes read, for deciding
}

func runRecord(cmd *cobra.Command, o *recordOptions, args []string) error {
	errOut := cmd.ErrOrStderr()
	if o.output == "" {
		return usageErr(errors.New("record: -o PROFILE is required (the program's own output goes to standard output); -o - writes the profile there"))
	}
	backend, err := record.ParseBackend(o.backend)
	if err != nil {
		return usageErr(fmt.Errorf("--backend: %w", err))
	}
	def, err := parseActionFlag(o.defaultAction)
	if err != nil {
		return usageErr(fmt.Errorf("--default-action: %w", err))
	}
	var from *recordFrom
	if o.from != "" {
		if from, err = loadFrom(o.from); err != nil {
			return err
		}
	}
	format := o.format
	if format == "" {
		format = "native"
		if from != nil {
			format = from.format
		}
	}
	if format != "native" && format != "oci" && format != "spo" {
		return usageErr(fmt.Errorf("--format %q: use native, oci or spo", format))
	}
	popts := record.ProfileOptions{Default: def, NoArgs: o.noArgs, AllowClone3: o.allowClone3, NoImplied: o.noImplied, FreqFile: o.freqOut}
	if format != "native" {
		// The JSON formats cannot restrict a rule to some architectures.
		popts.Flat = true
	}
	if format == "spo" {
		// Kubernetes integers are int64: no 64-bit masks.
		popts.ExactFlags = true
	}

	ropts := record.Options{
		Path:           args[0],
		Args:           args,
		Dir:            o.dir,
		Backend:        backend,
		ForwardSignals: true,
	}
	if from != nil {
		ropts.Policy = from.eval
	}
	var prog *progressLine
	if !o.quiet && isTerminal(os.Stderr) {
		// A status line rewritten in place would mangle the program's
		// own output on the same terminal (its lines glued to the
		// status, a prompt erased): then only new syscalls are shown, as
		// whole lines.
		prog = &progressLine{w: os.Stderr, inPlace: !sameTerminal(os.Stdout, os.Stderr)}
		ropts.Progress = prog.update
	}

	// Ctrl-C (or SIGTERM) ends the recording: the program gets a grace
	// period, then the profile so far is written.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	defer signal.Stop(sigs)
	go func() {
		if _, ok := <-sigs; ok {
			cancel()
		}
	}()

	rec, err := record.Record(ctx, ropts)
	if err != nil {
		var se *record.StartError
		if errors.As(err, &se) {
			return &exitError{se.Code, err}
		}
		return &exitError{exitInternal, err}
	}

	var data []byte
	var ext *record.Extension
	if from != nil {
		ext, err = record.Extend(from.syntax, from.eval, rec, record.ExtendOptions{ProfileOptions: popts})
		if err == nil {
			data, err = encodeProfile(errOut, ext.Policy, format, o.name, o.output)
		}
	} else {
		var p *policy.Policy
		if p, err = record.Profile(rec, popts); err == nil {
			data, err = encodeProfile(errOut, p, format, o.name, o.output)
		}
	}
	if err != nil {
		// Keep what was recorded, in the native format, whatever failed.
		fallback := keepRecording(rec, popts)
		return &exitError{exitInternal, fmt.Errorf("cannot write the profile: %v; %s", err, fallback)}
	}

	var failures []string
	where, werr := writeRecorded(cmd.OutOrStdout(), o.output, data, ".policy")
	if werr != nil {
		failures = append(failures, werr.Error())
	}
	freqWhere := ""
	if o.freqOut != "" {
		var b strings.Builder
		record.WriteFrequencies(&b, rec)
		fw, err := writeRecorded(cmd.OutOrStdout(), o.freqOut, []byte(b.String()), ".freq")
		freqWhere = fw
		if err != nil {
			failures = append(failures, err.Error())
		}
	}
	if !o.quiet {
		printRecordSummary(errOut, rec, ext, where, freqWhere)
	}
	if len(failures) > 0 {
		return &exitError{exitInternal, errors.New(strings.Join(failures, "; "))}
	}
	return silentExit(rec.Exit.Code)
}

// parseActionFlag reads an action in the native syntax.
func parseActionFlag(s string) (policy.Action, error) {
	p, err := policy.Parse("--default-action", []byte("default "+s+"\n"), policy.ParseOptions{})
	if err != nil {
		return policy.Action{}, fmt.Errorf("%q is not an action (allow, log, errno(EPERM), kill_process, ...)", s)
	}
	return p.Default, nil
}

// loadFrom reads the --from profile twice: as written, to extend it, and
// with its includes, to decide what it allows.
func loadFrom(name string) (*recordFrom, error) {
	src, err := os.ReadFile(name)
	if err != nil {
		return nil, usageErr(fmt.Errorf("--from: %w", err))
	}
	f := &recordFrom{format: policy.SniffFormat(src)}
	if f.format == "native" {
		if f.syntax, err = policy.Parse(name, src, policy.ParseOptions{SyntaxOnly: true}); err != nil {
			return nil, usageErr(err)
		}
		if f.eval, err = policy.Parse(name, src, policy.ParseOptions{}); err != nil {
			return nil, usageErr(err)
		}
		return f, nil
	}
	if f.eval, err = policy.ParseAny(name, src, policy.ParseOptions{}); err != nil {
		return nil, usageErr(err)
	}
	f.syntax = f.eval
	return f, nil
}

// encodeProfile renders a profile in the chosen format.
func encodeProfile(errOut io.Writer, p *policy.Policy, format, name, output string) ([]byte, error) {
	switch format {
	case "oci":
		data, notes, err := policy.ExportOCI(p)
		for _, n := range notes {
			fmt.Fprintln(errOut, "syscage: note:", n)
		}
		return data, err
	case "spo":
		if name == "" {
			base := strings.TrimSuffix(filepath.Base(output), filepath.Ext(output))
			name = strings.Trim(k8sName(strings.ToLower(base)), "-.")
			if output == "-" || name == "" {
				name = "recorded"
			}
		}
		return policy.FormatSPO(p, name)
	}
	return policy.Format(p), nil
}

// writeRecorded writes data to name ("-": standard output), atomically. When
// that fails, it writes a copy in $TMPDIR and the error names both.
func writeRecorded(stdout io.Writer, name string, data []byte, ext string) (string, error) {
	if name == "-" {
		_, err := stdout.Write(data)
		return "standard output", err
	}
	err := writeNew(name, data)
	if err == nil {
		return name, nil
	}
	tmp, terr := os.CreateTemp("", "syscage-record-*"+ext)
	if terr == nil {
		_, terr = tmp.Write(data)
		if cerr := tmp.Close(); terr == nil {
			terr = cerr
		}
	}
	if terr != nil {
		// Nowhere to keep it: standard output is the last resort.
		stdout.Write(data)
		return "standard output", fmt.Errorf("cannot write %s: %v; nor a copy in %s (%v): it went to standard output", name, err, os.TempDir(), terr)
	}
	return tmp.Name(), fmt.Errorf("cannot write %s: %v; the recording is kept in %s", name, err, tmp.Name())
}

// writeNew writes a profile to name. A new or regular file is written
// through a temporary one beside it and renamed over it, so that a profile
// being replaced (--from with the same -o) is never half written; a
// symbolic link is followed and its target replaced. Anything else that
// exists (a device such as /dev/null, a FIFO) is written in place: a
// rename would replace the device node itself with a regular file.
func writeNew(name string, data []byte) error {
	if target, err := filepath.EvalSymlinks(name); err == nil {
		name = target
	} else if link, lerr := os.Readlink(name); lerr == nil {
		// A link to a file yet to be written: write that file.
		if !filepath.IsAbs(link) {
			link = filepath.Join(filepath.Dir(name), link)
		}
		name = link
	}
	st, err := os.Stat(name)
	switch {
	case err == nil && st.IsDir():
		return fmt.Errorf("it is a directory; name a file in it, e.g. %s", filepath.Join(name, "app.policy"))
	case err == nil && !st.Mode().IsRegular():
		f, err := os.OpenFile(name, os.O_WRONLY|os.O_TRUNC, 0)
		if err != nil {
			return plainPathError(err)
		}
		_, err = f.Write(data)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		return plainPathError(err)
	case err != nil && !errors.Is(err, os.ErrNotExist):
		return plainPathError(err)
	}
	dir := filepath.Dir(name)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(name)+".tmp-*")
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("directory %s does not exist", dir)
		}
		return plainPathError(err)
	}
	_, err = tmp.Write(data)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	mode := os.FileMode(0o644)
	if st != nil {
		mode = st.Mode().Perm()
	}
	if err == nil {
		err = os.Chmod(tmp.Name(), mode)
	}
	if err == nil {
		err = os.Rename(tmp.Name(), name)
	}
	if err != nil {
		os.Remove(tmp.Name())
	}
	return plainPathError(err)
}

// plainPathError drops the path and operation of an *os.PathError (the
// caller names the file the user gave, not the temporary one beside it)
// and keeps the reason: "permission denied", "read-only file system".
func plainPathError(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	var le *os.LinkError
	if errors.As(err, &le) {
		return le.Err
	}
	return err
}

// keepRecording writes the recording as a native profile in $TMPDIR and
// says where, for failures before the profile could be rendered.
func keepRecording(rec *record.Recording, o record.ProfileOptions) string {
	o.Flat = false
	p, err := record.Profile(rec, o)
	if err != nil {
		return "the recording could not be rendered either: " + err.Error()
	}
	tmp, err := os.CreateTemp("", "syscage-record-*.policy")
	if err != nil {
		return "and no copy could be kept in " + os.TempDir() + ": " + err.Error()
	}
	defer tmp.Close()
	if _, err := tmp.Write(policy.Format(p)); err != nil {
		return "and no copy could be kept in " + tmp.Name() + ": " + err.Error()
	}
	return "the recording is kept, as a native profile, in " + tmp.Name()
}

// printRecordSummary says what was recorded and written.
func printRecordSummary(w io.Writer, rec *record.Recording, ext *record.Extension, where, freqWhere string) {
	foreign := 0
	arches := rec.Arches()
	for _, s := range rec.Syscalls {
		if len(arches) > 0 && s.Arch != arches[0] {
			foreign++
		}
	}
	distinct := fmt.Sprintf("%d distinct", len(rec.Syscalls))
	if foreign > 0 {
		distinct += fmt.Sprintf(", %d of them on %s", foreign, strings.Join(arches[1:], " and "))
	}
	ended := "ended with " + rec.Exit.String()
	if rec.Exit.Signal != 0 {
		ended = "was " + rec.Exit.String() + "; what it did until then is recorded"
	}
	fmt.Fprintf(w, "syscage: recorded %d syscalls (%s) in %s and %s, %s, %s backend; the program %s.\n",
		rec.Total(), distinct, counted(rec.Processes, "process", "processes"), counted(rec.Threads, "thread", "threads"),
		rec.End.Sub(rec.Start).Round(time.Millisecond), rec.Backend, ended)
	if rec.Interrupted {
		fmt.Fprintln(w, "syscage: the recording was interrupted: the profile is marked incomplete.")
	}
	for _, n := range rec.Notes {
		fmt.Fprintln(w, "syscage: note:", n)
	}
	if ext != nil {
		var names []string
		for _, r := range ext.Added {
			for _, t := range r.Syscalls {
				if s := t.String(); !slices.Contains(names, s) {
					names = append(names, s)
				}
			}
		}
		if len(names) == 0 {
			fmt.Fprintf(w, "syscage: the profile already allows everything the run did; wrote %s.\n", where)
		} else {
			fmt.Fprintf(w, "syscage: added %s (%s) at the end of %s.\n", counted(len(ext.Added), "rule", "rules"), strings.Join(names, ", "), where)
		}
		for _, a := range ext.AddedArches {
			fmt.Fprintf(w, "syscage: note: the program entered %s, which the profile did not accept: added to its arch line, so its rules apply there too.\n", a)
		}
		for _, r := range ext.Excepted {
			fmt.Fprintf(w, "syscage: note: the rule at %s cannot apply on %s (%s): it now excludes it (except arch).\n",
				r.Pos, strings.Join(r.Except.Arches, ", "), policy.FormatRule(r))
		}
		for _, ov := range ext.Overruled {
			fmt.Fprintln(w, "syscage: note:", ov)
		}
	} else {
		fmt.Fprintf(w, "syscage: wrote the profile to %s.\n", where)
	}
	if freqWhere != "" {
		fmt.Fprintf(w, "syscage: wrote the frequency profile %s (syscage compile --freq).\n", freqWhere)
	}
}

// progressLine shows a recording's progress on a terminal: the syscalls
// as they first appear and, when the program's output goes elsewhere
// (inPlace), a status line rewritten in place below them.
type progressLine struct {
	mu      sync.Mutex
	w       io.Writer
	inPlace bool
}

func (p *progressLine) update(pr record.Progress) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.inPlace {
		if len(pr.New) > 0 {
			io.WriteString(p.w, wrapList("syscage: new: ", pr.New, 78))
		}
		return
	}
	var b strings.Builder
	b.WriteString("\r\033[K")
	if len(pr.New) > 0 {
		b.WriteString(wrapList("syscage: new: ", pr.New, 78))
	}
	if !pr.Done {
		fmt.Fprintf(&b, "syscage: recording %s: %d syscalls, %d distinct, %d processes",
			pr.Elapsed.Round(100*time.Millisecond), pr.Calls, pr.Distinct, pr.Processes)
	}
	io.WriteString(p.w, b.String())
}

// wrapList writes items after prefix, wrapped at width.
func wrapList(prefix string, items []string, width int) string {
	var b strings.Builder
	line := prefix
	for i, it := range items {
		sep := ""
		if i < len(items)-1 {
			sep = ","
		}
		if len(line)+len(it)+1 > width && line != prefix {
			b.WriteString(strings.TrimRight(line, " ") + "\n")
			line = strings.Repeat(" ", len(prefix))
		}
		line += it + sep + " "
	}
	b.WriteString(strings.TrimRight(line, " ") + "\n")
	return b.String()
}

// counted writes n with the singular or plural noun: "1 process", "2 processes".
func counted(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// sameTerminal reports whether a is a terminal and the same one as b.
func sameTerminal(a, b *os.File) bool {
	if !isTerminal(a) || !isTerminal(b) {
		return false
	}
	var sa, sb unix.Stat_t
	if unix.Fstat(int(a.Fd()), &sa) != nil || unix.Fstat(int(b.Fd()), &sb) != nil {
		return false
	}
	return sa.Rdev == sb.Rdev
}
