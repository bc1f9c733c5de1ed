package seccomp_test

import (
	"errors"
	"os"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/syscage/syscage/bpf"
	"github.com/syscage/syscage/internal/testenv"
	"github.com/syscage/syscage/seccomp"
	"github.com/syscage/syscage/seccomp/seccomptest"
)

// needFilters skips (or fails under CI) when this machine cannot run the
// kernel tests: filter mode and root for PTRACE_SECCOMP_GET_FILTER.
func needFilters(t *testing.T) {
	t.Helper()
	if err := seccomp.ProbeFlags(0); err != nil {
		testenv.Unavailable(t, "seccomp filter mode unavailable: %v", err)
	}
	testenv.NeedRoot(t)
}

func TestDumpFilters(t *testing.T) {
	needFilters(t)
	cases := []struct {
		name       string
		filters    []seccomptest.Filter
		noNewPrivs bool
	}{
		{"one", []seccomptest.Filter{{Program: seccomptest.AllowAll(1)}}, true},
		{"two", []seccomptest.Filter{{Program: seccomptest.AllowAll(1)}, {Program: seccomptest.AllowAll(2)}}, true},
		{"three with LOG in the middle", []seccomptest.Filter{
			{Program: seccomptest.AllowAll(3)},
			{Program: seccomptest.AllowAll(1), Flags: seccomp.FlagLog},
			{Program: seccomptest.AllowAll(2)},
		}, true},
		// As root, CAP_SYS_ADMIN replaces no_new_privs.
		{"without no_new_privs", []seccomptest.Filter{{Program: seccomptest.AllowAll(4)}}, false},
		{"listener and single instruction", []seccomptest.Filter{
			{Program: bpf.Program{bpf.Ret(bpf.RetAllow)}},
			{Program: seccomptest.AllowAll(5), Flags: seccomp.FlagNewListener},
		}, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			child := seccomptest.Start(t, seccomptest.Spec{NoNewPrivs: c.noNewPrivs, Filters: c.filters})

			p, err := seccomp.ReadProcess(child.PID)
			if err != nil {
				t.Fatal(err)
			}
			if p.Mode != seccomp.ModeFilter || p.Filters != len(c.filters) || p.NoNewPrivs != c.noNewPrivs {
				t.Errorf("state: mode %v, %d filters, no_new_privs %v; want filter, %d, %v",
					p.Mode, p.Filters, p.NoNewPrivs, len(c.filters), c.noNewPrivs)
			}
			if len(p.Divergent) != 0 {
				t.Errorf("TSYNC child has divergent threads: %+v", p.Divergent)
			}

			got, err := seccomp.DumpFilters(child.PID)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(c.filters) {
				t.Fatalf("dumped %d filters, installed %d", len(got), len(c.filters))
			}
			for i, f := range got {
				if f.Index != i {
					t.Errorf("filter %d has index %d", i, f.Index)
				}
				if !slices.Equal(f.Program, c.filters[i].Program) {
					t.Errorf("filter %d (oldest first) differs from the one installed %d-th:\n got %v\nwant %v", i, i, f.Program, c.filters[i].Program)
				}
				// The kernel remembers LOG only.
				if want := c.filters[i].Flags & seccomp.FlagLog; f.Flags != want {
					t.Errorf("filter %d flags %v, want %v", i, f.Flags, want)
				}
			}

			// The child survived the attach and is still blocked, not
			// stopped: its state is unchanged and it can be dumped again.
			st, err := seccomp.ReadStatus(child.PID)
			if err != nil {
				t.Fatal(err)
			}
			if st.TracerPID != 0 {
				t.Errorf("still traced by %d after the dump", st.TracerPID)
			}
			if again, err := seccomp.DumpFilters(child.PID); err != nil || len(again) != len(got) {
				t.Errorf("second dump: %d filters, %v", len(again), err)
			}
		})
	}
}

func TestReadProcessDivergentThreads(t *testing.T) {
	needFilters(t)
	child := seccomptest.Start(t, seccomptest.Spec{
		NoNewPrivs:     true,
		MainThreadOnly: true,
		Filters:        []seccomptest.Filter{{Program: seccomptest.AllowAll(1)}, {Program: seccomptest.AllowAll(2)}},
	})
	p, err := seccomp.ReadProcess(child.PID)
	if err != nil {
		t.Fatal(err)
	}
	if p.Mode != seccomp.ModeFilter || p.Filters != 2 {
		t.Errorf("main thread: mode %v, %d filters; want filter, 2", p.Mode, p.Filters)
	}
	if p.Threads < 2 || len(p.Divergent) != p.Threads-1 {
		t.Fatalf("%d threads, %d divergent; want all but the main thread divergent: %+v", p.Threads, len(p.Divergent), p.Divergent)
	}
	for _, d := range p.Divergent {
		if d.Mode != seccomp.ModeDisabled || d.Filters != 0 || d.NoNewPrivs {
			t.Errorf("thread %d: %+v, want no seccomp and no no_new_privs", d.TID, d)
		}
	}
	// A thread of the runtime has no filters to dump.
	_, err = seccomp.DumpFilters(p.Divergent[0].TID)
	if !errors.Is(err, seccomp.ErrNoFilters) {
		t.Errorf("dump of an unfiltered thread: %v, want ErrNoFilters", err)
	}
}

