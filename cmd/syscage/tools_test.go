package main

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/syscage/syscage/arch"
	"github.com/syscage/syscage/bpf"
	"github.com/syscage/syscage/policy"
)

// runToolCLI runs `syscage ARGS...` in-process with the given standard
// input and returns stdout, the error text and the exit code runMain would
// produce.
func runToolCLI(t *testing.T, stdin string, args ...string) (string, string, int) {
	t.Helper()
	out, errOut, code, err := execCLI(t, []byte(stdin), args...)
	if err != nil {
		var ee *exitError
		if !errors.As(err, &ee) {
			errOut.WriteString(err.Error())
		} else if ee.err != nil {
			errOut.WriteString(ee.err.Error())
		}
	}
	return out.String(), errOut.String(), code
}

// writeToolFiles writes name -> content into a temporary directory and returns
// the directory.
func writeToolFiles(t *testing.T, m map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range m {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

const (
	cleanPolicy = `arch x86_64
default kill_process
allow execve read write close exit_group
errno(ENOSYS) clone3
`
	pitfallPolicy = `arch x86_64
default errno(EPERM)
allow execve read write
allow ptrace
errno(EPERM) clone3
allow socket if family == 1 && family == 2
`
	ociProfile = `{
	"defaultAction": "SCMP_ACT_ERRNO",
	"architectures": ["SCMP_ARCH_X86_64"],
	"syscalls": [
		{"names": ["execve", "read", "write", "close", "exit_group"], "action": "SCMP_ACT_ALLOW"},
		{"names": ["bpf"], "action": "SCMP_ACT_ALLOW"}
	]
}
`
)

func TestCheckCommand(t *testing.T) {
	dir := writeToolFiles(t, map[string]string{
		"clean.policy":   cleanPolicy,
		"pitfall.policy": pitfallPolicy,
		"profile.json":   ociProfile,
		"broken.policy":  "arch x86_64\ndefault errno(EPERM)\nalow read\n",
	})
	p := func(n string) string { return filepath.Join(dir, n) }
	tests := []struct {
		args []string
		code int
		out  []string
		err  []string
	}{
		{[]string{"check", p("clean.policy")}, exitOK, []string{"no findings in 1 file"}, nil},
		{[]string{"check", p("pitfall.policy")}, exitNegative,
			[]string{"pitfall.policy:4:1: warning: ptrace is allowed", "[ptrace-allowed]", "pitfall.policy:5:1: error: clone3 gets errno(EPERM)",
				"pitfall.policy:6:17: warning: the condition", "fix: "}, nil},
		{[]string{"check", "--disable", "ptrace-allowed,fallback-errno,never-matches", p("pitfall.policy")}, exitOK, []string{"no findings"}, nil},
		{[]string{"check", p("profile.json")}, exitNegative, []string{"profile.json:6:3: warning: bpf is allowed"}, nil},
		{[]string{"check", p("broken.policy")}, exitUsage, nil, []string{"broken.policy:3:1", `"allow"`}},
		{[]string{"check", "--disable", "nosuch", p("clean.policy")}, exitUsage, nil, []string{`--disable: unknown check "nosuch"`}},
		{[]string{"check", p("missing.policy")}, exitUsage, nil, []string{"missing.policy"}},
		{[]string{"check"}, exitUsage, nil, []string{"name the policy files"}},
		{[]string{"check", "--list"}, exitOK, []string{"no-arch-check", "fallback-errno", "shadowed-rule"}, nil},
		{[]string{"check", "--caps", "CAP_NOPE", p("clean.policy")}, exitUsage, nil, []string{"unknown capability"}},
	}
	for _, tt := range tests {
		out, errText, code := runToolCLI(t, "", tt.args...)
		if code != tt.code {
			t.Errorf("%v: exit %d, want %d\n%s%s", tt.args, code, tt.code, out, errText)
		}
		for _, w := range tt.out {
			if !strings.Contains(out, w) {
				t.Errorf("%v: output lacks %q:\n%s", tt.args, w, out)
			}
		}
		for _, w := range tt.err {
			if !strings.Contains(errText, w) {
				t.Errorf("%v: error lacks %q:\n%s", tt.args, w, errText)
			}
		}
	}
}

func TestCheckJSONAndStdin(t *testing.T) {
	out, _, code := runToolCLI(t, pitfallPolicy, "check", "--json", "-")
	if code != exitNegative {
		t.Fatalf("exit %d", code)
	}
	var fs []findingJSON
	if err := json.Unmarshal([]byte(out), &fs); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	found := false
	for _, f := range fs {
		if f.Check == "ptrace-allowed" && f.File == "<stdin>" && f.Line == 4 && f.Col == 1 && f.Severity == "warning" && f.Fix != "" {
			found = true
		}
		if f.Insn != nil {
			t.Errorf("policy finding with an instruction: %+v", f)
		}
	}
	if !found {
		t.Errorf("no ptrace-allowed finding at <stdin>:4:1 in %s", out)
	}
}

func TestCheckBPF(t *testing.T) {
	prog, err := bpf.Assemble("A = nr\nif (A == 101) goto deny\nreturn ALLOW\ndeny: return ERRNO(1)\n", arch.Names())
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	name := filepath.Join(dir, "f.bpf")
	if err := os.WriteFile(name, prog.Encode(binary.NativeEndian), 0o644); err != nil {
		t.Fatal(err)
	}
	out, errText, code := runToolCLI(t, "", "check", "--bpf", name)
	if code != exitNegative || !strings.Contains(out, "f.bpf: instruction 2: error: this path reads the syscall number") {
		t.Errorf("exit %d\n%s%s", code, out, errText)
	}
	// A file that is not a filter.
	if err := os.WriteFile(name, []byte("12345"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, errText, code := runToolCLI(t, "", "check", "--bpf", name); code != exitUsage {
		t.Errorf("truncated filter: exit %d (%s)", code, errText)
	}
}

func TestDiffCommand(t *testing.T) {
	dir := writeToolFiles(t, map[string]string{
		"a.policy":     "arch x86_64\ndefault errno(EPERM)\nallow execve read write close exit_group\nerrno(ENOSYS) clone3\n",
		"b.policy":     "arch x86_64\ndefault errno(EPERM)\nallow execve read write\nallow close exit_group\nerrno(38) clone3\n",
		"c.policy":     "arch x86_64\ndefault errno(EPERM)\nallow execve read write close exit_group\nallow socket if family == AF_INET\nerrno(ENOSYS) clone3\n",
		"profile.json": ociProfile,
	})
	p := func(n string) string { return filepath.Join(dir, n) }
	tests := []struct {
		args []string
		code int
		out  []string
	}{
		{[]string{"diff", p("a.policy"), p("b.policy")}, exitOK, []string{"decide every input alike"}},
		{[]string{"diff", p("a.policy"), p("c.policy")}, exitNegative,
			[]string{"A: " + p("a.policy"), "socket (41): 1 of 2 argument classes differ", "socket(family=AF_INET (2)): A errno(EPERM) (default), B allow (line 4)"}},
		{[]string{"diff", p("profile.json"), p("a.policy")}, exitNegative,
			[]string{"bpf: A allow (line 6)", "clone3: A errno(EPERM) (default), B errno(ENOSYS) (line 4)"}},
		{[]string{"diff", p("a.policy")}, exitUsage, nil},
	}
	for _, tt := range tests {
		out, errText, code := runToolCLI(t, "", tt.args...)
		if code != tt.code {
			t.Errorf("%v: exit %d, want %d\n%s%s", tt.args, code, tt.code, out, errText)
		}
		for _, w := range tt.out {
			if !strings.Contains(out, w) {
				t.Errorf("%v: output lacks %q:\n%s", tt.args, w, out)
			}
		}
	}
	out, _, code := runToolCLI(t, "", "diff", "--json", p("a.policy"), p("c.policy"))
	var rep struct {
		Same  bool `json:"same"`
		Diffs []struct {
			Syscall  string `json:"syscall"`
			Examples []struct {
				Args [6]uint64 `json:"args"`
				A    struct{ Action string }
				B    struct{ Action string }
			} `json:"examples"`
		} `json:"diffs"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil || code != exitNegative {
		t.Fatalf("exit %d, %v\n%s", code, err, out)
	}
	if rep.Same || len(rep.Diffs) != 1 || rep.Diffs[0].Syscall != "socket" || rep.Diffs[0].Examples[0].Args[0] != 2 ||
		rep.Diffs[0].Examples[0].B.Action != "allow" {
		t.Errorf("JSON report %+v", rep)
	}
}

func TestTestCommand(t *testing.T) {
	dir := writeToolFiles(t, map[string]string{
		"p.policy":  "arch x86_64 i386\ndefault errno(EPERM)\nallow execve read write\nallow socket if family == AF_INET\nkill_process ptrace\n",
		"ok.cases":  "# all pass\nx86_64 socket AF_INET SOCK_STREAM 0 -> allow\ni386 ptrace -> kill_process\nx86_64 socket family=AF_INET6 -> errno(EPERM)\narm read -> kill_process\n",
		"bad.cases": "x86_64 socket AF_INET6 -> allow\nx86_64 read -> allow\n",
		"syn.cases": "x86_64 read -> allow\nx86_64 raed -> allow\nx86_64 read -> alow\n",
	})
	p := func(n string) string { return filepath.Join(dir, n) }
	tests := []struct {
		args []string
		code int
		out  []string
		err  []string
	}{
		{[]string{"test", p("p.policy"), p("ok.cases")}, exitOK, []string{"4 passed, 0 failed"}, nil},
		{[]string{"test", "-v", p("p.policy"), p("ok.cases")}, exitOK, []string{"ok.cases:2:1: ok   x86_64 socket"}, nil},
		{[]string{"test", p("p.policy"), p("bad.cases")}, exitNegative,
			[]string{"bad.cases:1:1: FAIL x86_64 socket AF_INET6 -> allow", "got errno(EPERM) (the default action)", "1 passed, 1 failed"}, nil},
		{[]string{"test", "--no-compile", p("p.policy"), p("bad.cases")}, exitNegative, []string{"1 passed, 1 failed"}, nil},
		{[]string{"test", p("p.policy"), p("syn.cases")}, exitUsage, nil, []string{"syn.cases:2:8", `"read"`, "syn.cases:3:16", `"allow"`}},
	}
	for _, tt := range tests {
		out, errText, code := runToolCLI(t, "", tt.args...)
		if code != tt.code {
			t.Errorf("%v: exit %d, want %d\n%s%s", tt.args, code, tt.code, out, errText)
		}
		for _, w := range tt.out {
			if !strings.Contains(out, w) {
				t.Errorf("%v: output lacks %q:\n%s", tt.args, w, out)
			}
		}
		for _, w := range tt.err {
			if !strings.Contains(errText, w) {
				t.Errorf("%v: error lacks %q:\n%s", tt.args, w, errText)
			}
		}
	}
	out, _, _ := runToolCLI(t, "", "test", "--json", p("p.policy"), p("bad.cases"))
	var rs []testCaseJSON
	if err := json.Unmarshal([]byte(out), &rs); err != nil || len(rs) != 2 || rs[0].Pass || !rs[1].Pass || rs[0].Filter != "errno(EPERM)" {
		t.Errorf("JSON %v: %s", err, out)
	}
}

func TestMergeCommand(t *testing.T) {
	dir := writeToolFiles(t, map[string]string{
		"r1.policy": "# run 1\narch x86_64\ndefault errno(EPERM)\n\n# I/O\nallow read write\nallow socket if family == AF_INET\n",
		"r2.policy": "arch x86_64\ndefault errno(EPERM)\nallow read close\nallow socket if family == AF_INET6\n",
		"r3.json":   ociProfile,
		"x.policy":  "arch x86_64\ndefault kill_process\n",
	})
	p := func(n string) string { return filepath.Join(dir, n) }
	out, errText, code := runToolCLI(t, "", "merge", p("r1.policy"), p("r2.policy"), p("r3.json"))
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errText)
	}
	for _, w := range []string{"# I/O", "allow socket if family == AF_INET || family == AF_INET6", "bpf"} {
		if !strings.Contains(out, w) {
			t.Errorf("union lacks %q:\n%s", w, out)
		}
	}
	// The union parses, and allows what each input allows.
	u, err := policy.Parse("u", []byte(out), policy.ParseOptions{})
	if err != nil {
		t.Fatal(err)
	}
	x86, _ := arch.ByName("x86_64")
	for _, name := range []string{"read", "write", "close", "bpf", "exit_group"} {
		nr, _ := x86.Lookup(name)
		d, _ := policy.Evaluate(u, policy.Input{AuditArch: x86.AuditArch, Nr: uint32(nr)}, policy.Env{})
		if d.Action.Kind != policy.Allow {
			t.Errorf("%s: %s in the union", name, d.Action)
		}
	}

	outFile := p("My_App.yaml")
	if _, errText, code := runToolCLI(t, "", "merge", "--format", "spo", "-o", outFile, p("r1.policy"), p("r2.policy")); code != exitOK {
		t.Fatalf("spo: exit %d: %s", code, errText)
	}
	data, _ := os.ReadFile(outFile)
	if !strings.Contains(string(data), "name: my-app") || !strings.Contains(string(data), "kind: SeccompProfile") {
		t.Errorf("spo output:\n%s", data)
	}
	if out, _, code := runToolCLI(t, "", "merge", "--format", "oci", p("r1.policy"), p("r2.policy")); code != exitOK || !strings.Contains(out, `"SCMP_ACT_ALLOW"`) {
		t.Errorf("oci: exit %d\n%s", code, out)
	}
	if _, errText, code := runToolCLI(t, "", "merge", p("r1.policy"), p("x.policy")); code != exitNegative || !strings.Contains(errText, "cannot merge") || !strings.Contains(errText, "default") {
		t.Errorf("conflict: exit %d: %s", code, errText)
	}
	if _, errText, code := runToolCLI(t, "", "merge", "--format", "yaml", p("r1.policy")); code != exitUsage || !strings.Contains(errText, "native, oci or spo") {
		t.Errorf("bad format: exit %d: %s", code, errText)
	}
}

// TestToolExitCodesViaRunMain runs the commands through runMain, as the
// binary does.
func TestToolExitCodesViaRunMain(t *testing.T) {
	dir := writeToolFiles(t, map[string]string{"clean.policy": cleanPolicy, "pitfall.policy": pitfallPolicy})
	tests := []struct {
		args []string
		code int
	}{
		{[]string{"check", filepath.Join(dir, "clean.policy")}, exitOK},
		{[]string{"check", filepath.Join(dir, "pitfall.policy")}, exitNegative},
		{[]string{"diff", filepath.Join(dir, "clean.policy"), filepath.Join(dir, "clean.policy")}, exitOK},
		{[]string{"diff", filepath.Join(dir, "clean.policy"), filepath.Join(dir, "pitfall.policy")}, exitNegative},
		{[]string{"merge", filepath.Join(dir, "clean.policy"), "-o", filepath.Join(dir, "out.policy")}, exitOK},
		{[]string{"test", filepath.Join(dir, "clean.policy")}, exitUsage},
	}
	// runMain writes to the process's standard output; send it nowhere.
	devnull, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer devnull.Close()
	stdout, stderr := os.Stdout, os.Stderr
	os.Stdout, os.Stderr = devnull, devnull
	defer func() { os.Stdout, os.Stderr = stdout, stderr }()
	for _, tt := range tests {
		if code := runMain(tt.args); code != tt.code {
			t.Errorf("%v: exit %d, want %d", tt.args, code, tt.code)
		}
	}
}
