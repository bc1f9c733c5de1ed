package sandbox

import (
	"fmt"

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
}

func (e *StartError) Error() string {
	if e.Errno != 0 {
		return fmt.Sprintf("%s: %v", e.Msg, e.Errno)
	}
	return e.Msg
}

func (e *StartError) Unwrap() error {
	if e.Errno != 0 {
		return e.Errno
	}
	return nil
}
