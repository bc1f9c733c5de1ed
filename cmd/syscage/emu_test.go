package main

import (
	"encoding/binary"
	"encoding/json"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/syscage/syscage/arch"
	"github.com/syscage/syscage/bpf"
)

// emuProgram allows openat only with O_RDONLY in the access mode, denies
// execve with EPERM, allows the rest, and kills other arches (x86_64
// numbers: openat 257, execve 59).
var emuProgram = bpf.Program{
	bpf.LoadAbs(bpf.OffsetArch),              // 0
	bpf.JumpIf(bpf.JmpJEQ, 0xc000003e, 1, 0), // 1
	bpf.Ret(bpf.RetKillProcess),              // 2
	bpf.LoadAbs(bpf.OffsetNr),                // 3
	bpf.JumpIf(bpf.JmpJEQ, 257, 2, 0),        // 4
	bpf.JumpIf(bpf.JmpJEQ, 59, 6, 0),         // 5
	bpf.Ret(bpf.RetAllow),                    // 6
	bpf.LoadAbs(bpf.ArgLowOffset(2, false)),  // 7
	bpf.ALUK(bpf.AluAnd, 3),                  // 8
	bpf.JumpIf(bpf.JmpJEQ, 0, 0, 1),          // 9
	bpf.Ret(bpf.RetAllow),                    // 10
	bpf.Ret(bpf.RetErrno | 13),               // 11
	bpf.Ret(bpf.RetErrno | 1),                // 12
}

// runEmu runs the CLI and returns stdout, the exit code and the error.
func runEmu(t *testing.T, stdin []byte, args ...string) (string, int, error) {
	t.Helper()
	out, _, code, err := execCLI(t, stdin, args...)
	return out.String(), code, err
}

func emuFile(t *testing.T, name string, data []byte) string {
	t.Helper()
	return writeTemp(t, name, data)
}

func TestEmuCommand(t *testing.T) {
	file := emuFile(t, "f.bpf", emuProgram.Encode(binary.LittleEndian))
	tests := []struct {
		name string
		args []string
		want []string // substrings of the output, in order
	}{
		{"openat read-only", []string{"--bpf", file, "openat", "AT_FDCWD", "0", "O_RDONLY"},
			[]string{"syscall  openat, number 257", "args     0xffffffffffffff9c 0x0 0x0",
				" 0004: ", "-> 0007", " 0007: ", "A = 0x0", " 0010: ", "action: ALLOW\n", "cached: no"}},
		{"openat for writing", []string{"--bpf", file, "openat", "-100", "0", "O_WRONLY|O_CREAT"},
			[]string{"A = 0x41", "A = 0x1", " 0011: ", "action: ERRNO(13) EACCES\n"}},
		{"execve by number", []string{"--bpf", file, "0x3b"},
			[]string{"syscall  execve, number 59", " 0012: ", "action: ERRNO(1) EPERM\n"}},
		{"read is cached", []string{"--bpf", file, "read"},
			[]string{" 0006: ", "action: ALLOW\n", "cached: yes"}},
		{"other arch", []string{"--bpf", file, "--arch", "i386", "read"},
			[]string{"arch     ARCH_I386", "A = 0x40000003", " 0002: ", "action: KILL_PROCESS"}},
		{"stack", []string{"--bpf", file, "--bpf", file, "execve"},
			[]string{"filter 0:", "oldest", "filter 1:", "newest", "action: ERRNO(1) EPERM, from filter 1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, code, err := runEmu(t, nil, append([]string{"emu"}, tt.args...)...)
			if code != exitOK {
				t.Fatalf("exit %d: %v\n%s", code, err, out)
			}
			rest := out
			for _, w := range tt.want {
				i := strings.Index(rest, w)
				if i < 0 {
					t.Fatalf("output lacks %q (in order):\n%s", w, out)
				}
				rest = rest[i+len(w):]
			}
		})
	}
}

