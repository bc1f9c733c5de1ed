package compile

import (
	"sync"

	"github.com/syscage/syscage/bpf"
)

// nodeID names a node of a graph.
type nodeID int32

const noNode nodeID = -1

// nodeKind is what a node does.
type nodeKind uint8

const (
	kindRet  nodeKind = iota // return k
	kindLoad                 // A = word of seccomp_data at offset k; then t
	kindAnd                  // A &= k; then t
	kindJump                 // if A op k then t else f
)

// node is one instruction of the filter before layout: jumps name their
// targets rather than offsets, and a load or AND names the node that must
// follow it.
type node struct {
	kind nodeKind
	op   uint16 // kindJump: bpf.JmpJEQ, JmpJGT, JmpJGE or JmpJSET
	k    uint32
	t, f nodeID
}

// graph is a filter as a directed acyclic graph of nodes. Nodes are
// hash-consed: building a node equal to an existing one (same instruction,
// same successors) returns the existing one, so equal decision code is
// shared wherever it occurs, return blocks included. Successors are always
// built before their predecessors, so node IDs decrease along every path
// and ascending ID order is a reverse topological order.
type graph struct {
	nodes []node
	// cons is an open-addressing hash table of node IDs plus one (0 is
	// an empty slot); its length is a power of two, at most half full.
	cons  []int32
	nused int
	// rets caches the return nodes, of which there are few but which
	// every syscall's code asks for.
	rets  []node
	seen  []bool   // reachable's scratch
	order []nodeID // reachable's result, valid until its next call
}

// graphs recycles graphs: a compilation builds a few and drops them, and
// reusing their buffers keeps compiling many policies off the heap.
var graphs sync.Pool

func newGraph(sizeHint int) *graph {
	size := 64
	for size < 2*sizeHint {
		size *= 2
	}
	g, _ := graphs.Get().(*graph)
	if g == nil {
		return &graph{nodes: make([]node, 0, sizeHint), cons: make([]int32, size)}
	}
	g.nodes, g.rets, g.nused = g.nodes[:0], g.rets[:0], 0
	if cap(g.cons) >= size {
		// Keep the table the graph grew to last time: it will likely
		// need it again.
		g.cons = g.cons[:cap(g.cons)]
		clear(g.cons)
	} else {
		g.cons = make([]int32, size)
	}
	return g
}

// free hands the graph's buffers back for reuse; g must not be used
// after.
func (g *graph) free() { graphs.Put(g) }

func (n *node) hash() uint32 {
	h := uint64(n.kind)<<56 ^ uint64(n.op)<<40 ^ uint64(n.k)
	h ^= (uint64(uint32(n.t))<<32 | uint64(uint32(n.f))) * 0x9e3779b97f4a7c15
	h *= 0xff51afd7ed558ccd
	return uint32(h >> 32)
}

func (g *graph) intern(n node) nodeID {
	if 2*(g.nused+1) > len(g.cons) {
		g.grow()
	}
	mask := uint32(len(g.cons) - 1)
	for i := n.hash() & mask; ; i = (i + 1) & mask {
		v := g.cons[i]
		if v == 0 {
			id := nodeID(len(g.nodes))
			g.nodes = append(g.nodes, n)
			g.cons[i] = int32(id) + 1
			g.nused++
			return id
		}
		if g.nodes[v-1] == n {
			return nodeID(v - 1)
		}
	}
}

func (g *graph) grow() {
	old := g.cons
	g.cons = make([]int32, 2*len(old))
	mask := uint32(len(g.cons) - 1)
	for _, v := range old {
		if v == 0 {
			continue
		}
		i := g.nodes[v-1].hash() & mask
		for g.cons[i] != 0 {
			i = (i + 1) & mask
		}
		g.cons[i] = v
	}
}

// ret returns a node that returns k.
func (g *graph) ret(k uint32) nodeID {
	for _, r := range g.rets {
		if r.k == k {
			return r.t
		}
	}
	id := g.intern(node{kind: kindRet, k: k, t: noNode, f: noNode})
	g.rets = append(g.rets, node{k: k, t: id})
	return id
}

// load returns a node loading the word at off, then going to next. A load
// whose value nobody reads is dropped.
func (g *graph) load(off uint32, next nodeID) nodeID {
	switch g.nodes[next].kind {
	case kindRet, kindLoad:
		return next
	}
	return g.intern(node{kind: kindLoad, k: off, t: next, f: noNode})
}

// and returns a node masking A with m, then going to next.
func (g *graph) and(m uint32, next nodeID) nodeID {
	switch g.nodes[next].kind {
	case kindRet, kindLoad:
		return next
	}
	return g.intern(node{kind: kindAnd, k: m, t: next, f: noNode})
}

// jump returns a node testing A op k. Tests whose outcome does not depend
// on A collapse to the target they always take.
func (g *graph) jump(op uint16, k uint32, t, f nodeID) nodeID {
	switch {
	case t == f:
		return t
	case op == bpf.JmpJGT && k == ^uint32(0), op == bpf.JmpJSET && k == 0:
		return f
	case op == bpf.JmpJGE && k == 0:
		return t
	}
	return g.intern(node{kind: kindJump, op: op, k: k, t: t, f: f})
}

// fresh is jump for nodes known to be new, such as the inner nodes of a
// search tree: it skips the hash-consing table.
func (g *graph) fresh(op uint16, k uint32, t, f nodeID) nodeID {
	if t == f {
		return t
	}
	id := nodeID(len(g.nodes))
	g.nodes = append(g.nodes, node{kind: kindJump, op: op, k: k, t: t, f: f})
	return id
}

// test loads the word at off and tests it.
func (g *graph) test(off uint32, op uint16, k uint32, t, f nodeID) nodeID {
	return g.load(off, g.jump(op, k, t, f))
}

// instruction returns the BPF instruction of a node, jump offsets zero.
func (n *node) instruction() bpf.Instruction {
	switch n.kind {
	case kindRet:
		return bpf.Ret(n.k)
	case kindLoad:
		return bpf.LoadAbs(n.k)
	case kindAnd:
		return bpf.ALUK(bpf.AluAnd, n.k)
	}
	return bpf.JumpIf(n.op, n.k, 0, 0)
}

// reachable returns the nodes reachable from roots in a topological order
// (every node before its successors), found by descending ID. The slice
// is the graph's and valid until the next call.
func (g *graph) reachable(roots ...nodeID) []nodeID {
	if cap(g.seen) < len(g.nodes) {
		g.seen = make([]bool, len(g.nodes), 2*len(g.nodes))
	}
	seen := g.seen[:len(g.nodes)]
	clear(seen)
	top := noNode
	for _, r := range roots {
		seen[r] = true
		top = max(top, r)
	}
	out := g.order[:0]
	for id := top; id >= 0; id-- {
		if !seen[id] {
			continue
		}
		out = append(out, id)
		n := &g.nodes[id]
		if n.t >= 0 {
			seen[n.t] = true
		}
		if n.f >= 0 {
			seen[n.f] = true
		}
	}
	g.order = out
	return out
}
