package audit

import (
	"strings"
	"testing"
	"time"
)

func TestParseRecord(t *testing.T) {
	tests := []struct {
		name string
		msg  string
		want Record
	}{
		{
			name: "kill as the kernel prints it",
			msg:  `audit: type=1326 audit(1795481931.856:96): auid=4294967295 uid=0 gid=0 ses=4294967295 pid=19116 comm="logt" exe="/tmp/logt" sig=31 arch=c000003e syscall=101 compat=0 ip=0x7f1490abf829 code=0x80000000`,
			want: Record{Time: time.Unix(1795481931, 856e6).UTC(), Serial: 96, AUID: 4294967295, SES: 4294967295, PID: 19116, Comm: "logt", Exe: "/tmp/logt", Sig: 31, AuditArch: 0xc000003e, Syscall: 101, IP: 0x7f1490abf829, Code: 0x80000000},
		},
		{
			name: "log with subj and compat i386",
			msg:  `type=1326 audit(1.002:3): auid=1000 uid=1000 gid=100 ses=2 subj=unconfined pid=7 comm="a b" exe="/x" sig=0 arch=40000003 syscall=20 compat=1 ip=0xf7f0 code=0x7ffc0000`,
			want: Record{Time: time.Unix(1, 2e6).UTC(), Serial: 3, AUID: 1000, UID: 1000, GID: 100, SES: 2, Subj: "unconfined", PID: 7, Comm: "a b", Exe: "/x", AuditArch: 0x40000003, Syscall: 20, Compat: true, IP: 0xf7f0, Code: 0x7ffc0000},
		},
		{
			name: "hex-encoded untrusted comm",
			msg:  `type=1326 audit(5.000:1): pid=9 comm=6120226222 exe=(null) sig=0 arch=c000003e syscall=-1 compat=0 ip=0x0 code=0x50001`,
			want: Record{Time: time.Unix(5, 0).UTC(), Serial: 1, PID: 9, Comm: `a "b"`, AuditArch: 0xc000003e, Syscall: -1, Code: 0x50001},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseRecord(tt.msg)
			if err != nil {
				t.Fatalf("ParseRecord: %v", err)
			}
			if *got != tt.want {
				t.Errorf("got  %+v\nwant %+v", *got, tt.want)
			}
		})
	}
}

func TestParseRecordRejects(t *testing.T) {
	tests := []struct {
		msg  string
		want string // substring of the error; "" means ErrNotSeccomp
	}{
		{`audit: type=1400 audit(1.0:1): apparmor="DENIED"`, ""},
		{`random kernel message`, ""},
		{`type=1326 audit(1.0:1: pid=1`, "unterminated"},
		{`type=1326 audit(1.0:1): pid=1 arch=c000003e code=0x0`, "missing syscall="},
		{`type=1326 audit(1.0:1): pid=x arch=c000003e syscall=1 code=0`, "pid"},
		{`type=1326 audit(1.0:1): pid=1 comm="unterminated arch=1 syscall=1 code=0`, "unterminated"},
		{`type=1326 audit(1.0:1): pid=1 comm=zz arch=1 syscall=1 code=0`, "comm"},
	}
	for _, tt := range tests {
		_, err := ParseRecord(tt.msg)
		if tt.want == "" {
			if err != ErrNotSeccomp {
				t.Errorf("ParseRecord(%q) = %v, want ErrNotSeccomp", tt.msg, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("ParseRecord(%q) = %v, want an error containing %q", tt.msg, err, tt.want)
		}
	}
}

func TestParseKmsg(t *testing.T) {
	e, err := ParseKmsg("13,364,1071593987,-;audit: type=1326 x\n SUBSYSTEM=foo\n")
	if err != nil {
		t.Fatal(err)
	}
	if e.Priority != 5 || e.Seq != 364 || e.Usec != 1071593987 || e.Message != "audit: type=1326 x" {
		t.Errorf("got %+v", e)
	}
	for _, bad := range []string{"", "no header", "1,2;msg", "x,1,2,-;m", "1,x,2,-;m", "1,2,x,-;m"} {
		if _, err := ParseKmsg(bad); err == nil {
			t.Errorf("ParseKmsg(%q) accepted", bad)
		}
	}
}

func TestLossMessages(t *testing.T) {
	if n, ok := suppressed("kauditd_printk_skb: 70 callbacks suppressed"); !ok || n != 70 {
		t.Errorf("suppressed = %d, %v", n, ok)
	}
	if _, ok := suppressed("kauditd_printk_skb: many callbacks"); ok {
		t.Error("suppressed accepted a non-number")
	}
	if n, ok := auditLost("audit: audit_lost=12 audit_rate_limit=0 audit_backlog_limit=64"); !ok || n != 12 {
		t.Errorf("auditLost = %d, %v", n, ok)
	}
	if _, ok := auditLost("audit: type=1326 x"); ok {
		t.Error("auditLost accepted a seccomp record")
	}
}

func TestEventNames(t *testing.T) {
	tests := []struct {
		arch    uint32
		nr      int64
		code    uint32
		archS   string
		sysS    string
		actionS string
	}{
		{0xc000003e, 101, 0x80000000, "x86_64", "ptrace", "kill_process"},
		{0xc000003e, 0x40000000 + 1, 0x00050001, "x32", "write", "errno(1)"},
		{0x40000003, 26, 0x00000000, "i386", "ptrace", "kill_thread"},
		{0xc000003e, -1, 0x7ffc0000, "x86_64", "syscall -1", "log"},
		{0xc000003e, 100000, 0x7ff00003, "x86_64", "syscall 100000", "trace(3)"},
		{0x1234, 1, 0x7fc00000, "arch 0x1234", "syscall 1", "notify"},
		{0xc000003e, 1, 0x00030000, "x86_64", "write", "trap"},
		{0xc000003e, 1, 0x12340000, "x86_64", "write", "kill_process"}, // unknown action acts as kill
	}
	for _, tt := range tests {
		r := Record{PID: 1, AuditArch: tt.arch, Syscall: tt.nr, Code: tt.code}
		e := r.Event()
		if e.Arch != tt.archS || e.Syscall != tt.sysS || e.Action != tt.actionS {
			t.Errorf("%#x/%d/%#x: got %s %s %s, want %s %s %s", tt.arch, tt.nr, tt.code, e.Arch, e.Syscall, e.Action, tt.archS, tt.sysS, tt.actionS)
		}
	}
}

func FuzzParseRecord(f *testing.F) {
	f.Add(`audit: type=1326 audit(1795481931.856:96): auid=4294967295 uid=0 gid=0 ses=4294967295 pid=19116 comm="logt" exe="/tmp/logt" sig=31 arch=c000003e syscall=101 compat=0 ip=0x7f1490abf829 code=0x80000000`)
	f.Add(`type=1326 audit(5.000:1): pid=9 comm=6120226222 exe=(null) sig=0 arch=c000003e syscall=-1 compat=0 ip=0x0 code=0x50001`)
	f.Fuzz(func(t *testing.T, msg string) {
		r, err := ParseRecord(msg)
		if err == nil {
			_ = r.Event().Summary()
		}
		_, _ = ParseKmsg(msg)
	})
}
