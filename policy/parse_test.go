package policy

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"testing/fstest"
)

func TestParseModel(t *testing.T) {
	src := `# head comment

arch x86_64 i386
default errno(EPERM)
flags spec_allow log log
allow read write close
allow 335 i386:socketcall x86_64:0x1
errno(EACCES) @mount
allow mprotect if prot only PROT_READ|PROT_WRITE
allow kill if sig in 0..31 && pid != -1
allow socket if family in {AF_UNIX, 2,}
allow clone if !(clone_flags all CLONE_NEWUSER) || clone_flags none CLONE_NEWNS
allow fcntl if arg1 & 0xff != 0o17
trace(7) ptrace
trap(3) uname
trap(0) getpid
trace getppid
only arch x86_64 caps CAP_SYS_ADMIN except kernel >= 6.1 {
    allow bpf
}
`
	p := mustParse(t, src)
	if p.Comment != "head comment" {
		t.Errorf("Comment = %q", p.Comment)
	}
	if !reflect.DeepEqual(p.Arches, []string{"x86_64", "i386"}) {
		t.Errorf("Arches = %q", p.Arches)
	}
	if want := (Action{Kind: Errno, ErrnoName: "EPERM", Data: 1}); p.Default != want {
		t.Errorf("Default = %+v, want %+v", p.Default, want)
	}
	if want := (Action{Kind: Errno, ErrnoName: "ENOSYS", Data: 38}); p.Unknown != want {
		t.Errorf("Unknown (unstated) = %+v, want %+v", p.Unknown, want)
	}
	if p.BadArch != ActKillProcess {
		t.Errorf("BadArch (unstated) = %+v", p.BadArch)
	}
	if !reflect.DeepEqual(p.Flags, []string{"log", "spec_allow"}) {
		t.Errorf("Flags = %q, want sorted and deduplicated", p.Flags)
	}
	if len(p.Rules) != 13 {
		t.Fatalf("%d rules, want 13", len(p.Rules))
	}
	r := p.Rules
	wantTargets := []Target{{Nr: 335, HasNr: true}, {Name: "socketcall", Arch: "i386"}, {Nr: 1, HasNr: true, Arch: "x86_64"}}
	got := append([]Target(nil), r[1].Syscalls...)
	stripPos(&got)
	if !reflect.DeepEqual(got, wantTargets) {
		t.Errorf("targets = %+v, want %+v", got, wantTargets)
	}
	if g := r[2].Syscalls[0].Group; g != "mount" || r[2].Action.ErrnoName != "EACCES" || r[2].Action.Data != 13 {
		t.Errorf("rule 3 = %+v", r[2])
	}
	cm := r[3].When.(*Cmp)
	if cm.Op != OpBitsOnly || cm.ArgName != "prot" || cm.Arg != -1 || cm.Value.Num != 3 ||
		!reflect.DeepEqual(cm.Value.Terms, []string{"PROT_READ", "PROT_WRITE"}) {
		t.Errorf("mprotect condition = %+v", cm)
	}
	and := r[4].When.(*And)
	if rg := and.Terms[0].(*Cmp); rg.Op != OpRange || rg.Value.Num != 0 || rg.High.Num != 31 {
		t.Errorf("range = %+v", rg)
	}
	if ne := and.Terms[1].(*Cmp); ne.Op != OpNe || ne.Value.Num != ^uint64(0) || ne.Value.Terms[0] != "-1" {
		t.Errorf("negative = %+v", ne)
	}
	in := r[5].When.(*Cmp)
	if in.Op != OpIn || len(in.Values) != 2 || in.Values[0].Num != 1 || in.Values[1].Num != 2 {
		t.Errorf("set = %+v", in)
	}
	or := r[6].When.(*Or)
	if not, ok := or.Terms[0].(*Not); !ok || not.X.(*Cmp).Op != OpBitsAll {
		t.Errorf("not = %+v", or.Terms[0])
	}
	// `a & m != v` is !(a & m == v).
	not := r[7].When.(*Not)
	if me := not.X.(*Cmp); me.Op != OpMaskedEq || me.Arg != 1 || me.Mask.Num != 0xff || me.Value.Num != 0o17 || me.Value.Terms[0] != "0o17" {
		t.Errorf("masked != = %+v", me)
	}
	acts := []Action{{Kind: Trace, Data: 7}, {Kind: Trap, Data: 3}, {Kind: Trap}, {Kind: Trace}}
	for i, a := range acts {
		if r[8+i].Action != a {
			t.Errorf("rule %d action = %+v, want %+v", 9+i, r[8+i].Action, a)
		}
	}
	last := r[12]
	if !reflect.DeepEqual(last.Only, &Applies{Arches: []string{"x86_64"}, Caps: []string{"CAP_SYS_ADMIN"}}) ||
		!reflect.DeepEqual(last.Except, &Applies{MinKernel: "6.1"}) {
		t.Errorf("block restriction = %+v / %+v", last.Only, last.Except)
	}
	if r[0].Only != nil || r[0].Except != nil {
		t.Errorf("rule outside a block is restricted")
	}
	if pos := r[4].When.(*And).Terms[1].Position(); pos != (Pos{File: "test.policy", Line: 10, Col: 31}) {
		t.Errorf("position = %v", pos)
	}
}

