package policy

import (
	"reflect"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"
)

// notifyOpens is the rule a policy with a files block needs.
const notifyOpens = "notify open openat openat2 creat\n"

func TestParseFiles(t *testing.T) {
	src := `default allow
files errno(EPERM) {  # refusals
    # system files
    read dir /usr /etc

    read write create /var/lib/www
    deny /etc/shadow  # never
    read nosymlinks "/srv/my data" /srv/caf` + "\u00e9" + ` \
        /srv/x
}
` + notifyOpens
	p := mustParse(t, src)
	pos := func(line, col int) Pos { return Pos{File: "test.policy", Line: line, Col: col} }
	want := &Files{
		Pos:      pos(2, 1),
		Errno:    Action{Kind: Errno, ErrnoName: "EPERM", Data: 1},
		Trailing: "refusals",
		Rules: []*FileRule{
			{Pos: pos(4, 5), Read: true, Dir: true, Comment: "system files",
				Paths: []FilePath{{pos(4, 14), "/usr"}, {pos(4, 19), "/etc"}}},
			{Pos: pos(6, 5), Read: true, Write: true, Create: true, BlankBefore: true,
				Paths: []FilePath{{pos(6, 23), "/var/lib/www"}}},
			{Pos: pos(7, 5), Deny: true, Trailing: "never",
				Paths: []FilePath{{pos(7, 10), "/etc/shadow"}}},
			{Pos: pos(8, 5), Read: true, NoSymlinks: true,
				Paths: []FilePath{{pos(8, 21), "/srv/my data"}, {pos(8, 36), "/srv/caf\u00e9"}, {pos(9, 9), "/srv/x"}}},
		},
	}
	if !reflect.DeepEqual(p.Files, want) {
		t.Errorf("files block\n got %s\nwant %s", dumpFiles(p.Files), dumpFiles(want))
	}
	if len(p.Rules) != 1 || p.Rules[0].Action != ActNotify || len(p.Warnings) != 0 {
		t.Errorf("rules %v, warnings %v", p.Rules, p.Warnings)
	}
	if got := p.Files.Refusal(); got.Data != 1 {
		t.Errorf("Refusal() = %+v", got)
	}
	if got := (&Files{}).Refusal(); got.ErrnoName != "EACCES" || got.Data != 13 {
		t.Errorf("Refusal() of a block without errno = %+v, want EACCES", got)
	}
}

func dumpFiles(f *Files) string {
	if f == nil {
		return "<nil>"
	}
	var b strings.Builder
	b.WriteString(f.Pos.String() + " " + f.Errno.String() + " comment=" + f.Comment + " trailing=" + f.Trailing)
	for _, r := range f.Rules {
		b.WriteString("\n  " + r.Pos.String() + " " + r.String() + " comment=" + r.Comment + " trailing=" + r.Trailing)
		for _, p := range r.Paths {
			b.WriteString(" " + p.Pos.String())
		}
		if r.BlankBefore {
			b.WriteString(" blank")
		}
	}
	return b.String()
}

// Several files blocks, here one of them in an included file, make one.
func TestFilesBlocksJoin(t *testing.T) {
	fsys := fstest.MapFS{"base.policy": {Data: []byte("files {\n  read dir /usr\n}\n")}}
	p, err := Parse("app.policy", []byte("default allow\ninclude \"base.policy\"\nfiles errno(EPERM) {\n  read write /tmp\n}\n"+notifyOpens), ParseOptions{FS: fsys})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range p.Files.Rules {
		got = append(got, r.Pos.String()+" "+r.String())
	}
	want := []string{"base.policy:2:3 read dir /usr", "app.policy:4:3 read write /tmp"}
	if !reflect.DeepEqual(got, want) || p.Files.Errno.ErrnoName != "EPERM" {
		t.Errorf("rules %q, errno %s; want %q and EPERM", got, p.Files.Errno, want)
	}
}

