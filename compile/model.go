package compile

import (
	"fmt"
	"sync"

	"github.com/syscage/syscage/arch"
	"github.com/syscage/syscage/policy"
)

// x32Bit is __X32_SYSCALL_BIT (arch/x86/include/uapi/asm/unistd.h): under
// AUDIT_ARCH_X86_64, numbers with it set are x32 syscalls.
const x32Bit = 0x40000000

// entry is one applicable rule of a syscall's first-match chain.
// It refers to its condition and rule by index, so that the arena of
// entries holds no pointers for the garbage collector to follow.
type entry struct {
	cond int32 // index into model.conds; 0 is "always"
	ret  uint32
	next int32 // the next entry of the chain in archModel.arena, 0 at the end
	rule int32 // index into the policy's rules
}

// group is the part of the filter behind one AUDIT_ARCH value: one
// architecture, or x86_64 and x32, which share AUDIT_ARCH_X86_64 and are
// told apart by the x32 bit of the number.
type group struct {
	audit   uint32
	members []*arch.Arch // every arch with this value, accepted or not
	models  []*archModel // accepted ones, indexed like members (nil if not accepted)
	regions []region     // the number ranges of each member
}

// region is a range of numbers under one AUDIT_ARCH value that belongs
// to one architecture.
type region struct {
	lo, hi uint32
	member int // index into group.members
}

// model is a policy resolved for compilation.
type model struct {
	p       *policy.Policy
	big     bool
	groups  []*group
	badArch uint32
	freq    map[string]float64
	bundled bool // freq is the bundled mix
	// scratch holds a chain while its code is built.
	scratch []entry
	// conds are the resolved conditions of every architecture; conds[0]
	// is condAlways. condIndex finds a rule's condition again where the
	// resolution cannot differ (see condition), and shapes describes the
	// rules' conditions.
	conds           []*cond
	condMem         condArena
	condIndex       map[condKey]int32
	condIndexSimple map[uint64]int32
	shapes          []condShape
	// ruleRet is the first return value recorded for each rule, -1 for
	// none yet.
	ruleRet []int64
	// codes remembers the code built for a chain, by the conditions and
	// actions of its entries, for the graph being built: architectures
	// that share a policy's rules share their code.
	codes   map[string]nodeID
	codeKey []byte
	// runCount and uncond are measured when the whole policy is built
	// into one graph (see Stats).
	runCount, uncond int
	// retOrigins lists, for each return value, the origins that may
	// produce it.
	// A policy has few return values: a short list beats a map.
	retOrigins []retOrigins
	// archModels keeps the models of the architectures met before, so
	// that a model taken from the pool reuses their buffers.
	archModels map[*arch.Arch]*archModel
	// runBufs and tree are scratch for building runs and search trees.
	runBufs [][]run
	tree    treeBuilder
	low     lowerer
	heat    []float64
	roots   []nodeID
	seen    []bool
	longest []int
	ids     []int32
	// ruleOn says on which accepted architectures each rule applies
	// (see ruleMasks); envCaps is its scratch.
	ruleOn  []uint64
	envCaps []string
}

// models recycles models: compiling many policies then reuses the
// buffers of earlier compilations instead of allocating them anew.
var models sync.Pool

// getModel returns an empty model, recycled when one is free.
func getModel() *model {
	m, _ := models.Get().(*model)
	if m == nil {
		return &model{
			conds:           []*cond{condAlways},
			condIndex:       map[condKey]int32{},
			condIndexSimple: make(map[uint64]int32, 64),
			codes:           map[string]nodeID{},
			archModels:      map[*arch.Arch]*archModel{},
		}
	}
	// The lists went to the Results compiled before: drop, not reuse.
	clear(m.retOrigins)
	m.retOrigins = m.retOrigins[:0]
	clear(m.conds[1:])
	m.conds = m.conds[:1]
	m.condMem.reset()
	clear(m.condIndex)
	clear(m.condIndexSimple)
	clear(m.codes)
	m.shapes, m.ruleRet = m.shapes[:0], m.ruleRet[:0]
	m.groups = nil
	m.runCount, m.uncond = 0, 0
	return m
}

// release hands m back to the pool; it must not be used after.
func (m *model) release() {
	m.p, m.freq = nil, nil
	models.Put(m)
}

func (m *model) archList() []*arch.Arch {
	var out []*arch.Arch
	for _, g := range m.groups {
		for _, am := range g.models {
			if am != nil {
				out = append(out, am.a)
			}
		}
	}
	return out
}

