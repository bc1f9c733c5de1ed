package measure

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/syscage/syscage/bpf"
)

// bruteTree is the optimal alphabetic tree cost by plain recursion.
func bruteTree(w []float64) float64 {
	if len(w) <= 1 {
		return 0
	}
	sum := 0.0
	for _, x := range w {
		sum += x
	}
	best := math.Inf(1)
	for k := 1; k < len(w); k++ {
		best = math.Min(best, bruteTree(w[:k])+bruteTree(w[k:]))
	}
	return best + sum
}

func TestAlphabeticTree(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for i := range 300 {
		w := make([]float64, 1+r.IntN(9))
		for j := range w {
			if r.IntN(3) > 0 {
				w[j] = float64(r.IntN(100))
			}
		}
		if got, want := alphabeticTree(w), bruteTree(w); math.Abs(got-want) > 1e-9 {
			t.Fatalf("case %d: alphabeticTree(%v) = %v, want %v", i, w, got, want)
		}
	}
	// Balanced leaves of equal weight: depth log2(n).
	if got := alphabeticTree([]float64{1, 1, 1, 1}); got != 8 {
		t.Errorf("four equal leaves cost %v, want 8", got)
	}
}

func TestWorstPath(t *testing.T) {
	ret := bpf.Instruction{Op: bpf.ClassRET | bpf.RetSrcK, K: bpf.RetAllow}
	for _, tc := range []struct {
		name string
		p    bpf.Program
		want int
	}{
		{"return", bpf.Program{ret}, 1},
		{"straight", bpf.Program{bpf.LoadAbs(0), bpf.LoadAbs(4), ret}, 3},
		// 0: jeq -> 1 (short) or 2 (long path through 2, 3, 4)
		{"branches", bpf.Program{bpf.JumpIf(bpf.JmpJEQ, 1, 0, 1), ret, bpf.LoadAbs(0), bpf.LoadAbs(4), ret}, 4},
		{"jump always", bpf.Program{bpf.Jump(2), bpf.LoadAbs(0), bpf.LoadAbs(0), ret}, 2},
	} {
		if got := WorstPath(tc.p); got != tc.want {
			t.Errorf("%s: WorstPath = %d, want %d", tc.name, got, tc.want)
		}
	}
}

func TestSummarise(t *testing.T) {
	n := Summarise([]float64{5, 1, 3, 2})
	if n.Min != 1 || n.Max != 5 || n.Median != 2.5 || n.N != 4 {
		t.Errorf("Summarise = %+v", n)
	}
}

// TestBoundBelowCompilers checks on the report's workloads that no
// compiler's mean path, with the cache off, is far below the bound (only
// a JEQ shortcut can beat it, by little), and that syscage's compiled
// moby profile is measured as the kernel cache serves it.
func TestBoundBelowCompilers(t *testing.T) {
	ws, err := Workloads()
	if err != nil {
		t.Fatal(err)
	}
	w := ws[0]
	as, err := w.Policy.AcceptedArches()
	if err != nil {
		t.Fatal(err)
	}
	mix := BundledMix(as[0])
	b, err := OptimalBound(w.Policy, w.Env, mix)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range Compilers() {
		progs, err := c.Compile(w)
		if err != nil {
			t.Fatalf("%s: %v", c.Name, err)
		}
		s, err := Measure(progs, mix)
		if err != nil {
			t.Fatal(err)
		}
		if s.MeanUncached < 0.8*b.Mean {
			t.Errorf("%s: mean %.2f is far below the bound %.2f", c.Name, s.MeanUncached, b.Mean)
		}
		if s.MeanCached > s.MeanUncached || s.CachedShare <= 0.5 {
			t.Errorf("%s: cache on %.2f, off %.2f, share %.2f", c.Name, s.MeanCached, s.MeanUncached, s.CachedShare)
		}
	}
}
