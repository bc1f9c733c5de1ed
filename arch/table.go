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

// layered is a generated table in three parts (zconstants.go): the
// values most architectures share, each architecture's own (values that
// differ and keys few define), and the shared keys each one lacks.
type layered[K cmp.Ordered, V any] struct {
	common []entry[K, V]
	byArch []entry[string, []entry[K, V]]
	absent []entry[string, []K]
}

// lookup returns the value of k on the named architecture.
func (t layered[K, V]) lookup(arch string, k K) (V, bool) {
	if v, ok := find(forArch(t.byArch, arch), k); ok {
		return v, true
	}
	if v, ok := find(t.common, k); ok && !has(forArch(t.absent, arch), k) {
		return v, true
	}
	var zero V
	return zero, false
}

// each calls f with every key the named architecture has.
func (t layered[K, V]) each(arch string, f func(K)) {
	absent := forArch(t.absent, arch)
	for _, e := range t.common {
		if !has(absent, e.key) {
			f(e.key)
		}
	}
	for _, e := range forArch(t.byArch, arch) {
		f(e.key)
	}
}
