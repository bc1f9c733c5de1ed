package sandbox

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/syscage/syscage/arch"
	"github.com/syscage/syscage/bpf"
	"github.com/syscage/syscage/internal/testenv"
	"github.com/syscage/syscage/policy"
	"github.com/syscage/syscage/seccomp"
)

// probeEnv makes the test binary act as the sandboxed program: it runs
// the named probe and exits (see probes).
const probeEnv = "SYSCAGE_SANDBOX_PROBE"

func TestMain(m *testing.M) {
	// The init stage of Commands started from here runs during package
	// initialisation (package initstage) and never reaches this point.
	if name, ok := os.LookupEnv(probeEnv); ok {
		os.Exit(runProbe(name))
	}
	if name, ok := os.LookupEnv(execEnv); ok {
		os.Exit(runExecHelper(name))
	}
	if _, ok := os.LookupEnv(mainThreadEnv); ok {
		os.Exit(runMainThreadHelper())
	}
	if _, ok := os.LookupEnv(unforwardedEnv); ok {
		os.Exit(runUnforwardedHelper())
	}
	if _, ok := os.LookupEnv(earlySignalEnv); ok {
		os.Exit(runEarlySignalHelper())
	}
	if how, ok := os.LookupEnv(parentDeathEnv); ok {
		os.Exit(runParentDeathHelper(how))
	}
	os.Exit(m.Run())
}

// probes are what the test binary does as the sandboxed program. Each
// prints what it observes on stdout.
var probes = map[string]func() int{
	"status": func() int {
		st, err := os.ReadFile("/proc/self/status")
		if err != nil {
			fmt.Println("error:", err)
			return 1
		}
		for _, line := range strings.Split(string(st), "\n") {
			for _, k := range []string{"Cap", "NoNewPrivs", "Seccomp"} {
				if strings.HasPrefix(line, k) {
					fmt.Println(strings.Join(strings.Fields(line), " "))
				}
			}
		}
		return 0
	},
	"fds": func() int {
		var open []string
		for fd := 0; fd < 4096; fd++ {
			if _, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0); err == nil {
				open = append(open, fmt.Sprint(fd))
			}
		}
		fmt.Println("fds:", strings.Join(open, " "))
		return 0
	},
	"getppid": func() int {
		_, _, e := unix.RawSyscall(unix.SYS_GETPPID, 0, 0, 0)
		fmt.Println("getppid errno:", int(e))
		return 0
	},
	"getpgrp": func() int {
		// Neither the Go runtime nor the syscall package's child code
		// calls getpgrp, so filters on it leave the direct start alone.
		r, _, e := unix.RawSyscall(unix.SYS_GETPGRP, 0, 0, 0)
		if e == 0 && int(r) < 0 {
			e = unix.Errno(-int(r))
		}
		fmt.Println("getpgrp errno:", int(e))
		return 0
	},
	"uidmap": func() int {
		b, _ := os.ReadFile("/proc/self/uid_map")
		fmt.Println("uid_map:", strings.Join(strings.Fields(string(b)), " "))
		return 0
	},
	"netdevs": func() int {
		// /proc/net/dev belongs to the reader's network namespace.
		b, err := os.ReadFile("/proc/net/dev")
		if err != nil {
			fmt.Println("error:", err)
			return 1
		}
		var devs []string
		for _, line := range strings.Split(string(b), "\n")[2:] {
			if name, _, ok := strings.Cut(strings.TrimSpace(line), ":"); ok {
				devs = append(devs, name)
			}
		}
		slices.Sort(devs)
		fmt.Println("netdevs:", strings.Join(devs, " "))
		return 0
	},
	"env": func() int {
		env := os.Environ()
		slices.Sort(env)
		for _, kv := range env {
			fmt.Println("env:", kv)
		}
		return 0
	},
	"self": func() int {
		p, err := policy.Parse("self.policy", []byte("default allow\nerrno(42) getppid\n"), policy.ParseOptions{})
		if err != nil {
			fmt.Println("error:", err)
			return 1
		}
		if err := SelfPolicy(p); err != nil {
			fmt.Println("error:", err)
			return 1
		}
		// Old threads and new ones alike see the filter.
		var wg sync.WaitGroup
		results := make([]int, 6)
		for i := range results {
			wg.Add(1)
			go func() {
				defer wg.Done()
				runtime.LockOSThread()
				_, _, e := unix.RawSyscall(unix.SYS_GETPPID, 0, 0, 0)
				results[i] = int(e)
			}()
		}
		wg.Wait()
		fmt.Println("threads:", results)
		tasks, _ := os.ReadDir("/proc/self/task")
		for _, task := range tasks {
			b, _ := os.ReadFile("/proc/self/task/" + task.Name() + "/status")
			var f []string
			for _, line := range strings.Split(string(b), "\n") {
				if strings.HasPrefix(line, "Seccomp:") || strings.HasPrefix(line, "NoNewPrivs:") {
					f = append(f, strings.Join(strings.Fields(line), " "))
				}
			}
			fmt.Println("task:", strings.Join(f, " "))
		}
		return 0
	},
	"exec": func() int {
		err := unix.Exec("/bin/true", []string{"true"}, nil)
		fmt.Println("exec errno:", int(err.(unix.Errno)))
		return 3
	},
}

