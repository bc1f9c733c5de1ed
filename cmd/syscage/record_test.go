package main

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/syscage/syscage/internal/testenv"
	"github.com/syscage/syscage/policy"
	"github.com/syscage/syscage/record"
	"github.com/syscage/syscage/seccomp"
)

// needRecorder skips when this kernel cannot run the recorder (ptrace and
// seccomp filters are needed).
func needRecorder(t *testing.T) {
	t.Helper()
	if err := seccomp.ProbeFlags(0); err != nil {
		testenv.Unavailable(t, "seccomp filters unavailable: %v", err)
	}
}

// readProfile parses a written profile in any format.
func readProfile(t *testing.T, path string) (*policy.Policy, string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("the profile was not written: %v", err)
	}
	p, err := policy.ParseAny(path, data, policy.ParseOptions{})
	if err != nil {
		t.Fatalf("the written profile does not parse: %v\n%s", err, data)
	}
	return p, string(data)
}

// TestRecordCommand runs syscage record in-process (its init stage
// re-executes this test binary, whose record.go init function serves it)
// and checks exit codes, the files written and their use by run.
func TestRecordCommand(t *testing.T) {
	needRecorder(t)
	dir := t.TempDir()
	path := func(name string) string { return filepath.Join(dir, name) }
	notExec := path("script")
	os.WriteFile(notExec, []byte("#!/bin/sh\n"), 0o644)
	cases := []struct {
		name    string
		args    []string
		code    int
		wantErr string
		out     string // profile expected to be written
		check   func(t *testing.T, p *policy.Policy, text string)
	}{
		{name: "success", args: []string{"record", "-o", path("ok.policy"), "--freq-out", path("ok.freq"), "--", "sh", "-c", "echo hi > " + path("hi.txt")},
			out: path("ok.policy"), check: func(t *testing.T, p *policy.Policy, text string) {
				for _, want := range []string{"allow execve", "allow write", "allow openat", "# Recorded by syscage record from: sh -c"} {
					if !strings.Contains(text, want) {
						t.Errorf("profile lacks %q:\n%s", want, text)
					}
				}
				freq, err := os.ReadFile(path("ok.freq"))
				if err != nil || !strings.Contains(string(freq), "\nexecve 1\n") {
					t.Errorf("frequency profile: %v\n%s", err, freq)
				}
			}},
		{name: "the program's status", args: []string{"record", "-o", path("st.policy"), "--", "sh", "-c", "exit 3"}, code: 3, out: path("st.policy")},
		{name: "a program that crashes", args: []string{"record", "-o", path("crash.policy"), "--", "sh", "-c", "kill -SEGV $$"}, code: 128 + 11, out: path("crash.policy"),
			check: func(t *testing.T, p *policy.Policy, text string) {
				if !strings.Contains(text, "killed by signal 11") || !strings.Contains(text, "allow kill") {
					t.Errorf("the profile does not say how the program ended:\n%s", text)
				}
			}},
		{name: "ptrace backend", args: []string{"record", "--backend", "ptrace", "-o", path("pt.policy"), "--", "true"}, out: path("pt.policy"),
			check: func(t *testing.T, p *policy.Policy, text string) {
				if !strings.Contains(text, "(ptrace backend)") {
					t.Errorf("not recorded with ptrace:\n%s", text)
				}
			}},
		{name: "OCI output", args: []string{"record", "--format", "oci", "-o", path("p.json"), "--", "true"}, out: path("p.json")},
		{name: "SeccompProfile output", args: []string{"record", "--format", "spo", "-o", path("p.yaml"), "--", "true"}, out: path("p.yaml"),
			check: func(t *testing.T, p *policy.Policy, text string) {
				if !strings.Contains(text, "kind: SeccompProfile") || !strings.Contains(text, "name: p\n") {
					t.Errorf("not a SeccompProfile named p:\n%s", text)
				}
			}},
		{name: "program not found", args: []string{"record", "-o", path("nf.policy"), "--", "syscage-no-such-program"}, code: exitNotFound, wantErr: "not found"},
		{name: "program not executable", args: []string{"record", "-o", path("ne.policy"), "--", notExec}, code: exitCannot, wantErr: "permission denied"},
		{name: "no output", args: []string{"record", "--", "true"}, code: exitUsage, wantErr: "-o PROFILE is required"},
		{name: "no command", args: []string{"record", "-o", path("x.policy")}, code: exitUsage, wantErr: "no command given"},
		{name: "bad backend", args: []string{"record", "--backend", "dtrace", "-o", path("x.policy"), "--", "true"}, code: exitUsage, wantErr: "ptrace"},
		{name: "bad default action", args: []string{"record", "--default-action", "deny", "-o", path("x.policy"), "--", "true"}, code: exitUsage, wantErr: "not an action"},
		{name: "bad format", args: []string{"record", "--format", "xml", "-o", path("x.policy"), "--", "true"}, code: exitUsage, wantErr: "native, oci or spo"},
		{name: "missing --from", args: []string{"record", "--from", path("none.policy"), "-o", path("x.policy"), "--", "true"}, code: exitUsage, wantErr: "no such file"},
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
			if c.out == "" {
				return
			}
			p, text := readProfile(t, c.out)
			if c.check != nil {
				c.check(t, p, text)
			}
		})
	}
	if _, err := os.Stat(path("nf.policy")); err == nil {
		t.Error("a profile was written for a program that does not exist")
	}
}

