package sandbox

import (
	"encoding/json"
	"fmt"

	"golang.org/x/sys/unix"

	"github.com/syscage/syscage/seccomp"
)

// initEnv marks a process as the init stage. Its value is
// "CONFIG_FD,STATUS_FD": the pipe the settings arrive on and the
// close-on-exec socket the stage reports on.
const initEnv = "SYSCAGE_SANDBOX_INIT"

// initConfig is what the parent sends to the init stage, as JSON.
type initConfig struct {
	Path       string          // program to execute, as given to execve
	Argv       []string        // its arguments, argv[0] included
	Env        []string        // its whole environment
	Dir        string          // working directory, "" to keep
	Filters    [][]byte        // encoded sock_filter arrays, installed first to last
	Flags      seccomp.Flags   // for every filter
	Gate       []byte          // exec gate filter, installed first with a listener; nil for none
	Caps       CapSet          // capabilities the program keeps
	KeepCaps   bool            // leave capabilities alone
	KeepFDs    []int           // descriptors besides 0, 1, 2 that stay open
	LoopbackUp bool            // bring up lo (new network namespace)
	Stages     map[string]bool // test hooks: stages to fail on purpose
}

// statusMsg is what the init stage reports; every message but a listener
// hand-off ends the stage. When the stage reports nothing and closes the
// socket, execve succeeded (the socket is close-on-exec).
type statusMsg struct {
	// Code is the exit code the parent should use: ExitInternal,
	// ExitCannotExecute or ExitNotFound. 0 for a listener hand-off.
	Code int `json:"code,omitempty"`
	// Msg says what failed.
	Msg string `json:"msg,omitempty"`
	// Errno is the errno of the failed system call, 0 if none.
	Errno int `json:"errno,omitempty"`
	// Listener is set on the message that carries the listener fd.
	Listener bool `json:"listener,omitempty"`
}

// Exit codes of Command for its own failures, as container runtimes use
// them (docs/run.md).
const (
	ExitInternal      = 125 // syscage failed before the program started
	ExitCannotExecute = 126 // the program exists but cannot be executed
	ExitNotFound      = 127 // the program does not exist
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

func encodeStatus(m statusMsg) []byte {
	b, err := json.Marshal(m)
	if err != nil {
		// Cannot happen for this struct; fail loudly rather than silently.
		return []byte(`{"code":125,"msg":"cannot encode the init stage's status"}`)
	}
	return b
}
