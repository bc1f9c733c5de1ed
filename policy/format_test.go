package policy

import (
	"reflect"
	"strings"
	"testing"
)

// roundTripSources are policies whose formatting must parse back equal.
var roundTripSources = []string{
	"default allow",
	"#\n\n#0",                       // an empty head comment line (found by FuzzParse)
	"#\n#\n# head\n\ndefault allow", // empty lines above the head comment
	"default allow\r\nallow read\r\n",
	`# Head line 1
#
# Head line 3

# about the default
default allow  # trailing default
unknown errno(38)
badarch trap(9)
arch x86_64 i386 x32
flags tsync log
listener "/run/agent \"x\".sock" metadata "k=v\n"

# section
#
# about read
allow read  # trailing read
allow write

# floating

# about close
allow close if (  # inner
    fd == 1)
# above block
only arch x86_64 {  # on brace
    # inside
    allow dup

    allow dup2
}
only arch x86_64 {
    allow dup3
}
except caps CAP_SYS_ADMIN {
    allow getpid
}
log @mount
# end 1

# end 2
`,
	`default kill_thread
allow read write close fstat lseek mmap mprotect munmap brk rt_sigaction rt_sigprocmask ioctl pread64 pwrite64 readv writev access pipe select sched_yield mremap msync mincore madvise
allow socket if family in {AF_UNIX, AF_INET, AF_INET6, AF_NETLINK} && type only SOCK_STREAM|SOCK_DGRAM|SOCK_CLOEXEC|SOCK_NONBLOCK
allow clone if (clone_flags none CLONE_NEWUSER|CLONE_NEWNS || clone_flags all CLONE_THREAD) && ((clone_flags none CLONE_NEWNET))
allow kill if !(sig in 0..31) && (pid == 0 && sig == 0) || !(pid & 0xff != 0x10)
allow personality if personality == PER_LINUX || personality == 0xffffffff || personality == PER_LINUX32 || personality == 0x0200008 || personality == 052
errno(EACCES) 335 x86_64:0x1 @network-io
trace(0) uname
trap(0) getpid
`,
	`# only an end comment`,
	"# head\n\n# end\n",
	"# a\n\n# b\n\narch x86_64\ndefault allow\n",
	"#\n\n# a\n#\n\n#\n\n# b\n# c\n\n\n# d\ndefault allow\n",
	"# a\n\n# b\n\n# c\nallow read\ndefault allow\n",
	"# comment of default\ndefault allow\n",
	`# head

default allow
allow read
# above files
files errno(EPERM) {  # on files
    # about /usr
    read dir /usr /etc

    read write create "/a b" /tmp /café  # trailing
    deny /etc/shadow
    # before the brace
}
notify open openat openat2 creat
`,
	"files {\n}\n# second\nfiles errno(13) { # t2\nread \"rel\" /a/../b \"\"\ndeny read /x\n\n\nwrite /y\n}\n# end\n",
	"default allow\nfiles {\nread /a\n}\nfiles errno(EPERM) {  # t\nwrite /b\n}\nnotify openat\n",
}

func TestFormatRoundTrip(t *testing.T) {
	for _, src := range roundTripSources {
		roundTrip(t, src, ParseOptions{})
		roundTrip(t, src, ParseOptions{SyntaxOnly: true})
	}
}

func roundTrip(t *testing.T, src string, opts ParseOptions) {
	t.Helper()
	p1, err := Parse("rt.policy", []byte(src), opts)
	if err != nil {
		if opts.SyntaxOnly || strings.Contains(src, "default") {
			t.Errorf("Parse(%q): %v", src, err)
		}
		return
	}
	out1 := Format(p1)
	p2, err := Parse("rt.policy", out1, opts)
	if err != nil {
		t.Fatalf("formatted policy does not parse: %v\nsource:\n%s\nformatted:\n%s", err, src, out1)
	}
	stripPos(p1)
	stripPos(p2)
	if !reflect.DeepEqual(p1, p2) {
		t.Errorf("round trip changed the policy\nsource:\n%s\nformatted:\n%s\nbefore: %s\nafter:  %s", src, out1, dump(p1), dump(p2))
	}
	if out2 := Format(p2); string(out2) != string(out1) {
		t.Errorf("formatting is not idempotent\nfirst:\n%s\nsecond:\n%s", out1, out2)
	}
}

func dump(p *Policy) string {
	var b strings.Builder
	b.WriteString(strings.ReplaceAll(strings.TrimSpace(strings.Join([]string{
		"comment=" + p.Comment, "end=" + p.EndComment}, " ")), "\n", `\n`))
	for _, r := range p.Rules {
		b.WriteString("\n  " + FormatRule(r) + " comment=" + strings.ReplaceAll(r.Comment, "\n", `\n`) +
			" trailing=" + r.Trailing)
		if r.BlankBefore {
			b.WriteString(" blank")
		}
	}
	return b.String()
}

