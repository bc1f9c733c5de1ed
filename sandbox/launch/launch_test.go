package launch

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/syscage/syscage/internal/testenv"
)

func TestLookPath(t *testing.T) {
	dir := t.TempDir()
	exe := filepath.Join(dir, "prog")
	if err := os.WriteFile(exe, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "plain"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", "/nonexistent:"+dir)
	t.Chdir(dir)
	for _, tc := range []struct {
		name, want, searched string
		env                  []string
		ok                   bool
	}{
		{"prog", exe, "/nonexistent:" + dir, nil, true},
		{"./anything", "./anything", "", nil, true}, // a path: execve decides
		{"plain", "", "/nonexistent:" + dir, nil, false},
		{"sub", "", "/nonexistent:" + dir, nil, false},
		{"prog", exe, dir, []string{"A=1", "PATH=" + dir}, true},
		{"prog", "", DefaultPath, []string{"A=1"}, false}, // no PATH: the default, not the process's
		{"sh", "", "", []string{"PATH="}, false},
		// Empty directories are the working directory, as execvp(3) and
		// exec.LookPath have them.
		{"prog", "prog", "/nonexistent::", []string{"PATH=/nonexistent::"}, true},
		{"prog", "prog", ":/nonexistent", []string{"PATH=:/nonexistent"}, true},
		{"prog", exe, "/nonexistent:" + dir + "/:", []string{"PATH=/nonexistent:" + dir + "/:"}, true},
	} {
		path, searched, ok := LookPath(tc.name, tc.env)
		if path != tc.want || ok != tc.ok || (tc.searched != "" && searched != tc.searched) {
			t.Errorf("LookPath(%q, %q) = %q, %q, %v; want %q, %q, %v", tc.name, tc.env, path, searched, ok, tc.want, tc.searched, tc.ok)
		}
	}
}

func TestWait(t *testing.T) {
	pid, err := syscall.ForkExec("/bin/sh", []string{"sh", "-c", "exit 7"}, &syscall.ProcAttr{Files: []uintptr{0, 1, 2}})
	if err != nil {
		t.Fatal(err)
	}
	between := false
	ws, err := Wait(pid, func() {
		// Not reaped yet: the zombie is still there.
		if _, err := os.Stat(fmt.Sprintf("/proc/%d", pid)); err != nil {
			t.Errorf("pid %d already reaped before between: %v", pid, err)
		}
		between = true
	})
	if err != nil || !between || !ws.Exited() || ws.ExitStatus() != 7 {
		t.Errorf("Wait: %v, between called %v, status %v", err, between, ws)
	}
	if _, err := os.Stat(fmt.Sprintf("/proc/%d", pid)); err == nil {
		t.Errorf("pid %d not reaped", pid)
	}
	// Not a child: an error, not a hang.
	if _, err := Wait(1, nil); err == nil {
		t.Error("Wait of a process that is not a child succeeded")
	}
}

func TestOpenKernelLog(t *testing.T) {
	fd, err := OpenKernelLog()
	if err != nil {
		testenv.Unavailable(t, "/dev/kmsg cannot be read here (it needs root or CAP_SYSLOG): %v", err)
	}
	defer syscall.Close(fd)
	// At its end: nothing old to read (EAGAIN), unless something was
	// logged meanwhile.
	buf := make([]byte, 8192)
	if _, err := syscall.Read(fd, buf); err != nil && err != syscall.EAGAIN {
		t.Errorf("read: %v", err)
	}
}