func TestDumpFiltersErrors(t *testing.T) {
	needFilters(t)
	plain := seccomptest.Start(t, seccomptest.Spec{})
	strict := seccomptest.Start(t, seccomptest.Spec{Strict: true})
	gone := exitedPID(t)
	// A killed child that nobody has reaped yet stays a zombie, with its
	// seccomp lines still in /proc.
	zombie := seccomptest.Start(t, seccomptest.Spec{NoNewPrivs: true, Filters: []seccomptest.Filter{{Program: seccomptest.AllowAll(1)}}})
	if err := unix.Kill(zombie.PID, unix.SIGKILL); err != nil {
		t.Fatal(err)
	}
	for i := 0; ; i++ {
		st, err := seccomp.ReadStatus(zombie.PID)
		if err == nil && st.Exited() {
			break
		}
		if i == 200 {
			t.Fatalf("killed child not a zombie: %+v, %v", st, err)
		}
		time.Sleep(5 * time.Millisecond)
	}

	if st, err := seccomp.ReadStatus(strict.PID); err != nil || st.Mode != seccomp.ModeStrict {
		t.Fatalf("strict child: %+v, %v", st, err)
	}
	cases := []struct {
		name    string
		pid     int
		want    error
		message string
	}{
		{"no filters", plain.PID, seccomp.ErrNoFilters, "no seccomp filters"},
		{"strict mode", strict.PID, seccomp.ErrStrictMode, "strict mode"},
		{"no such process", gone, seccomp.ErrNoProcess, "no process with pid"},
		{"zombie", zombie.PID, seccomp.ErrNoProcess, "zombie"},
		{"pid zero", 0, seccomp.ErrInvalid, "positive"},
		{"negative pid", -5, seccomp.ErrInvalid, "positive"},
		{"this process", os.Getpid(), seccomp.ErrNoFilters, "no seccomp filters"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := seccomp.DumpFilters(c.pid)
			if !errors.Is(err, c.want) {
				t.Fatalf("got %v, want %v", err, c.want)
			}
			if !strings.Contains(err.Error(), c.message) {
				t.Errorf("message %q lacks %q", err, c.message)
			}
		})
	}
}

// TestDumpFiltersWithoutCapSysAdmin drops CAP_SYS_ADMIN from one thread's
// effective set (capabilities are per thread) and dumps from it. The
// goroutine ends locked, so the runtime discards the thread afterwards.
func TestDumpFiltersWithoutCapSysAdmin(t *testing.T) {
	needFilters(t)
	child := seccomptest.Start(t, seccomptest.Spec{NoNewPrivs: true, Filters: []seccomptest.Filter{{Program: seccomptest.AllowAll(1)}}})
	errc := make(chan error)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread dies with the goroutine
		if err := dropEffectiveCap(unix.CAP_SYS_ADMIN); err != nil {
			errc <- err
			return
		}
		_, err := seccomp.DumpFilters(child.PID)
		errc <- err
	}()
	err := <-errc
	if !errors.Is(err, seccomp.ErrPermission) {
		t.Fatalf("got %v, want ErrPermission", err)
	}
	for _, w := range []string{"CAP_SYS_ADMIN", "root"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("message %q does not mention %s", err, w)
		}
	}
}

// dropEffectiveCap removes a capability from the calling thread's
// effective set; it stays permitted, so nothing else is lost.
func dropEffectiveCap(c int) error {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return err
	}
	data[c/32].Effective &^= 1 << (c % 32)
	return unix.Capset(&hdr, &data[0])
}

// exitedPID returns the pid of a process that has exited and been reaped.
func exitedPID(t *testing.T) int {
	t.Helper()
	p, err := os.StartProcess("/bin/true", []string{"true"}, &os.ProcAttr{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Wait(); err != nil {
		t.Fatal(err)
	}
	return p.Pid
}

// waitState polls pid's state letter until it is one of want.
func waitState(t *testing.T, pid int, want string) {
	t.Helper()
	for i := 0; i < 400; i++ {
		if st, err := seccomp.ReadStatus(pid); err == nil && strings.Contains(want, st.State) {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	st, err := seccomp.ReadStatus(pid)
	t.Fatalf("pid %d: state %q (%v), want one of %q", pid, st.State, err, want)
}

// TestDumpFiltersStoppedProcess dumps a process stopped by SIGSTOP: the
// dump must work, and the process must still be stopped afterwards and
// resume on SIGCONT.
func TestDumpFiltersStoppedProcess(t *testing.T) {
	needFilters(t)
	child := seccomptest.Start(t, seccomptest.Spec{NoNewPrivs: true, Filters: []seccomptest.Filter{{Program: seccomptest.AllowAll(1)}}})
	if err := unix.Kill(child.PID, unix.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	waitState(t, child.PID, "T")
	got, err := seccomp.DumpFilters(child.PID)
	if err != nil || len(got) != 1 || !slices.Equal(got[0].Program, seccomptest.AllowAll(1)) {
		t.Fatalf("dump of a stopped process: %v, %v", got, err)
	}
	time.Sleep(20 * time.Millisecond)
	if st, err := seccomp.ReadStatus(child.PID); err != nil || st.State != "T" || st.TracerPID != 0 {
		t.Fatalf("after the dump: %+v, %v; want stopped and untraced", st, err)
	}
	if err := unix.Kill(child.PID, unix.SIGCONT); err != nil {
		t.Fatal(err)
	}
	waitState(t, child.PID, "SR")
}
