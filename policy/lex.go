package policy

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// tokKind is the kind of a lexical token of the native format.
type tokKind uint8

const (
	tEOF     tokKind = iota
	tNewline         // end of a line that ends a statement
	tIdent           // name: keyword, syscall, argument, constant, arch
	tNumber          // 42, 0x2a, 0o52, 052, 0b101010, -1
	tVersion         // 5.8, 4.14.2: kernel versions
	tString          // "quoted", Go escapes
	tGroup           // @network-io
	tLParen          // (
	tRParen          // )
	tLBrace          // {
	tRBrace          // }
	tComma           // ,
	tColon           // :
	tPipe            // |
	tAmp             // &
	tAndAnd          // &&
	tOrOr            // ||
	tNot             // !
	tEq              // ==
	tNe              // !=
	tLt              // <
	tLe              // <=
	tGt              // >
	tGe              // >=
	tDotDot          // ..
	tPath            // /usr/lib: an unquoted absolute path, in files blocks
	tIllegal         // anything else; the lexer has reported it
)

var tokNames = [...]string{
	tEOF: "end of file", tNewline: "end of line", tIdent: "name", tNumber: "number",
	tVersion: "version", tString: "string", tGroup: "group",
	tLParen: "'('", tRParen: "')'", tLBrace: "'{'", tRBrace: "'}'", tComma: "','",
	tColon: "':'", tPipe: "'|'", tAmp: "'&'", tAndAnd: "'&&'", tOrOr: "'||'",
	tNot: "'!'", tEq: "'=='", tNe: "'!='", tLt: "'<'", tLe: "'<='", tGt: "'>'",
	tGe: "'>='", tDotDot: "'..'", tPath: "path", tIllegal: "invalid text",
}

func (k tokKind) String() string { return tokNames[k] }

// token is one lexical token. For tString, text is the unquoted value.
type token struct {
	kind tokKind
	text string
	pos  Pos
}

// describe says what a token is, for "found X, expected Y" messages.
func (t token) describe() string {
	switch t.kind {
	case tIdent:
		return fmt.Sprintf("%q", t.text)
	case tNumber, tVersion:
		return "number " + t.text
	case tString:
		return "string " + strconv.Quote(t.text)
	case tGroup:
		return "group @" + t.text
	case tPath:
		return "path " + t.text
	}
	return t.kind.String()
}

// comment is a '#' comment: its text without the '#' and one following
// space, and whether it stands alone on its line.
type comment struct {
	pos     Pos
	text    string
	ownLine bool
}

// lexed is a whole source cut into tokens, plus what the parser needs to
// keep comments and blank lines.
type lexed struct {
	toks     []token
	comments []comment
	// content marks the lines holding a token or a comment; the others
	// (not counting continuation lines) are blank.
	content map[int]bool
}

