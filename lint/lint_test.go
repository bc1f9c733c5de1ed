package lint

import (
	"encoding/binary"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/syscage/syscage/arch"
	"github.com/syscage/syscage/bpf"
	"github.com/syscage/syscage/policy"
)

// base is an allow-list header that triggers no check by itself.
const base = "arch x86_64\ndefault errno(EPERM)\nallow execve\n"

func lintSrc(t *testing.T, src string, opts Options) []Finding {
	t.Helper()
	p, err := policy.Parse("t.policy", []byte(src), policy.ParseOptions{})
	if err != nil {
		t.Fatalf("parse: %v\n%s", err, src)
	}
	opts.Source = []byte(src)
	fs, err := Policy(p, opts)
	if err != nil {
		t.Fatal(err)
	}
	return fs
}

func ids(fs []Finding) []string {
	var out []string
	for _, f := range fs {
		out = append(out, f.Check)
	}
	return out
}

func TestPolicyChecks(t *testing.T) {
	tests := []struct {
		check    string
		trigger  string // a policy with the problem
		clean    string // a close policy without it
		where    string // position of the finding in trigger ("" to skip)
		contains string // a substring of the message
	}{
		{ExecDenied,
			"arch x86_64\ndefault errno(EPERM)\nallow read\n",
			"arch x86_64\ndefault errno(EPERM)\nallow read\nallow execveat\n",
			"t.policy:2:1", "cannot start"},
		{ExecDenied,
			"arch x86_64\ndefault errno(EPERM)\nkill_process execve execveat\n",
			"arch x86_64\ndefault errno(EPERM)\nnotify execve\n",
			"t.policy:3:1", "kill_process"},
		{IOURingAllowed, base + "allow @io-uring\n", base + "errno(ENOSYS) @io-uring\n", "t.policy:4:1", "io_uring_setup, io_uring_enter, io_uring_register are allowed on x86_64"},
		{PtraceAllowed, base + "allow ptrace if request == 0\n", base + "errno(EPERM) ptrace\n", "t.policy:4:1", "ptrace is allowed"},
		{BPFAllowed, base + "log bpf\n", base + "trap bpf\n", "t.policy:4:1", "bpf is allowed"},
		{ProcessVMAllowed, base + "allow process_vm_writev\n", base + "errno(EPERM) process_vm_readv process_vm_writev\n", "", "process_vm_writev"},
		{FallbackErrno, base + "allow clone\n", base + "allow clone\nerrno(ENOSYS) clone3\n", "t.policy:2:1", "clone3 gets errno(EPERM) on x86_64 (by the default action)"},
		{FallbackErrno, base + "errno(EACCES) openat2 faccessat2\n", base + "errno(38) openat2 faccessat2\n", "t.policy:4:1", "faccessat2, openat2 get errno(EACCES)"},
		{FallbackErrno, "arch i386\ndefault errno(ENOSYS)\nallow execve\nerrno(EPERM) statx if flags != 0\n", "arch i386\ndefault errno(ENOSYS)\nallow execve\n", "t.policy:4:1", "statx"},
		{ErrnoZero, base + "errno(0) unlink\n", base + "errno(EPERM) unlink\n", "t.policy:4:1", "returns 0"},
		{ErrnoZero, "arch x86_64\ndefault errno(0)\nallow execve\n", base, "t.policy:2:1", "default errno(0)"},
		{UnknownAction, base + "unknown allow\n", base + "unknown errno(ENOSYS)\n", "t.policy:4:1", "pass unchecked"},
		{UnknownAction, base + "unknown errno(EPERM)\n", base + "unknown kill_process\n", "t.policy:4:1", "only on ENOSYS"},
		{ShadowedRule, base + "allow openat\nerrno(EACCES) openat if flags all O_WRONLY\n", base + "errno(EACCES) openat if flags all O_WRONLY\nallow openat\n", "t.policy:5:1", "the rule at line 4"},
		{ShadowedRule, base + "kill_process socket if family != AF_INET\nallow socket if family == AF_PACKET\n", base + "kill_process socket if family == AF_PACKET\nallow socket if family != AF_INET\n", "t.policy:5:1", "never decides"},
		{ShadowedRule, base + "allow getpid\nkill_process getpid gettid\n", base + "allow getpid\nkill_process gettid\n", "t.policy:5:14", "getpid never reaches this rule"},
		{RedundantRule, base + "allow read\nallow read if fd == 0\n", base + "allow read if fd == 0\nallow read\n", "t.policy:5:1", "never decides"},
		{NeverMatches, base + "allow socket if family == 1 && family == 2\n", base + "allow socket if family == 1 || family == 2\n", "t.policy:4:17", "can never hold"},
		{NeverMatches, base + "allow mmap if prot < 0 || prot == 1\n", base + "allow mmap if prot <= 0 || prot == 1\n", "t.policy:4:15", "`prot < 0` can never hold"},
		{NeverMatches, base + "allow socket if family & 3 == 1 && family & 1 == 0\n", base + "allow socket if family & 3 == 1 && family & 2 == 0\n", "t.policy:4:17", "can never hold"},
		// On an x32-only policy, 0 arrives as x86_64's read: badarch
		// decides it before any rule (this finding used to name no rule).
		{NeverMatches, "arch x32\ndefault errno(EPERM)\nallow execve\nallow 0\n", "arch x32\ndefault errno(EPERM)\nallow execve\nallow 0x40000000\n", "t.policy:4:1", "number 0 reaches the filter as another architecture's"},
		{AlwaysMatches, base + "allow socket if family <= 0xffffffff\n", base + "allow socket if family < 0xffffffff\n", "t.policy:4:17", "holds for every argument value"},
		{PersonalityUnrestricted, base + "allow personality\n", base + "allow personality if personality in {0, 8, 0xffffffff}\n", "t.policy:4:1", "any argument"},
		{CloneUnrestricted, base + "allow clone\nerrno(ENOSYS) clone3\n", base + "allow clone if clone_flags none CLONE_NEWUSER|CLONE_NEWNS\nerrno(ENOSYS) clone3\n", "t.policy:4:1", "namespaces"},
		{CloneUnrestricted, base + "allow clone3\n", base + "errno(ENOSYS) clone3\n", "t.policy:4:1", "clone3 is allowed"},
		{CompatArch, "arch x86_64 i386\ndefault errno(EPERM)\nallow execve\n", base, "t.policy:1:1", "accepts i386 besides x86_64"},
		{DefaultAllow, "arch x86_64\ndefault allow\n", base, "t.policy:2:1", "deny-list"},
	}
	for _, tt := range tests {
		t.Run(tt.check, func(t *testing.T) {
			got := lintSrc(t, tt.trigger, Options{})
			var hit *Finding
			for i, f := range got {
				if f.Check == tt.check {
					hit = &got[i]
					break
				}
			}
			if hit == nil {
				t.Fatalf("no %s finding for\n%s\ngot %v", tt.check, tt.trigger, got)
			}
			if tt.where != "" && hit.Where() != tt.where {
				t.Errorf("finding at %s, want %s: %v", hit.Where(), tt.where, hit)
			}
			if !strings.Contains(hit.Message, tt.contains) {
				t.Errorf("message %q lacks %q", hit.Message, tt.contains)
			}
			if hit.Fix == "" {
				t.Errorf("finding without a fix: %v", hit)
			}
			c, _ := checkByID(tt.check)
			if hit.Severity != c.Severity {
				t.Errorf("severity %s, want %s", hit.Severity, c.Severity)
			}
			if clean := lintSrc(t, tt.clean, Options{}); slices.Contains(ids(clean), tt.check) {
				t.Errorf("%s found in the clean policy\n%s\n%v", tt.check, tt.clean, clean)
			}
			if off := lintSrc(t, tt.trigger, Options{Disable: []string{tt.check}}); slices.Contains(ids(off), tt.check) {
				t.Errorf("%s reported though disabled", tt.check)
			}
		})
	}
}