func TestParseNumbersAndValues(t *testing.T) {
	cases := []struct {
		lit   string
		num   uint64
		canon string
	}{
		{"0", 0, "0"},
		{"42", 42, "42"},
		{"0x2A", 42, "0x2a"},
		{"0X2a", 42, "0x2a"},
		{"052", 42, "0o52"},
		{"0o52", 42, "0o52"},
		{"0b101010", 42, "0b101010"},
		{"-1", 0xffffffffffffffff, "-1"},
		{"-0x10", 0xfffffffffffffff0, "-0x10"},
		{"-0", 0, "0"},
		{"18446744073709551615", 0xffffffffffffffff, "18446744073709551615"},
		{"-9223372036854775808", 1 << 63, "-9223372036854775808"},
	}
	for _, c := range cases {
		n, err := parseNumber(c.lit)
		if err != nil || n != c.num {
			t.Errorf("parseNumber(%q) = %#x, %v; want %#x", c.lit, n, err, c.num)
		}
		if got := canonicalNumber(c.lit); got != c.canon {
			t.Errorf("canonicalNumber(%q) = %q, want %q", c.lit, got, c.canon)
		}
	}
	for _, bad := range []string{"0x", "08", "1_000", "18446744073709551616", "-9223372036854775809", "0b2", "12ab"} {
		if _, err := parseNumber(bad); err == nil {
			t.Errorf("parseNumber(%q) succeeded", bad)
		}
	}
}