// lex cuts src into tokens. Problems are added to errs; the offending text
// becomes a tIllegal token so that the parser can skip its line.
//
// A newline ends a statement, except after a backslash that ends the line
// (an explicit continuation); the parser itself ignores newlines inside
// parentheses and braces and after operators that need a right operand.
func lex(file string, src []byte, errs *ErrorList) *lexed {
	lx := &lexed{content: map[int]bool{}}
	line, lineStart := 1, 0
	lineHasTok := false
	pos := func(i int) Pos { return Pos{File: file, Line: line, Col: i - lineStart + 1} }
	emit := func(k tokKind, text string, at int) {
		lx.toks = append(lx.toks, token{kind: k, text: text, pos: pos(at)})
		lx.content[line] = true
		lineHasTok = true
	}
	i := 0
	for i < len(src) {
		c := src[i]
		switch {
		case c == '\n':
			lx.toks = append(lx.toks, token{kind: tNewline, pos: pos(i)})
			line, lineStart, lineHasTok = line+1, i+1, false
			i++
			continue
		case c == ' ' || c == '\t' || c == '\r':
			i++
			continue
		case c == '\\':
			// A continuation: backslash, optional blanks, end of line.
			j := i + 1
			for j < len(src) && (src[j] == ' ' || src[j] == '\t' || src[j] == '\r') {
				j++
			}
			if j < len(src) && src[j] == '\n' {
				line, lineStart, lineHasTok = line+1, j+1, false
				i = j + 1
				continue
			}
			if j == len(src) {
				i = j
				continue
			}
			errs.add(pos(i), "unexpected '\\': a backslash continues a statement only at the very end of a line")
			emit(tIllegal, "\\", i)
			i++
			continue
		case c == '#':
			j := i
			for j < len(src) && src[j] != '\n' {
				j++
			}
			text := strings.TrimRight(string(src[i+1:j]), " \t\r")
			text = strings.TrimPrefix(text, " ")
			if !utf8.ValidString(text) {
				text = strings.ToValidUTF8(text, "\uFFFD")
			}
			lx.comments = append(lx.comments, comment{pos: pos(i), text: text, ownLine: !lineHasTok})
			lx.content[line] = true
			i = j
			continue
		case isIdentStart(c):
			// Names may hold inner dashes, so that architecture aliases
			// such as x86-64 read as one word.
			j := i + 1
			for j < len(src) && (isIdentChar(src[j]) || (src[j] == '-' && j+1 < len(src) && isIdentChar(src[j+1]))) {
				j++
			}
			emit(tIdent, string(src[i:j]), i)
			i = j
			continue
		case isDigit(c) || (c == '-' && i+1 < len(src) && isDigit(src[i+1])):
			j := i + 1
			for j < len(src) && isIdentChar(src[j]) {
				j++
			}
			// A version: digits, then '.' and digits, repeated. "0..31" is
			// a range, not a version.
			if c != '-' && j < len(src)-1 && src[j] == '.' && isDigit(src[j+1]) && isAllDigits(src[i:j]) {
				for j < len(src)-1 && src[j] == '.' && isDigit(src[j+1]) {
					j += 2
					for j < len(src) && isDigit(src[j]) {
						j++
					}
				}
				if j < len(src) && isIdentChar(src[j]) {
					for j < len(src) && (isIdentChar(src[j]) || src[j] == '.') {
						j++
					}
					errs.add(pos(i), "malformed kernel version %q: want numbers separated by dots, like 5.8", src[i:j])
					emit(tIllegal, string(src[i:j]), i)
					i = j
					continue
				}
				emit(tVersion, string(src[i:j]), i)
				i = j
				continue
			}
			text := string(src[i:j])
			if _, err := parseNumber(text); err != nil {
				errs.add(pos(i), "%v", err)
				emit(tIllegal, text, i)
			} else {
				emit(tNumber, text, i)
			}
			i = j
			continue
		case c == '@':
			j := i + 1
			for j < len(src) && (isIdentChar(src[j]) || src[j] == '-') {
				j++
			}
			if j == i+1 {
				errs.add(pos(i), "'@' must be followed by a group name, like @basic-io")
				emit(tIllegal, "@", i)
			} else {
				emit(tGroup, string(src[i+1:j]), i)
			}
			i = j
			continue
		case c == '/':
			// An unquoted path: '/' and the characters isPathRune
			// accepts. Paths with others (blanks, quotes, '#') are
			// written as strings.
			j := i + 1
			for j < len(src) {
				r, size := utf8.DecodeRune(src[j:])
				if !isPathRune(r) {
					break
				}
				j += size
			}
			emit(tPath, string(src[i:j]), i)
			i = j
			continue
		case c == '"':
			j := i + 1
			for j < len(src) && src[j] != '"' && src[j] != '\n' {
				if src[j] == '\\' && j+1 < len(src) && src[j+1] != '\n' {
					j++
				}
				j++
			}
			if j >= len(src) || src[j] != '"' {
				errs.add(pos(i), "string not terminated: a closing '\"' must end it on the same line")
				emit(tIllegal, string(src[i:j]), i)
				i = j
				continue
			}
			s, err := strconv.Unquote(string(src[i : j+1]))
			if err != nil || strings.ContainsRune(s, 0) {
				errs.add(pos(i), "malformed string %s: use Go escapes (\\\", \\\\, \\n, \\t, \\xNN)", src[i:j+1])
				emit(tIllegal, string(src[i:j+1]), i)
			} else {
				emit(tString, s, i)
			}
			i = j + 1
			continue
		}
		// Punctuation.
		two := ""
		if i+1 < len(src) {
			two = string(src[i : i+2])
		}
		k, n := tIllegal, 1
		switch two {
		case "&&":
			k, n = tAndAnd, 2
		case "||":
			k, n = tOrOr, 2
		case "==":
			k, n = tEq, 2
		case "!=":
			k, n = tNe, 2
		case "<=":
			k, n = tLe, 2
		case ">=":
			k, n = tGe, 2
		case "..":
			k, n = tDotDot, 2
		default:
			switch c {
			case '(':
				k = tLParen
			case ')':
				k = tRParen
			case '{':
				k = tLBrace
			case '}':
				k = tRBrace
			case ',':
				k = tComma
			case ':':
				k = tColon
			case '|':
				k = tPipe
			case '&':
				k = tAmp
			case '!':
				k = tNot
			case '<':
				k = tLt
			case '>':
				k = tGt
			}
		}
		if k == tIllegal {
			r, size := utf8.DecodeRune(src[i:])
			switch {
			case c == '=':
				errs.add(pos(i), "unexpected '=': equality is written '=='")
			case r == utf8.RuneError && size <= 1:
				errs.add(pos(i), "invalid UTF-8 byte 0x%02x", c)
			default:
				errs.add(pos(i), "unexpected character %q", r)
			}
			emit(tIllegal, string(src[i:i+size]), i)
			i += size
			continue
		}
		emit(k, string(src[i:i+n]), i)
		i += n
	}
	lx.toks = append(lx.toks, token{kind: tEOF, pos: pos(i)})
	return lx
}

