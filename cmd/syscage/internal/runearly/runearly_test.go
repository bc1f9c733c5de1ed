package runearly

import (
	"strings"
	"testing"
)

func TestStartsSupervisedRun(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want bool
	}{
		{[]string{"run", "--", "true"}, true},
		{[]string{"run", "--profile", "strict", "--", "true"}, true},
		{[]string{"run", "true"}, true},
		{[]string{"run"}, true},
		{[]string{"run", "--exec", "--", "true"}, false},
		{[]string{"run", "--profile=default", "--exec=true", "--", "true"}, false},
		// After the options, --exec is the program's.
		{[]string{"run", "--", "prog", "--exec"}, true},
		{[]string{"run", "prog", "--exec"}, true},
		{[]string{"record", "--", "true"}, false},
		{[]string{"--help"}, false},
		{nil, false},
	} {
		if got := StartsSupervisedRun(tc.args); got != tc.want {
			t.Errorf("%q: %v, want %v", tc.args, got, tc.want)
		}
	}
}

// FuzzStartsSupervisedRun feeds arbitrary command lines: it never
// panics, says yes only for run, and never for run --exec given first.
func FuzzStartsSupervisedRun(f *testing.F) {
	f.Add("run\x00--\x00sh")
	f.Add("run\x00--exec\x00sh")
	f.Fuzz(func(t *testing.T, line string) {
		args := strings.Split(line, "\x00")
		got := StartsSupervisedRun(args)
		if got && args[0] != "run" {
			t.Errorf("%q: yes for a command other than run", args)
		}
		if got && len(args) > 1 && args[1] == "--exec" {
			t.Errorf("%q: yes with --exec", args)
		}
	})
}
