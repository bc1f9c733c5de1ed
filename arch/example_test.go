package arch_test

import (
	"fmt"

	"github.com/syscage/syscage/arch"
)

func ExampleByName() {
	a, err := arch.ByName("arm64")
	if err != nil {
		panic(err)
	}
	fmt.Printf("%s %#x\n", a, a.AuditArch)
	_, err = arch.ByName("aarch46")
	fmt.Println(err != nil)
	// Output:
	// aarch64 0xc00000b7
	// true
}

func ExampleArch_Lookup() {
	for _, name := range []string{"x86_64", "x32", "mips", "mips64"} {
		a, _ := arch.ByName(name)
		nr, _ := a.Lookup("read")
		fmt.Printf("%s read=%#x\n", a, nr)
	}
	// Output:
	// x86_64 read=0x0
	// x32 read=0x40000000
	// mips read=0xfa3
	// mips64 read=0x1388
}

func ExampleArch_Resolve() {
	a, _ := arch.ByName("aarch64")
	s, _ := a.Resolve("0x38")
	fmt.Println(s.Name, s.Nr)
	_, err := a.Resolve("open")
	fmt.Println(err)
	// Output:
	// openat 56
	// unknown syscall "open" for aarch64 (it exists on x86_64, i386, x32, arm, ..., not on aarch64); did you mean "openat", "openat2", "open_tree"?
}

func ExampleArch_Signature() {
	a, _ := arch.ByName("x86_64")
	s, _ := a.Signature("ioctl")
	for _, p := range s.Args {
		fmt.Printf("%s %s: %s\n", p.Type, p.Name, p.Kind)
	}
	// Output:
	// unsigned int fd: int
	// unsigned int cmd: int
	// unsigned long arg: long
}

func ExampleSignatureOf() {
	s, _ := arch.SignatureOf("openat")
	fmt.Println(s)
	// Output:
	// openat(int dfd, const char * filename, int flags, umode_t mode)
}

func ExampleArch_Constant() {
	for _, name := range []string{"x86_64", "mips"} {
		a, _ := arch.ByName(name)
		stream, _ := a.Constant("SOCK_STREAM")
		enosys, _ := a.Errno("ENOSYS")
		fmt.Println(a, stream, enosys)
	}
	// Output:
	// x86_64 1 38
	// mips 2 89
}

func ExampleNames() {
	n := arch.Names()
	name, _ := n.AuditArchName(0xc000003e)
	x64, _ := n.SyscallName(0xc000003e, 19)
	x32, _ := n.SyscallName(0xc000003e, 0x40000000|515)
	fmt.Println(name, x64, x32)
	// Output:
	// ARCH_X86_64 readv readv
}
