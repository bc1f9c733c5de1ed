package policy

import (
	"flag"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/syscage/syscage/arch"
)

var updateDocs = flag.Bool("update-docs", false, "rewrite docs/groups.md from the group table")

// TestGroupMembersExist checks every member against the syscall tables:
// a name no architecture has is a typo.
func TestGroupMembersExist(t *testing.T) {
	for _, g := range Groups() {
		if len(g.Syscalls) == 0 || g.Doc == "" {
			t.Errorf("@%s is empty or undocumented", g.Name)
		}
		if !slices.IsSorted(g.Syscalls) {
			t.Errorf("@%s members are not sorted", g.Name)
		}
		for _, n := range g.Syscalls {
			found := false
			for _, a := range arch.All() {
				if _, ok := a.Lookup(n); ok {
					found = true
					break
				}
			}
			if !found {
				t.Errorf("@%s: no architecture has %q", g.Name, n)
			}
		}
	}
}

func TestGroupByName(t *testing.T) {
	g, ok := GroupByName("@network-io")
	if !ok || g.Name != "network-io" || !slices.Contains(g.Syscalls, "connect") {
		t.Errorf("GroupByName(@network-io) = %+v, %v", g, ok)
	}
	g.Syscalls[0] = "mutated"
	if g2, _ := GroupByName("network-io"); g2.Syscalls[0] == "mutated" {
		t.Error("GroupByName shares its member slice")
	}
	if _, ok := GroupByName("nope"); ok {
		t.Error("GroupByName(nope) found something")
	}
	priv, _ := GroupByName("privileged")
	for _, n := range []string{"mount", "reboot", "init_module", "swapon", "iopl", "settimeofday", "sethostname"} {
		if !slices.Contains(priv.Syscalls, n) {
			t.Errorf("@privileged lacks %s", n)
		}
	}
}

// TestGroupsDoc keeps docs/groups.md in step with the table: every group
// with its purpose and members. Run with -update-docs to rewrite it.
func TestGroupsDoc(t *testing.T) {
	const path = "../docs/groups.md"
	want := groupsDoc()
	if *updateDocs {
		if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != want {
		t.Errorf("%s is out of date with groups.go: run go test ./policy -run TestGroupsDoc -update-docs", path)
	}
}

// groupsDoc renders docs/groups.md.
func groupsDoc() string {
	var b strings.Builder
	b.WriteString(`# Syscall groups

A rule can name a group of syscalls with ` + "`@name`" + `, for example
` + "`allow @basic-io @memory`" + `. Each group serves one purpose. A group lists
syscalls of every architecture; on a given architecture the members it
does not have are skipped, so ` + "`@file-read`" + ` means open and openat on
x86_64 and only openat on aarch64. Groups overlap where a syscall serves
several purposes.

Groups are conveniences, not a security boundary: review what a group
brings in before allowing it, and prefer argument conditions for the
dangerous members (socket families, clone flags, open flags). The
members are fixed by syscage's version; ` + "`syscage fmt`" + ` never expands them.

This page is generated from policy/groups.go
(` + "`go test ./policy -run TestGroupsDoc -update-docs`" + `).

| group | purpose |
| --- | --- |
`)
	for _, g := range Groups() {
		first, _, _ := strings.Cut(g.Doc, ". ")
		fmt.Fprintf(&b, "| [@%s](#%s) | %s |\n", g.Name, g.Name, strings.TrimSuffix(first, "."))
	}
	for _, g := range Groups() {
		fmt.Fprintf(&b, "\n## @%s\n\n%s\n\n", g.Name, g.Doc)
		line := ""
		for _, n := range g.Syscalls {
			w := "`" + n + "`"
			if line != "" && len(line)+1+len(w) > 72 {
				b.WriteString(line + "\n")
				line = ""
			}
			if line != "" {
				line += " "
			}
			line += w
		}
		b.WriteString(line + "\n")
	}
	return b.String()
}
