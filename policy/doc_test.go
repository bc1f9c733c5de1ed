package policy

import (
	"os"
	"strings"
	"testing"
)

// TestLanguageDoc keeps docs/policy-language.md honest: its opening
// example parses, and the error messages it shows are the ones the parser
// prints for the policies they come from.
func TestLanguageDoc(t *testing.T) {
	b, err := os.ReadFile("../docs/policy-language.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)

	_, rest, _ := strings.Cut(doc, "```\n")
	example, _, _ := strings.Cut(rest, "```\n")
	example = strings.Replace(example, `include "base.policy"`, "", 1)
	if _, err := Parse("web.policy", []byte(example), ParseOptions{}); err != nil {
		t.Errorf("the opening example does not parse: %v", err)
	}

	// The files block's example parses, with no warning.
	_, rest, _ = strings.Cut(doc, "## The files block")
	_, rest, _ = strings.Cut(rest, "```\n")
	example, _, _ = strings.Cut(rest, "```\n")
	if p, err := Parse("app.policy", []byte(example), ParseOptions{}); err != nil {
		t.Errorf("the files block's example does not parse: %v", err)
	} else if p.Files == nil || len(p.Warnings) > 0 {
		t.Errorf("the files block's example: files %v, warnings %v", p.Files, p.Warnings)
	}

	sources := []string{
		`arch x86_64 i386
default errno(EPREM)
allow opne
allow read if count == 0x100000000 && buf > 0
allow socket if domain == AF_INET
allow kill if sig == SIGKILLL
allow 1000 if fd == 1
allow mmap if prot none PROT_EXEC
allow i386:@mount
`,
		"default errno(EPERM)\nallow read if fd = 1\nallow write if (fd == 1\nalow close\nallow read\ndefault allow\nonly arch x86_64 {\nallow read\n",
		"default allow\nfiles {\n    raed /etc\n    read /tmp/\n    read /proc/self\n    deny read /x\n    read \"var\"\n}\nnotify open openat openat2 creat\n",
	}
	for _, src := range sources {
		_, err := Parse("app.policy", []byte(src), ParseOptions{})
		if err == nil {
			t.Fatalf("no errors for:\n%s", src)
		}
		for _, line := range strings.Split(err.Error(), "\n") {
			if !strings.Contains(doc, "\n"+line+"\n") {
				t.Errorf("docs/policy-language.md does not show the error as printed:\n%s", line)
			}
		}
	}
}
