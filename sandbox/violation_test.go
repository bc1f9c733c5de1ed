package sandbox

import (
	"strings"
	"testing"
)

func TestParseAuditSeccomp(t *testing.T) {
	cases := []struct {
		rec  string
		want string // Describe(), "" for no record
		pid  int
		exe  string
	}{
		{`6,1234,567,-;audit: type=1326 audit(1700000000.123:45): auid=4294967295 uid=0 gid=0 ses=4294967295 subj=unconfined pid=1234 comm="sh" exe="/usr/bin/dash" sig=31 arch=c000003e syscall=101 compat=0 ip=0x7f0000001234 code=0x80000000`,
			"syscall 101 (ptrace) on x86_64", 1234, "/usr/bin/dash"},
		{`audit: type=1326 audit(1.2:3): pid=7 comm="my prog" exe="/tmp/a b" sig=31 arch=40000003 syscall=20 compat=1 ip=0x1 code=0x0`,
			"syscall 20 (getpid) on i386", 7, "/tmp/a b"},
		{`audit: type=1326 audit(1.2:3): pid=8 sig=31 arch=c000003e syscall=1073741863 compat=0 ip=0x1 code=0x80000000`,
			"syscall 1073741863 (0x40000027) (getpid) on x32", 8, ""},
		{`audit: type=1326 audit(1.2:3): pid=9 sig=31 arch=c000003e syscall=4294967295 compat=0 ip=0x1 code=0x80000000`,
			"syscall 4294967295 (0xffffffff) on x32", 9, ""},
		{`audit: type=1326 audit(1.2:3): pid=9 sig=31 arch=deadbeef syscall=3 compat=0 ip=0x1 code=0x80000000`,
			"syscall 3 on unknown arch 0xdeadbeef", 9, ""},
		{`audit: type=1300 audit(1.2:3): arch=c000003e syscall=59 success=yes pid=1`, "", 0, ""},
		{`audit: type=1326 audit(1.2:3): pid=x sig=31 arch=c000003e syscall=3 code=0x0`, "", 0, ""},
		{`audit: type=1326 audit(1.2:3): pid=1 sig=31 syscall=3 code=0x0`, "", 0, ""},
		{``, "", 0, ""},
	}
	for _, c := range cases {
		v := parseAuditSeccomp(c.rec)
		if c.want == "" {
			if v != nil {
				t.Errorf("%q: got %+v, want no record", c.rec, v)
			}
			continue
		}
		if v == nil {
			t.Errorf("%q: no record", c.rec)
			continue
		}
		if got := v.Describe(); got != c.want || v.PID != c.pid || v.Exe != c.exe {
			t.Errorf("%q: got %q pid %d exe %q, want %q pid %d exe %q", c.rec, got, v.PID, v.Exe, c.want, c.pid, c.exe)
		}
	}
}

func FuzzParseAuditSeccomp(f *testing.F) {
	f.Add(`audit: type=1326 audit(1.2:3): pid=7 comm="x y" exe="/a" sig=31 arch=40000003 syscall=20 compat=1 ip=0x1 code=0x0`)
	f.Add(`type=1326 pid=" arch=`)
	f.Fuzz(func(t *testing.T, rec string) {
		v := parseAuditSeccomp(rec)
		if v != nil && !strings.HasPrefix(v.Describe(), "syscall ") {
			t.Errorf("odd description %q", v.Describe())
		}
	})
}

func FuzzParseCapList(f *testing.F) {
	f.Add("CAP_CHOWN,net_raw")
	f.Add("ALL")
	f.Add("cap_,,")
	f.Fuzz(func(t *testing.T, list string) {
		s, err := ParseCapList(list)
		if err != nil {
			return
		}
		// Every capability listed parses back from its name.
		for _, c := range s.Caps() {
			if back, err := ParseCap(c.String()); err != nil || back != c {
				t.Errorf("%v does not parse back: %v %v", c, back, err)
			}
		}
	})
}
