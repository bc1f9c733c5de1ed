package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/syscage/syscage/internal/testenv"
	"github.com/syscage/syscage/seccomp"
)

// runCLIProcess runs the command line in a process of its own (the test
// binary in cliEnv mode) and returns the program's output as well as
// syscage's, which the in-process runner cannot separate.
func runCLIProcess(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	ws, stdout, stderr, _ := runCLIStatus(t, args...)
	if ws.Signaled() {
		t.Fatalf("syscage itself died of %v; stderr %q", ws.Signal(), stderr)
	}
	return ws.ExitStatus(), stdout, stderr
}

// runCLIStatus is runCLIProcess for a run that may end by a signal: it
// returns the wait status and the process's pid.
func runCLIStatus(t *testing.T, args ...string) (ws syscall.WaitStatus, stdout, stderr string, pid int) {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), cliEnv+"="+strings.Join(args, "\x1f"))
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err = cmd.Run()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatal(err)
	}
	return cmd.ProcessState.Sys().(syscall.WaitStatus), out.String(), errOut.String(), cmd.Process.Pid
}

func needListener(t *testing.T) {
	t.Helper()
	if err := seccomp.ProbeFlags(seccomp.FlagNewListener); err != nil {
		testenv.Unavailable(t, "seccomp user notification unavailable: %v", err)
	}
}

// TestRunFilesBlock runs programs under a profile whose files block the
// broker serves: allowed files open, others fail with the block's errno,
// and the program goes on.
func TestRunFilesBlock(t *testing.T) {
	needListener(t)
	dir := t.TempDir()
	allowed := filepath.Join(dir, "allowed")
	secret := filepath.Join(dir, "secret")
	for _, d := range []string{allowed, secret} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	ok := filepath.Join(allowed, "ok.txt")
	hidden := filepath.Join(secret, "s.txt")
	if err := os.WriteFile(ok, []byte("allowed content\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(hidden, []byte("secret content\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// What the dynamic loader and libc open, where it exists here.
	roots := []string{}
	for _, r := range []string{"/usr", "/lib", "/lib64", "/lib32", "/etc"} {
		if st, err := os.Lstat(r); err == nil && st.IsDir() {
			roots = append(roots, r)
		}
	}
	block := "files errno(EACCES) {\n    read dir " + strings.Join(roots, " ") + " " + allowed + "\n}\nnotify open openat openat2 creat\n"
	plain := filepath.Join(dir, "files.policy")
	if err := os.WriteFile(plain, []byte("default allow\n"+block), 0o644); err != nil {
		t.Fatal(err)
	}
	// With execve denied too: the exec gate's execve and the broker share
	// the one listener.
	noExec := filepath.Join(dir, "noexec.policy")
	if err := os.WriteFile(noExec, []byte("default allow\nerrno(EPERM) execve execveat\n"+block), 0o644); err != nil {
		t.Fatal(err)
	}
	script := "cat " + ok + "; cat " + hidden + "; echo after=$?"
	cases := []struct {
		name, profile string
		args          []string
		wantOut       string
		wantErr       string
	}{
		{"allowed file", plain, []string{"cat", ok}, "allowed content\n", ""},
		{"refused, the program goes on", plain, []string{"sh", "-c", script}, "allowed content\nafter=1\n", "Permission denied"},
		// The shell opens the files itself: it can execute nothing.
		{"with execve denied", noExec, []string{"sh", "-c", "read l < " + ok + "; echo $l; (read l < " + hidden + ") || echo refused; /bin/true || echo exec refused"},
			"allowed content\nrefused\nexec refused\n", "Permission denied"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			args := append([]string{"run", "--profile", c.profile, "--"}, c.args...)
			code, out, errOut := runCLIProcess(t, args...)
			if code != 0 {
				t.Fatalf("exit %d, want 0; stdout %q stderr %q", code, out, errOut)
			}
			if out != c.wantOut {
				t.Errorf("stdout %q, want %q (stderr %q)", out, c.wantOut, errOut)
			}
			if strings.Contains(out, "secret") {
				t.Errorf("the secret was read: %q", out)
			}
			if !strings.Contains(errOut, c.wantErr) {
				t.Errorf("stderr %q, want it to mention %q", errOut, c.wantErr)
			}
		})
	}
}

// TestRunAlerts runs a program that makes a syscall the default profile
// refuses (unshare of a user namespace) with --alerts and with
// --kill-on-violation.
func TestRunAlerts(t *testing.T) {
	needListener(t)
	unshare := testenv.NeedCommand(t, "unshare")
	alerts := filepath.Join(t.TempDir(), "alerts.jsonl")

	t.Run("alerts", func(t *testing.T) {
		code, _, errOut := runCLIProcess(t, "run", "--alerts", alerts, "--", unshare, "-U", "true")
		if code != 1 || !strings.Contains(errOut, "Operation not permitted") {
			t.Fatalf("exit %d, stderr %q: want unshare to fail with EPERM as without alerts", code, errOut)
		}
		data, err := os.ReadFile(alerts)
		if err != nil {
			t.Fatal(err)
		}
		var found []map[string]any
		for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
			var ev map[string]any
			if err := json.Unmarshal([]byte(line), &ev); err != nil {
				t.Fatalf("alert %q: %v", line, err)
			}
			if ev["syscall"] == "unshare" {
				found = append(found, ev)
			}
		}
		if len(found) != 1 {
			t.Fatalf("%d events for unshare, want 1:\n%s", len(found), data)
		}
		ev := found[0]
		for k, want := range map[string]string{"arch": "x86_64", "action": "errno(EPERM)"} {
			if ev[k] != want {
				t.Errorf("%s = %v, want %q", k, ev[k], want)
			}
		}
		if rule, _ := ev["rule"].(string); !strings.Contains(rule, "default.policy:") || !strings.Contains(rule, "unshare") {
			t.Errorf("rule %q, want the default profile's rule that names unshare", rule)
		}
	})

	t.Run("kill on violation", func(t *testing.T) {
		code, out, errOut := runCLIProcess(t, "run", "--kill-on-violation", "--", "sh", "-c", unshare+" -U true; echo survived")
		if code != 128+int(syscall.SIGKILL) {
			t.Fatalf("exit %d, want %d (killed); stdout %q stderr %q", code, 128+int(syscall.SIGKILL), out, errOut)
		}
		if strings.Contains(out, "survived") {
			t.Errorf("the sandbox went on after the violation: %q", out)
		}
		for _, want := range []string{"killed the sandbox", "(unshare)", "--kill-on-violation"} {
			if !strings.Contains(errOut, want) {
				t.Errorf("stderr %q, want it to mention %q", errOut, want)
			}
		}
	})
	t.Run("kill action with alerts", func(t *testing.T) {
		kill := filepath.Join(t.TempDir(), "kill.policy")
		if err := os.WriteFile(kill, []byte("default allow\nkill_process getppid\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		code, out, errOut := runCLIProcess(t, "run", "--alerts", "-", "--profile", kill, "--", "sh", "-c", "echo $PPID")
		if code != 128+int(syscall.SIGKILL) {
			t.Fatalf("exit %d, want %d; stdout %q stderr %q", code, 128+int(syscall.SIGKILL), out, errOut)
		}
		for _, want := range []string{`"action":"kill_process"`, "kill.policy:2:1", "(getppid)", "kill action"} {
			if !strings.Contains(errOut, want) {
				t.Errorf("stderr %q, want it to mention %q", errOut, want)
			}
		}
	})
}
