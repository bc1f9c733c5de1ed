package audit_test

import (
	"fmt"

	"github.com/syscage/syscage/audit"
)

// A kill record as the kernel writes it, read into a structured event with
// the arch, syscall and action named.
func ExampleParseRecord() {
	rec, err := audit.ParseRecord(`audit: type=1326 audit(1795481931.856:96): auid=4294967295 uid=0 gid=0 ses=4294967295 pid=19116 comm="curl" exe="/usr/bin/curl" sig=31 arch=c000003e syscall=101 compat=0 ip=0x7f1490abf829 code=0x80000000`)
	if err != nil {
		fmt.Println(err)
		return
	}
	e := rec.Event()
	fmt.Println(e.Summary())
	fmt.Println(e.Exe, e.Time.UTC().Format("2006-01-02 15:04:05.000"))
	// Output:
	// pid 19116 (curl) made ptrace on x86_64: kill_process
	// /usr/bin/curl 2026-11-24 00:58:51.856
}

// Reading the kernel log: each item is a seccomp record or a report of
// records the kernel dropped.
func ExampleOpenKmsg() {
	r, err := audit.OpenKmsg(true) // only records logged from now on
	if err != nil {
		fmt.Println("cannot read the kernel log:", err)
		return
	}
	defer r.Close()
	for {
		it, err := r.Next()
		if err != nil { // audit.ErrNoMore: poll r.Fd() and call Next again
			break
		}
		if it.Lost > 0 {
			fmt.Println("lost:", it.LostReason)
		}
		if it.Record != nil {
			fmt.Println(it.Record.Event().Summary())
		}
	}
}
