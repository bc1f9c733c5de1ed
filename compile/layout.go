package compile

import (
	"slices"
	"sync"

	"github.com/syscage/syscage/bpf"
)

// layout turns the graph into a program. Classic BPF jumps only forward,
// a conditional jump reaches at most 255 instructions ahead, and a load or
// AND continues with the next instruction. So:
//
//   - every load or AND is glued to its successor: the two form a block
//     that must stay contiguous. When two loads share a successor, the
//     second gets a copy of it if it is a test or a return (one
//     instruction, no extra work at run time), else an unconditional jump;
//   - blocks are ordered by a depth-first search that visits the hotter
//     successor last, so that it is placed right after its predecessor
//     (reverse postorder keeps every target after its jumps);
//   - the program is written from its end: every target's position is
//     then known when a jump to it is written. A target beyond 255
//     instructions is reached through a copy of it placed right after the
//     jump when it is a return, or else through a trampoline (JA); either
//     is shared by later jumps to the same target that it is near enough.
//
// layout returns the program and the index of every RET instruction.
func layout(g *graph, root nodeID, heat []float64) (bpf.Program, []int) {
	ws, _ := layoutScratch.Get().(*layoutWork)
	if ws == nil {
		ws = new(layoutWork)
	}
	defer layoutScratch.Put(ws)
	order := g.reachable(root)
	nodes := append(ws.nodes[:0], g.nodes...)

	// Per node: the load or AND glued before it, its block, whether it
	// needs a jump to its successor, and where it was written.
	slots := ws.slots[:0]
	if cap(slots) < len(nodes) {
		slots = make([]slot, len(nodes), 2*len(nodes))
	}
	slots = slots[:len(nodes)]
	defer func() { ws.nodes, ws.slots = nodes, slots }()
	for i := range slots {
		slots[i] = slot{claim: noNode, block: -1, nearest: -1}
		if i < len(heat) {
			slots[i].heat = heat[i]
		}
	}

	// Glue loads and ANDs to their successors.
	for _, id := range order {
		n := &nodes[id]
		if n.kind != kindLoad && n.kind != kindAnd {
			continue
		}
		s := n.t
		if slots[s].claim == noNode {
			slots[s].claim = id
			continue
		}
		if k := nodes[s].kind; k == kindJump || k == kindRet {
			c := nodeID(len(nodes))
			nodes = append(nodes, nodes[s])
			slots = append(slots, slot{claim: id, block: -1, nearest: -1, heat: slots[s].heat})
			nodes[id].t = c
			continue
		}
		slots[id].needGoto = true
	}

	// Blocks: a head and the chain of nodes glued to it, stored flat.
	// Copies are always claimed: only nodes of order head blocks.
	members := ws.members[:0]
	starts := ws.starts[:0]
	tails := ws.tails[:0] // the last node of each block
	defer func() { ws.members, ws.starts, ws.tails = members, starts, tails }()
	for _, id := range order {
		if slots[id].claim != noNode {
			continue
		}
		b := int32(len(starts))
		starts = append(starts, int32(len(members)))
		cur := id
		for {
			members = append(members, cur)
			slots[cur].block = b
			n := &nodes[cur]
			if (n.kind != kindLoad && n.kind != kindAnd) || slots[cur].needGoto {
				break
			}
			cur = n.t
		}
		tails = append(tails, cur)
	}
	starts = append(starts, int32(len(members)))
	nblocks := len(starts) - 1

	// Order blocks: reverse postorder, hotter successor visited last.
	visited := ws.visited[:0]
	if cap(visited) < nblocks {
		visited = make([]bool, nblocks, 2*nblocks)
	}
	visited = visited[:nblocks]
	clear(visited)
	post := ws.post[:0]
	defer func() { ws.visited, ws.post = visited, post }()
	// An explicit stack of blocks and how many of their successors have
	// been visited.
	stack := append(ws.stack[:0], layoutFrame{b: slots[root].block})
	defer func() { ws.stack = stack[:0] }()
	visited[slots[root].block] = true
	for len(stack) > 0 {
		top := &stack[len(stack)-1]
		n := &nodes[tails[top.b]]
		var succ [2]nodeID
		ns := 0
		switch n.kind {
		case kindJump:
			// Visit the colder side first so the hotter one lands next;
			// on a tie the false side (the usual continuation) lands next.
			if slots[n.t].heat > slots[n.f].heat {
				succ[0], succ[1] = n.f, n.t
			} else {
				succ[0], succ[1] = n.t, n.f
			}
			ns = 2
		case kindLoad, kindAnd:
			succ[0] = n.t
			ns = 1
		}
		pushed := false
		for int(top.next) < ns {
			s := succ[top.next]
			top.next++
			if sb := slots[s].block; !visited[sb] {
				visited[sb] = true
				stack = append(stack, layoutFrame{b: sb})
				pushed = true
				break
			}
		}
		if !pushed {
			post = append(post, top.b)
			stack = stack[:len(stack)-1]
		}
	}

	// Write the program backwards. Positions are counted from the end:
	// the last instruction is at 0. slots[x].nearest is the position of
	// the nearest instruction that does what node x does (x itself, a
	// copy, or a trampoline to it).
	rev := make([]bpf.Instruction, 0, len(nodes)+16)
	var retPos []int
	emit := func(ins bpf.Instruction) int32 {
		rev = append(rev, ins)
		if ins.IsReturn() {
			retPos = append(retPos, len(rev)-1)
		}
		return int32(len(rev) - 1)
	}
	// reach makes target reachable by a conditional jump written next.
	reach := func(target nodeID) {
		if len(rev)-int(slots[target].nearest)-1 <= bpf.MaxConditionalJumpRange {
			return
		}
		if n := &nodes[target]; n.kind == kindRet {
			slots[target].nearest = emit(bpf.Ret(n.k))
			return
		}
		slots[target].nearest = emit(bpf.Jump(uint32(len(rev) - int(slots[target].nearest) - 1)))
	}
	for _, b := range post { // postorder: the last block of the program first
		bl := members[starts[b]:starts[b+1]]
		for j := len(bl) - 1; j >= 0; j-- {
			id := bl[j]
			n := &nodes[id]
			switch n.kind {
			case kindRet:
				slots[id].nearest = emit(bpf.Ret(n.k))
			case kindLoad, kindAnd:
				if slots[id].needGoto {
					emit(bpf.Jump(uint32(len(rev) - int(slots[n.t].nearest) - 1)))
				}
				slots[id].nearest = emit(n.instruction())
			case kindJump:
				reach(n.t)
				reach(n.f)
				here := len(rev)
				ins := n.instruction()
				ins.Jt = uint8(here - int(slots[n.t].nearest) - 1)
				ins.Jf = uint8(here - int(slots[n.f].nearest) - 1)
				slots[id].nearest = emit(ins)
			}
		}
	}
	slices.Reverse(rev)
	for i, p := range retPos {
		retPos[i] = len(rev) - 1 - p
	}
	return bpf.Program(rev), retPos
}

// slot is what layout knows of a node: the load or AND glued before it,
// its block, whether it needs a jump to its successor, and where the
// nearest instruction doing its work was written.
type slot struct {
	claim    nodeID
	block    int32
	nearest  int32
	needGoto bool
	heat     float64
}

// layoutFrame is a block on layout's depth-first search stack and how
// many of its successors have been visited.
type layoutFrame struct {
	b    int32
	next int8
}

// layoutWork holds layout's scratch buffers between compilations.
type layoutWork struct {
	nodes   []node
	slots   []slot
	members []nodeID
	starts  []int32
	tails   []nodeID
	stack   []layoutFrame
	visited []bool
	post    []int32
}

var layoutScratch sync.Pool