func TestParseErrors(t *testing.T) {
	cases := []struct {
		name, src string
		want      []string // "line:col: substring", in order
	}{
		{"no default", "allow read\n", []string{"1:1: the policy states no default action"}},
		{"unknown syscall", "default allow\nallow raed\n", []string{`2:7: unknown syscall "raed" on x86_64`, `did you mean "read"`}},
		{"syscall of another arch", "arch aarch64\ndefault allow\nallow open\n", []string{`3:7: unknown syscall "open" on aarch64 (`, "x86_64"}},
		{"unknown group", "default allow\nallow @netwrk-io\n", []string{`2:7: unknown group @netwrk-io; did you mean "@network-io"`}},
		{"unknown action", "default allow\nalow read\n", []string{`2:1: found "alow", expected a rule`, `did you mean "allow"`}},
		{"unknown default action", "default kill\n", []string{`1:9: unknown action "kill"`, "kill_process"}},
		{"unknown errno", "default errno(EPREM)\n", []string{`1:1: errno EPREM is not defined on x86_64; did you mean "EPERM"`}},
		{"errno range", "default errno(4096)\n", []string{"1:15: errno 4096 is out of range"}},
		{"errno negative", "default errno(-1)\n", []string{"1:15: errno -1 is out of range"}},
		{"errno missing", "default errno\n", []string{"1:9: errno needs the error to return"}},
		{"trace range", "default allow\ntrace(65536) read\n", []string{"2:7: trace data 65536 is out of range"}},
		{"allow with data", "default allow(1)\n", []string{"1:14: allow takes no value"}},
		{"unknown constant", "default allow\nallow socket if family == AF_INTE\n", []string{"2:17: constant AF_INTE is not defined on x86_64", `"AF_INET"`}},
		{"unknown arg name", "default allow\nallow read if fdd == 1\n", []string{`2:15: read on x86_64 has no argument "fdd"; its arguments are fd (arg0, int), buf (arg1, pointer), count (arg2, long); did you mean "fd"?`}},
		{"arg name missing on one syscall", "default allow\nallow read openat if fd == 1\n", []string{`2:22: openat on x86_64 has no argument "fd"`, "dfd (arg0, int)"}},
		{"arg index beyond arity", "default allow\nallow close if arg1 == 0\n", []string{"2:16: arg1 is not an argument of close on x86_64, which takes 1: fd (arg0, int)"}},
		{"arg6", "default allow\nallow read if arg6 == 0\n", []string{"2:15: arg6: syscalls have six arguments, arg0 to arg5"}},
		{"int overflow", "default allow\nallow read if fd == 0x100000000\n", []string{"2:15: 0x100000000 does not fit in fd (arg0 of read), which is 32 bits wide on x86_64"}},
		{"int sign-extended ok, 32-bit arch overflow", "arch i386\ndefault allow\nallow lseek if offset == 0x1ffffffff\n", []string{"3:16: 0x1ffffffff does not fit in offset (arg1 of lseek), which is 32 bits wide on i386 (i386 passes 32-bit arguments"}},
		{"pointer ordering", "default allow\nallow read if buf > 0x1000\n", []string{"2:15: buf (arg1 of read) is a pointer", "only NULL checks"}},
		{"pointer bit test", "default allow\nallow read if buf none 1\n", []string{"2:15: buf (arg1 of read) is a pointer"}},
		{"pointer non-null compare", "default allow\nallow read if buf == 5\n", []string{"2:15: buf (arg1 of read) is a pointer"}},
		{"masked never", "default allow\nallow fcntl if cmd & 0xf0 == 0x1\n", []string{"2:16: cmd (arg1 of fcntl) & 0xf0 == 0x1 never holds"}},
		{"empty range", "default allow\nallow kill if sig in 31..0\n", []string{"2:15: the range 31..0 of sig (arg1 of kill) is empty"}},
		{"signed range", "default allow\nallow kill if pid in -1..5\n", []string{"2:15: the range -1..5 of pid (arg0 of kill) is empty"}},
		{"named arg on number", "default allow\nallow 1000 if fd == 0\n", []string{`2:15: argument "fd": the syscall has no name on x86_64`}},
		{"named arg on 32-bit split", "arch i386\ndefault allow\nallow pread64 if pos == 0\n", []string{`3:18: argument "pos" of pread64 has no fixed slot on i386`}},
		{"conflicting default", "default allow\ndefault errno(EPERM)\n", []string{"2:1: conflicting default line: this says errno(EPERM), but test.policy:1:1 says allow"}},
		{"conflicting arch", "arch x86_64\narch i386\ndefault allow\n", []string{"2:1: conflicting arch line"}},
		{"arch listed twice", "arch x86_64 amd64\ndefault allow\n", []string{"1:13: architecture x86_64 is listed twice"}},
		{"unknown arch", "arch x86-65\ndefault allow\n", []string{`1:6: unknown architecture "x86-65"; did you mean "x86_64"`}},
		{"qualified arch not accepted", "default allow\nallow i386:socketcall\n", []string{"2:7: i386:socketcall: architecture i386 is not accepted by this policy (it accepts x86_64)"}},
		{"qualified group", "default allow\nallow i386:@mount\n", []string{"2:12: groups cannot be qualified"}},
		{"unknown flag", "flags lgo\ndefault allow\n", []string{`1:7: unknown filter flag "lgo"; did you mean "log"`}},
		{"bad op", "default allow\nallow read if fd = 1\n", []string{"2:18: unexpected '=': equality is written '=='"}},
		{"missing operand", "default allow\nallow read if fd ==\n", []string{"3:1: found end of file, expected a value"}},
		{"missing condition", "default allow\nallow read if\n\n", []string{"4:1: found end of file, expected a comparison"}},
		{"garbage after rule", "default allow\nallow read if fd == 1 fd == 2\n", []string{"2:23: found \"fd\", expected end of line after the condition"}},
		{"no syscalls", "default allow\nallow\n", []string{"2:6: found end of line, expected the syscalls the rule applies to"}},
		{"no syscalls before if", "default allow\nallow if fd == 0\n", []string{"2:7: found \"if\", expected the syscalls"}},
		{"unclosed paren", "default allow\nallow read if (fd == 1\n", []string{"3:1: found end of file, expected ')'"}},
		{"unclosed block", "default allow\nonly arch x86_64 {\nallow read\n", []string{"2:1: this only/except block is never closed"}},
		{"stray brace", "default allow\n}\n", []string{"2:1: found '}' with no only/except block open"}},
		{"nested block", "default allow\nonly arch x86_64 {\nonly caps CAP_BPF {\n}\n}\n", []string{"3:1: only/except blocks do not nest"}},
		{"header in block", "default allow\nexcept caps CAP_BPF {\nflags log\n}\n", []string{"3:1: flags lines cannot be inside an only/except block"}},
		{"unknown cap", "default allow\nonly caps CAP_SYS_ADMN {\nallow read\n}\n", []string{`2:11: unknown capability "CAP_SYS_ADMN"; did you mean "CAP_SYS_ADMIN"`}},
		{"kernel without >=", "default allow\nonly kernel 5.8 {\nallow read\n}\n", []string{"2:13: found number 5.8, expected '>='"}},
		{"bad version", "default allow\nonly kernel >= 5.8rc1 {\nallow read\n}\n", []string{`2:16: malformed kernel version "5.8rc1"`}},
		{"syscall number range", "default allow\nallow 0x100000000\n", []string{"2:7: syscall number 0x100000000 is out of range"}},
		{"negative syscall number", "default allow\nallow -1\n", []string{"2:7: syscall number -1 is out of range"}},
		{"bad char", "default allow\nallow read; allow write\n", []string{"2:11: unexpected character ';'"}},
		{"bad backslash", "default allow\nallow read \\ write\n", []string{"2:12: unexpected '\\'"}},
		{"unterminated string", "default allow\ninclude \"x\n", []string{"2:9: string not terminated"}},
		{"listener path", "default allow\nlistener /run/x\n", []string{"2:10: found path /run/x, expected the listener's socket path as a quoted string"}},
		{"malformed number", "default allow\nallow read if fd == 0x\n", []string{`2:21: malformed number "0x"`}},
		{"big number", "default allow\nallow read if count == 0x10000000000000000\n", []string{"2:24: number 0x10000000000000000 does not fit in 64 bits"}},
		{"empty set", "default allow\nallow read if fd in {}\n", []string{"2:22: found '}', expected a value"}},
		{"unknown qualifier arch", "default allow\nallow vax:read\n", []string{`2:7: unknown architecture "vax" before ':'`, "known: x86_64 i386"}},
		{"unknown block arch", "default allow\nonly arch vax {\nallow read\n}\n", []string{`2:11: unknown architecture "vax"`, "known: x86_64 i386"}},
		{"binary", "default allow\nallow read\x00\x15\x00\n", []string{"2:11: binary data (a NUL byte), not a policy", "syscage disasm"}},
		// A syntax error may hide the default line; the missing default
		// then says nothing more (it used to say "invalid action kind 0").
		{"syntax error, no default", "allow read;\n", []string{"1:11: unexpected character ';'"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse("test.policy", []byte(c.src), ParseOptions{})
			if err == nil {
				t.Fatalf("no error for:\n%s", c.src)
			}
			var list ErrorList
			if !errors.As(err, &list) {
				t.Fatalf("error %T is not an ErrorList: %v", err, err)
			}
			msg := err.Error()
			for _, w := range c.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error\n%s\ndoes not contain %q", msg, w)
				}
			}
			if !strings.HasPrefix(msg, "test.policy:") {
				t.Errorf("error does not start with the file name: %s", msg)
			}
		})
	}
}

