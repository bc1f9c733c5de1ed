package compile

import (
	"encoding/binary"
	"fmt"

	"github.com/syscage/syscage/bpf"
)

// Trace is how the compiled filters decide one input.
type Trace struct {
	// Action is the return value the kernel acts on.
	Action uint32
	// Filter is the index of the filter whose return value won, or -1
	// when every filter allowed.
	Filter int
	// Paths holds, for each filter, the indexes of the instructions run.
	Paths [][]int
	// Origin is what in the policy decided.
	Origin Origin
}

// Explain runs the filters on d and names what in the policy decided it:
// the rule (whose position leads to the policy line), the default, the
// unknown-syscall action or the bad-arch action. Arguments are read in the
// byte order the filters were compiled for.
func (r *Result) Explain(d *bpf.SeccompData) (Trace, error) {
	order := byteOrder(r.BigEndian)
	sr, err := bpf.RunStack(r.Filters, d, order)
	if err != nil {
		return Trace{}, err
	}
	t := Trace{Action: sr.Action, Filter: sr.Filter, Paths: make([][]int, len(sr.Results))}
	for i, res := range sr.Results {
		t.Paths[i] = res.Path
	}
	r.explain.once.Do(func() { r.explain.m, r.explain.err = newModel(r.policy, r.opts) })
	if r.explain.err != nil {
		return t, r.explain.err
	}
	want, origin := r.explain.m.decide(uint32(d.Arch), uint32(d.Nr), &d.Args)
	if want != sr.Action {
		return t, fmt.Errorf("compile: internal error: the filters return %s for %+v but the policy says %s (%s)",
			bpf.ActionString(sr.Action), *d, bpf.ActionString(want), origin)
	}
	t.Origin = origin
	return t, nil
}

// decide evaluates the resolved policy directly: the return value and
// its origin for one input.
func (m *model) decide(audit, nr uint32, args *[6]uint64) (uint32, Origin) {
	for _, g := range m.groups {
		if g.audit != audit {
			continue
		}
		for _, rg := range g.regions {
			if nr < rg.lo || nr > rg.hi {
				continue
			}
			am := g.models[rg.member]
			if am == nil {
				break
			}
			ch, known := am.chain(nr, nil)
			for _, e := range ch {
				if m.conds[e.cond].eval(args) {
					return e.ret, Origin{Kind: FromRule, Rule: m.p.Rules[e.rule]}
				}
			}
			if known {
				return am.defRet, Origin{Kind: FromDefault}
			}
			return am.unkRet, Origin{Kind: FromUnknown}
		}
	}
	return m.badArch, Origin{Kind: FromBadArch}
}

func byteOrder(big bool) binary.ByteOrder {
	if big {
		return binary.BigEndian
	}
	return binary.LittleEndian
}
