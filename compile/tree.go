package compile

import (
	"math"
	"math/bits"

	"github.com/syscage/syscage/bpf"
)

// run is a maximal range of syscall numbers (under one AUDIT_ARCH value)
// that share one decision: the same code decides them all, so one leaf of
// the search tree serves them.
type run struct {
	lo, hi uint32
	code   nodeID
	weight float64 // share of syscalls expected to fall in the run
}

// The search tree is built in two tiers, so that compiling stays fast
// while hot syscalls get the tree an optimal algorithm would give them.
// Runs that carry at least hotShare of the weight are items of their own;
// the cold runs between two hot ones form one item, a block. An optimal
// alphabetic tree is computed over the items (Knuth's O(n^2) dynamic
// programme, valid for these costs by Yao's quadrangle inequality), and
// each block is searched by a balanced tree. Both tiers replace a subtree
// by a chain of JEQ tests where a run is interrupted by a few single
// numbers: that decides the holes and the background with fewer
// comparisons than any alphabetic tree.
const (
	hotShare = 1.0 / 512
	// maxItems bounds the dynamic programme; with more hot runs than this
	// (a flat frequency profile) the items are split by weight bisection.
	maxItems = 96
	// maxHoles bounds the JEQ chains considered.
	maxHoles = 3
)

// blockFloors are the weights blocks are given in turn, in multiples of
// their share of the runs, until the tree is shallow enough.
var blockFloors = []float64{0.5, 2, 16}

// depthLimit is the most comparisons the search tree may make for n runs:
// two more than a balanced tree, about what a binary tree over every
// syscall with a rule (as libseccomp builds) makes.
func depthLimit(n int) int {
	return bits.Len(uint(n-1)) + 2
}

// item is a leaf of the optimal tier: one hot run, or a block of cold
// runs.
type item struct {
	first, last int     // runs covered
	w           float64 // weight the tree is optimised for
	depth       int     // comparisons inside the item
}

// searchTree builds the code that finds the run of the number in A. With
// optimal unset, as for the architectures other than the first, whose
// syscalls are rare, it spends no time on the optimal tier: every run is
// an item and the tree bisects their weights.
//
// t holds the builder's buffers, reused from one tree to the next.
func searchTree(g *graph, runs []run, optimal bool, t *treeBuilder) nodeID {
	if len(runs) == 1 {
		return runs[0].code
	}
	t.runs, t.items = runs, t.items[:0]
	var total float64
	for _, r := range runs {
		total += r.weight
	}
	if optimal {
		t.makeItems(total * hotShare)
	} else {
		for i := range runs {
			t.items = append(t.items, item{first: i, last: i})
		}
	}
	limit := depthLimit(len(runs))
	// Blocks weigh almost nothing, so an optimal tree sinks them deep;
	// raise their weight until the deepest path is within the limit.
	for _, floor := range blockFloors {
		t.weigh(total, floor)
		if optimal {
			t.shape()
		} else {
			t.m, t.dp = len(t.items), false
		}
		t.splits, t.nsplit = t.splits[:0], 0
		if t.depth(0, len(t.items)-1) <= limit {
			return t.emit(g, 0, len(t.items)-1)
		}
	}
	// Equal weights give a balanced tree, which always fits.
	return balanced(g, runs, 0, len(runs)-1)
}

// treeBuilder holds the runs, the items over them and the chosen shape.
type treeBuilder struct {
	runs  []run
	items []item
	pre   []float64 // prefix sums of item weights
	m     int
	dp    bool      // the tables below hold the optimal tree; else bisect
	cost  []float64 // cost[i*m+j]: weighted comparisons of the best tree over items i..j
	costT []float64 // costT[j*m+i] = cost[i*m+j]
	root  []int16   // root[i*m+j]: last item of the left subtree
	chain []bool    // chain[i*m+j]: items i..j are best decided by a JEQ chain
	// splits are the bisection's splits in the order depth finds them,
	// for emit to take in the same order rather than search again.
	splits []int32
	nsplit int
}

func (t *treeBuilder) makeItems(hot float64) {
	n := len(t.runs)
	for i := 0; i < n; {
		if t.runs[i].weight >= hot {
			t.items = append(t.items, item{first: i, last: i})
			i++
			continue
		}
		j := i
		for j+1 < n && t.runs[j+1].weight < hot {
			j++
		}
		t.items = append(t.items, item{first: i, last: j, depth: balancedDepth(t.runs, i, j)})
		i = j + 1
	}
}

