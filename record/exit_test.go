package record

import (
	"context"
	"errors"
	"os"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/syscage/syscage/arch"
)

// TestRecordExit: the recording says how the program ended, with either
// backend, and a program that cannot start is a StartError with the exit
// code syscage run uses.
func TestRecordExit(t *testing.T) {
	cases := []struct {
		name   string
		argv   []string
		code   int
		signal syscall.Signal
	}{
		{"success", []string{"/bin/sh", "-c", "true"}, 0, 0},
		{"status", []string{"/bin/sh", "-c", "exit 3"}, 3, 0},
		{"crash", []string{"/bin/sh", "-c", "kill -SEGV $$"}, 128 + 11, syscall.SIGSEGV},
		{"killed", []string{"/bin/sh", "-c", "kill -KILL $$"}, 128 + 9, syscall.SIGKILL},
	}
	for _, b := range []Backend{BackendPtrace, BackendEBPF} {
		for _, c := range cases {
			t.Run(b.String()+"/"+c.name, func(t *testing.T) {
				if b == BackendEBPF {
					needEBPF(t)
				}
				rec := recordIt(t, b, nil, c.argv...)
				if rec.Exit.Code != c.code || rec.Exit.Signal != c.signal {
					t.Errorf("exit %+v, want code %d signal %d", rec.Exit, c.code, c.signal)
				}
				if rec.Lookup(nativeName(), "execve") == nil || rec.Lookup(nativeName(), "exit_group") == nil && c.signal == 0 {
					t.Errorf("the recording lacks the program's execve or exit_group: %v", rec.Syscalls)
				}
			})
		}
	}
	t.Run("not found", func(t *testing.T) {
		_, err := Record(context.Background(), Options{Path: "syscage-no-such-program"})
		var se *StartError
		if !errors.As(err, &se) || se.Code != ExitNotFound {
			t.Errorf("error %v, want a StartError with code %d", err, ExitNotFound)
		}
	})
	t.Run("not executable", func(t *testing.T) {
		_, err := Record(context.Background(), Options{Path: "/etc/hostname"})
		var se *StartError
		if !errors.As(err, &se) || se.Code != ExitCannotExecute {
			t.Errorf("error %v, want a StartError with code %d", err, ExitCannotExecute)
		}
	})
}

func nativeName() string { return arch.Native().Name }

// TestRecordJobControl: a traced process stopped by SIGSTOP stays stopped
// until SIGCONT, as without the recorder, and the signals are recorded as
// kill's arguments.
func TestRecordJobControl(t *testing.T) {
	for _, b := range []Backend{BackendPtrace, BackendEBPF} {
		t.Run(b.String(), func(t *testing.T) {
			if b == BackendEBPF {
				needEBPF(t)
			}
			out, err := os.CreateTemp(t.TempDir(), "out")
			if err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			rec := recordIt(t, b, out, "/bin/sh", "-c", "sh -c 'kill -STOP $$; echo resumed' & pid=$!; sleep 0.2; kill -CONT $pid; wait $pid; echo status $?")
			if d := time.Since(start); d < 200*time.Millisecond {
				t.Errorf("the run took %v: the stopped child did not wait for SIGCONT", d)
			}
			text, _ := os.ReadFile(out.Name())
			if string(text) != "resumed\nstatus 0\n" || rec.Exit.Code != 0 {
				t.Errorf("output %q, exit %v", text, rec.Exit)
			}
			kill := rec.Lookup(nativeName(), "kill")
			if kill == nil {
				t.Fatal("kill not recorded")
			}
			var sigs []uint64
			for _, s := range kill.Args {
				sigs = append(sigs, s.Values[1])
			}
			slices.Sort(sigs)
			if !slices.Equal(sigs, []uint64{uint64(syscall.SIGCONT), uint64(syscall.SIGSTOP)}) {
				t.Errorf("kill's signals %v, want SIGCONT and SIGSTOP", sigs)
			}
		})
	}
}

