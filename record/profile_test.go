package record

import (
	"strings"
	"syscall"
	"testing"

	"github.com/syscage/syscage/arch"
	"github.com/syscage/syscage/policy"
)

// TestProfileHead: the head comment says how the run went in words a
// person reads (singular and plural, the signal by name), and each
// architecture's block of a multi-arch profile is introduced by its
// heading, right above its opening line.
func TestProfileHead(t *testing.T) {
	native := arch.Native()
	if native == nil || native.Name != "x86_64" {
		t.Skip("the i386 entry point is an x86_64 matter")
	}
	cases := []struct {
		name       string
		procs, thr int
		exit       Exit
		want       []string
	}{
		{"one of each", 1, 1, Exit{Code: 0}, []string{"in 1 process (1 thread); exit status 0."}},
		{"many", 3, 5, Exit{Code: 2}, []string{"in 3 processes (5 threads); exit status 2."}},
		{"a crash", 1, 2, Exit{Code: 139, Signal: syscall.SIGSEGV}, []string{"in 1 process (2 threads); killed by signal 11 (SIGSEGV: segmentation fault)."}},
		{"a core", 2, 2, Exit{Code: 134, Signal: syscall.SIGABRT, CoreDumped: true}, []string{"killed by signal 6 (SIGABRT: aborted), core dumped."}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rec := &Recording{
				Command:   []string{"./prog"},
				Processes: c.procs, Threads: c.thr, Exit: c.exit,
				Syscalls: []*Syscall{
					{Arch: "x86_64", Name: "read", Nr: 0, Count: 4},
					{Arch: "i386", Name: "getpid", Nr: 20, Count: 1},
				},
			}
			p, err := Profile(rec, ProfileOptions{})
			if err != nil {
				t.Fatal(err)
			}
			text := string(policy.Format(p))
			for _, w := range c.want {
				if !strings.Contains(text, w) {
					t.Errorf("the profile lacks %q:\n%s", w, text)
				}
			}
			for _, a := range []string{"x86_64", "i386"} {
				heading := "# Syscalls made through the " + a + " entry point.\n"
				i := strings.Index(text, heading)
				j := strings.Index(text, "only arch "+a+" {")
				if i < 0 || j < i {
					t.Fatalf("no heading above the %s block:\n%s", a, text)
				}
				// The heading opens its section, after a blank line.
				if !strings.HasSuffix(text[:i], "\n\n") {
					t.Errorf("the %s heading does not open its section:\n%s", a, text)
				}
				// Between the heading and the block: only comment lines.
				for _, line := range strings.Split(strings.TrimSuffix(text[i:j], "\n"), "\n") {
					if !strings.HasPrefix(line, "#") {
						t.Errorf("%q between the %s heading and its block:\n%s", line, a, text)
					}
				}
				if k := strings.LastIndex(text[:j], "only arch"); k > i {
					t.Errorf("the %s heading is above another block:\n%s", a, text)
				}
			}
			if _, err := policy.Parse("p.policy", []byte(text), policy.ParseOptions{}); err != nil {
				t.Errorf("does not parse back: %v\n%s", err, text)
			}
		})
	}
}
