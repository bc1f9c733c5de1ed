package policy

import (
	"testing"

	"github.com/syscage/syscage/arch"
)

func archOf(t *testing.T, name string) *arch.Arch {
	t.Helper()
	a, err := arch.ByName(name)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func nrOf(t *testing.T, archName, syscall string) uint32 {
	t.Helper()
	nr, ok := archOf(t, archName).Lookup(syscall)
	if !ok {
		t.Fatalf("%s has no %s", archName, syscall)
	}
	return uint32(nr)
}

// evalCase is one input and the decision expected for it.
type evalCase struct {
	name    string
	arch    string // arch of the input; its AuditArch is used
	nr      uint32 // or syscall, when set
	syscall string
	args    [6]uint64
	env     Env
	want    string // action, as Action.String prints it
	reason  string
	line    int // line of the deciding rule, for reason "rule"
}

func runEval(t *testing.T, src string, cases []evalCase) {
	t.Helper()
	p := mustParse(t, src)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in := Input{AuditArch: archOf(t, c.arch).AuditArch, Nr: c.nr, Args: c.args}
			if c.syscall != "" {
				in.Nr = nrOf(t, c.arch, c.syscall)
			}
			d, err := Evaluate(p, in, c.env)
			if err != nil {
				t.Fatal(err)
			}
			if d.Action.String() != c.want || d.Reason != c.reason {
				t.Errorf("got %s (%s), want %s (%s)", d.Action, d.Reason, c.want, c.reason)
			}
			if c.reason == "rule" {
				if d.Rule == nil || d.Rule.Pos.Line != c.line {
					t.Errorf("decided by %v, want the rule on line %d", d.Rule, c.line)
				}
			} else if d.Rule != nil {
				t.Errorf("decision %s has rule %v", d.Reason, d.Rule)
			}
		})
	}
}

// TestEvalArch covers semantics §1: the arch check, x32 and badarch.
func TestEvalArch(t *testing.T) {
	runEval(t, "arch x86_64\ndefault errno(EPERM)\nallow read\n", []evalCase{
		{name: "native read", arch: "x86_64", syscall: "read", want: "allow", reason: "rule", line: 3},
		{name: "i386 not accepted", arch: "i386", syscall: "read", want: "kill_process", reason: "badarch"},
		{name: "x32 bit on x86_64-only", arch: "x86_64", nr: 0x40000000, want: "kill_process", reason: "badarch"},
		{name: "aarch64 not accepted", arch: "aarch64", nr: 63, want: "kill_process", reason: "badarch"},
	})
	runEval(t, "arch x86_64 x32\ndefault errno(EPERM)\nbadarch errno(EACCES)\nallow read\n", []evalCase{
		{name: "x32 read", arch: "x32", syscall: "read", want: "allow", reason: "rule", line: 4},
		{name: "x32 read number", arch: "x86_64", nr: 0x40000000, want: "allow", reason: "rule", line: 4},
		{name: "x32 write", arch: "x32", syscall: "write", want: "errno(EPERM)", reason: "default"},
		{name: "badarch action", arch: "i386", syscall: "read", want: "errno(EACCES)", reason: "badarch"},
	})
	runEval(t, "arch x32\ndefault allow\n", []evalCase{
		{name: "x86_64 on x32-only", arch: "x86_64", syscall: "read", want: "kill_process", reason: "badarch"},
		{name: "x32 accepted", arch: "x86_64", nr: 0x40000001, want: "allow", reason: "default"},
	})
	p := mustParse(t, "default allow\n")
	d, err := Evaluate(p, Input{AuditArch: 0x12345678}, Env{})
	if err != nil || d.Reason != "badarch" {
		t.Errorf("unknown AUDIT_ARCH: %+v, %v", d, err)
	}
}

