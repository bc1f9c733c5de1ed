package policy

import (
	"fmt"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/syscage/syscage/arch"
	"github.com/syscage/syscage/internal/suggest"
)

// This file holds the files block: which files a file broker opens for
// the program, and how. The block only describes; a filter sends the
// file-opening syscalls to the broker when the policy's rules notify them
// (see FileSyscalls).

// FileSyscalls are the syscalls a file broker serves: a policy with a
// files block notifies them. The names cover every architecture that has
// them, the i386 forms included.
var FileSyscalls = []string{"open", "openat", "openat2", "creat"}

// Files is a policy's files block. A notified open is decided by the rule
// whose path is the longest one containing the opened file (a rule for
// /etc/ssl overrides one for /etc); a file no rule contains is refused
// with Errno.
type Files struct {
	// Pos is the position of the files keyword.
	Pos Pos
	// Errno is the errno action of refused opens, as written after the
	// files keyword; the zero Action means errno(EACCES).
	Errno Action
	// Rules in source order. A path appears in one rule only.
	Rules []*FileRule
	// Comment is the comment block above the files line; Trailing the
	// comment at its end.
	Comment, Trailing string
}

// FileRule grants (or, with Deny, refuses) opens beneath some paths.
type FileRule struct {
	// Pos is the position of the rule's first word.
	Pos Pos
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
	// NoSymlinks refuses symbolic links anywhere on the way. Without it,
	// links that stay beneath the rule's path are followed; links that
	// leave it are always refused.
	NoSymlinks bool
	// Deny refuses every open beneath the paths, to carve a subtree out
	// of a wider rule. It stands alone.
	Deny bool
	// Paths the rule covers, each with everything beneath it: absolute,
	// clean paths in the program's view of the file system (for a
	// container, inside the container).
	Paths []FilePath
	// Comment, Trailing and BlankBefore are as for Rule.
	Comment, Trailing string
	BlankBefore       bool
}

// FilePath is one path of a file rule, with the place it was written.
type FilePath struct {
	Pos  Pos
	Path string
}

// Refusal returns the errno action of refused opens: Errno, or
// errno(EACCES) when the block names none.
func (f *Files) Refusal() Action {
	if f.Errno.Kind == 0 {
		return Action{Kind: Errno, ErrnoName: "EACCES", Data: 13}
	}
	return f.Errno
}

// fileWords are the permissions of a file rule, in the order the
// formatter writes them.
var fileWords = []string{"read", "write", "create", "dir", "nosymlinks", "deny"}

// flag returns the field of permission w, or nil for another word.
func (r *FileRule) flag(w string) *bool {
	switch w {
	case "read":
		return &r.Read
	case "write":
		return &r.Write
	case "create":
		return &r.Create
	case "dir":
		return &r.Dir
	case "nosymlinks":
		return &r.NoSymlinks
	case "deny":
		return &r.Deny
	}
	return nil
}

// Access renders the rule's permissions as the files block writes them:
// "read write create", "read dir", "deny"; "" when it has none.
func (r *FileRule) Access() string {
	var out []string
	for _, w := range fileWords {
		if *r.flag(w) {
			out = append(out, w)
		}
	}
	return strings.Join(out, " ")
}

// String renders the rule as one line of the files block: its
// permissions, then its paths.
func (r *FileRule) String() string {
	parts := []string{r.Access()}
	for _, p := range r.Paths {
		parts = append(parts, quotePath(p.Path))
	}
	return strings.Join(parts, " ")
}

// quotePath writes a path bare when it lexes back as one path, and as a
// quoted string otherwise.
func quotePath(p string) string {
	if isBarePath(p) {
		return p
	}
	return strconv.Quote(p)
}

// maxPath is the longest path the kernel takes, with its NUL
// (include/uapi/linux/limits.h: PATH_MAX).
const maxPath = 4096

