package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/syscage/syscage/bench/measure"
)

// startupTimes are the start-up measurements of one way of starting a
// program.
type startupTimes struct {
	name  string
	total measure.Noise // until /bin/true has run and its starter has ended
	start measure.Noise // until the probe's main began; zero without gcc
}

// startup times `syscage run` against a bare exec and bwrap two ways,
// each the mean of n runs per repetition: until /bin/true has run and its
// starter has ended, and until the main function of
// tests/testdata/started.c (which prints the monotonic time it began)
// begins, what the program waits for. The second needs gcc.
func startup(repo, dir string, reps, n int) (rows []startupTimes, note string) {
	if _, err := os.Stat(filepath.Join(repo, "sandbox")); err != nil {
		return nil, "not measured: package sandbox not present"
	}
	bin := filepath.Join(dir, "syscage")
	// Built as the README builds it: without cgo, which syscage does not
	// use and which would add the C library's start-up to every run.
	build := exec.Command("go", "build", "-o", bin, "./cmd/syscage")
	build.Dir = repo
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		return nil, fmt.Sprintf("not measured: building syscage failed: %v: %s", err, firstLine(out))
	}
	// bwrap gets the same filter syscage installs: the default profile
	// compiled to raw BPF, passed on descriptor 3 (bwrap --seccomp 3).
	filter := filepath.Join(dir, "default.bpf")
	comp := exec.Command(bin, "compile", filepath.Join(repo, "policy", "profiles", "embedded", "default.policy"), "-o", filter)
	if out, err := comp.CombinedOutput(); err != nil {
		return nil, fmt.Sprintf("not measured: compiling the default profile failed: %v: %s", err, firstLine(out))
	}
	truePath, err := exec.LookPath("true")
	if err != nil {
		return nil, "not measured: no true(1) on this machine"
	}
	started := ""
	if gcc, err := exec.LookPath("gcc"); err != nil {
		note = "Times to the program's main not measured: gcc not installed. "
	} else {
		started = filepath.Join(dir, "started")
		src := filepath.Join(repo, "tests", "testdata", "started.c")
		if out, err := exec.Command(gcc, "-O2", "-o", started, src).CombinedOutput(); err != nil {
			note = fmt.Sprintf("Times to the program's main not measured: gcc started.c: %v: %s. ", err, firstLine(out))
			started = ""
		}
	}
	variants := []struct {
		name   string
		prefix []string
	}{
		{"bare exec", nil},
		{"syscage run (default profile)", []string{bin, "run", "--"}},
		{"syscage run --exec (default profile, no supervisor)", []string{bin, "run", "--exec", "--"}},
	}
	if bwrap, err := exec.LookPath("bwrap"); err == nil {
		variants = append(variants, struct {
			name   string
			prefix []string
		}{"bwrap --ro-bind / / --seccomp (the same filter)", []string{bwrap, "--ro-bind", "/", "/", "--seccomp", "3"}})
	} else {
		note += "bwrap not measured: not installed (apt-get install bubblewrap)."
	}
	// run runs prog the variant's way, with the filter on descriptor 3,
	// and returns how long after its start the probe began (or 0).
	run := func(prefix []string, prog string, probe bool) (time.Duration, error) {
		argv := append(append([]string{}, prefix...), prog)
		cmd := exec.Command(argv[0], argv[1:]...)
		f, err := os.Open(filter)
		if err != nil {
			return 0, err
		}
		defer f.Close()
		cmd.ExtraFiles = []*os.File{f} // descriptor 3
		var t0 unix.Timespec
		unix.ClockGettime(unix.CLOCK_MONOTONIC, &t0)
		out, err := cmd.Output()
		if err != nil || !probe {
			return 0, err
		}
		began, err := strconv.ParseInt(strings.TrimSpace(string(out)), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("the probe printed %q", out)
		}
		return time.Duration(began - t0.Nano()), nil
	}
	total := make([][]float64, len(variants))
	start := make([][]float64, len(variants))
	for range reps {
		for i, v := range variants {
			begin := time.Now()
			for range n {
				if _, err := run(v.prefix, truePath, false); err != nil {
					return nil, fmt.Sprintf("not measured: %s failed: %v", v.name, err)
				}
			}
			total[i] = append(total[i], float64(time.Since(begin).Microseconds())/float64(n))
			if started == "" {
				continue
			}
			var sum time.Duration
			for range n {
				d, err := run(v.prefix, started, true)
				if err != nil {
					return nil, fmt.Sprintf("not measured: %s of the probe failed: %v", v.name, err)
				}
				sum += d
			}
			start[i] = append(start[i], float64(sum.Microseconds())/float64(n))
		}
	}
	for i, v := range variants {
		row := startupTimes{name: v.name, total: measure.Summarise(total[i])}
		if started != "" {
			row.start = measure.Summarise(start[i])
		}
		rows = append(rows, row)
	}
	return rows, strings.TrimSpace(note)
}

// goBench runs a benchmark of the main module and returns, per metric,
// its value in each repetition.
func goBench(repo, pkg, name, benchtime string, count int, timeout time.Duration) (map[string][]float64, error) {
	if _, err := os.Stat(filepath.Join(repo, pkg)); err != nil {
		return nil, fmt.Errorf("package %s not present", pkg)
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "test", "-run", "^$", "-bench", "^"+name+"$", "-benchtime", benchtime,
		"-count", strconv.Itoa(count), "./"+pkg)
	cmd.Dir = repo
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("go test -bench %s ./%s: %v: %s", name, pkg, err, lastLines(out.Bytes(), 3))
	}
	metrics := map[string][]float64{}
	sc := bufio.NewScanner(&out)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 3 || !strings.HasPrefix(f[0], "Benchmark") {
			continue
		}
		sub := ""
		if _, s, ok := strings.Cut(f[0], "/"); ok {
			if i := strings.LastIndexByte(s, '-'); i > 0 {
				s = s[:i] // the GOMAXPROCS suffix
			}
			sub = s + " "
		}
		for i := 2; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				continue
			}
			metrics[sub+f[i+1]] = append(metrics[sub+f[i+1]], v)
		}
	}
	if len(metrics) == 0 {
		return nil, fmt.Errorf("go test -bench %s ./%s reported nothing: %s", name, pkg, lastLines(out.Bytes(), 3))
	}
	return metrics, nil
}

func firstLine(b []byte) string {
	s, _, _ := strings.Cut(strings.TrimSpace(string(b)), "\n")
	return s
}

func lastLines(b []byte, n int) string {
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " / ")
}