// TestCleanPolicy: a careful allow-list has no findings at all.
func TestCleanPolicy(t *testing.T) {
	src := `arch x86_64
default kill_process
allow execve read write close exit_group brk mmap munmap
allow openat if flags & O_ACCMODE == O_RDONLY
errno(ENOSYS) clone3 statx faccessat2 openat2
allow clone if clone_flags none CLONE_NEWUSER|CLONE_NEWNS|CLONE_NEWPID|CLONE_NEWNET
allow personality if personality == 0xffffffff
`
	if fs := lintSrc(t, src, Options{}); len(fs) > 0 {
		t.Errorf("findings on a clean policy: %v", fs)
	}
}

// TestIncludeOverride: a rule of an included file that the including
// file overrides is not reported; a rule shadowed within one file is.
func TestIncludeOverride(t *testing.T) {
	fsys := fstest.MapFS{
		"base.policy": {Data: []byte("arch x86_64\ndefault errno(EPERM)\nallow execve\nerrno(EPERM) socket if family == 40\nallow socket\nallow getpid\nkill_process getpid\n")},
		"main.policy": {Data: []byte("errno(EAFNOSUPPORT) socket if family != AF_UNIX\ninclude \"base.policy\"\n")},
	}
	p, err := policy.ParseFile("main.policy", policy.ParseOptions{FS: fsys})
	if err != nil {
		t.Fatal(err)
	}
	fs, err := Policy(p, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range fs {
		if f.Check == ShadowedRule || f.Check == RedundantRule {
			got = append(got, f.Where())
		}
	}
	if want := []string{"base.policy:7:1"}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("dead rules reported at %v, want %v: %v", got, want, fs)
	}
}

