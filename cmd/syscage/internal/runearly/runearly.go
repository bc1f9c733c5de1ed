// Package runearly starts, from package initialisation, the part of
// `syscage run`'s start that can begin before the command line is
// parsed: catching the signals syscage forwards to the program
// (presignal.Intercept), which the program's start waits for. Imported
// by package main, it runs before syscage's heavier packages are
// initialised, so that a signal sent while they are is relayed rather
// than ending syscage.
//
// It reads the arguments itself, before the command line is parsed, and
// acts only when they name `run` without --exec; runRun stops a
// subscription it did not need (presignal.Stop). It imports os and
// presignal only (no strings, which waits for unicode), so that Go
// initialises it right after os/signal, as GODEBUG=inittrace=1 shows.
package runearly

import (
	"os"

	"github.com/syscage/syscage/sandbox/presignal"
)

func init() {
	if StartsSupervisedRun(os.Args[1:]) {
		presignal.Intercept()
	}
}

// StartsSupervisedRun reports whether args (the command line after the
// program name) run a program with syscage staying as its parent:
// `run`, and no --exec among run's options (which end at "--" or at the
// first argument that is not an option).
func StartsSupervisedRun(args []string) bool {
	if len(args) == 0 || args[0] != "run" {
		return false
	}
	for _, a := range args[1:] {
		if a == "--" || len(a) == 0 || a[0] != '-' {
			return true
		}
		if a == "--exec" || (len(a) > 7 && a[:7] == "--exec=") {
			return false
		}
	}
	return true
}
