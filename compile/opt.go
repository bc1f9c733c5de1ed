package compile

import (
	"sync"

	"github.com/syscage/syscage/bpf"
)

// The optimiser works on edges. For every edge of the graph it knows what
// holds when control passes along it: which word A contains, and for each
// word of seccomp_data the facts the tests on the way have established (a
// range, bits known set or clear, a few values it is not). An edge whose
// target is a load of the word A already holds, or a test these facts
// decide, is redirected past it (jump threading and redundant-load
// removal are the same move). Facts meet where paths join, so a shared
// node keeps only what holds on all its incoming edges; the edges into it
// are still threaded one by one. Redirected graphs are rebuilt through
// the hash-consing builder, which drops unreachable nodes and merges the
// nodes that became equal.

// maxNotEqual bounds the "is not v" facts kept per word.
const maxNotEqual = 4

// fact is what is known about one 32-bit word of seccomp_data.
type fact struct {
	lo, hi      uint32 // lo <= word <= hi
	ones, zeros uint32 // bits known set, known clear
	ne          [maxNotEqual]uint32
	nne         uint8 // how many of ne hold
}

var unknownFact = fact{lo: 0, hi: ^uint32(0)}

// accContent says what A holds: word (index into the optimiser's word
// table) masked by mask, or nothing known when word < 0.
type accContent struct {
	word int8
	mask uint32
}

var accUnknown = accContent{word: -1}

// state is what holds on an edge.
type state struct {
	acc   accContent
	facts []fact // indexed like optimiser.words
}

type optimiser struct {
	g     *graph
	words []uint32 // the seccomp_data offsets the graph loads
	index [bpf.SeccompDataSize / 4]int8
}

// optimise threads the code reachable from roots to a fixed point and
// returns the rebuilt graph with, for each node of g, where it went
// (noNode for nodes not reachable from roots).
func optimise(g *graph, roots []nodeID) (*graph, []nodeID) {
	total := make([]nodeID, len(g.nodes))
	for i := range total {
		total[i] = nodeID(i)
	}
	for round := 0; round < 4; round++ {
		o := newOptimiser(g, roots)
		changed := o.thread(roots)
		if !changed && round > 0 {
			break
		}
		ng, remap := rebuild(g, roots)
		for i, id := range total {
			if id != noNode {
				total[i] = remap[id]
			}
		}
		for i, r := range roots {
			roots[i] = remap[r]
		}
		g.free()
		g = ng
		if !changed {
			// The rebuilt graph is the same code without the nodes no
			// root reaches: threading it again would find nothing.
			break
		}
	}
	return g, total
}

func newOptimiser(g *graph, roots []nodeID) *optimiser {
	o := &optimiser{g: g}
	for i := range o.index {
		o.index[i] = -1
	}
	for _, id := range g.reachable(roots...) {
		n := &g.nodes[id]
		if n.kind == kindLoad && o.index[n.k/4] < 0 {
			o.index[n.k/4] = int8(len(o.words))
			o.words = append(o.words, n.k)
		}
	}
	return o
}

func (s *state) copyFrom(t *state) {
	s.acc = t.acc
	copy(s.facts, t.facts)
}

// meet keeps in s what holds in both s and t.
func (s *state) meet(t *state) {
	if s.acc != t.acc {
		s.acc = accUnknown
	}
	for i := range s.facts {
		a, b := &s.facts[i], &t.facts[i]
		a.lo = min(a.lo, b.lo)
		a.hi = max(a.hi, b.hi)
		a.ones &= b.ones
		a.zeros &= b.zeros
		n := uint8(0)
		for _, v := range a.ne[:a.nne] {
			if b.excludes(v) {
				a.ne[n] = v
				n++
			}
		}
		a.nne = n
	}
}

// excludes reports whether the facts rule out the value v.
func (f *fact) excludes(v uint32) bool {
	if v < f.lo || v > f.hi || v&f.zeros != 0 || f.ones&^v != 0 {
		return true
	}
	for _, x := range f.ne[:f.nne] {
		if x == v {
			return true
		}
	}
	return false
}

