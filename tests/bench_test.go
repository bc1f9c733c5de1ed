package tests

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/syscage/syscage/bpf"
	"github.com/syscage/syscage/compile"
	"github.com/syscage/syscage/policy/profiles"
)

var (
	staticOnce sync.Once
	staticPath string
	staticErr  error
)

// staticSyscage builds syscage without cgo, as it is meant to be built:
// a plain `go build` on a machine with a C compiler links the C library
// for package net (cobra's flag package imports it), and the dynamic
// loading then costs every Go start, syscage's and its init stage's,
// about a millisecond.
func staticSyscage(b *testing.B) string {
	b.Helper()
	syscage(b) // the seccomp check and the shared build directory
	staticOnce.Do(func() {
		staticPath = filepath.Join(workDir, "syscage-static")
		cmd := exec.Command("go", "build", "-o", staticPath, "./cmd/syscage")
		cmd.Dir = repoRoot()
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			staticErr = fmt.Errorf("CGO_ENABLED=0 go build ./cmd/syscage: %v\n%s", err, out)
		}
	})
	if staticErr != nil {
		b.Fatal(staticErr)
	}
	return staticPath
}

// BenchmarkStartup measures the start-up of a program four ways, in turn
// within each iteration so that they share the machine's state: bare,
// under `syscage run` with the default profile (supervised: syscage
// stays to forward signals and report the program's end), under
// `syscage run --exec` (syscage executes the program in its own place),
// and under `bwrap --seccomp` with the same compiled filter. It reports
// medians (the machine is shared and a few runs stall) and their ratios,
// of two times:
//
//   - until /bin/true has run and its starter has ended (bare-ns,
//     run-ns, exec-ns, bwrap-ns): start-up and tear-down;
//
//   - until the main function of testdata/started.c begins, which prints
//     the time (bare-start-ns, run-start-ns, ...): start-up alone, what
//     the program waits for. It needs gcc.
//
//     go test -run '^$' -bench Startup -benchtime 200x ./tests
func BenchmarkStartup(b *testing.B) {
	sc := staticSyscage(b)
	trueBin, err := exec.LookPath("true")
	if err != nil {
		b.Skip("no true(1)")
	}
	p, err := profiles.Get("default")
	if err != nil {
		b.Fatal(err)
	}
	res, err := compile.Policy(p, compile.Options{})
	if err != nil {
		b.Fatal(err)
	}
	filterFile := filepath.Join(b.TempDir(), "default.bpf")
	if err := os.WriteFile(filterFile, res.Filters[0].Encode(bpf.NativeEndian), 0o644); err != nil {
		b.Fatal(err)
	}
	bwrap, bwrapErr := exec.LookPath("bwrap")
	started := startedProbe(b)

	timeRun := func(cmd *exec.Cmd) time.Duration {
		start := time.Now()
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("%v: %v\n%s", cmd.Args, err, out)
		}
		return time.Since(start)
	}
	// timeStart runs cmd, whose program is started, and returns how long
	// after cmd's start that program's main began.
	timeStart := func(cmd *exec.Cmd) time.Duration {
		var out strings.Builder
		cmd.Stdout = &out
		var t0 unix.Timespec
		unix.ClockGettime(unix.CLOCK_MONOTONIC, &t0)
		if err := cmd.Run(); err != nil {
			b.Fatalf("%v: %v", cmd.Args, err)
		}
		began, err := strconv.ParseInt(strings.TrimSpace(out.String()), 10, 64)
		if err != nil {
			b.Fatalf("%v printed %q: %v", cmd.Args, out.String(), err)
		}
		return time.Duration(began - t0.Nano())
	}
	bwrapCommand := func(prog string) (*exec.Cmd, *os.File) {
		f, err := os.Open(filterFile)
		if err != nil {
			b.Fatal(err)
		}
		cmd := exec.Command(bwrap, "--dev-bind", "/", "/", "--seccomp", "3", prog)
		cmd.ExtraFiles = []*os.File{f}
		return cmd, f
	}
	// fourWays times prog bare, under syscage run, run --exec and bwrap,
	// appending to bare, run, direct and wrapped.
	type times struct{ bare, run, direct, wrapped []time.Duration }
	fourWays := func(prog string, timeOf func(*exec.Cmd) time.Duration, t *times) {
		t.bare = append(t.bare, timeOf(exec.Command(prog)))
		t.run = append(t.run, timeOf(exec.Command(sc, "run", "--", prog)))
		t.direct = append(t.direct, timeOf(exec.Command(sc, "run", "--exec", "--", prog)))
		if bwrapErr == nil {
			cmd, f := bwrapCommand(prog)
			t.wrapped = append(t.wrapped, timeOf(cmd))
			f.Close()
		}
	}
	var total, start times
	b.ResetTimer()
	for range b.N {
		fourWays(trueBin, timeRun, &total)
		if started != "" {
			fourWays(started, timeStart, &start)
		}
	}
	b.StopTimer()
	bare, run, direct, wrapped := total.bare, total.run, total.direct, total.wrapped
	bareStart, runStart, directStart, wrappedStart := start.bare, start.run, start.direct, start.wrapped
	median := func(ds []time.Duration) float64 {
		s := slices.Clone(ds)
		slices.Sort(s)
		return float64(s[len(s)/2])
	}
	b.ReportMetric(median(bare), "bare-ns")
	b.ReportMetric(median(run), "run-ns")
	b.ReportMetric(median(direct), "exec-ns")
	b.ReportMetric(median(run)/median(bare), "run/bare")
	b.ReportMetric(median(direct)/median(bare), "exec/bare")
	if bwrapErr == nil {
		b.ReportMetric(median(wrapped), "bwrap-ns")
		b.ReportMetric(median(run)/median(wrapped), "run/bwrap")
		b.ReportMetric(median(direct)/median(wrapped), "exec/bwrap")
	} else {
		b.Logf("bwrap not installed (apt-get install bubblewrap): no comparison with it")
	}
	if started == "" {
		return
	}
	b.ReportMetric(median(bareStart), "bare-start-ns")
	b.ReportMetric(median(runStart), "run-start-ns")
	b.ReportMetric(median(directStart), "exec-start-ns")
	if bwrapErr == nil {
		b.ReportMetric(median(wrappedStart), "bwrap-start-ns")
		b.ReportMetric(median(runStart)/median(wrappedStart), "run-start/bwrap-start")
		b.ReportMetric(median(directStart)/median(wrappedStart), "exec-start/bwrap-start")
	}
}

var (
	startedOnce sync.Once
	startedPath string
)

// startedProbe compiles testdata/started.c once and returns its path, or
// "" (saying why) when it cannot: without gcc the benchmark measures
// the total times only.
func startedProbe(b *testing.B) string {
	b.Helper()
	startedOnce.Do(func() {
		gcc, err := exec.LookPath("gcc")
		if err != nil {
			b.Logf("gcc not installed: no start-only times (%v)", err)
			return
		}
		path := filepath.Join(workDir, "started")
		src := filepath.Join(repoRoot(), "tests", "testdata", "started.c")
		if out, err := exec.Command(gcc, "-O2", "-Wall", "-o", path, src).CombinedOutput(); err != nil {
			b.Logf("gcc started.c: %v\n%s", err, out)
			return
		}
		startedPath = path
	})
	return startedPath
}