// TestRecordThenRun records a command and runs it under the profile with
// syscage run; then merges two recordings and runs both commands under
// the union.
func TestRecordThenRun(t *testing.T) {
	needRecorder(t)
	dir := t.TempDir()
	one, two := filepath.Join(dir, "one.policy"), filepath.Join(dir, "two.policy")
	outFile := filepath.Join(dir, "out.txt")
	cmdOne := []string{"sh", "-c", "echo one | tr a-z A-Z > " + outFile}
	cmdTwo := []string{"sh", "-c", "ls " + dir + " | wc -l > " + outFile}
	for _, rc := range []struct {
		profile string
		argv    []string
	}{{one, cmdOne}, {two, cmdTwo}} {
		if _, code, err := runBPFCLI(t, nil, append([]string{"record", "-q", "-o", rc.profile, "--"}, rc.argv...)...); code != 0 {
			t.Fatalf("record %v: exit %d: %v", rc.argv, code, err)
		}
	}
	runUnder := func(profile string, argv []string) string {
		t.Helper()
		os.Remove(outFile)
		if _, code, err := runBPFCLI(t, nil, append([]string{"run", "--profile", profile, "--"}, argv...)...); code != 0 {
			_, text := readProfile(t, profile)
			t.Fatalf("run %v under %s: exit %d: %v\n%s", argv, filepath.Base(profile), code, err, text)
		}
		b, _ := os.ReadFile(outFile)
		return string(b)
	}
	if got := runUnder(one, cmdOne); got != "ONE\n" {
		t.Errorf("under its recorded profile the command wrote %q", got)
	}
	merged := filepath.Join(dir, "merged.policy")
	if _, code, err := runBPFCLI(t, nil, "merge", one, two, "-o", merged); code != 0 {
		t.Fatalf("merge of two recordings: exit %d: %v", code, err)
	}
	if got := runUnder(merged, cmdOne); got != "ONE\n" {
		t.Errorf("under the merged profile the first command wrote %q", got)
	}
	if got := runUnder(merged, cmdTwo); strings.TrimSpace(got) == "" {
		t.Errorf("under the merged profile the second command wrote nothing")
	}
}

// TestRecordFrom extends a recorded profile with what another command
// needs, keeping a comment the user added.
func TestRecordFrom(t *testing.T) {
	needRecorder(t)
	dir := t.TempDir()
	prof := filepath.Join(dir, "p.policy")
	if _, code, err := runBPFCLI(t, nil, "record", "-q", "-o", prof, "--", "true"); code != 0 {
		t.Fatalf("record: exit %d: %v", code, err)
	}
	data, _ := os.ReadFile(prof)
	edited := strings.Replace(string(data), "allow execve", "# reviewed: the launcher needs this\nallow execve", 1)
	os.WriteFile(prof, []byte(edited), 0o644)
	if _, code, err := runBPFCLI(t, nil, "record", "-q", "--from", prof, "-o", prof, "--", "sh", "-c", "uname -a > /dev/null"); code != 0 {
		t.Fatalf("record --from: exit %d: %v", code, err)
	}
	p, text := readProfile(t, prof)
	if !strings.Contains(text, "# reviewed: the launcher needs this\nallow execve") {
		t.Errorf("--from lost the user's comment:\n%s", text)
	}
	i, j := strings.Index(text, "Added by syscage record --from"), strings.Index(text, "allow uname")
	if i < 0 || j < i {
		t.Errorf("uname not added in the marked block:\n%s", text)
	}
	if !strings.HasPrefix(text, string(data[:strings.Index(string(data), "\n\n")])) {
		t.Errorf("the head comment changed:\n%s", text)
	}
	_ = p
}

