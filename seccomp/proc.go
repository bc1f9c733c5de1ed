package seccomp

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// Mode is a thread's seccomp mode (include/uapi/linux/seccomp.h:
// SECCOMP_MODE_*).
type Mode int

// The modes, and ModeUnknown when the kernel does not report one.
const (
	ModeUnknown  Mode = -1 // no "Seccomp:" line: kernel built without CONFIG_SECCOMP
	ModeDisabled Mode = 0  // no seccomp
	ModeStrict   Mode = 1  // strict mode (seccomp v1): read, write, _exit, sigreturn only
	ModeFilter   Mode = 2  // one or more BPF filters
	// ModeDead marks a thread that seccomp is killing: the kernel sets it
	// so that nothing runs unfiltered on the way out (kernel/seccomp.c:
	// SECCOMP_MODE_DEAD, Linux 5.16+). Seen on zombie threads.
	ModeDead Mode = 3
)

// String returns "disabled", "strict", "filter" or "unknown".
func (m Mode) String() string {
	switch m {
	case ModeDisabled:
		return "disabled"
	case ModeStrict:
		return "strict"
	case ModeFilter:
		return "filter"
	case ModeDead:
		return "dead"
	}
	return "unknown"
}

// MarshalText makes JSON show the mode's name.
func (m Mode) MarshalText() ([]byte, error) { return []byte(m.String()), nil }

// UnmarshalText reads what MarshalText writes.
func (m *Mode) UnmarshalText(b []byte) error {
	for v := ModeUnknown; v <= ModeDead; v++ {
		if v.String() == string(b) {
			*m = v
			return nil
		}
	}
	return kinded(ErrInvalid, "unknown seccomp mode %q: want disabled, strict, filter, dead or unknown", b)
}

// Status holds the fields of /proc/PID/status that matter for seccomp
// (fs/proc/array.c: proc_pid_status, task_seccomp).
type Status struct {
	Name       string // comm, as the kernel escapes it ("\n" and "\\")
	State      string // the state letter: R, S, D, T, t, Z, X, ...
	PID        int    // "Pid:", the thread id
	TGID       int    // "Tgid:", the process id
	PPID       int
	TracerPID  int // non-zero while a ptrace tracer is attached
	UID        int // real uid
	EUID       int // effective uid
	Threads    int
	NoNewPrivs bool
	Mode       Mode
	// Filters is the number of filters in the thread's chain, or -1
	// when the kernel does not say ("Seccomp_filters:" is Linux 5.9+).
	Filters int
	// CapEff is the effective capability set.
	CapEff uint64
	// SpeculationStoreBypass is the SSB mitigation state; installing a
	// filter without SPEC_ALLOW turns the mitigation on where the CPU
	// needs it ("thread force mitigated").
	SpeculationStoreBypass string
}

// ParseStatus parses the text of /proc/PID/status. Lines it does not need
// are skipped; a needed line with a malformed value is an error naming
// the line.
func ParseStatus(data []byte) (Status, error) {
	st := Status{Mode: ModeUnknown, Filters: -1, PID: -1, TGID: -1, PPID: -1, UID: -1, EUID: -1}
	for n, line := range bytes.Split(data, []byte("\n")) {
		key, value, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			continue
		}
		val := strings.TrimSpace(string(value))
		bad := func(want string) error {
			return fmt.Errorf("status line %d: %s: %q is not %s", n+1, key, val, want)
		}
		var err error
		switch string(key) {
		case "Name":
			// Keep the kernel's escaping: the name is printed, and an
			// unescaped newline would break every listing.
			st.Name = strings.TrimPrefix(string(value), "\t")
		case "State":
			// "S (sleeping)": keep the letter.
			st.State, _, _ = strings.Cut(val, " ")
		case "Pid":
			st.PID, err = atoiStatus(val, bad)
		case "Tgid":
			st.TGID, err = atoiStatus(val, bad)
		case "PPid":
			st.PPID, err = atoiStatus(val, bad)
		case "TracerPid":
			st.TracerPID, err = atoiStatus(val, bad)
		case "Threads":
			st.Threads, err = atoiStatus(val, bad)
		case "Uid":
			f := strings.Fields(val)
			if len(f) < 2 {
				return st, bad("four uids")
			}
			if st.UID, err = atoiStatus(f[0], bad); err == nil {
				st.EUID, err = atoiStatus(f[1], bad)
			}
		case "NoNewPrivs":
			switch val {
			case "0":
				st.NoNewPrivs = false
			case "1":
				st.NoNewPrivs = true
			default:
				return st, bad("0 or 1")
			}
		case "Seccomp":
			var m int
			m, err = atoiStatus(val, bad)
			if err == nil {
				if m > int(ModeDead) {
					return st, bad("a seccomp mode (0 to 3)")
				}
				st.Mode = Mode(m)
			}
		case "Seccomp_filters":
			st.Filters, err = atoiStatus(val, bad)
		case "CapEff":
			st.CapEff, err = strconv.ParseUint(val, 16, 64)
			if err != nil {
				return st, bad("a hexadecimal capability set")
			}
		case "Speculation_Store_Bypass":
			st.SpeculationStoreBypass = val
		}
		if err != nil {
			return st, err
		}
	}
	if st.Mode == ModeUnknown && st.Filters > 0 {
		return st, fmt.Errorf("status: Seccomp_filters is %d but there is no Seccomp line", st.Filters)
	}
	return st, nil
}