// isPathRune reports whether r may appear in an unquoted path: letters,
// digits, '/' and the punctuation file names commonly hold. Everything
// else ends the path, so that a comment, a brace or a quote after it
// reads as itself.
func isPathRune(r rune) bool {
	switch {
	case r < utf8.RuneSelf:
		c := byte(r)
		return isIdentChar(c) || strings.IndexByte("/._-+@:~%=", c) >= 0
	case r == utf8.RuneError:
		return false
	}
	return unicode.IsLetter(r) || unicode.IsDigit(r)
}

// isBarePath reports whether s can be written without quotes: it lexes
// back as one path token.
func isBarePath(s string) bool {
	if !strings.HasPrefix(s, "/") {
		return false
	}
	for _, r := range s {
		if !isPathRune(r) {
			return false
		}
	}
	return true
}

func isIdentStart(c byte) bool {
	return c == '_' || ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z')
}

func isIdentChar(c byte) bool { return isIdentStart(c) || isDigit(c) }

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func isAllDigits(b []byte) bool {
	for _, c := range b {
		if !isDigit(c) {
			return false
		}
	}
	return len(b) > 0
}

// parseNumber reads a number of the native format: decimal, 0x hex, 0o or
// C-style leading-zero octal, 0b binary, optionally negated. Negative
// numbers are two's complement 64-bit values.
func parseNumber(s string) (uint64, error) {
	neg := strings.HasPrefix(s, "-")
	digits := strings.TrimPrefix(s, "-")
	base := 10
	body := digits
	switch {
	case len(digits) > 1 && (digits[:2] == "0x" || digits[:2] == "0X"):
		base, body = 16, digits[2:]
	case len(digits) > 1 && (digits[:2] == "0o" || digits[:2] == "0O"):
		base, body = 8, digits[2:]
	case len(digits) > 1 && (digits[:2] == "0b" || digits[:2] == "0B"):
		base, body = 2, digits[2:]
	case len(digits) > 1 && digits[0] == '0':
		base, body = 8, digits[1:]
	}
	if body == "" || strings.ContainsAny(body, "_+-") {
		return 0, fmt.Errorf("malformed number %q: want decimal, 0x hex, 0o octal or 0b binary digits", s)
	}
	v, err := strconv.ParseUint(body, base, 64)
	if err != nil {
		if ne, ok := err.(*strconv.NumError); ok && ne.Err == strconv.ErrRange {
			return 0, fmt.Errorf("number %s does not fit in 64 bits", s)
		}
		return 0, fmt.Errorf("malformed number %q: want decimal, 0x hex, 0o octal or 0b binary digits", s)
	}
	if neg {
		if v > 1<<63 {
			return 0, fmt.Errorf("number %s is below the smallest 64-bit value -%d", s, uint64(1<<63))
		}
		return -v, nil
	}
	return v, nil
}

// canonicalNumber spells a number the way the formatter writes it: the
// base as written, lower-case prefix and hex digits, octal with 0o, no
// redundant leading zeros. s must be valid for parseNumber.
func canonicalNumber(s string) string {
	v, err := parseNumber(s)
	if err != nil {
		return s
	}
	neg := strings.HasPrefix(s, "-")
	mag := v
	if neg {
		mag = -v
	}
	digits := strings.ToLower(strings.TrimPrefix(s, "-"))
	var out string
	switch {
	case strings.HasPrefix(digits, "0x"):
		out = "0x" + strconv.FormatUint(mag, 16)
	case strings.HasPrefix(digits, "0b"):
		out = "0b" + strconv.FormatUint(mag, 2)
	case strings.HasPrefix(digits, "0o") || (len(digits) > 1 && digits[0] == '0'):
		out = "0o" + strconv.FormatUint(mag, 8)
	default:
		out = strconv.FormatUint(mag, 10)
	}
	if neg && mag != 0 {
		out = "-" + out
	}
	return out
}
