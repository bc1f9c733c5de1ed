package compile

import (
	"fmt"

	"github.com/syscage/syscage/bpf"
)

// maxFilters bounds a split: the kernel charges every filter of a stack
// four instructions besides its own (kernel/seccomp.c: MAX_INSNS_PER_PATH
// and seccomp_attach_filter), and eight full filters already reach the
// limit of the whole stack.
const maxFilters = 8

// split compiles the policy into stacked filters of at most limit
// instructions each. The number space of every architecture, in dispatch
// order, is cut into consecutive pieces of about equal estimated size;
// each filter decides its piece (the first also decides foreign
// architectures) and allows the rest. Since the kernel acts on the
// strictest value the stack returns and ALLOW is the least strict, the
// stack returns what the owning filter returns, for every input.
func (m *model) split(res *Result, limit int) error {
	costs := m.runCosts()
	var total int
	for _, c := range costs {
		total += c.cost
	}
	for parts := max(2, (total+limit-1)/limit); parts <= maxFilters; parts++ {
		owns := m.partition(costs, total, parts)
		var filters []bpf.Program
		var origins []map[int][]Origin
		fits := true
		for _, own := range owns {
			p, o := m.program(own)
			if len(p) > limit {
				fits = false
				break
			}
			filters = append(filters, p)
			origins = append(origins, o)
		}
		if fits {
			res.Filters, res.Origins = filters, origins
			return nil
		}
	}
	return fmt.Errorf("compile: the policy does not fit in %d stacked filters of %d instructions; simplify its argument conditions", maxFilters, limit)
}

// runCost is the estimated size of the code for one run.
type runCost struct {
	group  int
	lo, hi uint32
	cost   int
}

// runCosts lists every run of every group with the instructions it is
// expected to need: a test in the search tree plus its decision code,
// counted once however many runs share it.
func (m *model) runCosts() []runCost {
	g := newGraph(256)
	l := &lowerer{g: g, big: m.big}
	allow := g.ret(bpf.RetAllow)
	clear(m.codes)
	var out []runCost
	counted := map[nodeID]bool{}
	for gi, grp := range m.groups {
		runs, _ := m.runs(g, l, grp, spanAll, allow, nil)
		for _, r := range runs {
			c := 1
			for _, id := range g.reachable(r.code) {
				if !counted[id] {
					counted[id] = true
					c++
				}
			}
			out = append(out, runCost{group: gi, lo: r.lo, hi: r.hi, cost: c})
		}
	}
	g.free()
	return out
}

// partition cuts the runs into parts pieces of about total/parts each.
func (m *model) partition(costs []runCost, total, parts int) []*ownership {
	owns := make([]*ownership, parts)
	for i := range owns {
		owns[i] = &ownership{spans: make([]span, len(m.groups)), badArch: i == 0}
		for gi := range owns[i].spans {
			owns[i].spans[gi] = spanNone
		}
	}
	acc := 0
	for _, c := range costs {
		part := min(acc*parts/max(total, 1), parts-1)
		acc += c.cost
		sp := &owns[part].spans[c.group]
		if sp.lo > sp.hi {
			*sp = span{uint64(c.lo), uint64(c.hi)}
		} else {
			sp.hi = uint64(c.hi)
		}
	}
	return owns
}
