package sandbox

import (
	"golang.org/x/sys/unix"

	"github.com/syscage/syscage/internal/execerr"
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
// program ran. Code is ExitInternal, ExitCannotExecute or ExitNotFound;
// Why explains the errno when it would mislead (see ExecWhy).
type StartError = execerr.StartError

// ExecWhy explains why execve of the existing file path failed with e
// when the errno alone would mislead: ENOENT for a file that exists means
// its interpreter (the #! line's, or an ELF program's dynamic loader)
// does not exist; ENOEXEC means neither a #! line nor a binary this
// machine runs. It returns "" when it has nothing to add.
func ExecWhy(path string, e unix.Errno) string { return execerr.Why(path, e) }
