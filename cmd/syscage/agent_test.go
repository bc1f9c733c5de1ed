package main

import (
	"bytes"
	"context"
	"debug/elf"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/syscage/syscage/internal/testenv"
	"github.com/syscage/syscage/policy"
)

// TestAgentRunc runs busybox containers with the real runc, their
// profile sending open, openat, openat2 and creat to `syscage agent`: an
// allowed file reads fine, a denied one fails with EACCES, a file created
// in a writable tree reads back, and the agent goes on to serve the next
// container. One policy file is both: the container's profile is the
// policy exported to OCI JSON, and the agent serves its files block.
func TestAgentRunc(t *testing.T) {
	testenv.NeedRoot(t)
	runc := testenv.NeedCommand(t, "runc")
	busybox := staticBusybox(t)
	dir := t.TempDir()
	sock := filepath.Join(dir, "agent.sock")
	rules := filepath.Join(dir, "web.policy")
	alerts := filepath.Join(dir, "alerts.jsonl")
	writeFile(t, rules, `default allow
listener `+strconv.Quote(sock)+` metadata "policy=web"
files errno(EACCES) {
    read dir /
    deny /secret
    read write create /tmp
}
notify open openat openat2 creat
`)
	p, err := policy.ParseFile(rules, policy.ParseOptions{})
	if err != nil {
		t.Fatal(err)
	}
	profile, err := policy.FormatOCI(p)
	if err != nil {
		t.Fatal(err)
	}

	var logs syncBuffer
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- runAgent(ctx, &logs, agentOptions{socket: sock, policies: []string{"web=" + rules}, alerts: alerts}, func() { close(ready) })
	}()
	select {
	case <-ready:
	case err := <-done:
		t.Fatalf("agent: %v", err)
	}
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("agent: %v", err)
		}
	}()

	script := "cat /allowed/ok.txt; cat /secret/s.txt; echo rc=$?; echo hi > /tmp/x && cat /tmp/x"
	for i, id := range []string{"syscage-agent-test-1", "syscage-agent-test-2"} {
		bundle := busyboxBundle(t, busybox, filepath.Join(dir, fmt.Sprint("b", i)), script, profile)
		out, err := runRunc(t, runc, filepath.Join(dir, "state"), bundle, id)
		if err != nil {
			t.Fatalf("runc run %s: %v\n%s\nagent log:\n%s", id, err, out, logs.String())
		}
		for _, want := range []string{"OK\n", "can't open '/secret/s.txt': Permission denied", "rc=1\n", "hi\n"} {
			if !strings.Contains(out, want) {
				t.Errorf("container %s: output lacks %q:\n%s\nagent log:\n%s", id, want, out, logs.String())
			}
		}
		t.Logf("container %s said:\n%s", id, out)
		if strings.Contains(out, "SECRET") {
			t.Errorf("container %s read the secret:\n%s", id, out)
		}
	}
	// Alerts name the container and the refused path.
	waitFor(t, func() bool { return strings.Count(logs.String(), "done:") == 2 })
	raw, err := os.ReadFile(alerts)
	if err != nil {
		t.Fatal(err)
	}
	var seen int
	for _, line := range strings.Split(strings.TrimSpace(string(raw)), "\n") {
		var ev struct{ Path, Container, Action, Syscall, Rule string }
		if err := json.Unmarshal([]byte(line), &ev); err != nil {
			t.Fatalf("alert %q: %v", line, err)
		}
		// The alert names the rule that refused, where the policy says it.
		if ev.Path == "/secret/s.txt" && strings.HasPrefix(ev.Container, "syscage-agent-test-") && ev.Action == "errno(EACCES)" &&
			ev.Rule == rules+":5:10: deny /secret" {
			seen++
		}
	}
	if seen != 2 {
		t.Errorf("%d alerts for /secret/s.txt, want one per container:\n%s", seen, raw)
	}
}

// TestAgentErrors covers the command's own bad input.
func TestAgentErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.policy")
	writeFile(t, bad, "default allow\nfiles {\n    raed /etc\n}\nnotify openat\n")
	noFiles := filepath.Join(dir, "nofiles.policy")
	writeFile(t, noFiles, "default allow\nnotify openat\n")
	ruleFile := filepath.Join(dir, "web.files")
	writeFile(t, ruleFile, "read /etc\n")
	notSock := filepath.Join(dir, "plain")
	writeFile(t, notSock, "")
	good := filepath.Join(dir, "good.policy")
	writeFile(t, good, "default allow\nfiles {\n    read /etc\n}\nnotify open openat openat2 creat\n")
	cases := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"agent"}, exitUsage, "--socket is required"},
		{[]string{"agent", "--socket", filepath.Join(dir, "s")}, exitUsage, "no policy"},
		{[]string{"agent", "--socket", filepath.Join(dir, "s"), "--policy", "web"}, exitUsage, "want NAME=FILE"},
		{[]string{"agent", "--socket", filepath.Join(dir, "s"), "--policy", "web=" + bad}, exitUsage, `bad.policy:3:5: unknown permission "raed" (permissions are read, write, create, dir, nosymlinks and deny); did you mean "read"?`},
		{[]string{"agent", "--socket", filepath.Join(dir, "s"), "--policy", "web=" + noFiles}, exitUsage, "nofiles.policy has no files block"},
		{[]string{"agent", "--socket", filepath.Join(dir, "s"), "--policy", "web=" + ruleFile}, exitUsage, `web.files:1:1: found "read", expected a rule or a header line: file rules such as` + " `read /data` go inside a files block"},
		{[]string{"agent", "--socket", filepath.Join(dir, "s"), "--default-policy", filepath.Join(dir, "missing")}, exitUsage, "no such file"},
		{[]string{"agent", "--socket", notSock, "--default-policy", good}, exitSystem, "exists and is not a socket"},
	}
	for _, c := range cases {
		code, stderr := runCLI(t, c.args...)
		if code != c.code || !strings.Contains(stderr, c.want) {
			t.Errorf("syscage %s: exit %d, stderr %q; want exit %d and %q", strings.Join(c.args, " "), code, stderr, c.code, c.want)
		}
	}
}