func runProbe(name string) int {
	p, ok := probes[name]
	if !ok {
		fmt.Fprintln(os.Stderr, "unknown probe", name)
		return 99
	}
	return p()
}

// needSeccomp skips or fails (under CI) without seccomp filters.
func needSeccomp(t *testing.T) {
	t.Helper()
	if err := seccomp.ProbeFlags(0); err != nil {
		testenv.Unavailable(t, "seccomp filters unavailable: %v", err)
	}
}

// rule is one (syscall, return value) pair of a hand-built filter.
type rule struct {
	name string
	ret  uint32
}

// filter builds a native-arch filter: other arches are killed, the named
// syscalls get their return value, the rest def.
func filter(t testing.TB, def uint32, rules ...rule) bpf.Program {
	t.Helper()
	p, err := buildFilter(def, rules)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// buildFilter builds filter's program, or says which syscall the native
// architecture lacks.
func buildFilter(def uint32, rules []rule) (bpf.Program, error) {
	a := arch.Native()
	p := bpf.Program{
		bpf.LoadAbs(bpf.OffsetArch),
		bpf.JumpIf(bpf.JmpJEQ, a.AuditArch, 1, 0),
		bpf.Ret(bpf.RetKillProcess),
		bpf.LoadAbs(bpf.OffsetNr),
	}
	for _, r := range rules {
		nr, ok := a.Lookup(r.name)
		if !ok {
			return nil, fmt.Errorf("no syscall %s on %s", r.name, a.Name)
		}
		p = append(p, bpf.JumpIf(bpf.JmpJEQ, uint32(nr), 0, 1), bpf.Ret(r.ret))
	}
	return append(p, bpf.Ret(def)), nil
}

// probeCommand returns a Command that runs the test binary as probe name.
func probeCommand(t testing.TB, name string, filters ...bpf.Program) (*Command, *bytes.Buffer) {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	out := &bytes.Buffer{}
	c := &Command{
		Path:    exe,
		Args:    []string{"probe"},
		Env:     append(os.Environ(), probeEnv+"="+name),
		Filters: filters,
	}
	return c, out
}

// runCaptured runs c with stdout and stderr in files and returns them.
func runCaptured(t testing.TB, c *Command) (*Exit, string, string, error) {
	t.Helper()
	dir := t.TempDir()
	so, err := os.Create(dir + "/stdout")
	if err != nil {
		t.Fatal(err)
	}
	se, err := os.Create(dir + "/stderr")
	if err != nil {
		t.Fatal(err)
	}
	defer so.Close()
	defer se.Close()
	c.Stdout, c.Stderr = so, se
	if c.Stdin == nil {
		devnull, err := os.Open(os.DevNull)
		if err != nil {
			t.Fatal(err)
		}
		defer devnull.Close()
		c.Stdin = devnull
	}
	ex, runErr := c.Run()
	outb, _ := os.ReadFile(dir + "/stdout")
	errb, _ := os.ReadFile(dir + "/stderr")
	return ex, string(outb), string(errb), runErr
}

// helperCommand returns a command running this test binary in the helper
// mode that the environment variables (KEY=VALUE) select in TestMain.
func helperCommand(t *testing.T, env ...string) *exec.Cmd {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), env...)
	return cmd
}

// wantHardened checks a status probe's output: the default capability
// set, no_new_privs and filters seccomp filters.
func wantHardened(t *testing.T, out string, filters int) {
	t.Helper()
	want := DefaultCaps.hex()
	for _, line := range []string{
		"CapInh: " + want, "CapPrm: " + want, "CapEff: " + want, "CapBnd: " + want,
		"CapAmb: 0000000000000000", "NoNewPrivs: 1", "Seccomp: 2", fmt.Sprintf("Seccomp_filters: %d", filters),
	} {
		if !strings.Contains(out, line+"\n") {
			t.Errorf("status lacks %q:\n%s", line, out)
		}
	}
}

// unstartable writes, in a new directory, a script without execute
// permission (noexec) and an executable that is no program (garbage).
func unstartable(t *testing.T) (dir, noExec, badFormat string) {
	t.Helper()
	dir = t.TempDir()
	noExec = filepath.Join(dir, "noexec")
	if err := os.WriteFile(noExec, []byte("#!/bin/sh\necho ran\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	badFormat = filepath.Join(dir, "garbage")
	if err := os.WriteFile(badFormat, []byte("\x7fELF garbage"), 0o755); err != nil {
		t.Fatal(err)
	}
	return dir, noExec, badFormat
}
