package record

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/syscage/syscage/audit"
	"github.com/syscage/syscage/bpf"
	"github.com/syscage/syscage/internal/procfs"
	"github.com/syscage/syscage/seccomp"
)

// ComplainWatch attributes the kernel's seccomp audit records of a run to
// the program's process tree. Open it before the program starts, Track
// the program's process id, and Stop it after the program ended.
//
// Records come from /dev/kmsg (where the kernel prints audit messages when
// no audit daemon takes them). The process tree is followed with the
// kernel's process events connector (root), which reports every fork even
// of processes that exit at once; without it, /proc is polled, which can
// miss short-lived processes (the report says so).
type ComplainWatch struct {
	kmsg  *audit.Reader
	procs *procWatch

	mu       sync.Mutex
	root     int
	parent   map[int]int // process -> parent process, from fork events
	threadOf map[int]int // thread -> process
	records  []*audit.Record
	lost     uint64
	reasons  []string
	notes    []string
	last     time.Time // when the last record arrived

	stop chan struct{}
	done chan struct{}
}

// WatchComplaints starts collecting. It fails when the kernel log cannot
// be read (root or CAP_SYSLOG is needed): complain mode then cannot
// report anything.
func WatchComplaints() (*ComplainWatch, error) {
	k, err := audit.OpenKmsg(true)
	if err != nil {
		return nil, err
	}
	w := &ComplainWatch{kmsg: k, parent: map[int]int{}, threadOf: map[int]int{}, stop: make(chan struct{}), done: make(chan struct{})}
	if logged, err := seccomp.ReadActionsLogged(); err == nil && !slices.Contains(logged, "log") {
		w.notes = append(w.notes, "the kernel does not log the log action (/proc/sys/kernel/seccomp/actions_logged lacks \"log\"): no call can be reported; add it with syscage kernel")
	}
	if pw, err := openProcWatch(); err == nil {
		w.procs = pw
	} else {
		w.notes = append(w.notes, "processes are found by polling /proc ("+err.Error()+"): calls of processes that lived less than a few milliseconds may be missed")
	}
	go w.loop()
	return w, nil
}

// Track names the process whose tree the records are attributed to.
func (w *ComplainWatch) Track(pid int) {
	w.mu.Lock()
	w.root = pid
	w.mu.Unlock()
}

func (w *ComplainWatch) loop() {
	defer close(w.done)
	for {
		select {
		case <-w.stop:
			return
		default:
		}
		fds := []unix.PollFd{{Fd: int32(w.kmsg.Fd()), Events: unix.POLLIN}}
		if w.procs != nil {
			fds = append(fds, unix.PollFd{Fd: int32(w.procs.fd), Events: unix.POLLIN})
		}
		unix.Poll(fds, 20)
		if w.procs != nil {
			evs, err := w.procs.read(0)
			w.mu.Lock()
			if errors.Is(err, errEventsLost) {
				w.notes = appendOnce(w.notes, "the kernel dropped process events: calls of some processes may be missing")
			}
			for _, ev := range evs {
				if ev.What == procEventFork {
					if ev.ChildPid == ev.ChildTgid {
						w.parent[ev.ChildTgid] = ev.ParentTgid
					} else {
						w.threadOf[ev.ChildPid] = ev.ChildTgid
					}
				}
			}
			w.mu.Unlock()
		} else {
			w.pollProc()
		}
		w.drainKmsg()
	}
}

func (w *ComplainWatch) drainKmsg() {
	for {
		it, err := w.kmsg.Next()
		if err != nil {
			if !errors.Is(err, audit.ErrNoMore) {
				w.mu.Lock()
				w.notes = appendOnce(w.notes, err.Error())
				w.mu.Unlock()
			}
			return
		}
		w.mu.Lock()
		if it.Lost > 0 || it.LostReason != "" {
			w.lost += it.Lost
			if it.LostReason != "" {
				w.reasons = appendOnce(w.reasons, it.LostReason)
			}
		}
		if it.Record != nil {
			w.records = append(w.records, it.Record)
			w.last = time.Now()
		}
		w.mu.Unlock()
	}
}

// pollProc learns the parent of every process from /proc.
func (w *ComplainWatch) pollProc() {
	d, err := os.ReadDir("/proc")
	if err != nil {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, e := range d {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if _, ok := w.parent[pid]; ok {
			continue
		}
		if ppid, err := procfs.PPid(pid); err == nil {
			w.parent[pid] = ppid
		}
	}
}

// Stop waits for the records of the run's last calls (the kernel prints
// them a little after the call: at most settle after the last one, and
// no longer than two seconds), stops collecting and returns the report.
func (w *ComplainWatch) Stop() *ComplainReport {
	const settle = 300 * time.Millisecond
	deadline := time.Now().Add(2 * time.Second)
	start := time.Now()
	for time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
		w.mu.Lock()
		quiet := time.Since(start) >= settle && (w.last.IsZero() || time.Since(w.last) >= settle)
		w.mu.Unlock()
		if quiet {
			break
		}
	}
	close(w.stop)
	<-w.done
	w.drainKmsg()
	w.kmsg.Close()
	w.procs.close()
	return w.report()
}