// TestFormatLayout checks the canonical layout against hand-written
// expectations.
func TestFormatLayout(t *testing.T) {
	cases := []struct{ name, src, want string }{
		{"header order and defaults",
			"allow read\nflags log\narch i386 x86_64\ndefault errno(EPERM)\n",
			"arch i386 x86_64\ndefault errno(EPERM)\nunknown errno(ENOSYS)\nbadarch kill_process\nflags log\n\nallow read\n"},
		{"numbers and spacing",
			"default allow\nallow   read   if fd==0X1F||fd  in{1,2,}||fd in 0..010\n",
			"default allow\nunknown errno(ENOSYS)\nbadarch kill_process\n\nallow read if fd == 0x1f || fd in {1, 2} || fd in 0..0o10\n"},
		{"blocks merge and indent",
			"default allow\nonly arch x86_64 {\nallow read\n}\nonly arch x86_64 {\n  allow write\n}\nallow close\n",
			"default allow\nunknown errno(ENOSYS)\nbadarch kill_process\n\nonly arch x86_64 {\n    allow read\n    allow write\n}\nallow close\n"},
		{"long target list wraps",
			"default allow\nallow read write close fstat lseek mmap mprotect munmap brk rt_sigaction rt_sigprocmask ioctl pread64\n",
			"default allow\nunknown errno(ENOSYS)\nbadarch kill_process\n\nallow read write close fstat lseek mmap mprotect munmap brk rt_sigaction \\\n    rt_sigprocmask ioctl pread64\n"},
		{"long condition breaks at the outer operator",
			"default allow\nallow socket if family in {AF_UNIX, AF_INET, AF_INET6} && type only SOCK_STREAM|SOCK_CLOEXEC\n",
			"default allow\nunknown errno(ENOSYS)\nbadarch kill_process\n\nallow socket if\n    family in {AF_UNIX, AF_INET, AF_INET6} &&\n    type only SOCK_STREAM|SOCK_CLOEXEC\n"},
		{"blank line after a second head comment block",
			"# a\n\n# b\n\narch x86_64\ndefault allow\n",
			"# a\n#\n# b\n\narch x86_64\ndefault allow\nunknown errno(ENOSYS)\nbadarch kill_process\n"},
		{"head blocks apart from the first statement's own",
			"# a\n\n\n# b\n\n# c\ndefault allow\n",
			"# a\n#\n# b\n\n# c\ndefault allow\nunknown errno(ENOSYS)\nbadarch kill_process\n"},
		{"head blocks above a first rule",
			"# a\n\n# b\n\nallow read\ndefault allow\n",
			"# a\n#\n# b\n\ndefault allow\nunknown errno(ENOSYS)\nbadarch kill_process\n\nallow read\n"},
		{"masked inequality",
			"default allow\nallow fcntl if cmd & 0xf != 0x1 || !(cmd & 0xf != 2)\n",
			"default allow\nunknown errno(ENOSYS)\nbadarch kill_process\n\nallow fcntl if cmd & 0xf != 0x1 || !(cmd & 0xf != 2)\n"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := string(Format(mustParse(t, c.src)))
			if got != c.want {
				t.Errorf("got:\n%s\nwant:\n%s", got, c.want)
			}
		})
	}
}

// TestFormatKeepsIncludes formats a file on its own without inlining.
func TestFormatKeepsIncludes(t *testing.T) {
	src := "allow read\n\n# common\ninclude \"common.policy\"  # shared\nallow write\ninclude \"last.policy\"\n"
	p, err := Parse("x.policy", []byte(src), ParseOptions{SyntaxOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	want := "allow read\n\n# common\ninclude \"common.policy\"  # shared\nallow write\ninclude \"last.policy\"\n"
	if got := string(Format(p)); got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
}

func TestFormatRule(t *testing.T) {
	r := &Rule{
		Action:   Action{Kind: Errno, ErrnoName: "EPERM"},
		Syscalls: []Target{{Name: "socket"}, {Nr: 41, HasNr: true, Arch: "x86_64"}},
		When: &Or{Terms: []Expr{
			&And{Terms: []Expr{
				&Cmp{Arg: 0, Op: OpEq, Value: Num(2)},
				&Or{Terms: []Expr{&Cmp{ArgName: "type", Arg: -1, Op: OpBitsAll, Value: Num(0x800)}, &Cmp{Arg: 2, Op: OpGt, Value: Num(3)}}},
			}},
			&Not{X: &Cmp{Arg: 1, Op: OpMaskedEq, Mask: Num(0xf), Value: Num(1)}},
		}},
		Only: &Applies{Arches: []string{"x86_64"}},
	}
	want := "errno(EPERM) socket x86_64:41 if arg0 == 2 && (type all 0x800 || arg2 > 3) || arg1 & 0xf != 1"
	if got := FormatRule(r); got != want {
		t.Errorf("FormatRule:\n got %s\nwant %s", got, want)
	}
}
