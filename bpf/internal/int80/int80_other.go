//go:build !amd64

package int80

// Available reports whether this build can make i386 system calls.
const Available = false

// Syscall is not available on this architecture; it returns -ENOSYS.
func Syscall(nr, a1, a2, a3, a4, a5, a6 uintptr) int32 { return -38 }