// TestEvalUnknown covers semantics §2-3: known and unknown numbers.
func TestEvalUnknown(t *testing.T) {
	runEval(t, "default errno(EPERM)\nallow 337\n", []evalCase{
		{name: "gap in the table", arch: "x86_64", nr: 338, want: "errno(ENOSYS)", reason: "unknown"},
		{name: "number rule on a gap", arch: "x86_64", nr: 337, want: "allow", reason: "rule", line: 2},
		{name: "beyond the table", arch: "x86_64", nr: 100000, want: "errno(ENOSYS)", reason: "unknown"},
		{name: "minus one", arch: "x86_64", nr: 0xffffffff, want: "kill_process", reason: "badarch"},
		{name: "known default", arch: "x86_64", syscall: "write", want: "errno(EPERM)", reason: "default"},
	})
	runEval(t, "arch i386\ndefault errno(EPERM)\nunknown kill_thread\n", []evalCase{
		{name: "minus one", arch: "i386", nr: 0xffffffff, want: "kill_thread", reason: "unknown"},
		{name: "bit 31", arch: "i386", nr: 0x80000000, want: "kill_thread", reason: "unknown"},
		{name: "bit 30 is just a number off x86_64", arch: "i386", nr: 0x40000000, want: "kill_thread", reason: "unknown"},
		{name: "known", arch: "i386", syscall: "socketcall", want: "errno(EPERM)", reason: "default"},
	})
}

// TestEvalFirstMatch covers semantics §3: rules in order, first match.
func TestEvalFirstMatch(t *testing.T) {
	runEval(t, `default errno(EPERM)
errno(EACCES) read if fd == 0
allow read write
kill_process read
log write if fd == 2
`, []evalCase{
		{name: "condition holds", arch: "x86_64", syscall: "read", args: [6]uint64{0}, want: "errno(EACCES)", reason: "rule", line: 2},
		{name: "falls through", arch: "x86_64", syscall: "read", args: [6]uint64{1}, want: "allow", reason: "rule", line: 3},
		{name: "later rule shadowed", arch: "x86_64", syscall: "write", args: [6]uint64{2}, want: "allow", reason: "rule", line: 3},
	})
}

// TestEvalWidths covers semantics §4: 32-bit truncation, sign extension,
// 64-bit comparisons.
func TestEvalWidths(t *testing.T) {
	runEval(t, `arch x86_64 i386
default errno(EPERM)
allow read if fd == 3
allow openat if dfd == AT_FDCWD
allow lseek if offset == -1
only arch x86_64 {
    allow mmap if len == 4096
}
allow 400 if arg0 == 1
allow kill if pid == -1
allow mmap2 if arg1 == 4096
`, []evalCase{
		{name: "int low half", arch: "x86_64", syscall: "read", args: [6]uint64{0xdeadbeef00000003}, want: "allow", reason: "rule", line: 3},
		{name: "int other low half", arch: "x86_64", syscall: "read", args: [6]uint64{0x00000003_00000004}, want: "errno(EPERM)", reason: "default"},
		{name: "negative int zero-extended", arch: "x86_64", syscall: "openat", args: [6]uint64{0x00000000ffffff9c}, want: "allow", reason: "rule", line: 4},
		{name: "negative int sign-extended", arch: "x86_64", syscall: "openat", args: [6]uint64{0xffffffffffffff9c}, want: "allow", reason: "rule", line: 4},
		{name: "negative int garbage above", arch: "x86_64", syscall: "openat", args: [6]uint64{0x12345678ffffff9c}, want: "allow", reason: "rule", line: 4},
		{name: "long compares 64 bits", arch: "x86_64", syscall: "lseek", args: [6]uint64{0, 0xffffffff}, want: "errno(EPERM)", reason: "default"},
		{name: "long minus one", arch: "x86_64", syscall: "lseek", args: [6]uint64{0, 0xffffffffffffffff}, want: "allow", reason: "rule", line: 5},
		{name: "size_t upper half", arch: "x86_64", syscall: "mmap", args: [6]uint64{0, 0x100001000}, want: "errno(EPERM)", reason: "default"},
		{name: "size_t exact", arch: "x86_64", syscall: "mmap", args: [6]uint64{0, 4096}, want: "allow", reason: "rule", line: 7},
		{name: "unknown signature is 64-bit", arch: "x86_64", nr: 400, args: [6]uint64{0x100000001}, want: "errno(ENOSYS)", reason: "unknown"},
		{name: "unknown signature exact", arch: "x86_64", nr: 400, args: [6]uint64{1}, want: "allow", reason: "rule", line: 9},
		{name: "pid_t -1", arch: "x86_64", syscall: "kill", args: [6]uint64{0xffffffff}, want: "allow", reason: "rule", line: 10},
		{name: "i386 every arg 32-bit", arch: "i386", syscall: "mmap2", args: [6]uint64{0, 0xffffffff00001000}, want: "allow", reason: "rule", line: 11},
		{name: "i386 long minus one", arch: "i386", syscall: "lseek", args: [6]uint64{0, 0xffffffff}, want: "allow", reason: "rule", line: 5},
		{name: "i386 numbers differ", arch: "i386", nr: 3, args: [6]uint64{3}, want: "allow", reason: "rule", line: 3},
	})
}