func TestFilesErrors(t *testing.T) {
	cases := []struct {
		name, src string
		want      []string // "line:col: substring"
	}{
		{"relative path", "files {\nread \"etc\"\n}\n", []string{`2:6: path "etc" is relative: paths are absolute in the program's view of the file system, like "/etc"`}},
		{"word for a path", "files {\nread etc\n}\n", []string{`2:6: "etc" is neither a permission nor a path: paths are absolute, like /etc`}},
		{"relative with slash", "files {\nread etc/x\n}\n", []string{`2:6: "etc" is neither a permission nor a path`}},
		{"unknown permission", "files {\nraed /etc\n}\n", []string{`2:1: unknown permission "raed" (permissions are read, write, create, dir, nosymlinks and deny); did you mean "read"?`}},
		{"second unknown permission", "files {\nread wirte /etc\n}\n", []string{`2:6: unknown permission "wirte" (permissions are read, write, create, dir, nosymlinks and deny); did you mean "write"?`}},
		{"permission twice", "files {\nread read /etc\n}\n", []string{"2:6: read appears twice"}},
		{"no path", "files {\nread\n}\n", []string{"2:5: found end of line, expected the paths the rule covers"}},
		{"no permission", "files {\n/etc\n}\n", []string{"2:1: found path /etc, expected permissions (read, write, create, dir, nosymlinks or deny), then paths, or '}'"}},
		{"word after paths", "files {\nread /etc lib\n}\n", []string{`2:11: found "lib" after the paths: permissions go before them, and paths are absolute, like /lib`}},
		{"unclean", "files {\nread /etc/../x\n}\n", []string{`2:6: path "/etc/../x" is not clean: write "/x"`}},
		{"trailing slash", "files {\nread /etc/\n}\n", []string{`2:6: path "/etc/" is not clean: write "/etc"`}},
		{"proc", "files {\nread /proc/self\n}\n", []string{`2:6: path "/proc/self" is in /proc`}},
		{"empty path", "files {\nread \"\"\n}\n", []string{"2:6: empty path"}},
		{"too long", "files {\nread /" + strings.Repeat("a", 4096) + "\n}\n", []string{"2:6: path of 4097 bytes is longer than the kernel takes"}},
		{"duplicate", "files {\nread /a\nwrite /b /a\n}\n", []string{"3:10: /a already has a file rule at test.policy:3:6: merge the two"}},
		{"deny with more", "files {\ndeny read /a\n}\n", []string{"2:1: deny stands alone: it refuses every open beneath its paths; drop read"}},
		{"not errno", "files allow {\n}\n", []string{`1:7: found "allow", expected errno(NAME) or '{' after files`}},
		{"unknown errno", "files errno(EACESS) {\n}\n", []string{`1:1: errno EACESS is not defined on x86_64; did you mean "EACCES"`}},
		{"errno zero", "files errno(0) {\n}\n", []string{"1:1: files errno(0) would answer refused opens with 0"}},
		{"conflicting errno", "files errno(EPERM) {\n}\nfiles errno(EACCES) {\n}\n", []string{"3:1: conflicting files block: this says errno(EACCES), but the one at test.policy:2:1 says errno(EPERM); keep one"}},
		{"old errno line", "files {\nerrno EACCES\n}\n", []string{"2:1: the errno of refused opens goes on the files line, like `files errno(EACCES) {`"}},
		{"rule inside", "files {\nallow read\n}\n", []string{`2:1: found "allow" inside the files block opened at test.policy:2:1: close the block with a line holding '}' first`}},
		{"never closed", "files {\nread /a\n", []string{"1:1: this files block is never closed"}},
		{"missing brace", "files errno(EPERM)\n", []string{"1:19: found end of line, expected '{' to open the files block"}},
		{"inside only", "only arch x86_64 {\nfiles {\n}\n}\n", []string{"2:1: a files block cannot be inside an only/except block"}},
		{"not notified", "files {\nread /a\n}\n", []string{"1:1: the files block has no effect: no rule notifies open, openat, openat2, creat, so the broker never sees an open; add `notify open openat openat2 creat`"}},
		{"path elsewhere", "allow /usr\n", []string{"1:7: found path /usr, expected the syscalls"}},
		{"slash comment", "// allow everything\n", []string{"1:1: comments start with '#', not '//'"}},
		{"file rule outside", "read /usr\n", []string{"1:1: found \"read\", expected a rule or a header line: file rules such as `read /data` go inside a files block"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			src := "default allow\n" + c.src
			if c.name != "not notified" {
				src += notifyOpens
			}
			_, err := Parse("test.policy", []byte(src), ParseOptions{})
			if err == nil {
				t.Fatalf("no error for:\n%s", src)
			}
			msg := err.Error()
			for _, w := range c.want {
				// Lines count from the line after "default allow"
				// (positions inside the messages are written as
				// they are).
				line, rest, _ := strings.Cut(w, ":")
				n, _ := strconv.Atoi(line)
				w = strconv.Itoa(n+1) + ":" + rest
				if !strings.Contains(msg, "test.policy:"+w) {
					t.Errorf("error\n%s\ndoes not contain %q", msg, "test.policy:"+w)
				}
			}
			if n := strings.Count(msg, "\n") + 1; n > 2 {
				t.Errorf("%d errors for one mistake:\n%s", n, msg)
			}
		})
	}
}

