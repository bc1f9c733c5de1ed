package execerr

import (
	"errors"
	"os"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

func TestWhy(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		name, content string
		errno         unix.Errno
		want          string
	}{
		{"no #! line", "echo x\n", unix.ENOEXEC, "no #! line and not an ELF binary"},
		{"missing interpreter", "#!/no/such/sh\n", unix.ENOENT, "its #! interpreter /no/such/sh does not exist"},
		{"interpreter not executable", "#!/etc/passwd -x\n", unix.ENOEXEC, "its #! interpreter /etc/passwd cannot be executed"},
		{"empty #! line", "#!\n", unix.ENOEXEC, "its #! line names no interpreter"},
		{"blanks only", "#! \t \n", unix.ENOEXEC, "its #! line names no interpreter"},
		{"blanks before", "#! \t/no/such/sh -e\n", unix.ENOENT, "its #! interpreter /no/such/sh does not exist"},
		// A carriage return is part of the name, as the kernel reads it:
		// a script saved with DOS line ends.
		{"carriage return", "#!/bin/sh\r\n", unix.ENOENT, "its #! interpreter /bin/sh\r does not exist"},
		{"no newline", "#!/no/such/sh", unix.ENOENT, "its #! interpreter /no/such/sh does not exist"},
		{"ELF without loader", "\x7fELF....", unix.ENOENT, "dynamic loader, does not exist"},
		{"ELF of another machine", "\x7fELF....", unix.ENOEXEC, "another architecture"},
		{"other errno", "echo x\n", unix.EACCES, ""},
		{"ENOENT of a plain file", "echo x\n", unix.ENOENT, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := dir + "/" + strings.ReplaceAll(c.name, " ", "_")
			if err := os.WriteFile(p, []byte(c.content), 0o755); err != nil {
				t.Fatal(err)
			}
			got := Why(p, c.errno)
			if (c.want == "") != (got == "") || !strings.Contains(got, c.want) {
				t.Errorf("Why = %q, want %q", got, c.want)
			}
		})
	}
	if got := Why(dir+"/absent", unix.ENOENT); got != "" {
		t.Errorf("Why of a file that does not exist = %q, want \"\"", got)
	}
}

func TestStartError(t *testing.T) {
	for _, tc := range []struct {
		err  *StartError
		want string
	}{
		{&StartError{Code: 125, Msg: "no seccomp filter"}, "no seccomp filter"},
		{&StartError{Code: 127, Msg: "/x/prog", Errno: unix.ENOENT}, "/x/prog: no such file or directory"},
		{&StartError{Code: 127, Msg: "/x/script", Errno: unix.ENOENT, Why: "its #! interpreter /nope does not exist"},
			"/x/script: no such file or directory (its #! interpreter /nope does not exist)"},
	} {
		if got := tc.err.Error(); got != tc.want {
			t.Errorf("%+v: %q, want %q", tc.err, got, tc.want)
		}
		if tc.err.Errno != 0 && !errors.Is(tc.err, tc.err.Errno) {
			t.Errorf("%+v does not unwrap to its errno", tc.err)
		}
		if tc.err.Errno == 0 && tc.err.Unwrap() != nil {
			t.Errorf("%+v unwraps to %v without an errno", tc.err, tc.err.Unwrap())
		}
	}
}

// FuzzInterpreter checks the #! reading on any line: the name holds no
// separator the kernel splits at, and is the first word of the line.
func FuzzInterpreter(f *testing.F) {
	for _, s := range []string{"/bin/sh\n", " \t/usr/bin/env python3\n", "", "\t\t", "/bin/sh\r\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		got := interpreter(line)
		if strings.ContainsAny(got, " \t\n") {
			t.Fatalf("interpreter(%q) = %q holds a separator", line, got)
		}
		trimmed := strings.TrimLeft(string(line), " \t")
		if !strings.HasPrefix(trimmed, got) {
			t.Fatalf("interpreter(%q) = %q is not where the line starts", line, got)
		}
		if rest := trimmed[len(got):]; rest != "" && !strings.ContainsRune(" \t\n", rune(rest[0])) {
			t.Fatalf("interpreter(%q) = %q stops before a separator", line, got)
		}
	})
}
