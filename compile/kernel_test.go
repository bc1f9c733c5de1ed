package compile

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/syscage/syscage/arch"
	"github.com/syscage/syscage/bpf"
	"github.com/syscage/syscage/internal/testenv"
	"github.com/syscage/syscage/policy"
	"github.com/syscage/syscage/seccomp"
)

// The kernel test installs compiled filters in a child process (the test
// binary run again with kernelChildEnv set) and makes raw syscalls whose
// arguments probe the conditions: the kernel must return exactly the
// errno that policy.Evaluate predicts. The filters allow by default, so
// that the Go runtime of the child keeps working, and end the chain of
// every probed syscall (mbind, dup3, remap_file_pages: none of which the
// runtime uses) with an errno, so that none of them ever runs.

const kernelChildEnv = "SYSCAGE_COMPILE_KERNEL_CHILD"

// kernelJob is what the parent asks the child to do.
type kernelJob struct {
	Filters []bpf.Program
	Calls   []kernelCall
}

type kernelCall struct {
	Nr   uintptr
	Args [6]uint64
}

func TestMain(m *testing.M) {
	if os.Getenv(kernelChildEnv) != "" {
		os.Exit(kernelChild())
	}
	os.Exit(m.Run())
}

// kernelChild installs the filters on a locked thread and prints the
// errno of every call, one per line.
func kernelChild() int {
	var job kernelJob
	if err := json.NewDecoder(os.Stdin).Decode(&job); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	runtime.LockOSThread()
	if err := seccomp.SetNoNewPrivs(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	if err := seccomp.InstallStack(job.Filters, 0); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	var out strings.Builder
	for _, c := range job.Calls {
		a := c.Args
		_, _, errno := unix.RawSyscall6(c.Nr, uintptr(a[0]), uintptr(a[1]), uintptr(a[2]), uintptr(a[3]), uintptr(a[4]), uintptr(a[5]))
		fmt.Fprintln(&out, int(errno))
	}
	os.Stdout.WriteString(out.String())
	return 0
}

func TestKernelArguments(t *testing.T) {
	native := arch.Native()
	if native == nil || native.Name != "x86_64" {
		testenv.Unavailable(t, "the probe uses x86_64 syscall numbers and registers (this machine is %v)", native)
	}
	if err := seccomp.ProbeFlags(0); err != nil {
		testenv.Unavailable(t, "seccomp filter mode unavailable: %v", err)
	}
	// mbind's arguments are 64-bit but for its last, an unsigned int;
	// dup3's are all ints, compared in their low 32 bits.
	src := `arch x86_64
default allow
errno(11) mbind if arg0 > 0x100000000 && arg1 in {1, 2, 0xffffffff00000000}
errno(12) mbind if arg0 & 0xff00000000 == 0x1200000000 || arg2 in 0x10..0x20
errno(13) mbind if !(arg4 only 0xffff) && arg4 none 0x80000000
errno(16) mbind if arg4 >= 0xfffffffffffffff0 || flags < 3
errno(98) mbind
errno(14) dup3 if oldfd == -1
errno(15) dup3 if newfd in {100, 200, 300, 400, 500, 600, 700, 800}
errno(17) dup3 if flags all 0x80001
errno(98) dup3
errno(18) remap_file_pages if arg0 all 0x8000000000000001
errno(19) remap_file_pages if arg4 > 0xffffffff && !(prot in {0, 1, 0x100000000})
errno(98) remap_file_pages
`
	p, err := policy.Parse("kernel.policy", []byte(src), policy.ParseOptions{})
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(5, 5))
	edges := []uint64{0, 1, 2, 3, 0x10, 0x20, 0x21, 0xffff, 0x10000, 0x80000000, 0xffffffff, 0x100000000, 0x100000001,
		0x1200000000, 0x12ffffffff, 0xffffffff00000000, ^uint64(0), ^uint64(0) - 15, ^uint64(0) - 16, 100, 800,
		0xabcd000000000064, 0x8000000000000001, 0x8000000000000000}
	var calls []kernelCall
	for _, name := range []string{"mbind", "dup3", "remap_file_pages"} {
		nr, _ := native.Lookup(name)
		for i := 0; i < 300; i++ {
			var c kernelCall
			c.Nr = uintptr(nr)
			for k := range c.Args {
				if r.IntN(3) > 0 {
					c.Args[k] = edges[r.IntN(len(edges))]
				} else {
					c.Args[k] = r.Uint64() >> r.IntN(64)
				}
			}
			calls = append(calls, c)
		}
	}
	for _, opts := range []Options{{}, {MaxInstructions: 48}} {
		res, err := Policy(p, opts)
		if err != nil {
			t.Fatal(err)
		}
		if opts.MaxInstructions > 0 && len(res.Filters) < 2 {
			t.Fatalf("%d instructions fit one filter of %d; the stack is not tested", res.Stats.Instructions[0], opts.MaxInstructions)
		}
		got := runKernelChild(t, kernelJob{Filters: res.Filters, Calls: calls})
		for i, c := range calls {
			d := bpf.SeccompData{Arch: native.AuditArch, Nr: int32(c.Nr), Args: c.Args}
			wantRet, _, err := want(p, &d, policy.Env{})
			if err != nil {
				t.Fatal(err)
			}
			if wantRet&bpf.RetActionFull != bpf.RetErrno {
				t.Fatalf("the policy lets %#v run", c)
			}
			if got[i] != int(wantRet&bpf.RetData) {
				name, _ := native.SyscallName(int(c.Nr))
				t.Errorf("%d filter(s): %s%#x: the kernel returned errno %d, the policy says %d", len(res.Filters), name, c.Args, got[i], wantRet&bpf.RetData)
			}
		}
	}
}

// runKernelChild runs the job in a child process and returns the errno of
// each call.
func runKernelChild(t *testing.T, job kernelJob) []int {
	t.Helper()
	in, err := json.Marshal(job)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), kernelChildEnv+"=1")
	cmd.Stdin = strings.NewReader(string(in))
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, stderr.String())
	}
	var got []int
	for _, line := range strings.Fields(string(out)) {
		var n int
		fmt.Sscan(line, &n)
		got = append(got, n)
	}
	if len(got) != len(job.Calls) {
		t.Fatalf("child made %d calls of %d:\n%s", len(got), len(job.Calls), stderr.String())
	}
	return got
}
