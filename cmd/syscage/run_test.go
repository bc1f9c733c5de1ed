package main

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/syscage/syscage/internal/testenv"
	"github.com/syscage/syscage/seccomp"
)

// TestRunCommand runs syscage run in-process; the init stage re-executes
// this test binary, whose run.go init function serves it.
func TestRunCommand(t *testing.T) {
	if err := seccomp.ProbeFlags(0); err != nil {
		testenv.Unavailable(t, "seccomp filters unavailable: %v", err)
	}
	dir := t.TempDir()
	write := func(name, data string, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(data), mode); err != nil {
			t.Fatal(err)
		}
		return p
	}
	bad := write("bad.policy", "default allow\nallow nosuchcall\n", 0o644)
	noDefault := write("nodefault.policy", "allow read\n", 0o644)
	oci := write("oci.json", `{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["getppid"], "action": "SCMP_ACT_ERRNO", "errnoRet": 7}]}`, 0o644)
	kill := write("kill.policy", "default allow\nkill_process getppid\n", 0o644)
	notExec := write("script", "#!/bin/sh\n", 0o644)
	noShebang := write("n.sh", "echo x\n", 0o755)
	cases := []struct {
		name    string
		args    []string
		code    int
		wantErr string
	}{
		{"success", []string{"run", "--", "true"}, 0, ""},
		{"the program's status", []string{"run", "--", "sh", "-c", "exit 3"}, 3, ""},
		{"the program's signal", []string{"run", "--", "sh", "-c", "kill -USR1 $$"}, 128 + 10, ""},
		{"an OCI profile", []string{"run", "--profile", oci, "--", "sh", "-c", "exit 4"}, 4, ""},
		{"strict, killed", []string{"run", "--profile", "strict", "--", "true"}, 128 + 31, ""},
		{"killed by a file's rule", []string{"run", "--profile", kill, "--", "sh", "-c", "echo $PPID"}, 128 + 31, ""},
		{"no command", []string{"run"}, exitUsage, "no command given"},
		{"unknown profile", []string{"run", "--profile", "defualt", "--", "true"}, exitUsage, `did you mean "default"`},
		{"unparsable profile", []string{"run", "--profile", bad, "--", "true"}, exitUsage, "bad.policy:2:7"},
		{"profile without default", []string{"run", "--profile", noDefault, "--", "true"}, exitUsage, "default"},
		{"missing profile file", []string{"run", "--profile", "/nonexistent.policy", "--", "true"}, exitUsage, "no such file"},
		{"program not found", []string{"run", "--", "syscage-no-such-program"}, exitNotFound, "not found"},
		{"program not executable", []string{"run", "--", notExec}, exitCannot, "permission denied"},
		{"unknown capability", []string{"run", "--cap-add", "CAP_SYS_ADMN", "--", "true"}, exitUsage, "SYS_ADMIN"},
		{"bad --net", []string{"run", "--net", "bridge", "--", "true"}, exitUsage, "--net"},
		{"unknown arch", []string{"run", "--arch", "vax", "--", "true"}, exitUsage, "--arch"},
		{"fd not open", []string{"run", "--keep-fd", "987", "--", "true"}, exitInternal, "987"},
		{"--env without =", []string{"run", "--env", "BAD", "--", "env"}, exitUsage, "want KEY=VALUE"},
		{"--env without a name", []string{"run", "--env", "=x", "--", "env"}, exitUsage, "want KEY=VALUE"},
		{"neither script nor binary", []string{"run", "--", noShebang}, exitCannot, noShebang + ": exec format error (no #! line and not an ELF binary)"},
		{"alerts with complain", []string{"run", "--complain", "--alerts", "-", "--", "true"}, exitUsage, "--complain"},
		{"alerts with exec", []string{"run", "--exec", "--kill-on-violation", "--", "true"}, exitUsage, "--exec"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, code, err := runBPFCLI(t, nil, c.args...)
			if code != c.code {
				t.Fatalf("exit %d (%v), want %d", code, err, c.code)
			}
			if c.wantErr != "" && (err == nil || !strings.Contains(err.Error(), c.wantErr)) {
				t.Errorf("error %v, want it to mention %q", err, c.wantErr)
			}
		})
	}
}