// TestRecordUnwritableOutput keeps the recording in $TMPDIR when the
// output cannot be written, and says where.
func TestRecordUnwritableOutput(t *testing.T) {
	needRecorder(t)
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	_, code, err := runBPFCLI(t, nil, "record", "-q", "-o", "/nonexistent-dir/x.policy", "--", "true")
	if code != exitInternal || err == nil {
		t.Fatalf("exit %d (%v), want %d", code, err, exitInternal)
	}
	msg := err.Error()
	i := strings.Index(msg, "kept in ")
	if i < 0 || !strings.Contains(msg, "/nonexistent-dir/x.policy") {
		t.Fatalf("the error does not say where the recording is: %v", err)
	}
	kept := strings.TrimSpace(msg[i+len("kept in "):])
	if !strings.HasPrefix(kept, tmp) {
		t.Errorf("kept in %s, want a file in $TMPDIR %s", kept, tmp)
	}
	if _, text := readProfile(t, kept); !strings.Contains(text, "allow execve") {
		t.Errorf("the kept recording:\n%s", text)
	}
}

// TestRecordInterrupted stops a recording with SIGINT: the profile so far
// is written and marked incomplete.
func TestRecordInterrupted(t *testing.T) {
	needRecorder(t)
	prof := filepath.Join(t.TempDir(), "i.policy")
	go func() {
		time.Sleep(500 * time.Millisecond)
		syscall.Kill(os.Getpid(), syscall.SIGINT)
	}()
	start := time.Now()
	_, code, err := runBPFCLI(t, nil, "record", "-q", "-o", prof, "--", "sleep", "30")
	if time.Since(start) > 10*time.Second {
		t.Errorf("the interrupted recording took %v", time.Since(start))
	}
	if code != 128+int(syscall.SIGINT) && code != 128+int(syscall.SIGKILL) {
		t.Errorf("exit %d (%v), want the program's death by SIGINT or SIGKILL", code, err)
	}
	_, text := readProfile(t, prof)
	if !strings.Contains(text, "INCOMPLETE") || !strings.Contains(text, "allow execve") {
		t.Errorf("the profile is not marked incomplete:\n%s", text)
	}
}

// TestRecordProgressLine: the status line is rewritten in place and new
// syscalls are listed above it, wrapped; the last update clears it.
func TestRecordProgressLine(t *testing.T) {
	var b strings.Builder
	p := &progressLine{w: &b, inPlace: true}
	p.update(record.Progress{Elapsed: 1500 * time.Millisecond, Calls: 120, Distinct: 3, Processes: 2, New: []string{"execve", "read", "i386:getpid"}})
	got := b.String()
	want := "\r\033[Ksyscage: new: execve, read, i386:getpid\nsyscage: recording 1.5s: 120 syscalls, 3 distinct, 2 processes"
	if got != want {
		t.Errorf("progress %q, want %q", got, want)
	}
	b.Reset()
	p.update(record.Progress{Done: true})
	if b.String() != "\r\033[K" {
		t.Errorf("final update %q, want the line cleared", b.String())
	}
	// Sharing the terminal with the program: new syscalls only, as whole
	// lines, nothing rewritten or cleared.
	b.Reset()
	shared := &progressLine{w: &b}
	shared.update(record.Progress{Elapsed: time.Second, Calls: 10, Distinct: 2, New: []string{"execve", "read"}})
	shared.update(record.Progress{Elapsed: 2 * time.Second, Calls: 12, Distinct: 2})
	shared.update(record.Progress{Done: true})
	if want := "syscage: new: execve, read\n"; b.String() != want {
		t.Errorf("progress beside the program's output %q, want %q", b.String(), want)
	}
	long := wrapList("syscage: new: ", strings.Fields(strings.Repeat("rt_sigprocmask ", 12)), 40)
	for _, line := range strings.Split(strings.TrimSuffix(long, "\n"), "\n") {
		if len(line) > 40 {
			t.Errorf("line %q longer than 40", line)
		}
	}
	if strings.Count(long, "rt_sigprocmask") != 12 {
		t.Errorf("wrapped list lost items:\n%s", long)
	}
}

