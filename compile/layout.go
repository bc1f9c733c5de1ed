package compile

import (
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
// layout returns the program and, for each RET instruction, its value.
func layout(g *graph, root nodeID, heat []float64) (bpf.Program, map[int]uint32) {
	order := g.reachable(root)
	nodes := append([]node(nil), g.nodes...)
	heat = append(heat[:len(heat):len(heat)], make([]float64, max(0, len(nodes)-len(heat)))...)

	// Glue loads and ANDs to their successors.
	claim := make([]nodeID, len(nodes), len(nodes)+16)
	for i := range claim {
		claim[i] = noNode
	}
	needGoto := make([]bool, len(nodes), len(nodes)+16)
	for _, id := range order {
		n := &nodes[id]
		if n.kind != kindLoad && n.kind != kindAnd {
			continue
		}
		s := n.t
		if claim[s] == noNode {
			claim[s] = id
			continue
		}
		if k := nodes[s].kind; k == kindJump || k == kindRet {
			c := nodeID(len(nodes))
			nodes = append(nodes, nodes[s])
			claim = append(claim, id)
			needGoto = append(needGoto, false)
			heat = append(heat, heat[s])
			nodes[id].t = c
			continue
		}
		needGoto[id] = true
	}

	// Blocks: a head and the chain of nodes glued to it.
	blockOf := make([]int32, len(nodes))
	for i := range blockOf {
		blockOf[i] = -1
	}
	var blocks [][]nodeID
	heads := append([]nodeID(nil), order...)
	for id := nodeID(len(g.nodes)); id < nodeID(len(nodes)); id++ {
		heads = append(heads, id)
	}
	for _, id := range heads {
		if claim[id] != noNode {
			continue
		}
		b := []nodeID{id}
		for cur := id; ; {
			n := &nodes[cur]
			if (n.kind != kindLoad && n.kind != kindAnd) || needGoto[cur] {
				break
			}
			cur = n.t
			b = append(b, cur)
		}
		for _, x := range b {
			blockOf[x] = int32(len(blocks))
		}
		blocks = append(blocks, b)
	}

	// Order blocks: reverse postorder, hotter successor visited last.
	visited := make([]bool, len(blocks))
	post := make([]int32, 0, len(blocks))
	var visit func(b int32)
	visit = func(b int32) {
		visited[b] = true
		last := blocks[b][len(blocks[b])-1]
		n := &nodes[last]
		var succ [2]nodeID
		ns := 0
		switch n.kind {
		case kindJump:
			// Visit the colder side first so the hotter one lands next;
			// on a tie the false side (the usual continuation) lands next.
			if heat[n.t] > heat[n.f] {
				succ[0], succ[1] = n.f, n.t
			} else {
				succ[0], succ[1] = n.t, n.f
			}
			ns = 2
		case kindLoad, kindAnd:
			succ[0] = n.t
			ns = 1
		}
		for _, s := range succ[:ns] {
			if sb := blockOf[s]; !visited[sb] {
				visit(sb)
			}
		}
		post = append(post, b)
	}
	visit(blockOf[root])

	// Write the program backwards. pos is counted from the end: the last
	// instruction is at 0. nearest[x] is the position of the nearest
	// instruction that does what node x does (x itself, a copy, or a
	// trampoline to it).
	rev := make([]bpf.Instruction, 0, len(nodes)+16)
	nearest := make([]int, len(nodes))
	for i := range nearest {
		nearest[i] = -1
	}
	retPos := map[int]uint32{}
	emit := func(ins bpf.Instruction) int {
		rev = append(rev, ins)
		if ins.IsReturn() {
			retPos[len(rev)-1] = ins.K
		}
		return len(rev) - 1
	}
	// reach makes target reachable by a conditional jump written next.
	reach := func(target nodeID) {
		if len(rev)-nearest[target]-1 <= bpf.MaxConditionalJumpRange {
			return
		}
		if n := &nodes[target]; n.kind == kindRet {
			nearest[target] = emit(bpf.Ret(n.k))
			return
		}
		nearest[target] = emit(bpf.Jump(uint32(len(rev) - nearest[target] - 1)))
	}
	for i := 0; i < len(post); i++ { // post is reversed RPO: last block first
		b := blocks[post[i]]
		for j := len(b) - 1; j >= 0; j-- {
			id := b[j]
			n := &nodes[id]
			switch n.kind {
			case kindRet:
				nearest[id] = emit(bpf.Ret(n.k))
			case kindLoad, kindAnd:
				if needGoto[id] {
					if t := &nodes[n.t]; t.kind == kindRet {
						emit(bpf.Ret(t.k))
					} else {
						emit(bpf.Jump(uint32(len(rev) - nearest[n.t] - 1)))
					}
				}
				nearest[id] = emit(n.instruction())
			case kindJump:
				reach(n.t)
				reach(n.f)
				here := len(rev)
				ins := n.instruction()
				ins.Jt = uint8(here - nearest[n.t] - 1)
				ins.Jf = uint8(here - nearest[n.f] - 1)
				nearest[id] = emit(ins)
			}
		}
	}
	prog := make(bpf.Program, len(rev))
	for i, ins := range rev {
		prog[len(rev)-1-i] = ins
	}
	rets := make(map[int]uint32, len(retPos))
	for p, k := range retPos {
		rets[len(rev)-1-p] = k
	}
	return prog, rets
}
