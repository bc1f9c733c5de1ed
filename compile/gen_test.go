package compile

import (
	"fmt"
	"math/rand/v2"
	"slices"

	"github.com/syscage/syscage/arch"
	"github.com/syscage/syscage/bpf"
	"github.com/syscage/syscage/policy"
)

// This file generates random policies and the inputs that probe them, for
// the differential tests: every operator and width, masks, sets and
// ranges, And/Or/Not, every action, several arches and both byte orders,
// only/except restrictions, first-match chains over shared syscalls,
// numbers outside the tables and names some arches lack.

// archSets are the architecture lists policies are drawn with; each list
// has one byte order.
var archSets = [][]string{
	nil, // native
	{"x86_64"},
	{"x86_64", "i386"},
	{"x86_64", "x32"},
	{"x86_64", "i386", "x32"},
	{"x32"},
	{"i386", "x86_64"},
	{"aarch64", "arm"},
	{"riscv64"},
	{"s390x"},
	{"ppc64", "s390x"},
	{"mips", "mips64"},
	{"mipsel", "mips64el"},
	{"loongarch64"},
}

var syscallPool = []string{
	"read", "write", "open", "openat", "close", "mmap", "mmap2", "mprotect", "socket",
	"clone", "clone3", "personality", "ioctl", "fcntl", "prctl", "futex", "kill", "lseek",
	"execve", "getpid", "exit_group", "newfstatat", "statx", "socketcall", "rt_sigaction",
	"madvise", "setsockopt", "dup3", "pidfd_open", "unshare", "ptrace", "bpf",
}

// numberPool holds syscall numbers as rules may name them: in tables, in
// gaps, past the end, with the x32 bit, mips bases, and extremes.
var numberPool = []int{0, 1, 2, 59, 334, 335, 400, 1000, 4000, 4001, 4500, 5000, 5001,
	0x40000000, 0x40000001, 0x40000200, 0x7fffffff, 0x80000000, 0xffffffff, -1}

// valuePool holds constants that sit on the boundaries of the 32-bit
// halves.
var valuePool = []uint64{0, 1, 2, 3, 0x7f, 0x80, 0xff, 0x1000, 0x7fffffff, 0x80000000,
	0xfffffffe, 0xffffffff, 0x100000000, 0x100000001, 0x1ffffffff, 0xffffffff00000000,
	0x8000000000000000, 0xfffffffffffffffe, 0xffffffffffffffff, 0x123456789}

var symbolPool = []string{"AF_INET", "AF_UNIX", "PROT_EXEC", "PROT_WRITE", "O_RDONLY",
	"CLONE_NEWUSER", "CLONE_THREAD", "-1", "-100", "0x10", "EPERM"}

var errnoNames = []string{"EPERM", "ENOSYS", "EACCES", "EAGAIN", "ENOTSUP"}

var capPool = []string{"CAP_SYS_ADMIN", "CAP_NET_ADMIN", "CAP_SYS_PTRACE", "SYS_CHROOT"}

type policyGen struct {
	r *rand.Rand
	// values and args are the constants and argument slots of the policy
	// being drawn: a few, so that comparisons meet on the same words and
	// on equal and adjacent constants, where the optimiser's facts act.
	values []uint64
	args   []int
}

func (pg *policyGen) pick(n int) int { return pg.r.IntN(n) }

func (pg *policyGen) chance(p float64) bool { return pg.r.Float64() < p }

func (pg *policyGen) action() policy.Action {
	switch pg.pick(9) {
	case 0:
		return policy.ActKillProcess
	case 1:
		return policy.ActKillThread
	case 2:
		return policy.Action{Kind: policy.Trap, Data: uint16(pg.pick(3))}
	case 3:
		return policy.Action{Kind: policy.Errno, ErrnoName: errnoNames[pg.pick(len(errnoNames))]}
	case 4:
		return policy.Action{Kind: policy.Errno, Data: uint16(pg.pick(200))}
	case 5:
		return policy.ActNotify
	case 6:
		return policy.Action{Kind: policy.Trace, Data: uint16(pg.pick(70000))}
	case 7:
		return policy.ActLog
	}
	return policy.ActAllow
}

