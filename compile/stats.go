package compile

import (
	"sort"

	"github.com/syscage/syscage/bpf"
)

// stats measures the compiled filters.
func (m *model) stats(res *Result) Stats {
	st := Stats{Runs: m.runCount, UnconditionalAllows: m.uncond}
	for _, f := range res.Filters {
		st.Instructions = append(st.Instructions, len(f))
		st.MaxPath += longestPath(f, &m.longest)
	}
	st.MeanPath = m.meanPath(res.Filters)
	return st
}

// longestPath returns the most instructions any run of p executes.
// buf is scratch.
func longestPath(p bpf.Program, buf *[]int) int {
	l := grow(buf, len(p)+1)
	l[len(p)] = 0
	for i := len(p) - 1; i >= 0; i-- {
		ins := p[i]
		switch {
		case ins.IsReturn():
			l[i] = 1
		case ins.IsConditionalJump():
			l[i] = 1 + max(l[min(i+1+int(ins.Jt), len(p))], l[min(i+1+int(ins.Jf), len(p))])
		case ins.IsJump():
			l[i] = 1 + l[min(i+1+int(ins.K), len(p))]
		default:
			l[i] = 1 + l[i+1]
		}
	}
	return l[0]
}

// meanPath is the mean number of instructions the filters run for a
// syscall of the first architecture drawn from the frequency mix, with
// all arguments zero.
func (m *model) meanPath(filters []bpf.Program) float64 {
	am := firstModel(m.groups[0])
	order := byteOrder(m.big)
	var sum, total float64
	data := bpf.SeccompData{Arch: am.a.AuditArch}
	for _, nw := range m.mixOn(am) {
		data.Nr = int32(nw.nr)
		n := 0
		for _, f := range filters {
			k, ok := pathLength(f, data.Arch, nw.nr)
			if !ok {
				var err error
				if _, k, err = bpf.Evaluate(f, &data, order); err != nil {
					return 0
				}
			}
			n += k
		}
		sum += nw.weight * float64(n)
		total += nw.weight
	}
	if total == 0 {
		return 0
	}
	return sum / total
}

// pathLength returns how many instructions p runs for syscall nr on
// audit with every other word of seccomp_data zero, as bpf.Evaluate
// counts them, for the instructions the compiler writes. It reports false
// on anything else (another instruction, a jump past the end), for
// bpf.Evaluate to decide. It is meanPath's inner loop: hundreds of
// syscalls run through the filter per compilation.
func pathLength(p bpf.Program, audit, nr uint32) (int, bool) {
	var a uint32
	pc, n := 0, 0
	for pc < len(p) {
		ins := &p[pc]
		n++
		k := ins.K
		taken := false
		switch ins.Op {
		case bpf.ClassLD | bpf.SizeW | bpf.ModeABS:
			switch {
			case k == bpf.OffsetNr:
				a = nr
			case k == bpf.OffsetArch:
				a = audit
			case k < bpf.SeccompDataSize && k%4 == 0:
				a = 0 // the instruction pointer and the arguments
			default:
				return 0, false
			}
			pc++
			continue
		case bpf.ClassALU | bpf.AluAnd | bpf.SrcK:
			a &= k
			pc++
			continue
		case bpf.ClassRET | bpf.RetSrcK:
			return n, true
		case bpf.ClassJMP | bpf.JmpJA:
			pc += 1 + int(k)
			continue
		case bpf.ClassJMP | bpf.JmpJEQ | bpf.SrcK:
			taken = a == k
		case bpf.ClassJMP | bpf.JmpJGT | bpf.SrcK:
			taken = a > k
		case bpf.ClassJMP | bpf.JmpJGE | bpf.SrcK:
			taken = a >= k
		case bpf.ClassJMP | bpf.JmpJSET | bpf.SrcK:
			taken = a&k != 0
		default:
			return 0, false
		}
		if taken {
			pc += 1 + int(ins.Jt)
		} else {
			pc += 1 + int(ins.Jf)
		}
	}
	return 0, false
}

// nrWeight is a syscall number with its frequency.
type nrWeight struct {
	nr     uint32
	weight float64
}

// mixOn returns the frequencies of the syscalls of am's table, by name,
// so that sums over them do not depend on map iteration.
func (m *model) mixOn(am *archModel) []nrWeight {
	if m.bundled {
		return am.tab.mix
	}
	return mixFor(am.tab, m.freq)
}

// mixFor lists, sorted by syscall name, the positive weights of freq for
// the syscalls of a table.
func mixFor(tab *table, freq map[string]float64) []nrWeight {
	names := make([]string, 0, len(freq))
	for n, w := range freq {
		if w > 0 {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	ids := nameIDs()
	var out []nrWeight
	for _, n := range names {
		if id, ok := ids[n]; ok {
			if nr := tab.byID[id]; nr >= 0 {
				out = append(out, nrWeight{uint32(nr), freq[n]})
			}
		}
	}
	return out
}

// CacheCoverage measures the kernel's constant-action cache on the
// filters: of the syscalls the policy allows whatever their arguments
// (every applicable rule up to the first without condition allows, or no
// rule applies and the default allows), how many the cache serves, as
// bpf.CachedAllowStack computes it. x32 is left out: its numbers carry
// bit 30 and lie past every bitmap. The compiler serves them all, so
// cached == unconditional.
func (r *Result) CacheCoverage() (cached, unconditional int, err error) {
	r.explain.once.Do(func() { r.explain.m, r.explain.err = newModel(r.policy, r.opts) })
	if r.explain.err != nil {
		return 0, 0, r.explain.err
	}
	m := r.explain.m
	for _, g := range m.groups {
		for _, am := range g.models {
			if am == nil || am.a.NrBase == x32Bit {
				continue
			}
			bits := bpf.CachedAllowStack(r.Filters, bpf.CacheTarget{AuditArch: am.a.AuditArch, Syscalls: int(am.a.MaxNr()) + 1})
			var ch []entry
			for _, nr := range am.tab.nrs {
				ch, _ = am.chain(nr, ch[:0])
				if !allowsAlways(ch, am.defRet) {
					continue
				}
				unconditional++
				if int(nr) < len(bits) && bits[nr] {
					cached++
				}
			}
		}
	}
	return cached, unconditional, nil
}

// allowsAlways reports whether a chain allows whatever the arguments.
func allowsAlways(ch []entry, fallback uint32) bool {
	for _, e := range ch {
		if e.ret != bpf.RetAllow {
			return false
		}
		if e.cond == 0 {
			return true
		}
	}
	return fallback == bpf.RetAllow
}
