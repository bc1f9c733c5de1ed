package notify

import (
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/syscage/syscage/arch"
	"github.com/syscage/syscage/internal/suggest"
)

// ParseFileRules reads file rules in their text form, one rule per line:
//
//	# comments run to the end of the line
//	errno EACCES                  # the errno of refusals (EACCES if absent)
//	read dir /usr /etc            # permissions, then one or more roots
//	read,write,create /tmp        # commas or spaces between permissions
//	deny /etc/shadow              # carve a subtree out of a wider rule
//	read nosymlinks "/srv/my data"  # quote paths with blanks (Go syntax)
//
// Permissions are read, write, create, dir, nosymlinks, or deny alone.
// Roots are absolute, clean paths in the target's view. name is used in
// error positions ("rules.files:3:7") and in each rule's Source.
func ParseFileRules(name string, src []byte) (FileRules, error) {
	var fr FileRules
	var errs []string
	seen := map[string]string{}
	errnoLine := 0
	for i, line := range strings.Split(string(src), "\n") {
		ln := i + 1
		pos := func(col int) string { return fmt.Sprintf("%s:%d:%d", name, ln, col) }
		words, err := splitRuleLine(line)
		if err != nil {
			errs = append(errs, pos(err.col)+": "+err.msg)
			continue
		}
		if len(words) == 0 {
			continue
		}
		if words[0].text == "errno" && !words[0].quoted {
			if errnoLine != 0 {
				errs = append(errs, fmt.Sprintf("%s: a second errno line (the first is line %d); keep one", pos(words[0].col), errnoLine))
				continue
			}
			errnoLine = ln
			if len(words) != 2 {
				errs = append(errs, pos(words[0].col)+": errno takes one errno name or number, like errno EACCES")
				continue
			}
			e, msg := parseErrno(words[1].text)
			if msg != "" {
				errs = append(errs, pos(words[1].col)+": "+msg)
				continue
			}
			fr.DenyErrno = e
			continue
		}
		var r FileRule
		j := 0
		for ; j < len(words) && !words[j].quoted && !strings.HasPrefix(words[j].text, "/"); j++ {
			w := words[j]
			if msg := r.set(w.text); msg != "" {
				if j > 0 && len(suggest.Nearest(w.text, permissionWords, 1)) == 0 {
					msg = fmt.Sprintf("%q is neither a permission nor an absolute path: roots start with /, like /%s", w.text, w.text)
				}
				errs = append(errs, pos(w.col)+": "+msg)
				r.Source = "bad"
			}
		}
		if r.Source == "bad" {
			continue
		}
		if j == 0 {
			errs = append(errs, pos(words[0].col)+fmt.Sprintf(": %q is not a permission: a rule starts with read, write, create, dir, nosymlinks or deny, then the roots", words[0].text))
			continue
		}
		if r.Deny && (r.Read || r.Write || r.Create || r.Dir || r.NoSymlinks) {
			errs = append(errs, pos(words[0].col)+": deny stands alone: it refuses everything beneath its roots")
			continue
		}
		if j == len(words) {
			errs = append(errs, pos(len(line)+1)+": the rule names no root: add an absolute path, like /data")
			continue
		}
		for _, w := range words[j:] {
			rule := r
			rule.Root = w.text
			rule.Source = pos(w.col)
			probe := FileRules{Rules: []FileRule{rule}}
			if err := probe.Check(); err != nil {
				errs = append(errs, err.Error())
				continue
			}
			if prev, ok := seen[rule.Root]; ok {
				errs = append(errs, fmt.Sprintf("%s: root %q already has a rule at %s; merge the two lines", rule.Source, rule.Root, prev))
				continue
			}
			seen[rule.Root] = rule.Source
			fr.Rules = append(fr.Rules, rule)
		}
	}
	if len(errs) > 0 {
		return FileRules{}, &RulesError{Errors: errs}
	}
	return fr, nil
}

// LoadFileRules reads a file of file rules.
func LoadFileRules(path string) (FileRules, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return FileRules{}, err
	}
	return ParseFileRules(path, src)
}