func (pg *policyGen) value() policy.Value {
	if pg.chance(0.2) {
		n := 1 + pg.pick(2)
		var terms []string
		for i := 0; i < n; i++ {
			terms = append(terms, symbolPool[pg.pick(len(symbolPool))])
		}
		return policy.Value{Terms: terms}
	}
	if pg.chance(0.1) {
		return policy.Num(pg.r.Uint64() >> (pg.pick(4) * 16))
	}
	if pg.chance(0.2) {
		return policy.Num(valuePool[pg.pick(len(valuePool))])
	}
	v := pg.values[pg.pick(len(pg.values))]
	switch pg.pick(4) {
	case 0:
		v++
	case 1:
		v--
	}
	return policy.Num(v)
}

func (pg *policyGen) cmp(argNames []string) *policy.Cmp {
	c := &policy.Cmp{Arg: pg.args[pg.pick(len(pg.args))], Op: policy.CmpOp(1 + pg.pick(int(policy.OpRange)))}
	if len(argNames) > 0 && pg.chance(0.4) {
		c.Arg, c.ArgName = -1, argNames[pg.pick(len(argNames))]
	}
	switch c.Op {
	case policy.OpIn:
		n := 1 + pg.pick(9)
		for i := 0; i < n; i++ {
			c.Values = append(c.Values, pg.value())
		}
	case policy.OpMaskedEq:
		c.Mask = pg.value()
		c.Value = pg.value()
		if pg.chance(0.6) {
			// Mostly a value within the mask, the useful case.
			c.Value = policy.Num(pg.r.Uint64() & c.Mask.Num)
		}
	case policy.OpRange:
		c.Value, c.High = pg.value(), pg.value()
		if c.Value.Num > c.High.Num && len(c.Value.Terms) == 0 && len(c.High.Terms) == 0 && pg.chance(0.8) {
			c.Value, c.High = c.High, c.Value
		}
	default:
		c.Value = pg.value()
	}
	return c
}

func (pg *policyGen) expr(depth int, argNames []string) policy.Expr {
	if depth <= 0 || pg.chance(0.5) {
		return pg.cmp(argNames)
	}
	switch pg.pick(3) {
	case 0:
		return &policy.Not{X: pg.expr(depth-1, argNames)}
	case 1:
		a := &policy.And{}
		for i := 0; i < 2+pg.pick(2); i++ {
			a.Terms = append(a.Terms, pg.expr(depth-1, argNames))
		}
		return a
	}
	o := &policy.Or{}
	for i := 0; i < 2+pg.pick(2); i++ {
		o.Terms = append(o.Terms, pg.expr(depth-1, argNames))
	}
	return o
}

func (pg *policyGen) applies(arches []string) *policy.Applies {
	ap := &policy.Applies{}
	if len(arches) > 0 && pg.chance(0.5) {
		ap.Arches = []string{arches[pg.pick(len(arches))]}
	}
	if pg.chance(0.4) {
		ap.Caps = []string{capPool[pg.pick(len(capPool))]}
	}
	if pg.chance(0.3) {
		ap.MinKernel = []string{"4.8", "5.4", "6.18", "7.0"}[pg.pick(4)]
	}
	return ap
}

