package compile

import (
	"sort"
	"sync"

	"github.com/syscage/syscage/bpf"
)

// stats measures the compiled filters.
func (m *model) stats(res *Result) Stats {
	st := Stats{Runs: m.runCount, UnconditionalAllows: m.uncond}
	for _, f := range res.Filters {
		st.Instructions = append(st.Instructions, len(f))
		st.MaxPath += longestPath(f)
	}
	st.MeanPath = m.meanPath(res.Filters)
	return st
}

// longestPath returns the most instructions any run of p executes.
func longestPath(p bpf.Program) int {
	l := make([]int, len(p)+1)
	for i := len(p) - 1; i >= 0; i-- {
		ins := p[i]
		switch {
		case ins.IsReturn():
			l[i] = 1
		case ins.IsConditionalJump():
			l[i] = 1 + max(l[min(i+1+int(ins.Jt), len(p))], l[min(i+1+int(ins.Jf), len(p))])
		case ins.IsJump():
			l[i] = 1 + l[min(i+1+int(ins.K), len(p))]
		default:
			l[i] = 1 + l[i+1]
		}
	}
	return l[0]
}

// meanPath is the mean number of instructions the filters run for a
// syscall of the first architecture drawn from the frequency mix, with
// all arguments zero.
func (m *model) meanPath(filters []bpf.Program) float64 {
	am := firstModel(m.groups[0])
	order := byteOrder(m.big)
	var sum, total float64
	data := bpf.SeccompData{Arch: am.a.AuditArch}
	for _, nw := range m.sortedFreq() {
		nr, ok := am.a.Lookup(nw.name)
		if !ok || nw.weight <= 0 {
			continue
		}
		data.Nr = int32(nr)
		n := 0
		for _, f := range filters {
			_, k, err := bpf.Evaluate(f, &data, order)
			if err != nil {
				return 0
			}
			n += k
		}
		sum += nw.weight * float64(n)
		total += nw.weight
	}
	if total == 0 {
		return 0
	}
	return sum / total
}

// sortedFreq returns the frequencies in a fixed order, so that sums over
// them do not depend on map iteration.
func (m *model) sortedFreq() []nameWeight {
	if m.bundled {
		return bundledByName()
	}
	out := make([]nameWeight, 0, len(m.freq))
	for n, w := range m.freq {
		out = append(out, nameWeight{n, w})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}

// bundledByName is the bundled mix sorted by name, the order sortedFreq
// gives any other mix in.
var bundledByName = sync.OnceValue(func() []nameWeight {
	out := append([]nameWeight(nil), bundledMix...)
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
})
