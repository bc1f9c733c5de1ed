package policy

import (
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/syscage/syscage/arch"
)

// ociEnvs are the environments decisions are compared in: every
// capability or none, the two capabilities the moby profile tests most,
// and kernels on both sides of its minKernel.
var ociEnvs = []Env{
	{},
	{Caps: []string{}},
	{Caps: []string{"CAP_SYS_ADMIN"}},
	{Caps: []string{"CAP_SYS_PTRACE"}, Kernel: "4.7"},
	{Caps: []string{}, Kernel: "4.7"},
	{Caps: []string{}, Kernel: "6.1"},
}

func readMoby(t testing.TB) []byte {
	t.Helper()
	data, err := os.ReadFile("testdata/oci/moby-default.json")
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func needX86(t testing.TB) {
	t.Helper()
	if a := arch.Native(); a == nil || a.Name != "x86_64" {
		t.Skipf("the runc model describes an x86_64 host; this is %v", a)
	}
}

// ret is the seccomp return value of a decision on architecture a.
func ret(t testing.TB, d Decision, a *arch.Arch) uint32 {
	t.Helper()
	r, err := d.Action.Ret(a)
	if err != nil {
		t.Fatalf("Ret(%s): %v", d.Action, err)
	}
	return r
}

// ociCanon returns a copy of p without positions, source, warnings and
// the comment fields only the native format keeps, for comparing the
// meaning of two policies structurally.
func ociCanon(p *Policy) *Policy {
	q := *p
	q.Source, q.Warnings = "", nil
	q.HeaderComments, q.EndComment = nil, ""
	q.Rules = nil
	for _, r := range p.Rules {
		c := *r
		c.Trailing, c.BlankBefore = "", false
		q.Rules = append(q.Rules, &c)
	}
	stripPos(&q)
	return &q
}

func TestParseOCIMoby(t *testing.T) {
	needX86(t)
	p, err := ParseOCI("moby-default.json", readMoby(t))
	if err != nil {
		t.Fatal(err)
	}
	// The one warning: arch_prctl's includes names the host, so runc
	// allows it on i386 too.
	if len(p.Warnings) != 1 || !strings.Contains(p.Warnings[0].Msg, "i386") || p.Warnings[0].Pos.Line != 928 {
		t.Errorf("warnings = %v, want only the arch_prctl includes at line 928", p.Warnings)
	}
	for _, w := range p.Warnings {
		if strings.Contains(w.Msg, "not known") {
			t.Errorf("unresolved name: %v", w)
		}
	}
	if want := []string{"x86_64", "i386", "x32"}; !slices.Equal(p.Arches, want) {
		t.Errorf("Arches = %v, want %v (archMap entry of the host)", p.Arches, want)
	}
	if err := p.Validate(); err != nil {
		t.Errorf("the imported policy does not validate: %v", err)
	}
	if p.Default.String() != "errno(EPERM)" || p.Unknown.String() != "errno(ENOSYS)" || p.BadArch.Kind != KillProcess {
		t.Errorf("default %s, unknown %s, badarch %s", p.Default, p.Unknown, p.BadArch)
	}
}

// TestParseOCIMobyBehaves checks decisions one by one against what the
// moby profile means, independently of the runc model.
func TestParseOCIMobyBehaves(t *testing.T) {
	needX86(t)
	p, err := ParseOCI("moby-default.json", readMoby(t))
	if err != nil {
		t.Fatal(err)
	}
	x86, _ := arch.ByName("x86_64")
	i386, _ := arch.ByName("i386")
	x32, _ := arch.ByName("x32")
	arm64, _ := arch.ByName("aarch64")
	nr := func(a *arch.Arch, name string) uint32 {
		n, ok := a.Lookup(name)
		if !ok {
			t.Fatalf("%s has no %s", a, name)
		}
		return uint32(n)
	}
	const (
		cloneNewUser = 0x10000000
		cloneVM      = 0x100
	)
	none := Env{Caps: []string{}}
	admin := Env{Caps: []string{"CAP_SYS_ADMIN"}}
	tests := []struct {
		name string
		a    *arch.Arch
		sc   string
		nr   uint32 // when sc is ""
		args [6]uint64
		env  Env
		want string
	}{
		{"read", x86, "read", 0, [6]uint64{}, none, "allow"},
		{"personality query", x86, "personality", 0, [6]uint64{0xffffffff}, none, "allow"},
		{"personality 0", x86, "personality", 0, [6]uint64{0}, none, "allow"},
		{"personality READ_IMPLIES_EXEC", x86, "personality", 0, [6]uint64{0x0400000}, none, "errno(EPERM)"},
		{"personality PER_LINUX32", x86, "personality", 0, [6]uint64{8}, none, "allow"},
		{"personality ADDR_NO_RANDOMIZE", x86, "personality", 0, [6]uint64{0x0040000}, none, "errno(EPERM)"},
		// personality takes an unsigned int: the kernel reads the low half.
		{"personality query sign-extended", x86, "personality", 0, [6]uint64{^uint64(0)}, none, "allow"},
		{"clone thread", x86, "clone", 0, [6]uint64{cloneVM}, none, "allow"},
		{"clone newuser", x86, "clone", 0, [6]uint64{cloneNewUser}, none, "errno(EPERM)"},
		{"clone newuser admin", x86, "clone", 0, [6]uint64{cloneNewUser}, admin, "allow"},
		{"clone newuser i386", i386, "clone", 0, [6]uint64{cloneNewUser}, none, "errno(EPERM)"},
		{"clone3", x86, "clone3", 0, [6]uint64{}, none, "errno(ENOSYS)"},
		{"clone3 admin", x86, "clone3", 0, [6]uint64{}, admin, "allow"},
		{"ptrace new kernel", x86, "ptrace", 0, [6]uint64{}, Env{Caps: []string{}, Kernel: "5.4"}, "allow"},
		{"ptrace old kernel", x86, "ptrace", 0, [6]uint64{}, Env{Caps: []string{}, Kernel: "4.7"}, "errno(EPERM)"},
		{"ptrace old kernel cap", x86, "ptrace", 0, [6]uint64{}, Env{Caps: []string{"CAP_SYS_PTRACE"}, Kernel: "4.7"}, "allow"},
		{"socket inet", x86, "socket", 0, [6]uint64{2}, none, "allow"},
		{"socket netlink", x86, "socket", 0, [6]uint64{16}, none, "allow"},
		{"socket vsock", x86, "socket", 0, [6]uint64{40}, none, "errno(EPERM)"},
		{"socket x32", x32, "socket", 0, [6]uint64{1}, none, "allow"},
		{"socketcall i386", i386, "socketcall", 0, [6]uint64{}, none, "allow"},
		{"mount", x86, "mount", 0, [6]uint64{}, none, "errno(EPERM)"},
		{"mount admin", x86, "mount", 0, [6]uint64{}, admin, "allow"},
		{"arch_prctl", x86, "arch_prctl", 0, [6]uint64{}, none, "allow"},
		{"arch_prctl i386 as runc", i386, "arch_prctl", 0, [6]uint64{}, none, "allow"},
		{"modify_ldt i386", i386, "modify_ldt", 0, [6]uint64{}, none, "allow"},
		{"kexec_load", x86, "kexec_load", 0, [6]uint64{}, Env{}, "errno(EPERM)"},
		{"bpf cap", x86, "bpf", 0, [6]uint64{}, Env{Caps: []string{"CAP_BPF"}}, "allow"},
		{"unknown number", x86, "", 1000, [6]uint64{}, none, "errno(ENOSYS)"},
		{"foreign arch", arm64, "read", 0, [6]uint64{}, none, "kill_process"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n := tc.nr
			if tc.sc != "" {
				n = nr(tc.a, tc.sc)
			}
			d, err := Evaluate(p, Input{AuditArch: tc.a.AuditArch, Nr: n, Args: tc.args}, tc.env)
			if err != nil {
				t.Fatal(err)
			}
			if got := d.Action.String(); got != tc.want {
				t.Errorf("%s on %s %x in %+v: got %s (%s), want %s", tc.sc, tc.a, tc.args, tc.env, got, d.Reason, tc.want)
			}
		})
	}
}

