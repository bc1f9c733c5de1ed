package sandbox

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/syscage/syscage/sandbox/initstage"
)

// Exit codes of Command for its own failures, as container runtimes use
// them (docs/run.md).
const (
	ExitInternal      = initstage.ExitInternal      // syscage failed before the program started
	ExitCannotExecute = initstage.ExitCannotExecute // the program exists but cannot be executed
	ExitNotFound      = initstage.ExitNotFound      // the program does not exist
)

// StartError is a failure before the program started: nothing of the
// program ran. Code is ExitInternal, ExitCannotExecute or ExitNotFound.
type StartError struct {
	Code  int
	Msg   string
	Errno unix.Errno
	// Why explains the errno when it would mislead (see ExecWhy).
	Why string
}

func (e *StartError) Error() string {
	s := e.Msg
	if e.Errno != 0 {
		s = fmt.Sprintf("%s: %v", e.Msg, e.Errno)
	}
	if e.Why != "" {
		s += ": " + e.Why
	}
	return s
}

func (e *StartError) Unwrap() error {
	if e.Errno != 0 {
		return e.Errno
	}
	return nil
}

// ExecWhy explains why execve of the existing file path failed with e
// when the errno alone would mislead: ENOENT for a file that exists means
// its interpreter (the #! line's, or an ELF program's dynamic loader)
// does not exist; ENOEXEC means neither a #! line nor a binary this
// machine runs. It returns "" when it has nothing to add.
func ExecWhy(path string, e unix.Errno) string {
	if e != unix.ENOENT && e != unix.ENOEXEC {
		return ""
	}
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	head := make([]byte, 256)
	n, _ := io.ReadFull(f, head)
	head = head[:n]
	switch {
	case bytes.HasPrefix(head, []byte("#!")):
		line, _, _ := bytes.Cut(head[2:], []byte("\n"))
		interp := strings.Fields(string(line))
		switch {
		case len(interp) == 0:
			return "its #! line names no interpreter"
		case e == unix.ENOENT:
			return "its #! interpreter " + interp[0] + " does not exist"
		}
		return "its #! interpreter " + interp[0] + " cannot be executed"
	case bytes.HasPrefix(head, []byte("\x7fELF")):
		if e == unix.ENOENT {
			return "its ELF interpreter, the dynamic loader, does not exist: a binary built for another system"
		}
		return "an ELF binary this machine cannot run (another architecture)"
	case e == unix.ENOEXEC:
		return "no #! line and not an ELF binary"
	}
	return ""
}
