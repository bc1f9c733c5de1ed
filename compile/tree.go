package compile

import (
	"math"
	"math/bits"
	"sort"

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

// maxDPRuns bounds the runs searched with the quadratic optimal-tree
// algorithm; beyond it the tree is built by weight bisection.
const maxDPRuns = 512

// searchTree builds the code that finds the run of the number in A. The
// tree is an optimal alphabetic tree over the runs for their weights
// (Knuth's O(n^2) dynamic programme, valid for these costs by Yao's
// quadrangle inequality), with JGE tests at its inner nodes; a subtree
// whose runs are one decision with a few single-number holes becomes a
// chain of JEQ tests, which decides the holes and the background with
// fewer comparisons than any alphabetic tree. The depth of the tree is
// kept within depthLimit(len(runs)): if the weights make it deeper, they
// are flattened towards uniform until it fits.
func searchTree(g *graph, runs []run) nodeID {
	if len(runs) == 1 {
		return runs[0].code
	}
	limit := depthLimit(len(runs))
	w := make([]float64, len(runs))
	var total float64
	for _, r := range runs {
		total += r.weight
	}
	for _, floor := range []float64{0, 0.05, 0.2, 0.5, 1, 4, 64} {
		for i, r := range runs {
			w[i] = r.weight + floor*total/float64(len(runs))
		}
		t := newTreeBuilder(runs, w)
		if t.depth(0, len(runs)-1) <= limit {
			return t.emit(g, 0, len(runs)-1)
		}
	}
	// Equal weights give a balanced tree, which always fits.
	for i := range w {
		w[i] = 1
	}
	t := newTreeBuilder(runs, w)
	return t.emit(g, 0, len(runs)-1)
}

// depthLimit is the most comparisons the search tree may make for n runs:
// two more than a balanced tree.
func depthLimit(n int) int {
	return bits.Len(uint(n-1)) + 2
}

// treeBuilder holds the chosen shape of the tree over runs.
type treeBuilder struct {
	runs []run
	w    []float64
	pre  []float64 // prefix sums of w
	n    int
	cost []float64 // cost[i*n+j]: weighted comparisons of the best tree over runs i..j
	root []int32   // root[i*n+j]: last run of the left subtree
	// hole[i*n+j] >= 0 when runs i..j are best decided by a JEQ chain
	hole []int8
}

func newTreeBuilder(runs []run, w []float64) *treeBuilder {
	n := len(runs)
	t := &treeBuilder{runs: runs, w: w, n: n, pre: make([]float64, n+1)}
	for i, x := range w {
		t.pre[i+1] = t.pre[i] + x
	}
	if n <= maxDPRuns {
		t.optimal()
	} else {
		t.bisect()
	}
	return t
}

func (t *treeBuilder) weight(i, j int) float64 { return t.pre[j+1] - t.pre[i] }

// optimal fills cost and root with Knuth's algorithm, and marks the
// intervals a JEQ chain decides more cheaply.
func (t *treeBuilder) optimal() {
	n := t.n
	t.cost = make([]float64, n*n)
	t.root = make([]int32, n*n)
	t.hole = make([]int8, n*n)
	for i := range t.hole {
		t.hole[i] = -1
	}
	for i := 0; i < n; i++ {
		t.root[i*n+i] = int32(i)
	}
	for length := 2; length <= n; length++ {
		for i := 0; i+length-1 < n; i++ {
			j := i + length - 1
			lo := int(t.root[i*n+j-1])
			hi := min(int(t.root[(i+1)*n+j]), j-1)
			best, bestK := math.Inf(1), lo
			for k := lo; k <= hi; k++ {
				if c := t.cost[i*n+k] + t.cost[(k+1)*n+j]; c < best {
					best, bestK = c, k
				}
			}
			t.cost[i*n+j] = best + t.weight(i, j)
			t.root[i*n+j] = int32(bestK)
			if c, ok := t.chainCost(i, j); ok && c < t.cost[i*n+j] {
				t.cost[i*n+j] = c
				t.hole[i*n+j] = 1
			}
		}
	}
}

// maxHoles bounds the JEQ chains considered.
const maxHoles = 3

// chainCost returns the cost of deciding runs i..j with a chain of JEQ
// tests: possible when runs i and j and every run between that is not a
// single number share one decision (the background) and at most maxHoles
// single numbers differ. Holes are tested hottest first.
func (t *treeBuilder) chainCost(i, j int) (float64, bool) {
	if j-i < 2 || j-i > 2*maxHoles || t.runs[i].code != t.runs[j].code {
		return 0, false
	}
	bg := t.runs[i].code
	var holes [maxHoles]float64
	nh := 0
	var bgWeight float64
	for k := i; k <= j; k++ {
		r := &t.runs[k]
		if r.code == bg {
			bgWeight += t.w[k]
			continue
		}
		if r.lo != r.hi || nh == maxHoles {
			return 0, false
		}
		holes[nh] = t.w[k]
		nh++
	}
	h := holes[:nh]
	sort.Sort(sort.Reverse(sort.Float64Slice(h)))
	c := bgWeight * float64(nh)
	for k, x := range h {
		c += x * float64(k+1)
	}
	return c, true
}

// bisect chooses each root so that the two sides weigh as nearly the same
// as possible (Mehlhorn's approximation), for trees too big for optimal.
func (t *treeBuilder) bisect() {
	t.root = nil
}

func (t *treeBuilder) split(i, j int) int {
	if t.root != nil {
		return int(t.root[i*t.n+j])
	}
	half := (t.pre[i] + t.pre[j+1]) / 2
	k := sort.Search(j-i, func(x int) bool { return t.pre[i+x+1] >= half }) + i
	// k is the first run whose end reaches half; the split is after k or
	// before it, whichever balances better, within i..j-1.
	if k > i && half-t.pre[k] < t.pre[k+1]-half {
		k--
	}
	return min(max(k, i), j-1)
}

func (t *treeBuilder) isChain(i, j int) bool {
	return t.hole != nil && t.hole[i*t.n+j] >= 0
}

// depth returns the most comparisons on a path of the tree over i..j.
func (t *treeBuilder) depth(i, j int) int {
	if i == j {
		return 0
	}
	if t.isChain(i, j) {
		holes := 0
		for k := i; k <= j; k++ {
			if t.runs[k].code != t.runs[i].code {
				holes++
			}
		}
		return holes
	}
	k := t.split(i, j)
	return 1 + max(t.depth(i, k), t.depth(k+1, j))
}

// emit builds the tree's nodes. The number is in A throughout.
func (t *treeBuilder) emit(g *graph, i, j int) nodeID {
	if i == j {
		return t.runs[i].code
	}
	if t.isChain(i, j) {
		bg := t.runs[i].code
		type hole struct {
			nr   uint32
			code nodeID
			w    float64
		}
		var hs []hole
		for k := i; k <= j; k++ {
			if r := t.runs[k]; r.code != bg {
				hs = append(hs, hole{r.lo, r.code, t.w[k]})
			}
		}
		// Hottest hole first; build from the last test back.
		sort.SliceStable(hs, func(a, b int) bool { return hs[a].w > hs[b].w })
		next := bg
		for k := len(hs) - 1; k >= 0; k-- {
			next = g.jump(bpf.JmpJEQ, hs[k].nr, hs[k].code, next)
		}
		return next
	}
	k := t.split(i, j)
	left := t.emit(g, i, k)
	right := t.emit(g, k+1, j)
	return g.jump(bpf.JmpJGE, t.runs[k+1].lo, right, left)
}
