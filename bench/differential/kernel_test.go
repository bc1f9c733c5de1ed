package differential

import (
	"bytes"
	"encoding/binary"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"syscall"
	"testing"

	"github.com/syscage/syscage/arch"
	"github.com/syscage/syscage/bench/gen"
	"github.com/syscage/syscage/bench/peer"
	"github.com/syscage/syscage/bpf"
	"github.com/syscage/syscage/internal/space"
	"github.com/syscage/syscage/internal/testenv"
	"github.com/syscage/syscage/policy"
	"github.com/syscage/syscage/seccomp"
)

var kernelPolicies = flag.Int("kernel-policies", 200, "number of generated policies the kernel test installs")

// probeEnv names the file a re-executed test binary reads its filters
// and probes from.
const probeEnv = "SYSCAGE_BENCH_PROBE"

func TestMain(m *testing.M) {
	if path := os.Getenv(probeEnv); path != "" {
		if err := probeChild(path); err != nil {
			fmt.Fprintln(os.Stderr, "probe child:", err)
			os.Exit(2)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// probe is one syscall a child makes.
type probe struct {
	Nr   uint32
	Args [6]uint64
}

// probeChild installs the filters of the file on every thread, makes the
// probes on this thread and writes each one's errno (0 for success) to
// stdout as little-endian uint32s.
func probeChild(path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	rd := bytes.NewReader(data)
	var nf uint32
	if err := binary.Read(rd, binary.LittleEndian, &nf); err != nil {
		return err
	}
	var progs []bpf.Program
	for range nf {
		var n uint32
		if err := binary.Read(rd, binary.LittleEndian, &n); err != nil {
			return err
		}
		raw := make([]byte, n*bpf.InstructionSize)
		if _, err := rd.Read(raw); err != nil {
			return err
		}
		p, err := bpf.Decode(raw, binary.NativeEndian)
		if err != nil {
			return err
		}
		progs = append(progs, p)
	}
	var probes []probe
	for rd.Len() > 0 {
		var pr probe
		if err := binary.Read(rd, binary.LittleEndian, &pr); err != nil {
			return err
		}
		probes = append(probes, pr)
	}
	out := make([]byte, 4*len(probes))
	runtime.LockOSThread()
	if err := seccomp.SetNoNewPrivs(); err != nil {
		return err
	}
	if err := seccomp.InstallStack(progs, seccomp.FlagTSync); err != nil {
		return err
	}
	for i, pr := range probes {
		a := pr.Args
		r1, _, errno := syscall.RawSyscall6(uintptr(pr.Nr), uintptr(a[0]), uintptr(a[1]), uintptr(a[2]), uintptr(a[3]), uintptr(a[4]), uintptr(a[5]))
		// The kernel returns -errno for errno up to MAX_ERRNO (4095);
		// Go's syscall entry leaves -4095 itself in r1 as a result.
		e := uint32(errno)
		if v := int64(r1); e == 0 && v < 0 && v >= -4095 {
			e = uint32(-v)
		}
		binary.LittleEndian.PutUint32(out[4*i:], e)
	}
	for len(out) > 0 {
		n, err := syscall.Write(1, out)
		if err != nil {
			return err
		}
		out = out[n:]
	}
	return nil
}

// TestKernelAgrees installs generated policies compiled by syscage in
// child processes and checks that the kernel decides every probe as
// syscage's interpreter does, and the interpreter as the policy says.
// Every probe ends in an errno, so nothing it names really runs: rules on
// real syscalls return distinct errnos, and the other actions are put on
// numbers no kernel has, where they all show as ENOSYS.
func TestKernelAgrees(t *testing.T) {
	if runtime.GOARCH != "amd64" {
		testenv.Unavailable(t, "the kernel probes are x86_64 syscalls; this machine is %s", runtime.GOARCH)
	}
	if _, err := seccomp.ProbeAction(bpf.RetAllow); err != nil {
		testenv.Unavailable(t, "seccomp filters cannot be installed here: %v", err)
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	x86 := arch.Native()
	r := rand.New(rand.NewPCG(*seed, 13))
	dir := t.TempDir()
	probed := 0
	for i := range *kernelPolicies {
		p, err := gen.KernelPolicy(r)
		if err != nil {
			t.Fatal(err)
		}
		progs, err := peer.Syscage{}.Compile(p, policy.Env{})
		if err != nil {
			t.Fatalf("policy %d: %v\n%s", i, err, policy.Format(p))
		}
		probes, err := kernelProbes(r, p)
		if err != nil {
			t.Fatal(err)
		}
		var want []uint32
		for _, pr := range probes {
			in := policy.Input{AuditArch: x86.AuditArch, Nr: pr.Nr, Args: pr.Args}
			ret, err := run(progs, &bpf.SeccompData{Nr: int32(pr.Nr), Arch: in.AuditArch, Args: pr.Args})
			if err != nil {
				t.Fatal(err)
			}
			if pw, err := Want(p, policy.Env{}, in); err != nil || pw != ret {
				t.Fatalf("policy %d: interpreter gives %s, policy %s (%v) for %+v", i, bpf.ActionString(ret), bpf.ActionString(pw), err, in)
			}
			e, ok := gen.ErrnoFor(ret)
			if !ok {
				t.Fatalf("policy %d: probe %+v would get %s", i, pr, bpf.ActionString(ret))
			}
			want = append(want, e)
		}
		var buf bytes.Buffer
		binary.Write(&buf, binary.LittleEndian, uint32(len(progs)))
		for _, pg := range progs {
			binary.Write(&buf, binary.LittleEndian, uint32(len(pg)))
			buf.Write(pg.Encode(binary.NativeEndian))
		}
		for _, pr := range probes {
			binary.Write(&buf, binary.LittleEndian, pr)
		}
		path := filepath.Join(dir, fmt.Sprintf("p%d", i))
		if err := os.WriteFile(path, buf.Bytes(), 0o600); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(exe, "-test.run=^$")
		cmd.Env = append(os.Environ(), probeEnv+"="+path)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("policy %d: child: %v: %s", i, err, stderr.String())
		}
		if len(out) != 4*len(probes) {
			t.Fatalf("policy %d: child answered %d bytes for %d probes", i, len(out), len(probes))
		}
		for j, pr := range probes {
			got := binary.LittleEndian.Uint32(out[4*j:])
			if got != want[j] {
				name, _ := x86.SyscallName(int(pr.Nr))
				t.Errorf("policy %d: nr %#x (%s) args %#x: kernel errno %d, interpreter %d\n%s", i, pr.Nr, name, pr.Args, got, want[j], policy.Format(p))
			}
		}
		probed += len(probes)
	}
	t.Logf("%d policies, %d probes decided by the kernel as by the interpreter", *kernelPolicies, probed)
}

// kernelProbes returns the probes of a kernel policy: every syscall and
// number its rules name, with the argument vectors that tell their
// conditions apart and random ones, and numbers the tables lack.
func kernelProbes(r *rand.Rand, p *policy.Policy) ([]probe, error) {
	var out []probe
	as, err := p.AcceptedArches()
	if err != nil {
		return nil, err
	}
	for _, a := range as {
		conds := map[int][]policy.Expr{}
		names := map[int]string{}
		for _, rule := range p.Rules {
			for _, tg := range rule.Syscalls {
				for _, sc := range tg.Syscalls(a) {
					names[sc.Nr] = sc.Name
					if rule.When != nil {
						conds[sc.Nr] = append(conds[sc.Nr], rule.When)
					}
				}
			}
		}
		for nr, name := range names {
			vecs, _, err := space.Args(a, name, conds[nr], 64)
			if err != nil {
				return nil, err
			}
			if len(vecs) > 64 {
				vecs = vecs[:64]
			}
			for range 8 {
				vecs = append(vecs, gen.RandomArgs(r))
			}
			for _, v := range vecs {
				out = append(out, probe{Nr: uint32(nr), Args: v})
			}
		}
		// Numbers the table does not know (unknown action), and x32
		// numbers when x32 is not accepted (bad-arch action).
		out = append(out, probe{Nr: a.NrBase + 700}, probe{Nr: a.NrBase + 999, Args: gen.RandomArgs(r)})
	}
	if len(as) == 1 {
		out = append(out, probe{Nr: 0x40000000 + 700}, probe{Nr: 0x40000000 | 39})
	}
	return out, nil
}
