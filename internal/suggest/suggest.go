// Package suggest finds the valid names nearest to a misspelt one, for
// error messages that say "did you mean".
package suggest

import (
	"sort"
	"strings"
)

// Nearest returns up to max candidates closest to name by edit distance,
// closest first, among those close enough to be a plausible typo.
// Candidates that contain name or are contained in it rank as close.
func Nearest(name string, candidates []string, max int) []string {
	type scored struct {
		s string
		d int
	}
	lower := strings.ToLower(name)
	limit := len(name)/3 + 1
	if limit > 4 {
		limit = 4
	}
	var out []scored
	for _, c := range candidates {
		lc := strings.ToLower(c)
		d := distance(lower, lc)
		if d > limit && len(lower) >= 3 && (strings.Contains(lc, lower) || strings.Contains(lower, lc)) {
			d = limit
		}
		if d <= limit {
			out = append(out, scored{c, d})
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].d != out[j].d {
			return out[i].d < out[j].d
		}
		return out[i].s < out[j].s
	})
	res := make([]string, 0, max)
	for i := 0; i < len(out) && i < max; i++ {
		res = append(res, out[i].s)
	}
	return res
}

// Phrase renders suggestions as `; did you mean "a", "b"?`, or "" when
// there are none.
func Phrase(s []string) string {
	if len(s) == 0 {
		return ""
	}
	q := make([]string, len(s))
	for i, x := range s {
		q[i] = `"` + x + `"`
	}
	return "; did you mean " + strings.Join(q, ", ") + "?"
}

// distance is the Levenshtein distance with transpositions counted as one
// edit (optimal string alignment).
func distance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev2 := make([]int, len(rb)+1)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(rb)]
}
