package record

import (
	"os"
	"path/filepath"
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

// TestExtendNewArchKeepsRulesValid: when the run entered an architecture
// the profile did not accept, the profile's rules apply there too, except
// those that cannot be written there (mmap's prot on i386, where mmap
// takes a pointer): they exclude it and keep deciding as before where
// they did. The result parses; a rule from an included file that cannot
// apply is an error, not a profile that does not parse.
func TestExtendNewArchKeepsRulesValid(t *testing.T) {
	if n := arch.Native(); n == nil || n.Name != "x86_64" {
		t.Skip("the i386 entry point is an x86_64 matter")
	}
	const src = "default errno(EPERM)\nallow read execve\nallow mmap if prot == PROT_READ  # the loader\nallow newfstatat\n"
	rec := syntheticRecording(t, []string{"read", "i386:getpid", "i386:mmap"})
	base, err := policy.Parse("p.policy", []byte(src), policy.ParseOptions{SyntaxOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	ext, err := Extend(base, nil, rec, ExtendOptions{})
	if err != nil {
		t.Fatal(err)
	}
	out := policy.Format(ext.Policy)
	again, err := policy.Parse("p.policy", out, policy.ParseOptions{})
	if err != nil {
		t.Fatalf("the extended profile does not parse: %v\n%s", err, out)
	}
	var excepted []string
	for _, r := range ext.Excepted {
		excepted = append(excepted, policy.FormatRule(r))
	}
	if want := "allow mmap if prot == PROT_READ"; strings.Join(excepted, ";") != want {
		t.Errorf("excepted %q, want [%s]", excepted, want)
	}
	if !strings.Contains(string(out), "except arch i386 {\n    allow mmap if prot == PROT_READ  # the loader\n}") {
		t.Errorf("the mmap rule is not excepted on i386, with its comment:\n%s", out)
	}
	x86, _ := arch.ByName("x86_64")
	i386, _ := arch.ByName("i386")
	cases := []struct {
		a    *arch.Arch
		name string
		args [6]uint64
		want policy.ActionKind
	}{
		{x86, "mmap", [6]uint64{2: constOf(t, "PROT_READ")}, policy.Allow},
		{x86, "mmap", [6]uint64{2: constOf(t, "PROT_READ") | constOf(t, "PROT_EXEC")}, policy.Errno},
		{x86, "newfstatat", [6]uint64{}, policy.Allow},
		{i386, "mmap", [6]uint64{}, policy.Allow}, // added for the run
		{i386, "getpid", [6]uint64{}, policy.Allow},
		{i386, "read", [6]uint64{}, policy.Allow}, // the base's rule applies there too
		{i386, "mprotect", [6]uint64{}, policy.Errno},
	}
	for _, c := range cases {
		nr, _ := c.a.Lookup(c.name)
		d, err := policy.Evaluate(again, policy.Input{AuditArch: c.a.AuditArch, Nr: uint32(nr), Args: c.args}, policy.Env{})
		if err != nil {
			t.Fatal(err)
		}
		if d.Action.Kind != c.want {
			t.Errorf("%s:%s %v: %s, want %v\n%s", c.a.Name, c.name, c.args, d.Action, c.want, out)
		}
	}

	// The same rule in an included file cannot be changed: an error.
	dir := t.TempDir()
	inc := filepath.Join(dir, "base.policy")
	if err := os.WriteFile(inc, []byte("allow mmap if prot == PROT_READ\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	top := filepath.Join(dir, "top.policy")
	topSrc := []byte("default errno(EPERM)\ninclude \"base.policy\"\nallow read\n")
	syntax, err := policy.Parse(top, topSrc, policy.ParseOptions{SyntaxOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	eval, err := policy.Parse(top, topSrc, policy.ParseOptions{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = Extend(syntax, eval, rec, ExtendOptions{})
	if err == nil || !strings.Contains(err.Error(), "base.policy:1") || !strings.Contains(err.Error(), "i386") {
		t.Errorf("error %v, want one naming the included rule and i386", err)
	}
}
