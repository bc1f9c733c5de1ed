package peer

import (
	"math/rand/v2"
	"testing"
)

// randomAtom draws an atom on one of two arguments, with constants near
// each other so that atoms overlap. widths gives each argument's width,
// which is one per argument within a syscall.
func randomAtom(r *rand.Rand, widths [2]int) Atom {
	arg := r.IntN(2)
	w := widths[arg]
	vals := []uint64{0, 1, 2, 3, 7, 8, 0xff, 0x7fffffff, 0x80000000, 0xffffffff, 1 << 32, ^uint64(0)}
	v := vals[r.IntN(len(vals))] & widthMask(w)
	at := Atom{Arg: arg, Width: w, Op: Op(1 + r.IntN(int(MaskedEq))), Value: v}
	if at.Op == MaskedEq {
		at.Mask = vals[r.IntN(len(vals))] & widthMask(w)
		if r.IntN(2) == 0 {
			at.Value &= at.Mask
		}
	}
	return at
}

func randomArgs(r *rand.Rand) [6]uint64 {
	vals := []uint64{0, 1, 2, 3, 4, 7, 8, 9, 0xfe, 0xff, 0x100, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff, 1 << 32, ^uint64(0), r.Uint64()}
	var a [6]uint64
	for i := range 2 {
		a[i] = vals[r.IntN(len(vals))]
	}
	return a
}

// TestNegateAndOnePerArg checks on random DNFs that Negate is the
// negation and OnePerArg an equivalent DNF with one comparison per
// argument in each conjunction.
func TestNegateAndOnePerArg(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 3000 {
		widths := [2]int{32 << r.IntN(2), 32 << r.IntN(2)}
		var d DNF
		for range 1 + r.IntN(3) {
			var c Conj
			for range 1 + r.IntN(4) {
				c = append(c, randomAtom(r, widths))
			}
			d = append(d, c)
		}
		neg, err := Negate(d)
		if err != nil {
			continue // too big: callers report it
		}
		one, err := OnePerArg(d)
		if err != nil {
			continue
		}
		for _, c := range one {
			seen := map[int]bool{}
			for _, at := range c {
				if seen[at.Arg] {
					t.Fatalf("case %d: OnePerArg(%v) = %v compares arg%d twice", i, d, one, at.Arg)
				}
				seen[at.Arg] = true
			}
		}
		for range 40 {
			args := randomArgs(r)
			want := d.Holds(args)
			if neg.Holds(args) == want {
				t.Fatalf("case %d: Negate(%v) = %v holds as %v on %#x", i, d, neg, want, args[:2])
			}
			if one.Holds(args) != want {
				t.Fatalf("case %d: OnePerArg(%v) = %v gives %v on %#x, want %v", i, d, one, !want, args[:2], want)
			}
		}
	}
}

// TestBlocks checks that the aligned blocks cover exactly the interval.
func TestBlocks(t *testing.T) {
	for _, tc := range []struct {
		lo, hi uint64
		w      int
	}{{0, 0, 32}, {1, 1, 32}, {3, 17, 32}, {0, 0xfffffffe, 32}, {5, 0xffffffff, 32}, {1, ^uint64(0) - 1, 64}, {0x7fffffff, 0x80000001, 64}} {
		bs := blocks(tc.lo, tc.hi, tc.w)
		for _, x := range []uint64{tc.lo, tc.hi, tc.lo - 1, tc.hi + 1, (tc.lo + tc.hi) / 2, tc.lo + 1} {
			x &= widthMask(tc.w)
			in := false
			for _, b := range bs {
				in = in || b.holdsOn(x)
			}
			if want := x >= tc.lo && x <= tc.hi; in != want {
				t.Errorf("blocks(%#x, %#x): %#x covered = %v, want %v (%v)", tc.lo, tc.hi, x, in, want, bs)
			}
		}
	}
}