// policy returns a random policy.
func (pg *policyGen) policy() *policy.Policy {
	p := &policy.Policy{
		Default: pg.action(),
		Arches:  archSets[pg.pick(len(archSets))],
	}
	if pg.chance(0.5) {
		p.Unknown = pg.action()
	}
	if pg.chance(0.5) {
		p.BadArch = pg.action()
	}
	pg.values = pg.values[:0]
	for i := 0; i < 2+pg.pick(5); i++ {
		v := valuePool[pg.pick(len(valuePool))]
		if pg.chance(0.3) {
			v = pg.r.Uint64() >> (pg.pick(3) * 16)
		}
		pg.values = append(pg.values, v)
	}
	pg.args = pg.args[:0]
	for i := 0; i < 1+pg.pick(3); i++ {
		pg.args = append(pg.args, pg.pick(6))
	}
	arches := p.Arches
	if len(arches) == 0 {
		arches = []string{arch.Native().Name}
	}
	groups := policy.Groups()
	nrules := 1 + pg.pick(25)
	// Rules share a small set of syscalls so that first-match chains
	// form.
	pool := make([]string, 0, 8)
	for i := 0; i < 4+pg.pick(8); i++ {
		pool = append(pool, syscallPool[pg.pick(len(syscallPool))])
	}
	for i := 0; i < nrules; i++ {
		r := &policy.Rule{Pos: policy.Pos{File: "gen", Line: i + 1, Col: 1}, Action: pg.action()}
		nt := 1 + pg.pick(3)
		for j := 0; j < nt; j++ {
			var t policy.Target
			switch k := pg.pick(10); {
			case k == 0:
				t.Group = groups[pg.pick(len(groups))].Name
			case k <= 2:
				t.Nr, t.HasNr = numberPool[pg.pick(len(numberPool))], true
			default:
				t.Name = pool[pg.pick(len(pool))]
			}
			if pg.chance(0.1) {
				t.Arch = arches[pg.pick(len(arches))]
			}
			r.Syscalls = append(r.Syscalls, t)
		}
		if pg.chance(0.7) {
			var argNames []string
			if len(r.Syscalls) == 1 && r.Syscalls[0].Name != "" {
				if sig, ok := arch.SignatureOf(r.Syscalls[0].Name); ok {
					for _, a := range sig.Args {
						argNames = append(argNames, a.Name)
					}
				}
			}
			r.When = pg.expr(2, argNames)
		}
		if pg.chance(0.15) {
			r.Only = pg.applies(arches)
		}
		if pg.chance(0.1) {
			r.Except = pg.applies(arches)
		}
		p.Rules = append(p.Rules, r)
	}
	return p
}

// env returns a random environment for only/except.
func (pg *policyGen) env() policy.Env {
	switch pg.pick(3) {
	case 0:
		return policy.Env{}
	case 1:
		return policy.Env{Caps: []string{}, Kernel: "5.4"}
	}
	return policy.Env{Caps: []string{"CAP_NET_ADMIN"}, Kernel: "6.18"}
}

