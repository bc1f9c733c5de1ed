package compile_test

import (
	"fmt"
	"strings"

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
	// 0001: if (A != ARCH_X86_64) goto 0017
	// 0002: A = sys_number
	// 0003: if (A >= munmap) goto 0010
	// 0004: if (A >= stat) goto 0006
	// 0005: if (A == open) goto 0018 else goto 0009
	// 0006: if (A < mprotect) goto 0018
	// 0007: A = args[2]
	// 0008: if (A & 0x4) goto 0018
	// 0009: return ALLOW
	// 0010: if (A < 337) goto 0018
	// 0011: if (A >= 0x40000000) goto 0014
	// 0012: if (A < pidfd_send_signal) goto 0016
	// 0013: if (A >= 472) goto 0016 else goto 0018
	// 0014: if (A < 0x80000000) goto 0017
	// 0015: if (A >= 0xc0000000) goto 0017
	// 0016: return ERRNO(38)
	// 0017: return KILL_PROCESS
	// 0018: return ERRNO(1)
}

// Explain runs the compiled filter on one syscall and names the policy
// line that decided it.
func ExampleResult_Explain() {
	src := `arch x86_64
default errno(EPERM)
allow read write close
allow socket if family in {AF_UNIX, AF_INET}
`
	p, err := policy.Parse("app.policy", []byte(src), policy.ParseOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	res, err := compile.Policy(p, compile.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	x86, _ := arch.ByName("x86_64")
	socket, _ := x86.Lookup("socket")
	for _, family := range []uint64{1, 10} { // AF_UNIX, AF_INET6
		d := bpf.SeccompData{Arch: x86.AuditArch, Nr: int32(socket), Args: [6]uint64{family}}
		t, err := res.Explain(&d)
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Printf("socket(%d): %s after %d instructions, decided by %s\n", family, bpf.ActionString(t.Action), len(t.Paths[0]), t.Origin)
	}
	// Output:
	// socket(1): ALLOW after 9 instructions, decided by rule at app.policy:4:1
	// socket(10): ERRNO(1) after 10 instructions, decided by default
}

// Frequencies measured with strace tell the compiler which syscalls to
// reach first.
func ExampleReadFrequencies() {
	summary := `% time     seconds  usecs/call     calls    errors syscall
------ ----------- ----------- --------- --------- ----------------
 70.00    0.000700           1       700           read
 30.00    0.000300           3       100           write
------ ----------- ----------- --------- --------- ----------------
100.00    0.001000           1       800           total
`
	freq, err := compile.ReadFrequencies(strings.NewReader(summary))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(freq["read"], freq["write"])
	// Output: 700 100
}
