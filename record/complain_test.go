package record

import (
	"strings"
	"testing"

	"github.com/syscage/syscage/audit"
)

// TestComplainAttribution: records are attributed through the fork
// events to the tree's root, whatever became of the parents; records of
// other processes are counted apart; losses are reported.
func TestComplainAttribution(t *testing.T) {
	const x86 = 0xc000003e
	w := &ComplainWatch{
		root: 100,
		// 100 forked 101; 101 forked 102 (a daemon, later reparented to
		// init: the fork event still names 101); 200 is a stranger.
		parent:   map[int]int{101: 100, 102: 101, 200: 1},
		threadOf: map[int]int{150: 101},
		records: []*audit.Record{
			{PID: 100, AuditArch: x86, Syscall: 99, Code: 0x7ffc0000, Exe: "/bin/app"},
			{PID: 102, AuditArch: x86, Syscall: 99, Code: 0x7ffc0000, Exe: "/bin/app"},
			{PID: 150, AuditArch: x86, Syscall: 63, Code: 0x7ffc0000, Comm: "worker"},
			{PID: 200, AuditArch: x86, Syscall: 99, Code: 0x7ffc0000},
			{PID: 101, AuditArch: 0x40000003, Syscall: 20, Code: 0x7ffc0000},
			{PID: 101, AuditArch: x86, Syscall: 101, Code: 0x80000000},
		},
		lost:    3,
		reasons: []string{"kernel rate limiting suppressed 3 messages"},
	}
	rep := w.report()
	var got []string
	for _, d := range rep.Denied {
		got = append(got, d.Arch+":"+d.Syscall+":"+d.Action)
	}
	want := "i386:getpid:log x86_64:ptrace:kill_process x86_64:sysinfo:log x86_64:uname:log"
	if strings.Join(got, " ") != want {
		t.Errorf("denied %v, want %s", got, want)
	}
	if rep.Records != 5 || rep.Foreign != 1 {
		t.Errorf("records %d foreign %d, want 5 and 1", rep.Records, rep.Foreign)
	}
	for _, d := range rep.Denied {
		if d.Syscall == "sysinfo" && (d.Count != 2 || len(d.Pids) != 2 || d.Programs[0] != "/bin/app") {
			t.Errorf("sysinfo: %+v", d)
		}
		if d.Syscall == "ptrace" && d.Logged {
			t.Errorf("a kill reported as logged: %+v", d)
		}
	}
	if rep.Complete() {
		t.Error("a report with losses says it is complete")
	}
	var b strings.Builder
	rep.Write(&b)
	for _, s := range []string{"would have denied 4 syscalls (5 calls)", "WARNING: the kernel dropped 3", "(action kill_process)", "record --from"} {
		if !strings.Contains(b.String(), s) {
			t.Errorf("report lacks %q:\n%s", s, b.String())
		}
	}
}

// TestComplainReportSingular: one syscall made once reads as such.
func TestComplainReportSingular(t *testing.T) {
	rep := &ComplainReport{Denied: []*Denial{{Arch: "x86_64", Syscall: "sysinfo", Action: "log", Logged: true, Count: 1, Programs: []string{"/bin/app"}}}}
	var b strings.Builder
	rep.Write(&b)
	if !strings.Contains(b.String(), "would have denied 1 syscall (1 call):") {
		t.Errorf("report:\n%s", b.String())
	}
}
