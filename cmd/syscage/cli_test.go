package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// execCLI runs `syscage ARGS...` in-process with stdin and returns what
// it wrote to stdout and stderr, the exit code runMain would produce and
// the error it would print.
func execCLI(t *testing.T, stdin []byte, args ...string) (stdout, stderr *bytes.Buffer, code int, err error) {
	t.Helper()
	root := newRoot()
	stdout, stderr = new(bytes.Buffer), new(bytes.Buffer)
	root.SetIn(bytes.NewReader(stdin))
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetArgs(args)
	err = root.Execute()
	return stdout, stderr, exitCode(err), err
}

// writeTemp writes data to a file in a fresh temporary directory.
func writeTemp(t *testing.T, name string, data []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}
