package main

import (
	"bytes"
	"errors"
	"strings"
	"testing"
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
