package policy

import (
	"strings"
	"testing"

	"github.com/syscage/syscage/arch"
	"github.com/syscage/syscage/bpf"
)

func TestValueResolve(t *testing.T) {
	cases := []struct {
		arch  string
		terms []string
		want  uint64
		err   string
	}{
		{"x86_64", []string{"PROT_READ", "PROT_WRITE"}, 3, ""},
		{"x86_64", []string{"0x10", "1"}, 0x11, ""},
		{"x86_64", []string{"-1"}, ^uint64(0), ""},
		{"x86_64", []string{"AT_FDCWD"}, 0xffffffffffffff9c, ""},
		{"x86_64", []string{"O_LARGEFILE"}, 0, ""},
		{"mips", []string{"O_LARGEFILE"}, 0x2000, ""},
		{"mips", []string{"ENOSYS"}, 89, ""},
		{"x86_64", []string{"ENOSYS"}, 38, ""},
		{"x86_64", []string{"PROT_RAED"}, 0, `constant PROT_RAED is not defined on x86_64; did you mean "PROT_READ"`},
		{"x86_64", []string{"0x"}, 0, "malformed number"},
	}
	for _, c := range cases {
		got, err := Value{Terms: c.terms}.Resolve(archOf(t, c.arch))
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%s %v: error %v, want %q", c.arch, c.terms, err, c.err)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("%s %v = %#x, %v; want %#x", c.arch, c.terms, got, err, c.want)
		}
	}
	if got, _ := Num(42).Resolve(archOf(t, "x86_64")); got != 42 {
		t.Errorf("Num(42).Resolve = %d", got)
	}
}

func TestActionRet(t *testing.T) {
	cases := []struct {
		a    Action
		arch string
		want uint32
	}{
		{ActKillProcess, "x86_64", 0x80000000},
		{ActKillThread, "x86_64", 0},
		{Action{Kind: Trap}, "x86_64", 0x00030000},
		{Action{Kind: Trap, Data: 7}, "x86_64", 0x00030007},
		{Action{Kind: Errno, ErrnoName: "EPERM", Data: 1}, "x86_64", 0x00050001},
		{Action{Kind: Errno, ErrnoName: "ENOSYS", Data: 38}, "x86_64", 0x00050000 | 38},
		{Action{Kind: Errno, ErrnoName: "ENOSYS", Data: 38}, "mips", 0x00050000 | 89},
		{Action{Kind: Errno, Data: 38}, "mips", 0x00050000 | 38},
		{ActNotify, "x86_64", 0x7fc00000},
		{Action{Kind: Trace, Data: 0xffff}, "x86_64", 0x7ff0ffff},
		{ActLog, "x86_64", 0x7ffc0000},
		{ActAllow, "x86_64", 0x7fff0000},
	}
	for _, c := range cases {
		got, err := c.a.Ret(archOf(t, c.arch))
		if err != nil || got != c.want {
			t.Errorf("%s on %s = %#x, %v; want %#x", c.a, c.arch, got, err, c.want)
		}
		if err == nil && bpf.ActionOf(got) != got&bpf.RetActionFull {
			t.Errorf("%s gives %#x, which the kernel does not know", c.a, got)
		}
	}
	for _, bad := range []Action{{}, {Kind: Errno, Data: 4096}, {Kind: Errno, ErrnoName: "ENOPE"}} {
		if _, err := bad.Ret(archOf(t, "x86_64")); err == nil {
			t.Errorf("%+v.Ret succeeded", bad)
		}
	}
}

func TestArgIndexAndWidth(t *testing.T) {
	cases := []struct {
		arch, syscall, arg string
		idx, width         int
		err                string
	}{
		{"x86_64", "read", "fd", 0, 32, ""},
		{"x86_64", "read", "count", 2, 64, ""},
		{"x86_64", "read", "buf", 1, 64, ""},
		{"i386", "read", "count", 2, 32, ""},
		{"x86_64", "clone", "tls", 4, 64, ""},
		{"aarch64", "clone", "tls", 3, 64, ""},
		{"s390x", "clone", "clone_flags", 1, 64, ""},
		{"x86_64", "kill", "sig", 1, 32, ""},
		{"x86_64", "read", "arg5", 5, 64, ""},
		{"x86_64", "", "arg0", 0, 64, ""},
		{"x86_64", "read", "nope", 0, 0, `read on x86_64 has no argument "nope"`},
		{"i386", "mmap", "len", 0, 0, `mmap on i386 has no argument "len"; its arguments are arg (arg0, pointer)`},
		{"i386", "pread64", "pos", 0, 0, "has no fixed slot on i386"},
		{"x86_64", "", "fd", 0, 0, "the syscall has no name"},
	}
	for _, c := range cases {
		cm := &Cmp{Arg: -1, ArgName: c.arg}
		if n, ok := argIndexName(c.arg); ok {
			cm = &Cmp{Arg: n}
		}
		a := archOf(t, c.arch)
		idx, err := ArgIndex(a, c.syscall, cm)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("ArgIndex(%s, %s, %s): %v, want %q", c.arch, c.syscall, c.arg, err, c.err)
			}
			continue
		}
		if err != nil || idx != c.idx {
			t.Errorf("ArgIndex(%s, %s, %s) = %d, %v; want %d", c.arch, c.syscall, c.arg, idx, err, c.idx)
		}
		if w := ArgWidth(a, c.syscall, idx); w != c.width {
			t.Errorf("ArgWidth(%s, %s, %d) = %d, want %d", c.arch, c.syscall, idx, w, c.width)
		}
	}
}

