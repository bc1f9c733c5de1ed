package tests

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

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

// BenchmarkStartup measures the start-up of /bin/true four ways, in turn
// within each iteration so that they share the machine's state: bare,
// under `syscage run` with the default profile (supervised, through the
// re-executed init stage), under `syscage run --exec` (syscage executes
// the program in its own place), and under `bwrap --seccomp` with the
// same compiled filter. It reports the median time of each (medians, as
// the machine is shared and a few runs stall) and their ratios:
//
//	go test -run '^$' -bench Startup -benchtime 200x ./tests
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

	timeRun := func(cmd *exec.Cmd) time.Duration {
		start := time.Now()
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("%v: %v\n%s", cmd.Args, err, out)
		}
		return time.Since(start)
	}
	var bare, run, direct, wrapped []time.Duration
	b.ResetTimer()
	for range b.N {
		bare = append(bare, timeRun(exec.Command(trueBin)))
		run = append(run, timeRun(exec.Command(sc, "run", "--", trueBin)))
		direct = append(direct, timeRun(exec.Command(sc, "run", "--exec", "--", trueBin)))
		if bwrapErr == nil {
			f, err := os.Open(filterFile)
			if err != nil {
				b.Fatal(err)
			}
			cmd := exec.Command(bwrap, "--dev-bind", "/", "/", "--seccomp", "3", trueBin)
			cmd.ExtraFiles = []*os.File{f}
			wrapped = append(wrapped, timeRun(cmd))
			f.Close()
		}
	}
	b.StopTimer()
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
}
