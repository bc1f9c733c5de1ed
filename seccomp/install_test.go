package seccomp_test

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/syscage/syscage/bpf"
	"github.com/syscage/syscage/seccomp"
)

// The install tests put filters on child processes only: the test binary
// runs again with installScenarioEnv naming a scenario, which init
// performs (on the main thread, before any test) and reports as
// "key: value" lines.
const installScenarioEnv = "SYSCAGE_SECCOMP_INSTALL_SCENARIO"

// denyWith answers syscall nr with ERRNO(e) and allows the rest.
func denyWith(nr uint32, e uint16) bpf.Program {
	return bpf.Program{
		bpf.LoadAbs(bpf.OffsetNr),
		bpf.JumpIf(bpf.JmpJEQ, nr, 0, 1),
		bpf.Ret(bpf.RetErrno | uint32(e)),
		bpf.Ret(bpf.RetAllow),
	}
}

var allowEverything = bpf.Program{bpf.Ret(bpf.RetAllow)}

// getppidErrno calls getppid on the calling thread; 0 means allowed.
func getppidErrno() int {
	_, _, e := unix.RawSyscall(unix.SYS_GETPPID, 0, 0, 0)
	return int(e)
}

// onFreshThread runs f on a goroutine locked to its own thread and
// returns its result; the thread is discarded afterwards.
func onFreshThread(f func() int) int {
	r := make(chan int)
	go func() {
		runtime.LockOSThread()
		r <- f()
	}()
	return <-r
}

