package seccomp_test

import (
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/syscage/syscage/seccomp"
	"github.com/syscage/syscage/seccomp/seccomptest"
)

// statusText builds a status file with the given seccomp lines between
// realistic neighbours.
func statusText(lines ...string) string {
	head := "Name:\tsleep\nUmask:\t0022\nState:\tS (sleeping)\nTgid:\t4242\nNgid:\t0\nPid:\t4243\nPPid:\t1\nTracerPid:\t0\nUid:\t1000\t1001\t1002\t1003\nGid:\t100\t100\t100\t100\nThreads:\t3\nCapEff:\t000001ffffffffff\n"
	tail := "Speculation_Store_Bypass:\tthread force mitigated\nCpus_allowed_list:\t0-1\n"
	return head + strings.Join(lines, "\n") + "\n" + tail
}

func TestParseStatus(t *testing.T) {
	cases := []struct {
		name    string
		text    string
		mode    seccomp.Mode
		filters int
		nnp     bool
		wantErr string
	}{
		{"filter", statusText("NoNewPrivs:\t1", "Seccomp:\t2", "Seccomp_filters:\t3"), seccomp.ModeFilter, 3, true, ""},
		{"disabled", statusText("NoNewPrivs:\t0", "Seccomp:\t0", "Seccomp_filters:\t0"), seccomp.ModeDisabled, 0, false, ""},
		{"strict", statusText("NoNewPrivs:\t0", "Seccomp:\t1", "Seccomp_filters:\t0"), seccomp.ModeStrict, 0, false, ""},
		{"before 5.9: no filter count", statusText("NoNewPrivs:\t1", "Seccomp:\t2"), seccomp.ModeFilter, -1, true, ""},
		{"no CONFIG_SECCOMP", statusText("NoNewPrivs:\t0"), seccomp.ModeUnknown, -1, false, ""},
		{"killed by seccomp", statusText("NoNewPrivs:\t1", "Seccomp:\t3", "Seccomp_filters:\t1"), seccomp.ModeDead, 1, true, ""},
		{"mode out of range", statusText("Seccomp:\t4"), 0, 0, false, "line 13: Seccomp: \"4\" is not a seccomp mode"},
		{"mode not a number", statusText("Seccomp:\tfilter"), 0, 0, false, "line 13: Seccomp: \"filter\""},
		{"bad no_new_privs", statusText("NoNewPrivs:\tyes"), 0, 0, false, "NoNewPrivs: \"yes\" is not 0 or 1"},
		{"negative count", statusText("Seccomp:\t2", "Seccomp_filters:\t-1"), 0, 0, false, "Seccomp_filters: \"-1\""},
		{"count without mode", statusText("Seccomp_filters:\t2"), 0, 0, false, "no Seccomp line"},
		{"short uid line", strings.Replace(statusText("Seccomp:\t0"), "Uid:\t1000\t1001\t1002\t1003", "Uid:\t1000", 1), 0, 0, false, "Uid"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			st, err := seccomp.ParseStatus([]byte(c.text))
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if st.Mode != c.mode || st.Filters != c.filters || st.NoNewPrivs != c.nnp {
				t.Errorf("mode %v filters %d nnp %v; want %v %d %v", st.Mode, st.Filters, st.NoNewPrivs, c.mode, c.filters, c.nnp)
			}
			if st.Name != "sleep" || st.PID != 4243 || st.TGID != 4242 || st.PPID != 1 || st.UID != 1000 || st.EUID != 1001 || st.Threads != 3 {
				t.Errorf("identity fields wrong: %+v", st)
			}
			if st.State != "S" || st.Exited() || !st.HasCapSysAdmin() || st.SpeculationStoreBypass != "thread force mitigated" {
				t.Errorf("caps/SSB wrong: %+v", st)
			}
		})
	}
}

func TestParseStatusKeepsEscapedName(t *testing.T) {
	// The kernel escapes newline and backslash in comm; the escape stays
	// so that listings stay one line per process.
	st, err := seccomp.ParseStatus([]byte("Name:\tev\\nil\\\\x\nSeccomp:\t0\n"))
	if err != nil {
		t.Fatal(err)
	}
	if st.Name != `ev\nil\\x` {
		t.Errorf("name %q", st.Name)
	}
}

func FuzzParseStatus(f *testing.F) {
	f.Add([]byte(statusText("NoNewPrivs:\t1", "Seccomp:\t2", "Seccomp_filters:\t3")))
	f.Add([]byte("Seccomp:\t1\n"))
	f.Add([]byte("Uid:\nCapEff:\tzz\n:\n"))
	if b, err := os.ReadFile("/proc/self/status"); err == nil {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		st, err := seccomp.ParseStatus(data)
		if err != nil {
			return
		}
		if st.Mode < seccomp.ModeUnknown || st.Mode > seccomp.ModeDead {
			t.Fatalf("mode %d accepted", st.Mode)
		}
		if st.Filters < -1 {
			t.Fatalf("filter count %d accepted", st.Filters)
		}
		if st.Mode == seccomp.ModeUnknown && st.Filters > 0 {
			t.Fatalf("%d filters without a mode accepted", st.Filters)
		}
	})
}

func TestReadProcess(t *testing.T) {
	self, err := seccomp.ReadProcess(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	exe, _ := os.Executable()
	if self.PID != os.Getpid() || self.UID != os.Getuid() || self.Mode != seccomp.ModeDisabled || self.Filters != 0 || self.Exe != exe {
		t.Errorf("this process: %+v (exe %s)", self, exe)
	}
	_, err = seccomp.ReadProcess(exitedPID(t))
	if !errors.Is(err, seccomp.ErrNoProcess) || !strings.Contains(err.Error(), "no process with pid") {
		t.Errorf("missing process: %v", err)
	}
}

func TestReadProcesses(t *testing.T) {
	needFilters(t)
	child := seccomptest.Start(t, seccomptest.Spec{NoNewPrivs: true, Filters: []seccomptest.Filter{{Program: seccomptest.AllowAll(1)}}})
	all, err := seccomp.ReadProcesses()
	if err != nil {
		t.Fatal(err)
	}
	found := map[int]seccomp.Process{}
	for i, p := range all {
		if i > 0 && all[i-1].PID >= p.PID {
			t.Errorf("not sorted at %d: %d then %d", i, all[i-1].PID, p.PID)
		}
		found[p.PID] = p
	}
	if p, ok := found[child.PID]; !ok || p.Mode != seccomp.ModeFilter || p.Filters != 1 || !p.NoNewPrivs {
		t.Errorf("child %d: %+v (found %v)", child.PID, p, ok)
	}
	if p, ok := found[os.Getpid()]; !ok || p.Mode != seccomp.ModeDisabled {
		t.Errorf("this process: %+v (found %v)", p, ok)
	}
	// Kernel threads have no executable; pid 2 is kthreadd.
	if p, ok := found[2]; ok && (p.Exe != "" || p.ExeError == "") {
		t.Errorf("kthreadd: exe %q, exe error %q", p.Exe, p.ExeError)
	}
}