// TestWriteRecorded: the profile goes where -o says, whatever is there: a
// new or regular file is replaced whole, a symbolic link's target is
// written and the link kept, a FIFO or device is written in place (never
// replaced by a regular file: -o /dev/null must leave /dev/null a
// device); what cannot be written is kept in $TMPDIR, and the error names
// the path given and why, not a temporary file.
func TestWriteRecorded(t *testing.T) {
	dir := t.TempDir()
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	path := func(name string) string { return filepath.Join(dir, name) }
	data := []byte("default allow\n")

	os.WriteFile(path("old.policy"), []byte("old\n"), 0o600)
	os.WriteFile(path("target.policy"), []byte("old\n"), 0o644)
	os.Symlink("target.policy", path("link.policy"))
	os.Symlink("later.policy", path("dangling.policy"))
	os.Mkdir(path("adir"), 0o755)
	if err := syscall.Mkfifo(path("fifo"), 0o600); err != nil {
		t.Fatal(err)
	}

	cases := []struct {
		name    string
		out     string
		written string      // the file that must hold data afterwards
		mode    os.FileMode // the type and permissions of out afterwards (Lstat)
		wantErr []string
	}{
		{name: "new file", out: path("new.policy"), written: path("new.policy"), mode: 0o644},
		{name: "replaced, mode kept", out: path("old.policy"), written: path("old.policy"), mode: 0o600},
		{name: "symlink followed", out: path("link.policy"), written: path("target.policy"), mode: os.ModeSymlink | 0o777},
		{name: "dangling symlink followed", out: path("dangling.policy"), written: path("later.policy"), mode: os.ModeSymlink | 0o777},
		{name: "FIFO written in place", out: path("fifo"), mode: os.ModeNamedPipe | 0o600},
		{name: "a directory", out: path("adir"), mode: os.ModeDir | 0o755, wantErr: []string{"cannot write " + path("adir") + ": it is a directory", "kept in " + tmp}},
		{name: "no such directory", out: path("none/x.policy"), wantErr: []string{"cannot write " + path("none/x.policy") + ": directory " + path("none") + " does not exist", "kept in " + tmp}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			// The FIFO's reader opens without blocking, so that a FIFO
			// replaced rather than written fails the test, not hangs it.
			var fifo *os.File
			if c.mode&os.ModeNamedPipe != 0 {
				fd, err := syscall.Open(c.out, syscall.O_RDONLY|syscall.O_NONBLOCK|syscall.O_CLOEXEC, 0)
				if err != nil {
					t.Fatal(err)
				}
				fifo = os.NewFile(uintptr(fd), c.out)
				defer fifo.Close()
			}
			var stdout strings.Builder
			where, err := writeRecorded(&stdout, c.out, data, ".policy")
			if len(c.wantErr) > 0 {
				if err == nil {
					t.Fatalf("wrote %s, want an error", where)
				}
				for _, w := range c.wantErr {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q lacks %q", err, w)
					}
				}
				if strings.Contains(err.Error(), ".tmp-") {
					t.Errorf("error %q names a temporary file", err)
				}
				if b, rerr := os.ReadFile(where); rerr != nil || string(b) != string(data) {
					t.Errorf("the kept copy %s: %q, %v", where, b, rerr)
				}
			} else if err != nil {
				t.Fatal(err)
			}
			if fifo != nil {
				b := make([]byte, 2*len(data))
				n, _ := fifo.Read(b)
				if string(b[:n]) != string(data) {
					t.Errorf("the FIFO's reader got %q", b[:n])
				}
			}
			if c.written != "" {
				if b, err := os.ReadFile(c.written); err != nil || string(b) != string(data) {
					t.Errorf("%s holds %q, %v", c.written, b, err)
				}
			}
			if c.mode != 0 {
				st, err := os.Lstat(c.out)
				if err != nil || st.Mode() != c.mode {
					t.Errorf("%s afterwards: %v, %v; want mode %v", c.out, st.Mode(), err, c.mode)
				}
			}
		})
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 8 {
		var names []string
		for _, e := range ents {
			names = append(names, e.Name())
		}
		t.Errorf("files left beside the outputs: %v", names)
	}
}