// newModel resolves p for the options: arches, actions, rules and
// conditions per architecture.
func newModel(p *policy.Policy, opts Options) (*model, error) {
	m := getModel()
	m.p, m.freq, m.bundled = p, opts.Frequencies, false
	if m.freq == nil {
		m.freq, m.bundled = bundledOnce(), true
	}
	accepted, err := acceptedArches(p, opts)
	if err != nil {
		return nil, err
	}
	if len(accepted) > 64 {
		// ruleMasks keeps a bit per accepted architecture; arch.All has
		// far fewer.
		return nil, fmt.Errorf("compile: internal error: %d accepted architectures, more than 64", len(accepted))
	}
	m.big = accepted[0].BigEndian
	for _, a := range accepted[1:] {
		if a.BigEndian != m.big {
			return nil, fmt.Errorf("compile: the policy accepts %s: a filter runs on one machine and reads arguments in its byte order, so compile once per byte order, choosing the architectures of one byte order (syscage compile --arch, or Options.Arches)", archNames(accepted))
		}
	}
	if m.badArch, err = actionRet(p.BadArch, accepted[0], policy.ActKillProcess); err != nil {
		return nil, fmt.Errorf("compile: bad-arch action: %w", err)
	}
	m.addOrigin(m.badArch, Origin{Kind: FromBadArch})

	m.ruleOn = ruleMasks(p.Rules, accepted, opts.Env, m.ruleOn[:0], &m.envCaps)
	m.ids = targetIDs(p.Rules, m.ids[:0])
	ids := m.ids
	for ai, a := range accepted {
		var g *group
		for _, x := range m.groups { // a few
			if x.audit == a.AuditArch {
				g = x
			}
		}
		if g == nil {
			g = &group{audit: a.AuditArch, members: arch.ByAuditArch(a.AuditArch)}
			g.models = make([]*archModel, len(g.members))
			g.regions = regionsOf(g.members)
			m.groups = append(m.groups, g)
		}
		am, err := m.resolveArch(a, uint64(1)<<ai, ids)
		if err != nil {
			return nil, err
		}
		for k, member := range g.members {
			if member == a {
				g.models[k] = am
			}
		}
	}
	return m, nil
}

// addRuleOrigin records that rule ri returns ret on some architecture.
// Rules usually return the same value on every architecture, which one
// remembered value per rule tells without searching.
func (m *model) addRuleOrigin(ri int32, ret uint32) {
	if len(m.ruleRet) != len(m.p.Rules) {
		m.ruleRet = m.ruleRet[:0]
		for range m.p.Rules {
			m.ruleRet = append(m.ruleRet, -1)
		}
	}
	if m.ruleRet[ri] == int64(ret) {
		return
	}
	if m.ruleRet[ri] < 0 {
		m.ruleRet[ri] = int64(ret)
		l := m.originList(ret)
		*l = append(*l, Origin{Kind: FromRule, Rule: m.p.Rules[ri]})
		return
	}
	m.addOrigin(ret, Origin{Kind: FromRule, Rule: m.p.Rules[ri]})
}

func (m *model) addOrigin(ret uint32, o Origin) {
	l := m.originList(ret)
	for _, x := range *l {
		if x == o {
			return
		}
	}
	*l = append(*l, o)
}

// retOrigins are the origins of one return value.
type retOrigins struct {
	ret  uint32
	list []Origin
}

// originList returns the list of the origins of ret, valid until the
// next call.
func (m *model) originList(ret uint32) *[]Origin {
	for i := range m.retOrigins {
		if m.retOrigins[i].ret == ret {
			return &m.retOrigins[i].list
		}
	}
	m.retOrigins = append(m.retOrigins, retOrigins{ret: ret, list: make([]Origin, 0, 8)})
	return &m.retOrigins[len(m.retOrigins)-1].list
}

// origins returns the origins of ret.
func (m *model) origins(ret uint32) []Origin {
	for i := range m.retOrigins {
		if m.retOrigins[i].ret == ret {
			return m.retOrigins[i].list
		}
	}
	return nil
}

// acceptedArches returns the architectures the filter accepts: the
// policy's (native when it names none), restricted to opts.Arches.
func acceptedArches(p *policy.Policy, opts Options) ([]*arch.Arch, error) {
	all, err := p.AcceptedArches()
	if err != nil {
		return nil, fmt.Errorf("compile: %w", err)
	}
	var out []*arch.Arch
	for _, a := range all {
		if !containsArch(out, a) {
			out = append(out, a)
		}
	}
	if opts.Arches == nil {
		return out, nil
	}
	var want []*arch.Arch
	for _, name := range opts.Arches {
		a, err := arch.ByName(name)
		if err != nil {
			return nil, fmt.Errorf("compile: target architecture: %w", err)
		}
		if !containsArch(out, a) {
			return nil, fmt.Errorf("compile: target architecture %s is not accepted by the policy, which accepts %s", a.Name, archNames(out))
		}
		want = append(want, a)
	}
	var kept []*arch.Arch
	for _, a := range out {
		if containsArch(want, a) {
			kept = append(kept, a)
		}
	}
	if len(kept) == 0 {
		return nil, fmt.Errorf("compile: no target architecture given")
	}
	return kept, nil
}

func containsArch(as []*arch.Arch, a *arch.Arch) bool {
	for _, x := range as {
		if x == a {
			return true
		}
	}
	return false
}

// regionsOf splits the 32-bit number space of one AUDIT_ARCH value among
// the architectures that share it, as the kernel does: under
// AUDIT_ARCH_X86_64 a number with the x32 bit set is an x32 syscall, any
// other an x86_64 one (arch/x86/entry/syscall_64.c: do_syscall_64).
func regionsOf(members []*arch.Arch) []region {
	if len(members) == 1 {
		return []region{{0, ^uint32(0), 0}}
	}
	var x32, other int
	for i, a := range members {
		if a.NrBase == x32Bit {
			x32 = i
		} else {
			other = i
		}
	}
	return []region{
		{0, x32Bit - 1, other},
		{x32Bit, 2*x32Bit - 1, x32},
		{2 * x32Bit, 3*x32Bit - 1, other},
		{3 * x32Bit, ^uint32(0), x32},
	}
}

// actionRet converts an action to the seccomp return value on a, or the
// fallback's when the action is unset.
func actionRet(act policy.Action, a *arch.Arch, fallback policy.Action) (uint32, error) {
	if act.Kind == 0 {
		act = fallback
	}
	return act.Ret(a)
}