// TestParseOCIMobyMatchesRunc compares every syscall of the moby profile
// with the model of runc and libseccomp, in several environments. The
// only differences allowed are the documented ones: runc returns ENOSYS
// for syscalls newer than any the profile names where syscage's default
// applies, and syscage ignores the upper half of int arguments.
func TestParseOCIMobyMatchesRunc(t *testing.T) {
	needX86(t)
	data := readMoby(t)
	p, err := ParseOCI("moby-default.json", data)
	if err != nil {
		t.Fatal(err)
	}
	newer := ociMatchRunc(t, p, data, false)
	// Those must all be newer than every syscall the profile names.
	x86, _ := arch.ByName("x86_64")
	for _, n := range newer {
		if nr, ok := x86.Lookup(n); ok && nr < 440 {
			t.Errorf("%s (%d) gets ENOSYS from runc but is not newer than the profile", n, nr)
		}
	}
	t.Logf("syscalls newer than the profile (runc: ENOSYS, syscage: the default): %v", newer)
}

// TestOCIRoundTrip exports imported profiles and reads them back: the
// decisions stay the same everywhere, including arguments with garbage
// in the upper half, and a second round trip changes nothing.
func TestOCIRoundTrip(t *testing.T) {
	needX86(t)
	cases := map[string][]byte{"moby": readMoby(t)}
	for name, src := range ociSemanticsProfiles {
		cases[name] = []byte(src)
	}
	for name, data := range cases {
		t.Run(name, func(t *testing.T) {
			p1, err := ParseOCI(name+".json", data)
			if err != nil {
				t.Fatal(err)
			}
			j1, err := FormatOCI(p1)
			if err != nil {
				t.Fatal(err)
			}
			p2, err := ParseOCI("exported.json", j1)
			if err != nil {
				t.Fatalf("%v\n%s", err, j1)
			}
			ociSameDecisions(t, p1, p2, runcInputs(t, j1, p1.Arches, true))
			// The rules may change shape (rules runc ignores are left
			// out, ORs become entries, int comparisons become masks);
			// everything else stays.
			a, b := ociCanon(p1), ociCanon(p2)
			a.Rules, b.Rules = nil, nil
			if !reflect.DeepEqual(a, b) {
				t.Errorf("the policy's header changed: %+v vs %+v", a, b)
			}
			j2, err := FormatOCI(p2)
			if err != nil {
				t.Fatal(err)
			}
			p3, err := ParseOCI("exported.json", j2)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(ociCanon(p2), ociCanon(p3)) {
				t.Errorf("second round trip changed the policy:\n%s\n---\n%s", Format(p2), Format(p3))
			}
			if string(j1) != string(j2) {
				t.Errorf("second export differs:\n%s\n---\n%s", j1, j2)
			}
		})
	}
}

