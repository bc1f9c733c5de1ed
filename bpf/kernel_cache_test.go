package bpf

import "testing"

// Harmless system calls that only read the caller's ids, x86_64 and
// i386 numbers: getpid, getuid, getgid, geteuid, getegid, getppid,
// getpgrp, gettid.
var (
	cacheNrs64 = []uint32{39, 102, 104, 107, 108, 110, 111, 186}
	cacheNrs32 = []uint32{20, 199, 200, 201, 202, 64, 65, 224}
)

// slowChain makes every path that runs the filter cost thousands of
// instructions, and ends in ret. Conditional jumps of offset 0 are what
// the kernel's cache emulator follows, so they do not change what is
// cached; they only make running the filter visible in a call's time.
func slowChain(n int, ret Instruction) Program {
	return concat(repeat(JumpIf(JmpJGE, 0, 0, 0), n-1), Program{ret})
}

// TestKernelCache shows that the kernel serves from its constant-action
// bitmap exactly the syscalls CachedAllow predicts. A cached call does
// not run the filter at all, so under a filter that costs thousands of
// instructions on every path a cached call is as fast as without any
// filter and an uncached one is microseconds slower. Every path of these
// programs allows, so the calls (and the Go runtime's own) simply run.
func TestKernelCache(t *testing.T) {
	needKernel(t)
	if testing.Short() {
		t.Skip("timing test")
	}
	withInt80 := int80Works(t)
	taint := LoadAbs(ArgLowOffset(0, false)) // an argument load: uncacheable from here on
	chain := slowChain(3900, Ret(RetAllow))
	programs := []struct {
		name    string
		filters []Program
	}{
		{"no filter but allow", []Program{allowAll}},
		{"argument load for one number", []Program{concat(Program{
			LoadAbs(OffsetNr), JumpIf(JmpJEQ, 110, 0, 1), taint}, chain)}},
		{"arch check first", []Program{concat(Program{
			LoadAbs(OffsetArch), JumpIf(JmpJEQ, auditArchX86_64, 1, 0), taint}, chain)}},
		{"jset and and", []Program{concat(Program{
			LoadAbs(OffsetNr), ALUK(AluAnd, 0xff), JumpIf(JmpJSET, 1, 0, 1), taint}, chain)}},
		{"ja over the load", []Program{concat(Program{
			LoadAbs(OffsetNr), JumpIf(JmpJGT, 104, 0, 1), Jump(1), taint}, chain)}},
		{"allow with data", []Program{concat(Program{
			LoadAbs(OffsetNr), JumpIf(JmpJGE, 108, 1, 0), Jump(2000),
		}, slowChain(2000, Ret(RetAllow|1)), slowChain(2000, Ret(RetAllow)))}},
		{"ret a", []Program{concat(Program{LoadImm(RetAllow)}, slowChain(3900, RetA()))}},
		{"stack", []Program{
			concat(Program{LoadAbs(OffsetNr), JumpIf(JmpJSET, 1, 0, 1), taint}, chain),
			concat(Program{LoadAbs(OffsetNr), JumpIf(JmpJGE, 105, 0, 1), taint}, chain),
		}},
	}
	var cases []kernelCase
	id := 0
	for _, pr := range programs {
		if err := ValidateStack(pr.filters); err != nil {
			t.Fatalf("%s: %v", pr.name, err)
		}
		c := kernelCase{name: pr.name, filters: pr.filters}
		// Number 1000 is beyond every bitmap: the filter always runs
		// for it, which shows what running the filter costs.
		for _, nr := range append([]uint32{kernelFirstNr}, cacheNrs64...) {
			c.inputs = append(c.inputs, kernelInput{ID: id, Nr: nr})
			id++
		}
		if withInt80 {
			for _, nr := range append([]uint32{kernelFirstNr}, cacheNrs32...) {
				c.inputs = append(c.inputs, kernelInput{ID: id, Nr: nr, I386: true})
				id++
			}
		}
		cases = append(cases, c)
	}
	run := runKernel(t, cases, withInt80, true)
	// The first case has a filter every call skips: its times are the
	// baseline of each call.
	base := map[[2]uint32]int64{}
	for _, in := range cases[0].inputs {
		base[[2]uint32{b2u(in.I386), in.Nr}] = run.nanos[[2]int{0, in.ID}]
	}
	cached, uncached := 0, 0
	for ci, c := range cases[1:] {
		ci++
		native := CachedAllowStack(c.filters, CacheTarget{AuditArch: auditArchX86_64, Syscalls: 512})
		compat := CachedAllowStack(c.filters, CacheTarget{AuditArch: auditArchI386, Syscalls: 512})
		extra := func(in kernelInput) int64 {
			return run.nanos[[2]int{ci, in.ID}] - base[[2]uint32{b2u(in.I386), in.Nr}]
		}
		// The extra time of the reference call (number 1000, first of
		// each entry point) is what running the filter costs; a cached
		// call costs none of it.
		var cost [2]int64
		for _, in := range c.inputs {
			if in.Nr == kernelFirstNr {
				cost[b2u(in.I386)] = extra(in)
			}
		}
		for _, in := range c.inputs {
			if in.Nr == kernelFirstNr {
				continue
			}
			want := native[in.Nr]
			if in.I386 {
				want = compat[in.Nr]
			}
			filterCost := cost[b2u(in.I386)]
			if filterCost < 500 {
				t.Fatalf("%s: running the filter costs only %dns; the timing cannot tell cached calls apart", c.name, filterCost)
			}
			if got := extra(in) < filterCost/2; got != want {
				t.Errorf("%s: syscall %d (i386 %v): CachedAllow says cached=%v, but the call took %dns more than without filter, and running the filter costs %dns",
					c.name, in.Nr, in.I386, want, extra(in), filterCost)
			}
			if want {
				cached++
			} else {
				uncached++
			}
		}
	}
	t.Logf("%d calls the kernel served from its bitmap and %d it ran the filter for, as predicted", cached, uncached)
	if cached == 0 || uncached == 0 {
		t.Error("the programs no longer show both kinds of calls")
	}
}

func b2u(b bool) uint32 {
	if b {
		return 1
	}
	return 0
}
