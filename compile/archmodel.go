package compile

import (
	"fmt"
	"slices"
	"sort"
	"sync"

	"github.com/syscage/syscage/arch"
	"github.com/syscage/syscage/policy"
)

// archModel is the policy resolved for one accepted architecture: for
// each syscall number some rule names, the chain of applicable rules in
// file order, up to and including the first without a condition.
type archModel struct {
	a              *arch.Arch
	tab            *table
	defRet, unkRet uint32
	// Chains are linked lists in one arena (entry 0 is unused, so that a
	// zero chainLinks is the empty chain): rules add to many chains in
	// turn, and one arena costs one allocation rather than one per
	// syscall.
	arena  []entry
	chains []chainLinks // indexed like tab.nrs
	// extra holds the chains of numbers outside the table that rules
	// name, and extraNrs those numbers, sorted.
	extra    map[uint32]chainLinks
	extraNrs []uint32
}

// chainLinks locates a chain in the arena.
type chainLinks struct{ first, last int32 }

// chain appends the rule chain of nr to buf and reports whether nr is in
// the table.
func (am *archModel) chain(nr uint32, buf []entry) ([]entry, bool) {
	var cl chainLinks
	i := am.tab.index(nr)
	if i >= 0 {
		cl = am.chains[i]
	} else {
		cl = am.extra[nr]
	}
	for e := cl.first; e != 0; e = am.arena[e].next {
		buf = append(buf, am.arena[e])
	}
	return buf, i >= 0
}

// table is an architecture's syscall table in the shapes compiling
// needs, built once per architecture.
type table struct {
	nrs   []uint32 // sorted
	names []string // names[i] is the syscall numbered nrs[i]
	base  uint32
	dense []int16 // dense[nr-base] is the index of nr in nrs, or -1
	// bundled[i] is the bundled mix's weight of names[i].
	bundled []float64
	// byID[id] is the number of the syscall with name ID id, or -1;
	// idx[id] its index in nrs, or -1.
	byID, idx []int32
	// mix is the bundled mix on this table, sorted by name.
	mix []nrWeight
}

// index returns the index of nr in the table, or -1.
func (t *table) index(nr uint32) int {
	if nr < t.base || nr-t.base >= uint32(len(t.dense)) {
		return -1
	}
	return int(t.dense[nr-t.base])
}

// tables caches each architecture's table.
var tables sync.Map // *arch.Arch -> *table

func tableOf(a *arch.Arch) *table {
	if v, ok := tables.Load(a); ok {
		return v.(*table)
	}
	scs := a.Syscalls()
	sort.Slice(scs, func(i, j int) bool { return scs[i].Nr < scs[j].Nr })
	t := &table{nrs: make([]uint32, len(scs)), names: make([]string, len(scs)), bundled: make([]float64, len(scs))}
	if len(scs) > 0 {
		t.base = uint32(scs[0].Nr)
		t.dense = make([]int16, scs[len(scs)-1].Nr-scs[0].Nr+1)
		for i := range t.dense {
			t.dense[i] = -1
		}
	}
	mix := bundledOnce()
	ids := nameIDs()
	t.byID, t.idx = make([]int32, len(ids)), make([]int32, len(ids))
	for i := range t.byID {
		t.byID[i], t.idx[i] = -1, -1
	}
	for i, s := range scs {
		t.nrs[i], t.names[i] = uint32(s.Nr), s.Name
		t.dense[uint32(s.Nr)-t.base] = int16(i)
		t.bundled[i] = mix[s.Name]
		t.byID[ids[s.Name]], t.idx[ids[s.Name]] = int32(s.Nr), int32(i)
	}
	t.mix = mixFor(t, mix)
	v, _ := tables.LoadOrStore(a, t)
	return v.(*table)
}

