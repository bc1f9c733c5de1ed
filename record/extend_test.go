package record

import (
	"strings"
	"testing"
	"time"

	"github.com/syscage/syscage/arch"
	"github.com/syscage/syscage/policy"
)

func nrOf(t *testing.T, archName, name string) int {
	t.Helper()
	a, err := arch.ByName(archName)
	if err != nil {
		t.Fatal(err)
	}
	nr, ok := a.Lookup(name)
	if !ok {
		t.Fatalf("no %s on %s", name, archName)
	}
	return nr
}

func constOf(t *testing.T, name string) uint64 {
	t.Helper()
	v, ok := arch.Native().Constant(name)
	if !ok {
		t.Fatalf("no constant %s", name)
	}
	return v
}

// syntheticRecording builds a recording of x86_64 calls: "name" or
// "name:COUNT", plus socket calls for the families given.
func syntheticRecording(t *testing.T, calls []string, families ...string) *Recording {
	t.Helper()
	c := newCollector()
	a := arch.Native()
	for _, spec := range calls {
		archName, name := a.Name, spec
		if an, n, ok := strings.Cut(spec, ":"); ok {
			archName, name = an, n
		}
		ab, _ := arch.ByName(archName)
		c.add(ab, nrOf(t, archName, name), [6]uint64{}, 1)
	}
	for _, f := range families {
		c.add(a, nrOf(t, a.Name, "socket"), [6]uint64{constOf(t, f), constOf(t, "SOCK_STREAM")}, 2)
	}
	return &Recording{Command: []string{"/usr/bin/prog", "--flag"}, Syscalls: c.syscalls()}
}

const extendBase = `# web: hand-written profile.
# Reviewed by the team.
default errno(EPERM)

# basics
allow read write close execve   # I/O
allow socket if family == AF_UNIX
errno(EACCES) ptrace    # never
# end of file
`

func TestExtend(t *testing.T) {
	tests := []struct {
		name      string
		rec       *Recording
		wantAdded []string // FormatRule of each added rule
		wantOver  []string // syscalls a base rule denies
		wantArch  []string
	}{
		{
			name:      "nothing new",
			rec:       syntheticRecording(t, []string{"read", "write", "execve"}, "AF_UNIX"),
			wantAdded: nil,
		},
		{
			name:      "one more syscall",
			rec:       syntheticRecording(t, []string{"read", "sysinfo", "execve"}),
			wantAdded: []string{"allow sysinfo"},
		},
		{
			name:      "another socket family is added after the author's rule",
			rec:       syntheticRecording(t, []string{"read"}, "AF_UNIX", "AF_INET"),
			wantAdded: []string{"allow socket if family == AF_INET && type == SOCK_STREAM && protocol == 0"},
		},
		{
			name:      "a denying rule of the author is kept and reported",
			rec:       syntheticRecording(t, []string{"ptrace", "getpid"}),
			wantAdded: []string{"allow getpid"},
			wantOver:  []string{"ptrace"},
		},
		{
			name:      "a new architecture",
			rec:       syntheticRecording(t, []string{"read", "i386:getpid"}),
			wantAdded: []string{"allow getpid"},
			wantArch:  []string{"i386"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			base, err := policy.Parse("web.policy", []byte(extendBase), policy.ParseOptions{SyntaxOnly: true})
			if err != nil {
				t.Fatal(err)
			}
			eval, err := policy.Parse("web.policy", []byte(extendBase), policy.ParseOptions{})
			if err != nil {
				t.Fatal(err)
			}
			ext, err := Extend(base, eval, tc.rec, ExtendOptions{Now: time.Date(2025, 1, 2, 0, 0, 0, 0, time.UTC)})
			if err != nil {
				t.Fatal(err)
			}
			var added []string
			for _, r := range ext.Added {
				added = append(added, policy.FormatRule(r))
			}
			if strings.Join(added, "\n") != strings.Join(tc.wantAdded, "\n") {
				t.Errorf("added:\n%s\nwant:\n%s", strings.Join(added, "\n"), strings.Join(tc.wantAdded, "\n"))
			}
			var over []string
			for _, o := range ext.Overruled {
				over = append(over, o.Syscall)
				if o.Rule == nil || !o.Rule.Pos.IsValid() {
					t.Errorf("overruled %s without the rule's position", o.Syscall)
				}
			}
			if strings.Join(over, ",") != strings.Join(tc.wantOver, ",") {
				t.Errorf("overruled %v, want %v", over, tc.wantOver)
			}
			if strings.Join(ext.AddedArches, ",") != strings.Join(tc.wantArch, ",") {
				t.Errorf("added arches %v, want %v", ext.AddedArches, tc.wantArch)
			}

			out := policy.Format(ext.Policy)
			// The author's text comes through unchanged, in order, and
			// the added rules come after it in the marked block.
			for _, keep := range []string{"# web: hand-written profile.\n# Reviewed by the team.", "# basics\nallow read write close execve  # I/O",
				"allow socket if family == AF_UNIX", "errno(EACCES) ptrace  # never", "# end of file"} {
				if !strings.Contains(string(out), keep) {
					t.Errorf("output lost %q:\n%s", keep, out)
				}
			}
			if len(tc.wantAdded) > 0 {
				i := strings.Index(string(out), ExtendMarker)
				j := strings.Index(string(out), "errno(EACCES) ptrace")
				if i < 0 || i < j || !strings.Contains(string(out), "/usr/bin/prog --flag") {
					t.Errorf("no marked block after the author's rules:\n%s", out)
				}
			} else if strings.Contains(string(out), ExtendMarker) {
				t.Errorf("marker without rules:\n%s", out)
			}
			// Every recorded call not overruled is now allowed.
			again, err := policy.Parse("web.policy", out, policy.ParseOptions{})
			if err != nil {
				t.Fatalf("extended policy does not parse: %v\n%s", err, out)
			}
			for _, s := range tc.rec.Syscalls {
				a, _ := arch.ByName(s.Arch)
				samples := s.Args
				if len(samples) == 0 {
					samples = []ArgSample{{}}
				}
				for _, smp := range samples {
					d, err := policy.Evaluate(again, policy.Input{AuditArch: a.AuditArch, Nr: uint32(s.Nr), Args: smp.Values}, policy.Env{})
					if err != nil {
						t.Fatal(err)
					}
					if d.Action.Kind != policy.Allow && !contains(tc.wantOver, s.Name) {
						t.Errorf("%s %v still %s (%s)", s, smp.Values, d.Action, d.Reason)
					}
				}
			}
		})
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