// decide returns whether the test A op k is decided by s, and how.
func (o *optimiser) decide(s *state, op uint16, k uint32) (decided, outcome bool) {
	if s.acc.word < 0 {
		return false, false
	}
	f := &s.facts[s.acc.word]
	m := s.acc.mask
	if m != ^uint32(0) {
		// A holds word & m: only the known bits speak.
		known := (f.ones | f.zeros) & m
		ones := f.ones & m
		switch op {
		case bpf.JmpJEQ:
			if ones&^k != 0 || f.zeros&m&k != 0 || k&^m != 0 {
				return true, false
			}
			if known == m {
				return true, ones == k
			}
		case bpf.JmpJSET:
			if ones&k != 0 {
				return true, true
			}
			if k&m&^f.zeros == 0 {
				return true, false
			}
		}
		return false, false
	}
	switch op {
	case bpf.JmpJEQ:
		if f.excludes(k) {
			return true, false
		}
		if f.lo == k && f.hi == k || f.ones|f.zeros == ^uint32(0) {
			return true, true
		}
	case bpf.JmpJGT:
		if f.lo > k {
			return true, true
		}
		if f.hi <= k {
			return true, false
		}
	case bpf.JmpJGE:
		if f.lo >= k {
			return true, true
		}
		if f.hi < k {
			return true, false
		}
	case bpf.JmpJSET:
		if f.ones&k != 0 {
			return true, true
		}
		if k&^f.zeros == 0 {
			return true, false
		}
	}
	return false, false
}

// refine records in s the outcome of the test A op k.
func (o *optimiser) refine(s *state, op uint16, k uint32, outcome bool) {
	if s.acc.word < 0 {
		return
	}
	f := &s.facts[s.acc.word]
	m := s.acc.mask
	if m != ^uint32(0) {
		switch {
		case op == bpf.JmpJEQ && outcome:
			f.ones |= k
			f.zeros |= m &^ k
		case op == bpf.JmpJSET && !outcome:
			f.zeros |= k & m
		case op == bpf.JmpJSET && outcome && singleBit(k&m):
			f.ones |= k & m
		}
		f.tighten()
		return
	}
	switch op {
	case bpf.JmpJEQ:
		if outcome {
			f.lo, f.hi, f.ones, f.zeros = k, k, k, ^k
		} else {
			switch {
			case k == f.lo && k != f.hi:
				f.lo++
			case k == f.hi && k != f.lo:
				f.hi--
			case f.nne < maxNotEqual:
				f.ne[f.nne] = k
				f.nne++
			}
		}
	case bpf.JmpJGT:
		if outcome {
			f.lo = max(f.lo, k+1)
		} else {
			f.hi = min(f.hi, k)
		}
	case bpf.JmpJGE:
		if outcome {
			f.lo = max(f.lo, k)
		} else {
			f.hi = min(f.hi, k-1)
		}
	case bpf.JmpJSET:
		if !outcome {
			f.zeros |= k
		} else if singleBit(k) {
			f.ones |= k
		}
	}
	f.tighten()
}

// tighten narrows the range with the known bits.
func (f *fact) tighten() {
	f.lo = max(f.lo, f.ones)
	f.hi = min(f.hi, ^f.zeros)
}

// threadWork holds thread's buffers between compilations.
type threadWork struct {
	states []state
	have   []bool
	facts  []fact
}

var threadScratch sync.Pool

// grow returns (*buf)[:n], reallocating when it is too small.
func grow[T any](buf *[]T, n int) []T {
	if cap(*buf) < n {
		*buf = make([]T, n, n+n/2)
	}
	return (*buf)[:n]
}

