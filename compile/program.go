package compile

import (
	"sort"

	"github.com/syscage/syscage/bpf"
)

// span is a range of syscall numbers, inclusive; lo > hi is empty.
type span struct{ lo, hi uint64 }

var (
	spanAll  = span{0, 1<<32 - 1}
	spanNone = span{1, 0}
)

// ownership says which inputs one filter of a split stack decides; it
// allows all others, which the other filters decide.
type ownership struct {
	spans   []span // per group, the numbers owned
	badArch bool   // whether it decides architectures the policy does not accept
}

// tinyWeight is the weight of a run no frequency names, relative to a mix
// whose weights add up to about 1: it keeps cold runs from costing
// nothing while never outweighing a syscall that was seen.
const tinyWeight = 1e-9

// program compiles the filter deciding the inputs own names (all when own
// is nil) and returns it with the origins of its RET instructions.
func (m *model) program(own *ownership) (bpf.Program, map[int][]Origin) {
	g := newGraph()
	l := &lowerer{g: g, big: m.big}
	allow := g.ret(bpf.RetAllow)
	next := g.ret(m.badArch)
	if own != nil && !own.badArch {
		next = allow
	}
	var heat []float64
	for gi := len(m.groups) - 1; gi >= 0; gi-- {
		grp := m.groups[gi]
		sp := spanAll
		if own != nil {
			sp = own.spans[gi]
		}
		runs, uncond := m.runs(g, l, grp, sp, allow)
		if own == nil {
			m.runCount += len(runs)
			m.uncond += uncond
		}
		tree := searchTree(g, runs)
		heat = noteHeat(g, heat, runs, tree)
		next = g.jump(bpf.JmpJEQ, grp.audit, g.load(bpf.OffsetNr, tree), next)
	}
	root := g.load(bpf.OffsetArch, next)
	heat = append(heat, make([]float64, len(g.nodes)-len(heat))...)
	g, root, heat = optimiseWithHeat(g, root, heat)
	prog, rets := layout(g, root, heat)
	origins := make(map[int][]Origin, len(rets))
	for idx, k := range rets {
		if own != nil && k == bpf.RetAllow {
			origins[idx] = append([]Origin{{Kind: FromElsewhere}}, m.retOrigins[k]...)
			continue
		}
		origins[idx] = m.retOrigins[k]
	}
	return prog, origins
}

// runs lists the runs of one group's number space. Numbers outside own
// go to allow. It also counts the known syscalls allowed whatever their
// arguments.
func (m *model) runs(g *graph, l *lowerer, grp *group, own span, allow nodeID) (out []run, uncond int) {
	add := func(lo, hi uint64, code nodeID, w float64) {
		if n := len(out); n > 0 && out[n-1].code == code && uint64(out[n-1].hi)+1 == lo {
			out[n-1].hi = uint32(hi)
			out[n-1].weight += w
			return
		}
		out = append(out, run{lo: uint32(lo), hi: uint32(hi), code: code, weight: w})
	}
	// addOwned adds a segment, sending the part outside own to allow.
	addOwned := func(lo, hi uint64, code nodeID, w float64) {
		if own.lo > own.hi || hi < own.lo || lo > own.hi {
			add(lo, hi, allow, tinyWeight)
			return
		}
		if lo < own.lo {
			add(lo, own.lo-1, allow, tinyWeight)
			lo = own.lo
		}
		end := min(hi, own.hi)
		add(lo, end, code, w)
		if hi > end {
			add(end+1, hi, allow, tinyWeight)
		}
	}
	bad := g.ret(m.badArch)
	for _, rg := range grp.regions {
		am := grp.models[rg.member]
		if am == nil {
			addOwned(uint64(rg.lo), uint64(rg.hi), bad, tinyWeight)
			continue
		}
		scale := 1.0
		if grp != m.groups[0] || am != firstModel(grp) {
			scale = 0.01
		}
		unk := g.ret(am.unkRet)
		pts := am.points
		start := sort.Search(len(pts), func(i int) bool { return pts[i] >= rg.lo })
		cur := uint64(rg.lo)
		for _, p := range pts[start:] {
			if p > rg.hi {
				break
			}
			if uint64(p) > cur {
				addOwned(cur, uint64(p)-1, unk, tinyWeight)
			}
			w := tinyWeight
			code := m.code(g, l, am, p)
			if name, ok := am.a.SyscallName(int(p)); ok {
				w += m.freq[name] * scale
				if code == allow {
					uncond++
				}
			}
			addOwned(uint64(p), uint64(p), code, w)
			cur = uint64(p) + 1
		}
		if cur <= uint64(rg.hi) {
			addOwned(cur, uint64(rg.hi), unk, tinyWeight)
		}
	}
	return out, uncond
}

// firstModel is the first accepted architecture of a group, the one the
// frequencies describe when the group is the first.
func firstModel(grp *group) *archModel {
	for _, am := range grp.models {
		if am != nil {
			return am
		}
	}
	return nil
}

// code builds the first-match chain of syscall nr: each applicable rule's
// condition, in order, the fallback action last.
func (m *model) code(g *graph, l *lowerer, am *archModel, nr uint32) nodeID {
	fb := am.unkRet
	if am.known(nr) {
		fb = am.defRet
	}
	next := g.ret(fb)
	ch := am.chains[nr]
	for i := len(ch) - 1; i >= 0; i-- {
		next = l.cond(ch[i].cond, g.ret(ch[i].ret), next)
	}
	return next
}

// noteHeat records how much of the mix passes through each node of the
// search tree and the code below it, for layout to keep hot paths short.
func noteHeat(g *graph, heat []float64, runs []run, root nodeID) []float64 {
	heat = append(heat, make([]float64, len(g.nodes)-len(heat))...)
	first := nodeID(0)
	for _, r := range runs {
		heat[r.code] += r.weight
		first = max(first, r.code+1)
	}
	// Inner tree nodes were built after the code of the runs and after
	// their own subtrees: sum upwards.
	for id := first; id <= root; id++ {
		n := &g.nodes[id]
		if n.kind == kindJump && heat[id] == 0 {
			heat[id] = heat[n.t] + heat[n.f]
		}
	}
	return heat
}

// optimiseWithHeat runs the optimiser and carries the heat of nodes over
// to the rebuilt graph.
func optimiseWithHeat(g *graph, root nodeID, heat []float64) (*graph, nodeID, []float64) {
	for round := 0; round < 4; round++ {
		o := newOptimiser(g, root)
		if !o.thread(root) {
			break
		}
		ng, nroot, remap := rebuildMap(g, root)
		nh := make([]float64, len(ng.nodes))
		for id, to := range remap {
			if to >= 0 && id < len(heat) {
				nh[to] += heat[id]
			}
		}
		g, root, heat = ng, nroot, nh
	}
	return g, root, heat
}