func TestProgramEnv(t *testing.T) {
	t.Setenv("TERM", "xterm")
	t.Setenv("SECRET", "x")
	env := programEnv(true, []string{"A=1", "A=2"})
	joined := strings.Join(env, "\n")
	if strings.Contains(joined, "SECRET") || !strings.Contains(joined, "TERM=xterm") || !strings.Contains(joined, "PATH=") {
		t.Errorf("clean environment %q", env)
	}
	if strings.Count(joined, "A=") != 1 || !strings.Contains(joined, "A=2") {
		t.Errorf("--env should set A once, to the last value: %q", env)
	}
	if env := programEnv(false, nil); !strings.Contains(strings.Join(env, "\n"), "SECRET=x") {
		t.Errorf("the environment should pass through without --clean-env")
	}
}

func TestCapSet(t *testing.T) {
	cases := []struct {
		add, drop []string
		want      string
	}{
		{nil, nil, sandboxDefault},
		{[]string{"SYS_PTRACE"}, []string{"chown,CAP_KILL"}, "CAP_DAC_OVERRIDE,CAP_FOWNER,CAP_FSETID,CAP_SETGID,CAP_SETUID,CAP_SETPCAP,CAP_NET_BIND_SERVICE,CAP_NET_RAW,CAP_SYS_CHROOT,CAP_SYS_PTRACE,CAP_MKNOD,CAP_AUDIT_WRITE,CAP_SETFCAP"},
		{[]string{"NET_ADMIN"}, []string{"ALL"}, "CAP_NET_ADMIN"},
		{[]string{"ALL"}, []string{"SYS_ADMIN"}, ""},
		{[]string{"KILL"}, []string{"KILL"}, "CAP_CHOWN,CAP_DAC_OVERRIDE,CAP_FOWNER,CAP_FSETID,CAP_SETGID,CAP_SETUID,CAP_SETPCAP,CAP_NET_BIND_SERVICE,CAP_NET_RAW,CAP_SYS_CHROOT,CAP_MKNOD,CAP_AUDIT_WRITE,CAP_SETFCAP"},
	}
	for _, c := range cases {
		got, err := capSet(c.add, c.drop)
		if err != nil {
			t.Fatal(err)
		}
		if c.want == "" {
			if got.Has(21) || !got.Has(19) {
				t.Errorf("add ALL drop SYS_ADMIN: %v", got)
			}
			continue
		}
		if got.String() != c.want {
			t.Errorf("add %v drop %v: got %v, want %v", c.add, c.drop, got, c.want)
		}
	}
	if _, err := capSet([]string{"CAP_NOPE"}, nil); err == nil {
		t.Error("an unknown capability was accepted")
	}
}

const sandboxDefault = "CAP_CHOWN,CAP_DAC_OVERRIDE,CAP_FOWNER,CAP_FSETID,CAP_KILL,CAP_SETGID,CAP_SETUID,CAP_SETPCAP,CAP_NET_BIND_SERVICE,CAP_NET_RAW,CAP_SYS_CHROOT,CAP_MKNOD,CAP_AUDIT_WRITE,CAP_SETFCAP"

// TestRunComplain runs a program whose syscall the profile kills, in
// complain mode: the program must succeed and the report on stderr must
// name the syscall.
func TestRunComplain(t *testing.T) {
	if err := seccomp.ProbeFlags(0); err != nil {
		testenv.Unavailable(t, "seccomp filters unavailable: %v", err)
	}
	testenv.NeedRoot(t) // the kernel log is read from /dev/kmsg
	if logged, err := seccomp.ReadActionsLogged(); err != nil || !slices.Contains(logged, "log") {
		testenv.Unavailable(t, "the kernel does not log the log action (actions_logged %v, %v)", logged, err)
	}
	profile := writeTemp(t, "kill-getppid.policy", []byte("default allow\nkill_process getppid\n"))
	// The shell asks for its parent's pid ($PPID) when it starts.
	args := []string{"run", "--profile", profile, "--complain", "--", "sh", "-c", "exit 0"}
	// printk's rate limit (shared with the whole machine) may drop the
	// record: try again after a pause when the report says so.
	for attempt := 0; ; attempt++ {
		code, stderr, err := runCLIStderr(t, args...)
		if code != 0 {
			t.Fatalf("exit %d (%v), want 0: complain mode must not kill\n%s", code, err, stderr)
		}
		if strings.Contains(stderr, "getppid") && strings.Contains(stderr, "would have denied") {
			return
		}
		if !strings.Contains(stderr, "WARNING: the kernel dropped") || attempt == 3 {
			t.Fatalf("the report does not name getppid:\n%s", stderr)
		}
		time.Sleep(2 * time.Second)
	}
}

