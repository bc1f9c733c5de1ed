package compile

import (
	"strings"
	"sync"

	"github.com/syscage/syscage/arch"
	"github.com/syscage/syscage/policy"
)

// ruleMasks decides the only/except restrictions of every rule as
// policy.Rule.AppliesOn does, for each accepted architecture at once:
// bit i of out[ri] is set when rule ri applies on accepted[i] in env.
// The capabilities and the kernel are asked about once per rule, not once
// per architecture, and each architecture name a rule lists is looked up
// once. accepted has at most 64 members (arch.All has fewer).
func ruleMasks(rules []*policy.Rule, accepted []*arch.Arch, env policy.Env, out []uint64, caps *[]string) []uint64 {
	all := uint64(1)<<len(accepted) - 1
	if len(accepted) >= 64 {
		all = ^uint64(0)
	}
	ec := envCaps(env, (*caps)[:0])
	*caps = ec
	var kernel kernelAnswers
	for _, r := range rules {
		mask := all
		if o := r.Only; o != nil {
			if len(o.Arches) > 0 {
				mask &= archMask(o.Arches, accepted)
			}
			for _, c := range o.Caps {
				if !hasCap(env, ec, c) {
					mask = 0
				}
			}
			if o.MinKernel != "" && !kernel.atLeast(env, o.MinKernel) {
				mask = 0
			}
		}
		if x := r.Except; x != nil && mask != 0 {
			mask &^= archMask(x.Arches, accepted)
			for _, c := range x.Caps {
				if hasCap(env, ec, c) {
					mask = 0
				}
			}
			if x.MinKernel != "" && kernel.atLeast(env, x.MinKernel) {
				mask = 0
			}
		}
		out = append(out, mask)
	}
	return out
}

// archMask returns the bits of the accepted architectures names lists.
func archMask(names []string, accepted []*arch.Arch) uint64 {
	var mask uint64
	for _, n := range names {
		b, err := arch.ByName(n)
		if err != nil {
			continue
		}
		for i, a := range accepted {
			if a == b {
				mask |= 1 << i
			}
		}
	}
	return mask
}

// capKey normalises a capability name as policy does: case and the CAP_
// prefix do not matter.
func capKey(c string) string {
	return strings.TrimPrefix(strings.ToUpper(strings.TrimSpace(c)), "CAP_")
}

// envCaps returns the environment's capabilities normalised, appended to
// buf.
func envCaps(env policy.Env, buf []string) []string {
	for _, c := range env.Caps {
		buf = append(buf, capKey(c))
	}
	return buf
}

// hasCap reports whether the environment holds capability c; held is
// envCaps of env. nil Caps means every capability.
func hasCap(env policy.Env, held []string, c string) bool {
	if env.Caps == nil {
		return true
	}
	k := capKey(c)
	for _, h := range held {
		if h == k {
			return true
		}
	}
	return false
}

// kernelAnswers remembers whether the environment's kernel is at least
// a version, for the last few versions asked about: a policy names few.
type kernelAnswers struct {
	mins [4]string
	ok   [4]bool
	n    int
}

// atLeast asks policy whether env's kernel is at least version, through a
// rule that only restricts the kernel.
func (k *kernelAnswers) atLeast(env policy.Env, version string) bool {
	for i := range min(k.n, len(k.mins)) {
		if k.mins[i] == version {
			return k.ok[i]
		}
	}
	r := policy.Rule{Only: &policy.Applies{MinKernel: version}}
	v := r.AppliesOn(nil, env)
	k.mins[k.n%len(k.mins)], k.ok[k.n%len(k.mins)] = version, v
	k.n++
	return v
}

// nameIDs numbers every syscall name of every architecture, so that a
// policy's names are looked up once per compilation rather than once per
// architecture: each table keeps its numbers by name ID.
var nameIDs = sync.OnceValue(func() map[string]int32 {
	ids := map[string]int32{}
	for _, a := range arch.All() {
		for _, s := range a.Syscalls() {
			if _, ok := ids[s.Name]; !ok {
				ids[s.Name] = int32(len(ids))
			}
		}
	}
	return ids
})

// nameIndex is nameIDs as an open-addressing table of compact entries,
// which a compilation reads once per name of the policy: denser in the
// cache than a map, and hashed with two word loads rather than a pass
// over the bytes, so the hundreds of lookups of a large profile stay
// cheap. The table holds a fixed set of names, so no input can make its
// probe sequences longer than they are.
type nameIndex struct {
	slots []int32  // name ID + 1, 0 empty; a power of two long
	names []string // by ID
}

var nameTable = sync.OnceValue(func() *nameIndex {
	ids := nameIDs()
	x := &nameIndex{names: make([]string, len(ids))}
	size := 1
	for size < 4*len(ids) {
		size *= 2
	}
	x.slots = make([]int32, size)
	for n, id := range ids {
		x.names[id] = n
	}
	// Insert in ID order, so that the table does not depend on map order.
	for id, n := range x.names {
		i := nameHash(n) & uint64(size-1)
		for x.slots[i] != 0 {
			i = (i + 1) & uint64(size-1)
		}
		x.slots[i] = int32(id) + 1
	}
	return x
})

// nameHash hashes a syscall name from its length and its first and last
// bytes, read as two little-endian words that overlap on short names.
func nameHash(s string) uint64 {
	n := len(s)
	var a, b uint64
	switch {
	case n >= 8:
		a, b = load64(s), load64(s[n-8:])
	case n >= 4:
		a, b = uint64(load32(s)), uint64(load32(s[n-4:]))
	default:
		for i := 0; i < n; i++ {
			a = a<<8 | uint64(s[i])
		}
	}
	h := (a^uint64(n))*0x9e3779b97f4a7c15 ^ b*0xc2b2ae3d27d4eb4f
	h ^= h >> 29
	h *= 0xff51afd7ed558ccd
	return h ^ h>>32
}

func load64(s string) uint64 {
	_ = s[7]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
}

func load32(s string) uint32 {
	_ = s[3]
	return uint32(s[0]) | uint32(s[1])<<8 | uint32(s[2])<<16 | uint32(s[3])<<24
}

// id returns the name ID of a syscall name, or -1.
func (x *nameIndex) id(name string) int32 {
	mask := uint64(len(x.slots) - 1)
	for i := nameHash(name) & mask; ; i = (i + 1) & mask {
		v := x.slots[i]
		if v == 0 {
			return -1
		}
		if x.names[v-1] == name {
			return v - 1
		}
	}
}

// Target codes besides name IDs (see targetIDs).
const (
	noName        = -1 // a plain name no architecture has
	otherTarget   = -2 // a group or a number
	qualifiedName = -3 // qualifiedName-id: name ID id, for one architecture
)

// targetIDs returns a code for every target of the rules, flattened in
// rule and target order, appended to out: the name ID of a plain name
// for every architecture, qualifiedName-id for a plain name qualified
// with an architecture, noName for a plain name no architecture has, and
// otherTarget for the others.
func targetIDs(rules []*policy.Rule, out []int32) []int32 {
	ids := nameTable()
	for _, r := range rules {
		for ti := range r.Syscalls {
			t := &r.Syscalls[ti]
			id := int32(otherTarget)
			if t.Group == "" && !t.HasNr {
				id = ids.id(t.Name)
				if id >= 0 && t.Arch != "" {
					id = qualifiedName - id
				}
			}
			out = append(out, id)
		}
	}
	return out
}