// ociSameDecisions fails when two policies decide an input differently.
func ociSameDecisions(t *testing.T, p, q *Policy, inputs []runcCase) {
	t.Helper()
	bad := 0
	for _, env := range ociEnvs {
		for _, c := range inputs {
			dp, err := Evaluate(p, c.in, env)
			if err != nil {
				t.Fatal(err)
			}
			dq, err := Evaluate(q, c.in, env)
			if err != nil {
				t.Fatal(err)
			}
			if ret(t, dp, c.arch) != ret(t, dq, c.arch) {
				name, _ := c.arch.SyscallName(int(c.in.Nr))
				t.Errorf("%s %s(%#x) in %+v: %s vs %s", c.arch, name, c.in.Args, env, dp.Action, dq.Action)
				if bad++; bad > 10 {
					t.FailNow()
				}
			}
		}
	}
}

// TestOCIToNative writes imported profiles in the native format and
// parses them back: the policy is the same.
func TestOCIToNative(t *testing.T) {
	needX86(t)
	cases := map[string][]byte{"moby": readMoby(t)}
	for name, src := range ociSemanticsProfiles {
		cases[name] = []byte(src)
	}
	for name, data := range cases {
		t.Run(name, func(t *testing.T) {
			p, err := ParseOCI(name+".json", data)
			if err != nil {
				t.Fatal(err)
			}
			text := Format(p)
			q, err := Parse("native.policy", text, ParseOptions{})
			if err != nil {
				t.Fatalf("%v\n%s", err, text)
			}
			if a, b := ociCanon(p), ociCanon(q); !reflect.DeepEqual(a, b) {
				t.Errorf("native round trip changed the policy:\n%s\n--- reparsed:\n%s", text, Format(q))
				for i := range min(len(a.Rules), len(b.Rules)) {
					if !reflect.DeepEqual(a.Rules[i], b.Rules[i]) {
						t.Errorf("first difference at rule %d: %#v vs %#v", i, a.Rules[i], b.Rules[i])
						break
					}
				}
			}
		})
	}
}

