package compile

import (
	"math/rand/v2"
	"testing"

	"github.com/syscage/syscage/bpf"
	"github.com/syscage/syscage/policy"
)

// randomCond draws a resolved condition on argument 0, with constants
// near the edges of the halves, so that every range-set case occurs.
func randomCond(r *rand.Rand, wide bool, depth int) *cond {
	if depth > 0 && r.IntN(2) == 0 {
		switch r.IntN(3) {
		case 0:
			return not(randomCond(r, wide, depth-1))
		case 1:
			return &cond{kind: condAnd, kids: []*cond{randomCond(r, wide, depth-1), randomCond(r, wide, depth-1)}}
		}
		return &cond{kind: condOr, kids: []*cond{randomCond(r, wide, depth-1), randomCond(r, wide, depth-1), randomCond(r, wide, depth-1)}}
	}
	top := domainMax(wide)
	val := func() uint64 {
		v := valuePool[r.IntN(len(valuePool))]
		switch r.IntN(4) {
		case 0:
			v = r.Uint64()
		case 1:
			v = ^uint64(0) << r.IntN(64) // high masks
		}
		return v & top
	}
	c := &cond{kind: condCmp, arg: 0, wide: wide, op: policy.CmpOp(1 + r.IntN(int(policy.OpRange)))}
	switch c.op {
	case policy.OpIn:
		for i := 0; i < 1+r.IntN(12); i++ {
			c.set = append(c.set, val())
		}
		sortU64(c.set)
		c.set = dedup(c.set)
	case policy.OpMaskedEq:
		c.b = val()
		c.a = val() & c.b
	default:
		c.a, c.b = val(), val()
	}
	return c.fold()
}

func sortU64(s []uint64) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}

func inSet(set []ival, v uint64) bool {
	for _, r := range set {
		if r.lo <= v && v <= r.hi {
			return true
		}
	}
	return false
}

// TestIntervals checks that the range set of a condition holds exactly
// the values the condition accepts, at every range boundary, around every
// constant and at random values.
func TestIntervals(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	described := 0
	for i := 0; i < 20000; i++ {
		wide := r.IntN(2) == 0
		c := randomCond(r, wide, 2)
		_, _, set, _, ok := intervals(c)
		if !ok {
			continue
		}
		described++
		for k := 1; k < len(set); k++ {
			if set[k].lo <= set[k-1].hi || set[k].lo == set[k-1].hi+1 {
				t.Fatalf("ranges %v are not sorted, disjoint and apart", set)
			}
		}
		probe := []uint64{0, domainMax(wide), r.Uint64() & domainMax(wide)}
		for _, s := range set {
			probe = append(probe, s.lo, s.lo-1, s.hi, s.hi+1)
		}
		var consts func(c *cond)
		consts = func(c *cond) {
			for _, k := range c.kids {
				consts(k)
			}
			for _, v := range append([]uint64{c.a, c.b}, c.set...) {
				probe = append(probe, v, v-1, v+1, v|0xff, v&^0xff)
			}
		}
		consts(c)
		for _, v := range probe {
			v &= domainMax(wide)
			var args [6]uint64
			args[0] = v
			if got, want := inSet(set, v), c.eval(&args); got != want {
				t.Fatalf("value %#x: range set %v says %v, condition says %v", v, set, got, want)
			}
		}
	}
	if described < 5000 {
		t.Errorf("only %d conditions were range sets", described)
	}
}

// TestPiecewise lowers random first-match chains of range sets on one
// argument, both widths and byte orders, and runs the programs on every
// boundary: each value must reach the first piece that holds it.
func TestPiecewise(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for i := 0; i < 2000; i++ {
		wide := r.IntN(2) == 0
		big := r.IntN(2) == 0
		g := newGraph(64)
		l := &lowerer{g: g, big: big}
		var pieces []piece
		var sets [][]ival
		for len(pieces) < 1+r.IntN(5) {
			_, _, set, _, ok := intervals(randomCond(r, wide, 1))
			if !ok || len(set) == 0 {
				continue
			}
			pieces = append(pieces, piece{set, g.ret(uint32(len(pieces) + 1))})
			sets = append(sets, set)
		}
		fallback := g.ret(0xffff)
		arg := r.IntN(6)
		root := l.piecewise(arg, wide, pieces, fallback)
		prog, _ := layout(g, root, nil)
		if err := bpf.Validate(prog); err != nil {
			t.Fatal(err)
		}
		var probe []uint64
		for _, set := range sets {
			for _, s := range set {
				probe = append(probe, s.lo, s.lo-1, s.hi, s.hi+1)
			}
		}
		probe = append(probe, 0, r.Uint64())
		for _, v := range probe {
			want := uint32(0xffff)
			for k, set := range sets {
				if inSet(set, v&domainMax(wide)) {
					want = uint32(k + 1)
					break
				}
			}
			d := bpf.SeccompData{}
			d.Args[arg] = v
			if !wide {
				d.Args[arg] = v&0xffffffff | r.Uint64()<<32 // the high half must not matter
			}
			got, _, err := bpf.Evaluate(prog, &d, byteOrder(big))
			if err != nil {
				t.Fatal(err)
			}
			if got != want {
				t.Fatalf("value %#x (wide %v, big-endian %v): program returns %d, first matching piece is %d\nsets %v", v, wide, big, got, want, sets)
			}
		}
	}
}