// TestEvalOps covers every comparison and the boolean operators.
func TestEvalOps(t *testing.T) {
	src := `default errno(EPERM)
allow read if count < 10
allow write if count <= 10
allow pread64 if count > 10
allow pwrite64 if count >= 10
allow close if fd != 5
allow mmap if flags & MAP_TYPE == MAP_PRIVATE
allow mprotect if prot only PROT_READ|PROT_WRITE
allow madvise if behavior none 0xf0
allow msync if flags all MS_SYNC|MS_INVALIDATE
allow socket if family in {AF_UNIX, AF_INET}
allow kill if sig in 1..15
allow dup2 if oldfd == 1 && newfd == 2 || !(oldfd != 7)
allow fcntl if cmd & 0xff != 0x1
`
	big := uint64(0xffffffffffffffff)
	runEval(t, src, []evalCase{
		{name: "lt", arch: "x86_64", syscall: "read", args: [6]uint64{0, 0, 9}, want: "allow", reason: "rule", line: 2},
		{name: "lt unsigned", arch: "x86_64", syscall: "read", args: [6]uint64{0, 0, big}, want: "errno(EPERM)", reason: "default"},
		{name: "lt edge", arch: "x86_64", syscall: "read", args: [6]uint64{0, 0, 10}, want: "errno(EPERM)", reason: "default"},
		{name: "le edge", arch: "x86_64", syscall: "write", args: [6]uint64{0, 0, 10}, want: "allow", reason: "rule", line: 3},
		{name: "gt edge", arch: "x86_64", syscall: "pread64", args: [6]uint64{0, 0, 10}, want: "errno(EPERM)", reason: "default"},
		{name: "gt", arch: "x86_64", syscall: "pread64", args: [6]uint64{0, 0, big}, want: "allow", reason: "rule", line: 4},
		{name: "ge edge", arch: "x86_64", syscall: "pwrite64", args: [6]uint64{0, 0, 10}, want: "allow", reason: "rule", line: 5},
		{name: "ne", arch: "x86_64", syscall: "close", args: [6]uint64{5}, want: "errno(EPERM)", reason: "default"},
		{name: "ne holds", arch: "x86_64", syscall: "close", args: [6]uint64{6}, want: "allow", reason: "rule", line: 6},
		{name: "masked eq", arch: "x86_64", syscall: "mmap", args: [6]uint64{0, 0, 0, 0x22}, want: "allow", reason: "rule", line: 7},
		{name: "masked ne", arch: "x86_64", syscall: "mmap", args: [6]uint64{0, 0, 0, 0x21}, want: "errno(EPERM)", reason: "default"},
		{name: "only subset", arch: "x86_64", syscall: "mprotect", args: [6]uint64{0, 0, 1}, want: "allow", reason: "rule", line: 8},
		{name: "only zero", arch: "x86_64", syscall: "mprotect", args: [6]uint64{0, 0, 0}, want: "allow", reason: "rule", line: 8},
		{name: "only extra bit", arch: "x86_64", syscall: "mprotect", args: [6]uint64{0, 0, 5}, want: "errno(EPERM)", reason: "default"},
		{name: "none", arch: "x86_64", syscall: "madvise", args: [6]uint64{0, 0, 0x0f}, want: "allow", reason: "rule", line: 9},
		{name: "none violated", arch: "x86_64", syscall: "madvise", args: [6]uint64{0, 0, 0x10}, want: "errno(EPERM)", reason: "default"},
		{name: "all", arch: "x86_64", syscall: "msync", args: [6]uint64{0, 0, 6}, want: "allow", reason: "rule", line: 10},
		{name: "all missing one", arch: "x86_64", syscall: "msync", args: [6]uint64{0, 0, 4}, want: "errno(EPERM)", reason: "default"},
		{name: "in", arch: "x86_64", syscall: "socket", args: [6]uint64{2}, want: "allow", reason: "rule", line: 11},
		{name: "not in", arch: "x86_64", syscall: "socket", args: [6]uint64{10}, want: "errno(EPERM)", reason: "default"},
		{name: "range low", arch: "x86_64", syscall: "kill", args: [6]uint64{0, 1}, want: "allow", reason: "rule", line: 12},
		{name: "range high", arch: "x86_64", syscall: "kill", args: [6]uint64{0, 15}, want: "allow", reason: "rule", line: 12},
		{name: "range below", arch: "x86_64", syscall: "kill", args: [6]uint64{0, 0}, want: "errno(EPERM)", reason: "default"},
		{name: "range above", arch: "x86_64", syscall: "kill", args: [6]uint64{0, 16}, want: "errno(EPERM)", reason: "default"},
		{name: "and", arch: "x86_64", syscall: "dup2", args: [6]uint64{1, 2}, want: "allow", reason: "rule", line: 13},
		{name: "and fails", arch: "x86_64", syscall: "dup2", args: [6]uint64{1, 3}, want: "errno(EPERM)", reason: "default"},
		{name: "or via not", arch: "x86_64", syscall: "dup2", args: [6]uint64{7, 3}, want: "allow", reason: "rule", line: 13},
		{name: "masked !=", arch: "x86_64", syscall: "fcntl", args: [6]uint64{0, 0x102}, want: "allow", reason: "rule", line: 14},
		{name: "masked != fails", arch: "x86_64", syscall: "fcntl", args: [6]uint64{0, 0x201}, want: "errno(EPERM)", reason: "default"},
	})
}

