// Package tty answers questions about the calling process's controlling
// terminal that the launcher and the recorder both ask when deciding
// whether a terminal signal was meant for them or for the program.
//
// It uses package syscall rather than golang.org/x/sys/unix: package
// sandbox/presignal imports it, and `syscage run` subscribes to signals
// from presignal during package initialisation, which Go runs in import
// path order once a package's imports are initialised. With x/sys/unix
// among them, the subscription would wait for a dozen unrelated
// packages (bpf, arch, encoding/json and others) to be initialised
// first.
package tty

import (
	"syscall"
	"unsafe"
)

// InForeground reports whether the calling process's group is the
// foreground group of its controlling terminal (false without one).
func InForeground() bool {
	fd, err := syscall.Open("/dev/tty", syscall.O_RDONLY|syscall.O_NOCTTY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return false
	}
	defer syscall.Close(fd)
	var fg int32
	_, _, e := syscall.Syscall(syscall.SYS_IOCTL, uintptr(fd), syscall.TIOCGPGRP, uintptr(unsafe.Pointer(&fg)))
	return e == 0 && int(fg) == syscall.Getpgrp()
}
