package bpf

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"
)

// FuzzDecode: any bytes either decode, in both byte orders, to a program
// that encodes back to exactly those bytes, or give a DecodeError (empty,
// or not a whole number of 8-byte instructions) and no program.
//
//	go test -run '^$' -fuzz '^FuzzDecode$' -fuzztime 30s ./bpf
func FuzzDecode(f *testing.F) {
	f.Add(Program{LoadAbs(OffsetArch), JumpIf(JmpJEQ, 0xc000003e, 1, 0), Ret(RetKillProcess), Ret(RetAllow)}.Encode(NativeEndian))
	f.Add([]byte{})
	f.Add([]byte{0x06, 0, 0, 0, 0, 0, 0xff, 0x7f, 0x15})
	f.Fuzz(func(t *testing.T, raw []byte) {
		for _, order := range []binary.ByteOrder{binary.LittleEndian, binary.BigEndian} {
			p, err := Decode(raw, order)
			if err != nil {
				var de *DecodeError
				if !errors.As(err, &de) || de.Size != len(raw) || p != nil {
					t.Fatalf("Decode(%d bytes) = %v, %v; want only a DecodeError of that size", len(raw), p, err)
				}
				if len(raw) != 0 && len(raw)%InstructionSize == 0 {
					t.Fatalf("%d bytes refused: %v", len(raw), err)
				}
				continue
			}
			if len(p) != len(raw)/InstructionSize {
				t.Fatalf("%d bytes decoded to %d instructions", len(raw), len(p))
			}
			if back := p.Encode(order); !bytes.Equal(back, raw) {
				t.Fatalf("%v: encode(decode(x)) = % x, want % x", order, back, raw)
			}
		}
	})
}