// CheckFilePath reports why p cannot be the path of a file rule: it must
// be absolute and clean, shorter than PATH_MAX, free of NUL bytes, and
// outside /proc, whose files describe the process that opens them, which
// for a brokered open is the broker and not the program.
func CheckFilePath(p string) error {
	switch {
	case p == "":
		return fmt.Errorf("empty path: give an absolute path, like /data")
	case strings.ContainsRune(p, 0):
		return fmt.Errorf("path %q holds a NUL byte, which no path can", p)
	case !path.IsAbs(p):
		return fmt.Errorf("path %q is relative: paths are absolute in the program's view of the file system, like %q", p, path.Join("/", p))
	case path.Clean(p) != p:
		return fmt.Errorf("path %q is not clean: write %q", p, path.Clean(p))
	case len(p) >= maxPath:
		return fmt.Errorf("path of %d bytes is longer than the kernel takes (PATH_MAX, %d with its NUL)", len(p), maxPath)
	case p == "/proc" || strings.HasPrefix(p, "/proc/"):
		return fmt.Errorf("path %q is in /proc, whose files describe the process that opens them (the file broker, not the program); the broker never opens them", p)
	}
	return nil
}

// Parsing.

// filesOpen parses "files [errno(E)] {". A second files block adds its
// rules to the first.
func (fp *fileParser) filesOpen() stmt {
	kw := fp.next()
	if fp.inBlock {
		fp.errorf(kw.pos, "a files block cannot be inside an only/except block (opened at %s): the broker's rules hold on every architecture", fp.blockPos)
	}
	// From here on the lines up to '}' are file rules, even if this line
	// has an error, so that they do not each report one.
	for j := fp.i; fp.toks[j].kind != tNewline && fp.toks[j].kind != tEOF; j++ {
		if fp.toks[j].kind == tLBrace {
			fp.inFiles, fp.filesPos = true, kw.pos
		}
	}
	var errno Action
	if t := fp.peek(); t.kind == tIdent {
		if t.text != "errno" {
			fp.errorf(t.pos, "found %q, expected errno(NAME) or '{' after files: the block names the errno of refused opens, like `files errno(EACCES) {`", t.text)
		}
		errno = fp.action()
	}
	fp.expect(tLBrace, "'{' to open the files block")
	fp.endStatement("'{' (the file rules go on the following lines)")
	fp.inFiles, fp.filesPos = true, kw.pos
	p := fp.st.p
	if p.Files == nil {
		p.Files = &Files{Pos: kw.pos, Errno: errno}
	} else if errno.Kind != 0 {
		if p.Files.Errno.Kind == 0 {
			p.Files.Errno = errno
		} else if p.Files.Errno.String() != errno.String() {
			fp.errorf(kw.pos, "conflicting files block: this says %s, but the one at %s says %s; keep one", errno, p.Files.Pos, p.Files.Errno)
		}
	}
	return stmt{kind: sFiles}
}

// filesLine parses a line inside a files block: a file rule or '}'.
func (fp *fileParser) filesLine(start token) stmt {
	if start.kind == tRBrace {
		fp.next()
		fp.endStatement("'}'")
		fp.inFiles = false
		return stmt{kind: sBlock}
	}
	const want = "permissions (read, write, create, dir, nosymlinks or deny), then paths"
	if start.kind != tIdent {
		fp.unexpected(start, want+", or '}' to close the files block")
	}
	r := &FileRule{Pos: start.pos}
	for fp.peek().kind == tIdent {
		t := fp.next()
		f := r.flag(t.text)
		switch {
		case f != nil && *f:
			fp.errorf(t.pos, "%s appears twice", t.text)
		case f != nil:
			*f = true
		case t == start && t.text == "errno":
			fp.errorf(t.pos, "the errno of refused opens goes on the files line, like `files errno(EACCES) {`")
		case t == start && slices.Contains(statementWords, t.text):
			fp.errorf(t.pos, "found %q inside the files block opened at %s: close the block with a line holding '}' first", t.text, fp.filesPos)
		case t != start && len(suggest.Nearest(t.text, fileWords, 1)) == 0:
			fp.errorf(t.pos, "%q is neither a permission nor a path: paths are absolute, like /%s", t.text, t.text)
		default:
			fp.errorf(t.pos, "unknown permission %q (permissions are read, write, create, dir, nosymlinks and deny)%s",
				t.text, suggest.Phrase(suggest.Nearest(t.text, fileWords, 2)))
		}
	}
	for k := fp.peek().kind; k == tPath || k == tString; k = fp.peek().kind {
		t := fp.next()
		r.Paths = append(r.Paths, FilePath{Pos: t.pos, Path: t.text})
	}
	if len(r.Paths) == 0 {
		fp.unexpected(fp.peek(), "the paths the rule covers after its permissions, like /data")
	}
	if t := fp.peek(); t.kind == tIdent {
		fp.errorf(t.pos, "found %q after the paths: permissions go before them, and paths are absolute, like /%s", t.text, t.text)
	}
	fp.endStatement("the paths")
	if fp.st.p.Files == nil {
		// The files line had an error; its rules are still read.
		fp.st.p.Files = &Files{Pos: fp.filesPos}
	}
	f := fp.st.p.Files
	f.Rules = append(f.Rules, r)
	return stmt{kind: sFileRule, frule: r}
}

