// Package tests holds syscage's end-to-end tests: real programs run
// under `syscage run` against the real kernel (the corpus, the bypass and
// behaviour suite, terminals and signals), recorded with `syscage record`
// and run under their recorded profiles, and the start-up benchmark.
// Tests build the syscage command and the C probe once, into a temporary
// directory.
package tests

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/syscage/syscage/internal/testenv"
	"github.com/syscage/syscage/seccomp"
)

var (
	workDir string // temporary directory for the built binaries

	buildOnce   sync.Once
	syscagePath string
	buildErr    error

	probeOnce sync.Once
	probePath string
	probeErr  error
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "syscage-tests-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	workDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// repoRoot is the module root, one directory up from this package.
func repoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Dir(filepath.Dir(file))
}

// syscage builds the syscage command once and returns its path.
func syscage(t testing.TB) string {
	t.Helper()
	if err := seccomp.ProbeFlags(0); err != nil {
		testenv.Unavailable(t, "seccomp filters unavailable: %v", err)
	}
	buildOnce.Do(func() {
		syscagePath = filepath.Join(workDir, "syscage")
		cmd := exec.Command("go", "build", "-o", syscagePath, "./cmd/syscage")
		cmd.Dir = repoRoot()
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build ./cmd/syscage: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return syscagePath
}

// probe compiles testdata/probe.c once and returns its path.
func probe(t testing.TB) string {
	t.Helper()
	gcc := testenv.NeedCommand(t, "gcc")
	if runtime.GOARCH != "amd64" {
		t.Skipf("the probe's raw system calls are written for x86_64, not %s", runtime.GOARCH)
	}
	probeOnce.Do(func() {
		probePath = filepath.Join(workDir, "probe")
		src := filepath.Join(repoRoot(), "tests", "testdata", "probe.c")
		if out, err := exec.Command(gcc, "-O1", "-Wall", "-pthread", "-o", probePath, src).CombinedOutput(); err != nil {
			probeErr = fmt.Errorf("gcc probe.c: %v\n%s", err, out)
		}
	})
	if probeErr != nil {
		t.Fatal(probeErr)
	}
	return probePath
}

// result is what a run produced.
type result struct {
	stdout, stderr string
	code           int
}

// run executes argv with env added to the environment, in dir, with
// stdin from /dev/null, and a time limit.
func run(t testing.TB, dir string, env []string, argv ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	var so, se bytes.Buffer
	cmd.Stdout, cmd.Stderr = &so, &se
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			code = 128 + int(ws.Signal()) // as a shell reports it
		}
	} else if err != nil {
		t.Fatalf("%s: %v", strings.Join(argv, " "), err)
	}
	if ctx.Err() != nil {
		t.Fatalf("%s: timed out\nstdout: %s\nstderr: %s", strings.Join(argv, " "), so.String(), se.String())
	}
	return result{so.String(), se.String(), code}
}

// caged runs argv under `syscage run` with extra options before "--".
func caged(t testing.TB, dir string, env []string, opts []string, argv ...string) result {
	t.Helper()
	full := append([]string{syscage(t), "run"}, opts...)
	full = append(full, "--")
	return run(t, dir, env, append(full, argv...)...)
}