func TestSelfInstalled(t *testing.T) {
	src := "arch x86_64\ndefault errno(EPERM)\nallow read\n"
	if fs := lintSrc(t, src, Options{SelfInstalled: true}); slices.Contains(ids(fs), ExecDenied) {
		t.Errorf("exec-denied with SelfInstalled: %v", fs)
	}
}

func TestUnknownCheckID(t *testing.T) {
	p, _ := policy.Parse("t", []byte(base), policy.ParseOptions{})
	_, err := Policy(p, Options{Disable: []string{"exec-denid"}})
	if err == nil || !strings.Contains(err.Error(), `"exec-denied"`) {
		t.Errorf("error %v, want a suggestion of exec-denied", err)
	}
	for _, tc := range []struct {
		disable []string
		ok      bool
	}{
		{nil, true},
		{[]string{ExecDenied, "compat-arch"}, true},
		{[]string{"compat-arch", "nosuch"}, false},
	} {
		o := Options{Disable: tc.disable}
		if err := o.Validate(); (err == nil) != tc.ok {
			t.Errorf("Validate(%v) = %v, want ok=%v", tc.disable, err, tc.ok)
		}
	}
}

// TestChecksDocumented: every check has an ID, a severity, a summary and
// a kind, and the IDs are unique.
func TestChecksDocumented(t *testing.T) {
	seen := map[string]bool{}
	for _, c := range Checks() {
		if c.ID == "" || c.Summary == "" || c.Severity == 0 || (!c.Raw && !c.Native) || seen[c.ID] {
			t.Errorf("check %+v", c)
		}
		seen[c.ID] = true
	}
}

func assemble(t *testing.T, src string) bpf.Program {
	t.Helper()
	p, err := bpf.Assemble(src, arch.Names())
	if err != nil {
		t.Fatalf("%v\n%s", err, src)
	}
	return p
}

func TestProgramChecks(t *testing.T) {
	// A filter that checks the arch and x32 numbers, allows execve,
	// read and write, and denies the rest.
	good := `A = arch
if (A != ARCH_X86_64) goto kill
A = nr
if (A >= 0x40000000) goto kill
if (A == execve) goto allow
if (A == read) goto allow
if (A == write) goto allow
if (A == clone3) goto enosys
return ERRNO(1)
enosys: return ERRNO(38)
allow: return ALLOW
kill: return KILL_PROCESS
`
	tests := []struct {
		name, src string
		want      []string // checks found, sorted
		insn      int      // instruction of the first finding, -1 to skip
	}{
		{"clean", good, nil, -1},
		{"no arch check", `A = nr
if (A == 101) goto deny
return ALLOW
deny: return ERRNO(1)
`, []string{NoArchCheck, NoArchCheck, BPFAllowed, CloneUnrestricted, CloneUnrestricted, IOURingAllowed, PersonalityUnrestricted, ProcessVMAllowed, PtraceAllowed, X32Bypass}, 2},
		{"arch checked after the number", `A = nr
if (A == 59) goto check
return ERRNO(1)
check: A = arch
if (A == ARCH_X86_64) goto allow
return KILL_PROCESS
allow: return ALLOW
`, []string{NoArchCheck}, 2},
		{"x32 numbers", `A = arch
if (A != ARCH_X86_64) goto kill
A = nr
if (A == ptrace) goto deny
if (A == clone3) goto enosys
return ALLOW
enosys: return ERRNO(38)
deny: return ERRNO(1)
kill: return KILL_PROCESS
`, []string{BPFAllowed, CloneUnrestricted, CloneUnrestricted, IOURingAllowed, PersonalityUnrestricted, ProcessVMAllowed, PtraceAllowed, X32Bypass}, -1},
		{"errno zero", `A = arch
if (A != ARCH_X86_64) goto kill
A = nr
if (A >= 0x40000000) goto kill
if (A == execve) goto allow
if (A == clone3) goto enosys
return ERRNO(0)
enosys: return ERRNO(38)
allow: return ALLOW
kill: return KILL_PROCESS
`, []string{ErrnoZero}, -1},
		{"clone flags", `A = arch
if (A != ARCH_X86_64) goto kill
A = nr
if (A >= 0x40000000) goto kill
if (A == execve) goto allow
if (A == clone3) goto enosys
if (A != clone) goto deny
A = args[0]
if (A & 0x10000000) goto deny
allow: return ALLOW
enosys: return ERRNO(38)
deny: return ERRNO(1)
kill: return KILL_PROCESS
`, nil, -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			prog := assemble(t, tt.src)
			fs, err := Program("f.bpf", prog, binary.LittleEndian, Options{})
			if err != nil {
				t.Fatal(err)
			}
			got := ids(fs)
			slices.Sort(got)
			want := slices.Clone(tt.want)
			slices.Sort(want)
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("checks %v, want %v\n%v", got, want, fs)
			}
			if tt.insn >= 0 && len(fs) > 0 && fs[0].Insn != tt.insn {
				t.Errorf("first finding at instruction %d, want %d: %v", fs[0].Insn, tt.insn, fs[0])
			}
			for _, f := range fs {
				if f.Insn < 0 || f.Insn >= len(prog) || !strings.HasPrefix(f.Where(), "f.bpf: instruction ") {
					t.Errorf("finding at %q, insn %d", f.Where(), f.Insn)
				}
			}
		})
	}
}

