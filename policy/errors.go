package policy

import (
	"fmt"
	"sort"
	"strings"
)

// Error is one problem found in a policy source, with the place it was
// found.
type Error struct {
	Pos Pos
	Msg string
}

// Error renders the error as "file:line:col: message".
func (e *Error) Error() string {
	if e.Pos.File == "" && !e.Pos.IsValid() {
		return e.Msg
	}
	return e.Pos.String() + ": " + e.Msg
}

// ErrorList is every problem found in a policy, sorted by position. Parse
// reports as many as it can find at once rather than stopping at the
// first.
type ErrorList []*Error

// maxErrors bounds an ErrorList: past it, later errors are mostly echoes
// of earlier ones.
const maxErrors = 50

// Error renders all errors, one per line.
func (l ErrorList) Error() string {
	switch len(l) {
	case 0:
		return "no errors"
	case 1:
		return l[0].Error()
	}
	var b strings.Builder
	for i, e := range l {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(e.Error())
	}
	return b.String()
}

// Err returns the list as an error, or nil when it is empty.
func (l ErrorList) Err() error {
	if len(l) == 0 {
		return nil
	}
	return l
}

// Len, Less and Swap sort the list by file, line and column.
func (l ErrorList) Len() int      { return len(l) }
func (l ErrorList) Swap(i, j int) { l[i], l[j] = l[j], l[i] }
func (l ErrorList) Less(i, j int) bool {
	a, b := l[i].Pos, l[j].Pos
	if a.File != b.File {
		return a.File < b.File
	}
	if a.Line != b.Line {
		return a.Line < b.Line
	}
	if a.Col != b.Col {
		return a.Col < b.Col
	}
	return l[i].Msg < l[j].Msg
}

// add appends an error unless the same message is already reported at the
// same position.
func (l *ErrorList) add(pos Pos, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	for _, e := range *l {
		if e.Pos == pos && e.Msg == msg {
			return
		}
	}
	*l = append(*l, &Error{Pos: pos, Msg: msg})
}

// sorted sorts the list, keeps at most maxErrors and says how many more
// there were.
func (l ErrorList) sorted() ErrorList {
	sort.Stable(l)
	if len(l) > maxErrors {
		more := len(l) - maxErrors
		last := l[maxErrors-1].Pos
		l = append(l[:maxErrors:maxErrors], &Error{Pos: last, Msg: fmt.Sprintf("too many errors (%d more not shown)", more)})
	}
	return l
}