// runCLI runs the command in-process and returns its exit code and what
// it wrote to stderr.
func runCLI(t *testing.T, args ...string) (int, string) {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	old := os.Stderr
	os.Stderr = w
	code := runMain(args)
	os.Stderr = old
	w.Close()
	b, _ := io.ReadAll(r)
	return code, string(b)
}

// staticBusybox finds a statically linked busybox, which a container can
// run without a library in its root file system.
func staticBusybox(t *testing.T) string {
	t.Helper()
	for _, p := range []string{"/bin/busybox", "/usr/bin/busybox"} {
		f, err := elf.Open(p)
		if err != nil {
			continue
		}
		static := true
		for _, prog := range f.Progs {
			if prog.Type == elf.PT_INTERP {
				static = false
			}
		}
		f.Close()
		if static {
			return p
		}
	}
	testenv.Unavailable(t, "needs a static busybox (apt-get install busybox-static)")
	return ""
}

// busyboxBundle builds an OCI bundle whose root file system holds busybox
// and three files, with the seccomp profile given as JSON.
func busyboxBundle(t *testing.T, busybox, dir, script string, profile []byte) string {
	t.Helper()
	rootfs := filepath.Join(dir, "rootfs")
	for _, d := range []string{"bin", "proc", "dev", "sys", "tmp", "etc", "allowed", "secret"} {
		if err := os.MkdirAll(filepath.Join(rootfs, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	data, err := os.ReadFile(busybox)
	if err != nil {
		t.Fatal(err)
	}
	writeFileMode(t, filepath.Join(rootfs, "bin/busybox"), string(data), 0o755)
	for _, applet := range []string{"sh", "cat", "echo"} {
		if err := os.Symlink("busybox", filepath.Join(rootfs, "bin", applet)); err != nil {
			t.Fatal(err)
		}
	}
	writeFile(t, filepath.Join(rootfs, "allowed/ok.txt"), "OK\n")
	writeFile(t, filepath.Join(rootfs, "secret/s.txt"), "SECRET\n")
	config := map[string]any{
		"ociVersion": "1.0.2",
		"process": map[string]any{
			"terminal":        false,
			"user":            map[string]any{"uid": 0, "gid": 0},
			"args":            []string{"/bin/sh", "-c", script},
			"env":             []string{"PATH=/bin"},
			"cwd":             "/",
			"noNewPrivileges": true,
			"capabilities": map[string]any{
				"bounding":  []string{"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_KILL", "CAP_SETUID", "CAP_SETGID"},
				"effective": []string{"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_KILL", "CAP_SETUID", "CAP_SETGID"},
				"permitted": []string{"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_KILL", "CAP_SETUID", "CAP_SETGID"},
			},
		},
		"root":     map[string]any{"path": "rootfs", "readonly": false},
		"hostname": "syscage",
		"mounts": []map[string]any{
			{"destination": "/proc", "type": "proc", "source": "proc"},
			{"destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": []string{"nosuid", "strictatime", "mode=755", "size=65536k"}},
		},
		"linux": map[string]any{
			"namespaces": []map[string]any{{"type": "pid"}, {"type": "ipc"}, {"type": "uts"}, {"type": "mount"}},
			"seccomp":    json.RawMessage(profile),
		},
	}
	b, err := json.MarshalIndent(config, "", " ")
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "config.json"), string(b))
	return dir
}

func runRunc(t *testing.T, runc, root, bundle, id string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var out bytes.Buffer
	cmd := exec.CommandContext(ctx, runc, "--root", root, "run", "--bundle", bundle, id)
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	exec.Command(runc, "--root", root, "delete", "--force", id).Run()
	return out.String(), err
}

func writeFile(t *testing.T, path, content string) { writeFileMode(t, path, content, 0o644) }

func writeFileMode(t *testing.T, path, content string, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatal("timed out waiting")
}

// syncBuffer is a bytes.Buffer safe for concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
