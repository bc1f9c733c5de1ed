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
)

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

func lastLines(b []byte, n int) string {
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " / ")
}
