package policy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"sort"
	"strings"

	"github.com/syscage/syscage/internal/suggest"
)

// This file reads JSON into a tree that remembers where every value and
// key starts, so that errors in OCI profiles can name a line and column.
// encoding/json alone reports neither the place of a type mismatch nor
// unknown fields in a way an author can act on.

// jsonKind is the type of a JSON value.
type jsonKind uint8

const (
	jsonNull jsonKind = iota
	jsonBool
	jsonNumber
	jsonString
	jsonArray
	jsonObject
)

var jsonKindNames = [...]string{
	jsonNull: "null", jsonBool: "a boolean", jsonNumber: "a number",
	jsonString: "a string", jsonArray: "an array", jsonObject: "an object",
}

func (k jsonKind) String() string { return jsonKindNames[k] }

// jsonNode is one JSON value and the byte offset where it starts.
type jsonNode struct {
	kind jsonKind
	off  int
	// str is the value of a string or the literal of a number.
	str     string
	boolean bool
	fields  []jsonField // members of an object, in source order
	elems   []*jsonNode // elements of an array
}

// jsonField is one member of an object.
type jsonField struct {
	key string
	off int // where the key starts
	val *jsonNode
}

// jsonMaxDepth bounds nesting. Profiles nest four levels deep; the bound
// keeps hostile input from costing more than its size.
const jsonMaxDepth = 32

// jsonError is a syntax error at a byte offset.
type jsonError struct {
	off int
	msg string
}

func (e *jsonError) Error() string { return e.msg }

// jsonDecoder builds a jsonNode tree from one JSON document.
type jsonDecoder struct {
	data []byte
	dec  *json.Decoder
}

// decodeJSON parses data, which must hold exactly one JSON value.
func decodeJSON(data []byte) (*jsonNode, error) {
	d := &jsonDecoder{data: data, dec: json.NewDecoder(bytes.NewReader(data))}
	d.dec.UseNumber()
	n, err := d.value(0)
	if err != nil {
		return nil, err
	}
	off := d.tokenStart()
	if _, err := d.dec.Token(); err != io.EOF {
		return nil, &jsonError{off, "unexpected data after the end of the JSON document"}
	}
	return n, nil
}

// tokenStart returns the offset of the next token: the decoder's offset
// past any white space and the ':' or ',' separators it has not consumed.
func (d *jsonDecoder) tokenStart() int {
	off := int(d.dec.InputOffset())
	for off < len(d.data) && strings.IndexByte(" \t\r\n:,", d.data[off]) >= 0 {
		off++
	}
	return off
}

// token reads the next token and the offset where it starts.
func (d *jsonDecoder) token() (json.Token, int, error) {
	off := d.tokenStart()
	tok, err := d.dec.Token()
	if err != nil {
		var se *json.SyntaxError
		switch {
		case errors.As(err, &se):
			// The decoder's Offset is that of the offending byte.
			o := min(max(int(se.Offset), 0), len(d.data))
			return nil, o, &jsonError{o, "JSON syntax error: " + strings.TrimPrefix(se.Error(), "json: ")}
		case err == io.EOF || err == io.ErrUnexpectedEOF:
			return nil, len(d.data), &jsonError{len(d.data), "unexpected end of the JSON document"}
		}
		return nil, off, &jsonError{off, "JSON syntax error: " + strings.TrimPrefix(err.Error(), "json: ")}
	}
	return tok, off, nil
}

func (d *jsonDecoder) value(depth int) (*jsonNode, error) {
	tok, off, err := d.token()
	if err != nil {
		return nil, err
	}
	return d.fromToken(tok, off, depth)
}

func (d *jsonDecoder) fromToken(tok json.Token, off, depth int) (*jsonNode, error) {
	switch t := tok.(type) {
	case nil:
		return &jsonNode{kind: jsonNull, off: off}, nil
	case bool:
		return &jsonNode{kind: jsonBool, off: off, boolean: t}, nil
	case json.Number:
		return &jsonNode{kind: jsonNumber, off: off, str: string(t)}, nil
	case string:
		return &jsonNode{kind: jsonString, off: off, str: t}, nil
	case json.Delim:
		if depth >= jsonMaxDepth {
			return nil, &jsonError{off, fmt.Sprintf("JSON nested deeper than %d levels", jsonMaxDepth)}
		}
		switch t {
		case '[':
			n := &jsonNode{kind: jsonArray, off: off}
			for {
				tok, eoff, err := d.token()
				if err != nil {
					return nil, err
				}
				if tok == json.Delim(']') {
					return n, nil
				}
				e, err := d.fromToken(tok, eoff, depth+1)
				if err != nil {
					return nil, err
				}
				n.elems = append(n.elems, e)
			}
		case '{':
			n := &jsonNode{kind: jsonObject, off: off}
			for {
				tok, koff, err := d.token()
				if err != nil {
					return nil, err
				}
				if tok == json.Delim('}') {
					return n, nil
				}
				key, _ := tok.(string) // the decoder only returns strings as keys
				v, err := d.value(depth + 1)
				if err != nil {
					return nil, err
				}
				n.fields = append(n.fields, jsonField{key: key, off: koff, val: v})
			}
		}
	}
	return nil, &jsonError{off, fmt.Sprintf("unexpected JSON token %v", tok)}
}

// lineIndex turns byte offsets into 1-based lines and columns.
type lineIndex struct {
	file  string
	start []int // offset of the first byte of each line
}

func newLineIndex(file string, data []byte) *lineIndex {
	li := &lineIndex{file: file, start: []int{0}}
	for i, c := range data {
		if c == '\n' {
			li.start = append(li.start, i+1)
		}
	}
	return li
}