// RulesError lists the problems of a file-rules source, one per line,
// each starting with its position.
type RulesError struct {
	Errors []string
}

func (e *RulesError) Error() string { return strings.Join(e.Errors, "\n") }

var permissionWords = []string{"read", "write", "create", "dir", "nosymlinks", "deny"}

// set turns on the permission w, or says what is wrong with it.
func (r *FileRule) set(w string) string {
	switch w {
	case "read":
		r.Read = true
	case "write":
		r.Write = true
	case "create":
		r.Create = true
	case "dir":
		r.Dir = true
	case "nosymlinks":
		r.NoSymlinks = true
	case "deny":
		r.Deny = true
	default:
		msg := fmt.Sprintf("unknown permission %q%s; permissions are %s", w,
			suggest.Phrase(suggest.Nearest(w, permissionWords, 2)), strings.Join(permissionWords, ", "))
		if !strings.HasPrefix(w, "/") && strings.Contains(w, "/") {
			msg = fmt.Sprintf("%q is not an absolute path: roots start with /", w)
		}
		return msg
	}
	return ""
}

// parseErrno reads an errno name (EACCES) or number (13).
func parseErrno(s string) (unix.Errno, string) {
	if n, err := strconv.Atoi(s); err == nil {
		if n < 1 || n > 4095 {
			return 0, fmt.Sprintf("errno %d is out of range 1..4095", n)
		}
		return unix.Errno(n), ""
	}
	if a := arch.Native(); a != nil {
		if n, ok := a.Errno(s); ok {
			return unix.Errno(n), ""
		}
	}
	return 0, fmt.Sprintf("unknown errno %q: give a name such as EACCES or EPERM, or a number", s)
}

type ruleWord struct {
	text   string
	col    int
	quoted bool
}

type lineError struct {
	col int
	msg string
}

// splitRuleLine cuts a line into words at blanks and commas, reading
// quoted words with Go's escapes and stopping at a '#' outside quotes.
func splitRuleLine(line string) ([]ruleWord, *lineError) {
	var out []ruleWord
	i := 0
	for i < len(line) {
		c := line[i]
		switch {
		case c == ' ' || c == '\t' || c == '\r' || c == ',':
			i++
		case c == '#':
			return out, nil
		case c == '"':
			j := i + 1
			for j < len(line) && line[j] != '"' {
				if line[j] == '\\' {
					j++
				}
				j++
			}
			if j >= len(line) {
				return nil, &lineError{i + 1, "string not terminated: close it with '\"' on the same line"}
			}
			s, err := strconv.Unquote(line[i : j+1])
			if err != nil || strings.ContainsRune(s, 0) {
				return nil, &lineError{i + 1, fmt.Sprintf("malformed string %s: use Go escapes (\\\", \\\\, \\xNN)", line[i:j+1])}
			}
			out = append(out, ruleWord{text: s, col: i + 1, quoted: true})
			i = j + 1
		default:
			j := i
			for j < len(line) && !strings.ContainsRune(" \t\r,#\"", rune(line[j])) {
				j++
			}
			out = append(out, ruleWord{text: line[i:j], col: i + 1})
			i = j
		}
	}
	return out, nil
}

// FormatFileRules writes rules in the form ParseFileRules reads.
func FormatFileRules(fr FileRules) []byte {
	var b strings.Builder
	if fr.DenyErrno != 0 {
		name := unix.ErrnoName(fr.DenyErrno)
		if name == "" {
			name = strconv.Itoa(int(fr.DenyErrno))
		}
		b.WriteString("errno " + name + "\n")
	}
	for _, r := range fr.Rules {
		root := r.Root
		if strings.ContainsAny(root, " \t\r\n,#\"\\") || !strconvIsPrint(root) {
			root = strconv.Quote(root)
		}
		b.WriteString(r.Access() + " " + root + "\n")
	}
	return []byte(b.String())
}

func strconvIsPrint(s string) bool {
	for _, r := range s {
		if !strconv.IsPrint(r) {
			return false
		}
	}
	return true
}
