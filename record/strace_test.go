package record

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/syscage/syscage/arch"
	"github.com/syscage/syscage/internal/testenv"
)

// callID is a syscall as the comparison with strace sees it.
type callID struct {
	arch string
	nr   int
}

func (c callID) String() string {
	a, _ := arch.ByName(c.arch)
	if n, ok := a.SyscallName(c.nr); ok {
		return c.arch + ":" + n
	}
	return fmt.Sprintf("%s:%d", c.arch, c.nr)
}

// straceLine matches a syscall entry in `strace -f -n` output:
// "PID [ NR] name(args..." (resumed halves, signals and exits do not).
var straceLine = regexp.MustCompile(`^(\d+)\s+\[\s*(\d+)\]\s+([a-z_][a-z0-9_]*)\(`)

// parseStrace reads `strace -f -n -qq -o FILE` output into the set of
// syscalls made. strace prints the number of each syscall (-n) but not
// its arch; a number whose name on the native table is not the one strace
// printed was made through another entry point, found by the name.
// Numbers compare fairly where names would not (strace spells some i386
// names its own way).
func parseStrace(t *testing.T, text string) map[callID]uint64 {
	t.Helper()
	native := arch.Native()
	var foreign []*arch.Arch
	for _, name := range compatArches[native.Name] {
		a, _ := arch.ByName(name)
		foreign = append(foreign, a)
	}
	out := map[callID]uint64{}
	sc := bufio.NewScanner(strings.NewReader(text))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		m := straceLine.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		nr, _ := strconv.Atoi(m[2])
		name := m[3]
		id := callID{native.Name, nr}
		if n, ok := native.SyscallName(nr); !ok || n != name {
			id.arch = ""
			for _, a := range foreign {
				if n, ok := a.SyscallName(nr + int(a.NrBase)); ok && (n == name || strings.TrimPrefix(name, "_") == n) {
					id = callID{a.Name, nr + int(a.NrBase)}
					break
				}
			}
			if id.arch == "" {
				t.Fatalf("strace line %q: syscall %d is not %s on %s or any related arch", sc.Text(), nr, name, native.Name)
			}
		}
		out[id]++
	}
	return out
}

// compatArches are the other entry points a process of an arch can use.
var compatArches = map[string][]string{
	"x86_64":  {"i386", "x32"},
	"aarch64": {"arm"},
}

func recordedSet(rec *Recording) map[callID]uint64 {
	out := map[callID]uint64{}
	for _, s := range rec.Syscalls {
		out[callID{s.Arch, s.Nr}] += s.Count
	}
	return out
}

// straceCase is a program whose recording is compared with strace's.
type straceCase struct {
	name string
	argv func(t *testing.T, dir string) []string
	// varies lists syscalls a run may or may not make depending on
	// timing (a contended lock), which a comparison of two runs cannot
	// expect to agree on.
	varies []string
	// must are syscalls ("arch:name") the run makes for sure, which keep
	// the comparison from passing on two empty sets: the grandchild's
	// calls after its parents exited, the i386 call.
	must []string
}

func straceCases() []straceCase {
	return []straceCase{
		{name: "threads", argv: func(t *testing.T, _ string) []string { return []string{testProgram(t, "threads")} },
			varies: []string{"futex", "madvise", "munmap"}, must: []string{"x86_64:clone3", "x86_64:gettid", "x86_64:exit"}},
		{name: "fork-exec-chain", argv: func(t *testing.T, _ string) []string { return []string{testProgram(t, "chain"), "3"} },
			must: []string{"x86_64:clone", "x86_64:wait4", "x86_64:pipe2"}},
		{name: "daemon", argv: func(t *testing.T, dir string) []string {
			return []string{testProgram(t, "daemon"), filepath.Join(dir, "daemon.out")}
		}, must: []string{"x86_64:setsid", "x86_64:uname", "x86_64:sysinfo"}},
		{name: "i386", argv: func(t *testing.T, _ string) []string { return []string{testProgram(t, "i386")} },
			must: []string{"i386:getpid", "x86_64:getpid"}},
		{name: "sock", argv: func(t *testing.T, _ string) []string { return []string{testProgram(t, "sock")} },
			must: []string{"x86_64:socket", "x86_64:setsockopt"}},
		{name: "sh-pipes", argv: func(t *testing.T, _ string) []string {
			return []string{"/bin/sh", "-c", "echo one two | tr a-z A-Z | wc -c; ls / > /dev/null"}
		}},
		{name: "python3", argv: func(t *testing.T, _ string) []string {
			return []string{python3(t), "-S", "-c", "import os; print(os.getpid() > 0, sum(range(100)))"}
		}, varies: []string{"futex"}},
	}
}

