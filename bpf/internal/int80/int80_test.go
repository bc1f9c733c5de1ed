package int80

import (
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"github.com/syscage/syscage/internal/testenv"
)

// TestMain runs the probe child when asked: without IA32 emulation the
// i386 entry faults, and only a child may die of that.
func TestMain(m *testing.M) {
	if os.Getenv("INT80_TEST_CHILD") == "1" {
		fmt.Println(Syscall(20, 0, 0, 0, 0, 0, 0), Syscall(1000, 0, 0, 0, 0, 0, 0))
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// TestSyscall compares the i386 getpid (20) with the process id and
// checks that a number with no i386 system call fails with ENOSYS.
func TestSyscall(t *testing.T) {
	if !Available {
		t.Skip("no i386 entry on this architecture")
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "INT80_TEST_CHILD=1")
	out, err := cmd.Output()
	if err != nil {
		testenv.Unavailable(t, "the i386 entry does not work here (kernel without IA32 emulation?): %v", err)
	}
	f := strings.Fields(string(out))
	if len(f) != 2 {
		t.Fatalf("child printed %q", out)
	}
	pid, _ := strconv.Atoi(f[0])
	if pid != cmd.Process.Pid {
		t.Errorf("i386 getpid = %s, want the child's pid %d", f[0], cmd.Process.Pid)
	}
	if f[1] != "-38" {
		t.Errorf("i386 syscall 1000 = %s, want -38 (ENOSYS)", f[1])
	}
}