// TestEvalApplies covers only/except against arch, capabilities and
// kernel.
func TestEvalApplies(t *testing.T) {
	src := `arch x86_64 i386
default errno(EPERM)
only arch i386 {
    allow getpid
}
only caps CAP_SYS_ADMIN CAP_SYS_PTRACE {
    allow mount
}
except caps CAP_SYS_ADMIN {
    errno(EACCES) unshare
}
only kernel >= 5.8 {
    allow faccessat2
}
except arch i386 kernel >= 6.0 {
    allow uname
}
allow unshare
`
	none := Env{Caps: []string{}}
	admin := Env{Caps: []string{"CAP_SYS_ADMIN"}}
	both := Env{Caps: []string{"SYS_ADMIN", "cap_sys_ptrace"}}
	runEval(t, src, []evalCase{
		{name: "arch listed", arch: "i386", syscall: "getpid", want: "allow", reason: "rule", line: 4},
		{name: "arch not listed", arch: "x86_64", syscall: "getpid", want: "errno(EPERM)", reason: "default"},
		{name: "all caps (nil)", arch: "x86_64", syscall: "mount", want: "allow", reason: "rule", line: 7},
		{name: "no caps", arch: "x86_64", syscall: "mount", env: none, want: "errno(EPERM)", reason: "default"},
		{name: "one of two caps", arch: "x86_64", syscall: "mount", env: admin, want: "errno(EPERM)", reason: "default"},
		{name: "both caps, other spellings", arch: "x86_64", syscall: "mount", env: both, want: "allow", reason: "rule", line: 7},
		{name: "except cap held", arch: "x86_64", syscall: "unshare", env: admin, want: "allow", reason: "rule", line: 18},
		{name: "except cap not held", arch: "x86_64", syscall: "unshare", env: none, want: "errno(EACCES)", reason: "rule", line: 10},
		{name: "kernel old", arch: "x86_64", syscall: "faccessat2", env: Env{Kernel: "5.4.0"}, want: "errno(EPERM)", reason: "default"},
		{name: "kernel new", arch: "x86_64", syscall: "faccessat2", env: Env{Kernel: "5.10"}, want: "allow", reason: "rule", line: 13},
		{name: "kernel exact", arch: "x86_64", syscall: "faccessat2", env: Env{Kernel: "5.8"}, want: "allow", reason: "rule", line: 13},
		{name: "kernel newest", arch: "x86_64", syscall: "faccessat2", want: "allow", reason: "rule", line: 13},
		{name: "except any dimension: arch", arch: "i386", syscall: "uname", env: Env{Kernel: "5.0"}, want: "errno(EPERM)", reason: "default"},
		{name: "except any dimension: kernel", arch: "x86_64", syscall: "uname", env: Env{Kernel: "6.1"}, want: "errno(EPERM)", reason: "default"},
		{name: "except none match", arch: "x86_64", syscall: "uname", env: Env{Kernel: "5.15"}, want: "allow", reason: "rule", line: 16},
	})
}