var installScenarios = map[string]func(report func(string, any)) error{
	"thread": func(report func(string, any)) error {
		if err := seccomp.SetNoNewPrivs(); err != nil {
			return err
		}
		fd, err := seccomp.Install(denyWith(unix.SYS_GETPPID, 42), 0)
		if err != nil {
			return err
		}
		report("listener", fd)
		report("here", getppidErrno())
		report("other thread", onFreshThread(getppidErrno))
		nnp, err := seccomp.NoNewPrivs()
		report("nnp", fmt.Sprint(nnp, err))
		mode, err := seccomp.CurrentMode()
		report("mode", fmt.Sprint(mode, err))
		return nil
	},
	"process": func(report func(string, any)) error {
		if err := seccomp.InstallProcess([]bpf.Program{denyWith(unix.SYS_GETPPID, 43)}, 0); err != nil {
			return err
		}
		var wg sync.WaitGroup
		var mu sync.Mutex
		seen := map[int]int{}
		for range 6 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				e := onFreshThread(getppidErrno)
				mu.Lock()
				seen[e]++
				mu.Unlock()
			}()
		}
		wg.Wait()
		report("fresh threads", fmt.Sprint(seen))
		tasks, err := os.ReadDir("/proc/self/task")
		if err != nil {
			return err
		}
		unfiltered := 0
		for _, task := range tasks {
			b, err := os.ReadFile("/proc/self/task/" + task.Name() + "/status")
			if err != nil {
				continue
			}
			st, err := seccomp.ParseStatus(b)
			if err != nil {
				return err
			}
			if st.Mode != seccomp.ModeFilter || st.Filters != 1 || !st.NoNewPrivs {
				unfiltered++
			}
		}
		report("threads", len(tasks) > 1)
		report("threads without filter or nnp", unfiltered)
		return nil
	},
	"stack": func(report func(string, any)) error {
		if err := seccomp.SetNoNewPrivs(); err != nil {
			return err
		}
		if err := seccomp.InstallStack([]bpf.Program{allowEverything, denyWith(unix.SYS_GETPPID, 44)}, 0); err != nil {
			return err
		}
		report("stacked", getppidErrno())
		// A permissive filter on top cannot relax what is below it.
		if _, err := seccomp.Install(allowEverything, 0); err != nil {
			return err
		}
		report("after allow-all", getppidErrno())
		b, _ := os.ReadFile("/proc/thread-self/status")
		st, _ := seccomp.ParseStatus(b)
		report("filters", st.Filters)
		return nil
	},
	"stack refused": func(report func(string, any)) error {
		if err := seccomp.SetNoNewPrivs(); err != nil {
			return err
		}
		err := seccomp.InstallStack([]bpf.Program{denyWith(unix.SYS_GETPPID, 45), {}}, 0)
		report("invalid", errors.Is(err, seccomp.ErrInvalid))
		report("getppid", getppidErrno())
		mode, _ := seccomp.CurrentMode()
		report("mode", mode)
		return nil
	},
	// The second program is one the kernel refuses (a misaligned load):
	// the first must not go on alone.
	"stack refused by validation": func(report func(string, any)) error {
		if err := seccomp.SetNoNewPrivs(); err != nil {
			return err
		}
		bad := bpf.Program{bpf.LoadAbs(3), bpf.Ret(bpf.RetAllow)}
		err := seccomp.InstallStack([]bpf.Program{denyWith(unix.SYS_GETPPID, 46), bad}, 0)
		var ve *bpf.ValidationError
		report("invalid", errors.Is(err, seccomp.ErrInvalid) && errors.As(err, &ve) && strings.Contains(err.Error(), "filter 1"))
		report("getppid", getppidErrno())
		mode, _ := seccomp.CurrentMode()
		report("mode", mode)
		return nil
	},
	// Under the path limit in classic instructions (7 x 4096 + 6 x 4),
	// over it once converted to eBPF (7 x (3 + 2 x 4096) + 6 x 4): the
	// kernel would take the first three and refuse the fourth.
	"stack over the kernel path limit": func(report func(string, any)) error {
		if err := seccomp.SetNoNewPrivs(); err != nil {
			return err
		}
		full := make(bpf.Program, bpf.MaxInstructions)
		for i := range full {
			full[i] = bpf.Ret(bpf.RetAllow)
		}
		err := seccomp.InstallStack([]bpf.Program{full, full, full, full, full, full, full}, 0)
		var se *bpf.StackError
		report("invalid", errors.Is(err, seccomp.ErrInvalid) && errors.As(err, &se) && strings.Contains(err.Error(), "over the limit of 32768"))
		mode, _ := seccomp.CurrentMode()
		report("mode", mode)
		return nil
	},
	"listener": func(report func(string, any)) error {
		if err := seccomp.SetNoNewPrivs(); err != nil {
			return err
		}
		fd, err := seccomp.Install(allowEverything, seccomp.FlagNewListener|seccomp.FlagWaitKillableRecv)
		if err != nil {
			return err
		}
		link, err := os.Readlink(fmt.Sprintf("/proc/self/fd/%d", fd))
		report("listener", fmt.Sprintf("%s %v", link, err))
		flags, _ := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0)
		report("cloexec", flags&unix.FD_CLOEXEC != 0)
		_, err = seccomp.Install(allowEverything, seccomp.FlagNewListener)
		report("second listener", fmt.Sprint(errors.Is(err, unix.EBUSY), errors.Is(err, seccomp.ErrInvalid)))
		return nil
	},
	"no privilege": func(report func(string, any)) error {
		hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
		var data [2]unix.CapUserData
		if err := unix.Capget(&hdr, &data[0]); err != nil {
			return err
		}
		data[0].Effective &^= 1 << unix.CAP_SYS_ADMIN
		if err := unix.Capset(&hdr, &data[0]); err != nil {
			return err
		}
		_, err := seccomp.Install(allowEverything, 0)
		report("permission", errors.Is(err, seccomp.ErrPermission) && strings.Contains(err.Error(), "SetNoNewPrivs"))
		return nil
	},
	"tsync conflict": func(report func(string, any)) error {
		// A thread of the runtime takes a filter of its own and waits.
		installed, release := make(chan error), make(chan struct{})
		go func() {
			runtime.LockOSThread()
			_, err := seccomp.Install(denyWith(unix.SYS_GETPPID, 46), 0)
			installed <- err
			<-release
		}()
		if err := <-installed; err != nil {
			return err
		}
		err := seccomp.InstallProcess([]bpf.Program{allowEverything}, 0)
		report("refused", errors.Is(err, seccomp.ErrInvalid) && strings.Contains(err.Error(), "TSYNC"))
		mode, _ := seccomp.CurrentMode()
		report("caller mode", mode)
		close(release)
		return nil
	},
}

func init() {
	name, ok := os.LookupEnv(installScenarioEnv)
	if !ok {
		return
	}
	// init runs on the main thread; the scenarios act on it.
	runtime.LockOSThread()
	f := installScenarios[name]
	if f == nil {
		fmt.Println("error: no scenario", name)
		os.Exit(1)
	}
	if err := f(func(k string, v any) { fmt.Printf("%s: %v\n", k, v) }); err != nil {
		fmt.Println("error:", err)
	}
	os.Exit(0)
}

