package notify

import (
	"fmt"
	"reflect"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

func TestParseFileRules(t *testing.T) {
	src := `# rules for a web server
errno EPERM
read dir /usr /etc   # system files
read,write,create /var/lib/www
deny /etc/shadow
read nosymlinks "/srv/my data"
`
	got, err := ParseFileRules("www.files", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	want := FileRules{DenyErrno: unix.EPERM, Rules: []FileRule{
		{Root: "/usr", Read: true, Dir: true, Source: "www.files:3:10"},
		{Root: "/etc", Read: true, Dir: true, Source: "www.files:3:15"},
		{Root: "/var/lib/www", Read: true, Write: true, Create: true, Source: "www.files:4:19"},
		{Root: "/etc/shadow", Deny: true, Source: "www.files:5:6"},
		{Root: "/srv/my data", Read: true, NoSymlinks: true, Source: "www.files:6:17"},
	}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
}

func TestParseFileRulesErrors(t *testing.T) {
	cases := []struct{ src, want string }{
		{"raed /etc\n", `f:1:1: unknown permission "raed"; did you mean "read"?`},
		{"read etc\n", `f:1:6: "etc" is neither a permission nor an absolute path: roots start with /, like /etc`},
		{"read etc/x\n", `"etc/x" is neither a permission nor an absolute path`},
		{"etc/x\n", `"etc/x" is not an absolute path`},
		{"read\n", "f:1:5: the rule names no root"},
		{"read /etc/../x\n", `f:1:6: root "/etc/../x" is not clean: write "/x"`},
		{"read /proc/1\n", "in /proc"},
		{"read /a\nwrite /a\n", `f:2:7: root "/a" already has a rule at f:1:6`},
		{"deny read /a\n", "deny stands alone"},
		{"errno EWHAT\n", `f:1:7: unknown errno "EWHAT"`},
		{"errno 5000\n", "out of range"},
		{"errno EPERM\nerrno EACCES\n", "a second errno line (the first is line 1)"},
		{"read \"/a\n", "f:1:6: string not terminated"},
		{`read "/a\q"` + "\n", "malformed string"},
		{"\"/etc\"\n", `"/etc" is not a permission`},
	}
	for _, c := range cases {
		_, err := ParseFileRules("f", []byte(c.src))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: error %v, want it to contain %q", c.src, err, c.want)
		}
	}
}

func FuzzParseFileRules(f *testing.F) {
	for _, s := range []string{
		"errno EPERM\nread dir /usr /etc\nread,write,create /tmp\ndeny /etc/shadow\n",
		"read nosymlinks \"/srv/a b\" # c\n",
		"write /\n",
		"errno 13\ncreate \"/\\x01\"\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		r1, err := ParseFileRules("fuzz", []byte(src))
		if err != nil {
			if _, ok := err.(*RulesError); !ok {
				t.Fatalf("error of type %T: %v", err, err)
			}
			return
		}
		out := FormatFileRules(r1)
		r2, err := ParseFileRules("fuzz", out)
		if err != nil {
			t.Fatalf("formatted rules do not parse: %v\n%s", err, out)
		}
		for i := range r1.Rules {
			r1.Rules[i].Source = ""
		}
		for i := range r2.Rules {
			r2.Rules[i].Source = ""
		}
		if !reflect.DeepEqual(r1, r2) {
			t.Fatalf("round trip changed the rules\nsource: %q\nformatted:\n%s\nbefore %+v\nafter  %+v", src, out, r1, r2)
		}
	})
}

func ExampleParseFileRules() {
	rules, err := ParseFileRules("app.files", []byte("read dir /usr\nread,write,create /tmp\n"))
	if err != nil {
		panic(err)
	}
	b, err := NewBroker(rules)
	if err != nil {
		panic(err)
	}
	defer b.Close()
	// Serve(ctx, listener, b.Handlers(), Options{}) then answers the
	// notified open, openat, openat2 and creat of the target.
	_ = b.Handlers()
	fmt.Print(string(FormatFileRules(rules)))
	// Output:
	// read,dir /usr
	// read,write,create /tmp
}