// weigh sets the item weights: hot runs weigh what they carry; a block
// weighs at least floor times its share of the runs.
func (t *treeBuilder) weigh(total, floor float64) {
	perRun := floor * total / float64(len(t.runs))
	t.pre = t.pre[:0]
	t.pre = append(t.pre, 0)
	for k := range t.items {
		it := &t.items[k]
		var w float64
		for i := it.first; i <= it.last; i++ {
			w += t.runs[i].weight
		}
		if it.first != it.last || w < total*hotShare {
			w = max(w, perRun*float64(it.last-it.first+1))
		}
		it.w = w
		t.pre = append(t.pre, t.pre[k]+w)
	}
}

func (t *treeBuilder) weight(i, j int) float64 { return t.pre[j+1] - t.pre[i] }

// shape chooses the tree over the items: optimal when they are few
// enough, weight-balanced otherwise.
func (t *treeBuilder) shape() {
	m := len(t.items)
	t.m = m
	t.dp = m <= maxItems
	if !t.dp {
		return
	}
	if cap(t.cost) < m*m {
		t.cost = make([]float64, m*m)
		t.costT = make([]float64, m*m)
		t.root = make([]int16, m*m)
		t.chain = make([]bool, m*m)
	}
	// costT is cost transposed, so that the inner loop reads a row of
	// each: cost[i][k] and cost[k+1][j] = costT[j][k+1].
	cost, costT, root, chain := t.cost[:m*m], t.costT[:m*m], t.root[:m*m], t.chain[:m*m]
	for i := 0; i < m; i++ {
		cost[i*m+i], costT[i*m+i] = 0, 0
		root[i*m+i] = int16(i)
		chain[i*m+i] = false
	}
	for length := 2; length <= m; length++ {
		for i := 0; i+length-1 < m; i++ {
			j := i + length - 1
			lo := int(root[i*m+j-1])
			hi := min(int(root[(i+1)*m+j]), j-1)
			best, bestK := math.Inf(1), lo
			rowI, colJ := cost[i*m:i*m+m], costT[j*m:j*m+m]
			for k := lo; k <= hi; k++ {
				if c := rowI[k] + colJ[k+1]; c < best {
					best, bestK = c, k
				}
			}
			c := best + t.weight(i, j)
			root[i*m+j] = int16(bestK)
			chain[i*m+j] = false
			if length <= 2*maxHoles+1 {
				if cc, ok := t.chainCost(i, j); ok && cc < c {
					c = cc
					chain[i*m+j] = true
				}
			}
			cost[i*m+j], costT[j*m+i] = c, c
		}
	}
}

// single returns the code of an item that is one run of one number, or
// noNode.
func (t *treeBuilder) code(it *item) nodeID {
	if it.first != it.last {
		return noNode
	}
	return t.runs[it.first].code
}

// chainCost returns the cost of deciding items i..j with a chain of JEQ
// tests: possible when items i and j and every item between that is not
// a single number share one decision (the background) and at most
// maxHoles single numbers differ. Holes are tested hottest first.
func (t *treeBuilder) chainCost(i, j int) (float64, bool) {
	bg := t.code(&t.items[i])
	if j-i < 2 || bg == noNode || t.code(&t.items[j]) != bg {
		return 0, false
	}
	var holes [maxHoles]float64
	nh := 0
	var bgWeight float64
	for k := i; k <= j; k++ {
		it := &t.items[k]
		c := t.code(it)
		if c == bg {
			bgWeight += it.w
			continue
		}
		if c == noNode || t.runs[it.first].lo != t.runs[it.first].hi || nh == maxHoles {
			return 0, false
		}
		holes[nh] = it.w
		nh++
	}
	sortDesc(holes[:nh])
	c := bgWeight * float64(nh)
	for k, x := range holes[:nh] {
		c += x * float64(k+1)
	}
	return c, true
}

// sortDesc sorts a few numbers, largest first.
func sortDesc(x []float64) {
	for i := 1; i < len(x); i++ {
		for j := i; j > 0 && x[j] > x[j-1]; j-- {
			x[j], x[j-1] = x[j-1], x[j]
		}
	}
}