// inTree reports whether pid (a process or thread id) descends from root.
func (w *ComplainWatch) inTree(pid int) bool {
	if t, ok := w.threadOf[pid]; ok {
		pid = t
	}
	for range 4096 {
		if pid == w.root {
			return true
		}
		p, ok := w.parent[pid]
		if !ok || p <= 1 || p == pid {
			return false
		}
		pid = p
	}
	return false
}

func (w *ComplainWatch) report() *ComplainReport {
	w.mu.Lock()
	defer w.mu.Unlock()
	rep := &ComplainReport{Lost: w.lost, LostReasons: w.reasons, Notes: w.notes, Root: w.root}
	if w.procs != nil {
		rep.Attribution = "process events"
	} else {
		rep.Attribution = "/proc polling"
	}
	type key struct {
		arch, name string
		nr         int64
		action     string
	}
	byKey := map[key]*Denial{}
	for _, r := range w.records {
		if !w.inTree(r.PID) {
			rep.Foreign++
			continue
		}
		rep.Records++
		k := key{audit.ArchName(r.AuditArch, r.Syscall), audit.SyscallName(r.AuditArch, r.Syscall), r.Syscall, audit.ActionName(r.Code)}
		d := byKey[k]
		if d == nil {
			d = &Denial{Arch: k.arch, Syscall: k.name, Nr: k.nr, Action: k.action, Logged: bpf.ActionOf(r.Code) == bpf.RetLog}
			byKey[k] = d
			rep.Denied = append(rep.Denied, d)
		}
		d.Count++
		if !slices.Contains(d.Pids, r.PID) {
			d.Pids = append(d.Pids, r.PID)
		}
		if name := cmp.Or(r.Exe, r.Comm); name != "" && !slices.Contains(d.Programs, name) {
			d.Programs = append(d.Programs, name)
		}
	}
	slices.SortFunc(rep.Denied, func(a, b *Denial) int {
		return cmp.Or(cmp.Compare(a.Arch, b.Arch), cmp.Compare(a.Syscall, b.Syscall), cmp.Compare(a.Action, b.Action))
	})
	return rep
}

// ComplainReport is what a run in complain mode would have had denied.
type ComplainReport struct {
	// Root is the process whose tree was followed.
	Root int
	// Denied lists the calls, one entry per arch, syscall and action.
	Denied []*Denial
	// Records is the number of audit records of the tree; Foreign the
	// number of seccomp records of other processes, left out.
	Records, Foreign int
	// Lost is how many kernel messages were dropped while the run went
	// on (rate limiting, an overwritten log): calls may be missing from
	// Denied. LostReasons say which drops happened.
	Lost        uint64
	LostReasons []string
	// Attribution says how the process tree was followed.
	Attribution string
	Notes       []string
}

// Denial is one syscall the profile would have denied.
type Denial struct {
	Arch, Syscall string
	Nr            int64
	// Action is what the filter returned ("log" in complain mode).
	Action string
	// Logged is set when the action let the call run (log): the profile
	// in complain mode turned a deny into it.
	Logged bool
	Count  int
	Pids   []int
	// Programs are the executables (or command names) that made it.
	Programs []string
}

// Complete reports whether nothing was lost: Denied then lists every call
// the profile would have denied.
func (r *ComplainReport) Complete() bool { return r.Lost == 0 && len(r.LostReasons) == 0 }

// Write prints the report for a person.
func (r *ComplainReport) Write(w io.Writer) error {
	var b strings.Builder
	if len(r.Denied) == 0 {
		b.WriteString("complain mode: the profile denied nothing the program did.\n")
	} else {
		calls := 0
		for _, d := range r.Denied {
			calls += d.Count
		}
		fmt.Fprintf(&b, "complain mode: the profile would have denied %s (%s):\n", counted(len(r.Denied), "syscall", "syscalls"), countText(uint64(calls)))
		for _, d := range r.Denied {
			fmt.Fprintf(&b, "  %-8s %-20s %-10s %s", d.Arch, d.Syscall, countText(uint64(d.Count)), "by "+strings.Join(d.Programs, ", "))
			if !d.Logged {
				fmt.Fprintf(&b, " (action %s)", d.Action)
			}
			b.WriteByte('\n')
		}
		b.WriteString("  To add them to the profile: syscage record --from PROFILE -o PROFILE -- COMMAND\n")
	}
	if r.Lost > 0 || len(r.LostReasons) > 0 {
		fmt.Fprintf(&b, "WARNING: the kernel dropped %d log messages during the run (%s): the list may be incomplete; syscage record --from sees every call.\n",
			r.Lost, strings.Join(r.LostReasons, "; "))
	} else {
		b.WriteString("  No audit record was lost.\n")
	}
	for _, n := range r.Notes {
		fmt.Fprintf(&b, "  Note: %s.\n", strings.TrimSuffix(n, "."))
	}
	_, err := io.WriteString(w, b.String())
	return err
}
