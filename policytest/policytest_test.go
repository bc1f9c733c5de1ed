package policytest

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/syscage/syscage/arch"
	"github.com/syscage/syscage/bpf"
	"github.com/syscage/syscage/policy"
)

func TestParseCases(t *testing.T) {
	x86, _ := arch.ByName("x86_64")
	i386, _ := arch.ByName("i386")
	mips, _ := arch.ByName("mips")
	afInet, _ := x86.Constant("AF_INET")
	stream, _ := x86.Constant("SOCK_STREAM")
	cloexec, _ := x86.Constant("SOCK_CLOEXEC")
	enosysMips, _ := mips.Errno("ENOSYS")
	tests := []struct {
		line    string
		arch    *arch.Arch
		syscall string
		nr      uint32
		args    [6]uint64
		want    string // the expectation's String
		ret     uint32 // the expectation's return value on the arch (0: skip)
	}{
		{"x86_64 socket AF_INET SOCK_STREAM 0 -> allow", x86, "socket", 41, [6]uint64{afInet, stream}, "allow", bpf.RetAllow},
		{"amd64 socket AF_INET SOCK_STREAM|SOCK_CLOEXEC -> errno(EPERM)  # comment", x86, "socket", 41, [6]uint64{afInet, stream | cloexec}, "errno(EPERM)", bpf.RetErrno | 1},
		{"i386 ptrace -> kill_process", i386, "ptrace", 26, [6]uint64{}, "kill_process", bpf.RetKillProcess},
		{"x86_64 socket type=SOCK_STREAM family=AF_INET -> errno", x86, "socket", 41, [6]uint64{afInet, stream}, "errno", 0},
		{"x86_64 read arg2=-1 -> trap(7)", x86, "read", 0, [6]uint64{0, 0, ^uint64(0)}, "trap(7)", bpf.RetTrap | 7},
		{"x86_64 0x1000 1 2 3 4 5 6 -> errno(38)", x86, "", 0x1000, [6]uint64{1, 2, 3, 4, 5, 6}, "errno(38)", bpf.RetErrno | 38},
		{"\tx86_64  write   0b101 0o17 0x10 ->   log", x86, "write", 1, [6]uint64{5, 15, 16}, "log", bpf.RetLog},
		{"mips getpid -> errno(ENOSYS)", mips, "getpid", 4020, [6]uint64{}, "errno(ENOSYS)", bpf.RetErrno | uint32(enosysMips)},
		{"x32 read -> trace(3)", nil, "read", 0x40000000, [6]uint64{}, "trace(3)", bpf.RetTrace | 3},
		{"x86_64 getpid -> notify", x86, "getpid", 39, [6]uint64{}, "notify", bpf.RetUserNotif},
	}
	for _, tt := range tests {
		cs, err := Parse("c", []byte("# header\n\n"+tt.line+"\n"))
		if err != nil {
			t.Errorf("%q: %v", tt.line, err)
			continue
		}
		if len(cs) != 1 {
			t.Errorf("%q: %d cases", tt.line, len(cs))
			continue
		}
		c := cs[0]
		if (tt.arch != nil && c.Arch != tt.arch) || c.Syscall != tt.syscall || c.Nr != tt.nr || c.Args != tt.args || c.Want.String() != tt.want {
			t.Errorf("%q = %s %q %#x %x %s; want %v %q %#x %x %s", tt.line, c.Arch, c.Syscall, c.Nr, c.Args, c.Want, tt.arch, tt.syscall, tt.nr, tt.args, tt.want)
		}
		if c.Pos.Line != 3 || c.Pos.File != "c" {
			t.Errorf("%q: position %s", tt.line, c.Pos)
		}
		if tt.ret != 0 && !c.Want.Matches(tt.ret, c.Arch) {
			t.Errorf("%q: expectation does not match %#x", tt.line, tt.ret)
		}
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		line string
		pos  string   // line:col
		msg  []string // substrings
	}{
		{"x86_64 getpid allow", "1:20", []string{"expected '-> ACTION'"}},
		{"x86_64 getpid ->", "1:17", []string{"expected an action"}},
		{"x86_64 -> allow", "1:1", []string{"architecture and a syscall"}},
		{"x86_65 getpid -> allow", "1:1", []string{"x86_64"}},
		{"x86_64 getpdi -> allow", "1:8", []string{`"getpid"`}},
		{"aarch64 open -> allow", "1:9", []string{"openat"}},
		{"x86_64 socket AF_INTE -> allow", "1:15", []string{`"AF_INET"`}},
		{"x86_64 socket famly=2 -> allow", "1:15", []string{`"family"`}},
		{"x86_64 socket family=2 3 -> allow", "1:24", []string{"must be named"}},
		{"x86_64 read 1 2 3 4 5 6 7 -> allow", "1:25", []string{"at most 6"}},
		{"x86_64 read 12x -> allow", "1:13", []string{"not a 64-bit number"}},
		{"x86_64 read -> alow", "1:16", []string{`"allow"`}},
		{"x86_64 read -> errno(EPERN)", "1:22", []string{`"EPERM"`}},
		{"x86_64 read -> errno(5000)", "1:22", []string{"not a valid value"}},
		{"x86_64 read -> allow(1)", "1:21", []string{"takes no value"}},
		{"x86_64 read -> trace", "1:21", []string{"trace(1)"}},
		{"x86_64 read -> errno(1", "1:23", []string{"')'"}},
		{"x86_64 read -> allow log", "1:22", []string{"after the action"}},
		{"x86_64 read -> allow -> log", "1:22", []string{"second '->'"}},
		{"x86_64 read O_RDONLY||1 -> allow", "1:13", []string{"empty term"}},
	}
	for _, tt := range tests {
		_, err := Parse("c", []byte(tt.line))
		var el policy.ErrorList
		if !errors.As(err, &el) || len(el) != 1 {
			t.Errorf("%q: error %v, want one error", tt.line, err)
			continue
		}
		if got := fmt.Sprintf("%d:%d", el[0].Pos.Line, el[0].Pos.Col); got != tt.pos {
			t.Errorf("%q: error at %s, want %s: %v", tt.line, got, tt.pos, el[0])
		}
		for _, m := range tt.msg {
			if !strings.Contains(el[0].Msg, m) {
				t.Errorf("%q: %q lacks %q", tt.line, el[0].Msg, m)
			}
		}
	}
	// Several errors are reported at once, each with its line.
	_, err := Parse("c", []byte("x86_64 read -> allow\nbad\nx86_64 nope -> allow\n"))
	var el policy.ErrorList
	if !errors.As(err, &el) || len(el) != 2 || el[0].Pos.Line != 2 || el[1].Pos.Line != 3 {
		t.Errorf("errors %v, want lines 2 and 3", err)
	}
}