// ociSemanticsProfiles exercise the places where syscage rearranges or
// reads a profile to keep runc's behaviour.
var ociSemanticsProfiles = map[string]string{
	"repeated-index": `{"defaultAction": "SCMP_ACT_ERRNO", "architectures": ["SCMP_ARCH_X86_64"],
		"syscalls": [{"names": ["socket"], "action": "SCMP_ACT_ALLOW", "args": [
			{"index": 0, "value": 1, "op": "SCMP_CMP_EQ"},
			{"index": 0, "value": 2, "op": "SCMP_CMP_EQ"},
			{"index": 1, "value": 5, "op": "SCMP_CMP_EQ"}]}]}`,
	"default-action-rule": `{"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 1,
		"syscalls": [
			{"names": ["openat", "read"], "action": "SCMP_ACT_ERRNO", "args": [{"index": 2, "value": 0, "op": "SCMP_CMP_EQ"}]},
			{"names": ["openat", "write"], "action": "SCMP_ACT_ALLOW"}]}`,
	"unconditional-wins": `{"defaultAction": "SCMP_ACT_KILL_PROCESS",
		"syscalls": [
			{"names": ["personality"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": 0, "op": "SCMP_CMP_EQ"}]},
			{"names": ["personality", "mount"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13},
			{"names": ["personality"], "action": "SCMP_ACT_LOG", "args": [{"index": 0, "value": 8, "op": "SCMP_CMP_EQ"}]}]}`,
	"masked": `{"defaultAction": "SCMP_ACT_KILL_PROCESS", "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"],
		"syscalls": [
			{"names": ["mprotect", "pkey_mprotect"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 2, "value": 4, "valueTwo": 0, "op": "SCMP_CMP_MASKED_EQ"}]},
			{"names": ["fcntl"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 1, "value": 4294967295, "valueTwo": 4, "op": "SCMP_CMP_MASKED_EQ"}]},
			{"names": ["write"], "action": "SCMP_ACT_TRACE", "args": [{"index": 0, "value": 3, "op": "SCMP_CMP_LE"}, {"index": 2, "value": 4096, "op": "SCMP_CMP_GT"}]},
			{"names": ["read"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": 2, "op": "SCMP_CMP_NE"}]},
			{"names": ["exit_group"], "action": "SCMP_ACT_ALLOW"}]}`,
	"caps-and-kernels": `{"defaultAction": "SCMP_ACT_ERRNO", "flags": ["SECCOMP_FILTER_FLAG_LOG"],
		"listenerPath": "/run/agent.sock", "listenerMetadata": "x",
		"syscalls": [
			{"names": ["ptrace"], "action": "SCMP_ACT_NOTIFY", "includes": {"caps": ["CAP_SYS_PTRACE"], "minKernel": "5.0"}, "excludes": {"minKernel": "6.0"}},
			{"names": ["ptrace"], "action": "SCMP_ACT_KILL", "excludes": {"caps": ["CAP_SYS_ADMIN"]}, "comment": "kill the tracer"},
			{"names": ["getpid"], "action": "SCMP_ACT_ALLOW", "includes": {"arches": ["arm64"]}},
			{"names": ["getppid"], "action": "SCMP_ACT_ALLOW", "excludes": {"arches": ["amd64"]}}]}`,
}

// TestParseOCISemantics checks how the profiles above read.
func TestParseOCISemantics(t *testing.T) {
	needX86(t)
	tests := []struct {
		profile string
		want    string // the native text of the rules
		warns   []string
	}{
		{"repeated-index", "allow socket if arg0 == 1 || arg0 == 2 || arg1 == 5\n", []string{"more than once"}},
		{"default-action-rule", "errno(EPERM) read if arg2 == 0\nallow openat write\n", []string{"default action"}},
		{"unconditional-wins", "errno(EACCES) personality mount\nallow personality if arg0 == 0\nlog personality if arg0 == 8\n",
			[]string{"replace this conditional rule", "different actions"}},
		{"masked", "allow mprotect pkey_mprotect if arg2 & 4 == 0\nallow fcntl if arg1 == 4\n" +
			"trace(1) write if arg0 <= 3 && arg2 > 0x1000\nallow read if arg0 != 2\nallow exit_group\n", nil},
	}
	for _, tc := range tests {
		t.Run(tc.profile, func(t *testing.T) {
			p, err := ParseOCI(tc.profile+".json", []byte(ociSemanticsProfiles[tc.profile]))
			if err != nil {
				t.Fatal(err)
			}
			var b strings.Builder
			for _, r := range p.Rules {
				b.WriteString(FormatRule(r) + "\n")
			}
			if b.String() != tc.want {
				t.Errorf("rules:\n%s\nwant:\n%s", b.String(), tc.want)
			}
			for _, w := range tc.warns {
				if !slices.ContainsFunc(p.Warnings, func(x Warning) bool { return strings.Contains(x.Msg, w) }) {
					t.Errorf("no warning saying %q in %v", w, p.Warnings)
				}
			}
			if tc.warns == nil && len(p.Warnings) > 0 {
				t.Errorf("unexpected warnings %v", p.Warnings)
			}
		})
	}
}