func ExamplePolicy() {
	src := []byte("arch x86_64\ndefault errno(EPERM)\nallow execve read write\nallow openat\nkill_process openat if flags all O_WRONLY\n")
	p, err := policy.Parse("app.policy", src, policy.ParseOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	fs, err := Policy(p, Options{Source: src})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, f := range fs {
		fmt.Println(f.Where(), f.Severity, f.Check)
	}
	// Output:
	// app.policy:2:1 error fallback-errno
	// app.policy:5:1 warning shadowed-rule
}

// TestChecksInDocs: docs/tools.md has a row for every check with its
// severity.
func TestChecksInDocs(t *testing.T) {
	doc, err := os.ReadFile("../docs/tools.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range Checks() {
		row := fmt.Sprintf("| `%s` | %s |", c.ID, c.Severity)
		if !strings.Contains(string(doc), row) {
			t.Errorf("docs/tools.md lacks the row %q", row)
		}
	}
}

// FuzzProgram: any filter the kernel would accept can be linted without
// a panic, and every finding names an instruction of it.
func FuzzProgram(f *testing.F) {
	for _, src := range []string{
		"A = nr\nif (A == 101) goto deny\nreturn ALLOW\ndeny: return ERRNO(1)\n",
		"A = arch\nif (A != ARCH_X86_64) goto kill\nA = nr\nmem[0] = A\nX = mem[0]\nA = X\nif (A == 59) goto kill\nreturn ALLOW\nkill: return KILL_PROCESS\n",
		"A = args[0]\nA &= 0xff\nif (A & 0x10) goto 0004\nreturn ERRNO(0)\nreturn A\n",
	} {
		p, err := bpf.Assemble(src, arch.Names())
		if err != nil {
			f.Fatal(err)
		}
		f.Add(p.Encode(binary.LittleEndian))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		prog, err := bpf.Decode(raw, binary.LittleEndian)
		if err != nil || bpf.Validate(prog) != nil {
			return
		}
		fs, err := Program("f", prog, binary.LittleEndian, Options{})
		if err != nil {
			t.Fatalf("a valid program: %v", err)
		}
		for _, fd := range fs {
			if fd.Insn < 0 || fd.Insn >= len(prog) {
				t.Fatalf("finding at instruction %d of %d: %v", fd.Insn, len(prog), fd)
			}
		}
	})
}

// TestSourceWarning: what the OCI reader let pass (here a misspelt
// syscall name, which runc drops silently) is a finding at its place.
func TestSourceWarning(t *testing.T) {
	const typo = `{"defaultAction": "SCMP_ACT_ERRNO", "architectures": ["SCMP_ARCH_X86_64"],
 "syscalls": [{"names": ["execve", "reed"], "action": "SCMP_ACT_ALLOW"}]}`
	const clean = `{"defaultAction": "SCMP_ACT_ERRNO", "architectures": ["SCMP_ARCH_X86_64"],
 "syscalls": [{"names": ["execve", "read"], "action": "SCMP_ACT_ALLOW"}]}`
	lintOCI := func(src string, opts Options) []Finding {
		t.Helper()
		p, err := policy.ParseOCI("p.json", []byte(src))
		if err != nil {
			t.Fatal(err)
		}
		fs, err := Policy(p, opts)
		if err != nil {
			t.Fatal(err)
		}
		return fs
	}
	var hit *Finding
	fs := lintOCI(typo, Options{})
	for i, f := range fs {
		if f.Check == SourceWarning {
			hit = &fs[i]
		}
	}
	if hit == nil {
		t.Fatalf("no %s finding: %v", SourceWarning, fs)
	}
	if hit.Where() != "p.json:2:36" || !strings.Contains(hit.Message, `"reed"`) || !strings.Contains(hit.Message, `"read"`) || hit.Severity != Warning {
		t.Errorf("finding %v: want it at p.json:2:36, naming reed and suggesting read", hit)
	}
	if slices.Contains(ids(lintOCI(clean, Options{})), SourceWarning) {
		t.Error("source-warning on a clean profile")
	}
	if slices.Contains(ids(lintOCI(typo, Options{Disable: []string{SourceWarning}})), SourceWarning) {
		t.Error("source-warning reported though disabled")
	}
}
