package policy_test

import (
	"fmt"

	"github.com/syscage/syscage/arch"
	"github.com/syscage/syscage/policy"
)

func ExampleParse() {
	src := `# A small server.

arch x86_64
default errno(EPERM)

allow read write close @memory
allow socket if family in {AF_UNIX, AF_INET, AF_INET6}
errno(ENOSYS) clone3  # glibc falls back to clone
`
	p, err := policy.Parse("server.policy", []byte(src), policy.ParseOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("default:", p.Default)
	fmt.Println("unknown:", p.Unknown)
	for _, r := range p.Rules {
		fmt.Printf("%s: %s\n", r.Pos, r)
	}
	// Output:
	// default: errno(EPERM)
	// unknown: errno(ENOSYS)
	// server.policy:6:1: allow read write close @memory
	// server.policy:7:1: allow socket if family in {AF_UNIX, AF_INET, AF_INET6}
	// server.policy:8:1: errno(ENOSYS) clone3
}

func ExampleParse_errors() {
	src := `arch x86_64
default errno(EPERM)
allow raed
allow socket if domain == AF_INET
`
	_, err := policy.Parse("bad.policy", []byte(src), policy.ParseOptions{})
	for _, e := range err.(policy.ErrorList) {
		fmt.Println(e)
	}
	// Output:
	// bad.policy:3:7: unknown syscall "raed" on x86_64; did you mean "read", "readv", "rseq"?
	// bad.policy:4:17: socket on x86_64 has no argument "domain"; its arguments are family (arg0, int), type (arg1, int), protocol (arg2, int)
}

func ExampleFormat() {
	src := `default   errno(EPERM)
arch x86_64
# Sockets for the API only.
allow socket if family==AF_INET||family==AF_INET6
allow read write
`
	p, err := policy.Parse("in.policy", []byte(src), policy.ParseOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Print(string(policy.Format(p)))
	// Output:
	// arch x86_64
	// default errno(EPERM)
	// unknown errno(ENOSYS)
	// badarch kill_process
	//
	// # Sockets for the API only.
	// allow socket if family == AF_INET || family == AF_INET6
	// allow read write
}

func ExampleEvaluate() {
	src := `arch x86_64
default errno(EPERM)
allow write if fd in {1, 2}
`
	p, err := policy.Parse("out.policy", []byte(src), policy.ParseOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	x86, _ := arch.ByName("x86_64")
	write, _ := x86.Lookup("write")
	for _, fd := range []uint64{1, 3} {
		in := policy.Input{AuditArch: x86.AuditArch, Nr: uint32(write), Args: [6]uint64{fd}}
		d, err := policy.Evaluate(p, in, policy.Env{})
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Printf("write(%d): %s by %s\n", fd, d.Action, d.Reason)
	}
	// Output:
	// write(1): allow by rule
	// write(3): errno(EPERM) by default
}

// A files block says which files the file broker opens for the program;
// the rules send it the file-opening syscalls.
func ExampleFiles() {
	src := `default errno(EPERM)
files errno(EACCES) {
    read dir /usr /etc
    read write create /tmp
    deny /etc/shadow
}
notify open openat openat2 creat
allow read write close
`
	p, err := policy.Parse("app.policy", []byte(src), policy.ParseOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("refused opens get", p.Files.Refusal())
	for _, r := range p.Files.Rules {
		for _, path := range r.Paths {
			fmt.Printf("%s: %s %s\n", path.Pos, r.Access(), path.Path)
		}
	}
	// Output:
	// refused opens get errno(EACCES)
	// app.policy:3:14: read dir /usr
	// app.policy:3:19: read dir /etc
	// app.policy:4:23: read write create /tmp
	// app.policy:5:10: deny /etc/shadow
}

// WalkCmps visits every comparison of a condition, here to list the
// arguments a rule looks at.
func ExampleWalkCmps() {
	p, err := policy.Parse("p.policy", []byte("default errno(EPERM)\nallow mmap if !(prot all PROT_WRITE|PROT_EXEC) && flags & MAP_TYPE == MAP_PRIVATE\n"), policy.ParseOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	policy.WalkCmps(p.Rules[0].When, func(c *policy.Cmp) {
		fmt.Println(c.ArgName, c.Op)
	})
	// Output:
	// prot all
	// flags &==
}

// ActionOfRet reads a filter's return value back as a policy action, and
// SameEffect compares actions where errno numbers differ by architecture.
func ExampleActionOfRet() {
	x86, _ := arch.ByName("x86_64")
	mips, _ := arch.ByName("mips")
	fmt.Println(policy.ActionOfRet(0x00050026, x86), policy.ActionOfRet(0x00050026, mips))
	enosys := policy.Action{Kind: policy.Errno, ErrnoName: "ENOSYS"}
	n38 := policy.Action{Kind: policy.Errno, Data: 38}
	fmt.Println(policy.SameEffect([]*arch.Arch{x86}, enosys, n38), policy.SameEffect([]*arch.Arch{x86, mips}, enosys, n38))
	// Output:
	// errno(ENOSYS) errno(EL2NSYNC)
	// true false
}

// Holds is what each comparison means, on values already cut to the
// argument's width.
func ExampleCmpOp_Holds() {
	fmt.Println(policy.OpBitsNone.Holds(0x3, 0x4, 0, 0, nil), policy.OpRange.Holds(7, 1, 0, 5, nil))
	// Output: true false
}
