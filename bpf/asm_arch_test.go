package bpf_test

import (
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/syscage/syscage/arch"
	"github.com/syscage/syscage/bpf"
)

// TestRoundTripEveryArch builds, with Builder, one filter that checks
// every known arch and compares every syscall number of its table (far
// jumps and trampolines included), then checks that the listing names
// each comparison under the right arch and assembles back exactly.
func TestRoundTripEveryArch(t *testing.T) {
	namer := arch.Names()
	b := bpf.NewBuilder()
	type cmp struct {
		auditArch uint32
		nr        uint32
	}
	var want []cmp
	seen := map[uint32]bool{}
	b.Emit(bpf.LoadAbs(bpf.OffsetArch))
	for i, a := range arch.All() {
		if seen[a.AuditArch] {
			continue // x32 shares AUDIT_ARCH_X86_64; its block would be unreachable
		}
		seen[a.AuditArch] = true
		next := fmt.Sprintf("arch%d", i+1)
		b.JumpIf(bpf.JmpJEQ, a.AuditArch, "", next)
		b.Emit(bpf.LoadAbs(bpf.OffsetNr))
		for _, s := range a.Syscalls() {
			b.JumpIf(bpf.JmpJEQ, uint32(s.Nr), "allow", "")
			want = append(want, cmp{a.AuditArch, uint32(s.Nr)})
		}
		b.Ret(bpf.RetErrno | 38)
		b.Label(next)
		b.Emit(bpf.LoadAbs(bpf.OffsetArch))
	}
	b.Ret(bpf.RetKillProcess)
	b.Label("allow")
	b.Ret(bpf.RetAllow)
	p, err := b.Program()
	if err != nil {
		t.Fatal(err)
	}
	if len(p) > 4*bpf.MaxInstructions {
		t.Fatalf("%d instructions", len(p))
	}

	opts := bpf.DisasmOptions{Namer: namer, Raw: true}
	lines := bpf.Listing(p, opts)
	named := 0
	for _, l := range lines {
		// Comparisons print as == or, when a trampoline right after
		// the jump takes the true branch, as !=.
		for _, prefix := range []string{"if (A == ", "if (A != "} {
			operand, ok := strings.CutPrefix(l.Text, prefix)
			if !ok || strings.HasPrefix(operand, "ARCH_") {
				continue
			}
			operand = operand[:strings.IndexByte(operand, ')')]
			if c := operand[0]; c < '0' || c > '9' {
				named++
			} else {
				t.Errorf("instruction %d not named: %s", l.Index, l.Text)
			}
		}
	}
	if named != len(want) {
		t.Errorf("%d of %d syscall comparisons named", named, len(want))
	}
	text := bpf.Disassemble(p, opts)
	back, err := bpf.Assemble(text, namer)
	if err != nil {
		t.Fatalf("%v", err)
	}
	if !reflect.DeepEqual(back, p) {
		t.Fatal("listing does not assemble back to the same program")
	}
}
