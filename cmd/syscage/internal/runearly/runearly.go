// Package runearly starts, from package initialisation, the part of
// `syscage run`'s start that can begin before the command line is
// parsed: the subscription to the signals syscage forwards to the
// program (presignal.Start), which costs the Go runtime a thread round
// trip per signal and which the program's start waits for. Imported by
// package main, it runs while syscage's other packages are initialised.
//
// It reads the arguments itself, before the command line is parsed, and
// acts only when they name `run` without --exec; runRun stops a
// subscription it did not need (presignal.Stop).
package runearly

import (
	"os"
	"strings"

	"github.com/syscage/syscage/sandbox/presignal"
)

func init() {
	if StartsSupervisedRun(os.Args[1:]) {
		presignal.Start()
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
		if a == "--" || !strings.HasPrefix(a, "-") {
			return true
		}
		if a == "--exec" || strings.HasPrefix(a, "--exec=") {
			return false
		}
	}
	return true
}
