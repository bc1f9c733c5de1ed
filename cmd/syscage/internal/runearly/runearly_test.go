package runearly

import "testing"

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