// runInstallScenario runs a scenario in a child and returns its report.
func runInstallScenario(t *testing.T, name string) map[string]string {
	t.Helper()
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), installScenarioEnv+"="+name)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("scenario %q: %v\n%s", name, err, out)
	}
	rep := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		k, v, _ := strings.Cut(line, ": ")
		rep[k] = v
	}
	if e, ok := rep["error"]; ok {
		t.Fatalf("scenario %q: %s", name, e)
	}
	return rep
}

func TestInstallScenarios(t *testing.T) {
	needFilters(t) // root: the "no privilege" scenario drops CAP_SYS_ADMIN
	cases := []struct {
		scenario string
		want     map[string]string
	}{
		{"thread", map[string]string{"listener": "-1", "here": "42", "other thread": "0", "nnp": "true <nil>", "mode": "filter <nil>"}},
		{"process", map[string]string{"fresh threads": "map[43:6]", "threads": "true", "threads without filter or nnp": "0"}},
		{"stack", map[string]string{"stacked": "44", "after allow-all": "44", "filters": "3"}},
		{"stack refused", map[string]string{"invalid": "true", "getppid": "0", "mode": "disabled"}},
		{"stack refused by validation", map[string]string{"invalid": "true", "getppid": "0", "mode": "disabled"}},
		{"stack over the kernel path limit", map[string]string{"invalid": "true", "mode": "disabled"}},
		{"listener", map[string]string{"listener": "anon_inode:seccomp notify <nil>", "cloexec": "true", "second listener": "true true"}},
		{"no privilege", map[string]string{"permission": "true"}},
		{"tsync conflict", map[string]string{"refused": "true", "caller mode": "disabled"}},
	}
	for _, c := range cases {
		t.Run(c.scenario, func(t *testing.T) {
			rep := runInstallScenario(t, c.scenario)
			for k, v := range c.want {
				if rep[k] != v {
					t.Errorf("%s: %q, want %q (report %v)", k, rep[k], v, rep)
				}
			}
		})
	}
}

// TestInstallRefusals covers refusals made before any system call, so
// they are safe in the test process itself.
func TestInstallRefusals(t *testing.T) {
	full := make(bpf.Program, bpf.MaxInstructions)
	for i := range full {
		full[i] = bpf.Ret(bpf.RetAllow)
	}
	cases := []struct {
		name string
		run  func() error
		msg  string
	}{
		{"empty program", func() error { _, err := seccomp.Install(nil, 0); return err }, "0 instructions"},
		{"too long", func() error { _, err := seccomp.Install(append(full, bpf.RetA()), 0); return err }, "4097 instructions"},
		{"unknown flag", func() error { _, err := seccomp.Install(allowEverything, 1<<10); return err }, "unknown bits"},
		{"killable without listener", func() error { _, err := seccomp.Install(allowEverything, seccomp.FlagWaitKillableRecv); return err }, "only valid with NEW_LISTENER"},
		{"tsync listener without esrch", func() error {
			_, err := seccomp.Install(allowEverything, seccomp.FlagTSync|seccomp.FlagNewListener)
			return err
		}, "needs TSYNC_ESRCH"},
		{"empty stack", func() error { return seccomp.InstallStack(nil, 0) }, "no filters"},
		{"listener on a stack", func() error {
			return seccomp.InstallStack([]bpf.Program{allowEverything, allowEverything}, seccomp.FlagNewListener)
		}, "one listener per chain"},
		{"stack over the path limit", func() error {
			return seccomp.InstallStack([]bpf.Program{full, full, full, full, full, full, full, full}, 0)
		}, "32768"},
		{"listener for the process", func() error {
			return seccomp.InstallProcess([]bpf.Program{allowEverything}, seccomp.FlagNewListener)
		}, "needs Install"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := c.run()
			if !errors.Is(err, seccomp.ErrInvalid) || !strings.Contains(err.Error(), c.msg) {
				t.Fatalf("got %v, want ErrInvalid with %q", err, c.msg)
			}
		})
	}
	if m, err := seccomp.CurrentMode(); err != nil || m != seccomp.ModeDisabled {
		t.Fatalf("the test process got seccomp: %v, %v", m, err)
	}
}
