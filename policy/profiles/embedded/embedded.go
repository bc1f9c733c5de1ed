// Package embedded holds the text of syscage's bundled policies, which
// package profiles parses. It depends on nothing heavier than the
// embedded file system, so that code running early in package
// initialisation (syscage run's quick path) can check that a profile it
// was built with is still the one embedded.
package embedded

import (
	"embed"
	"io/fs"
	"slices"
)

//go:embed *.policy
var files embed.FS

// FS is the embedded profiles, one NAME.policy file each.
var FS fs.FS = files

// Names lists the embedded profiles, sorted.
func Names() []string {
	entries, err := fs.ReadDir(files, ".")
	if err != nil {
		return nil
	}
	var out []string
	for _, e := range entries {
		// By hand, not strings.CutSuffix: see the package comment.
		const ext = ".policy"
		if n := e.Name(); len(n) > len(ext) && n[len(n)-len(ext):] == ext {
			out = append(out, n[:len(n)-len(ext)])
		}
	}
	slices.Sort(out)
	return out
}

// Source returns the text of the named profile, or false when there is
// no such profile.
func Source(name string) ([]byte, bool) {
	if !slices.Contains(Names(), name) {
		return nil, false
	}
	b, err := fs.ReadFile(files, name+".policy")
	return b, err == nil
}
