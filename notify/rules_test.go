package notify

import (
	"reflect"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/syscage/syscage/policy"
)

// treePolicy is treeRules written as a policy's files block.
func treePolicy(t testing.TB, root string) *policy.Policy {
	t.Helper()
	q := func(p string) string { return strconv.Quote(root + p) }
	src := "default allow\n" +
		"files {\n" +
		"    read dir " + q("/ro") + "\n" +
		"    deny " + q("/ro/hidden") + "\n" +
		"    read write create " + q("/rw") + "\n" +
		"}\n" +
		"notify open openat openat2 creat\n"
	p, err := policy.Parse("tree.policy", []byte(src), policy.ParseOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// The broker's rules from a files block: one per path, with the place
// and text of each, and the block's errno.
func TestFileRulesOf(t *testing.T) {
	cases := []struct {
		name, files string
		want        FileRules
	}{
		{"tree", "files {\n    read dir /ro\n    deny /ro/hidden\n    read write create /rw\n}\n", FileRules{Rules: []FileRule{
			{Root: "/ro", Read: true, Dir: true, Source: "p.policy:3:14: read dir /ro"},
			{Root: "/ro/hidden", Deny: true, Source: "p.policy:4:10: deny /ro/hidden"},
			{Root: "/rw", Read: true, Write: true, Create: true, Source: "p.policy:5:23: read write create /rw"},
		}, DenyErrno: unix.EACCES}},
		{"errno and several paths", "files errno(EPERM) {\n    read nosymlinks /a \"/b c\"\n}\n", FileRules{Rules: []FileRule{
			{Root: "/a", Read: true, NoSymlinks: true, Source: "p.policy:3:21: read nosymlinks /a"},
			{Root: "/b c", Read: true, NoSymlinks: true, Source: "p.policy:3:24: read nosymlinks /b c"},
		}, DenyErrno: unix.EPERM}},
		{"errno by number", "files errno(2) {\n}\n", FileRules{DenyErrno: unix.ENOENT}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, err := policy.Parse("p.policy", []byte("default allow\n"+c.files+"notify open openat openat2 creat\n"), policy.ParseOptions{})
			if err != nil {
				t.Fatal(err)
			}
			got := FileRulesOf(p.Files)
			if !reflect.DeepEqual(got, c.want) {
				t.Errorf("FileRulesOf:\n got %+v\nwant %+v", got, c.want)
			}
			if err := got.Check(); err != nil {
				t.Errorf("Check: %v", err)
			}
		})
	}
	// The tree the broker tests use reads the same from a policy.
	got := FileRulesOf(treePolicy(t, "/t").Files)
	for i := range got.Rules {
		got.Rules[i].Source = ""
	}
	want := treeRules("/t")
	want.DenyErrno = unix.EACCES
	if !reflect.DeepEqual(got, want) {
		t.Errorf("treePolicy gives\n%+v\nwant\n%+v", got, want)
	}
}

// Rules built in Go are checked as a policy's paths are.
func TestFileRulesCheck(t *testing.T) {
	cases := []struct {
		rules FileRules
		want  string
	}{
		{FileRules{Rules: []FileRule{{Root: "etc", Read: true}}}, `file rule 1 (read etc): path "etc" is relative`},
		{FileRules{Rules: []FileRule{{Root: "/a/", Read: true, Source: "x:1:2: read /a/"}}}, `x:1:2: read /a/: path "/a/" is not clean: write "/a"`},
		{FileRules{Rules: []FileRule{{Root: "/proc/1", Read: true}}}, "is in /proc"},
		{FileRules{Rules: []FileRule{{Root: "/a", Read: true}, {Root: "/a", Write: true}}}, "file rule 2 (write /a): /a is already covered by file rule 1 (read /a)"},
		{FileRules{DenyErrno: 5000}, "deny errno 5000 is out of range"},
	}
	for _, c := range cases {
		err := c.rules.Check()
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: error %v, want %q", c.rules, err, c.want)
		}
		if _, err := NewBroker(c.rules); err == nil {
			t.Errorf("NewBroker(%+v) accepted the rules", c.rules)
		}
	}
}

func TestNewPolicyBrokerWithoutFiles(t *testing.T) {
	p, err := policy.Parse("bare.policy", []byte("default allow\n"), policy.ParseOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NewPolicyBroker(p); err == nil || !strings.Contains(err.Error(), "bare.policy has no files block") {
		t.Errorf("error %v, want one saying bare.policy has no files block", err)
	}
}
