// Package int80 makes system calls through the i386 entry point (int
// $0x80) from a 64-bit process, so tests can show the kernel's seccomp
// decisions for AUDIT_ARCH_I386 next to x86_64 ones. It is for tests of
// this module only.
package int80
