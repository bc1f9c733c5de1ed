package main

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"strings"
	"testing"

	"github.com/syscage/syscage/bpf"
)

func TestDisasmCommand(t *testing.T) {
	raw := asmX86Program.Encode(binary.NativeEndian)
	path := writeTemp(t, "f.bpf", raw)
	tests := []struct {
		args  []string
		want  []string
		avoid []string
	}{
		{[]string{"disasm", path}, []string{
			" 0001: 0x15 0x00 0x04 0xc000003e  if (A != ARCH_X86_64) goto 0006\n",
			" 0003: 0x15 0x01 0x00 0x0000003b  if (A == execve) goto 0005\n",
			" 0005: 0x06 0x00 0x00 0x00050001  return ERRNO(1)\n",
			"# the kernel accepts this filter\n",
		}, nil},
		{[]string{"disasm", "--raw=false", path}, []string{" 0002: A = sys_number\n", " 0004: return ALLOW\n"}, []string{"0x20"}},
		{[]string{"disasm", "--arch", "aarch64", path}, []string{".arch ARCH_AARCH64", "if (A == execve)"}, nil},
	}
	for _, tt := range tests {
		out, code, err := runBPFCLI(t, nil, tt.args...)
		if code != exitOK {
			t.Fatalf("%v: exit %d: %v", tt.args, code, err)
		}
		for _, w := range tt.want {
			if !strings.Contains(string(out), w) {
				t.Errorf("%v: listing lacks %q:\n%s", tt.args, w, out)
			}
		}
		for _, w := range tt.avoid {
			if strings.Contains(string(out), w) {
				t.Errorf("%v: listing has %q:\n%s", tt.args, w, out)
			}
		}
		// Every listing assembles back to the same bytes.
		back, code, err := runBPFCLI(t, out, "asm", "-")
		if code != exitOK || !bytes.Equal(back, raw) {
			t.Errorf("%v: listing does not assemble back: exit %d (%v), % x", tt.args, code, err, back)
		}
	}
}

// TestDisasmBigEndian: --arch s390x reads big-endian bytes and names the
// halves of arguments for that byte order.
func TestDisasmBigEndian(t *testing.T) {
	p := bpf.Program{bpf.LoadAbs(bpf.OffsetNr), bpf.JumpIf(bpf.JmpJEQ, 3, 0, 1), bpf.LoadAbs(20), bpf.Ret(bpf.RetAllow)}
	raw := p.Encode(binary.BigEndian)
	out, code, err := runBPFCLI(t, raw, "disasm", "--arch", "s390x", "-")
	if code != exitOK {
		t.Fatalf("exit %d: %v", code, err)
	}
	for _, w := range []string{"if (A != read) goto 0003", "0x20 0x00 0x00 0x00000014  A = args[0]\n"} {
		if !strings.Contains(string(out), w) {
			t.Errorf("listing lacks %q:\n%s", w, out)
		}
	}
	back, code, err := runBPFCLI(t, out, "asm", "--arch", "s390x", "-")
	if code != exitOK || !bytes.Equal(back, raw) {
		t.Errorf("does not assemble back: exit %d (%v), % x", code, err, back)
	}
}

func TestDisasmJSON(t *testing.T) {
	invalid := bpf.Program{bpf.LoadMem(3), bpf.Instruction{Op: 0x0e}}
	// The JSON is printed in full, and the exit status says the kernel
	// would refuse the filter.
	out, code, err := runBPFCLI(t, invalid.Encode(binary.NativeEndian), "disasm", "--json", "-")
	if code != exitUsage {
		t.Fatalf("exit %d, want %d: %v", code, exitUsage, err)
	}
	var rec struct {
		ByteOrder    string `json:"byte_order"`
		Instructions []struct {
			Index      int
			Code       uint16
			Jt, Jf     uint8
			K          uint32
			Text, Note string
		}
		KernelAccepts bool `json:"kernel_accepts"`
		Refusal       *struct {
			Index   int
			Rule    string
			Message string
		}
	}
	if err := json.Unmarshal(out, &rec); err != nil {
		t.Fatalf("%v:\n%s", err, out)
	}
	if len(rec.Instructions) != 2 || rec.Instructions[0].Text != "A = mem[3]" || rec.Instructions[0].K != 3 ||
		rec.Instructions[1].Code != 0x0e || rec.Instructions[1].Note == "" {
		t.Errorf("instructions: %+v", rec.Instructions)
	}
	if rec.KernelAccepts || rec.Refusal == nil || rec.Refusal.Index < 0 || rec.Refusal.Message == "" {
		t.Errorf("an invalid filter: accepts=%v refusal=%+v", rec.KernelAccepts, rec.Refusal)
	}
	if rec.ByteOrder != "little" {
		t.Errorf("byte order %q on this machine", rec.ByteOrder)
	}
}

func TestDisasmCommandErrors(t *testing.T) {
	truncated := writeTemp(t, "t.bpf", asmX86Program.Encode(binary.NativeEndian)[:13])
	empty := writeTemp(t, "e.bpf", nil)
	tests := []struct {
		args  []string
		stdin []byte
		code  int
		want  []string
	}{
		{[]string{"disasm", truncated}, nil, exitUsage, []string{truncated, "13 bytes", "multiple of 8"}},
		{[]string{"disasm", empty}, nil, exitUsage, []string{"empty BPF program"}},
		{[]string{"disasm", "-"}, []byte{1, 2, 3}, exitUsage, []string{"<stdin>", "3 bytes"}},
		{[]string{"disasm", truncated + ".missing"}, nil, exitUsage, []string{"no such file"}},
		{[]string{"disasm", "--arch", "ARCH_VAX", truncated}, nil, exitUsage, []string{"unknown architecture"}},
		{[]string{"disasm", "a", "b"}, nil, exitUsage, []string{"accepts 1 arg"}},
	}
	for _, tt := range tests {
		_, code, err := runBPFCLI(t, tt.stdin, tt.args...)
		if code != tt.code {
			t.Errorf("%v: exit %d, want %d (%v)", tt.args, code, tt.code, err)
		}
		for _, w := range tt.want {
			if err == nil || !strings.Contains(err.Error(), w) {
				t.Errorf("%v: error %v lacks %q", tt.args, err, w)
			}
		}
	}
}

// TestDisasmRefusalComment: the listing of a filter the kernel would
// refuse says why, still assembles back, and the command fails with a
// message naming the instruction.
func TestDisasmRefusalComment(t *testing.T) {
	p := bpf.Program{bpf.LoadAbs(bpf.OffsetNr), bpf.JumpIf(bpf.JmpJEQ, 1, 0, 200)}
	raw := p.Encode(binary.NativeEndian)
	out, code, err := runBPFCLI(t, raw, "disasm", "-")
	if code != exitUsage || err == nil || !strings.Contains(err.Error(), "instruction 1") {
		t.Fatalf("exit %d (%v), want %d and the refused instruction", code, err, exitUsage)
	}
	if !strings.Contains(string(out), "# the kernel would refuse this filter: instruction 1") {
		t.Errorf("no refusal comment:\n%s", out)
	}
	back, code, err := runBPFCLI(t, out, "asm", "--no-validate", "-")
	if code != exitOK || !bytes.Equal(back, raw) {
		t.Errorf("does not assemble back: exit %d (%v)", code, err)
	}
}
