package sandbox

import (
	"strings"
	"testing"
)

// TestSelf filters a child copy of the test binary with SelfPolicy and
// checks every thread, old and new.
func TestSelf(t *testing.T) {
	needSeccomp(t)
	cmd := helperCommand(t, probeEnv+"=self")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if !strings.Contains(string(out), "threads: [42 42 42 42 42 42]\n") {
		t.Errorf("not every thread is filtered:\n%s", out)
	}
	n := 0
	for _, line := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(line, "task:") {
			n++
			if line != "task: NoNewPrivs: 1 Seccomp: 2" {
				t.Errorf("unfiltered thread: %q", line)
			}
		}
	}
	if n < 2 {
		t.Errorf("saw %d threads:\n%s", n, out)
	}
}
