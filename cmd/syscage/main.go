// The runtime's goroutine that follows changes of the CPU limit after
// start-up (Go 1.25's updatemaxprocs) stays off: starting it costs a
// thread while syscage starts, and a program launched by syscage run
// waits for that. syscage's commands are brief, or light daemons (agent,
// watch) that need no more than the GOMAXPROCS of their start.
//go:debug updatemaxprocs=0

// Command syscage is a syscall firewall for Linux: it writes, compiles,
// inspects, enforces and learns seccomp-BPF filters. Each subcommand lives
// in its own file and only wires packages together.
package main

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	// Both act from package initialisation, for syscage run.
	"github.com/syscage/syscage/cmd/syscage/internal/quickrun"
	_ "github.com/syscage/syscage/cmd/syscage/internal/runearly"
)

// Exit codes of syscage's own commands (docs/cli.md lists them). `syscage
// run` passes the program's own status through and uses 125-127 for its
// own failures, as container runtimes do.
const (
	exitOK       = 0   // success
	exitNegative = 1   // the command worked and its answer is "no": differences, findings, failed cases
	exitUsage    = 2   // bad invocation or bad input: flags, files that do not parse, unknown names
	exitSystem   = 3   // the system refused: missing process, permission, kernel feature
	exitInternal = 125 // syscage itself failed (run: before the program started)
	exitCannot   = 126 // run: the program exists but cannot be executed
	exitNotFound = 127 // run: the program does not exist
)

// exitError carries the exit code a failure should produce.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// usageErr, systemErr and negative wrap an error with its exit code.
func usageErr(err error) error  { return &exitError{exitUsage, err} }
func systemErr(err error) error { return &exitError{exitSystem, err} }
func negative(err error) error  { return &exitError{exitNegative, err} }

// silentExit ends the command with code without printing anything more;
// the command has already said what happened.
func silentExit(code int) error { return &exitError{code, nil} }

// A subcommand is one of syscage's commands: its name and how to build
// it.
type subcommand struct {
	name string
	mk   func() *cobra.Command
}

// subcommands is filled by the init functions of the per-command files.
var subcommands []subcommand

// register adds a subcommand; name must be the Name of the command mk
// builds (TestSubcommandNames checks it).
func register(name string, mk func() *cobra.Command) {
	subcommands = append(subcommands, subcommand{name, mk})
}

// newRoot builds the root command with every subcommand.
func newRoot() *cobra.Command { return newRootFor(nil) }

// newRootFor builds the root command for running args. When args start
// with the name of a subcommand, only that one is built: building every
// command and its flags is most of syscage's start-up work, and a
// program started through syscage run waits for it. Anything else
// (help, completion, flags first, unknown or abbreviated names) gets
// every subcommand, so that listings and suggestions are complete.
func newRootFor(args []string) *cobra.Command {
	root := &cobra.Command{
		Use:           "syscage",
		Short:         "A syscall firewall for Linux: write, compile, inspect, enforce and learn seccomp filters",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return usageErr(fmt.Errorf("%w (see '%s --help')", err, c.CommandPath()))
	})
	if len(args) > 0 {
		for _, sc := range subcommands {
			if sc.name == args[0] {
				if cmd := sc.mk(); cmd.Name() == sc.name {
					root.AddCommand(cmd)
					return root
				}
				break
			}
		}
	}
	for _, sc := range subcommands {
		root.AddCommand(sc.mk())
	}
	return root
}

func main() {
	// A start the quick path handed over (quickrun.RetryEnv): the
	// program must not see the variable.
	os.Unsetenv(quickrun.RetryEnv)
	os.Exit(runMain(os.Args[1:]))
}

// runMain runs the CLI with args and returns the exit code; tests call it
// directly.
func runMain(args []string) int {
	root := newRootFor(args)
	root.SetArgs(args)
	cmd, err := root.ExecuteC()
	if err == nil {
		return exitOK
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err != nil {
			fmt.Fprintln(os.Stderr, "syscage:", ee.err)
		}
	} else {
		fmt.Fprintln(os.Stderr, "syscage:", cobraMessage(err, cmd))
	}
	return exitCode(err)
}

// exitCode is the exit code a command's error produces: its own for an
// exitError, exitUsage for the errors cobra produces itself (unknown
// command, wrong argument count).
func exitCode(err error) int {
	if err == nil {
		return exitOK
	}
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	return exitUsage
}

// cobraMessage puts an error cobra produced on one line and points to the
// command's help: "unknown command "fo" for "syscage"; did you mean
// "fmt"? (see 'syscage --help')".
func cobraMessage(err error, cmd *cobra.Command) string {
	msg := err.Error()
	if head, tail, ok := strings.Cut(msg, "\n\nDid you mean this?\n"); ok {
		var names []string
		for _, n := range strings.Fields(tail) {
			names = append(names, strconv.Quote(n))
		}
		msg = head + "; did you mean " + strings.Join(names, ", ") + "?"
	}
	msg = strings.Join(strings.Fields(msg), " ")
	path := "syscage"
	if cmd != nil {
		path = cmd.CommandPath()
	}
	return fmt.Sprintf("%s (see '%s --help')", msg, path)
}
