package record

import (
	"context"
	"errors"
	"syscall"
	"testing"

	"github.com/syscage/syscage/arch"
)

// TestRecordExit: the recording says how the program ended, with either
// backend, and a program that cannot start is a StartError with the exit
// code syscage run uses.
func TestRecordExit(t *testing.T) {
	cases := []struct {
		name   string
		argv   []string
		code   int
		signal syscall.Signal
	}{
		{"success", []string{"/bin/sh", "-c", "true"}, 0, 0},
		{"status", []string{"/bin/sh", "-c", "exit 3"}, 3, 0},
		{"crash", []string{"/bin/sh", "-c", "kill -SEGV $$"}, 128 + 11, syscall.SIGSEGV},
		{"killed", []string{"/bin/sh", "-c", "kill -KILL $$"}, 128 + 9, syscall.SIGKILL},
	}
	for _, b := range []Backend{BackendPtrace, BackendEBPF} {
		for _, c := range cases {
			t.Run(b.String()+"/"+c.name, func(t *testing.T) {
				if b == BackendEBPF {
					needEBPF(t)
				}
				rec := recordIt(t, b, nil, c.argv...)
				if rec.Exit.Code != c.code || rec.Exit.Signal != c.signal {
					t.Errorf("exit %+v, want code %d signal %d", rec.Exit, c.code, c.signal)
				}
				if rec.Lookup(nativeName(), "execve") == nil || rec.Lookup(nativeName(), "exit_group") == nil && c.signal == 0 {
					t.Errorf("the recording lacks the program's execve or exit_group: %v", rec.Syscalls)
				}
			})
		}
	}
	t.Run("not found", func(t *testing.T) {
		_, err := Record(context.Background(), Options{Path: "syscage-no-such-program"})
		var se *StartError
		if !errors.As(err, &se) || se.Code != ExitNotFound {
			t.Errorf("error %v, want a StartError with code %d", err, ExitNotFound)
		}
	})
	t.Run("not executable", func(t *testing.T) {
		_, err := Record(context.Background(), Options{Path: "/etc/hostname"})
		var se *StartError
		if !errors.As(err, &se) || se.Code != ExitCannotExecute {
			t.Errorf("error %v, want a StartError with code %d", err, ExitCannotExecute)
		}
	})
}

func nativeName() string { return arch.Native().Name }
