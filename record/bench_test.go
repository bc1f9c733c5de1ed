package record

import (
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/syscage/syscage/internal/testenv"
)

// BenchmarkRecordOverhead measures the wall time of a syscall-heavy
// workload (testdata/bench.c: 200000 getppid and 200000 64-byte reads,
// then four fork+exec of /bin/true) run bare, recorded with each backend
// and traced by strace -f -c, in the same iteration, and reports each as
// a ratio to the bare run. The recorded times include syscage's start-up
// (the init stage and, for ebpf, loading the program), which
// "startup-ms" measures alone on /bin/true; "ebpf-ns/syscall" is the
// cost per syscall once running.
//
//	go test -run '^$' -bench RecordOverhead -benchtime 5x ./record
func BenchmarkRecordOverhead(b *testing.B) {
	prog := testProgram(b, "bench")
	strace := testenv.NeedCommand(b, "strace")
	devnull, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		b.Fatal(err)
	}
	defer devnull.Close()
	ebpfOK := true
	if f, err := newFastCounter(func(int) uint8 { return 0 }); err != nil {
		b.Logf("eBPF backend not measured: %v", err)
		ebpfOK = false
	} else {
		f.close()
	}

	timeIt := func(f func()) time.Duration {
		t0 := time.Now()
		f()
		return time.Since(t0)
	}
	run := func(argv ...string) {
		c := exec.Command(argv[0], argv[1:]...)
		c.Stdout, c.Stderr = devnull, devnull
		if err := c.Run(); err != nil {
			b.Fatalf("%v: %v", argv, err)
		}
	}
	var bare, ebpf, ptrace, st, trueBare, trueRec time.Duration
	var calls uint64
	b.ResetTimer()
	for range b.N {
		bare += timeIt(func() { run(prog) })
		if ebpfOK {
			ebpf += timeIt(func() { calls = recordIt(b, BackendEBPF, devnull, prog).Total() })
			trueRec += timeIt(func() { recordIt(b, BackendEBPF, devnull, "/bin/true") })
			trueBare += timeIt(func() { run("/bin/true") })
		}
		ptrace += timeIt(func() { calls = recordIt(b, BackendPtrace, devnull, prog).Total() })
		st += timeIt(func() { run(strace, "-f", "-c", "-o", os.DevNull, "--", prog) })
	}
	b.StopTimer()
	ratio := func(d time.Duration) float64 { return float64(d) / float64(bare) }
	if ebpfOK {
		b.ReportMetric(ratio(ebpf), "ebpf/bare")
		b.ReportMetric(float64(trueRec-trueBare)/float64(b.N)/1e6, "startup-ms")
		b.ReportMetric(float64(ebpf-bare-(trueRec-trueBare))/float64(b.N)/float64(calls), "ebpf-ns/syscall")
	}
	b.ReportMetric(ratio(ptrace), "ptrace/bare")
	b.ReportMetric(ratio(st), "strace-f-c/bare")
	b.ReportMetric(float64(bare)/float64(b.N)/1e6, "bare-ms")
	b.ReportMetric(float64(calls), "syscalls")
}
