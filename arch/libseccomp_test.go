package arch

import (
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/syscage/syscage/internal/testenv"
)

// libseccompNames maps canonical names to scmp_sys_resolver's -a names.
var libseccompNames = map[string]string{
	"x86_64": "x86_64", "i386": "x86", "x32": "x32", "aarch64": "aarch64", "arm": "arm",
	"riscv64": "riscv64", "s390x": "s390x", "ppc64le": "ppc64le", "ppc64": "ppc64",
	"mips": "mips", "mipsel": "mipsel", "mips64": "mips64", "mips64el": "mipsel64",
	"loongarch64": "loongarch64",
}

// resolver runs scmp_sys_resolver, libseccomp's own table lookup.
func resolver(path, arch, arg string) (string, error) {
	out, err := exec.Command(path, "-a", arch, arg).Output()
	return strings.TrimSpace(string(out)), err
}

// TestTablesAgreeWithLibseccomp checks every table against libseccomp, an
// independent transcription of the kernel's tables: every name libseccomp
// knows must have the same number, and every number below MaxNr that we
// leave unnamed must be unknown to libseccomp too. libseccomp may be older
// than x/sys (newer syscalls unknown to it are counted, not failed) and
// names socketcall/ipc multiplexed calls with negative pseudo-numbers.
func TestTablesAgreeWithLibseccomp(t *testing.T) {
	path := testenv.NeedCommand(t, "scmp_sys_resolver")
	for _, a := range All() {
		a := a
		lib := libseccompNames[a.Name]
		t.Run(a.Name, func(t *testing.T) {
			if _, err := resolver(path, lib, "read"); err != nil {
				t.Skipf("this libseccomp does not know %s (%v)", lib, err)
			}
			type job struct{ arg, want string }
			var jobs []job
			for _, s := range a.Syscalls() {
				jobs = append(jobs, job{s.Name, strconv.Itoa(s.Nr)})
			}
			list := a.Syscalls()
			for i := 1; i < len(list); i++ {
				if list[i].Nr-list[i-1].Nr > 64 {
					continue // reserved ranges (x86_64 387-423) and arm's private calls at 0x0f0000
				}
				for nr := list[i-1].Nr + 1; nr < list[i].Nr; nr++ {
					jobs = append(jobs, job{strconv.Itoa(nr), "UNKNOWN"})
				}
			}
			var mu sync.Mutex
			unknown := 0
			var wg sync.WaitGroup
			ch := make(chan job)
			for w := 0; w < 4; w++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for j := range ch {
						got, err := resolver(path, lib, j.arg)
						if err != nil && j.want != "UNKNOWN" {
							t.Errorf("scmp_sys_resolver -a %s %s: %v", lib, j.arg, err)
							continue
						}
						if strings.HasPrefix(got, "-") { // libseccomp lacks it or multiplexes it
							mu.Lock()
							unknown++
							mu.Unlock()
							continue
						}
						if got != j.want {
							t.Errorf("%s: %s is %s here, libseccomp says %s", a, j.arg, j.want, got)
						}
					}
				}()
			}
			for _, j := range jobs {
				ch <- j
			}
			close(ch)
			wg.Wait()
			if unknown > len(list)/5 {
				t.Errorf("libseccomp knows too few of %s's %d syscalls (%d unknown): is it the right table?", a, len(list), unknown)
			}
			t.Logf("%s: %d syscalls, %d gaps checked, %d unknown to libseccomp", a, len(list), len(jobs)-len(list), unknown)
		})
	}
}

// loongarch64, aarch64 and riscv64 all use the generic table
// (include/uapi/asm-generic/unistd.h, now scripts/syscall.tbl): a name
// they share has one number, except in the arch-specific range 244-259.
// This covers loongarch64, which older libseccomp releases do not know.
func TestGenericTablesAgree(t *testing.T) {
	ref := mustArch(t, "aarch64")
	for _, name := range []string{"riscv64", "loongarch64"} {
		a := mustArch(t, name)
		shared := 0
		for _, s := range a.Syscalls() {
			nr, ok := ref.Lookup(s.Name)
			if !ok || (s.Nr >= 244 && s.Nr <= 259) {
				continue
			}
			shared++
			if nr != s.Nr {
				t.Errorf("%s: %s = %d, aarch64 has %d", a, s.Name, s.Nr, nr)
			}
		}
		if shared < 300 {
			t.Errorf("%s shares only %d syscalls with aarch64", a, shared)
		}
	}
}
