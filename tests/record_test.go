package tests

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/syscage/syscage/internal/testenv"
)

// TestRecordCorpus learns a profile for every program of the corpus with
// `syscage record` and runs the program under it with `syscage run
// --profile`: the recorded profile, as written to its file, must start
// the program on the first try and give the same output and status as a
// bare run. The recording's stdout is a pipe, as in the runs compared
// (programs take other paths when it is a file or /dev/null).
func TestRecordCorpus(t *testing.T) {
	sc := syscage(t)
	testenv.NeedRoot(t) // the fast backend, and the corpus's git and go build as root
	for _, c := range corpus {
		t.Run(c.name, func(t *testing.T) {
			for _, tool := range c.tools {
				testenv.NeedCommand(t, tool)
			}
			prof := filepath.Join(t.TempDir(), "recorded.policy")
			fresh := func() string {
				dir := t.TempDir()
				if c.setup != nil {
					c.setup(t, dir)
				}
				return dir
			}
			bare := run(t, fresh(), c.env, c.argv...)
			if bare.code != 0 {
				t.Fatalf("the program fails even without syscage (status %d): %s", bare.code, bare.stderr)
			}
			rec := run(t, fresh(), c.env, append([]string{sc, "record", "-q", "-o", prof, "--"}, c.argv...)...)
			if rec.code != 0 || rec.stdout != bare.stdout {
				t.Fatalf("differs under syscage record: status %d, stdout %q, stderr %q; bare: stdout %q", rec.code, rec.stdout, rec.stderr, bare.stdout)
			}
			text, err := os.ReadFile(prof)
			if err != nil {
				t.Fatalf("no profile written: %v", err)
			}
			if !strings.Contains(string(text), "default errno(EPERM)") || strings.Contains(string(text), "\nallow all") {
				t.Fatalf("not an allow-list:\n%s", text)
			}
			cage := caged(t, fresh(), c.env, []string{"--profile", prof}, c.argv...)
			if cage.code != bare.code || cage.stdout != bare.stdout || cage.stderr != bare.stderr {
				t.Errorf("differs under its recorded profile:\nbare:  status %d\nstdout %q\nstderr %q\ncaged: status %d\nstdout %q\nstderr %q\nprofile:\n%s",
					bare.code, bare.stdout, bare.stderr, cage.code, cage.stdout, cage.stderr, text)
			}
		})
	}
}