// TestParseErrors reports several problems at once, sorted.
func TestParseSeveralErrors(t *testing.T) {
	src := `default allow
allow raed
allow write if fd = 1
alow close
allow socket if family == AF_INTE
`
	_, err := Parse("m.policy", []byte(src), ParseOptions{})
	var list ErrorList
	if !errors.As(err, &list) {
		t.Fatalf("got %v, want an ErrorList", err)
	}
	var lines []int
	for _, e := range list {
		lines = append(lines, e.Pos.Line)
	}
	if !reflect.DeepEqual(lines, []int{2, 3, 4, 5}) {
		t.Errorf("errors on lines %v, want 2 3 4 5:\n%v", lines, err)
	}
}

// TestParseValidCorners accepts what the language allows.
func TestParseValidCorners(t *testing.T) {
	for _, src := range []string{
		"default allow",                             // no final newline
		"default allow\r\nallow read\r\n",           // CRLF
		"default allow\nallow read if fd == -100\n", // sign-extended negative on an int
		"default allow\nallow read if fd == 0xffffffffffffff9c\n",
		"default allow\nallow read if buf == 0 || buf != 0\n", // NULL checks on pointers
		"default allow\nallow read if fd in\n{\n 1,\n 2\n}\n", // sets span lines
		"default allow\nallow read if (\n  fd == 1 ||\n  fd == 2\n)\n",
		"default allow\nallow read write \\\n    close\n",
		"default allow\nallow socket if family == AF_INET |\n AF_INET6\n",
		"default allow\ndefault allow\n", // identical duplicates are fine
		"arch x86_64 x32 i386\ndefault allow\nallow x32:read 0x40000000\n",
		"default allow\nlistener \"/run/a b.sock\" metadata \"k=v\\n\"\n",
		"default allow\nexcept arch i386 caps CAP_SYS_ADMIN CAP_BPF kernel >= 5 {\nallow bpf\n}\n",
		"default allow\nallow mmap if flags & MAP_TYPE == MAP_PRIVATE && prot none PROT_EXEC\n",
		"default allow\nallow personality if personality in {PER_LINUX, PER_QUERY}\n",
	} {
		if _, err := Parse("ok.policy", []byte(src), ParseOptions{}); err != nil {
			t.Errorf("Parse(%q): %v", src, err)
		}
	}
}

