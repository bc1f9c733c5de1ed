package seccomp_test

import (
	"errors"
	"fmt"
	"log"
	"os"

	"github.com/syscage/syscage/bpf"
	"github.com/syscage/syscage/seccomp"
)

func ExampleParseLogActions() {
	names, err := seccomp.ParseLogActions("errno,KILL_PROCESS,errno")
	fmt.Println(names, err)

	_, err = seccomp.ParseLogActions("kill_proces")
	fmt.Println(err)
	// Output:
	// [kill_process errno] <nil>
	// action list "kill_proces", item 1: unknown action "kill_proces"; did you mean "kill_process"? (actions that can be logged: kill_process, kill_thread, trap, errno, user_notif, trace, log)
}

func ExampleParseFlags() {
	f, err := seccomp.ParseFlags("tsync,log")
	fmt.Println(f, uint(f), err)
	fmt.Println(seccomp.CheckFlags(seccomp.FlagWaitKillableRecv))
	// Output:
	// TSYNC|LOG 3 <nil>
	// filter flags WAIT_KILLABLE_RECV: WAIT_KILLABLE_RECV is only valid with NEW_LISTENER
}

func ExampleProbeFlags() {
	// Ask the running kernel, without installing anything.
	want := seccomp.FlagNewListener | seccomp.FlagWaitKillableRecv
	if err := seccomp.ProbeFlags(want); errors.Is(err, seccomp.ErrUnsupported) {
		fmt.Println("fall back:", err)
	}
}

func ExampleInspect() {
	k := seccomp.Inspect()
	fmt.Printf("Linux %s, actions %v\n", k.Release, k.Actions.Available())
	for _, f := range k.Flags {
		fmt.Println(f.Name, f.Supported)
	}
}

func ExampleReadProcess() {
	p, err := seccomp.ReadProcess(os.Getpid())
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%d %s: %s mode, %d filters, no_new_privs %v\n", p.PID, p.Comm, p.Mode, p.Filters, p.NoNewPrivs)
}

func ExampleDumpFilters() {
	pid := 1234 // a process under seccomp; needs root
	filters, err := seccomp.DumpFilters(pid)
	switch {
	case errors.Is(err, seccomp.ErrNoFilters):
		fmt.Println("not sandboxed")
	case err != nil:
		log.Fatal(err)
	}
	for _, f := range filters { // oldest first
		fmt.Printf("filter %d (%v):\n%s", f.Index, f.Flags, bpf.Disassemble(f.Program, bpf.DisasmOptions{}))
	}
}

func ExampleInstallProcess() {
	// Deny ptrace with EPERM, allow everything else, on every thread of
	// this process, for good. (A real filter checks the arch first.)
	prog := bpf.Program{
		bpf.LoadAbs(bpf.OffsetNr),
		bpf.JumpIf(bpf.JmpJEQ, 101, 0, 1), // ptrace on x86_64
		bpf.Ret(bpf.RetErrno | 1),
		bpf.Ret(bpf.RetAllow),
	}
	if err := seccomp.InstallProcess([]bpf.Program{prog}, 0); err != nil {
		log.Fatal(err)
	}
}
