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

	"github.com/syscage/syscage/bench/measure"
)

// startup times `syscage run` against a bare exec and bwrap, each
// starting /bin/true; every repetition runs each variant n times in turn
// and keeps the mean.
func startup(repo, dir string, reps, n int) (rows [][2]any, note string) {
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
	variants := []struct {
		name string
		argv []string
	}{
		{"bare exec", []string{truePath}},
		{"syscage run (default profile)", []string{bin, "run", "--", truePath}},
		{"syscage run --exec (default profile, no supervisor)", []string{bin, "run", "--exec", "--", truePath}},
	}
	if bwrap, err := exec.LookPath("bwrap"); err == nil {
		variants = append(variants, struct {
			name string
			argv []string
		}{"bwrap --ro-bind / / --seccomp (the same filter)", []string{bwrap, "--ro-bind", "/", "/", "--seccomp", "3", truePath}})
	} else {
		note = "bwrap not measured: not installed (apt-get install bubblewrap)"
	}
	samples := make([][]float64, len(variants))
	for range reps {
		for i, v := range variants {
			start := time.Now()
			for range n {
				cmd := exec.Command(v.argv[0], v.argv[1:]...)
				f, err := os.Open(filter)
				if err != nil {
					return nil, fmt.Sprintf("not measured: %v", err)
				}
				cmd.ExtraFiles = []*os.File{f} // descriptor 3
				out, err := cmd.CombinedOutput()
				f.Close()
				if err != nil {
					return nil, fmt.Sprintf("not measured: %s failed: %v: %s", v.name, err, firstLine(out))
				}
			}
			samples[i] = append(samples[i], float64(time.Since(start).Microseconds())/float64(n))
		}
	}
	for i, v := range variants {
		rows = append(rows, [2]any{v.name, measure.Summarise(samples[i])})
	}
	return rows, note
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