// TestRecordMatchesStrace records each program and traces the same
// command with strace -f: the (arch, syscall) sets must be equal.
func TestRecordMatchesStrace(t *testing.T) {
	strace := testenv.NeedCommand(t, "strace")
	needX86(t)
	for _, backend := range []Backend{BackendPtrace, BackendEBPF} {
		for _, tc := range straceCases() {
			t.Run(backend.String()+"/"+tc.name, func(t *testing.T) {
				if backend == BackendEBPF {
					needEBPF(t)
				}
				dir := t.TempDir()
				argv := tc.argv(t, dir)
				rec := recordIt(t, backend, nil, argv...)
				if rec.Exit.Code != 0 {
					t.Fatalf("recorded run: %s", rec.Exit)
				}
				got := recordedSet(rec)

				// The same output file as the recorded run: the C library
				// asks a character device whether it is a terminal, not a
				// pipe.
				out := filepath.Join(dir, "strace.out")
				cmd := exec.Command(strace, append([]string{"-f", "-n", "-qq", "-o", out, "--"}, argv...)...)
				cmd.Stdout = devNull(t)
				cmd.Stderr = devNull(t)
				if err := cmd.Run(); err != nil {
					t.Fatalf("strace: %v", err)
				}
				text, err := os.ReadFile(out)
				if err != nil {
					t.Fatal(err)
				}
				want := parseStrace(t, string(text))
				var missing, extra []string
				for id := range want {
					if _, ok := got[id]; !ok && !varies(tc, id) {
						missing = append(missing, id.String())
					}
				}
				for id := range got {
					if _, ok := want[id]; !ok && !varies(tc, id) {
						extra = append(extra, id.String())
					}
				}
				slices.Sort(missing)
				slices.Sort(extra)
				if len(missing)+len(extra) > 0 {
					t.Errorf("recorded set differs from strace -f:\n  only strace saw: %v\n  only record saw: %v", missing, extra)
				}
				for _, m := range tc.must {
					if !slices.ContainsFunc(keysOf(got), func(id callID) bool { return id.String() == m }) {
						t.Errorf("the recording lacks %s, which the program makes", m)
					}
				}
				if tc.name == "fork-exec-chain" {
					// chain 3 runs itself three times, then sh, then cat.
					if n := rec.Lookup("x86_64", "execve").Count; n < 5 {
						t.Errorf("%d execve recorded, want at least 5", n)
					}
				}
			})
		}
	}
}

// python3 returns the system's Python rather than a version manager's
// shim (a shell script that would run more programs than Python).
func python3(t *testing.T) string {
	for _, p := range []string{"/usr/bin/python3", "/usr/local/bin/python3"} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return testenv.NeedCommand(t, "python3")
}

func keysOf(m map[callID]uint64) []callID {
	var out []callID
	for k := range m {
		out = append(out, k)
	}
	return out
}

func devNull(t *testing.T) *os.File {
	f, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func varies(tc straceCase, id callID) bool {
	a, _ := arch.ByName(id.arch)
	n, _ := a.SyscallName(id.nr)
	return slices.Contains(tc.varies, n)
}

// needX86 skips on machines other than x86_64: the test programs enter
// the i386 table with int 0x80 and the expectations name x86_64 syscalls.
func needX86(t *testing.T) {
	t.Helper()
	if n := arch.Native(); n == nil || n.Name != "x86_64" {
		t.Skip("the recording suite is written for x86_64")
	}
}

// needEBPF skips (or fails, under CI) when the eBPF backend cannot load.
func needEBPF(t *testing.T) {
	t.Helper()
	f, err := newFastCounter(func(int) uint8 { return 0 })
	if err != nil {
		testenv.Unavailable(t, "the eBPF backend is not available here: %v", err)
		return
	}
	f.close()
}