// TestParseOCISemanticsMatchRunc compares the profiles above with the
// runc model, arguments with garbage upper halves aside.
func TestParseOCISemanticsMatchRunc(t *testing.T) {
	needX86(t)
	for name, src := range ociSemanticsProfiles {
		t.Run(name, func(t *testing.T) {
			p, err := ParseOCI(name+".json", []byte(src))
			if err != nil {
				t.Fatal(err)
			}
			ociMatchRunc(t, p, []byte(src), false)
		})
	}
}

// ociMatchRunc compares p with the runc model of data. Two differences
// are documented and allowed: runc's ENOSYS stub for syscalls newer than
// any the profile names (returned, by name, for the caller to check), and,
// unless exact is set, syscage comparing only the low half of int
// arguments where libseccomp compares all 64 bits.
func ociMatchRunc(t *testing.T, p *Policy, data []byte, exact bool, extra ...uint64) (newer []string) {
	t.Helper()
	inputs := runcInputs(t, data, p.Arches, exact, extra...)
	bad := 0
	for _, env := range ociEnvs {
		m, err := newRuncModel(data, env)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range inputs {
			want, ok := m.decide(c.in)
			if !ok {
				continue // libseccomp's own order between overlapping rules
			}
			d, err := Evaluate(p, c.in, env)
			if err != nil {
				t.Fatal(err)
			}
			got := ret(t, d, c.arch)
			if got == want {
				continue
			}
			name, _ := c.arch.SyscallName(int(c.in.Nr))
			if nosys, _ := c.arch.Errno("ENOSYS"); d.Reason == "default" && want == 0x50000|uint32(nosys) {
				if !slices.Contains(newer, name) {
					newer = append(newer, name)
				}
				continue
			}
			if !exact {
				// What the kernel reads of int arguments.
				low := c.in
				for i := range low.Args {
					if ArgWidth(c.arch, name, i) == 32 {
						low.Args[i] &= 0xffffffff
					}
				}
				if w, _ := m.decide(low); w == got {
					continue
				}
			}
			t.Errorf("%s %s(%#x) in %+v: syscage %#x (%s), runc %#x", c.arch, name, c.in.Args, env, got, d.Action, want)
			if bad++; bad > 10 {
				t.FailNow()
			}
		}
	}
	return newer
}

// TestFormatOCIMatchesRunc exports native policies and checks that runc
// would decide every input as the policy does, including int arguments
// whose upper half holds garbage.
func TestFormatOCIMatchesRunc(t *testing.T) {
	needX86(t)
	tests := []struct {
		name, src string
		extra     []uint64
	}{
		{"first match", `default errno(EPERM)
arch x86_64
allow socket if family == AF_UNIX
errno(EAFNOSUPPORT) socket
allow socket
`, nil},
		{"int args and ranges", `default kill_process
arch x86_64 i386
allow read write if fd <= 2
allow openat if dfd == AT_FDCWD && flags only O_RDONLY|O_CLOEXEC
errno(EACCES) openat
allow mprotect if prot none PROT_EXEC
allow ioctl if fd in {0, 1, 2} && cmd in 0x5400..0x54ff
allow fcntl if !(cmd == 4 || cmd > 1030)
allow kill if pid != 1 && sig <= 15
allow exit_group
`, []uint64{0x5400, 0x54ff, 1030, 4, 9, 0xffffff9c}},
		{"masks", `default errno(EPERM)
allow clone if clone_flags all CLONE_VM|CLONE_THREAD
log clone if clone_flags & 0xff == 0x11
allow prctl if option == 15 && arg2 != 0
allow madvise if behavior none 0x8 || behavior == 8
`, []uint64{0x10900, 0x11, 15, 8}},
		{"default-action rules hide", `default allow
errno(EPERM) ptrace if request == 16
kill_thread ptrace
errno(EPERM) mount
`, []uint64{16}},
		{"environments", `default errno(EPERM)
only caps CAP_SYS_ADMIN {
    errno(ENOSYS) clone3
}
allow clone3
only kernel >= 5.8 except caps CAP_NET_ADMIN {
    trap unshare if unshare_flags == 0
}
allow unshare
`, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := mustParse(t, tc.src)
			data, notes, err := ExportOCI(p)
			if err != nil {
				t.Fatal(err)
			}
			if len(notes) == 0 {
				t.Errorf("no notes; want at least the bad-arch one")
			}
			ociMatchRunc(t, p, data, true, tc.extra...)
			// And the profile reads back to the same decisions.
			q, err := ParseOCI("exported.json", data)
			if err != nil {
				t.Fatalf("%v\n%s", err, data)
			}
			ociSameDecisions(t, p, q, runcInputs(t, data, q.Arches, true, tc.extra...))
			// Written again, the profile is the same.
			again, err := FormatOCI(q)
			if err != nil {
				t.Fatal(err)
			}
			if string(again) != string(data) {
				t.Errorf("the profile read back writes differently:\n%s\n---\n%s", data, again)
			}
		})
	}
}