// Checking.

// files checks the files block: its errno, its rules and paths, and that
// the file-opening syscalls reach the broker.
func (c *checker) files() {
	f := c.p.Files
	if f.Errno.Kind != 0 {
		if f.Errno.Kind != Errno {
			c.errs.add(f.Pos, "the files block refuses opens with an errno, not %s: write errno(NAME), like `files errno(EACCES) {`", f.Errno)
		} else {
			c.action(f.Pos, "files", &f.Errno)
			if f.Errno.ErrnoName == "" && f.Errno.Data == 0 {
				c.errs.add(f.Pos, "files %s would answer refused opens with 0, which the program takes for descriptor 0: name an error, like errno(EACCES)", f.Errno)
			}
		}
	}
	seen := map[string]Pos{}
	for _, r := range f.Rules {
		access := r.Access()
		switch {
		case access == "":
			c.errs.add(r.Pos, "the file rule grants nothing: give permissions (read, write, create, dir, nosymlinks) or deny")
		case r.Deny && access != "deny":
			c.errs.add(r.Pos, "deny stands alone: it refuses every open beneath its paths; drop %s", strings.TrimSpace(strings.Replace(access, "deny", "", 1)))
		}
		if len(r.Paths) == 0 {
			c.errs.add(r.Pos, "the file rule %q names no path", access)
		}
		for _, p := range r.Paths {
			pos := posOr(p.Pos, r.Pos)
			if err := CheckFilePath(p.Path); err != nil {
				c.errs.add(pos, "%v", err)
				continue
			}
			if prev, ok := seen[p.Path]; ok {
				c.errs.add(pos, "%s already has a file rule at %s: merge the two", p.Path, prev)
				continue
			}
			seen[p.Path] = pos
		}
	}
	if c.quiet {
		return // a syntax error may have hidden the notify rule
	}
	for _, reach := range c.fileReach() {
		if reach.notified {
			return
		}
	}
	c.errs.add(f.Pos, "the files block has no effect: no rule notifies %s, so the broker never sees an open; add `notify %s`",
		strings.Join(FileSyscalls, ", "), strings.Join(FileSyscalls, " "))
}

// fileReach is what the policy does with one file-opening syscall on
// one architecture, as far as the broker is concerned.
type fileReach struct {
	arch *arch.Arch
	name string
	// notified: some rule (or the default) may send it to the
	// supervisor.
	notified bool
	// bypass is the first rule that may allow it in the kernel;
	// byDefault says the default action allows it instead.
	bypass    *Rule
	byDefault bool
}

// fileReach follows each file-opening syscall of each accepted
// architecture through the rules, as Evaluate would, without knowing the
// arguments, capabilities or kernel: a rule with a condition or a
// capability or kernel restriction may or may not decide.
func (c *checker) fileReach() []fileReach {
	var out []fileReach
	for _, a := range c.accepted {
		for _, name := range FileSyscalls {
			nr, ok := a.Lookup(name)
			if !ok {
				continue
			}
			fr := fileReach{arch: a, name: name}
			decided := false
			for _, r := range c.p.Rules {
				if !slices.Contains(c.ruleArches(r), a) {
					continue // not on this architecture
				}
				if _, ok := matchTarget(r, a, uint32(nr)); !ok {
					continue
				}
				switch r.Action.Kind {
				case Notify:
					fr.notified = true
				case Allow, Log:
					fr.bypass = r
				}
				if fr.bypass != nil {
					decided = true
					break
				}
				if r.When == nil && !restrictedBeyondArch(r) {
					decided = true
					break
				}
			}
			if !decided {
				switch c.p.Default.Kind {
				case Notify:
					fr.notified = true
				case Allow, Log:
					fr.byDefault = true
				}
			}
			out = append(out, fr)
		}
	}
	return out
}

