package measure

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/syscage/syscage/bpf"
	"github.com/syscage/syscage/seccomp"
)

// loopEnv names the filter file a re-executed binary installs before
// timing its syscall loops; loopItersEnv the number of iterations.
const (
	loopEnv      = "SYSCAGE_BENCH_LOOP"
	loopItersEnv = "SYSCAGE_BENCH_LOOP_ITERS"
)

// The loops a child times, as syscall number and first argument.
var loops = []struct {
	name string
	nr   uintptr
	arg  uintptr
}{
	// getppid: allowed whatever its arguments by every policy of the
	// report, so the kernel's cache can serve it.
	{"getppid", syscall.SYS_GETPPID, 0},
	// personality(0xffffffff) queries the persona; profiles allow it by
	// comparing the argument, so the filter runs.
	{"personality(0xffffffff)", syscall.SYS_PERSONALITY, 0xffffffff},
}

// LoopNames are the names of the timed loops, in the order KernelCost
// returns them.
func LoopNames() []string {
	out := make([]string, len(loops))
	for i, l := range loops {
		out[i] = l.name
	}
	return out
}

func init() {
	if path := os.Getenv(loopEnv); path != "" {
		if err := loopChild(path); err != nil {
			fmt.Fprintln(os.Stderr, "syscall loop:", err)
			os.Exit(2)
		}
		os.Exit(0)
	}
}

// loopChild installs the filters in path (none when it is empty of
// programs) on every thread and prints the ns per syscall of each loop.
func loopChild(path string) error {
	iters, err := strconv.Atoi(os.Getenv(loopItersEnv))
	if err != nil || iters <= 0 {
		return fmt.Errorf("%s: want a positive number of iterations", loopItersEnv)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	progs, err := decodeStack(data)
	if err != nil {
		return err
	}
	runtime.LockOSThread()
	if len(progs) > 0 {
		if err := seccomp.SetNoNewPrivs(); err != nil {
			return err
		}
		if err := seccomp.InstallStack(progs, seccomp.FlagTSync); err != nil {
			return err
		}
	}
	var out []string
	for _, l := range loops {
		for range iters / 10 { // warm up caches and branch predictors
			syscall.RawSyscall(l.nr, l.arg, 0, 0)
		}
		start := time.Now()
		for range iters {
			if _, _, e := syscall.RawSyscall(l.nr, l.arg, 0, 0); e != 0 {
				return fmt.Errorf("%s: %v", l.name, e)
			}
		}
		out = append(out, strconv.FormatFloat(float64(time.Since(start).Nanoseconds())/float64(iters), 'f', 2, 64))
	}
	fmt.Println(strings.Join(out, " "))
	return nil
}

func encodeStack(progs []bpf.Program) []byte {
	var b bytes.Buffer
	for _, p := range progs {
		binary.Write(&b, binary.LittleEndian, uint32(len(p)))
		b.Write(p.Encode(binary.NativeEndian))
	}
	return b.Bytes()
}

func decodeStack(data []byte) ([]bpf.Program, error) {
	var out []bpf.Program
	for len(data) > 0 {
		if len(data) < 4 {
			return nil, fmt.Errorf("truncated filter file")
		}
		n := int(binary.LittleEndian.Uint32(data))
		data = data[4:]
		if len(data) < n*bpf.InstructionSize {
			return nil, fmt.Errorf("truncated filter file")
		}
		p, err := bpf.Decode(data[:n*bpf.InstructionSize], binary.NativeEndian)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
		data = data[n*bpf.InstructionSize:]
	}
	return out, nil
}

// KernelCost runs the syscall loops in a child process of this binary
// under the filters (none: no filter at all) and returns the ns per
// syscall of each loop (LoopNames order). The child installs the filters
// with TSYNC on every thread before it starts.
func KernelCost(dir string, filters []bpf.Program, iters int) ([]float64, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	f, err := os.CreateTemp(dir, "filters")
	if err != nil {
		return nil, err
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(encodeStack(filters)); err != nil {
		f.Close()
		return nil, err
	}
	f.Close()
	cmd := exec.Command(exe, "-test.run=^$")
	cmd.Env = append(os.Environ(), loopEnv+"="+filepath.Clean(f.Name()), loopItersEnv+"="+strconv.Itoa(iters))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("syscall loop child: %v: %s", err, stderr.String())
	}
	fields := strings.Fields(string(out))
	if len(fields) != len(loops) {
		return nil, fmt.Errorf("syscall loop child printed %q", out)
	}
	res := make([]float64, len(fields))
	for i, s := range fields {
		if res[i], err = strconv.ParseFloat(s, 64); err != nil {
			return nil, err
		}
	}
	return res, nil
}

// RunThenAllow returns the smallest filter the kernel's constant-action
// cache cannot serve: it loads an argument, then allows. Its cost over
// AllowAll is what entering any filter costs.
func RunThenAllow() []bpf.Program {
	return []bpf.Program{{
		bpf.LoadAbs(bpf.ArgLowOffset(0, false)),
		bpf.Ret(bpf.RetAllow),
	}}
}

// AllowAll is the always-allow filter: one RET ALLOW, which the kernel's
// cache serves for every syscall.
func AllowAll() []bpf.Program {
	return []bpf.Program{{bpf.Instruction{Op: bpf.ClassRET | bpf.RetSrcK, K: bpf.RetAllow}}}
}
