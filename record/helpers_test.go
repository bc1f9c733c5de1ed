package record

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"

	"github.com/syscage/syscage/internal/testenv"
	_ "github.com/syscage/syscage/sandbox"
)

var binDir string

func TestMain(m *testing.M) {
	// The recorder's init stage re-executes this binary; the sandbox's
	// stage (for the profiles run under syscage run's launcher) starts
	// from the sandbox package's own init.
	Init()
	dir, err := os.MkdirTemp("", "syscage-record-test")
	if err != nil {
		panic(err)
	}
	binDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

var (
	buildMu  sync.Mutex
	built    = map[string]string{}
	buildErr = map[string]error{}
)

// testProgram compiles testdata/NAME.c with gcc once per test binary and
// returns the executable's path.
func testProgram(t testing.TB, name string) string {
	t.Helper()
	gcc := testenv.NeedCommand(t, "gcc")
	buildMu.Lock()
	defer buildMu.Unlock()
	if p, ok := built[name]; ok {
		return p
	}
	if err, ok := buildErr[name]; ok {
		t.Fatal(err)
	}
	out := filepath.Join(binDir, name)
	cmd := exec.Command(gcc, "-O2", "-Wall", "-pthread", "-o", out, filepath.Join("testdata", name+".c"))
	if msg, err := cmd.CombinedOutput(); err != nil {
		buildErr[name] = err
		t.Fatalf("gcc %s: %v\n%s", name, err, msg)
	}
	built[name] = out
	return out
}

// recordIt records argv with the backend, output to devnull unless given.
func recordIt(t testing.TB, backend Backend, stdout *os.File, argv ...string) *Recording {
	t.Helper()
	if stdout == nil {
		f, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		stdout = f
	}
	rec, err := Record(context.Background(), Options{Path: argv[0], Args: argv, Backend: backend, Stdout: stdout})
	if err != nil {
		t.Fatalf("record %v: %v", argv, err)
	}
	return rec
}