func TestEmuJSON(t *testing.T) {
	file := emuFile(t, "f.bpf", emuProgram.Encode(binary.LittleEndian))
	out, code, err := runEmu(t, nil, "emu", "--json", "--ip", "0x1000", "--bpf", file, "openat", "1", "2", "3")
	if code != exitOK {
		t.Fatalf("exit %d: %v", code, err)
	}
	var tr emuTrace
	if err := json.Unmarshal([]byte(out), &tr); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if tr.Nr != 257 || tr.Syscall != "openat" || tr.IP != 0x1000 || tr.Args != [6]uint64{1, 2, 3} ||
		tr.Value != bpf.RetErrno|13 || tr.Action != "ERRNO(13)" || tr.DecidedBy != 0 || tr.Cached {
		t.Fatalf("unexpected trace: %+v", tr)
	}
	var path []int
	for _, s := range tr.Filters[0].Steps {
		path = append(path, s.Index)
	}
	if want := []int{0, 1, 3, 4, 7, 8, 9, 11}; !equalInts(path, want) {
		t.Errorf("path %v, want %v", path, want)
	}
	if s := tr.Filters[0].Steps[5]; s.A != 3 || !strings.Contains(s.Text, "&=") {
		t.Errorf("step 5 = %+v, want A = 3 after the AND", s)
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestEmuAssemblyAndBigEndian: a listing file is assembled; --arch s390x
// reads raw bytes big-endian and loads argument halves in that order.
func TestEmuAssemblyAndBigEndian(t *testing.T) {
	src := emuFile(t, "f.s", []byte("A = args[0]\nif (A == 7) goto yes\nreturn ERRNO(2)\nyes: return ALLOW\n"))
	out, code, err := runEmu(t, nil, "emu", "--bpf", src, "read", "7")
	if code != exitOK || !strings.Contains(out, "action: ALLOW") {
		t.Fatalf("assembly: exit %d (%v)\n%s", code, err, out)
	}
	p := bpf.Program{bpf.LoadAbs(bpf.ArgLowOffset(0, true)), bpf.ALUK(bpf.AluOr, bpf.RetErrno), bpf.RetA()}
	raw := emuFile(t, "be.bpf", p.Encode(binary.BigEndian))
	out, code, err = runEmu(t, nil, "emu", "--arch", "s390x", "--bpf", raw, "read", "0x500000007")
	if code != exitOK || !strings.Contains(out, "action: ERRNO(7)") {
		t.Fatalf("s390x: exit %d (%v)\n%s", code, err, out)
	}
}

func TestEmuErrors(t *testing.T) {
	file := emuFile(t, "f.bpf", emuProgram.Encode(binary.LittleEndian))
	odd := emuFile(t, "odd.bpf", make([]byte, 12))
	invalid := emuFile(t, "inv.bpf", bpf.Program{bpf.LoadAbs(bpf.OffsetNr), bpf.ALUK(bpf.AluMod, 3), bpf.RetA()}.Encode(binary.LittleEndian))
	tests := []struct {
		name string
		args []string
		code int
		msg  string
	}{
		{"no filter", []string{"read"}, exitUsage, "--bpf"},
		{"no syscall", []string{"--bpf", file}, exitUsage, "SYSCALL"},
		{"unknown syscall", []string{"--bpf", file, "opne"}, exitUsage, `did you mean "open"`},
		{"unknown constant", []string{"--bpf", file, "openat", "O_RDONY"}, exitUsage, `"O_RDONLY"`},
		{"bad number", []string{"--bpf", file, "read", "12x"}, exitUsage, "argument 0"},
		{"too many args", []string{"--bpf", file, "read", "1", "2", "3", "4", "5", "6", "7"}, exitUsage, "at most 6"},
		{"unknown arch", []string{"--bpf", file, "--arch", "vax", "read"}, exitUsage, "x86_64"},
		{"too wide for i386", []string{"--bpf", file, "--arch", "i386", "read", "0x100000000"}, exitUsage, "32-bit"},
		{"bad ip", []string{"--bpf", file, "--ip", "x", "read"}, exitUsage, "--ip"},
		{"truncated file", []string{"--bpf", odd, "read"}, exitUsage, "multiple of 8"},
		{"missing file", []string{"--bpf", filepath.Join(t.TempDir(), "none"), "read"}, exitUsage, "no such file"},
		{"refused filter", []string{"--bpf", invalid, "read"}, exitUsage, "instruction 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, code, err := runEmu(t, nil, append([]string{"emu"}, tt.args...)...)
			if code != tt.code || err == nil || !strings.Contains(err.Error(), tt.msg) {
				t.Fatalf("exit %d, error %v; want exit %d and %q", code, err, tt.code, tt.msg)
			}
		})
	}
	// A refused filter is still traced as far as it runs.
	out, _, _ := runEmu(t, nil, "emu", "--bpf", invalid, "read")
	if !strings.Contains(out, "the kernel would refuse this filter") || !strings.Contains(out, "stopped:") {
		t.Errorf("refused filter output:\n%s", out)
	}
	// i386 arguments are 32-bit registers: -1 is 0xffffffff.
	out, code, err := runEmu(t, nil, "emu", "--arch", "i386", "--bpf", file, "read", "-1")
	if code != exitOK || !strings.Contains(out, "args     0xffffffff 0x0") {
		t.Errorf("i386 -1: exit %d (%v)\n%s", code, err, out)
	}
}

// TestEmuPolicyFlag: `syscage emu --policy` reaches the policy tracer
// through the command line, names the deciding line, honours --caps, and
// refuses flag combinations that mean nothing.
func TestEmuPolicyFlag(t *testing.T) {
	dir := t.TempDir()
	src := writeTestFile(t, dir, "app.policy", `default errno(EPERM)
allow read
only caps CAP_SYS_ADMIN {
    allow mount
}
`, 0o644)
	file := emuFile(t, "f.bpf", emuProgram.Encode(binary.LittleEndian))
	tests := []struct {
		name string
		args []string
		code int
		want string // in the output, or in the error when code != 0
	}{
		{"rule", []string{"--policy", src, "read"}, exitOK, "decided by: " + src + ":2:1: allow read"},
		{"default", []string{"--policy", src, "write"}, exitOK, "decided by: no rule matched; default errno(EPERM)"},
		{"cap held", []string{"--policy", src, "mount"}, exitOK, "action: ALLOW"},
		{"cap dropped", []string{"--policy", src, "--caps", "", "mount"}, exitOK, "default errno(EPERM)"},
		{"json", []string{"--policy", src, "--json", "read"}, exitOK, `"position": "` + src + `:2:1"`},
		{"missing policy", []string{"--policy", filepath.Join(dir, "none"), "read"}, exitUsage, "no such file"},
		{"both", []string{"--policy", src, "--bpf", file, "read"}, exitUsage, "exclude each other"},
		{"caps without policy", []string{"--bpf", file, "--caps", "", "read"}, exitUsage, "--policy"},
		{"unknown cap", []string{"--policy", src, "--caps", "CAP_FOO", "read"}, exitUsage, "CAP_FOO"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, code, err := runEmu(t, nil, append([]string{"emu"}, tt.args...)...)
			if code != tt.code {
				t.Fatalf("exit %d, want %d (%v)\n%s", code, tt.code, err, out)
			}
			got := out
			if code != exitOK {
				got = err.Error()
			}
			if !strings.Contains(got, tt.want) {
				t.Errorf("want %q in:\n%s", tt.want, got)
			}
		})
	}
}