// Validate checks a files block built in memory as Parse does.
func TestFilesValidate(t *testing.T) {
	p := &Policy{
		Default: ActAllow,
		Rules:   []*Rule{{Action: ActNotify, Syscalls: []Target{{Name: "openat"}}}},
		Files: &Files{Rules: []*FileRule{
			{Paths: []FilePath{{Path: "/a"}}},
			{Read: true, Paths: []FilePath{{Path: "b"}}},
			{Read: true},
		}},
	}
	err := p.Validate()
	if err == nil {
		t.Fatal("no error")
	}
	for _, w := range []string{"the file rule grants nothing", `path "b" is relative`, `the file rule "read" names no path`} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error\n%v\nlacks %q", err, w)
		}
	}
}

func TestFilesWarnings(t *testing.T) {
	cases := []struct {
		name, src string
		want      []string
	}{
		{"all notified", "default errno(EPERM)\nfiles {\nread /a\n}\n" + notifyOpens, nil},
		{"refused ones are fine", "default errno(EPERM)\nfiles {\nread /a\n}\nnotify openat openat2\nerrno(ENOSYS) open creat\n", nil},
		{"default allows the rest", "default allow\nfiles {\nread /a\n}\nnotify openat\n", []string{
			"test.policy:1:1: the default action allows open, openat2, creat on x86_64 without the file broker: those opens bypass the files block; notify them, or refuse them"}},
		{"an allow rule first", "default errno(EPERM)\nfiles {\nread /a\n}\nallow openat if flags == 0\n" + notifyOpens, []string{
			"test.policy:5:1: this rule allows openat on x86_64 without the file broker"}},
		{"conditional notify, then allow", "default errno(EPERM)\nfiles {\nread /a\n}\nnotify openat if flags == 0\nallow openat\nnotify open openat2 creat\n", []string{
			"test.policy:6:1: this rule allows openat on x86_64"}},
		{"i386 forms", "arch x86_64 i386\ndefault allow\nfiles {\nread /a\n}\nnotify x86_64:open x86_64:openat x86_64:openat2 x86_64:creat\n", []string{
			"test.policy:2:1: the default action allows open, openat, openat2, creat on i386"}},
		{"only arch", "arch x86_64 i386\ndefault allow\nfiles {\nread /a\n}\nonly arch i386 {\nnotify open openat openat2 creat\n}\nonly caps CAP_SYS_ADMIN {\nnotify open openat openat2 creat\n}\n", []string{
			"test.policy:2:1: the default action allows open, openat, openat2, creat on x86_64 without"}},
		{"allowed without a capability", "default errno(EPERM)\nfiles {\nread /a\n}\nexcept caps CAP_SYS_ADMIN {\nallow openat\n}\n" + notifyOpens, []string{
			"test.policy:6:1: this rule allows openat on x86_64"}},
		{"notified without files", "default allow\nnotify openat open\nnotify mkdir\n", []string{
			"test.policy:2:1: this rule notifies open, openat on x86_64, but the policy has no files block: without a handler of the supervisor's own, those opens fail with ENOSYS"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := mustParse(t, c.src)
			var got []string
			for _, w := range p.Warnings {
				got = append(got, w.String())
			}
			if len(got) != len(c.want) {
				t.Fatalf("warnings %q, want %d like %q", got, len(c.want), c.want)
			}
			for i, w := range c.want {
				if !strings.HasPrefix(got[i], w) {
					t.Errorf("warning %q, want it to start with %q", got[i], w)
				}
			}
		})
	}
}

func TestFormatFiles(t *testing.T) {
	long := "/srv/" + strings.Repeat("d", 30)
	src := "default allow\n" + notifyOpens + "files   errno(EPERM){\n# c\n  read   write /tmp \"/a b\" " + long + "1 " + long + "2 " + long + "3\n\n\n deny  /x/y#t\n}\n"
	want := `default allow
unknown errno(ENOSYS)
badarch kill_process

files errno(EPERM) {
    # c
    read write /tmp "/a b" ` + long + `1 \
        ` + long + `2 \
        ` + long + `3

    deny /x/y  # t
}

notify open openat openat2 creat
`
	if got := string(Format(mustParse(t, src))); got != want {
		t.Errorf("Format:\n%s\nwant:\n%s", got, want)
	}
	// A block without errno is written without one.
	p := mustParse(t, "default allow\nfiles {\n}\n"+notifyOpens)
	if got := string(Format(p)); !strings.Contains(got, "\nfiles {\n}\n") {
		t.Errorf("an empty block formats as\n%s", got)
	}
}
