package seccomp_test

import (
	"errors"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/syscage/syscage/bpf"
	"github.com/syscage/syscage/seccomp"
)

// kernelAtLeast reports whether the running kernel is at least
// major.minor, from uname.
func kernelAtLeast(t *testing.T, release string) bool {
	t.Helper()
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		t.Fatal(err)
	}
	have := versionOf(t, unix.ByteSliceToString(u.Release[:]))
	want := versionOf(t, release)
	return have[0] > want[0] || have[0] == want[0] && have[1] >= want[1]
}

func versionOf(t *testing.T, s string) [2]int {
	t.Helper()
	var v [2]int
	for i, part := range strings.SplitN(s, ".", 3)[:2] {
		n := 0
		for n < len(part) && part[n] >= '0' && part[n] <= '9' {
			n++
		}
		x, err := strconv.Atoi(part[:n])
		if err != nil {
			t.Fatalf("version %q: %v", s, err)
		}
		v[i] = x
	}
	return v
}

// openFDs counts this process's open file descriptors.
func openFDs(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(ents)
}

func TestSupportedFlags(t *testing.T) {
	needFilters(t)
	fds := openFDs(t)
	flags, err := seccomp.SupportedFlags()
	if err != nil {
		t.Fatal(err)
	}
	if len(flags) != len(seccomp.FlagNames()) {
		t.Fatalf("%d flags reported, %d known", len(flags), len(seccomp.FlagNames()))
	}
	for _, f := range flags {
		// Every flag is supported from the release that introduced it.
		if want := kernelAtLeast(t, f.Since); f.Supported != want {
			t.Errorf("%s: supported %v, want %v (since %s)", f.Name, f.Supported, want, f.Since)
		}
		if f.ProbedAs&f.Value == 0 || seccomp.CheckFlags(f.ProbedAs) != nil {
			t.Errorf("%s probed as %v", f.Name, f.ProbedAs)
		}
	}
	// Probing installed nothing and leaked no listener fd.
	if st, err := seccomp.ReadStatus(os.Getpid()); err != nil || st.Mode != seccomp.ModeDisabled {
		t.Fatalf("the probe changed this process: %+v, %v", st, err)
	}
	if n := openFDs(t); n != fds {
		t.Errorf("open fds %d before the probe, %d after", fds, n)
	}
}

func TestProbeFlags(t *testing.T) {
	needFilters(t)
	if !kernelAtLeast(t, "5.19") {
		t.Skip("the table assumes every flag is known (Linux 5.19+)")
	}
	cases := []struct {
		flags seccomp.Flags
		want  error // nil: accepted
	}{
		{0, nil},
		{seccomp.FlagTSync | seccomp.FlagLog | seccomp.FlagSpecAllow, nil},
		{seccomp.FlagNewListener | seccomp.FlagWaitKillableRecv, nil},
		{seccomp.FlagTSync | seccomp.FlagNewListener | seccomp.FlagTSyncESRCH, nil},
		{seccomp.AllFlags, nil},
		{seccomp.FlagTSyncESRCH, nil}, // accepted alone, though meaningless without TSYNC
		{seccomp.FlagTSync | seccomp.FlagNewListener, seccomp.ErrInvalid},
		{seccomp.FlagWaitKillableRecv, seccomp.ErrInvalid},
		{seccomp.Flags(1 << 9), seccomp.ErrInvalid},
	}
	for _, c := range cases {
		t.Run(c.flags.String(), func(t *testing.T) {
			err := seccomp.ProbeFlags(c.flags)
			if c.want == nil && err != nil || c.want != nil && !errors.Is(err, c.want) {
				t.Fatalf("got %v, want %v", err, c.want)
			}
		})
	}
}

func TestFlagsString(t *testing.T) {
	cases := []struct {
		flags seccomp.Flags
		text  string
	}{
		{0, "0"},
		{seccomp.FlagTSync, "TSYNC"},
		{seccomp.FlagLog | seccomp.FlagNewListener, "LOG|NEW_LISTENER"},
		{seccomp.FlagWaitKillableRecv | 0x100, "WAIT_KILLABLE_RECV|0x100"},
	}
	for _, c := range cases {
		if s := c.flags.String(); s != c.text {
			t.Errorf("%#x: %q, want %q", uint(c.flags), s, c.text)
		}
		back, err := seccomp.ParseFlags(c.text)
		if err != nil || back != c.flags {
			t.Errorf("ParseFlags(%q) = %v, %v", c.text, back, err)
		}
	}
	for _, in := range []string{"tsync,log", "SECCOMP_FILTER_FLAG_TSYNC | LOG", "3"} {
		if f, err := seccomp.ParseFlags(in); err != nil || f != seccomp.FlagTSync|seccomp.FlagLog {
			t.Errorf("ParseFlags(%q) = %v, %v", in, f, err)
		}
	}
	_, err := seccomp.ParseFlags("TSYNK")
	if !errors.Is(err, seccomp.ErrInvalid) || !strings.Contains(err.Error(), `"TSYNC"`) {
		t.Errorf("misspelt flag: %v", err)
	}
}

