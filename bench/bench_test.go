package bench

import (
	"testing"

	"github.com/syscage/syscage/arch"
	"github.com/syscage/syscage/bench/measure"
)

// BenchmarkCompile compiles each workload of the report with each
// compiler: ns/op is one compilation, policy in memory to raw program.
func BenchmarkCompile(b *testing.B) {
	ws, err := measure.Workloads()
	if err != nil {
		b.Fatal(err)
	}
	for _, w := range ws {
		for _, c := range measure.Compilers() {
			if _, err := c.Compile(w); err != nil {
				continue // the peer cannot express this workload
			}
			b.Run(w.Name+"/"+c.Name, func(b *testing.B) {
				for b.Loop() {
					if _, err := c.Compile(w); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkPaths reports, per workload and compiler, the program's size
// and the mean instructions per syscall of the bundled mix with the
// kernel's cache off and on (ns/op is the measurement itself).
func BenchmarkPaths(b *testing.B) {
	ws, err := measure.Workloads()
	if err != nil {
		b.Fatal(err)
	}
	mix := measure.BundledMix(arch.Native())
	for _, w := range ws {
		for _, c := range measure.Compilers() {
			progs, err := c.Compile(w)
			if err != nil {
				continue
			}
			b.Run(w.Name+"/"+c.Name, func(b *testing.B) {
				var s measure.Static
				for b.Loop() {
					if s, err = measure.Measure(progs, mix); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(s.Instructions), "insns")
				b.ReportMetric(s.MeanUncached, "insns/syscall-uncached")
				b.ReportMetric(s.MeanCached, "insns/syscall-cached")
				b.ReportMetric(float64(s.WorstPath), "worst-path")
			})
		}
	}
}
