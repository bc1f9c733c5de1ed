package compile

import (
	"encoding/binary"
	"slices"
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
//
// It works in two phases. First the decision code of every number is
// built and optimised on its own: that is where the arguments are
// tested, and what the optimiser can improve. Runs are formed from the
// optimised code, so numbers whose code became equal share a run. Then the
// search trees and the arch dispatch are built over the runs.
func (m *model) program(own *ownership) (bpf.Program, map[int][]Origin) {
	g := newGraph(256)
	l := &m.low
	l.g, l.big = g, m.big
	defer func() { l.g = nil }()
	allow := g.ret(bpf.RetAllow)
	clear(m.codes)
	groupRuns := make([][]run, len(m.groups))
	roots := m.roots[:0]
	defer func() { m.roots = roots[:0] }()
	seen := m.seen[:0]
	defer func() { m.seen = seen[:0] }()
	conditional := false
	for gi, grp := range m.groups {
		sp := spanAll
		if own != nil {
			sp = own.spans[gi]
		}
		for len(m.runBufs) <= gi {
			m.runBufs = append(m.runBufs, nil)
		}
		runs, uncond := m.runs(g, l, grp, sp, allow, m.runBufs[gi][:0])
		m.runBufs[gi] = runs
		if own == nil {
			m.uncond += uncond
		}
		for len(seen) < len(g.nodes) {
			seen = append(seen, false)
		}
		for _, r := range runs {
			if !seen[r.code] {
				seen[r.code] = true
				roots = append(roots, r.code)
				conditional = conditional || g.nodes[r.code].kind != kindRet
			}
		}
		groupRuns[gi] = runs
	}
	if conditional {
		var remap []nodeID
		g, remap = optimise(g, roots)
		for gi, runs := range groupRuns {
			groupRuns[gi] = remapRuns(g, runs, remap)
		}
	}

	next := g.ret(m.badArch)
	if own != nil && !own.badArch {
		next = g.ret(bpf.RetAllow)
	}
	heat := m.heat[:0]
	defer func() { m.heat = heat }()
	for gi := len(m.groups) - 1; gi >= 0; gi-- {
		runs := groupRuns[gi]
		if own == nil {
			m.runCount += len(runs)
		}
		tree := searchTree(g, runs, gi == 0, &m.tree)
		heat = noteHeat(g, heat, runs, tree)
		next = g.jump(bpf.JmpJEQ, m.groups[gi].audit, g.load(bpf.OffsetNr, tree), next)
	}
	root := g.load(bpf.OffsetArch, next)
	if n := len(g.nodes) - len(heat); n > 0 {
		heat = append(heat, make([]float64, n)...)
	}
	prog, rets := layout(g, root, heat)
	g.free()
	origins := make(map[int][]Origin, len(rets))
	for _, idx := range rets {
		k := prog[idx].K
		if own != nil && k == bpf.RetAllow {
			origins[idx] = append([]Origin{{Kind: FromElsewhere}}, m.origins(k)...)
			continue
		}
		origins[idx] = m.origins(k)
	}
	return prog, origins
}

// remapRuns moves runs to the optimised graph: their codes are renamed,
// rets are looked up again, and neighbours whose code became equal merge.
func remapRuns(g *graph, runs []run, remap []nodeID) []run {
	out := runs[:0]
	for _, r := range runs {
		r.code = remap[r.code]
		if n := len(out); n > 0 && out[n-1].code == r.code {
			out[n-1].hi = r.hi
			out[n-1].weight += r.weight
			continue
		}
		out = append(out, r)
	}
	return out
}

// runBuilder collects runs: adjacent segments with the same code merge.
// The last run stays open in cur, out of the slice, while segments merge
// into it: most segments do.
type runBuilder struct {
	out   []run
	cur   run
	open  bool // cur holds a run
	own   span // the numbers this filter decides; the rest go to allow
	all   bool // own is every number
	allow nodeID
}

func (b *runBuilder) add(lo, hi uint64, code nodeID, w float64) {
	if b.open && b.cur.code == code && uint64(b.cur.hi)+1 == lo {
		b.cur.hi = uint32(hi)
		b.cur.weight += w
		return
	}
	if b.open {
		b.out = append(b.out, b.cur)
	}
	b.cur, b.open = run{lo: uint32(lo), hi: uint32(hi), code: code, weight: w}, true
}

// finish returns the runs.
func (b *runBuilder) finish() []run {
	if b.open {
		b.out = append(b.out, b.cur)
		b.open = false
	}
	return b.out
}

// addOwned adds a segment, sending the part outside own to allow.
func (b *runBuilder) addOwned(lo, hi uint64, code nodeID, w float64) {
	if b.all {
		b.add(lo, hi, code, w)
		return
	}
	own := b.own
	if own.lo > own.hi || hi < own.lo || lo > own.hi {
		b.add(lo, hi, b.allow, tinyWeight)
		return
	}
	if lo < own.lo {
		b.add(lo, own.lo-1, b.allow, tinyWeight)
		lo = own.lo
	}
	end := min(hi, own.hi)
	b.add(lo, end, code, w)
	if hi > end {
		b.add(end+1, hi, b.allow, tinyWeight)
	}
}

// runs lists the runs of one group's number space, appending to buf.
// Numbers outside own go to allow. It also counts the known syscalls
// allowed whatever their arguments.
func (m *model) runs(g *graph, l *lowerer, grp *group, own span, allow nodeID, buf []run) (out []run, uncond int) {
	b := &runBuilder{own: own, all: own == spanAll, allow: allow, out: buf}
	bad := g.ret(m.badArch)
	for _, rg := range grp.regions {
		am := grp.models[rg.member]
		if am == nil {
			b.addOwned(uint64(rg.lo), uint64(rg.hi), bad, tinyWeight)
			continue
		}
		// The frequencies describe the first architecture; processes of
		// the others are rare on its machines, so their syscalls weigh
		// little next to its own (the trees of other AUDIT_ARCH values
		// are built on their own, where only relative weights count).
		scale := 1.0
		if grp != m.groups[0] || am != firstModel(grp) {
			scale = 1e-3
		}
		unk, def := g.ret(am.unkRet), g.ret(am.defRet)
		cur := uint64(rg.lo)
		tab := am.tab
		ti := sort.Search(len(tab.nrs), func(i int) bool { return tab.nrs[i] >= rg.lo })
		xi := sort.Search(len(am.extraNrs), func(i int) bool { return am.extraNrs[i] >= rg.lo })
		// The ret node of the last unconditional rule met: most chains
		// are one such rule, and few actions recur.
		lastRet, lastNode := am.defRet, def
		// chainCode is the node of the chain cl, fb when it holds no rule.
		chainCode := func(cl chainLinks, fb nodeID) nodeID {
			if cl.first == 0 {
				return fb
			}
			if e := &am.arena[cl.first]; e.cond == 0 {
				if e.ret != lastRet {
					lastRet, lastNode = e.ret, g.ret(e.ret)
				}
				return lastNode
			}
			return m.code(g, l, am, cl, fb)
		}
		for {
			if b.all {
				// A short path for the table's numbers up to the next
				// number outside the table that a rule names: the loop
				// below without its choices.
				end := uint64(rg.hi) + 1
				if xi < len(am.extraNrs) {
					end = min(end, uint64(am.extraNrs[xi]))
				}
				for ti < len(tab.nrs) && uint64(tab.nrs[ti]) < end {
					nr := uint64(tab.nrs[ti])
					if nr > cur {
						b.add(cur, nr-1, unk, tinyWeight)
					}
					w := tinyWeight + m.weight(tab, ti)*scale
					code := chainCode(am.chains[ti], def)
					ti++
					if code == allow {
						uncond++
					}
					b.add(nr, nr, code, w)
					cur = nr + 1
				}
			}
			// The next number with a decision of its own: from the table
			// or named by a rule.
			tnr, xnr := uint64(1)<<32, uint64(1)<<32
			if ti < len(tab.nrs) {
				tnr = uint64(tab.nrs[ti])
			}
			if xi < len(am.extraNrs) {
				xnr = uint64(am.extraNrs[xi])
			}
			nr := min(tnr, xnr)
			if nr > uint64(rg.hi) {
				break
			}
			if nr > cur {
				b.addOwned(cur, nr-1, unk, tinyWeight)
			}
			known := tnr < xnr
			w := tinyWeight
			var cl chainLinks
			fb := unk
			if known {
				w += m.weight(tab, ti) * scale
				cl = am.chains[ti]
				fb = def
				ti++
			} else {
				cl = am.extra[uint32(nr)]
				xi++
			}
			// Most syscalls have no rule or one without condition.
			code := chainCode(cl, fb)
			if known && code == allow {
				uncond++
			}
			b.addOwned(nr, nr, code, w)
			cur = nr + 1
		}
		if cur <= uint64(rg.hi) {
			b.addOwned(cur, uint64(rg.hi), unk, tinyWeight)
		}
	}
	return b.finish(), uncond
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

// code builds the first-match chain cl of one syscall of am: each
// applicable rule's condition, in order, the fallback fb last.
func (m *model) code(g *graph, l *lowerer, am *archModel, cl chainLinks, fb nodeID) nodeID {
	ch := m.scratch[:0]
	for e := cl.first; e != 0; e = am.arena[e].next {
		ch = append(ch, am.arena[e])
	}
	m.scratch = ch
	fbRet := g.nodes[fb].k
	// Chains with the same conditions and actions have the same code;
	// another architecture has often built it already.
	key := m.codeKey[:0]
	for _, e := range ch {
		key = binary.LittleEndian.AppendUint32(key, uint32(e.cond))
		key = binary.LittleEndian.AppendUint32(key, e.ret)
	}
	key = binary.LittleEndian.AppendUint32(key, fbRet)
	m.codeKey = key
	if id, ok := m.codes[string(key)]; ok {
		return id
	}
	next := fb
	for i := len(ch) - 1; i >= 0; {
		// Rules whose conditions are range sets on one argument are
		// searched together.
		arg, wide, set, _, ok := intervals(m.conds[ch[i].cond])
		if ok && i > 0 {
			pieces := append(l.pieces[:0], piece{set, g.ret(ch[i].ret)})
			j := i - 1
			for ; j >= 0; j-- {
				a, w, s, _, ok := intervals(m.conds[ch[j].cond])
				if !ok || a != arg || w != wide {
					break
				}
				pieces = append(pieces, piece{s, g.ret(ch[j].ret)})
			}
			l.pieces = pieces
			if len(pieces) >= 3 {
				slices.Reverse(pieces)
				next = l.piecewise(arg, wide, pieces, next)
				i = j
				continue
			}
		}
		next = l.cond(m.conds[ch[i].cond], g.ret(ch[i].ret), next)
		i--
	}
	m.codes[string(key)] = next
	return next
}

// noteHeat records how much of the mix passes through each node of the
// search tree and the code below it, for layout to keep hot paths short.
func noteHeat(g *graph, heat []float64, runs []run, root nodeID) []float64 {
	if n := len(g.nodes) - len(heat); n > 0 {
		heat = append(heat, make([]float64, n)...)
	}
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

// weight returns the frequency of syscall i of a table.
func (m *model) weight(tab *table, i int) float64 {
	if m.bundled {
		return tab.bundled[i]
	}
	return m.freq[tab.names[i]]
}