func TestAvailableActions(t *testing.T) {
	needFilters(t)
	a := seccomp.AvailableActions()
	if a.ListError != "" || a.ProbeError != "" {
		t.Fatalf("sources unreadable: %q %q", a.ListError, a.ProbeError)
	}
	// Each action is supported from the release that added it.
	since := map[string]string{"kill_process": "4.14", "kill_thread": "4.14", "trap": "4.14", "errno": "4.14",
		"user_notif": "5.0", "trace": "4.14", "log": "4.14", "allow": "4.14"}
	if len(a.Actions) != len(since) {
		t.Fatalf("%d actions reported, want %d", len(a.Actions), len(since))
	}
	for _, s := range a.Actions {
		want := kernelAtLeast(t, since[s.Name])
		if s.Listed != want || s.Probed != want {
			t.Errorf("%s: listed %v probed %v, want %v", s.Name, s.Listed, s.Probed, want)
		}
		if v, ok := seccomp.ActionValue(s.Name); !ok || v != s.Value || seccomp.ActionName(v|0x1234) != s.Name {
			t.Errorf("%s: value %#x, table %#x %v", s.Name, s.Value, v, ok)
		}
	}
	if d := a.Disagreements(); len(d) != 0 {
		t.Errorf("sysctl and probe disagree: %v", d)
	}
	// Independently of the package: the file names exactly the available ones.
	raw, err := os.ReadFile("/proc/sys/kernel/seccomp/actions_avail")
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Fields(string(raw)); !slices.Equal(got, a.Available()) {
		t.Errorf("actions_avail %v, Available %v", got, a.Available())
	}
	// A value the kernel does not define is refused, without error.
	if ok, err := seccomp.ProbeAction(0x7ffe0000); ok || err != nil {
		t.Errorf("undefined action probed as %v, %v", ok, err)
	}
}

func TestParseLogActions(t *testing.T) {
	cases := []struct {
		in      string
		want    []string
		wantErr string
	}{
		{"kill_process,kill_thread,errno", []string{"kill_process", "kill_thread", "errno"}, ""},
		{"errno kill_process  KILL_THREAD,errno", []string{"kill_process", "kill_thread", "errno"}, ""},
		{"log,user_notif,trace,trap", []string{"trap", "user_notif", "trace", "log"}, ""},
		{"", []string{}, ""},
		{"none", []string{}, ""},
		{"errno,allow", nil, `item 2: "allow" cannot be logged`},
		{"kill_proces", nil, `unknown action "kill_proces"; did you mean "kill_process"`},
		{"errno,bogus", nil, `item 2: unknown action "bogus"`},
	}
	for _, c := range cases {
		t.Run(c.in, func(t *testing.T) {
			got, err := seccomp.ParseLogActions(c.in)
			if c.wantErr != "" {
				if !errors.Is(err, seccomp.ErrInvalid) || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, c.wantErr)
				}
				return
			}
			if err != nil || !slices.Equal(got, c.want) {
				t.Fatalf("got %q, %v; want %q", got, err, c.want)
			}
		})
	}
}

func FuzzParseLogActions(f *testing.F) {
	f.Add("kill_process,errno")
	f.Add("allow")
	f.Add(" ,, none")
	f.Fuzz(func(t *testing.T, s string) {
		got, err := seccomp.ParseLogActions(s)
		if err != nil {
			return
		}
		for _, n := range got {
			if n == "allow" || !slices.Contains(seccomp.LoggableActions(), n) {
				t.Fatalf("%q accepted %q", s, n)
			}
		}
	})
}

// TestSetActionsLogged writes the current list back (the file is global:
// changing it would disturb other tests' audit records), then checks the
// refusals, which never reach the file.
func TestSetActionsLogged(t *testing.T) {
	needFilters(t)
	before, err := seccomp.ReadActionsLogged()
	if err != nil {
		t.Fatal(err)
	}
	if err := seccomp.SetActionsLogged(before); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile("/proc/sys/kernel/seccomp/actions_logged")
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Fields(string(raw)); !slices.Equal(got, before) {
		t.Fatalf("actions_logged is %q after writing %q", got, before)
	}
	for _, bad := range [][]string{{"allow"}, {"kill_process", "nope"}} {
		if err := seccomp.SetActionsLogged(bad); !errors.Is(err, seccomp.ErrInvalid) {
			t.Errorf("%q: %v, want ErrInvalid", bad, err)
		}
	}
	// Without CAP_SYS_ADMIN the kernel refuses (write_actions_logged).
	errc := make(chan error)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread dies with the goroutine
		if err := dropEffectiveCap(unix.CAP_SYS_ADMIN); err != nil {
			errc <- err
			return
		}
		errc <- seccomp.SetActionsLogged(before)
	}()
	if err := <-errc; !errors.Is(err, seccomp.ErrPermission) || !strings.Contains(err.Error(), "CAP_SYS_ADMIN") {
		t.Errorf("without CAP_SYS_ADMIN: %v", err)
	}
}