// thread redirects edges past loads and tests that the facts on the edge
// make useless. It reports whether any edge moved.
func (o *optimiser) thread(roots []nodeID) bool {
	g := o.g
	order := g.reachable(roots...)
	ws, _ := threadScratch.Get().(*threadWork)
	if ws == nil {
		ws = new(threadWork)
	}
	defer threadScratch.Put(ws)
	states := grow(&ws.states, len(g.nodes))
	have := grow(&ws.have, len(g.nodes))
	clear(have)
	buf := grow(&ws.facts, len(o.words)*(len(order)+len(roots)+2))
	alloc := func() state {
		s := state{acc: accUnknown, facts: buf[:len(o.words):len(o.words)]}
		buf = buf[len(o.words):]
		return s
	}
	// Code is entered from the search tree knowing nothing of the
	// arguments.
	for _, root := range roots {
		if have[root] {
			continue
		}
		states[root] = alloc()
		for i := range states[root].facts {
			states[root].facts[i] = unknownFact
		}
		have[root] = true
	}
	out, best := alloc(), alloc()
	changed := false

	// flow sends state out along the edge *succ, threading it first.
	flow := func(succ *nodeID) {
		to := o.follow(*succ, &out, &best)
		if to != *succ {
			changed = true
			*succ = to
		}
		if have[to] {
			states[to].meet(&best)
			return
		}
		states[to] = alloc()
		states[to].copyFrom(&best)
		have[to] = true
	}
	for _, id := range order {
		if !have[id] {
			continue // no edge reaches it any more
		}
		st := &states[id]
		n := &g.nodes[id]
		switch n.kind {
		case kindLoad:
			out.copyFrom(st)
			out.acc = accContent{word: o.index[n.k/4], mask: ^uint32(0)}
			flow(&n.t)
		case kindAnd:
			out.copyFrom(st)
			if out.acc.word >= 0 {
				out.acc.mask &= n.k
			}
			flow(&n.t)
		case kindJump:
			out.copyFrom(st)
			o.refine(&out, n.op, n.k, true)
			flow(&n.t)
			out.copyFrom(st)
			o.refine(&out, n.op, n.k, false)
			flow(&n.f)
		}
	}
	return changed
}

// follow walks from target along the outcomes s decides and returns the
// farthest node the edge may go to instead, with the state there in best.
// A load of a word A does not hold cannot be skipped by itself, but it
// can when everything after it up to the next load or return is decided:
// then the loaded value is never read.
func (o *optimiser) follow(target nodeID, s, best *state) nodeID {
	real := s.acc // what A holds on the edge
	to := target
	best.copyFrom(s)
	for {
		n := &o.g.nodes[target]
		inSync := s.acc == real
		switch n.kind {
		case kindRet:
			if target != to {
				to = target
				best.copyFrom(s)
			}
			return to
		case kindLoad:
			// A load does not read A, so the edge may always go here.
			if target != to {
				to = target
				best.copyFrom(s)
			}
			s.acc = accContent{word: o.index[n.k/4], mask: ^uint32(0)}
			target = n.t
			if s.acc == real {
				to = target
				best.copyFrom(s)
			}
		case kindAnd:
			if !inSync || s.acc.word < 0 {
				return to
			}
			if target != to {
				to = target
				best.copyFrom(s)
			}
			if s.acc.mask&^n.k != 0 {
				return to // the mask changes A
			}
			target = n.t
			to = target
			best.copyFrom(s)
		case kindJump:
			if inSync && target != to {
				to = target
				best.copyFrom(s)
			}
			decided, outcome := o.decide(s, n.op, n.k)
			if !decided {
				return to
			}
			if outcome {
				target = n.t
			} else {
				target = n.f
			}
			if inSync {
				to = target
				best.copyFrom(s)
			}
		}
	}
}

// rebuild copies the graph reachable from roots into a fresh graph
// through the hash-consing builder: unreachable nodes disappear and nodes
// that threading made equal merge. It returns where each old node went
// (noNode: dropped).
func rebuild(g *graph, roots []nodeID) (*graph, []nodeID) {
	ng := newGraph(len(g.nodes))
	order := g.reachable(roots...)
	remap := make([]nodeID, len(g.nodes))
	for i := range remap {
		remap[i] = noNode
	}
	for i := len(order) - 1; i >= 0; i-- {
		id := order[i]
		n := g.nodes[id]
		switch n.kind {
		case kindRet:
			remap[id] = ng.ret(n.k)
		case kindLoad:
			remap[id] = ng.load(n.k, remap[n.t])
		case kindAnd:
			remap[id] = ng.and(n.k, remap[n.t])
		case kindJump:
			remap[id] = ng.jump(n.op, n.k, remap[n.t], remap[n.f])
		}
	}
	return ng, remap
}
