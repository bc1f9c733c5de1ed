package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/syscage/syscage/internal/testenv"
	"github.com/syscage/syscage/seccomp"
)

// captureMain runs the CLI with args and returns what it printed on
// stdout and stderr, and its exit code.
func captureMain(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	dir := t.TempDir()
	outF, err := os.Create(filepath.Join(dir, "stdout"))
	if err != nil {
		t.Fatal(err)
	}
	errF, err := os.Create(filepath.Join(dir, "stderr"))
	if err != nil {
		t.Fatal(err)
	}
	oldOut, oldErr := os.Stdout, os.Stderr
	os.Stdout, os.Stderr = outF, errF
	code = runMain(args)
	os.Stdout, os.Stderr = oldOut, oldErr
	outF.Close()
	errF.Close()
	o, _ := os.ReadFile(outF.Name())
	e, _ := os.ReadFile(errF.Name())
	return string(o), string(e), code
}

// needKernelDump skips without root or filter mode (fails under CI).
func needKernelDump(t *testing.T) {
	t.Helper()
	if err := seccomp.ProbeFlags(0); err != nil {
		testenv.Unavailable(t, "seccomp filter mode unavailable: %v", err)
	}
	testenv.NeedRoot(t)
}

// deadPID returns the pid of a process that has exited and been reaped.
func deadPID(t *testing.T) int {
	t.Helper()
	p, err := os.StartProcess("/bin/true", []string{"true"}, &os.ProcAttr{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Wait(); err != nil {
		t.Fatal(err)
	}
	return p.Pid
}

func TestKernelCommand(t *testing.T) {
	needKernelDump(t)
	avail, err := os.ReadFile("/proc/sys/kernel/seccomp/actions_avail")
	if err != nil {
		t.Fatal(err)
	}
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		t.Fatal(err)
	}

	t.Run("json", func(t *testing.T) {
		out, errOut, code := captureMain(t, "kernel", "--json")
		if code != exitOK {
			t.Fatalf("exit %d: %s", code, errOut)
		}
		var k seccomp.KernelInfo
		if err := json.Unmarshal([]byte(out), &k); err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		if k.Release != unix.ByteSliceToString(u.Release[:]) {
			t.Errorf("release %q", k.Release)
		}
		if got := k.Actions.Available(); !slices.Equal(got, strings.Fields(string(avail))) {
			t.Errorf("actions %v, actions_avail says %s", got, avail)
		}
		if len(k.Flags) != len(seccomp.FlagNames()) || k.NotifSizes == nil {
			t.Errorf("flags %v notif sizes %v", k.Flags, k.NotifSizes)
		}
	})

	t.Run("text", func(t *testing.T) {
		out, errOut, code := captureMain(t, "kernel")
		if code != exitOK {
			t.Fatalf("exit %d: %s", code, errOut)
		}
		want := append(strings.Fields(string(avail)), seccomp.FlagNames()...)
		want = append(want, unix.ByteSliceToString(u.Release[:]), "Notification sizes:", "Constant-action cache:", "BPF JIT:")
		for _, w := range want {
			if !strings.Contains(out, w) {
				t.Errorf("output lacks %q:\n%s", w, out)
			}
		}
		if strings.Contains(out, "Problems:") {
			t.Errorf("problems reported:\n%s", out)
		}
	})
}

func TestKernelLogActions(t *testing.T) {
	needKernelDump(t)
	const path = "/proc/sys/kernel/seccomp/actions_logged"
	before, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	current := strings.Join(strings.Fields(string(before)), ",")
	cases := []struct {
		name string
		list string
		code int
		msg  string
	}{
		// Writing the current list back: the file is global and other
		// tests may rely on its audit records.
		{"current list", current, exitOK, ""},
		{"allow", "errno,allow", exitUsage, `"allow" cannot be logged`},
		{"misspelt", "kill_proces", exitUsage, `did you mean "kill_process"`},
		{"empty", " ", exitUsage, `pass "none"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out, errOut, code := captureMain(t, "kernel", "--log-actions", c.list)
			if code != c.code || !strings.Contains(errOut, c.msg) {
				t.Errorf("exit %d, stderr %q; want %d and %q", code, errOut, c.code, c.msg)
			}
			if c.code == exitOK && !strings.HasPrefix(out, "actions_logged: ") {
				t.Errorf("stdout %q", out)
			}
			after, err := os.ReadFile(path)
			if err != nil || string(after) != string(before) {
				t.Errorf("actions_logged changed: %q -> %q (%v)", before, after, err)
			}
		})
	}
}