// TestFormatOCIErrors lists what a profile cannot say.
func TestFormatOCIErrors(t *testing.T) {
	tests := []struct{ src, want string }{
		{"default errno(EPERM)\narch x86_64 i386\nallow i386:socketcall\n", "one of the policy's architectures"},
		{"default errno(EPERM)\narch x86_64 i386\nonly arch i386 {\n    allow socketcall\n}\n", "applies on i386 but not on x86_64"},
		{"default errno(EPERM)\narch x86_64 i386\nallow 3\n", "syscall number 3"},
		{"default errno(EPERM)\narch x86_64 mips\nerrno(ENOSYS) clone3\n", "38 on x86_64 but 89 on mips"},
		{"default errno(EPERM)\nonly kernel >= 5.10.3 {\n    allow read\n}\n", "<kernel>.<major>"},
	}
	for _, tc := range tests {
		p := mustParse(t, tc.src)
		_, err := FormatOCI(p)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want %q", tc.src, err, tc.want)
		}
	}
}

// TestParseOCIErrors checks that bad profiles are refused, each error
// at its line and column with a hint.
func TestParseOCIErrors(t *testing.T) {
	needX86(t)
	tests := []struct {
		name, src string
		want      string // position and text the error must contain
	}{
		{"syntax", "{\n  \"defaultAction\": \"SCMP_ACT_ERRNO\",\n  \"syscalls\": [,]\n}", "3:16: JSON syntax error"},
		{"truncated", `{"defaultAction": "SCMP_ACT_ERRNO"`, "unexpected end"},
		{"trailing", `{"defaultAction": "SCMP_ACT_ERRNO"} {}`, "1:37: unexpected data"},
		{"not object", `[]`, "the profile: want an object"},
		{"no default", `{"syscalls": []}`, "1:1: the profile has no defaultAction"},
		{"unknown action", `{"defaultAction": "SCMP_ACT_ALOW"}`, `1:19: defaultAction: unknown action "SCMP_ACT_ALOW"; did you mean "SCMP_ACT_ALLOW", "SCMP_ACT_LOG"? (valid: SCMP_ACT_KILL,`},
		{"unknown key", `{"defaultAction": "SCMP_ACT_ERRNO", "syscall": []}`, `1:37: the profile: unknown key "syscall"; did you mean "syscalls"?`},
		{"case of key", `{"DefaultAction": "SCMP_ACT_ERRNO"}`, `did you mean "defaultAction"?`},
		{"duplicate key", `{"defaultAction": "SCMP_ACT_ERRNO", "defaultAction": "SCMP_ACT_ALLOW"}`, `1:37: the profile: "defaultAction" appears twice`},
		{"unknown op", `{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW",
 "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_EQUAL"}]}]}`, `2:42: syscalls[0].args[0].op: unknown operator "SCMP_CMP_EQUAL"; did you mean "SCMP_CMP_EQ"?`},
		{"unknown arch", `{"defaultAction": "SCMP_ACT_ERRNO", "architectures": ["x86_64"]}`, `1:55: architectures[0]: unknown architecture "x86_64"; did you mean "SCMP_ARCH_X86_64"?`},
		{"arch without table", `{"defaultAction": "SCMP_ACT_ERRNO", "architectures": ["SCMP_ARCH_PPC"]}`, "no syscall table for SCMP_ARCH_PPC"},
		{"unknown flag", `{"defaultAction": "SCMP_ACT_ERRNO", "flags": ["SECCOMP_FILTER_FLAG_LOGG"]}`, `unknown flag "SECCOMP_FILTER_FLAG_LOGG"; did you mean "SECCOMP_FILTER_FLAG_LOG"?`},
		{"unknown cap", `{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW", "includes": {"caps": ["CAP_SYSADMIN"]}}]}`, `unknown capability "CAP_SYSADMIN"; did you mean "CAP_SYS_ADMIN"`},
		{"includes arch spelling", `{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW", "includes": {"arches": ["SCMP_ARCH_X86_64"]}}]}`, `did you mean "amd64"?`},
		{"errnoRet on allow", `{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW", "errnoRet": 1}]}`, "syscalls[0].errnoRet is set for SCMP_ACT_ALLOW"},
		{"defaultErrnoRet on kill", `{"defaultAction": "SCMP_ACT_KILL", "defaultErrnoRet": 1}`, "defaultErrnoRet is set for SCMP_ACT_KILL"},
		{"errno too large", `{"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 4096}`, "4096 is larger than 4095"},
		{"negative value", `{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": -1, "op": "SCMP_CMP_EQ"}]}]}`, "-1 is negative"},
		{"fraction", `{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": 1.5, "op": "SCMP_CMP_EQ"}]}]}`, "1.5 is not a whole number"},
		{"huge value", `{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": 18446744073709551616, "op": "SCMP_CMP_EQ"}]}]}`, "is larger than 18446744073709551615"},
		{"index 6", `{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 6, "value": 1, "op": "SCMP_CMP_EQ"}]}]}`, "index: 6 is larger than 5"},
		{"no index", `{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW", "args": [{"value": 1, "op": "SCMP_CMP_EQ"}]}]}`, "has no index"},
		{"name and names", `{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"name": "read", "names": ["read"], "action": "SCMP_ACT_ALLOW"}]}`, "both name and names"},
		{"empty names", `{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": [], "action": "SCMP_ACT_ALLOW"}]}`, "names is empty"},
		{"bad name", `{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["read write"], "action": "SCMP_ACT_ALLOW"}]}`, "is not a syscall name"},
		{"no action", `{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["read"]}]}`, "syscalls[0] has no action"},
		{"metadata without path", `{"defaultAction": "SCMP_ACT_ERRNO", "listenerMetadata": "x"}`, "listenerMetadata is set without listenerPath"},
		{"bad minKernel", `{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW", "includes": {"minKernel": "4.8.1"}}]}`, `"4.8.1" is not a kernel version`},
		{"zero minKernel", `{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW", "includes": {"minKernel": "0.0"}}]}`, "cannot be 0.0"},
		{"archMap and architectures", `{"defaultAction": "SCMP_ACT_ERRNO", "architectures": ["SCMP_ARCH_X86"], "archMap": [{"architecture": "SCMP_ARCH_X86_64"}]}`, "both architectures and archMap"},
		{"wrong type", `{"defaultAction": 1}`, "defaultAction: want a string, found a number"},
		{"bundle without seccomp", `{"ociVersion": "1.0.2", "linux": {}}`, "no linux.seccomp"},
		{"deep", strings.Repeat("[", 100) + strings.Repeat("]", 100), "nested deeper"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseOCI("p.json", []byte(tc.src))
			if err == nil {
				t.Fatalf("no error, want %q", tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error:\n%v\nwant it to contain %q", err, tc.want)
			}
			if _, ok := err.(ErrorList); !ok {
				t.Errorf("error is %T, want an ErrorList", err)
			}
		})
	}
}