// resolveArch resolves every rule of the policy for one architecture.
// bit is a's bit in m.ruleOn.
func (m *model) resolveArch(a *arch.Arch, bit uint64, ids []int32) (*archModel, error) {
	p := m.p
	tab := tableOf(a)
	am := m.archModels[a]
	if am == nil {
		am = &archModel{a: a, tab: tab, chains: make([]chainLinks, len(tab.nrs)), arena: make([]entry, 1, len(tab.nrs)+1)}
		m.archModels[a] = am
	} else {
		clear(am.chains)
		am.arena = am.arena[:1]
		clear(am.extra)
		am.extraNrs = am.extraNrs[:0]
	}
	if p.Default.Kind == 0 {
		return nil, fmt.Errorf("compile: the policy has no default action")
	}
	var err error
	if am.defRet, err = actionRet(p.Default, a, policy.Action{}); err != nil {
		return nil, fmt.Errorf("compile: default action on %s: %w", a.Name, err)
	}
	enosys := policy.Action{Kind: policy.Errno, ErrnoName: "ENOSYS"}
	if am.unkRet, err = actionRet(p.Unknown, a, enosys); err != nil {
		return nil, fmt.Errorf("compile: unknown-syscall action on %s: %w", a.Name, err)
	}
	m.addOrigin(am.defRet, Origin{Kind: FromDefault})
	m.addOrigin(am.unkRet, Origin{Kind: FromUnknown})
	rr := ruleResolver{m: m, am: am, res: resolver{arch: a, mem: &m.condMem}}
	k := 0 // index into ids
	for ri, r := range p.Rules {
		if m.ruleOn[ri]&bit == 0 {
			k += len(r.Syscalls)
			continue
		}
		rr.rule, rr.index, rr.resolved = r, int32(ri), false
		for ti := range r.Syscalls {
			id := ids[k]
			k++
			if id >= 0 {
				// A plain name for every architecture, the common case,
				// found by its ID without reading the target.
				i := tab.idx[id]
				if i < 0 {
					continue
				}
				if r.When == nil {
					if err := rr.addAlways(i); err != nil {
						return nil, err
					}
					continue
				}
				if err := rr.add(int(tab.nrs[i]), r.Syscalls[ti].Name); err != nil {
					return nil, err
				}
				continue
			}
			if id == noName {
				continue
			}
			t := &r.Syscalls[ti]
			if t.Arch != "" && t.Arch != a.Name {
				continue
			}
			if id <= qualifiedName {
				// A plain name for one architecture.
				if nr := tab.byID[qualifiedName-id]; nr >= 0 {
					if err := rr.add(int(nr), t.Name); err != nil {
						return nil, err
					}
				}
				continue
			}
			for _, sc := range t.Syscalls(a) {
				if err := rr.add(sc.Nr, sc.Name); err != nil {
					return nil, err
				}
			}
		}
	}
	slices.Sort(am.extraNrs)
	return am, nil
}

// ruleResolver adds one rule to the chains of the numbers it names.
type ruleResolver struct {
	m        *model
	am       *archModel
	res      resolver
	rule     *policy.Rule
	index    int32 // of rule in the policy
	resolved bool  // ret holds the rule's action on the arch
	ret      uint32
}

// addAlways adds the rule, which has no condition, to the chain of the
// syscall at index i of the table: add without what a condition or a
// number outside the table needs.
func (rr *ruleResolver) addAlways(i int32) error {
	am := rr.am
	cl := am.chains[i]
	if cl.last != 0 {
		if last := &am.arena[cl.last]; last.rule == rr.index || last.cond == 0 {
			return nil // as in add
		}
	}
	if !rr.resolved {
		if err := rr.resolve(); err != nil {
			return err
		}
	}
	e := int32(len(am.arena))
	am.arena = append(am.arena, entry{ret: rr.ret, rule: rr.index})
	if cl.last != 0 {
		am.arena[cl.last].next = e
	} else {
		cl.first = e
	}
	cl.last = e
	am.chains[i] = cl
	return nil
}

// resolve finds the rule's return value on the arch and records it.
func (rr *ruleResolver) resolve() error {
	var err error
	if rr.ret, err = actionRet(rr.rule.Action, rr.am.a, policy.Action{}); err != nil {
		return fmt.Errorf("%s: %w", rr.rule.Pos, err)
	}
	rr.m.addRuleOrigin(rr.index, rr.ret)
	rr.resolved = true
	return nil
}

func (rr *ruleResolver) add(nr int, name string) error {
	if nr < 0 {
		return nil // a negative number names nothing (policy.Evaluate)
	}
	am, r := rr.am, rr.rule
	i := am.tab.index(uint32(nr))
	var cl chainLinks
	if i >= 0 {
		cl = am.chains[i]
	} else {
		cl = am.extra[uint32(nr)]
	}
	if last := &am.arena[cl.last]; cl.last != 0 && (last.rule == rr.index || last.cond == 0) {
		// Named twice by this rule, or an earlier rule without condition
		// always decides first.
		return nil
	}
	if !rr.resolved {
		if err := rr.resolve(); err != nil {
			return err
		}
	}
	ci := int32(0)
	if r.When != nil {
		var err error
		if ci, err = rr.m.condition(&rr.res, rr.index, name); err != nil {
			return err
		}
		if ci < 0 {
			return nil // the condition never holds
		}
	}
	e := int32(len(am.arena))
	am.arena = append(am.arena, entry{cond: ci, ret: rr.ret, rule: rr.index})
	if cl.last != 0 {
		am.arena[cl.last].next = e
	} else {
		cl.first = e
	}
	cl.last = e
	if i >= 0 {
		am.chains[i] = cl
		return nil
	}
	if am.extra == nil {
		am.extra = map[uint32]chainLinks{}
	}
	if cl.first == e {
		am.extraNrs = append(am.extraNrs, uint32(nr))
	}
	am.extra[uint32(nr)] = cl
	return nil
}