// FuzzParseEmuCall: the SYSCALL [ARG...] reader of 'syscage emu' never
// panics, on any architecture; on a 32-bit one every argument it accepts
// fits a 32-bit register; a plain decimal number reads as itself.
//
//	go test -run '^$' -fuzz '^FuzzParseEmuCall$' -fuzztime 30s ./cmd/syscage
func FuzzParseEmuCall(f *testing.F) {
	f.Add("openat", "AT_FDCWD", "O_WRONLY|O_CREAT", uint8(0))
	f.Add("0x38", "-100", "0x1ffffffff", uint8(1))
	f.Add("socketcall", "| |", "AF_INET|-1", uint8(3))
	f.Add("read", "18446744073709551615", "", uint8(7))
	all := arch.All()
	f.Fuzz(func(t *testing.T, name, a0, a1 string, sel uint8) {
		a := all[int(sel)%len(all)]
		call, err := parseEmuCall(a, []string{name, a0, a1}, "0")
		if err != nil {
			return
		}
		for i, v := range call.Data.Args[:2] {
			if a.Bits == 32 && v > 0xffffffff {
				t.Fatalf("%s: argument %d = %#x does not fit a 32-bit register", a.Name, i, v)
			}
		}
		if n, err := strconv.ParseUint(a0, 10, 64); err == nil && (a.Bits == 64 || n <= 0xffffffff) && call.Data.Args[0] != n {
			t.Fatalf("%s: %q read as %#x", a.Name, a0, call.Data.Args[0])
		}
	})
}
