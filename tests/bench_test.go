package tests

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/syscage/syscage/bpf"
	"github.com/syscage/syscage/compile"
	"github.com/syscage/syscage/policy/profiles"
)

// BenchmarkStartup measures the start-up of /bin/true three ways, in
// turn within each iteration so that they share the machine's state:
// bare, under `syscage run` with the default profile, and under
// `bwrap --seccomp` with the same compiled filter. It reports syscage's
// time per run and its ratios to the other two:
//
//	go test -run '^$' -bench Startup -benchtime 200x ./tests
func BenchmarkStartup(b *testing.B) {
	sc := syscage(b)
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
	var bare, caged, wrapped time.Duration
	b.ResetTimer()
	for range b.N {
		bare += timeRun(exec.Command(trueBin))
		caged += timeRun(exec.Command(sc, "run", "--", trueBin))
		if bwrapErr == nil {
			f, err := os.Open(filterFile)
			if err != nil {
				b.Fatal(err)
			}
			cmd := exec.Command(bwrap, "--dev-bind", "/", "/", "--seccomp", "3", trueBin)
			cmd.ExtraFiles = []*os.File{f}
			wrapped += timeRun(cmd)
			f.Close()
		}
	}
	b.StopTimer()
	n := float64(b.N)
	b.ReportMetric(float64(caged.Nanoseconds())/n, "run-ns/op")
	b.ReportMetric(float64(bare.Nanoseconds())/n, "bare-ns/op")
	b.ReportMetric(float64(caged)/float64(bare), "run/bare")
	if bwrapErr == nil {
		b.ReportMetric(float64(wrapped.Nanoseconds())/n, "bwrap-ns/op")
		b.ReportMetric(float64(caged)/float64(wrapped), "run/bwrap")
	} else {
		b.Logf("bwrap not installed (apt-get install bubblewrap): no comparison with it")
	}
}
