package main

import (
	"encoding/binary"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/syscage/syscage/arch"
	"github.com/syscage/syscage/bpf"
	"github.com/syscage/syscage/policy"
)

const compilePolicy = `arch x86_64 i386
default errno(EPERM)
allow read write close exit_group
allow mprotect if prot none PROT_EXEC
allow socket if family in {AF_UNIX, AF_INET, AF_INET6}
`

// checkDecodes runs a raw filter on some syscalls and compares it with
// policy.Evaluate.
func checkDecodes(t *testing.T, p *policy.Policy, filters []bpf.Program) {
	t.Helper()
	x86 := arch.Native()
	if x86 == nil || x86.Name != "x86_64" {
		x86, _ = arch.ByName("x86_64")
	}
	for _, call := range []struct {
		name string
		args [6]uint64
	}{{"read", [6]uint64{}}, {"openat", [6]uint64{}}, {"mprotect", [6]uint64{0, 0, 4}}, {"mprotect", [6]uint64{0, 0, 3}},
		{"socket", [6]uint64{2}}, {"socket", [6]uint64{16}}} {
		nr, _ := x86.Lookup(call.name)
		d := bpf.SeccompData{Nr: int32(nr), Arch: x86.AuditArch, Args: call.args}
		sr, err := bpf.RunStack(filters, &d, binary.LittleEndian)
		if err != nil {
			t.Fatal(err)
		}
		dec, err := policy.Evaluate(p, policy.Input{AuditArch: d.Arch, Nr: uint32(d.Nr), Args: d.Args}, policy.Env{})
		if err != nil {
			t.Fatal(err)
		}
		want, _ := dec.Action.Ret(x86)
		if sr.Action != want {
			t.Errorf("%s%v: filter says %s, policy %s", call.name, call.args, bpf.ActionString(sr.Action), bpf.ActionString(want))
		}
	}
}

func TestCompileBPF(t *testing.T) {
	dir := t.TempDir()
	src := writeTestFile(t, dir, "app.policy", compilePolicy, 0o644)
	out := filepath.Join(dir, "app.bpf")
	_, errOut, code := captureMain(t, "compile", src, "-o", out, "--stats")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{"filters:       1", "longest path:", "mean path:", "cached:        8 of 8 syscalls"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("--stats output lacks %q:\n%s", want, errOut)
		}
	}
	raw, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	prog, err := bpf.Decode(raw, binary.LittleEndian)
	if err != nil {
		t.Fatal(err)
	}
	if err := bpf.Validate(prog); err != nil {
		t.Fatal(err)
	}
	p, err := policy.Parse("app.policy", []byte(compilePolicy), policy.ParseOptions{})
	if err != nil {
		t.Fatal(err)
	}
	checkDecodes(t, p, []bpf.Program{prog})
}

func TestCompileSplit(t *testing.T) {
	dir := t.TempDir()
	src := writeTestFile(t, dir, "app.policy", compilePolicy, 0o644)
	_, errOut, code := captureMain(t, "compile", src, "--max-insns", "30", "-o", filepath.Join(dir, "x.bpf"))
	if code != exitUsage || !strings.Contains(errOut, "--split-dir") {
		t.Fatalf("split policy to one raw file: exit %d, %s", code, errOut)
	}
	split := filepath.Join(dir, "split")
	if _, errOut, code := captureMain(t, "compile", src, "--max-insns", "30", "--split-dir", split); code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var filters []bpf.Program
	for i := 1; ; i++ {
		raw, err := os.ReadFile(filepath.Join(split, "filter-"+string(rune('0'+i))+".bpf"))
		if err != nil {
			break
		}
		p, err := bpf.Decode(raw, binary.LittleEndian)
		if err != nil {
			t.Fatal(err)
		}
		if len(p) > 30 {
			t.Errorf("filter %d has %d instructions, more than --max-insns", i, len(p))
		}
		filters = append(filters, p)
	}
	if len(filters) < 2 {
		t.Fatalf("%d filters written, want a split", len(filters))
	}
	p, _ := policy.Parse("app.policy", []byte(compilePolicy), policy.ParseOptions{})
	checkDecodes(t, p, filters)
}

