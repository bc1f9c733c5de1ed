package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const (
	fmtMessy = "# Policy head.\n\ndefault   errno(EPERM)\narch x86_64\nallow read  if fd==0X1\ninclude \"lib.policy\"\n"
	fmtClean = "# Policy head.\n\narch x86_64\ndefault errno(EPERM)\n\nallow read if fd == 0x1\ninclude \"lib.policy\"\n"
)

func writeTestFile(t *testing.T, dir, name, text string, mode os.FileMode) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(text), mode); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestFmtStdout(t *testing.T) {
	dir := t.TempDir()
	messy := writeTestFile(t, dir, "messy.policy", fmtMessy, 0o644)
	out, errOut, code := captureMain(t, "fmt", messy)
	if code != exitOK || out != fmtClean {
		t.Fatalf("exit %d, stderr %q, stdout:\n%s\nwant:\n%s", code, errOut, out, fmtClean)
	}
	if b, _ := os.ReadFile(messy); string(b) != fmtMessy {
		t.Error("fmt without -w changed the file")
	}
}

func TestFmtCheck(t *testing.T) {
	dir := t.TempDir()
	messy := writeTestFile(t, dir, "messy.policy", fmtMessy, 0o644)
	clean := writeTestFile(t, dir, "clean.policy", fmtClean, 0o644)

	out, errOut, code := captureMain(t, "fmt", "--check", clean, messy)
	if code != exitNegative {
		t.Errorf("exit %d, want %d", code, exitNegative)
	}
	if out != messy+"\n" {
		t.Errorf("listed %q, want only %s", out, messy)
	}
	if !strings.Contains(errOut, "1 file not formatted") {
		t.Errorf("stderr %q", errOut)
	}
	if _, _, code := captureMain(t, "fmt", "--check", clean); code != exitOK {
		t.Errorf("formatted file: exit %d", code)
	}
	if b, _ := os.ReadFile(messy); string(b) != fmtMessy {
		t.Error("--check changed the file")
	}
}

func TestFmtWrite(t *testing.T) {
	dir := t.TempDir()
	messy := writeTestFile(t, dir, "messy.policy", fmtMessy, 0o640)
	link := filepath.Join(dir, "link.policy")
	if err := os.Symlink("messy.policy", link); err != nil {
		t.Fatal(err)
	}
	if _, errOut, code := captureMain(t, "fmt", "-w", link); code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	b, err := os.ReadFile(messy)
	if err != nil || string(b) != fmtClean {
		t.Errorf("file after -w:\n%s\nwant:\n%s", b, fmtClean)
	}
	if fi, _ := os.Lstat(link); fi.Mode()&os.ModeSymlink == 0 {
		t.Error("-w replaced the symbolic link instead of its target")
	}
	if fi, _ := os.Stat(messy); fi.Mode().Perm() != 0o640 {
		t.Errorf("mode %v, want 0640", fi.Mode().Perm())
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 2 {
		t.Errorf("temporary files left behind: %v", entries)
	}
}

func TestFmtErrors(t *testing.T) {
	dir := t.TempDir()
	bad := writeTestFile(t, dir, "bad.policy", "default allow\nallow read if fd = 1\nalow write\n", 0o644)
	json := writeTestFile(t, dir, "p.json", `{"defaultAction": "SCMP_ACT_ERRNO"}`, 0o644)
	good := writeTestFile(t, dir, "good.policy", fmtClean, 0o644)

	out, errOut, code := captureMain(t, "fmt", bad, good)
	if code != exitUsage {
		t.Errorf("exit %d, want %d", code, exitUsage)
	}
	lines := strings.Split(strings.TrimSpace(errOut), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], bad+":2:18: ") || !strings.HasPrefix(lines[1], bad+":3:1: ") ||
		!strings.Contains(lines[2], "1 file of 2 failed") {
		t.Errorf("stderr:\n%s", errOut)
	}
	if out != fmtClean {
		t.Errorf("the good file was not printed: %q", out)
	}

	if _, errOut, code := captureMain(t, "fmt", json); code != exitUsage || !strings.Contains(errOut, "JSON profile") {
		t.Errorf("JSON: exit %d, stderr %q", code, errOut)
	}
	if _, errOut, code := captureMain(t, "fmt", filepath.Join(dir, "missing.policy")); code != exitUsage || !strings.Contains(errOut, "no such file") {
		t.Errorf("missing file: exit %d, stderr %q", code, errOut)
	}
	if _, _, code := captureMain(t, "fmt", "-w", "--check", good); code != exitUsage {
		t.Errorf("-w --check: exit %d", code)
	}
	if _, _, code := captureMain(t, "fmt"); code != exitUsage {
		t.Errorf("no files: exit %d", code)
	}
}

func TestFmtStdin(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		w.WriteString(fmtMessy)
		w.Close()
	}()
	old := os.Stdin
	os.Stdin = r
	defer func() { os.Stdin = old }()
	out, errOut, code := captureMain(t, "fmt", "-")
	if code != exitOK || out != fmtClean {
		t.Errorf("exit %d, stderr %q, stdout:\n%s", code, errOut, out)
	}
}