// restrictedBeyondArch reports whether a rule's only/except depend on
// capabilities or the kernel, which are known only when compiling.
func restrictedBeyondArch(r *Rule) bool {
	for _, ap := range []*Applies{r.Only, r.Except} {
		if ap != nil && (len(ap.Caps) > 0 || ap.MinKernel != "") {
			return true
		}
	}
	return false
}

// fileWarnings reports file-opening syscalls that escape the files block
// (allowed in the kernel, so the broker never sees them), and notified
// ones no files block serves. They are warnings: a filter may allow
// opens on purpose, and a supervisor may serve opens with handlers of
// its own.
func (c *checker) fileWarnings() []Warning {
	type group struct {
		pos    Pos
		what   string
		names  []string
		arches []string
	}
	var groups []*group
	find := func(pos Pos, what string) *group {
		for _, g := range groups {
			if g.pos == pos && g.what == what {
				return g
			}
		}
		g := &group{pos: pos, what: what}
		groups = append(groups, g)
		return g
	}
	add := func(g *group, name, arch string) {
		if !slices.Contains(g.names, name) {
			g.names = append(g.names, name)
		}
		if !slices.Contains(g.arches, arch) {
			g.arches = append(g.arches, arch)
		}
	}
	p := c.p
	if p.Files != nil {
		for _, fr := range c.fileReach() {
			switch {
			case fr.bypass != nil:
				add(find(fr.bypass.Pos, "this rule allows"), fr.name, fr.arch.Name)
			case fr.byDefault:
				add(find(c.headerPos("default"), "the default action allows"), fr.name, fr.arch.Name)
			}
		}
	} else {
		for _, r := range p.Rules {
			if r.Action.Kind != Notify {
				continue
			}
			for _, a := range c.ruleArches(r) {
				for _, name := range FileSyscalls {
					if nr, ok := a.Lookup(name); ok {
						if _, ok := matchTarget(r, a, uint32(nr)); ok {
							add(find(r.Pos, "this rule notifies"), name, a.Name)
						}
					}
				}
			}
		}
	}
	var out []Warning
	for _, g := range groups {
		on := strings.Join(g.names, ", ") + " on " + strings.Join(g.arches, ", ")
		var msg string
		if p.Files != nil {
			msg = fmt.Sprintf("%s %s without the file broker: those opens bypass the files block; notify them, or refuse them", g.what, on)
		} else {
			msg = fmt.Sprintf("%s %s, but the policy has no files block: without a handler of the supervisor's own, those opens fail with ENOSYS; add a files block for the file broker", g.what, on)
		}
		out = append(out, Warning{Pos: g.pos, Msg: msg})
	}
	return out
}

// Formatting.

// formatFiles writes the files block.
func formatFiles(f *Files) string {
	var b strings.Builder
	b.WriteString(commentLines(f.Comment, ""))
	line := "files {"
	if f.Errno.Kind != 0 {
		line = "files " + f.Errno.String() + " {"
	}
	b.WriteString(withTrailing(line, f.Trailing))
	b.WriteByte('\n')
	const ind = "    "
	for i, r := range f.Rules {
		if r.BlankBefore && i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(commentLines(r.Comment, ind))
		b.WriteString(withTrailing(fileRuleText(r, ind), r.Trailing))
		b.WriteByte('\n')
	}
	b.WriteString("}\n")
	return b.String()
}

// fileRuleText renders a file rule, its paths continuing on lines ending
// in '\' past lineWidth.
func fileRuleText(r *FileRule, indent string) string {
	var b strings.Builder
	cur := indent + r.Access()
	for i, p := range r.Paths {
		q := quotePath(p.Path)
		if i > 0 && len(cur)+1+len(q)+2 > lineWidth {
			b.WriteString(cur + " \\\n")
			cur = indent + "    " + q
			continue
		}
		cur += " " + q
	}
	b.WriteString(cur)
	return b.String()
}
