package launch

import (
	"os"
	"path/filepath"
	"testing"
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
	} {
		path, searched, ok := LookPath(tc.name, tc.env)
		if path != tc.want || ok != tc.ok || (tc.searched != "" && searched != tc.searched) {
			t.Errorf("LookPath(%q, %q) = %q, %q, %v; want %q, %q, %v", tc.name, tc.env, path, searched, ok, tc.want, tc.searched, tc.ok)
		}
	}
}