// TestMerge adds recordings up.
func TestMerge(t *testing.T) {
	needX86(t)
	a := syntheticRecording(t, []string{"read", "read", "write"}, "AF_UNIX")
	b := syntheticRecording(t, []string{"read", "i386:getpid"}, "AF_UNIX", "AF_INET")
	a.Processes, b.Processes = 1, 2
	b.Interrupted = true
	m := Merge(a, nil, b)
	if got := m.Lookup("x86_64", "read").Count; got != 3 {
		t.Errorf("read: %d calls, want 3", got)
	}
	if m.Lookup("i386", "getpid") == nil || m.Processes != 3 || !m.Interrupted {
		t.Errorf("merged: %+v", m)
	}
	sock := m.Lookup("x86_64", "socket")
	if sock.Count != 6 || len(sock.Args) != 2 {
		t.Errorf("socket: %d calls, samples %+v; want 6 calls in 2 samples", sock.Count, sock.Args)
	}
	if m.Total() != a.Total()+b.Total() {
		t.Errorf("total %d, want %d", m.Total(), a.Total()+b.Total())
	}
}

// TestRecordInterrupt: when the context ends, a program that ignores the
// interruption is killed after the grace period, and what it did until
// then is kept, marked interrupted.
func TestRecordInterrupt(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(300*time.Millisecond, cancel)
	start := time.Now()
	rec, err := Record(ctx, Options{Path: "/bin/sh", Args: []string{"sh", "-c", "trap '' INT TERM; echo started; sleep 30"}, Grace: 200 * time.Millisecond, Stdout: devNull(t)})
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %v: not killed after the grace period", d)
	}
	if !rec.Interrupted || rec.Exit.Signal != syscall.SIGKILL {
		t.Errorf("interrupted %v, exit %v; want interrupted and killed", rec.Interrupted, rec.Exit)
	}
	if rec.Lookup(nativeName(), "rt_sigaction") == nil || rec.Lookup(nativeName(), "write") == nil {
		t.Errorf("what the program did before the interruption is missing: %v", rec.Syscalls)
	}
}

// TestRecordExecs: the recording lists the programs executed, not the
// execve calls that failed on the way (a PATH search tries every
// directory before the one that holds the program).
func TestRecordExecs(t *testing.T) {
	missing := t.TempDir() // an empty directory: execve there fails with ENOENT
	argv := []string{"/usr/bin/env", "PATH=" + missing + "/a:" + missing + "/b:/usr/bin:/bin", "true"}
	if _, err := os.Stat(argv[0]); err != nil {
		t.Skipf("no %s: %v", argv[0], err)
	}
	for _, b := range []Backend{BackendPtrace, BackendEBPF} {
		t.Run(b.String(), func(t *testing.T) {
			if b == BackendEBPF {
				needEBPF(t)
			}
			rec := recordIt(t, b, nil, argv...)
			execve := rec.Lookup(nativeName(), "execve")
			if execve == nil || execve.Count < 4 {
				t.Fatalf("execve recorded %v, want the failed calls counted too", execve)
			}
			if len(rec.Execs) != 2 || rec.Execs[0] != argv[0] || !slices.Contains([]string{"/usr/bin/true", "/bin/true"}, rec.Execs[1]) {
				t.Errorf("programs executed %q, want [%s /usr/bin/true]", rec.Execs, argv[0])
			}
		})
	}
}

// TestRecordExecWhy: when execve of an existing file fails, the error
// says why in words the errno alone does not (a missing interpreter is
// not a missing program), with the exit code syscage run uses.
func TestRecordExecWhy(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := dir + "/" + name
		if err := os.WriteFile(p, []byte(text), 0o755); err != nil {
			t.Fatal(err)
		}
		return p
	}
	cases := []struct {
		path string
		code int
		want string
	}{
		{write("no-interp", "#!/nonexistent/sh -e\necho hi\n"), ExitNotFound, "no such file or directory (its #! interpreter /nonexistent/sh does not exist)"},
		{write("no-shebang", "echo hi\n"), ExitCannotExecute, "exec format error (no #! line and not an ELF binary)"},
		{write("empty-shebang", "#!\n"), ExitCannotExecute, "(its #! line names no interpreter)"},
	}
	for _, c := range cases {
		_, err := Record(context.Background(), Options{Path: c.path, Backend: BackendPtrace})
		var se *StartError
		if !errors.As(err, &se) || se.Code != c.code || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want code %d and %q", c.path, err, c.code, c.want)
		}
	}
}