// split returns the last item of the left subtree over items i..j.
func (t *treeBuilder) split(i, j int) int {
	if t.dp {
		return int(t.root[i*t.m+j])
	}
	// Weight bisection (Mehlhorn's approximation).
	half := (t.pre[i] + t.pre[j+1]) / 2
	lo, hi := i, j-1
	for lo < hi {
		mid := (lo + hi) / 2
		if t.pre[mid+1] < half {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	if lo > i && half-t.pre[lo] < t.pre[lo+1]-half {
		lo--
	}
	return lo
}

func (t *treeBuilder) isChain(i, j int) bool {
	return t.dp && t.chain[i*t.m+j]
}

// depth returns the most comparisons on a path of the tree over items
// i..j.
func (t *treeBuilder) depth(i, j int) int {
	if i == j {
		return t.items[i].depth
	}
	if t.isChain(i, j) {
		bg := t.code(&t.items[i])
		holes := 0
		for k := i; k <= j; k++ {
			if t.code(&t.items[k]) != bg {
				holes++
			}
		}
		return holes
	}
	k := t.split(i, j)
	if !t.dp {
		t.splits = append(t.splits, int32(k))
	}
	return 1 + max(t.depth(i, k), t.depth(k+1, j))
}

// emit builds the tree's nodes over items i..j. The number is in A
// throughout.
func (t *treeBuilder) emit(g *graph, i, j int) nodeID {
	if i == j {
		it := &t.items[i]
		return balanced(g, t.runs, it.first, it.last)
	}
	if t.isChain(i, j) {
		return holeChain(g, t.runs, t.items[i].first, t.items[j].last, func(k int) float64 { return t.runs[k].weight })
	}
	var k int
	if t.dp {
		k = t.split(i, j)
	} else {
		// The bisection depth made, in the same order.
		k = int(t.splits[t.nsplit])
		t.nsplit++
	}
	left := t.emit(g, i, k)
	right := t.emit(g, k+1, j)
	return g.fresh(bpf.JmpJGE, t.runs[t.items[k+1].first].lo, right, left)
}

// holeChain builds JEQ tests for the holes of runs first..last, hottest
// first, the background code last.
func holeChain(g *graph, runs []run, first, last int, weight func(int) float64) nodeID {
	bg := runs[first].code
	var holes [maxHoles]int
	nh := 0
	for k := first; k <= last; k++ {
		if runs[k].code != bg {
			holes[nh] = k
			nh++
		}
	}
	h := holes[:nh]
	for a := 1; a < len(h); a++ {
		for b := a; b > 0 && weight(h[b]) > weight(h[b-1]); b-- {
			h[b], h[b-1] = h[b-1], h[b]
		}
	}
	next := bg
	for k := len(h) - 1; k >= 0; k-- {
		r := &runs[h[k]]
		next = g.jump(bpf.JmpJEQ, r.lo, r.code, next)
	}
	return next
}

// isHoleChain reports whether runs first..last are a background with at
// most maxHoles single-number holes, and how many holes.
func isHoleChain(runs []run, first, last int) (int, bool) {
	if last-first < 2 || last-first > 2*maxHoles || runs[first].code != runs[last].code {
		return 0, false
	}
	bg := runs[first].code
	holes := 0
	for k := first; k <= last; k++ {
		if runs[k].code == bg {
			continue
		}
		if runs[k].lo != runs[k].hi || holes == maxHoles {
			return 0, false
		}
		holes++
	}
	return holes, true
}

// balanced builds a balanced tree over runs first..last, for cold runs.
func balanced(g *graph, runs []run, first, last int) nodeID {
	if first == last {
		return runs[first].code
	}
	if h, ok := isHoleChain(runs, first, last); ok && h <= bits.Len(uint(last-first)) {
		return holeChain(g, runs, first, last, func(int) float64 { return 0 })
	}
	mid := first + (last-first+1)/2 // first run of the right half
	return g.jump(bpf.JmpJGE, runs[mid].lo, balanced(g, runs, mid, last), balanced(g, runs, first, mid-1))
}

// balancedDepth is the depth of balanced over runs first..last.
func balancedDepth(runs []run, first, last int) int {
	if first == last {
		return 0
	}
	if h, ok := isHoleChain(runs, first, last); ok && h <= bits.Len(uint(last-first)) {
		return h
	}
	mid := first + (last-first+1)/2
	return 1 + max(balancedDepth(runs, mid, last), balancedDepth(runs, first, mid-1))
}