func TestIncludes(t *testing.T) {
	fsys := fstest.MapFS{
		"main.policy": {Data: []byte(`default errno(EPERM)
allow read
# shared rules
include "lib/common.policy"
allow write
`)},
		"lib/common.policy": {Data: []byte(`# The library.

default errno(EPERM)
allow close
include "more.policy"
`)},
		"lib/more.policy":   {Data: []byte("allow exit_group\n")},
		"cycle/a.policy":    {Data: []byte("default allow\ninclude \"b.policy\"\n")},
		"cycle/b.policy":    {Data: []byte("include \"a.policy\"\n")},
		"missing.policy":    {Data: []byte("default allow\ninclude \"nope.policy\"\n")},
		"conflict.policy":   {Data: []byte("default allow\ninclude \"lib/deny.policy\"\n")},
		"lib/deny.policy":   {Data: []byte("default kill_process\n")},
		"abs.policy":        {Data: []byte("default allow\ninclude \"/etc/x\"\n")},
		"bad.policy":        {Data: []byte("default allow\ninclude \"lib/broken.policy\"\n")},
		"lib/broken.policy": {Data: []byte("allow nosuchcall\n")},
	}
	p, err := ParseFile("main.policy", ParseOptions{FS: fsys})
	if err != nil {
		t.Fatal(err)
	}
	var names, files []string
	for _, r := range p.Rules {
		names = append(names, r.Syscalls[0].Name)
		files = append(files, r.Pos.File)
	}
	if !reflect.DeepEqual(names, []string{"read", "close", "exit_group", "write"}) {
		t.Errorf("rules %v", names)
	}
	if !reflect.DeepEqual(files, []string{"main.policy", "lib/common.policy", "lib/more.policy", "main.policy"}) {
		t.Errorf("files %v", files)
	}
	if c := p.Rules[1].Comment; c != "shared rules" {
		t.Errorf("the include line's comment should introduce its rules, got %q", c)
	}
	if p.Comment != "" {
		t.Errorf("an included file's head comment leaked: %q", p.Comment)
	}

	errCases := map[string]string{
		"cycle/a.policy":  `cycle/b.policy:1:9: include cycle: cycle/a.policy -> cycle/b.policy -> cycle/a.policy`,
		"missing.policy":  `missing.policy:2:9: cannot read included file "nope.policy"`,
		"conflict.policy": `lib/deny.policy:1:1: conflicting default line: this says kill_process, but conflict.policy:1:1 says allow`,
		"abs.policy":      `abs.policy:2:9: include "/etc/x": paths are relative`,
		"bad.policy":      `lib/broken.policy:1:7: unknown syscall "nosuchcall"`,
	}
	for file, want := range errCases {
		_, err := ParseFile(file, ParseOptions{FS: fsys})
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: error %v, want %q", file, err, want)
		}
	}

	// SyntaxOnly keeps the include line in place and reads nothing.
	p, err = ParseFile("main.policy", ParseOptions{FS: fsys, SyntaxOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Includes) != 1 || p.Includes[0].Path != "lib/common.policy" || p.Includes[0].Before != 1 || p.Includes[0].Comment != "shared rules" {
		t.Errorf("includes %+v", p.Includes)
	}
	if len(p.Rules) != 2 {
		t.Errorf("%d rules, want the file's own 2", len(p.Rules))
	}
}