func TestCompareVersions(t *testing.T) {
	cases := []struct {
		a, b string
		want int
	}{
		{"5.8", "5.8", 0}, {"5.10", "5.8", 1}, {"5.8", "5.10", -1}, {"6", "5.99", 1},
		{"5.8.0", "5.8", 0}, {"6.18.0-rc1", "6.18", 0}, {"4.14.2", "4.14.10", -1},
	}
	for _, c := range cases {
		if got := compareVersions(c.a, c.b); got != c.want {
			t.Errorf("compareVersions(%q, %q) = %d, want %d", c.a, c.b, got, c.want)
		}
	}
}

// TestValidate checks a policy built in memory, as the profile importers
// build them.
func TestValidate(t *testing.T) {
	p := &Policy{
		Default: Action{Kind: Errno, ErrnoName: "EPERM"},
		Rules: []*Rule{
			{Action: ActAllow, Syscalls: []Target{{Name: "socket"}}, When: &Cmp{Arg: 0, Op: OpEq, Value: Value{Terms: []string{"AF_INET"}}}},
		},
	}
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
	if p.Default.Data != 1 || p.Rules[0].When.(*Cmp).Value.Num != 2 {
		t.Errorf("Validate did not resolve: default %+v, value %+v", p.Default, p.Rules[0].When)
	}
	bad := &Policy{Rules: []*Rule{
		{Action: ActAllow, Syscalls: []Target{{Name: "sokcet"}}},
		{Action: ActAllow, Syscalls: []Target{{Name: "x", Group: "y"}}},
		{Action: ActAllow},
		{Syscalls: []Target{{Name: "read"}}},
		{Action: ActAllow, Syscalls: []Target{{Name: "read"}}, When: &And{}},
		{Action: ActAllow, Syscalls: []Target{{Name: "read"}}, When: &Cmp{Arg: 9, Op: OpEq}},
		{Action: ActAllow, Syscalls: []Target{{Name: "read"}}, When: &Cmp{Arg: 0, Op: 99}},
		{Action: ActAllow, Syscalls: []Target{{Name: "read"}}, Only: &Applies{Caps: []string{"CAP_NOPE"}, MinKernel: "x"}},
	}, Flags: []string{"nope"}}
	err := bad.Validate()
	if err == nil {
		t.Fatal("invalid policy validated")
	}
	for _, want := range []string{"no default action", `unknown syscall "sokcet"`, "exactly one of", "rule without syscalls",
		"rule without an action", "empty && condition", "argument index 9", "invalid comparison operator", "CAP_NOPE",
		`malformed kernel version "x"`, `unknown filter flag "nope"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("errors lack %q:\n%v", want, err)
		}
	}
}

func TestActionOfRetInvertsRet(t *testing.T) {
	x86, _ := arch.ByName("x86_64")
	mips, _ := arch.ByName("mips")
	acts := []Action{ActKillProcess, ActKillThread, {Kind: Trap}, {Kind: Trap, Data: 7},
		{Kind: Errno, Data: 1, ErrnoName: "EPERM"}, {Kind: Errno, Data: 38, ErrnoName: "ENOSYS"}, {Kind: Errno, Data: 4095},
		ActNotify, {Kind: Trace, Data: 3}, ActLog, ActAllow}
	for _, a := range []*arch.Arch{x86, mips} {
		for _, act := range acts {
			ret, err := act.Ret(a)
			if err != nil {
				t.Fatalf("%s on %s: %v", act, a, err)
			}
			back := ActionOfRet(ret, a)
			again, err := back.Ret(a)
			if err != nil || again != ret {
				t.Errorf("%s on %s: ret %#x reads back as %s, which is %#x (%v)", act, a, ret, back, again, err)
			}
		}
	}
	if got := ActionOfRet(0x00050026, x86).String(); got != "errno(ENOSYS)" {
		t.Errorf("errno 38 on x86_64 = %s", got)
	}
	if got := ActionOfRet(0x00050026, nil).String(); got != "errno(38)" {
		t.Errorf("errno 38 without an arch = %s", got)
	}
	if got := ActionOfRet(0x12340000, x86); got.Kind != KillProcess {
		t.Errorf("an undefined action reads as %s, want kill_process (the kernel's treatment)", got)
	}
}

func TestCmpOpHolds(t *testing.T) {
	tests := []struct {
		op    CmpOp
		x, v  uint64
		m, hi uint64
		set   []uint64
		want  bool
	}{
		{OpEq, 5, 5, 0, 0, nil, true}, {OpEq, 5, 6, 0, 0, nil, false},
		{OpNe, 5, 6, 0, 0, nil, true}, {OpNe, 5, 5, 0, 0, nil, false},
		{OpLt, 4, 5, 0, 0, nil, true}, {OpLt, 5, 5, 0, 0, nil, false},
		{OpLe, 5, 5, 0, 0, nil, true}, {OpLe, 6, 5, 0, 0, nil, false},
		{OpGt, 6, 5, 0, 0, nil, true}, {OpGt, 5, 5, 0, 0, nil, false},
		{OpGe, 5, 5, 0, 0, nil, true}, {OpGe, 4, 5, 0, 0, nil, false},
		{OpMaskedEq, 0x1f, 0x0f, 0x0f, 0, nil, true}, {OpMaskedEq, 0x1e, 0x0f, 0x0f, 0, nil, false},
		{OpBitsOnly, 0x3, 0x7, 0, 0, nil, true}, {OpBitsOnly, 0x8, 0x7, 0, 0, nil, false},
		{OpBitsNone, 0x8, 0x7, 0, 0, nil, true}, {OpBitsNone, 0x9, 0x7, 0, 0, nil, false},
		{OpBitsAll, 0xf, 0x7, 0, 0, nil, true}, {OpBitsAll, 0x6, 0x7, 0, 0, nil, false},
		{OpIn, 3, 0, 0, 0, []uint64{1, 3}, true}, {OpIn, 2, 0, 0, 0, []uint64{1, 3}, false},
		{OpRange, 3, 2, 0, 4, nil, true}, {OpRange, 5, 2, 0, 4, nil, false},
		{CmpOp(0), 0, 0, 0, 0, nil, false}, {CmpOp(200), 0, 0, 0, 0, nil, false},
	}
	for _, tt := range tests {
		if got := tt.op.Holds(tt.x, tt.v, tt.m, tt.hi, tt.set); got != tt.want {
			t.Errorf("%s.Holds(x=%#x, v=%#x, m=%#x, hi=%#x, set=%v) = %v, want %v", tt.op, tt.x, tt.v, tt.m, tt.hi, tt.set, got, tt.want)
		}
	}
}

func TestSameEffect(t *testing.T) {
	x86, _ := arch.ByName("x86_64")
	mips, _ := arch.ByName("mips")
	eperm := Action{Kind: Errno, ErrnoName: "EPERM"}
	one := Action{Kind: Errno, Data: 1}
	enosys := Action{Kind: Errno, ErrnoName: "ENOSYS"}
	n38 := Action{Kind: Errno, Data: 38}
	tests := []struct {
		as   []*arch.Arch
		x, y Action
		want bool
	}{
		{[]*arch.Arch{x86}, eperm, one, true},
		{[]*arch.Arch{x86, mips}, eperm, one, true},   // EPERM is 1 on both
		{[]*arch.Arch{x86}, enosys, n38, true},        // ENOSYS is 38 on x86_64
		{[]*arch.Arch{x86, mips}, enosys, n38, false}, // but 89 on mips
		{[]*arch.Arch{x86}, ActAllow, ActLog, false},
		{[]*arch.Arch{x86}, Action{}, Action{}, false}, // no action resolves
		{nil, ActAllow, ActKillProcess, true},          // nothing to tell them apart
	}
	for i, tt := range tests {
		if got := SameEffect(tt.as, tt.x, tt.y); got != tt.want {
			t.Errorf("%d: SameEffect(%v, %s, %s) = %v, want %v", i, tt.as, tt.x, tt.y, got, tt.want)
		}
	}
}
