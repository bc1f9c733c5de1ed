// Package execerr explains why execve of a file that exists failed, for
// the errnos that would otherwise mislead the reader. Both the sandbox
// and the recorder start programs and report these failures the same way.
package execerr

import (
	"io"
	"os"
	"syscall"
)

// Why explains why execve of the existing file path failed with e when
// the errno alone would mislead: ENOENT for a file that exists means its
// interpreter (the #! line's, or an ELF program's dynamic loader) does
// not exist (fs/binfmt_script.c: load_script opens the interpreter;
// fs/binfmt_elf.c: load_elf_binary opens PT_INTERP); ENOEXEC means
// neither a #! line nor a binary this machine runs. It returns "" when
// it has nothing to add, and reads at most the file's first 256 bytes.
func Why(path string, e syscall.Errno) string {
	if e != syscall.ENOENT && e != syscall.ENOEXEC {
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
	case hasPrefix(head, "#!"):
		interp := interpreter(head[2:])
		switch {
		case interp == "":
			return "its #! line names no interpreter"
		case e == syscall.ENOENT:
			return "its #! interpreter " + interp + " does not exist"
		}
		return "its #! interpreter " + interp + " cannot be executed"
	case hasPrefix(head, "\x7fELF"):
		if e == syscall.ENOENT {
			return "its ELF interpreter, the dynamic loader, does not exist: a binary built for another system"
		}
		return "an ELF binary this machine cannot run (another architecture)"
	case e == syscall.ENOEXEC:
		return "no #! line and not an ELF binary"
	}
	return ""
}

// StartError is a failure before a program started: nothing of it ran.
// Code is the exit code that reports it (125, 126 or 127, as container
// runtimes use them); Why, when set, explains an errno that would
// mislead alone (see Why). Package sandbox and package record both use
// it, under their own names.
type StartError struct {
	Code  int
	Msg   string
	Errno syscall.Errno
	Why   string
}

func (e *StartError) Error() string {
	s := e.Msg
	if e.Errno != 0 {
		s += ": " + e.Errno.Error()
	}
	if e.Why != "" {
		s += " (" + e.Why + ")"
	}
	return s
}

// Unwrap returns Errno, or nil without one.
func (e *StartError) Unwrap() error {
	if e.Errno != 0 {
		return e.Errno
	}
	return nil
}

// The helpers below stand in for bytes and strings, which package
// quickrun must not import, even through this package: Go would
// initialise unicode first, and a dozen packages the quick path does not
// use with it.

func hasPrefix(b []byte, prefix string) bool {
	return len(b) >= len(prefix) && string(b[:len(prefix)]) == prefix
}

// interpreter returns the interpreter a #! line (after the #!) names as
// the kernel reads it (fs/binfmt_script.c): after spaces and tabs, up to
// the next space, tab or newline.
func interpreter(line []byte) string {
	start := 0
	for start < len(line) && (line[start] == ' ' || line[start] == '\t') {
		start++
	}
	end := start
	for end < len(line) && line[end] != ' ' && line[end] != '\t' && line[end] != '\n' {
		end++
	}
	return string(line[start:end])
}
