// Package tty answers questions about the calling process's controlling
// terminal that the launcher and the recorder both ask when deciding
// whether a terminal signal was meant for them or for the program.
package tty

import "golang.org/x/sys/unix"

// InForeground reports whether the calling process's group is the
// foreground group of its controlling terminal (false without one).
func InForeground() bool {
	fd, err := unix.Open("/dev/tty", unix.O_RDONLY|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		return false
	}
	defer unix.Close(fd)
	fg, err := unix.IoctlGetInt(fd, unix.TIOCGPGRP)
	return err == nil && fg == unix.Getpgrp()
}