// runCLIStderr runs the CLI in-process and returns its exit code and what
// it wrote to its error stream.
func runCLIStderr(t *testing.T, args ...string) (int, string, error) {
	t.Helper()
	_, errOut, code, err := execCLI(t, nil, args...)
	return code, errOut.String(), err
}

// cliEnv makes the test binary run the command line it holds (arguments
// separated by the ASCII unit separator) in its own process and exit: `syscage run
// --exec` replaces the process that runs it, which must not be the test
// process.
const cliEnv = "SYSCAGE_TEST_CLI"

func init() {
	if args, ok := os.LookupEnv(cliEnv); ok {
		os.Exit(runMain(strings.Split(args, "\x1f")))
	}
}

// TestRunExec runs `syscage run --exec` in a process of its own, which
// becomes the program.
func TestRunExec(t *testing.T) {
	if err := seccomp.ProbeFlags(0); err != nil {
		testenv.Unavailable(t, "seccomp filters unavailable: %v", err)
	}
	kill := writeTemp(t, "kill.policy", []byte("default allow\nkill_process getppid\n"))
	cases := []struct {
		name    string
		args    []string
		code    int // -1: killed by SIGSYS
		wantOut string
		wantErr string
	}{
		{"the program's status", []string{"sh", "-c", "exit 3"}, 3, "", ""},
		{"hardened and filtered", []string{"sh", "-c", `grep -E "^(NoNewPrivs|Seccomp):" /proc/self/status`}, 0, "NoNewPrivs:\t1\nSeccomp:\t2\n", ""},
		{"the same process", []string{"sh", "-c", "echo $$"}, 0, "PID\n", ""},
		{"killed, unexplained", []string{"--profile", kill, "--", "sh", "-c", "echo $PPID"}, -1, "", ""},
		{"not found", []string{"syscage-no-such-program"}, exitNotFound, "", "not found"},
		{"no user namespace", []string{"--userns", "--", "true"}, exitUsage, "", "--userns"},
		{"no complain mode", []string{"--complain", "--", "true"}, exitUsage, "", "--complain"},
		{"no profile that denies execve", []string{"--profile", "no-exec", "--", "true"}, exitUsage, "", "denies execve"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			args := append([]string{"run", "--exec"}, c.args...)
			if !slices.Contains(c.args, "--") {
				args = append([]string{"run", "--exec", "--"}, c.args...)
			}
			ws, out, errOut, pid := runCLIStatus(t, args...)
			code := ws.ExitStatus()
			if ws.Signaled() {
				code = -1
				if ws.Signal() != syscall.SIGSYS {
					t.Fatalf("killed by %v, want SIGSYS", ws.Signal())
				}
			}
			if code != c.code {
				t.Fatalf("exit %d, want %d; stdout %q stderr %q", code, c.code, out, errOut)
			}
			want := strings.ReplaceAll(c.wantOut, "PID", fmt.Sprint(pid))
			if out != want {
				t.Errorf("stdout %q, want %q", out, want)
			}
			if c.wantErr == "" && errOut != "" {
				t.Errorf("stderr %q, want nothing: no supervisor stays to speak", errOut)
			}
			if !strings.Contains(errOut, c.wantErr) {
				t.Errorf("stderr %q, want it to mention %q", errOut, c.wantErr)
			}
		})
	}
}
