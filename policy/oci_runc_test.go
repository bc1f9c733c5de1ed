package policy

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/syscage/syscage/arch"
	"github.com/syscage/syscage/bpf"
)

// This file is an independent model of how Docker's profile loader
// (moby/profiles/seccomp: setupSeccomp), runc 1.1 (libcontainer/seccomp:
// InitSeccomp, matchCall, patchbpf) and libseccomp 2.5 (db.c:
// db_col_rule_add, db_rule_add) decide a syscall for an OCI profile. It
// reads the JSON with encoding/json, not with the code under test, and
// the tests compare its decisions with policy.Evaluate on what ParseOCI
// and ExportOCI produce.

type runcProfile struct {
	DefaultAction   string   `json:"defaultAction"`
	DefaultErrnoRet *uint    `json:"defaultErrnoRet"`
	Architectures   []string `json:"architectures"`
	ArchMap         []struct {
		Arch string   `json:"architecture"`
		Subs []string `json:"subArchitectures"`
	} `json:"archMap"`
	Syscalls []struct {
		Names    []string `json:"names"`
		Name     string   `json:"name"`
		Action   string   `json:"action"`
		ErrnoRet *uint    `json:"errnoRet"`
		Args     []struct {
			Index    uint   `json:"index"`
			Value    uint64 `json:"value"`
			ValueTwo uint64 `json:"valueTwo"`
			Op       string `json:"op"`
		} `json:"args"`
		Includes *runcFilter `json:"includes"`
		Excludes *runcFilter `json:"excludes"`
	} `json:"syscalls"`
}

type runcFilter struct {
	Arches    []string `json:"arches"`
	Caps      []string `json:"caps"`
	MinKernel string   `json:"minKernel"`
}

// runcCond is one libseccomp comparison.
type runcCond struct {
	arg  uint
	op   string
	a, b uint64
}

// runcRule is one libseccomp rule: an action and ANDed comparisons.
type runcRule struct {
	ret   uint32
	conds []runcCond
}

// runcModel is the filter runc would load, for one environment.
type runcModel struct {
	def    uint32
	stub   bool // runc's -ENOSYS stub for syscalls newer than the profile
	arches []*arch.Arch
	rules  map[*arch.Arch]map[int][]runcRule
	maxNr  map[*arch.Arch]int
}

// runcHost is moby's name for the x86_64 host the tests model.
const runcHost = "amd64"

var runcArches = map[string]string{
	"SCMP_ARCH_X86": "i386", "SCMP_ARCH_X86_64": "x86_64", "SCMP_ARCH_X32": "x32",
	"SCMP_ARCH_ARM": "arm", "SCMP_ARCH_AARCH64": "aarch64",
}

func runcRet(action string, errnoRet *uint) (uint32, error) {
	data := func(def uint32) uint32 {
		if errnoRet != nil {
			return uint32(*errnoRet) & 0xffff
		}
		return def
	}
	switch action {
	case "SCMP_ACT_KILL", "SCMP_ACT_KILL_THREAD":
		return bpf.RetKillThread, nil
	case "SCMP_ACT_KILL_PROCESS":
		return bpf.RetKillProcess, nil
	case "SCMP_ACT_TRAP":
		return bpf.RetTrap, nil
	case "SCMP_ACT_ERRNO":
		return bpf.RetErrno | data(1), nil
	case "SCMP_ACT_TRACE":
		return bpf.RetTrace | data(1), nil
	case "SCMP_ACT_ALLOW":
		return bpf.RetAllow, nil
	case "SCMP_ACT_LOG":
		return bpf.RetLog, nil
	case "SCMP_ACT_NOTIFY":
		return bpf.RetUserNotif, nil
	}
	return 0, fmt.Errorf("bad action %q", action)
}

// runcKernelAtLeast compares "a.b" versions on their first two numbers, as
// moby's kernelGreaterEqualThan does.
func runcKernelAtLeast(kernel, min string) bool {
	if kernel == "" {
		return true
	}
	parse := func(s string) (uint64, uint64) {
		f := strings.SplitN(s, ".", 3)
		a, _ := strconv.ParseUint(f[0], 10, 64)
		var b uint64
		if len(f) > 1 {
			b, _ = strconv.ParseUint(strings.TrimRightFunc(f[1], func(r rune) bool { return r < '0' || r > '9' }), 10, 64)
		}
		return a, b
	}
	ka, kb := parse(kernel)
	ma, mb := parse(min)
	return ka > ma || ka == ma && kb >= mb
}

