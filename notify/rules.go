package notify

import (
	"fmt"
	"sort"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/syscage/syscage/arch"
	"github.com/syscage/syscage/policy"
)

// FileRules say which files the file broker opens for a target, and how:
// the files block of a policy (FileRulesOf), one rule per path. Paths are
// in the target's view of the file system: its root, which for a
// container is the container's root file system.
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
	// Source says where the rule was written and what it says
	// ("app.policy:4:10: read dir /usr"); alerts name it.
	Source string
}

// Errno returns the errno of a refused open.
func (fr *FileRules) Errno() unix.Errno {
	if fr.DenyErrno == 0 {
		return unix.EACCES
	}
	return fr.DenyErrno
}

// String renders the rule as a files block writes it: "read write /tmp",
// "deny /etc/shadow".
func (r FileRule) String() string {
	return r.Access() + " " + r.Root
}

// Access renders the rule's permissions as a files block writes them:
// "read write create dir", "deny", or "none".
func (r FileRule) Access() string {
	pr := policy.FileRule{Read: r.Read, Write: r.Write, Create: r.Create, Dir: r.Dir, NoSymlinks: r.NoSymlinks, Deny: r.Deny}
	if a := pr.Access(); a != "" {
		return a
	}
	return "none"
}

// Check reports rules the broker cannot apply: a Root that is not an
// absolute clean path, lies under /proc, or appears twice
// (policy.CheckFilePath).
func (fr *FileRules) Check() error {
	seen := map[string]string{}
	for i, r := range fr.Rules {
		where := r.Source
		if where == "" {
			where = fmt.Sprintf("file rule %d (%s)", i+1, r)
		}
		if err := policy.CheckFilePath(r.Root); err != nil {
			return fmt.Errorf("%s: %v", where, err)
		}
		if prev, ok := seen[r.Root]; ok {
			return fmt.Errorf("%s: %s is already covered by %s; merge the two rules", where, r.Root, prev)
		}
		seen[r.Root] = where
	}
	if fr.DenyErrno > 4095 {
		return fmt.Errorf("deny errno %d is out of range 1..4095", int(fr.DenyErrno))
	}
	return nil
}

// FileRulesOf returns the broker's rules for a policy's files block: one
// rule per path, each with the place it was written and its text as
// Source ("app.policy:4:10: read dir /usr"), and the block's errno
// resolved for the architecture syscage runs on.
func FileRulesOf(f *policy.Files) FileRules {
	fr := FileRules{DenyErrno: errnoOn(f.Refusal(), arch.Native())}
	for _, r := range f.Rules {
		for _, p := range r.Paths {
			rule := FileRule{Root: p.Path, Read: r.Read, Write: r.Write, Create: r.Create, Dir: r.Dir, NoSymlinks: r.NoSymlinks, Deny: r.Deny}
			if p.Pos.IsValid() {
				rule.Source = p.Pos.String() + ": " + rule.String()
			}
			fr.Rules = append(fr.Rules, rule)
		}
	}
	return fr
}

// NewPolicyBroker returns a broker for the files block of p, whose rules
// notify the file-opening syscalls (BrokerSyscalls). Register the
// broker's Handlers with the supervisor of p's filter.
func NewPolicyBroker(p *policy.Policy) (*Broker, error) {
	if p.Files == nil {
		src := p.Source
		if src == "" {
			src = "the policy"
		}
		return nil, fmt.Errorf("%s has no files block, which says what the file broker may open: add one (a line `files {`, rules such as `read dir /usr`, and `}`)", src)
	}
	b, err := NewBroker(FileRulesOf(p.Files))
	if err != nil {
		return nil, fmt.Errorf("the files block: %w", err)
	}
	return b, nil
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
