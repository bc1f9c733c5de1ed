package record

import (
	"cmp"
	"slices"
	"sync"

	"github.com/syscage/syscage/arch"
	"github.com/syscage/syscage/policy"
)

// callKey is one syscall on one ABI.
type callKey struct {
	arch string
	nr   int
}

// sampleKey is one combination of captured arguments.
type sampleKey struct {
	mask   uint8
	values [6]uint64
	memory bool
}

type callStat struct {
	count   uint64
	samples map[sampleKey]uint64
}

// collector accumulates syscalls; it is safe for concurrent use (the
// tracer adds while the progress display reads).
type collector struct {
	mu    sync.Mutex
	calls map[callKey]*callStat
	// capture adds argument slots to capture per arch and syscall
	// number, beyond the default specs (for Options.Policy).
	capture map[callKey]uint8
	total   uint64
}

func newCollector() *collector {
	return &collector{calls: map[callKey]*callStat{}, capture: map[callKey]uint8{}}
}

// mask returns the argument slots captured for a syscall.
func (c *collector) mask(a *arch.Arch, nr int) uint8 {
	return captureMask(a, nr) | c.capture[callKey{a.Name, nr}]
}

// add counts n calls of syscall nr on a with these raw arguments; only
// the captured ones are kept, 32-bit ones cut to their low half.
func (c *collector) add(a *arch.Arch, nr int, args [6]uint64, n uint64) {
	m := c.mask(a, nr)
	c.addMasked(a, nr, m, args, n, false)
}

func (c *collector) addMasked(a *arch.Arch, nr int, m uint8, args [6]uint64, n uint64, memory bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	k := callKey{a.Name, nr}
	st := c.calls[k]
	if st == nil {
		st = &callStat{}
		c.calls[k] = st
	}
	st.count += n
	c.total += n
	if m == 0 {
		return
	}
	sk := sampleKey{mask: m, memory: memory}
	name, _ := a.SyscallName(nr)
	for i := range 6 {
		if m&(1<<i) == 0 {
			continue
		}
		v := args[i]
		if policy.ArgWidth(a, name, i) == 32 {
			v &= 0xffffffff
		}
		sk.values[i] = v
	}
	if st.samples == nil {
		st.samples = map[sampleKey]uint64{}
	}
	st.samples[sk] += n
}

// addSyscall merges a recorded syscall (Merge).
func (c *collector) addSyscall(s *Syscall) {
	c.mu.Lock()
	defer c.mu.Unlock()
	k := callKey{s.Arch, s.Nr}
	st := c.calls[k]
	if st == nil {
		st = &callStat{}
		c.calls[k] = st
	}
	st.count += s.Count
	c.total += s.Count
	for _, a := range s.Args {
		if st.samples == nil {
			st.samples = map[sampleKey]uint64{}
		}
		st.samples[sampleKey{a.Mask, a.Values, a.FromMemory}] += a.Count
	}
}

// snapshot returns the number of calls and the distinct syscalls so far.
func (c *collector) snapshot() (uint64, []callKey) {
	c.mu.Lock()
	defer c.mu.Unlock()
	keys := make([]callKey, 0, len(c.calls))
	for k := range c.calls {
		keys = append(keys, k)
	}
	return c.total, keys
}

// syscalls returns the collected syscalls, native arch first, by name.
func (c *collector) syscalls() []*Syscall {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []*Syscall
	for k, st := range c.calls {
		s := &Syscall{Arch: k.arch, Nr: k.nr, Count: st.count}
		if a, err := arch.ByName(k.arch); err == nil {
			s.Name, _ = a.SyscallName(k.nr)
		}
		for sk, n := range st.samples {
			s.Args = append(s.Args, ArgSample{Mask: sk.mask, Values: sk.values, Count: n, FromMemory: sk.memory})
		}
		slices.SortFunc(s.Args, func(x, y ArgSample) int {
			if c := cmp.Compare(x.Mask, y.Mask); c != 0 {
				return c
			}
			return slices.Compare(x.Values[:], y.Values[:])
		})
		out = append(out, s)
	}
	order := sortArches(archNames(out))
	slices.SortFunc(out, func(x, y *Syscall) int {
		if c := cmp.Compare(slices.Index(order, x.Arch), slices.Index(order, y.Arch)); c != 0 {
			return c
		}
		if x.Name != y.Name {
			if x.Name == "" {
				return 1
			}
			if y.Name == "" {
				return -1
			}
			return cmp.Compare(x.Name, y.Name)
		}
		return cmp.Compare(x.Nr, y.Nr)
	})
	return out
}

func archNames(ss []*Syscall) []string {
	var out []string
	for _, s := range ss {
		if !slices.Contains(out, s.Arch) {
			out = append(out, s.Arch)
		}
	}
	return out
}