// newRuncModel builds the filter for env on an x86_64 host.
func newRuncModel(data []byte, env Env) (*runcModel, error) {
	var prof runcProfile
	if err := json.Unmarshal(data, &prof); err != nil {
		return nil, err
	}
	hasCap := func(c string) bool { return env.Caps == nil || slices.Contains(env.Caps, c) }
	m := &runcModel{rules: map[*arch.Arch]map[int][]runcRule{}, maxNr: map[*arch.Arch]int{}}
	var err error
	if m.def, err = runcRet(prof.DefaultAction, prof.DefaultErrnoRet); err != nil {
		return nil, err
	}
	switch prof.DefaultAction {
	case "SCMP_ACT_ALLOW", "SCMP_ACT_LOG", "SCMP_ACT_TRACE":
	default:
		m.stub = true
	}
	// moby: architectures from the archMap entry of the host.
	names := prof.Architectures
	for _, e := range prof.ArchMap {
		if e.Arch == "SCMP_ARCH_X86_64" {
			names = append([]string{e.Arch}, e.Subs...)
			break
		}
	}
	native, _ := arch.ByName("x86_64")
	m.arches = []*arch.Arch{native} // seccomp_init's native architecture
	for _, n := range names {
		a, err := arch.ByName(runcArches[n])
		if err != nil {
			return nil, fmt.Errorf("arch %s: %v", n, err)
		}
		if !slices.Contains(m.arches, a) {
			m.arches = append(m.arches, a)
		}
	}
	for _, a := range m.arches {
		m.rules[a] = map[int][]runcRule{}
	}
	for _, sc := range prof.Syscalls {
		if sc.Name != "" {
			sc.Names = []string{sc.Name}
		}
		// moby: excludes, then includes; arches are the host's.
		if x := sc.Excludes; x != nil {
			if slices.Contains(x.Arches, runcHost) || slices.ContainsFunc(x.Caps, hasCap) ||
				(x.MinKernel != "" && runcKernelAtLeast(env.Kernel, x.MinKernel)) {
				continue
			}
		}
		if in := sc.Includes; in != nil {
			if len(in.Arches) > 0 && !slices.Contains(in.Arches, runcHost) {
				continue
			}
			if slices.ContainsFunc(in.Caps, func(c string) bool { return !hasCap(c) }) {
				continue
			}
			if in.MinKernel != "" && !runcKernelAtLeast(env.Kernel, in.MinKernel) {
				continue
			}
		}
		ret, err := runcRet(sc.Action, sc.ErrnoRet)
		if err != nil {
			return nil, err
		}
		var conds []runcCond
		count := map[uint]int{}
		repeated := false
		for _, a := range sc.Args {
			c := runcCond{arg: a.Index, op: a.Op, a: a.Value, b: a.ValueTwo}
			conds = append(conds, c)
			count[a.Index]++
			if count[a.Index] > 1 {
				repeated = true
			}
		}
		var rules []runcRule
		switch {
		case repeated:
			for _, c := range conds {
				rules = append(rules, runcRule{ret: ret, conds: []runcCond{c}})
			}
		default:
			rules = []runcRule{{ret: ret, conds: conds}}
		}
		for _, name := range sc.Names {
			for _, a := range m.arches {
				nr, ok := a.Lookup(name)
				if !ok {
					continue
				}
				// patchbpf counts every rule's syscall, also skipped ones.
				if nr > m.maxNr[a] {
					m.maxNr[a] = nr
				}
				if ret == m.def {
					continue // runc: the rule is redundant, skip it
				}
				m.rules[a][nr] = append(m.rules[a][nr], rules...)
			}
		}
	}
	return m, nil
}

// runcCompare is one libseccomp comparison on one architecture: 64-bit
// architectures compare all 64 bits, 32-bit ones the low 32 of the
// argument and the operands.
func runcCompare(c runcCond, a *arch.Arch, args [6]uint64) bool {
	x, va, vb := args[c.arg], c.a, c.b
	if a.Bits == 32 {
		x, va, vb = x&0xffffffff, va&0xffffffff, vb&0xffffffff
	}
	switch c.op {
	case "SCMP_CMP_EQ":
		return x == va
	case "SCMP_CMP_NE":
		return x != va
	case "SCMP_CMP_LT":
		return x < va
	case "SCMP_CMP_LE":
		return x <= va
	case "SCMP_CMP_GT":
		return x > va
	case "SCMP_CMP_GE":
		return x >= va
	case "SCMP_CMP_MASKED_EQ":
		return x&va == vb&va
	}
	panic("bad op " + c.op)
}

