package main

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseSummary(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "s")
	// strace -c -U name,calls: two columns, a name seen twice (from two
	// traced processes) adds up.
	summary := "syscall              calls\n---------------- ---------\nread                     7\nioctl                    2\nread 3\n---------------- ---------\ntotal                   12\n"
	if err := os.WriteFile(p, []byte(summary), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got, err := parseSummary(f)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got["read"] != 10 || got["ioctl"] != 2 {
		t.Errorf("got %v, want read 10, ioctl 2", got)
	}
}

func TestRender(t *testing.T) {
	src, err := render(map[string]float64{"read": 0.75, "write": 0.25}, []string{`python3: python3 -c "print(1)\n"`}, []string{"go"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := parser.ParseFile(token.NewFileSet(), "zfreq.go", src, parser.ParseComments); err != nil {
		t.Fatalf("not Go: %v\n%s", err, src)
	}
	text := string(src)
	if strings.Index(text, `{"read", 0.75}`) > strings.Index(text, `{"write", 0.25}`) || !strings.Contains(text, "Skipped (tool missing): go.") {
		t.Errorf("hottest first and skipped tools named:\n%s", text)
	}
}
