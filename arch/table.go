package arch

import (
	"cmp"
	"slices"
)

// entry is one row of the generated tables (zconstants.go,
// zsignatures.go): sorted slices of them, searched by bisection, are laid
// out by the compiler as static data, so the package builds nothing when
// a program starts, where maps would cost it thousands of insertions.
type entry[K cmp.Ordered, V any] struct {
	key K
	val V
}

// find returns the value of k in s, which is sorted by key.
func find[K cmp.Ordered, V any](s []entry[K, V], k K) (V, bool) {
	i, ok := slices.BinarySearchFunc(s, k, func(e entry[K, V], k K) int { return cmp.Compare(e.key, k) })
	if !ok {
		var zero V
		return zero, false
	}
	return s[i].val, true
}

// forArch returns the part of a per-architecture table for the named
// architecture, or the zero value when it has none.
func forArch[V any](s []entry[string, V], name string) V {
	for _, e := range s {
		if e.key == name {
			return e.val
		}
	}
	var zero V
	return zero
}

// has reports whether the sorted slice s holds k.
func has[K cmp.Ordered](s []K, k K) bool {
	_, ok := slices.BinarySearch(s, k)
	return ok
}