func TestCompileFormats(t *testing.T) {
	dir := t.TempDir()
	src := writeTestFile(t, dir, "app.policy", compilePolicy, 0o644)
	tests := []struct {
		format string
		check  func(t *testing.T, out string)
	}{
		{"c", func(t *testing.T, out string) {
			if !strings.Contains(out, "static struct sock_filter syscage_filter0[") || !strings.Contains(out, ".filter = syscage_filter0") {
				t.Errorf("no C array:\n%s", out)
			}
		}},
		{"go", func(t *testing.T, out string) {
			if _, err := parser.ParseFile(token.NewFileSet(), "f.go", out, 0); err != nil {
				t.Errorf("not Go: %v\n%s", err, out)
			}
			if !strings.Contains(out, "var Filters = [][]unix.SockFilter{") {
				t.Errorf("no Filters:\n%s", out)
			}
		}},
		{"dot", func(t *testing.T, out string) {
			if !strings.HasPrefix(out, "digraph syscage {") || !strings.Contains(out, "ALLOW") {
				t.Errorf("no graph:\n%s", out)
			}
		}},
		{"native", func(t *testing.T, out string) {
			p, err := policy.Parse("out", []byte(out), policy.ParseOptions{})
			if err != nil || len(p.Rules) != 3 {
				t.Errorf("native output does not parse back (%v):\n%s", err, out)
			}
		}},
		{"oci", func(t *testing.T, out string) {
			if _, err := policy.ParseOCI("out.json", []byte(out)); err != nil {
				t.Errorf("OCI output does not parse back: %v\n%s", err, out)
			}
		}},
		{"spo", func(t *testing.T, out string) {
			if !strings.Contains(out, "kind: SeccompProfile") || !strings.Contains(out, "name: app") {
				t.Errorf("no SeccompProfile named app:\n%s", out)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.format, func(t *testing.T) {
			out, errOut, code := captureMain(t, "compile", "--format", tt.format, src)
			if code != exitOK {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			tt.check(t, out)
		})
	}
}

func TestCompileFreq(t *testing.T) {
	dir := t.TempDir()
	src := writeTestFile(t, dir, "app.policy", compilePolicy, 0o644)
	freq := writeTestFile(t, dir, "app.freq", "mprotect 1000\nread 1\n", 0o644)
	_, errOut, code := captureMain(t, "compile", src, "--freq", freq, "--stats", "-o", filepath.Join(dir, "a.bpf"))
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	bad := writeTestFile(t, dir, "bad.freq", "mprotect many\n", 0o644)
	_, errOut, code = captureMain(t, "compile", src, "--freq", bad)
	if code != exitUsage || !strings.Contains(errOut, "bad.freq: line 1") {
		t.Errorf("bad frequencies: exit %d, %s", code, errOut)
	}
}

func TestCompileErrors(t *testing.T) {
	dir := t.TempDir()
	good := writeTestFile(t, dir, "app.policy", compilePolicy, 0o644)
	broken := writeTestFile(t, dir, "broken.policy", "default errno(EPERM)\nallow reed\n", 0o644)
	mixed := writeTestFile(t, dir, "mixed.policy", "arch x86_64 s390x\ndefault allow\n", 0o644)
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"format", []string{"compile", "--format", "elf", good}, "unknown format \"elf\""},
		{"parse", []string{"compile", broken}, "broken.policy:2"},
		{"arch", []string{"compile", "--arch", "aarch64", good}, "not accepted by the policy"},
		{"byte order", []string{"compile", mixed}, "byte order"},
		{"missing", []string{"compile", filepath.Join(dir, "nope.policy")}, "nope.policy"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, errOut, code := captureMain(t, tt.args...)
			if code != exitUsage || !strings.Contains(errOut, tt.want) {
				t.Errorf("exit %d, stderr %q; want %d and %q", code, errOut, exitUsage, tt.want)
			}
		})
	}
	// A mixed policy compiles once per byte order.
	if _, errOut, code := captureMain(t, "compile", "--arch", "s390x", "-o", filepath.Join(dir, "s.bpf"), mixed); code != exitOK {
		t.Errorf("--arch s390x: exit %d, %s", code, errOut)
	}
}

func TestCompileOutputsAndWarnings(t *testing.T) {
	dir := t.TempDir()
	good := writeTestFile(t, dir, "web.policy", compilePolicy, 0o644)
	t.Chdir(dir)

	// "-o -" is standard output, never a file named "-".
	out, errOut, code := captureMain(t, "compile", good, "--format", "c", "-o", "-")
	if code != exitOK || !strings.Contains(out, "struct sock_filter") {
		t.Fatalf("-o -: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	if _, err := os.Stat(filepath.Join(dir, "-")); err == nil {
		t.Error(`-o - created a file named "-"`)
	}

	// The Kubernetes localhost profile: JSON on stdout that reads back as
	// the same policy, the pod's securityContext on stderr.
	out, errOut, code = captureMain(t, "compile", good, "--format", "k8s")
	if code != exitOK {
		t.Fatalf("k8s: exit %d: %s", code, errOut)
	}
	if !strings.Contains(errOut, "type: Localhost") || !strings.Contains(errOut, "localhostProfile: profiles/web.json") {
		t.Errorf("k8s: pod snippet missing from stderr: %q", errOut)
	}
	back, err := policy.ParseOCI("web.json", []byte(out))
	if err != nil {
		t.Fatalf("k8s profile does not read back: %v\n%s", err, out)
	}
	if len(back.Rules) == 0 {
		t.Error("k8s profile has no rules")
	}

	// Warnings from reading the input reach the user.
	unk := writeTestFile(t, dir, "unk.json", `{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["read","reed"],"action":"SCMP_ACT_ALLOW"}]}`, 0o644)
	_, errOut, code = captureMain(t, "compile", unk, "--format", "native")
	if code != exitOK || !strings.Contains(errOut, "warning") || !strings.Contains(errOut, `"reed"`) {
		t.Errorf("misspelt OCI name: exit %d, stderr %q; want a warning naming \"reed\"", code, errOut)
	}
}