// atoiStatus parses a non-negative decimal field of the status file.
func atoiStatus(s string, bad func(string) error) (int, error) {
	v, err := strconv.Atoi(s)
	if err != nil || v < 0 {
		return 0, bad("a non-negative decimal number")
	}
	return v, nil
}

// capSysAdmin is CAP_SYS_ADMIN's bit (include/uapi/linux/capability.h).
const capSysAdmin = 21

// Exited reports whether the task has exited and waits to be reaped
// (zombie) or is being torn down: it runs no more syscalls and cannot be
// traced.
func (s Status) Exited() bool { return s.State == "Z" || s.State == "X" }

// HasCapSysAdmin reports whether the effective set holds CAP_SYS_ADMIN.
func (s Status) HasCapSysAdmin() bool { return s.CapEff&(1<<capSysAdmin) != 0 }

// ReadStatus reads and parses /proc/PID/status (pid may be a thread id).
func ReadStatus(pid int) (Status, error) {
	const op = "read the seccomp state"
	if pid <= 0 {
		return Status{}, &Error{Op: op, Err: kinded(ErrInvalid, "pid %d: process ids are positive", pid)}
	}
	return readStatusFile(filepath.Join(procRoot, strconv.Itoa(pid), "status"), op, pid)
}

func readStatusFile(path, op string, pid int) (Status, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		if isNotExist(err) {
			return Status{}, noProcess(op, pid)
		}
		return Status{}, &Error{Op: op, PID: pid, Err: err}
	}
	st, err := ParseStatus(data)
	if err != nil {
		return st, &Error{Op: op, PID: pid, Err: fmt.Errorf("%s: %w", path, err)}
	}
	return st, nil
}

// ThreadState is the seccomp state of one thread.
type ThreadState struct {
	TID        int  `json:"tid"`
	Mode       Mode `json:"mode"`
	Filters    int  `json:"filters"`
	NoNewPrivs bool `json:"no_new_privs"`
}

// Process is the seccomp state of a process, as /proc reports it for its
// main thread, with the threads that differ from it.
type Process struct {
	PID        int    `json:"pid"`
	Comm       string `json:"comm"`
	Exe        string `json:"exe,omitempty"`
	ExeError   string `json:"exe_error,omitempty"` // why Exe is empty (kernel thread, permission)
	UID        int    `json:"uid"`
	Mode       Mode   `json:"mode"`
	Filters    int    `json:"filters"` // -1: not reported (before Linux 5.9)
	NoNewPrivs bool   `json:"no_new_privs"`
	Threads    int    `json:"threads"`
	// Divergent lists the threads whose mode, filter count or
	// no_new_privs differ from the main thread's: seccomp state is per
	// thread, and a filter installed without TSYNC covers one thread only.
	Divergent []ThreadState `json:"divergent_threads,omitempty"`
	// SpeculationStoreBypass is the SSB mitigation state of the main
	// thread, which SPEC_ALLOW affects.
	SpeculationStoreBypass string `json:"speculation_store_bypass,omitempty"`
}

// ReadProcess reports the seccomp state of process pid.
func ReadProcess(pid int) (*Process, error) {
	st, err := ReadStatus(pid)
	if err != nil {
		return nil, err
	}
	p := &Process{
		PID: pid, Comm: st.Name, UID: st.UID, Mode: st.Mode, Filters: st.Filters,
		NoNewPrivs: st.NoNewPrivs, Threads: st.Threads, SpeculationStoreBypass: st.SpeculationStoreBypass,
	}
	dir := filepath.Join(procRoot, strconv.Itoa(pid))
	switch exe, err := os.Readlink(filepath.Join(dir, "exe")); {
	case err == nil:
		p.Exe = exe
	case isNotExist(err):
		p.ExeError = "no executable (kernel thread or exiting process)"
	case errors.Is(err, os.ErrPermission):
		p.ExeError = "permission denied (reading it needs ptrace access to the process)"
	default:
		p.ExeError = err.Error()
	}
	tasks, err := os.ReadDir(filepath.Join(dir, "task"))
	if err != nil {
		// The process exited between the two reads.
		if isNotExist(err) {
			return nil, noProcess("read the seccomp state", pid)
		}
		return p, nil
	}
	for _, t := range tasks {
		tid, err := strconv.Atoi(t.Name())
		if err != nil || tid == pid {
			continue
		}
		ts, err := readStatusFile(filepath.Join(dir, "task", t.Name(), "status"), "read the seccomp state", tid)
		if err != nil {
			continue // the thread exited meanwhile
		}
		if ts.Mode != st.Mode || ts.Filters != st.Filters || ts.NoNewPrivs != st.NoNewPrivs {
			p.Divergent = append(p.Divergent, ThreadState{TID: tid, Mode: ts.Mode, Filters: ts.Filters, NoNewPrivs: ts.NoNewPrivs})
		}
	}
	return p, nil
}

// ReadProcesses reports every process in /proc, by ascending pid,
// skipping those that exit while it reads.
func ReadProcesses() ([]Process, error) {
	entries, err := os.ReadDir(procRoot)
	if err != nil {
		return nil, &Error{Op: "list processes", Err: err}
	}
	var pids []int
	for _, e := range entries {
		if pid, err := strconv.Atoi(e.Name()); err == nil && pid > 0 {
			pids = append(pids, pid)
		}
	}
	sort.Ints(pids)
	out := make([]Process, 0, len(pids))
	for _, pid := range pids {
		p, err := ReadProcess(pid)
		if errors.Is(err, ErrNoProcess) {
			continue
		}
		if err != nil {
			return out, err
		}
		out = append(out, *p)
	}
	return out, nil
}