// TestParseOCISeveralErrors checks that independent errors are all
// reported at once.
func TestParseOCISeveralErrors(t *testing.T) {
	src := `{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [
  {"names": ["read"], "action": "SCMP_ACT_ALOW"},
  {"names": ["write"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 9, "op": "SCMP_CMP_EQ"}]}
]}`
	_, err := ParseOCI("p.json", []byte(src))
	list, ok := err.(ErrorList)
	if !ok || len(list) != 2 {
		t.Fatalf("err = %v, want two errors", err)
	}
	if list[0].Pos.Line != 2 || list[1].Pos.Line != 3 {
		t.Errorf("lines %d and %d, want 2 and 3", list[0].Pos.Line, list[1].Pos.Line)
	}
}

// TestParseOCIWarnings checks what is accepted with a warning.
func TestParseOCIWarnings(t *testing.T) {
	needX86(t)
	tests := []struct{ src, want string }{
		{`{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["read", "raed"], "action": "SCMP_ACT_ALLOW"}]}`, `1:69: syscalls[0].names[1]: syscall "raed" is not known on any architecture, so it is left out, as runc leaves out names libseccomp does not know; did you mean "read"`},
		{`{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": 1, "valueTwo": 2, "op": "SCMP_CMP_EQ"}]}]}`, "valueTwo is only read by SCMP_CMP_MASKED_EQ"},
		{`{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": 1, "valueTwo": 3, "op": "SCMP_CMP_MASKED_EQ"}]}]}`, "compares with 0x1"},
		{`{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["write"], "action": "SCMP_ACT_NOTIFY"}]}`, "runc refuses SCMP_ACT_NOTIFY for write"},
		{`{"defaultAction": "SCMP_ACT_ERRNO", "architectures": ["SCMP_ARCH_X86"], "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW", "includes": {"arches": ["x86"]}}]}`, "runc leaves this rule out entirely, also for i386"},
	}
	for _, tc := range tests {
		p, err := ParseOCI("p.json", []byte(tc.src))
		if err != nil {
			t.Errorf("%s: %v", tc.src, err)
			continue
		}
		var all []string
		for _, w := range p.Warnings {
			all = append(all, w.String())
		}
		if !slices.ContainsFunc(all, func(s string) bool { return strings.Contains(s, tc.want) }) {
			t.Errorf("%s:\nwarnings %q\nwant one containing %q", tc.src, all, tc.want)
		}
	}
}

