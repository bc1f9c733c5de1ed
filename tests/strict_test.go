package tests

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/syscage/syscage/internal/testenv"
)

// TestStrictStaticProgram runs a static C program with stdio and threads
// under the strict profile (it must run as it does bare), and shows the
// profile still kills what a compute-only program has no business doing.
func TestStrictStaticProgram(t *testing.T) {
	gcc := testenv.NeedCommand(t, "gcc")
	dir := t.TempDir()
	prog := filepath.Join(dir, "static")
	src := filepath.Join(repoRoot(), "tests", "testdata", "static.c")
	if out, err := exec.Command(gcc, "-static", "-O1", "-pthread", "-o", prog, src).CombinedOutput(); err != nil {
		testenv.Unavailable(t, "gcc -static (the static C library is needed): %v\n%s", err, out)
	}
	input := filepath.Join(dir, "input")
	writeFile(t, input, "1000\n")
	cmd := "exec " + prog + " < " + input
	bare := run(t, dir, nil, "sh", "-c", cmd)
	if bare.code != 0 || bare.stdout == "" {
		t.Fatalf("the program fails bare: status %d, %q %q", bare.code, bare.stdout, bare.stderr)
	}
	// The shell redirects and execs the program; syscage run then
	// starts it under strict (the shell itself is not filtered).
	cage := run(t, dir, nil, "sh", "-c", "exec "+syscage(t)+" run --profile strict -- "+prog+" < "+input)
	if cage.code != 0 || cage.stdout != bare.stdout {
		t.Errorf("under strict: status %d, stdout %q, stderr %q; bare: %q", cage.code, cage.stdout, cage.stderr, bare.stdout)
	}
	// What strict refuses: a new process, a file opened.
	for _, c := range []struct{ arg, syscall string }{
		{"fork", "(clone)"},
		{"open", "(openat)"},
	} {
		r := run(t, dir, nil, "sh", "-c", "exec "+syscage(t)+" run --profile strict -- "+prog+" "+c.arg+" < "+input)
		if r.code != 128+31 || r.stdout != bare.stdout || !strings.Contains(r.stderr, c.syscall) || !strings.Contains(r.stderr, "strict profile") {
			t.Errorf("%s under strict: status %d, stdout %q, stderr %q; want its output, then a kill by seccomp at %s", c.arg, r.code, r.stdout, r.stderr, c.syscall)
		}
	}
}
