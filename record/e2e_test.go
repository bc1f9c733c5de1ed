package record

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/syscage/syscage/compile"
	"github.com/syscage/syscage/internal/testenv"
	"github.com/syscage/syscage/policy"
	"github.com/syscage/syscage/sandbox"
)

// runCaged runs argv under the policy the way syscage run does (through
// the sandbox launcher) and returns its output and exit.
func runCaged(t *testing.T, p *policy.Policy, argv ...string) (string, *sandbox.Exit) {
	t.Helper()
	res, err := compile.Policy(p, compile.Options{})
	if err != nil {
		t.Fatalf("compile: %v\n%s", err, policy.Format(p))
	}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	c := &sandbox.Command{Path: argv[0], Args: argv, Filters: res.Filters, Stdout: w, Stderr: w}
	if err := c.Start(); err != nil {
		w.Close()
		t.Fatalf("start %v under the profile: %v", argv, err)
	}
	w.Close()
	var buf bytes.Buffer
	buf.ReadFrom(r)
	ex, err := c.Wait()
	if err != nil {
		t.Fatal(err)
	}
	return buf.String(), ex
}

// runPlain runs argv without a filter.
func runPlain(t *testing.T, argv ...string) string {
	t.Helper()
	out, err := exec.Command(argv[0], argv[1:]...).CombinedOutput()
	if err != nil {
		t.Fatalf("%v: %v\n%s", argv, err, out)
	}
	return string(out)
}

// reparse formats and parses a policy, as writing it to a file and
// reading it back would.
func reparse(t *testing.T, p *policy.Policy) *policy.Policy {
	t.Helper()
	text := policy.Format(p)
	q, err := policy.Parse("recorded.policy", text, policy.ParseOptions{})
	if err != nil {
		t.Fatalf("the recorded profile does not parse: %v\n%s", err, text)
	}
	return q
}

// TestRecordedProfilesRun records each program of the strace suite and
// runs it under its recorded profile: same output, same exit status.
func TestRecordedProfilesRun(t *testing.T) {
	needX86(t)
	testenv.NeedRoot(t)
	for _, tc := range straceCases() {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			argv := tc.argv(t, dir)
			rec := recordIt(t, BackendAuto, nil, argv...)
			p, err := Profile(rec, ProfileOptions{})
			if err != nil {
				t.Fatal(err)
			}
			want := runPlain(t, argv...)
			got, ex := runCaged(t, reparse(t, p), argv...)
			if ex.Code != 0 || ex.Violation != nil {
				t.Fatalf("under its profile: exit %d, violation %+v\noutput %q\nprofile:\n%s", ex.Code, ex.Violation, got, policy.Format(p))
			}
			if got != want {
				t.Errorf("output under the profile %q, want %q", got, want)
			}
			if tc.name == "daemon" {
				// The grandchild writes its file after its parents exit.
				daemonOut := filepath.Join(dir, "daemon.out")
				os.Remove(daemonOut)
				runCaged(t, reparse(t, p), argv...)
				if b := waitFile(daemonOut); b != "daemon done\n" {
					t.Errorf("the daemon under its profile wrote %q", b)
				}
			}
		})
	}
}

// waitFile waits up to two seconds for a file to have content.
func waitFile(path string) string {
	for range 40 {
		if b, err := os.ReadFile(path); err == nil && len(b) > 0 {
			return string(b)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return ""
}

// TestComplainThenFrom records a program, runs a variant that needs one
// more syscall under the profile in complain mode, checks that the report
// names exactly that syscall, extends the profile from a recording of the
// variant, and runs the variant under the extended profile.
func TestComplainThenFrom(t *testing.T) {
	needX86(t)
	testenv.NeedRoot(t)
	prog := testProgram(t, "needs")
	rec := recordIt(t, BackendAuto, nil, prog)
	if rec.Lookup("x86_64", "sysinfo") != nil {
		t.Fatal("the first run already made sysinfo")
	}
	prof, err := Profile(rec, ProfileOptions{})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "needs.policy")
	if err := os.WriteFile(path, policy.Format(prof), 0o644); err != nil {
		t.Fatal(err)
	}
	base := reparse(t, prof)

	// The variant fails under the profile (sysinfo gets EPERM)...
	if out, ex := runCaged(t, base, prog, "more"); ex.Code == 0 {
		t.Fatalf("the variant passed under a profile without sysinfo: %q", out)
	}
	// ...and complain mode names the call.
	w, err := WatchComplaints()
	if err != nil {
		testenv.Unavailable(t, "complain mode needs the kernel log: %v", err)
	}
	res, err := compile.Policy(sandbox.Complain(base), compile.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	r, wp, _ := os.Pipe()
	c := &sandbox.Command{Path: prog, Args: []string{prog, "more"}, Filters: res.Filters, Stdout: wp, Stderr: wp}
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	w.Track(c.Pid())
	wp.Close()
	out.ReadFrom(r)
	ex, err := c.Wait()
	if err != nil {
		t.Fatal(err)
	}
	rep := w.Stop()
	var report strings.Builder
	rep.Write(&report)
	if ex.Code != 0 {
		t.Fatalf("complain mode denied something: exit %d, output %q", ex.Code, out.String())
	}
	if !rep.Complete() {
		t.Logf("records were lost, the report may be short:\n%s", report.String())
	}
	var names []string
	for _, d := range rep.Denied {
		names = append(names, d.Arch+":"+d.Syscall)
		if !d.Logged || d.Count < 1 || !slices.Contains(d.Pids, c.Pid()) {
			t.Errorf("denial %+v: want a logged call of pid %d", d, c.Pid())
		}
	}
	if strings.Join(names, ",") != "x86_64:sysinfo" {
		t.Errorf("complain mode reported %v, want [x86_64:sysinfo]\n%s", names, report.String())
	}

	// record --from: the recording of the variant extends the profile.
	src, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	syntax, err := policy.Parse(path, src, policy.ParseOptions{SyntaxOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	rec2, err := Record(context.Background(), Options{Path: prog, Args: []string{prog, "more"}, Policy: base, Stdout: devNull(t)})
	if err != nil {
		t.Fatal(err)
	}
	ext, err := Extend(syntax, base, rec2, ExtendOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var added []string
	for _, r := range ext.Added {
		added = append(added, policy.FormatRule(r))
	}
	if strings.Join(added, ";") != "allow sysinfo" {
		t.Errorf("--from added %q, want [allow sysinfo]", added)
	}
	text := string(policy.Format(ext.Policy))
	if !strings.HasPrefix(text, string(src[:strings.Index(string(src), "\n\n")])) {
		t.Errorf("the extended profile lost its head:\n%s", text)
	}
	got, ex2 := runCaged(t, reparse(t, ext.Policy), prog, "more")
	if want := runPlain(t, prog, "more"); ex2.Code != 0 || got != want {
		t.Errorf("the variant under the extended profile: exit %d, output %q, want %q", ex2.Code, got, want)
	}
}