// decide returns what the filter returns, and false when libseccomp's
// choice between overlapping conditional rules with different actions
// is not modelled.
func (m *runcModel) decide(in Input) (uint32, bool) {
	var a *arch.Arch
	for _, c := range m.arches {
		if c.AuditArch == in.AuditArch && (c.NrBase&0x40000000 != 0) == (in.Nr&0x40000000 != 0) {
			a = c
		}
	}
	if a == nil {
		return bpf.RetKillThread, true // libseccomp's default bad-arch action
	}
	rules := m.rules[a][int(in.Nr)]
	for _, r := range rules {
		if len(r.conds) == 0 {
			return r.ret, true // an unconditional rule replaces the rest
		}
	}
	var got []uint32
	for _, r := range rules {
		all := true
		for _, c := range r.conds {
			all = all && runcCompare(c, a, in.Args)
		}
		if all && !slices.Contains(got, r.ret) {
			got = append(got, r.ret)
		}
	}
	switch len(got) {
	case 1:
		return got[0], true
	case 0:
	default:
		return 0, false
	}
	if m.stub && int(in.Nr) > m.maxNr[a] && m.maxNr[a] > 0 {
		nosys, _ := a.Errno("ENOSYS")
		return bpf.RetErrno | uint32(nosys), true
	}
	return m.def, true
}

// runcCase is one input to compare.
type runcCase struct {
	arch *arch.Arch
	in   Input
}

// runcInputs returns inputs for every syscall of the architectures. The
// syscalls named by rules with argument comparisons get argument vectors
// drawn from the constants the profile compares each argument with (each,
// its neighbours, and, when wide is set, with garbage in the upper half):
// every such value alone, and random combinations of them. The others get
// one vector, since their decision cannot depend on arguments.
func runcInputs(t *testing.T, data []byte, arches []string, wide bool, extra ...uint64) []runcCase {
	t.Helper()
	var prof runcProfile
	if err := json.Unmarshal(data, &prof); err != nil {
		t.Fatal(err)
	}
	var sets [6]map[uint64]bool
	add := func(i int, v uint64) {
		for _, x := range []uint64{v, v + 1, v - 1} {
			sets[i][x] = true
			if wide {
				sets[i][x|0xdead000000000000] = true
				sets[i][x&0xffffffff|0xffffffff00000000] = true
			}
		}
	}
	for i := range sets {
		sets[i] = map[uint64]bool{}
		for _, v := range append([]uint64{0, 0xffffffff, 1 << 32}, extra...) {
			add(i, v)
		}
	}
	conditional := map[string]bool{}
	for _, sc := range prof.Syscalls {
		if len(sc.Args) > 0 {
			for _, n := range append(sc.Names, sc.Name) {
				conditional[n] = true
			}
		}
		for _, a := range sc.Args {
			if a.Index > 5 {
				continue
			}
			for _, v := range []uint64{a.Value, a.ValueTwo, a.Value & a.ValueTwo, a.ValueTwo | ^a.Value} {
				add(int(a.Index), v)
			}
		}
	}
	var vals [6][]uint64
	for i := range sets {
		for v := range sets[i] {
			vals[i] = append(vals[i], v)
		}
		slices.Sort(vals[i])
	}
	var vecs [][6]uint64
	for i := range vals {
		for _, v := range vals[i] {
			var vec [6]uint64
			vec[i] = v
			vecs = append(vecs, vec)
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 300 {
		var vec [6]uint64
		for i := range vec {
			vec[i] = vals[i][rng.IntN(len(vals[i]))]
		}
		vecs = append(vecs, vec)
	}
	var out []runcCase
	for _, n := range arches {
		a, err := arch.ByName(n)
		if err != nil {
			t.Fatal(err)
		}
		for _, sc := range a.Syscalls() {
			in := Input{AuditArch: a.AuditArch, Nr: uint32(sc.Nr)}
			if !conditional[sc.Name] {
				out = append(out, runcCase{a, in})
				continue
			}
			for _, v := range vecs {
				in.Args = v
				out = append(out, runcCase{a, in})
			}
		}
	}
	return out
}