// inputs returns seccomp data probing p: every accepted arch and a
// foreign one; numbers at the ends of the tables, around every number a
// rule names and around the x32 bit; arguments at and around every
// constant of the policy, with both halves varied, and random ones.
func (pg *policyGen) inputs(p *policy.Policy, n int) []bpf.SeccompData {
	accepted, _ := p.AcceptedArches()
	audits := []uint32{0, 0x40000003 ^ 1}
	for _, a := range accepted {
		audits = append(audits, a.AuditArch)
	}
	for _, a := range arch.All() {
		if !slices.Contains(accepted, a) {
			audits = append(audits, a.AuditArch)
			break
		}
	}
	nrs := []uint32{0, 1, 0x3fffffff, 0x40000000, 0x40000001, 0x7fffffff, 0x80000000, 0xbfffffff, 0xc0000000, 0xffffffff}
	for _, a := range accepted {
		scs := a.Syscalls()
		nrs = append(nrs, uint32(scs[0].Nr), uint32(scs[0].Nr)-1, uint32(a.MaxNr()), uint32(a.MaxNr()+1))
		for i := 0; i < 12; i++ {
			nrs = append(nrs, uint32(scs[pg.pick(len(scs))].Nr))
		}
	}
	var consts []uint64
	var walk func(e policy.Expr)
	addValue := func(v policy.Value) {
		for _, a := range accepted {
			if x, err := v.Resolve(a); err == nil {
				consts = append(consts, x, x-1, x+1, uint64(uint32(x)), uint64(uint32(x))|0xffffffff00000000)
			}
		}
	}
	walk = func(e policy.Expr) {
		switch e := e.(type) {
		case *policy.And:
			for _, t := range e.Terms {
				walk(t)
			}
		case *policy.Or:
			for _, t := range e.Terms {
				walk(t)
			}
		case *policy.Not:
			walk(e.X)
		case *policy.Cmp:
			addValue(e.Value)
			addValue(e.Mask)
			addValue(e.High)
			for _, v := range e.Values {
				addValue(v)
			}
		}
	}
	// hot are the numbers of rules with conditions: most inputs go
	// there, where the argument code is.
	var hot []uint32
	for _, r := range p.Rules {
		for _, t := range r.Syscalls {
			for _, a := range accepted {
				for _, sc := range t.Syscalls(a) {
					nrs = append(nrs, uint32(sc.Nr), uint32(sc.Nr)+1, uint32(sc.Nr)-1)
					if r.When != nil {
						hot = append(hot, uint32(sc.Nr))
					}
				}
			}
		}
		walk(r.When)
	}
	consts = append(consts, 0, ^uint64(0), 1<<32, 1<<32-1)
	arg := func() uint64 {
		switch pg.pick(8) {
		case 0:
			return pg.r.Uint64()
		case 1:
			return uint64(pg.r.Uint32())
		}
		c := consts[pg.pick(len(consts))]
		if pg.chance(0.3) {
			c ^= uint64(pg.r.Uint32()) << 32
		}
		return c
	}
	out := make([]bpf.SeccompData, n)
	for i := range out {
		d := &out[i]
		d.Arch = audits[pg.pick(len(audits))]
		d.Nr = int32(nrs[pg.pick(len(nrs))])
		if len(hot) > 0 && pg.chance(0.5) {
			d.Nr = int32(hot[pg.pick(len(hot))])
			if a := archOf(d.Arch, uint32(d.Nr)); a == nil || !slices.Contains(accepted, a) {
				// Most of these inputs should reach the rule: use an
				// accepted arch.
				d.Arch = accepted[pg.pick(len(accepted))].AuditArch
			}
		}
		if pg.chance(0.05) {
			d.Nr = int32(pg.r.Uint32())
		}
		d.InstructionPointer = pg.r.Uint64()
		for j := range d.Args {
			if pg.chance(0.8) {
				d.Args[j] = arg()
			}
		}
	}
	return out
}

// want returns the return value policy.Evaluate gives for d.
func want(p *policy.Policy, d *bpf.SeccompData, env policy.Env) (uint32, policy.Decision, error) {
	dec, err := policy.Evaluate(p, policy.Input{AuditArch: d.Arch, Nr: uint32(d.Nr), Args: d.Args}, env)
	if err != nil {
		return 0, dec, err
	}
	accepted, _ := p.AcceptedArches()
	a := accepted[0] // the bad-arch action is resolved for the first arch
	if dec.Reason != "badarch" {
		a = archOf(d.Arch, uint32(d.Nr))
	}
	ret, err := dec.Action.Ret(a)
	if err != nil {
		return 0, dec, fmt.Errorf("decision %v on %s: %w", dec.Action, a.Name, err)
	}
	return ret, dec, nil
}

// archOf finds the architecture of an input as the semantics define it.
func archOf(audit, nr uint32) *arch.Arch {
	cands := arch.ByAuditArch(audit)
	if len(cands) == 1 {
		return cands[0]
	}
	for _, c := range cands {
		if (c.NrBase == x32Bit) == (nr&x32Bit != 0) {
			return c
		}
	}
	return nil
}
