package main

import (
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/syscage/syscage/bpf"
)

// runBPFCLI runs `syscage ARGS...` in-process with stdin and returns
// stdout, the exit code runMain would produce, and the error it would
// print.
func runBPFCLI(t *testing.T, stdin []byte, args ...string) ([]byte, int, error) {
	t.Helper()
	out, _, code, err := execCLI(t, stdin, args...)
	return out.Bytes(), code, err
}

const asmX86Source = `# deny execve on x86_64, kill other arches
A = arch
if (A != ARCH_X86_64) goto kill
A = sys_number
if (A == execve) goto deny
return ALLOW
deny: return ERRNO(1)
kill: return KILL_PROCESS
`

// asmX86Program is asmX86Source built by hand (execve is 59 on x86_64).
var asmX86Program = bpf.Program{
	bpf.LoadAbs(bpf.OffsetArch),
	bpf.JumpIf(bpf.JmpJEQ, 0xc000003e, 0, 4),
	bpf.LoadAbs(bpf.OffsetNr),
	bpf.JumpIf(bpf.JmpJEQ, 59, 1, 0),
	bpf.Ret(bpf.RetAllow),
	bpf.Ret(bpf.RetErrno | 1),
	bpf.Ret(bpf.RetKillProcess),
}

func TestAsmCommand(t *testing.T) {
	src := writeTemp(t, "f.s", []byte(asmX86Source))
	out := filepath.Join(t.TempDir(), "f.bpf")
	if _, code, err := runBPFCLI(t, nil, "asm", src, "-o", out); code != exitOK {
		t.Fatalf("exit %d: %v", code, err)
	}
	got, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if want := asmX86Program.Encode(binary.NativeEndian); !bytes.Equal(got, want) {
		t.Errorf("wrote % x\nwant  % x", got, want)
	}

	// Standard input to standard output.
	stdout, code, err := runBPFCLI(t, []byte(asmX86Source), "asm", "-")
	if code != exitOK || !bytes.Equal(stdout, got) {
		t.Errorf("stdin to stdout: exit %d (%v), % x", code, err, stdout)
	}
}

// TestAsmArch: --arch names syscalls where the program does not check the
// arch, and writes that machine's byte order.
func TestAsmArch(t *testing.T) {
	src := "A = sys_number\nif (A == read) goto 0003\nreturn ALLOW\nreturn KILL_PROCESS\n"
	tests := []struct {
		arch  string
		read  uint32
		order binary.ByteOrder
	}{
		{"x86_64", 0, binary.LittleEndian},
		{"aarch64", 63, binary.LittleEndian},
		{"ARCH_I386", 3, binary.LittleEndian},
		{"s390x", 3, binary.BigEndian},
	}
	for _, tt := range tests {
		stdout, code, err := runBPFCLI(t, []byte(src), "asm", "--arch", tt.arch, "-")
		if code != exitOK {
			t.Errorf("%s: exit %d: %v", tt.arch, code, err)
			continue
		}
		want := bpf.Program{bpf.LoadAbs(0), bpf.JumpIf(bpf.JmpJEQ, tt.read, 1, 0), bpf.Ret(bpf.RetAllow), bpf.Ret(bpf.RetKillProcess)}
		if !bytes.Equal(stdout, want.Encode(tt.order)) {
			t.Errorf("%s: % x", tt.arch, stdout)
		}
	}
}

func TestAsmCommandErrors(t *testing.T) {
	bad := writeTemp(t, "bad.s", []byte("A = arch\nif (A != ARCH_X86_64) goto kill\nA = sys_number\nif (A == exceve) goto kill\nreturn ALOW\nkill: return KILL\n"))
	refused := writeTemp(t, "refused.s", []byte("A = mem[3]\nreturn A\n"))
	tests := []struct {
		args []string
		code int
		want []string
	}{
		{[]string{"asm", bad, "-o", filepath.Join(t.TempDir(), "x")}, exitUsage,
			[]string{bad + `:4:10: unknown syscall "exceve" for ARCH_X86_64; did you mean "execve"`, "\n" + bad + `:5:8: unknown action "ALOW"`}},
		{[]string{"asm", refused, "-o", filepath.Join(t.TempDir(), "x")}, exitUsage,
			[]string{"the kernel would refuse", "M[3]", "--no-validate"}},
		{[]string{"asm", "--no-validate", refused, "-o", filepath.Join(t.TempDir(), "x")}, exitOK, nil},
		{[]string{"asm", filepath.Join(t.TempDir(), "missing.s")}, exitUsage, []string{"no such file"}},
		{[]string{"asm", "--arch", "vax", bad}, exitUsage, []string{`unknown architecture "vax"`, "x86_64"}},
		{[]string{"asm"}, exitUsage, []string{"accepts 1 arg"}},
	}
	for _, tt := range tests {
		_, code, err := runBPFCLI(t, nil, tt.args...)
		if code != tt.code {
			t.Errorf("%v: exit %d, want %d (%v)", tt.args, code, tt.code, err)
		}
		for _, w := range tt.want {
			if err == nil || !strings.Contains(err.Error(), w) {
				t.Errorf("%v: error %v lacks %q", tt.args, err, w)
			}
		}
	}
	// Writing into a directory that does not exist is the system's refusal.
	_, code, _ := runBPFCLI(t, nil, "asm", "--no-validate", refused, "-o", filepath.Join(t.TempDir(), "no", "such", "dir"))
	if code != exitSystem {
		t.Errorf("unwritable output: exit %d, want %d", code, exitSystem)
	}
}

// TestAsmOutputDash: "-o -" is standard output, as "-" is standard input,
// not a file named "-".
func TestAsmOutputDash(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	out, code, err := runBPFCLI(t, []byte("return ALLOW\n"), "asm", "-o", "-", "-")
	if code != exitOK || len(out) != bpf.InstructionSize {
		t.Fatalf("exit %d (%v), %d bytes on standard output, want %d", code, err, len(out), bpf.InstructionSize)
	}
	if _, err := os.Stat(filepath.Join(dir, "-")); err == nil {
		t.Error(`"-o -" wrote a file named "-"`)
	}
}

func TestIsTerminal(t *testing.T) {
	f, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if isTerminal(f) {
		t.Errorf("%s is not a terminal, though it is a character device", os.DevNull)
	}
}
