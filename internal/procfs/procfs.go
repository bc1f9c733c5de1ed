// Package procfs reads the process facts syscage needs from /proc, for
// the packages that follow a program's process tree.
package procfs

import (
	"errors"
	"os"
	"strconv"
	"strings"
)

// PPid returns the parent of process pid, from /proc/PID/stat.
func PPid(pid int) (int, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, err
	}
	return StatPPid(string(b))
}

// StatPPid reads the parent pid from the text of /proc/PID/stat, whose
// fields are "pid (comm) state ppid ..." (fs/proc/array.c: do_task_stat).
// The command name may hold spaces and parentheses, so the fields are
// counted from after the last ')'.
func StatPPid(stat string) (int, error) {
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, errors.New("/proc stat without the ')' that ends the command name")
	}
	f := strings.Fields(stat[i+1:])
	if len(f) < 2 {
		return 0, errors.New("/proc stat ends before the parent pid (field 4)")
	}
	return strconv.Atoi(f[1])
}