const testPolicy = `arch x86_64 i386
default errno(EPERM)
allow execve read write
allow socket if family == AF_INET && type & 0xf == SOCK_STREAM
kill_process ptrace
errno(ENOSYS) clone3
`

func TestRun(t *testing.T) {
	p, err := policy.Parse("t.policy", []byte(testPolicy), policy.ParseOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cases, err := Parse("t.cases", []byte(`x86_64 socket AF_INET SOCK_STREAM 0 -> allow
x86_64 socket AF_INET SOCK_STREAM|SOCK_NONBLOCK 0 -> allow
x86_64 socket AF_INET6 SOCK_STREAM 0 -> allow        # fails: errno(EPERM)
i386 ptrace -> kill_process
i386 socketcall -> errno
x86_64 clone3 -> errno(ENOSYS)
x86_64 clone3 -> errno(EPERM)                        # fails: ENOSYS
arm read -> kill_process
x32 read -> kill_process
x86_64 0x1000 -> errno(ENOSYS)
`))
	if err != nil {
		t.Fatal(err)
	}
	for _, noCompile := range []bool{false, true} {
		rs, err := Run(p, cases, Options{NoCompile: noCompile})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rs {
			wantPass := r.Case.Pos.Line != 3 && r.Case.Pos.Line != 7 // the lines marked "fails"
			if r.Pass != wantPass {
				t.Errorf("%s: pass %v, want %v (ret %#x)", r.Case.Pos, r.Pass, wantPass, r.Ret)
			}
			if r.FilterRan == noCompile {
				t.Errorf("%s: filter ran %v with NoCompile %v", r.Case.Pos, r.FilterRan, noCompile)
			}
			if r.CompilerBug {
				t.Errorf("%s: the compiled filter returns %#x, the evaluator %#x", r.Case.Pos, r.Filter, r.Ret)
			}
		}
		if got := len(Failed(rs)); got != 2 {
			t.Errorf("%d failed, want 2", got)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add("x86_64 socket AF_INET SOCK_STREAM 0 -> allow\n")
	f.Add("i386 ptrace -> errno(EPERM) # c\n")
	f.Add("x86_64 openat dfd=-100 flags=O_WRONLY|O_CREAT -> errno\n")
	f.Add("mips 4001 -> trap(1)\nx32 read -> trace(0x10)\n")
	f.Add("x86_64 read -> errno(\n-> ->\n")
	f.Fuzz(func(t *testing.T, src string) {
		cases, err := Parse("f", []byte(src))
		if err != nil {
			var el policy.ErrorList
			if !errors.As(err, &el) || len(el) == 0 {
				t.Fatalf("error %v is not a non-empty ErrorList", err)
			}
			for _, e := range el {
				if e.Pos.Line < 1 || e.Pos.Col < 1 {
					t.Fatalf("error without a position: %v", e)
				}
			}
			return
		}
		for _, c := range cases {
			if c.Arch == nil || c.Pos.Line < 1 || c.Text == "" {
				t.Fatalf("incomplete case %+v", c)
			}
			if c.Syscall != "" {
				if nr, ok := c.Arch.Lookup(c.Syscall); !ok || uint32(nr) != c.Nr {
					t.Fatalf("case %q: %s is %d on %s, not %d", c.Text, c.Syscall, nr, c.Arch.Name, c.Nr)
				}
			}
		}
	})
}

func ExampleRun() {
	p, _ := policy.Parse("app.policy", []byte("arch x86_64\ndefault errno(EPERM)\nallow socket if family == AF_INET\n"), policy.ParseOptions{})
	cases, _ := Parse("app.cases", []byte("x86_64 socket AF_INET -> allow\nx86_64 socket AF_UNIX -> allow\n"))
	results, err := Run(p, cases, Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, r := range results {
		fmt.Printf("%s: %s: pass=%v, got %s\n", r.Case.Pos, r.Case.Text, r.Pass, r.Decision.Action)
	}
	// Output:
	// app.cases:1:1: x86_64 socket AF_INET -> allow: pass=true, got allow
	// app.cases:2:1: x86_64 socket AF_UNIX -> allow: pass=false, got errno(EPERM)
}
