package notify

import (
	"fmt"
	"path"
	"sort"
	"strings"

	"golang.org/x/sys/unix"
)

// FileRules say which files the file broker opens for a target, and how.
// Paths are in the target's view of the file system: its root, which for
// a container is the container's root file system.
//
// A request is decided by the rule with the longest Root that contains
// the path (so a rule for /etc/ssl overrides one for /etc); a path no
// rule contains is refused with DenyErrno.
type FileRules struct {
	Rules []FileRule
	// DenyErrno is the errno of a refused open; 0 means EACCES.
	DenyErrno unix.Errno
}

// FileRule grants (or, with Deny, refuses) opens beneath one directory.
type FileRule struct {
	// Root is an absolute, clean path; the rule covers Root and
	// everything beneath it.
	Root string
	// Read allows opening for reading (O_RDONLY, O_RDWR, O_PATH).
	Read bool
	// Write allows opening for writing (O_WRONLY, O_RDWR, O_TRUNC).
	Write bool
	// Create allows creating files (O_CREAT, O_TMPFILE). Without it,
	// O_CREAT still opens a file that exists.
	Create bool
	// Dir allows opening directories (to list them, or as the dirfd of
	// later *at syscalls).
	Dir bool
	// Deny refuses every open beneath Root, for carving a subtree out of
	// a wider rule.
	Deny bool
	// NoSymlinks refuses symbolic links anywhere on the way
	// (RESOLVE_NO_SYMLINKS). Without it, links that stay beneath Root
	// are followed; links that leave it are always refused.
	NoSymlinks bool
	// Source says where the rule was written ("policy.scg:12:3"); alerts
	// name it.
	Source string
}

// Errno returns the errno of a refused open.
func (fr *FileRules) Errno() unix.Errno {
	if fr.DenyErrno == 0 {
		return unix.EACCES
	}
	return fr.DenyErrno
}

// String renders the rule as the policy language writes it:
// "read,write /tmp", "deny /etc/shadow".
func (r FileRule) String() string {
	return r.Access() + " " + r.Root
}

// Access renders the rule's permissions: "read,write,create,dir",
// "deny", or "none".
func (r FileRule) Access() string {
	if r.Deny {
		return "deny"
	}
	var a []string
	for _, p := range []struct {
		on   bool
		name string
	}{{r.Read, "read"}, {r.Write, "write"}, {r.Create, "create"}, {r.Dir, "dir"}, {r.NoSymlinks, "nosymlinks"}} {
		if p.on {
			a = append(a, p.name)
		}
	}
	if len(a) == 0 {
		return "none"
	}
	return strings.Join(a, ",")
}

// Check reports rules the broker cannot apply: a Root that is not an
// absolute clean path, lies under /proc, or appears twice.
func (fr *FileRules) Check() error {
	seen := map[string]string{}
	for i, r := range fr.Rules {
		where := r.Source
		if where == "" {
			where = fmt.Sprintf("file rule %d", i+1)
		}
		switch {
		case r.Root == "":
			return fmt.Errorf("%s: empty root: give an absolute directory such as /data", where)
		case strings.ContainsRune(r.Root, 0):
			return fmt.Errorf("%s: root %q holds a NUL byte, which no path can", where, r.Root)
		case !path.IsAbs(r.Root):
			return fmt.Errorf("%s: root %q is relative: give an absolute path such as /%s", where, r.Root, r.Root)
		case path.Clean(r.Root) != r.Root:
			return fmt.Errorf("%s: root %q is not clean: write %q", where, r.Root, path.Clean(r.Root))
		case r.Root == "/proc" || strings.HasPrefix(r.Root, "/proc/"):
			// procfs files describe whoever opens them, here the
			// supervisor: /proc/self/mem would be the broker's memory.
			return fmt.Errorf("%s: root %q is in /proc, whose files describe the process that opens them (the supervisor, not the target); the broker never opens them", where, r.Root)
		}
		if prev, ok := seen[r.Root]; ok {
			return fmt.Errorf("%s: root %q is already covered by %s; merge the two rules", where, r.Root, prev)
		}
		seen[r.Root] = where
	}
	if fr.DenyErrno < 0 || fr.DenyErrno > 4095 {
		return fmt.Errorf("deny errno %d is out of range 1..4095", int(fr.DenyErrno))
	}
	return nil
}

