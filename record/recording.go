package record

import (
	"cmp"
	"fmt"
	"slices"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/syscage/syscage/arch"
)

// Recording is what one or more runs of a program did.
type Recording struct {
	// Command is the program and its arguments as started.
	Command []string `json:"command"`
	// Backend is the mechanism that recorded: "ptrace" or "ebpf".
	Backend string `json:"backend"`
	// Start and End bound the run.
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
	// Syscalls are the distinct syscalls seen, sorted by arch (the
	// native one first) and name.
	Syscalls []*Syscall `json:"syscalls"`
	// Processes and Threads count the tasks followed, the first included.
	Processes int `json:"processes"`
	Threads   int `json:"threads"`
	// Execs are the programs executed, in order, with repeats removed.
	Execs []string `json:"execs,omitempty"`
	// Exit is how the program (the first process) ended.
	Exit Exit `json:"exit"`
	// Interrupted is set when the recording was stopped before the last
	// descendant exited (Ctrl-C): the recording is incomplete.
	Interrupted bool `json:"interrupted,omitempty"`
	// Notes say what a reader of the recording should know: a fallback
	// of the backend, arguments that could not be read, lost counts.
	Notes []string `json:"notes,omitempty"`
}

// Exit is how a program ended.
type Exit struct {
	// Code is the exit status, or 128+N when it died of signal N (as
	// syscage run reports it).
	Code int `json:"code"`
	// Signal is the signal that killed it, 0 if it exited.
	Signal syscall.Signal `json:"signal,omitempty"`
	// CoreDumped is set when the kernel dumped core.
	CoreDumped bool `json:"core_dumped,omitempty"`
}

// String says how the program ended, in words: "exit status 3",
// "killed by signal 11 (SIGSEGV: segmentation fault)".
func (e Exit) String() string {
	if e.Signal != 0 {
		s := fmt.Sprintf("killed by signal %d (%s)", int(e.Signal), signalText(e.Signal))
		if e.CoreDumped {
			s += ", core dumped"
		}
		return s
	}
	return fmt.Sprintf("exit status %d", e.Code)
}

// signalText names a signal as "SIGSEGV: segmentation fault", or by its
// description alone when it has no name (a real-time signal).
func signalText(sig syscall.Signal) string {
	if name := unix.SignalName(sig); name != "" {
		return name + ": " + sig.String()
	}
	return sig.String()
}

// Syscall is one syscall on one architecture, with how often it was made.
type Syscall struct {
	// Arch is the canonical architecture name ("x86_64", "i386").
	Arch string `json:"arch"`
	// Name is the syscall's name, or "" for a number the tables do not
	// know.
	Name string `json:"name,omitempty"`
	// Nr is the number as a seccomp filter sees it (x32 bit included).
	Nr int `json:"nr"`
	// Count is how many times it was entered.
	Count uint64 `json:"count"`
	// Args are the distinct values of the arguments that were captured
	// (see CapturedArgs), with how often each occurred. Empty when no
	// argument of the syscall is captured.
	Args []ArgSample `json:"args,omitempty"`
}

// String names the syscall as "name" or "arch:name".
func (s *Syscall) String() string {
	n := s.Name
	if n == "" {
		n = fmt.Sprint(s.Nr)
	}
	return s.Arch + ":" + n
}

// ArgSample is one combination of captured argument values. Only the
// arguments in Mask carry values; the others are zero.
type ArgSample struct {
	// Mask has bit i set when argument i was captured.
	Mask uint8 `json:"mask"`
	// Values are the arguments; for int-typed arguments only the low 32
	// bits, which are all the kernel reads.
	Values [6]uint64 `json:"values"`
	// Count is how often the combination occurred.
	Count uint64 `json:"count"`
	// FromMemory is set for values read from the program's memory rather
	// than registers (clone3's flags); a filter cannot check them.
	FromMemory bool `json:"from_memory,omitempty"`
	// Implied is set for a combination the run did not make but another
	// run would need (Count is 0); see ProfileOptions.NoImplied.
	Implied bool `json:"implied,omitempty"`
}

// Total returns the number of syscalls recorded.
func (r *Recording) Total() uint64 {
	var n uint64
	for _, s := range r.Syscalls {
		n += s.Count
	}
	return n
}

// Arches returns the architectures the program entered, native first.
func (r *Recording) Arches() []string {
	var out []string
	for _, s := range r.Syscalls {
		if !slices.Contains(out, s.Arch) {
			out = append(out, s.Arch)
		}
	}
	return sortArches(out)
}

// Lookup returns the entry for a syscall by arch and name, or nil.
func (r *Recording) Lookup(archName, name string) *Syscall {
	for _, s := range r.Syscalls {
		if s.Arch == archName && s.Name == name {
			return s
		}
	}
	return nil
}

// sortArches orders arch names native first, then as arch.All lists them.
func sortArches(names []string) []string {
	rank := map[string]int{}
	if n := arch.Native(); n != nil {
		rank[n.Name] = -1
	}
	for i, a := range arch.All() {
		if _, ok := rank[a.Name]; !ok {
			rank[a.Name] = i
		}
	}
	slices.SortFunc(names, func(a, b string) int {
		ra, oka := rank[a]
		rb, okb := rank[b]
		if oka && okb && ra != rb {
			return cmp.Compare(ra, rb)
		}
		return cmp.Compare(a, b)
	})
	return names
}

// Merge returns the union of recordings: counts add up, argument samples
// are joined, notes are kept; Command, Backend and Exit come from the
// first, the time span covers all. Nil recordings are skipped.
func Merge(recs ...*Recording) *Recording {
	c := newCollector()
	out := &Recording{}
	first := true
	for _, r := range recs {
		if r == nil {
			continue
		}
		if first {
			out.Command, out.Backend, out.Exit, out.Start, out.End = r.Command, r.Backend, r.Exit, r.Start, r.End
			first = false
		}
		if !r.Start.IsZero() && (out.Start.IsZero() || r.Start.Before(out.Start)) {
			out.Start = r.Start
		}
		if r.End.After(out.End) {
			out.End = r.End
		}
		out.Processes += r.Processes
		out.Threads += r.Threads
		out.Interrupted = out.Interrupted || r.Interrupted
		for _, e := range r.Execs {
			if !slices.Contains(out.Execs, e) {
				out.Execs = append(out.Execs, e)
			}
		}
		for _, n := range r.Notes {
			if !slices.Contains(out.Notes, n) {
				out.Notes = append(out.Notes, n)
			}
		}
		for _, s := range r.Syscalls {
			c.addSyscall(s)
		}
	}
	out.Syscalls = c.syscalls()
	return out
}
