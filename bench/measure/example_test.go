package measure_test

import (
	"fmt"

	"github.com/syscage/syscage/bench/measure"
	"github.com/syscage/syscage/bpf"
)

func ExampleSummarise() {
	n := measure.Summarise([]float64{120, 118, 131, 119, 125})
	fmt.Printf("%.0f ns (%.0f–%.0f) over %d runs\n", n.Median, n.Min, n.Max, n.N)
	// Output: 120 ns (118–131) over 5 runs
}

func ExampleWorstPath() {
	// if (nr == 0) return ALLOW; else { A = arch; return ERRNO(1) }
	p := bpf.Program{
		bpf.LoadAbs(bpf.OffsetNr),
		bpf.JumpIf(bpf.JmpJEQ, 0, 0, 1),
		{Op: bpf.ClassRET, K: bpf.RetAllow},
		bpf.LoadAbs(bpf.OffsetArch),
		{Op: bpf.ClassRET, K: bpf.RetErrno | 1},
	}
	fmt.Println(measure.WorstPath(p))
	// Output: 4
}