// compiledRule is a rule with its root split into components.
type compiledRule struct {
	FileRule
	comps []string
	// nested: some longer rule lies beneath this one, so an open through
	// this rule must check where it really landed.
	nested bool
}

// compileRules sorts rules longest root first, so the first that
// contains a path is the most specific.
func compileRules(rules []FileRule) []*compiledRule {
	out := make([]*compiledRule, 0, len(rules))
	for _, r := range rules {
		out = append(out, &compiledRule{FileRule: r, comps: splitPath(r.Root)})
	}
	sort.SliceStable(out, func(i, j int) bool { return len(out[i].comps) > len(out[j].comps) })
	for _, outer := range out {
		for _, inner := range out {
			if len(inner.comps) > len(outer.comps) && hasPrefix(inner.comps, outer.comps) {
				outer.nested = true
			}
		}
	}
	return out
}

// splitPath splits an absolute clean path into components; "/" has none.
func splitPath(p string) []string {
	p = strings.Trim(p, "/")
	if p == "" {
		return nil
	}
	return strings.Split(p, "/")
}

func hasPrefix(s, prefix []string) bool {
	if len(prefix) > len(s) {
		return false
	}
	for i := range prefix {
		if s[i] != prefix[i] {
			return false
		}
	}
	return true
}

// match finds the most specific rule containing the path start + rest,
// where start is a physical directory (clean components from the target's
// root) and rest the raw remainder as the target wrote it. It returns the
// rule and the path to open from the rule's root, "." for the root
// itself. Components of rest are compared literally and only while they
// are plain names; the rest, with any "..", is left to the kernel, which
// refuses it if it climbs out (RESOLVE_BENEATH).
func match(rules []*compiledRule, start []string, rest string) (*compiledRule, string) {
	for _, r := range rules {
		if len(r.comps) <= len(start) {
			if !hasPrefix(start, r.comps) {
				continue
			}
			sub := strings.Join(start[len(r.comps):], "/")
			switch {
			case sub == "":
				sub = rest
			case rest != "":
				sub += "/" + rest
			}
			if sub == "" {
				sub = "."
			}
			return r, sub
		}
		if !hasPrefix(r.comps, start) {
			continue
		}
		// The root lies deeper than start: rest must name the missing
		// components first.
		rem, ok := consume(rest, r.comps[len(start):])
		if !ok {
			continue
		}
		if rem == "" {
			rem = "."
		}
		return r, rem
	}
	return nil, ""
}

// consume strips the components want from the front of p (which may hold
// repeated slashes) and returns what follows, or false if p does not
// start with them. A trailing slash after the last one is kept, as it
// requires a directory.
func consume(p string, want []string) (string, bool) {
	for _, w := range want {
		p = strings.TrimLeft(p, "/")
		i := strings.IndexByte(p, '/')
		c := p
		if i >= 0 {
			c = p[:i]
		}
		if c != w {
			return "", false
		}
		p = p[len(c):]
	}
	if strings.Trim(p, "/") == "" {
		if p != "" {
			return "./", true // "dir/" must be a directory
		}
		return "", true
	}
	return strings.TrimLeft(p, "/"), true
}

// lexicalStart splits a path into the physical directory it starts from
// and the raw rest: leading "." and ".." components (and repeated
// slashes) move along base, a clean physical path, exactly as the kernel
// moves along the directory tree, since the parent of a directory is the
// directory its path names without the last component (".." stops at the
// root). The first plain name ends the walk: it may be a symbolic link,
// after which only the kernel knows where ".." leads.
func lexicalStart(base []string, p string) ([]string, string) {
	start := append([]string(nil), base...)
	for {
		p = strings.TrimLeft(p, "/")
		i := strings.IndexByte(p, '/')
		c := p
		if i >= 0 {
			c = p[:i]
		}
		switch c {
		case ".":
			if i < 0 {
				return start, "."
			}
		case "..":
			if len(start) > 0 {
				start = start[:len(start)-1]
			}
			if i < 0 {
				return start, ""
			}
		default:
			return start, p
		}
		p = p[i:]
	}
}
