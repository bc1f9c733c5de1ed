package main

import (
	"bytes"
	"errors"
	"regexp"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// TestCobraMessages: errors cobra produces itself (unknown commands,
// wrong argument counts) come out on one line that points to the help of
// the command at fault.
func TestCobraMessages(t *testing.T) {
	tests := []struct {
		args []string
		want []string
	}{
		{[]string{"fmtt"}, []string{`unknown command "fmtt" for "syscage"; did you mean "fmt"?`, "(see 'syscage --help')"}},
		{[]string{"xyzzy"}, []string{`unknown command "xyzzy"`, "(see 'syscage --help')"}},
		{[]string{"disasm"}, []string{"accepts 1 arg(s), received 0", "(see 'syscage disasm --help')"}},
		{[]string{"kernel", "extra"}, []string{`unknown command "extra" for "syscage kernel"`, "(see 'syscage kernel --help')"}},
	}
	for _, tt := range tests {
		root := newRoot()
		var out bytes.Buffer
		root.SetOut(&out)
		root.SetErr(&out)
		root.SetArgs(tt.args)
		cmd, err := root.ExecuteC()
		var ee *exitError
		if err == nil || errors.As(err, &ee) {
			t.Fatalf("%v: error %v, want one cobra produces", tt.args, err)
		}
		msg := cobraMessage(err, cmd)
		if strings.Contains(msg, "\n") {
			t.Errorf("%v: message on several lines: %q", tt.args, msg)
		}
		for _, w := range tt.want {
			if !strings.Contains(msg, w) {
				t.Errorf("%v: %q lacks %q", tt.args, msg, w)
			}
		}
	}
}

// TestSubcommandNames: every registered name is the name of the command
// it builds, so that newRootFor finds the command a user names.
func TestSubcommandNames(t *testing.T) {
	seen := map[string]bool{}
	for _, sc := range subcommands {
		if got := sc.mk().Name(); got != sc.name {
			t.Errorf("registered as %q, builds %q", sc.name, got)
		}
		if seen[sc.name] {
			t.Errorf("%q registered twice", sc.name)
		}
		seen[sc.name] = true
	}
	if len(seen) == 0 {
		t.Fatal("no subcommands registered")
	}
}

// TestRootForArgs: a root built for the command line at hand behaves as
// the one with every subcommand: same output, same error, same exit
// code, for each command's help, for bad flags and for the names and
// spellings that need the whole list (help, suggestions, completion).
func TestRootForArgs(t *testing.T) {
	cases := [][]string{
		{"--help"}, {"help"}, {"help", "run"}, {"-h", "run"}, {"fmtt"}, {"ru"}, {"xyzzy"},
		{"disasm"}, {"kernel", "extra"}, {"run", "--bogus"}, {"completion", "bash"},
		{"__complete", "ru"}, {"__complete", "run", "--pro"}, {"__complete", ""},
	}
	for _, sc := range subcommands {
		cases = append(cases, []string{sc.name, "--help"}, []string{sc.name, "--no-such-flag"})
	}
	run := func(root func() *cobra.Command, args []string) (string, string, int) {
		r := root()
		var out, errOut bytes.Buffer
		r.SetOut(&out)
		r.SetErr(&errOut)
		r.SetArgs(args)
		cmd, err := r.ExecuteC()
		msg := ""
		if err != nil {
			msg = cobraMessage(err, cmd)
		}
		return out.String() + errOut.String(), msg, exitCode(err)
	}
	for _, args := range cases {
		wantOut, wantMsg, wantCode := run(newRoot, args)
		gotOut, gotMsg, gotCode := run(func() *cobra.Command { return newRootFor(args) }, args)
		if gotOut != wantOut || gotMsg != wantMsg || gotCode != wantCode {
			t.Errorf("%q: built for the arguments: output %q, error %q, code %d; with every command: %q, %q, %d",
				args, gotOut, gotMsg, gotCode, wantOut, wantMsg, wantCode)
		}
	}
}

// k8sNameRE is the definition k8sName implements by hand.
var k8sNameRE = regexp.MustCompile(`[^a-z0-9.-]+`)

// TestK8sName: k8sName replaces each run of characters a Kubernetes name
// may not contain with one '-', exactly as the regular expression does.
func TestK8sName(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"web-server.v1", "web-server.v1"},
		{"my profile", "my-profile"},
		{"a__b  c", "a-b-c"},
		{"Upper", "-pper"},
		{"_lead", "-lead"},
		{"trail!", "trail-"},
		{"caf\u00e9 cr\u00e8me", "caf-cr-me"},
		{"bad\xffutf8", "bad-utf8"},
		{"\u65e5\u672c", "-"},
	}
	for _, tt := range tests {
		if got := k8sName(tt.in); got != tt.want {
			t.Errorf("k8sName(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if re := k8sNameRE.ReplaceAllString(tt.in, "-"); re != tt.want {
			t.Errorf("the expression turns %q into %q, the table says %q", tt.in, re, tt.want)
		}
	}
}

func FuzzK8sName(f *testing.F) {
	for _, s := range []string{"", "a b", "A_B.c-d", "caf\u00e9", "\xff\xfe", "x\u2028y"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := k8sName(s), k8sNameRE.ReplaceAllString(s, "-"); got != want {
			t.Errorf("k8sName(%q) = %q, the expression gives %q", s, got, want)
		}
	})
}
