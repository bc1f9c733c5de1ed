package record_test

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/syscage/syscage/policy"
	"github.com/syscage/syscage/record"
)

// A recording turned into a profile: one rule per syscall, argument
// conditions in symbolic constants, counts in comments.
func ExampleProfile() {
	rec := &record.Recording{
		Command: []string{"./server"},
		Syscalls: []*record.Syscall{
			{Arch: "x86_64", Name: "read", Nr: 0, Count: 120},
			{Arch: "x86_64", Name: "socket", Nr: 41, Count: 2, Args: []record.ArgSample{
				{Mask: 0b111, Values: [6]uint64{2, 1 | 0x80000, 0}, Count: 2}, // AF_INET, SOCK_STREAM|SOCK_CLOEXEC
			}},
			{Arch: "x86_64", Name: "mprotect", Nr: 10, Count: 3, Args: []record.ArgSample{
				{Mask: 0b100, Values: [6]uint64{2: 1}, Count: 3}, // PROT_READ
			}},
		},
		Processes: 1, Threads: 1,
	}
	p, err := record.Profile(rec, record.ProfileOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	os.Stdout.Write(policy.Format(p))
	// Output:
	// # Recorded by syscage record from: ./server
	// # 125 syscalls, 3 distinct, in 1 process (1 thread); exit status 0.
	// # A rule's comment says how many times the run made the syscall.
	//
	// arch x86_64
	// default errno(EPERM)  # what the program never did
	// unknown errno(ENOSYS)  # syscalls newer than syscage's tables: the C library falls back
	// badarch kill_process
	//
	// allow execve  # syscage run starts the program with it
	// # clone3 passes its flags in memory, which a filter cannot read: it fails
	// # with ENOSYS, and the C library falls back to clone, whose flags a rule checks.
	// errno(ENOSYS) clone3  # not made by this run
	// allow mprotect if prot == PROT_READ  # 3 calls
	// allow read  # 120 calls
	// allow socket if
	//     family == AF_INET &&
	//     type == SOCK_STREAM|SOCK_CLOEXEC &&
	//     protocol == 0  # 2 calls
}

// Extending a hand-written policy with what a run needed: the new rules
// go at the end in a marked block; the author's lines stay as written.
func ExampleExtend() {
	src := []byte("# api server\ndefault errno(EPERM)\n\nallow read write  # I/O\n")
	base, err := policy.Parse("api.policy", src, policy.ParseOptions{SyntaxOnly: true})
	if err != nil {
		fmt.Println(err)
		return
	}
	eval, err := policy.Parse("api.policy", src, policy.ParseOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	rec := &record.Recording{
		Command: []string{"./api", "--mode=batch"},
		Syscalls: []*record.Syscall{
			{Arch: "x86_64", Name: "read", Nr: 0, Count: 10},
			{Arch: "x86_64", Name: "execve", Nr: 59, Count: 1},
			{Arch: "x86_64", Name: "sysinfo", Nr: 99, Count: 1},
		},
	}
	ext, err := record.Extend(base, eval, rec, record.ExtendOptions{Now: time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)})
	if err != nil {
		fmt.Println(err)
		return
	}
	os.Stdout.Write(policy.Format(ext.Policy))
	// Output:
	// # api server
	// default errno(EPERM)
	//
	// allow read write  # I/O
	//
	// # Added by syscage record --from on 2025-03-01: what
	// # ./api --mode=batch
	// # needed that the rules above denied.
	// allow execve  # 1 call
	// allow sysinfo  # 1 call
}

// The frequency profile of a recording, for syscage compile --freq.
func ExampleWriteFrequencies() {
	rec := &record.Recording{
		Command: []string{"make"},
		Syscalls: []*record.Syscall{
			{Arch: "x86_64", Name: "read", Nr: 0, Count: 900},
			{Arch: "x86_64", Name: "openat", Nr: 257, Count: 50},
			{Arch: "i386", Name: "getpid", Nr: 20, Count: 1},
		},
	}
	record.WriteFrequencies(os.Stdout, rec)
	// Output:
	// # syscage frequency profile: how many times each syscall was made.
	// # Recorded from: make
	// # Architecture: x86_64. Weights for the compiler's search tree (any scale).
	// read 900
	// openat 50
}

// Recording a program. The calling program must call record.Init at the
// start of main, since the recorder starts the program through a
// re-executed copy of it.
func ExampleRecord() {
	rec, err := record.Record(context.Background(), record.Options{
		Path: "sh",
		Args: []string{"sh", "-c", "echo hello"},
	})
	if err != nil {
		fmt.Println(err) // a *record.StartError: the program did not start
		return
	}
	fmt.Println(rec.Exit, len(rec.Syscalls) > 0)
}

// Complain mode: run a program under a profile whose denials are turned
// into log (sandbox.Complain), then ask what the profile would have
// denied.
func ExampleWatchComplaints() {
	w, err := record.WatchComplaints() // before the program starts
	if err != nil {
		fmt.Println("complain mode cannot report:", err)
		return
	}
	// ... start the program under sandbox.Complain(profile) ...
	w.Track(os.Getpid()) // the program's process id, once started
	// ... wait for it ...
	rep := w.Stop()
	rep.Write(os.Stderr)
}
