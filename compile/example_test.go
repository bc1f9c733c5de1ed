package compile_test

import (
	"fmt"

	"github.com/syscage/syscage/arch"
	"github.com/syscage/syscage/bpf"
	"github.com/syscage/syscage/compile"
	"github.com/syscage/syscage/policy"
)

// A small allow-list with one argument condition, compiled and listed.
func ExamplePolicy() {
	src := `arch x86_64
default errno(EPERM)
allow read write close
allow mprotect if prot none PROT_EXEC
`
	p, err := policy.Parse("example.policy", []byte(src), policy.ParseOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	res, err := compile.Policy(p, compile.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, line := range bpf.Listing(res.Filters[0], bpf.DisasmOptions{Namer: arch.Names()}) {
		fmt.Printf("%04d: %s\n", line.Index, line.Text)
	}
	// Output:
	// 0000: A = arch
	// 0001: if (A != ARCH_X86_64) goto 0018
	// 0002: A = sys_number
	// 0003: if (A >= munmap) goto 0011
	// 0004: if (A < open) goto 0010
	// 0005: if (A >= stat) goto 0007
	// 0006: if (A >= close) goto 0010 else goto 0019
	// 0007: if (A < mprotect) goto 0019
	// 0008: A = args[2]
	// 0009: if (A & 0x4) goto 0019
	// 0010: return ALLOW
	// 0011: if (A < 337) goto 0019
	// 0012: if (A >= 472) goto 0014
	// 0013: if (A >= pidfd_send_signal) goto 0019 else goto 0017
	// 0014: if (A >= 0x80000000) goto 0016
	// 0015: if (A >= 0x40000000) goto 0018 else goto 0017
	// 0016: if (A >= 0xc0000000) goto 0018
	// 0017: return ERRNO(38)
	// 0018: return KILL_PROCESS
	// 0019: return ERRNO(1)
}
