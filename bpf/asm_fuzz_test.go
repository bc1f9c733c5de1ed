package bpf

import (
	"errors"
	"testing"
)

// FuzzAssemble: the assembler never panics, every error it reports has a
// position, and whatever it assembles disassembles and assembles back to
// the same program. Seeds: testdata/fuzz/FuzzAssemble and those below.
//
//	go test -run '^$' -fuzz '^FuzzAssemble$' -fuzztime 30s ./bpf
func FuzzAssemble(f *testing.F) {
	for _, s := range []string{
		"return ALLOW",
		"A = arch\nif (A != ARCH_X86_64) goto kill\nA = sys_number\nif (A == read) goto ok else kill\nok: return ALLOW\nkill: return KILL_PROCESS",
		".arch ARCH_S390X\nA = args[2] >> 32\nif (!(A & 0x4)) goto 0003 else 0002\nreturn ERRNO(1)\nreturn A",
		" 0000: 0x20 0x00 0x00 0x00000004  A = arch\n 0001: 0x06 0x00 0x00 0x7fff0000  return ALLOW",
		".insn 0x15 0xff 0x00 0x3b\nX = 4 * (data8[3] & 0xf)\nA = data16[X + 2]\nmem[3] = X\nA %= X\nreturn 0",
		"if (A == 1) goto far\n" + "A += 1\n" + "far: return LOG",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		p, err := Assemble(src, fakeNamer{})
		if err != nil {
			var list AsmErrors
			if !errors.As(err, &list) || len(list) == 0 {
				t.Fatalf("error %v is not a non-empty AsmErrors", err)
			}
			for _, e := range list {
				if e.Line < 1 || e.Col < 1 || e.Msg == "" {
					t.Fatalf("error without a position or message: %+v", e)
				}
			}
			return
		}
		if len(p) == 0 {
			t.Fatal("no error and no instructions")
		}
		for _, opts := range disasmOptionSets {
			asmRoundTrip(t, p, opts)
		}
	})
}

// FuzzDisassembleRoundTrip: any bytes that decode to a program disassemble
// to a listing that assembles back to exactly that program; bytes that do
// not decode give a DecodeError. sel picks the listing options.
//
//	go test -run '^$' -fuzz '^FuzzDisassembleRoundTrip$' -fuzztime 30s ./bpf
func FuzzDisassembleRoundTrip(f *testing.F) {
	f.Add(x86Filter.Encode(NativeEndian), byte(3))
	f.Add([]byte{0x15, 0, 0xff, 0xff, 4, 0, 0, 0}, byte(0))
	f.Add([]byte{0x05, 0, 1, 2, 0xff, 0xff, 0xff, 0xff, 0x06, 0, 0, 0, 0, 0, 0xff, 0x7f}, byte(1))
	f.Add([]byte{1, 2, 3}, byte(0))
	f.Fuzz(func(t *testing.T, raw []byte, sel byte) {
		p, err := Decode(raw, NativeEndian)
		if err != nil {
			var de *DecodeError
			if !errors.As(err, &de) {
				t.Fatalf("decode error %T: %v", err, err)
			}
			return
		}
		asmRoundTrip(t, p, disasmOptionSets[int(sel)%len(disasmOptionSets)])
	})
}