// syntaxError turns an error of decodeJSON into an ErrorList with the
// error's position.
func (li *lineIndex) syntaxError(err error) ErrorList {
	off := 0
	var je *jsonError
	if errors.As(err, &je) {
		off = je.off
	}
	return ErrorList{{Pos: li.pos(off), Msg: err.Error()}}
}

// pos returns the position of byte offset off; columns count bytes.
func (li *lineIndex) pos(off int) Pos {
	line := sort.Search(len(li.start), func(i int) bool { return li.start[i] > off }) - 1
	if line < 0 {
		line = 0
	}
	return Pos{File: li.file, Line: line + 1, Col: off - li.start[line] + 1}
}

// jsonReader checks a jsonNode tree against the shape a profile format
// expects, collecting every error with its position.
type jsonReader struct {
	li    *lineIndex
	errs  ErrorList
	warns []Warning
}

func (r *jsonReader) errorf(off int, format string, args ...any) {
	r.errs.add(r.li.pos(off), format, args...)
}

func (r *jsonReader) warnf(off int, format string, args ...any) {
	r.warnAt(r.li.pos(off), format, args...)
}

func (r *jsonReader) warnAt(pos Pos, format string, args ...any) {
	r.warns = append(r.warns, Warning{Pos: pos, Msg: fmt.Sprintf(format, args...)})
}

// object returns the members of n by key, after checking that n is an
// object whose keys are all in allowed and none repeats. Members whose
// value is null are left out: the container tools read null as absent.
// what names the object in messages ("the profile", "syscalls[3]").
func (r *jsonReader) object(n *jsonNode, what string, allowed ...string) map[string]*jsonField {
	if n.kind != jsonObject {
		r.errorf(n.off, "%s: want an object, found %s", what, n.kind)
		return nil
	}
	out := make(map[string]*jsonField, len(n.fields))
	seen := make(map[string]bool, len(n.fields))
	for i := range n.fields {
		f := &n.fields[i]
		switch {
		case seen[f.key]:
			r.errorf(f.off, "%s: %q appears twice; each key may appear once", what, f.key)
			continue
		case !slices.Contains(allowed, f.key):
			r.errorf(f.off, "%s: unknown key %q%s (valid keys: %s)", what, f.key,
				jsonSuggestKey(f.key, allowed), strings.Join(allowed, ", "))
			continue
		}
		seen[f.key] = true
		if f.val.kind != jsonNull {
			out[f.key] = f
		}
	}
	return out
}

// jsonSuggestKey proposes the nearest valid key, preferring a spelling that
// differs only in case.
func jsonSuggestKey(key string, allowed []string) string {
	for _, a := range allowed {
		if strings.EqualFold(a, key) {
			return suggest.Phrase([]string{a})
		}
	}
	return suggest.Phrase(suggest.Nearest(key, allowed, 2))
}

// str returns the string value of n.
func (r *jsonReader) str(n *jsonNode, what string) (string, bool) {
	if n.kind != jsonString {
		r.errorf(n.off, "%s: want a string, found %s", what, n.kind)
		return "", false
	}
	return n.str, true
}

// strs returns the elements of an array of strings.
func (r *jsonReader) strs(n *jsonNode, what string) ([]string, []int, bool) {
	if n.kind != jsonArray {
		r.errorf(n.off, "%s: want an array of strings, found %s", what, n.kind)
		return nil, nil, false
	}
	out := make([]string, 0, len(n.elems))
	offs := make([]int, 0, len(n.elems))
	ok := true
	for i, e := range n.elems {
		s, good := r.str(e, fmt.Sprintf("%s[%d]", what, i))
		if good {
			out = append(out, s)
			offs = append(offs, e.off)
		}
		ok = ok && good
	}
	return out, offs, ok
}

// array returns the elements of an array.
func (r *jsonReader) array(n *jsonNode, what string) ([]*jsonNode, bool) {
	if n.kind != jsonArray {
		r.errorf(n.off, "%s: want an array, found %s", what, n.kind)
		return nil, false
	}
	return n.elems, true
}

// uint reads a non-negative integer no larger than max.
func (r *jsonReader) uint(n *jsonNode, what string, max uint64) (uint64, bool) {
	if n.kind != jsonNumber {
		r.errorf(n.off, "%s: want a number, found %s", what, n.kind)
		return 0, false
	}
	v, err := parseJSONUint(n.str, max)
	if err != nil {
		r.errorf(n.off, "%s: %v", what, err)
		return 0, false
	}
	return v, true
}

// parseJSONUint reads a JSON number literal as an integer 0..max. The
// container tools decode these fields into unsigned Go integers, which
// refuse signs, fractions and exponents; so does this.
func parseJSONUint(lit string, max uint64) (uint64, error) {
	if lit == "" {
		return 0, fmt.Errorf("empty number")
	}
	if lit[0] == '-' {
		return 0, fmt.Errorf("%s is negative; want an integer 0..%d (write negative values as their two's complement, e.g. -1 as %d)", lit, max, max)
	}
	var v uint64
	for i := 0; i < len(lit); i++ {
		c := lit[i]
		if c < '0' || c > '9' {
			return 0, fmt.Errorf("%s is not a whole number; want an integer 0..%d", lit, max)
		}
		d := uint64(c - '0')
		if v > (math.MaxUint64-d)/10 {
			return 0, fmt.Errorf("%s is larger than %d", lit, max)
		}
		v = v*10 + d
	}
	if v > max {
		return 0, fmt.Errorf("%s is larger than %d", lit, max)
	}
	return v, nil
}
