package compile

import (
	"hash/maphash"
	"strings"
	"sync"

	"github.com/syscage/syscage/arch"
	"github.com/syscage/syscage/policy"
)

// applier decides rules' only/except restrictions as
// policy.Rule.AppliesOn does, remembering the answers for the names it
// meets (capabilities, architectures, kernel versions), which a policy
// repeats on many rules and the compiler asks about once per architecture.
type applier struct {
	env     policy.Env
	heldCap map[string]bool
	archs   map[string]*arch.Arch
	kernel  map[string]bool
	envCaps map[string]bool // the environment's capabilities, normalised
}

func newApplier(env policy.Env) *applier {
	ap := &applier{env: env, heldCap: map[string]bool{}, archs: map[string]*arch.Arch{}, kernel: map[string]bool{}}
	if env.Caps != nil {
		ap.envCaps = make(map[string]bool, len(env.Caps))
		for _, c := range env.Caps {
			ap.envCaps[capKey(c)] = true
		}
	}
	return ap
}

// capKey normalises a capability name as policy does: case and the CAP_
// prefix do not matter.
func capKey(c string) string {
	return strings.TrimPrefix(strings.ToUpper(strings.TrimSpace(c)), "CAP_")
}

func (ap *applier) hasCap(c string) bool {
	if ap.envCaps == nil {
		return true // nil Caps: every capability
	}
	held, ok := ap.heldCap[c]
	if !ok {
		held = ap.envCaps[capKey(c)]
		ap.heldCap[c] = held
	}
	return held
}

func (ap *applier) listed(names []string, a *arch.Arch) bool {
	for _, n := range names {
		b, ok := ap.archs[n]
		if !ok {
			b, _ = arch.ByName(n)
			ap.archs[n] = b
		}
		if b == a {
			return true
		}
	}
	return false
}

// kernelAtLeast asks policy whether the environment's kernel is at least
// min, through a rule that only restricts the kernel.
func (ap *applier) kernelAtLeast(min string) bool {
	v, ok := ap.kernel[min]
	if !ok {
		r := policy.Rule{Only: &policy.Applies{MinKernel: min}}
		v = r.AppliesOn(nil, ap.env)
		ap.kernel[min] = v
	}
	return v
}

// applies mirrors policy.Rule.AppliesOn: Only must hold in every
// dimension it lists, Except in none.
func (ap *applier) applies(r *policy.Rule, a *arch.Arch) bool {
	if o := r.Only; o != nil {
		if len(o.Arches) > 0 && !ap.listed(o.Arches, a) {
			return false
		}
		for _, c := range o.Caps {
			if !ap.hasCap(c) {
				return false
			}
		}
		if o.MinKernel != "" && !ap.kernelAtLeast(o.MinKernel) {
			return false
		}
	}
	if x := r.Except; x != nil {
		if ap.listed(x.Arches, a) {
			return false
		}
		for _, c := range x.Caps {
			if ap.hasCap(c) {
				return false
			}
		}
		if x.MinKernel != "" && ap.kernelAtLeast(x.MinKernel) {
			return false
		}
	}
	return true
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
// cache than a map, so the hundreds of lookups of a large profile stay
// cheap.
type nameIndex struct {
	seed  maphash.Seed
	slots []int32  // name ID + 1, 0 empty; a power of two long
	names []string // by ID
}

var nameTable = sync.OnceValue(func() *nameIndex {
	ids := nameIDs()
	x := &nameIndex{seed: maphash.MakeSeed(), names: make([]string, len(ids))}
	size := 1
	for size < 4*len(ids) {
		size *= 2
	}
	x.slots = make([]int32, size)
	for n, id := range ids {
		x.names[id] = n
		i := maphash.String(x.seed, n) & uint64(size-1)
		for x.slots[i] != 0 {
			i = (i + 1) & uint64(size-1)
		}
		x.slots[i] = id + 1
	}
	return x
})

// id returns the name ID of a syscall name, or -1.
func (x *nameIndex) id(name string) int32 {
	mask := uint64(len(x.slots) - 1)
	for i := maphash.String(x.seed, name) & mask; ; i = (i + 1) & mask {
		v := x.slots[i]
		if v == 0 {
			return -1
		}
		if x.names[v-1] == name {
			return v - 1
		}
	}
}

// targetIDs returns the name ID of every plain-name target of the rules,
// -1 for the other targets and for names no architecture has, flattened
// in rule and target order, appended to out.
func targetIDs(rules []*policy.Rule, out []int32) []int32 {
	ids := nameTable()
	for _, r := range rules {
		for _, t := range r.Syscalls {
			id := int32(-1)
			if t.Group == "" && !t.HasNr {
				id = ids.id(t.Name)
			}
			out = append(out, id)
		}
	}
	return out
}