// TestEvalTargets covers groups, arch-qualified targets and per-arch
// argument names.
func TestEvalTargets(t *testing.T) {
	runEval(t, `arch x86_64 i386 aarch64
default errno(EPERM)
errno(EACCES) i386:socketcall
allow x86_64:1
allow @file-read
allow clone if tls == 0
`, []evalCase{
		{name: "qualified name", arch: "i386", syscall: "socketcall", want: "errno(EACCES)", reason: "rule", line: 3},
		{name: "qualified number", arch: "x86_64", nr: 1, want: "allow", reason: "rule", line: 4},
		{name: "qualified number elsewhere", arch: "i386", nr: 1, want: "errno(EPERM)", reason: "default"},
		{name: "group member", arch: "x86_64", syscall: "open", want: "allow", reason: "rule", line: 5},
		{name: "group member on aarch64", arch: "aarch64", syscall: "openat", want: "allow", reason: "rule", line: 5},
		{name: "x86_64 open number on aarch64", arch: "aarch64", nr: 2, want: "errno(EPERM)", reason: "default"},
		{name: "clone tls is arg4 on x86_64", arch: "x86_64", syscall: "clone", args: [6]uint64{0, 0, 0, 0, 0}, want: "allow", reason: "rule", line: 6},
		{name: "clone arg3 is not tls on x86_64", arch: "x86_64", syscall: "clone", args: [6]uint64{0, 0, 0, 0, 5}, want: "errno(EPERM)", reason: "default"},
		{name: "clone tls is arg3 on aarch64", arch: "aarch64", syscall: "clone", args: [6]uint64{0, 0, 0, 0, 5}, want: "allow", reason: "rule", line: 6},
	})
}

func TestEvalErrors(t *testing.T) {
	if _, err := Evaluate(&Policy{}, Input{}, Env{}); err == nil {
		t.Error("a policy without default evaluated")
	}
	p := &Policy{Default: ActAllow, Rules: []*Rule{{
		Action:   ActLog,
		Syscalls: []Target{{Name: "read"}},
		When:     &Cmp{Arg: -1, ArgName: "nosuch", Op: OpEq},
	}}}
	in := Input{AuditArch: archOf(t, "x86_64").AuditArch, Nr: 0}
	if _, err := Evaluate(p, in, Env{}); err == nil {
		t.Error("an unknown argument name evaluated")
	}
}