func TestProbeNotifSizes(t *testing.T) {
	needFilters(t)
	if !kernelAtLeast(t, "5.0") {
		t.Skip("SECCOMP_GET_NOTIF_SIZES is Linux 5.0+")
	}
	s, err := seccomp.ProbeNotifSizes()
	if err != nil {
		t.Fatal(err)
	}
	// include/uapi/linux/seccomp.h: seccomp_notif is id (8), pid (4),
	// flags (4) and seccomp_data; seccomp_notif_resp is id, val (8 each),
	// error and flags (4 each). Kernels may only grow them.
	if s.Data != bpf.SeccompDataSize || s.Notif < 16+bpf.SeccompDataSize || s.NotifResp < 24 || s.Notif > 4096 || s.NotifResp > 4096 {
		t.Errorf("implausible sizes %+v", s)
	}
}

func TestInspect(t *testing.T) {
	needFilters(t)
	k := seccomp.Inspect()
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		t.Fatal(err)
	}
	if k.Release != unix.ByteSliceToString(u.Release[:]) || k.Machine != unix.ByteSliceToString(u.Machine[:]) {
		t.Errorf("release %q machine %q", k.Release, k.Machine)
	}
	if !k.Seccomp || !k.Filter || k.Mode != seccomp.ModeDisabled {
		t.Errorf("seccomp %v filter %v mode %v", k.Seccomp, k.Filter, k.Mode)
	}
	if runtime.GOARCH == "amd64" && (k.Arch != unix.AUDIT_ARCH_X86_64 || k.ArchName != "x86_64") {
		t.Errorf("arch %#x %q", k.Arch, k.ArchName)
	}
	if k.NotifSizes == nil || len(k.Flags) != len(seccomp.FlagNames()) || len(k.ActionsLogged) == 0 {
		t.Errorf("incomplete: %+v", k)
	}
	if len(k.Problems) != 0 {
		t.Errorf("problems: %q", k.Problems)
	}
	if k.JIT.Enable < 0 || k.JIT.Enable > 2 || k.JIT.Harden < 0 || k.JIT.Harden > 2 {
		t.Errorf("JIT %+v", k.JIT)
	}
	if runtime.GOARCH == "amd64" && k.Machine == "x86_64" && kernelAtLeast(t, "5.11") && !k.Cache.Applies {
		t.Errorf("cache: %+v", k.Cache)
	}
	_, err := os.Stat("/proc/self/seccomp_cache")
	if k.Cache.DebugFile != (err == nil) {
		t.Errorf("cache debug file %v, stat %v", k.Cache.DebugFile, err)
	}
}

func TestParseCache(t *testing.T) {
	entries, err := seccomp.ParseCache([]byte("x86_64 0 ALLOW\nx86_64 1 FILTER\nia32 3 ALLOW\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := []seccomp.CacheEntry{{"x86_64", 0, true}, {"x86_64", 1, false}, {"ia32", 3, true}}
	if !slices.Equal(entries, want) {
		t.Errorf("got %+v", entries)
	}
	for _, bad := range []string{"x86_64 0", "x86_64 -1 ALLOW", "x86_64 0 MAYBE", "x86_64 zero ALLOW"} {
		if _, err := seccomp.ParseCache([]byte(bad)); err == nil || !strings.Contains(err.Error(), "line 1") {
			t.Errorf("%q: %v", bad, err)
		}
	}
}

func FuzzParseCache(f *testing.F) {
	f.Add([]byte("x86_64 0 ALLOW\nia32 1 FILTER\n"))
	f.Add([]byte("a b c d\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		entries, err := seccomp.ParseCache(data)
		if err != nil {
			return
		}
		for _, e := range entries {
			if e.Nr < 0 || e.Arch == "" {
				t.Fatalf("accepted %+v", e)
			}
		}
	})
}

func TestReadCache(t *testing.T) {
	_, err := seccomp.ReadCache(os.Getpid())
	if _, serr := os.Stat("/proc/self/seccomp_cache"); serr != nil {
		if !errors.Is(err, seccomp.ErrUnsupported) || !strings.Contains(err.Error(), "CONFIG_SECCOMP_CACHE_DEBUG") {
			t.Errorf("without the debug file: %v", err)
		}
		return
	}
	if err != nil && !errors.Is(err, seccomp.ErrPermission) {
		t.Errorf("with the debug file: %v", err)
	}
}

func FuzzParseFlags(f *testing.F) {
	f.Add("TSYNC|LOG")
	f.Add("tsync, 0x40, SECCOMP_FILTER_FLAG_SPEC_ALLOW")
	f.Add("|||")
	f.Fuzz(func(t *testing.T, s string) {
		v, err := seccomp.ParseFlags(s)
		if err != nil {
			return
		}
		// Whatever was accepted prints in a form that reads back the same.
		back, err := seccomp.ParseFlags(v.String())
		if err != nil || back != v {
			t.Fatalf("%q -> %v -> %v, %v", s, v, back, err)
		}
	})
}