// TestParseOCIFields checks the reading of the remaining fields.
func TestParseOCIFields(t *testing.T) {
	needX86(t)
	p, err := ParseOCI("p.json", []byte(ociSemanticsProfiles["caps-and-kernels"]))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(p.Flags, []string{"log"}) || p.Listener == nil || *p.Listener != (Listener{Path: "/run/agent.sock", Metadata: "x"}) {
		t.Errorf("flags %v listener %+v", p.Flags, p.Listener)
	}
	want := []string{
		"only caps CAP_SYS_PTRACE kernel >= 5.0 except kernel >= 6.0: notify ptrace",
		"except caps CAP_SYS_ADMIN: kill_thread ptrace # kill the tracer",
		"only arch aarch64: allow getpid",
		"except arch x86_64: allow getppid",
	}
	for i, r := range p.Rules {
		got := ociAppliesText(r) + FormatRule(r)
		if r.Comment != "" {
			got += " # " + r.Comment
		}
		if i >= len(want) || got != want[i] {
			t.Errorf("rule %d = %q, want %q", i, got, want[min(i, len(want)-1)])
		}
	}
	if len(p.Rules) != len(want) {
		t.Errorf("%d rules, want %d", len(p.Rules), len(want))
	}

	// The host chooses the archMap entry.
	moby := readMoby(t)
	q, err := ParseOCIFor("moby.json", moby, "aarch64")
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"aarch64", "arm"}; !slices.Equal(q.Arches, want) {
		t.Errorf("aarch64 host: arches %v, want %v", q.Arches, want)
	}
	if err := q.Validate(); err != nil {
		t.Errorf("aarch64 host: %v", err)
	}

	// A bundle's config.json is read at linux.seccomp, with positions in
	// the bundle.
	bundle := `{"ociVersion": "1.2.0", "process": {"args": ["sh"]},
  "linux": {"seccomp": {"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86"],
    "syscalls": [{"name": "reboot", "action": "SCMP_ACT_KILL_PROCESS"}]}}}`
	b, err := ParseOCI("config.json", []byte(bundle))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(b.Arches, []string{"x86_64", "i386"}) || len(b.Rules) != 1 || b.Rules[0].Pos.Line != 3 {
		t.Errorf("bundle: arches %v, rules %v", b.Arches, b.Rules)
	}
	if b.Unknown.Kind != Allow {
		t.Errorf("with an allowing default, unknown syscalls get %s, want allow (runc adds no ENOSYS stub)", b.Unknown)
	}
}

// ociAppliesText renders a rule's only/except for the test above.
func ociAppliesText(r *Rule) string {
	var parts []string
	for _, x := range []struct {
		word string
		a    *Applies
	}{{"only", r.Only}, {"except", r.Except}} {
		if x.a == nil {
			continue
		}
		s := x.word
		if len(x.a.Arches) > 0 {
			s += " arch " + strings.Join(x.a.Arches, " ")
		}
		if len(x.a.Caps) > 0 {
			s += " caps " + strings.Join(x.a.Caps, " ")
		}
		if x.a.MinKernel != "" {
			s += " kernel >= " + x.a.MinKernel
		}
		parts = append(parts, s)
	}
	if len(parts) == 0 {
		return ""
	}
	return strings.Join(parts, " ") + ": "
}

func BenchmarkParseOCIMoby(b *testing.B) {
	data := readMoby(b)
	for b.Loop() {
		if _, err := ParseOCI("moby.json", data); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkFormatOCIMoby(b *testing.B) {
	p, err := ParseOCI("moby.json", readMoby(b))
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := FormatOCI(p); err != nil {
			b.Fatal(err)
		}
	}
}
