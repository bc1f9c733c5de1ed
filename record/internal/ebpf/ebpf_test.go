package ebpf

import (
	"bytes"
	"encoding/binary"
	"os"
	"strings"
	"testing"

	"github.com/syscage/syscage/internal/testenv"
)

// TestEncode checks instructions against their kernel encoding
// (include/uapi/linux/bpf.h), written out by hand.
func TestEncode(t *testing.T) {
	ld := LoadImm64(R1, 0x1122334455667788)
	cases := []struct {
		ins  Instruction
		want [8]byte // little-endian layout
	}{
		{Mov64(R6, R1), [8]byte{0xbf, 0x16}},
		{Mov64Imm(R0, 0), [8]byte{0xb7, 0x00}},
		{Add64Imm(R2, -4), [8]byte{0x07, 0x02, 0, 0, 0xfc, 0xff, 0xff, 0xff}},
		{Load(Double, R7, R6, 8), [8]byte{0x79, 0x67, 8, 0}},
		{Store(Word, R10, -4, R0), [8]byte{0x63, 0x0a, 0xfc, 0xff}},
		{StoreImm(Double, R10, -144, 1), [8]byte{0x7a, 0x0a, 0x70, 0xff, 1, 0, 0, 0}},
		{AtomicAdd64(R0, 0, R1), [8]byte{0xdb, 0x10}},
		{JumpImm(JGE, R7, 470, 3), [8]byte{0x35, 0x07, 3, 0, 0xd6, 0x01, 0, 0}},
		{Call(FuncMapLookupElem), [8]byte{0x85, 0, 0, 0, 1, 0, 0, 0}},
		{Exit(), [8]byte{0x95}},
		{ld[0], [8]byte{0x18, 0x01, 0, 0, 0x88, 0x77, 0x66, 0x55}},
		{ld[1], [8]byte{0, 0, 0, 0, 0x44, 0x33, 0x22, 0x11}},
		{LoadMapFD(R1, 7)[0], [8]byte{0x18, 0x11, 0, 0, 7, 0, 0, 0}},
	}
	if binary.NativeEndian.Uint16([]byte{1, 0}) != 1 {
		t.Skip("expectations are written for little-endian machines")
	}
	for _, c := range cases {
		got := Encode([]Instruction{c.ins})
		if !bytes.Equal(got, c.want[:]) {
			t.Errorf("%v: % x, want % x", c.ins, got, c.want)
		}
	}
}

func TestBuilder(t *testing.T) {
	var b Builder
	b.JumpImm(JEQ, R0, 0, "out")
	b.Emit2(LoadImm64(R1, 1))
	b.Ja("out")
	b.Label("out").Emit(Exit())
	prog, err := b.Program()
	if err != nil {
		t.Fatal(err)
	}
	// The jumps land on the exit: the 64-bit load counts two slots.
	if prog[0].Off != 3 || prog[3].Off != 0 || prog[4].Op != Exit().Op {
		t.Errorf("offsets %d and %d, program %v", prog[0].Off, prog[3].Off, prog)
	}
	var bad Builder
	bad.Ja("nowhere")
	if _, err := bad.Program(); err == nil || !strings.Contains(err.Error(), `"nowhere"`) {
		t.Errorf("undefined label: error %v", err)
	}
}

func TestPossibleCPUs(t *testing.T) {
	n, err := PossibleCPUs()
	if err != nil {
		t.Skipf("no /sys: %v", err)
	}
	if n < 1 {
		t.Errorf("%d possible CPUs", n)
	}
}

// TestKernel loads a program and uses maps in the real kernel.
func TestKernel(t *testing.T) {
	if os.Geteuid() != 0 {
		testenv.Unavailable(t, "loading eBPF programs needs root")
	}
	m, err := NewMap("test_hash", MapHash, 4, 8, 16)
	if err != nil {
		testenv.Unavailable(t, "eBPF maps: %v", err)
	}
	defer m.Close()
	key, val := []byte{1, 0, 0, 0}, []byte{42, 0, 0, 0, 0, 0, 0, 0}
	if err := m.Update(key, val, UpdateNoExist); err != nil {
		t.Fatal(err)
	}
	if err := m.Update(key, val, UpdateNoExist); err == nil {
		t.Error("UpdateNoExist replaced an existing key")
	}
	got := make([]byte, 8)
	if ok, err := m.Lookup(key, got); !ok || err != nil || got[0] != 42 {
		t.Errorf("lookup: %v %v % x", ok, err, got)
	}
	next := make([]byte, 4)
	if ok, err := m.NextKey(nil, next); !ok || err != nil || !bytes.Equal(next, key) {
		t.Errorf("first key: %v %v % x", ok, err, next)
	}
	if err := m.Delete(key); err != nil {
		t.Fatal(err)
	}
	if ok, _ := m.Lookup(key, got); ok {
		t.Error("deleted key still there")
	}

	pc, err := NewMap("test_pcpu", MapPerCPUArray, 4, 8, 4)
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	if n, _ := PossibleCPUs(); pc.ValueBytes() != 8*n {
		t.Errorf("per-CPU value %d bytes, want %d", pc.ValueBytes(), 8*n)
	}

	// A program the verifier accepts, and one it refuses with its log.
	var b Builder
	b.Emit(Mov64Imm(R0, 0), Exit())
	ok, _ := b.Program()
	p, err := LoadRawTracepoint("test_ok", ok, "GPL")
	if err != nil {
		t.Fatal(err)
	}
	p.Close()
	_, err = LoadRawTracepoint("test_bad", []Instruction{Exit()}, "GPL") // R0 never set
	if err == nil || !strings.Contains(err.Error(), "verifier log") {
		t.Errorf("refused program: error %v, want the verifier's log", err)
	}
}