func TestIncludeFromDisk(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) {
		t.Helper()
		if err := writeFile(dir+"/"+name, text); err != nil {
			t.Fatal(err)
		}
	}
	write("main.policy", "default allow\ninclude \"sub/x.policy\"\n")
	write("sub/x.policy", "allow read\n")
	p, err := ParseFile(dir+"/main.policy", ParseOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Rules) != 1 || p.Rules[0].Pos.File != dir+"/sub/x.policy" {
		t.Errorf("rules %+v", p.Rules)
	}
}

func TestComments(t *testing.T) {
	src := `# Head line 1
#
# Head line 3

# about the default
default allow  # trailing default
arch x86_64

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
}
# end 1

# end 2
`
	p := mustParse(t, src)
	if p.Comment != "Head line 1\n\nHead line 3" {
		t.Errorf("head %q", p.Comment)
	}
	if c := p.HeaderComments["default"]; c != (Comments{Above: "about the default", Trailing: "trailing default"}) {
		t.Errorf("default comments %+v", c)
	}
	type rc struct {
		comment, trailing string
		blank             bool
	}
	want := []rc{
		{"section\n\nabout read", "trailing read", false}, // the first rule's blank line is implied
		{"", "", false},
		{"floating\n\nabout close\ninner", "", true},
		{"above block\non brace\ninside", "", false},
	}
	for i, r := range p.Rules {
		got := rc{r.Comment, r.Trailing, r.BlankBefore}
		if got != want[i] {
			t.Errorf("rule %d (%s): %+v, want %+v", i, r, got, want[i])
		}
	}
	if p.EndComment != "end 1\n\nend 2" {
		t.Errorf("end %q", p.EndComment)
	}
}

// TestParseErrorsAreFew: binary input and syntax errors in a file without
// a default produce only the errors that help, each with a position.
func TestParseErrorsAreFew(t *testing.T) {
	cases := []struct {
		name, src string
		count     int
	}{
		{"binary", "\x20\x00\x00\x00\x04\x00\x00\x00\x15\x00\x0b\x00\x3e\x00\x00\xc0", 1},
		{"syntax error, no default", "allow read;\n", 1},
		{"not a policy", "foo: bar\n", 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse("t.policy", []byte(c.src), ParseOptions{})
			var list ErrorList
			if !errors.As(err, &list) {
				t.Fatalf("got %v, want an ErrorList", err)
			}
			if len(list) != c.count {
				t.Errorf("%d errors, want %d:\n%v", len(list), c.count, err)
			}
			for _, e := range list {
				if !e.Pos.IsValid() {
					t.Errorf("error without a position: %v", e)
				}
			}
		})
	}
}
